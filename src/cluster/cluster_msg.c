/*
 * cluster_msg.c — processing of received bus messages (Redis 7.0
 * clusterProcessPacket): epochs, the MEET handshake and trust rules, PING/PONG
 * configuration (address, roles, slots by configEpoch, UPDATE to stale senders,
 * configEpoch collisions), the gossip section (failure reports, pong times, new
 * nodes introduced by known senders), ping extensions, FAIL, UPDATE and PUBLISH.
 *
 * Must not: touch links (a link to close is reported by the return value, a link
 * to reset by n->link_reset), read the clock, or build messages itself (see
 * cluster_gossip.c).
 * Invariants: only a MEET adds an unknown sender (as a HANDSHAKE node); only a
 * known sender's gossip adds unknown nodes (not banned, not NOADDR); a handshake
 * node is renamed on the first PONG on its own link or deleted if that id is
 * already known; failure reports are accepted from masters only; slots move to
 * a claimant only when unassigned or claimed with a greater configEpoch, and
 * never while we are importing them.
 */
#include "cluster/cluster_priv.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cluster/nodes_conf.h"
#include "lib/log.h"

static const char null_name[CLUSTER_NAMELEN];

/* The sender address: the announced myip, else the socket's peer address. */
static void msg_ip(char *out, const bus_hdr_t *h, const cluster_link_in_t *in)
{
    if (h->myip[0]) {
        memcpy(out, h->myip, BUS_IPLEN);
        out[BUS_IPLEN - 1] = '\0';
    } else {
        snprintf(out, CLUSTER_IPLEN, "%s", in->peer_ip ? in->peer_ip : "");
    }
}

/* Redis getNodeFromLinkAndMsg. */
static cnode_t *msg_sender(cluster_t *c, const cluster_link_in_t *in, const bus_hdr_t *h)
{
    if (in->node && !(in->node->flags & BUS_NODE_HANDSHAKE))
        return in->node;
    return cluster_state_lookup40(c, h->sender);
}

static void msg_epochs(cluster_t *c, cnode_t *sender, const bus_hdr_t *h, uint64_t now_ms)
{
    if (h->current_epoch > c->current_epoch) {
        c->current_epoch = h->current_epoch;
        cluster_state_todo(c, CLUSTER_TODO_SAVE);
    }
    if (h->config_epoch > sender->config_epoch) {
        sender->config_epoch = h->config_epoch;
        cluster_state_todo(c, CLUSTER_TODO_SAVE | CLUSTER_TODO_FSYNC);
    }
    sender->repl_offset = h->offset;
    sender->repl_offset_time = now_ms;
}

/* Redis nodeUpdateAddressIfNeeded: 1 if the address changed. */
static int msg_update_address(cluster_t *c, cnode_t *n, const cluster_link_in_t *in,
                              const bus_hdr_t *h)
{
    char ip[CLUSTER_IPLEN];
    if (!in->inbound && in->node == n)
        return 0; /* our own link to n: nothing to compare */
    msg_ip(ip, h, in);
    if (n->port == h->port && n->cport == h->cport && n->pport == h->pport &&
        strcmp(ip, n->ip) == 0)
        return 0;
    memcpy(n->ip, ip, sizeof ip);
    n->port = h->port;
    n->pport = h->pport;
    n->cport = h->cport;
    if (n->link_connected)
        n->link_reset = 1;
    n->flags &= ~(uint32_t)BUS_NODE_NOADDR;
    log_warning("Address updated for node %.40s, now %s:%d", n->name, n->ip, n->port);
    if (cnode_is_replica(c->myself) && c->myself->master == n && c->hooks.role_changed)
        c->hooks.role_changed(c->hooks.ctx, n);
    return 1;
}

static void msg_gossip(cluster_t *c, cnode_t *sender, const bus_msg_t *m, uint64_t now_ms);

