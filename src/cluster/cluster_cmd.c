/*
 * cluster_cmd.c — the state changes behind CLUSTER MEET, ADDSLOTS/DELSLOTS(RANGE),
 * FLUSHSLOTS, SET-CONFIG-EPOCH, BUMPEPOCH, FORGET, REPLICATE, RESET and SETSLOT,
 * with Redis 7.0.15's error texts (checked against a real redis-server 7.0.15).
 *
 * Must not: parse command arguments or write replies (the command layer does),
 * look at the keyspace (callers pass what they know: db emptiness, key counts),
 * or read the clock.
 * Invariants: every change that must survive a restart schedules
 * CLUSTER_TODO_SAVE (and FSYNC where Redis fsyncs) before returning, so the loop
 * persists it before the outbox is sent; errors leave the state untouched.
 */
#include "cluster/cluster_priv.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/log.h"

#define ERR(...) (snprintf(err, cap, __VA_ARGS__), -1)

/* ---- MEET ---------------------------------------------------------------------- */

/* Normalizes ip (IPv4 or IPv6 text) into out; -1 if it is not an address. */
static int normalize_ip(const char *ip, char *out)
{
    unsigned char buf[16];
    if (inet_pton(AF_INET, ip, buf) == 1)
        return inet_ntop(AF_INET, buf, out, CLUSTER_IPLEN) ? 0 : -1;
    if (inet_pton(AF_INET6, ip, buf) == 1)
        return inet_ntop(AF_INET6, buf, out, CLUSTER_IPLEN) ? 0 : -1;
    return -1;
}

static int handshake_in_progress(const cluster_t *c, const char *ip, int port, int cport)
{
    for (size_t i = 0; i < c->n_nodes; i++) {
        const cnode_t *n = c->nodes[i];
        if ((n->flags & BUS_NODE_HANDSHAKE) && strcasecmp(n->ip, ip) == 0 && n->port == port &&
            n->cport == cport)
            return 1;
    }
    return 0;
}

int cluster_meet(cluster_t *c, const char *ip, int port, int cport, char *err, size_t cap,
                 uint64_t now_ms)
{
    char norm[CLUSTER_IPLEN];
    if (cport <= 0 && port > 0)
        cport = port + 10000;
    if (normalize_ip(ip, norm) != 0 || port <= 0 || port > 65535 || cport <= 0 ||
        cport > 65535)
        return ERR("ERR Invalid node address specified: %s:%d", ip, port);
    if (handshake_in_progress(c, norm, port, cport))
        return 0; /* Redis replies OK (EAGAIN) */
    cnode_t *n = cluster_state_node_new(c, NULL, BUS_NODE_HANDSHAKE | BUS_NODE_MEET, now_ms);
    memcpy(n->ip, norm, sizeof norm);
    n->port = port;
    n->cport = cport;
    cluster_state_node_add(c, n);
    return 0;
}

/* ---- slots ----------------------------------------------------------------------- */

int cluster_slots_check(const cluster_t *c, uint8_t *seen, int del, int start, int end, char *err,
                        size_t cap)
{
    if (start < 0 || end >= CLUSTER_SLOTS || start > end)
        return ERR("ERR Invalid or out of range slot");
    for (int s = start; s <= end; s++) {
        if (del && !c->slots[s])
            return ERR("ERR Slot %d is already unassigned", s);
        if (!del && c->slots[s])
            return ERR("ERR Slot %d is already busy", s);
        if (bus_slot_test(seen, (unsigned)s))
            return ERR("ERR Slot %d specified multiple times", s);
        bus_slot_set(seen, (unsigned)s);
    }
    return 0;
}

void cluster_slots_apply(cluster_t *c, const uint8_t *seen, int del)
{
    for (int s = 0; s < CLUSTER_SLOTS; s++) {
        if (!bus_slot_test(seen, (unsigned)s))
            continue;
        cluster_state_set_importing(c, s, NULL); /* we are the owner now (or nobody is) */
        if (del)
            cluster_state_del_slot(c, s);
        else
            cluster_state_add_slot(c, c->myself, s);
    }
    cluster_state_todo(c, CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE);
}

static int slots_bitmap(cluster_t *c, const uint8_t *bitmap, int del, char *err, size_t cap)
{
    uint8_t seen[CLUSTER_SLOT_BYTES];
    memset(seen, 0, sizeof seen);
    for (int s = 0; s < CLUSTER_SLOTS; s++)
        if (bus_slot_test(bitmap, (unsigned)s) && cluster_slots_check(c, seen, del, s, s, err, cap))
            return -1;
    cluster_slots_apply(c, seen, del);
    return 0;
}

int cluster_add_slots(cluster_t *c, const uint8_t *bitmap, char *err, size_t cap)
{
    return slots_bitmap(c, bitmap, 0, err, cap);
}

int cluster_del_slots(cluster_t *c, const uint8_t *bitmap, char *err, size_t cap)
{
    return slots_bitmap(c, bitmap, 1, err, cap);
}

int cluster_flush_slots(cluster_t *c, char *err, size_t cap)
{
    (void)err;
    (void)cap;
    cluster_state_del_node_slots(c, c->myself);
    cluster_state_todo(c, CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE);
    return 0;
}

/* ---- epochs ------------------------------------------------------------------------ */

int cluster_set_config_epoch(cluster_t *c, long long epoch, char *err, size_t cap)
{
    if (epoch < 0)
        return ERR("ERR Invalid config epoch specified: %lld", epoch);
    if (c->n_nodes > 1)
        return ERR("ERR The user can assign a config epoch only when the node does not know "
                   "any other node.");
    if (c->myself->config_epoch != 0)
        return ERR("ERR Node config epoch is already non-zero");
    c->myself->config_epoch = (uint64_t)epoch;
    log_warning("configEpoch set to %llu via CLUSTER SET-CONFIG-EPOCH",
                (unsigned long long)epoch);
    if (c->current_epoch < (uint64_t)epoch)
        c->current_epoch = (uint64_t)epoch;
    cluster_state_todo(c, CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE);
    return 0;
}

int cluster_bump_epoch(cluster_t *c, int *bumped)
{
    *bumped = cluster_state_bump_epoch_no_consensus(c) == 0;
    return 0;
}

/* ---- nodes ---------------------------------------------------------------------------- */

int cluster_forget(cluster_t *c, const char *name, size_t len, char *err, size_t cap,
                   uint64_t now_ms)
{
    cnode_t *n = cluster_lookup(c, name, len);
    cnode_t *me = c->myself;
    if (!n)
        return ERR("ERR Unknown node %.*s", (int)len, name);
    if (n == me)
        return ERR("ERR I tried hard but I can't forget myself...");
    if (cnode_is_replica(me) && me->master == n)
        return ERR("ERR Can't forget my master!");
    cluster_state_ban_add(c, n->name, now_ms, CLUSTER_BLACKLIST_TTL);
    cluster_state_node_del(c, n);
    cluster_state_todo(c, CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE);
    return 0;
}

int cluster_replicate(cluster_t *c, const char *name, size_t len, int db_empty, char *err,
                      size_t cap, uint64_t now_ms)
{
    (void)now_ms;
    cnode_t *n = cluster_lookup(c, name, len);
    cnode_t *me = c->myself;
    if (!n)
        return ERR("ERR Unknown node %.*s", (int)len, name);
    if (n == me)
        return ERR("ERR Can't replicate myself");
    if (cnode_is_replica(n))
        return ERR("ERR I can only replicate a master, not a replica.");
    if (cnode_is_master(me) && (me->num_slots != 0 || !db_empty))
        return ERR("ERR To set a master the node must be empty and without assigned slots.");
    cluster_state_set_my_master(c, n);
    cluster_state_todo(c, CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE);
    return 0;
}

int cluster_reset(cluster_t *c, int hard, uint64_t now_ms, char *err, size_t cap)
{
    (void)err;
    (void)cap;
    (void)now_ms;
    cnode_t *me = c->myself;
    if (cnode_is_replica(me))
        cluster_state_set_node_as_master(c, me);
    cluster_state_close_all_slots(c);
    cluster_election_reset(c);
    cluster_mf_reset(c);
    for (int j = 0; j < CLUSTER_SLOTS; j++)
        cluster_state_del_slot(c, j);
    for (size_t i = c->n_nodes; i-- > 0;) {
        if (i < c->n_nodes && c->nodes[i] != me)
            cluster_state_node_del(c, c->nodes[i]);
    }
    if (hard) {
        char name[CLUSTER_NAMELEN];
        c->current_epoch = 0;
        c->last_vote_epoch = 0;
        me->config_epoch = 0;
        log_warning("configEpoch set to 0 via CLUSTER RESET HARD");
        cluster_state_random_name(c, name);
        cluster_state_node_rename(c, me, name);
        cluster_state_random_name(c, me->shard_id);
        log_notice("Node hard reset, now I'm %.40s", me->name);
    }
    cluster_state_todo(c, CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_FSYNC);
    return 0;
}