/* PING or MEET: learn our own address, add an unknown MEET sender, reply PONG. */
static void msg_ping_meet(cluster_t *c, cluster_link_in_t *in, const bus_msg_t *m,
                          cnode_t *sender, uint64_t now_ms)
{
    const bus_hdr_t *h = &m->hdr;
    cnode_t *me = c->myself;
    if ((h->type == BUS_TYPE_MEET || me->ip[0] == '\0') && !c->cfg.announce_ip[0] &&
        in->local_ip && in->local_ip[0] && strcmp(in->local_ip, me->ip) != 0) {
        snprintf(me->ip, sizeof me->ip, "%s", in->local_ip);
        log_warning("IP address for this node updated to %s", me->ip);
        cluster_state_todo(c, CLUSTER_TODO_SAVE);
    }
    if (!sender && h->type == BUS_TYPE_MEET) {
        /* Trusted because it is a MEET: add it in handshake; roles, slots and
         * its real id come with its PONGs. */
        cnode_t *n = cluster_state_node_new(c, NULL, BUS_NODE_HANDSHAKE, now_ms);
        msg_ip(n->ip, h, in);
        n->port = h->port;
        n->pport = h->pport;
        n->cport = h->cport;
        cluster_state_node_add(c, n);
        cluster_state_todo(c, CLUSTER_TODO_SAVE);
        msg_gossip(c, NULL, m, now_ms);
    }
    cluster_gossip_reply_ping(c, in->reply, BUS_TYPE_PONG, now_ms);
}

/*
 * Our outbound link's node: a handshake node learns its real id (or is dropped
 * when we know that id already); a known node answering with another id loses
 * its address. Returns 1 when processing must stop, with *close set if the link
 * must be closed.
 */
static int msg_link_identity(cluster_t *c, cluster_link_in_t *in, const bus_hdr_t *h,
                             cnode_t *sender, int *close)
{
    cnode_t *ln = in->node;
    if (ln->flags & BUS_NODE_HANDSHAKE) {
        if (sender) {
            log_verbose("Handshake: we already know node %.40s, updating the address if "
                        "needed.", sender->name);
            if (msg_update_address(c, sender, in, h))
                cluster_state_todo(c, CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE);
            cluster_state_node_del(c, ln);
            in->node = NULL;
            *close = 1;
            return 1;
        }
        if (!nodes_conf_valid_id(h->sender, CLUSTER_NAMELEN)) {
            *close = 1;
            return 1;
        }
        cluster_state_node_rename(c, ln, h->sender);
        log_debug("Handshake with node %.40s completed.", ln->name);
        ln->flags &= ~(uint32_t)BUS_NODE_HANDSHAKE;
        ln->flags |= h->flags & (BUS_NODE_MASTER | BUS_NODE_SLAVE);
        cluster_state_todo(c, CLUSTER_TODO_SAVE);
        return 0;
    }
    if (memcmp(ln->name, h->sender, CLUSTER_NAMELEN) != 0) {
        log_debug("PONG contains mismatching sender ID. About node %.40s", ln->name);
        ln->flags |= BUS_NODE_NOADDR;
        ln->ip[0] = '\0';
        ln->port = ln->pport = ln->cport = 0;
        cluster_state_todo(c, CLUSTER_TODO_SAVE);
        *close = 1;
        return 1;
    }
    return 0;
}

/* A PONG on our own link: the node is reachable. */
static void msg_pong_on_link(cluster_t *c, cnode_t *n, uint64_t now_ms)
{
    n->pong_received = now_ms;
    n->ping_sent = 0;
    if (n->flags & BUS_NODE_PFAIL) {
        n->flags &= ~(uint32_t)BUS_NODE_PFAIL;
        cluster_state_todo(c, CLUSTER_TODO_UPDATE_STATE);
    } else if (n->flags & BUS_NODE_FAIL) {
        cluster_fail_clear_if_needed(c, n, now_ms);
    }
}