/* ---- SETSLOT ---------------------------------------------------------------------------- */

/* The node named by a SETSLOT argument, checked as Redis does. */
static cnode_t *setslot_target(cluster_t *c, const char *name, size_t len, const char *unknown,
                               char *err, size_t cap)
{
    cnode_t *n = cluster_lookup(c, name, len);
    if (!n) {
        snprintf(err, cap, "ERR %s %.*s", unknown, (int)len, name);
        return NULL;
    }
    if (cnode_is_replica(n)) {
        snprintf(err, cap, "ERR Target node is not a master");
        return NULL;
    }
    return n;
}

/* SETSLOT slot NODE n. */
static int setslot_node(cluster_t *c, int slot, cnode_t *n, long long keys, char *err,
                        size_t cap)
{
    cnode_t *me = c->myself;
    if (c->slots[slot] == me && n != me && keys != 0)
        return ERR("ERR Can't assign hashslot %d to a different node while I still hold keys "
                   "for this hash slot.", slot);
    if (keys == 0 && c->migrating[slot])
        cluster_state_set_migrating(c, slot, NULL);
    int was_mine = c->slots[slot] == me;
    cluster_state_del_slot(c, slot);
    cluster_state_add_slot(c, n, slot);
    if (was_mine && n != me && me->num_slots == 0 && c->cfg.allow_replica_migration) {
        log_warning("Configuration change detected. Reconfiguring myself as a replica of %.40s",
                    n->name);
        cluster_state_set_my_master(c, n);
        cluster_state_todo(c, CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_FSYNC);
    }
    if (n == me && c->importing[slot]) {
        /* A manual migration ends here: take a new epoch so the cluster adopts
         * our claim (a collision, if any, is resolved by the usual rule). */
        if (cluster_state_bump_epoch_no_consensus(c) == 0)
            log_warning("configEpoch updated after importing slot %d", slot);
        cluster_state_set_importing(c, slot, NULL);
        cluster_gossip_broadcast_pong(c, 0, 0); /* a PONG stamps no time */
    }
    return 0;
}

int cluster_setslot(cluster_t *c, int slot, int how, const char *name, size_t len,
                    long long keys_in_slot, char *err, size_t cap)
{
    cnode_t *me = c->myself, *n;
    if (cnode_is_replica(me))
        return ERR("ERR Please use SETSLOT only with masters.");
    if (slot < 0 || slot >= CLUSTER_SLOTS)
        return ERR("ERR Invalid or out of range slot");
    switch (how) {
    case CLUSTER_SETSLOT_MIGRATING:
        if (c->slots[slot] != me)
            return ERR("ERR I'm not the owner of hash slot %u", (unsigned)slot);
        if (!(n = setslot_target(c, name, len, "I don't know about node", err, cap)))
            return -1;
        cluster_state_set_migrating(c, slot, n);
        break;
    case CLUSTER_SETSLOT_IMPORTING:
        if (c->slots[slot] == me)
            return ERR("ERR I'm already the owner of hash slot %u", (unsigned)slot);
        if (!(n = setslot_target(c, name, len, "I don't know about node", err, cap)))
            return -1;
        cluster_state_set_importing(c, slot, n);
        break;
    case CLUSTER_SETSLOT_STABLE:
        cluster_state_set_importing(c, slot, NULL);
        cluster_state_set_migrating(c, slot, NULL);
        break;
    case CLUSTER_SETSLOT_NODE:
        if (!(n = setslot_target(c, name, len, "Unknown node", err, cap)))
            return -1;
        if (setslot_node(c, slot, n, keys_in_slot, err, cap))
            return -1;
        break;
    default:
        return ERR("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP");
    }
    cluster_state_todo(c, CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE);
    return 0;
}