/* Role switch from the header's slaveof field. */
static void msg_roles(cluster_t *c, cnode_t *sender, const bus_hdr_t *h)
{
    if (memcmp(h->slaveof, null_name, CLUSTER_NAMELEN) == 0) {
        cluster_state_set_node_as_master(c, sender);
        return;
    }
    cnode_t *master = cluster_state_lookup40(c, h->slaveof);
    if (cnode_is_master(sender)) {
        cluster_state_del_node_slots(c, sender);
        sender->flags &= ~(uint32_t)(BUS_NODE_MASTER | BUS_NODE_MIGRATE_TO);
        sender->flags |= BUS_NODE_SLAVE;
        cluster_state_todo(c, CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE);
    }
    if (master && master != sender && sender->master != master) {
        if (sender->master)
            cluster_state_remove_replica(sender->master, sender);
        cluster_state_add_replica(master, sender);
        sender->master = master;
        memcpy(sender->shard_id, master->shard_id, sizeof sender->shard_id);
        cluster_state_todo(c, CLUSTER_TODO_SAVE);
    }
}

/* Slot claims of the sender (rules 1 and 2) and UPDATE to a stale sender. */
static void msg_slots(cluster_t *c, cnode_t *sender, const bus_hdr_t *h)
{
    cnode_t *sm = cnode_is_master(sender) ? sender : sender->master;
    if (!sm || memcmp(sm->slots, h->myslots, CLUSTER_SLOT_BYTES) == 0)
        return;
    if (cnode_is_master(sender))
        cluster_msg_update_slots(c, sender, h->config_epoch, h->myslots);
    for (int j = 0; j < CLUSTER_SLOTS; j++) {
        if (!bus_slot_test(h->myslots, (unsigned)j))
            continue;
        cnode_t *owner = c->slots[j];
        if (owner == sender || owner == NULL)
            continue;
        if (owner->config_epoch > h->config_epoch) {
            log_verbose("Node %.40s has old slots configuration, sending an UPDATE message "
                        "about %.40s", sender->name, owner->name);
            cluster_gossip_send_update(c, sender, owner);
            break; /* as Redis: one UPDATE per message */
        }
    }
}

/* Two masters with the same configEpoch: the one with the smaller id bumps. */
static void msg_epoch_collision(cluster_t *c, cnode_t *sender)
{
    cnode_t *me = c->myself;
    if (sender->config_epoch != me->config_epoch || !cnode_is_master(sender) ||
        !cnode_is_master(me))
        return;
    if (memcmp(sender->name, me->name, CLUSTER_NAMELEN) <= 0)
        return;
    c->current_epoch++;
    me->config_epoch = c->current_epoch;
    cluster_state_todo(c, CLUSTER_TODO_SAVE | CLUSTER_TODO_FSYNC);
    log_verbose("WARNING: configEpoch collision with node %.40s. configEpoch set to %llu",
                sender->name, (unsigned long long)me->config_epoch);
}

/* One gossip entry about a node we know. */
static void gossip_known(cluster_t *c, cnode_t *sender, cnode_t *node, const bus_gossip_t *g,
                         uint64_t now_ms)
{
    uint16_t bad = BUS_NODE_FAIL | BUS_NODE_PFAIL;
    if (sender && cnode_is_master(sender) && node != c->myself) {
        if (g->flags & bad) {
            if (cluster_fail_report_add(c, node, sender, now_ms))
                log_verbose("Node %.40s reported node %.40s as not reachable.", sender->name,
                            node->name);
            cluster_fail_mark_if_needed(c, node, now_ms);
        } else if (cluster_fail_report_del(c, node, sender, now_ms)) {
            log_verbose("Node %.40s reported node %.40s is back online.", sender->name,
                        node->name);
        }
    }
    if (!(g->flags & bad) && node->ping_sent == 0 &&
        cluster_fail_report_count(c, node, now_ms) == 0) {
        uint64_t pongtime = (uint64_t)g->pong_received * 1000;
        if (pongtime <= now_ms + 500 && pongtime > node->pong_received)
            node->pong_received = pongtime;
    }
    char gip[CLUSTER_IPLEN];
    memcpy(gip, g->ip, BUS_IPLEN);
    gip[BUS_IPLEN - 1] = '\0';
    if ((node->flags & bad) && !(g->flags & BUS_NODE_NOADDR) && !(g->flags & bad) &&
        (strcasecmp(node->ip, gip) != 0 || node->port != g->port || node->cport != g->cport)) {
        if (node->link_connected)
            node->link_reset = 1;
        memcpy(node->ip, gip, sizeof gip);
        node->port = g->port;
        node->pport = g->pport;
        node->cport = g->cport;
        node->flags &= ~(uint32_t)BUS_NODE_NOADDR;
    }
}

static void msg_gossip(cluster_t *c, cnode_t *sender, const bus_msg_t *m, uint64_t now_ms)
{
    for (uint16_t i = 0; i < m->hdr.count; i++) {
        bus_gossip_t g;
        bus_msg_gossip(m, i, &g);
        cnode_t *node = cluster_state_lookup40(c, g.name);
        if (node) {
            gossip_known(c, sender, node, &g, now_ms);
            continue;
        }
        /* Unknown: trusted only if a known node tells us (Redis 7.0 adds it
         * with its real id and the flags it was gossiped with). */
        if (!sender || (g.flags & BUS_NODE_NOADDR) ||
            !nodes_conf_valid_id(g.name, CLUSTER_NAMELEN) ||
            cluster_state_ban_exists(c, g.name, now_ms))
            continue;
        uint32_t keep = BUS_NODE_MASTER | BUS_NODE_SLAVE | BUS_NODE_PFAIL | BUS_NODE_FAIL |
                        BUS_NODE_NOFAILOVER;
        node = cluster_state_node_new(c, g.name, g.flags & keep, now_ms);
        memcpy(node->ip, g.ip, BUS_IPLEN);
        node->ip[BUS_IPLEN - 1] = '\0';
        node->port = g.port;
        node->pport = g.pport;
        node->cport = g.cport;
        cluster_state_node_add(c, node);
        cluster_state_todo(c, CLUSTER_TODO_SAVE); /* Redis saves it with the next change */
    }
}

/* Ping extensions. Returns 1 if in->node was deleted (forgotten). */
static int msg_ext(cluster_t *c, cluster_link_in_t *in, cnode_t *sender, const bus_msg_t *m,
                   uint64_t now_ms)
{
    bus_ext_iter_t it;
    bus_ext_t e;
    int link_gone = 0;
    bus_msg_ext_first(m, &it);
    while (bus_msg_ext_next(&it, &e)) {
        if (e.type == BUS_EXT_FORGOTTEN_NODE) {
            cnode_t *n = cluster_state_lookup40(c, e.name);
            cnode_t *me = c->myself;
            if (n && n != me && n != sender && !(cnode_is_replica(me) && me->master == n)) {
                cluster_state_ban_add(c, e.name, now_ms, e.ttl);
                if (n == in->node) {
                    link_gone = 1;
                    in->node = NULL;
                }
                cluster_state_node_del(c, n);
                cluster_state_todo(c, CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE);
            }
        } else if (e.type == BUS_EXT_SHARDID && cnode_is_master(sender)) {
            memcpy(sender->shard_id, e.name, CLUSTER_NAMELEN);
            for (int j = 0; j < sender->num_replicas; j++)
                memcpy(sender->replicas[j]->shard_id, e.name, CLUSTER_NAMELEN);
        }
    }
    /* No HOSTNAME (HUMAN_NODENAME) extension means none is announced. */
    if (sender == c->myself)
        return link_gone;
    cluster_state_set_str(&sender->hostname, m->u.ping.hostname, m->u.ping.hostname_len);
    cluster_state_set_str(&sender->human_nodename, m->u.ping.human_nodename,
                          m->u.ping.human_nodename_len);
    return link_gone;
}

/* PING, PONG, MEET: configuration. Returns -1 when the link must be closed. */
static int msg_config(cluster_t *c, cluster_link_in_t *in, const bus_msg_t *m, cnode_t *sender,
                      uint64_t now_ms)
{
    const bus_hdr_t *h = &m->hdr;
    int close = 0;
    if (!in->inbound && in->node && msg_link_identity(c, in, h, sender, &close))
        return close ? -1 : 0;
    if (sender) {
        sender->flags &= ~(uint32_t)BUS_NODE_NOFAILOVER;
        sender->flags |= h->flags & BUS_NODE_NOFAILOVER;
        if (h->type == BUS_TYPE_PING && !(sender->flags & BUS_NODE_HANDSHAKE) &&
            msg_update_address(c, sender, in, h))
            cluster_state_todo(c, CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE);
    }
    if (!in->inbound && in->node && h->type == BUS_TYPE_PONG)
        msg_pong_on_link(c, in->node, now_ms);
    if (!sender)
        return 0;
    if (sender != c->myself)
        msg_roles(c, sender, h);
    msg_slots(c, sender, h);
    if (cnode_is_master(c->myself) && cnode_is_master(sender) &&
        h->config_epoch == c->myself->config_epoch)
        msg_epoch_collision(c, sender);
    msg_gossip(c, sender, m, now_ms);
    if (msg_ext(c, in, sender, m, now_ms))
        return -1;
    return 0;
}

static void msg_fail(cluster_t *c, cnode_t *sender, const bus_msg_t *m, uint64_t now_ms)
{
    if (!sender) {
        log_notice("Ignoring FAIL message from unknown node %.40s about %.40s", m->hdr.sender,
                   m->u.fail.nodename);
        return;
    }
    cnode_t *failing = cluster_state_lookup40(c, m->u.fail.nodename);
    if (!failing || (failing->flags & (BUS_NODE_FAIL | BUS_NODE_MYSELF)))
        return;
    log_notice("FAIL message received from %.40s about %.40s", m->hdr.sender,
               m->u.fail.nodename);
    failing->flags |= BUS_NODE_FAIL;
    failing->fail_time = now_ms;
    failing->flags &= ~(uint32_t)BUS_NODE_PFAIL;
    cluster_state_todo(c, CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE);
}

static void msg_update(cluster_t *c, cnode_t *sender, const bus_msg_t *m)
{
    if (!sender)
        return;
    cnode_t *n = cluster_state_lookup40(c, m->u.update.nodename);
    uint64_t epoch = m->u.update.config_epoch;
    if (!n || n->config_epoch >= epoch)
        return;
    if (cnode_is_replica(n))
        cluster_state_set_node_as_master(c, n);
    n->config_epoch = epoch;
    cluster_state_todo(c, CLUSTER_TODO_SAVE | CLUSTER_TODO_FSYNC);
    cluster_msg_update_slots(c, n, epoch, m->u.update.slots);
}

int cluster_on_msg(cluster_t *c, cluster_link_in_t *in, const bus_msg_t *m, uint64_t now_ms)
{
    const bus_hdr_t *h = &m->hdr;
    uint16_t type = h->type;
    int rc = 0;
    in->sender = NULL;
    if (type < BUS_TYPE_COUNT)
        c->stats_received[type]++;
    cnode_t *sender = msg_sender(c, in, h);
    if (sender)
        sender->data_received = now_ms;
    if (sender && !(sender->flags & BUS_NODE_HANDSHAKE)) {
        msg_epochs(c, sender, h, now_ms);
        cluster_mf_on_header(c, sender, h);
    }
    switch (type) {
    case BUS_TYPE_PING:
    case BUS_TYPE_MEET:
        msg_ping_meet(c, in, m, sender, now_ms);
        rc = msg_config(c, in, m, sender, now_ms);
        break;
    case BUS_TYPE_PONG:
        rc = msg_config(c, in, m, sender, now_ms);
        break;
    case BUS_TYPE_FAIL:
        msg_fail(c, sender, m, now_ms);
        break;
    case BUS_TYPE_PUBLISH:
    case BUS_TYPE_PUBLISHSHARD:
        if (sender && c->hooks.publish)
            c->hooks.publish(c->hooks.ctx, type == BUS_TYPE_PUBLISHSHARD, m->u.publish.channel,
                             m->u.publish.channel_len, m->u.publish.message,
                             m->u.publish.message_len);
        break;
    case BUS_TYPE_UPDATE:
        msg_update(c, sender, m);
        break;
    case BUS_TYPE_FAILOVER_AUTH_REQUEST:
        if (sender)
            cluster_failover_vote(c, sender, h, now_ms);
        break;
    case BUS_TYPE_FAILOVER_AUTH_ACK:
        cluster_election_on_ack(c, sender, h);
        break;
    case BUS_TYPE_MFSTART:
        cluster_mf_on_mfstart(c, in, sender, h, now_ms);
        break;
    case BUS_TYPE_MODULE:
        break; /* modules: none */
    default:
        log_warning("Received unknown packet type: %d", type);
        break;
    }
    cluster_failover_asap(c, now_ms); /* an ACK or a paused offset may let us go on */
    cnode_t *s = cluster_state_lookup40(c, h->sender);
    in->sender = (rc == 0 && s && !(s->flags & BUS_NODE_HANDSHAKE)) ? s : NULL;
#ifdef DEBUG_ASSERT
    cluster_validate(c);
#endif
    return rc;
}

/* ---- slot ownership from a claim (Redis clusterUpdateSlotsConfigWith) ----------- */

/* After slots moved: demote myself, fix a sub-replica, or drop keys of lost slots. */
static void update_slots_roles(cluster_t *c, cnode_t *sender, cnode_t *curmaster,
                               cnode_t *newmaster, int sender_slots, int migrated,
                               const uint8_t *lost, int nlost)
{
    cnode_t *me = c->myself;
    int save = CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_FSYNC;
    if (newmaster && curmaster->num_slots == 0 &&
        (c->cfg.allow_replica_migration || sender_slots == migrated)) {
        log_warning("Configuration change detected. Reconfiguring myself as a replica of %.40s",
                    sender->name);
        cluster_state_set_my_master(c, sender);
        cluster_state_todo(c, save);
    } else if (me->master && me->master->master && me->master->master != me) {
        log_warning("I'm a sub-replica! Reconfiguring myself as a replica of %.40s",
                    me->master->master->name);
        cluster_state_set_my_master(c, me->master->master);
        cluster_state_todo(c, save);
    } else if (nlost && c->hooks.slots_lost) {
        c->hooks.slots_lost(c->hooks.ctx, lost);
    }
}

void cluster_msg_update_slots(cluster_t *c, cnode_t *sender, uint64_t sender_epoch,
                              const uint8_t *slots)
{
    cnode_t *me = c->myself;
    cnode_t *curmaster = cnode_is_master(me) ? me : me->master;
    cnode_t *newmaster = NULL;
    uint8_t lost[CLUSTER_SLOT_BYTES];
    int nlost = 0, sender_slots = 0, migrated = 0;
    if (sender == me) {
        log_warning("Discarding UPDATE message about myself.");
        return;
    }
    memset(lost, 0, sizeof lost);
    for (int j = 0; j < CLUSTER_SLOTS; j++) {
        if (!bus_slot_test(slots, (unsigned)j))
            continue;
        sender_slots++;
        cnode_t *owner = c->slots[j];
        if (owner == sender || c->importing[j])
            continue;
        if (owner && owner->config_epoch >= sender_epoch)
            continue;
        if (owner == me) {
            bus_slot_set(lost, (unsigned)j);
            nlost++;
        }
        if (owner && owner == curmaster) {
            newmaster = sender;
            migrated++;
        }
        cluster_state_del_slot(c, j);
        cluster_state_add_slot(c, sender, j);
        cluster_state_todo(c, CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_FSYNC);
    }
    if (curmaster)
        update_slots_roles(c, sender, curmaster, newmaster, sender_slots, migrated, lost, nlost);
}
