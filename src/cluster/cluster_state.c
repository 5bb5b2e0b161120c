/*
 * cluster_state.c — the cluster state machine (Redis 7.0 cluster semantics): the
 * node table, slot tables, epochs helpers, the outbox, the FORGET ban list and the
 * invariant validator. Message processing lives in cluster_msg.c, message
 * building/gossip in cluster_gossip.c, failure detection and the cron in
 * cluster_fail.c, command state changes in cluster_cmd.c, nodes.conf and the
 * CLUSTER NODES/INFO texts in cluster_conf.c, failover votes in
 * cluster_failover.c, replica elections, promotion and replica migration in
 * cluster_election.c, manual failover and the SHUTDOWN hand-over in
 * cluster_mf.c (their state machines are written down in those files).
 *
 * Must not: touch sockets or libuv, read the clock (now_ms is passed in) or draw
 * randomness other than through the injected rnd().
 *
 * ---- A node as seen by us ---------------------------------------------------
 *
 *   gossip about an unknown id      CLUSTER MEET ip port, or a MEET from an
 *   from a known (trusted) sender   unknown node (we add it and reply PONG)
 *   (Redis 7.0 adds it with its                     |
 *   real id, no handshake)                          v
 *                 |                         +-------------+  handshake timeout
 *                 |                         |  HANDSHAKE  | -----------------> deleted
 *                 |                         +-------------+  (node_timeout, >= 1 s)
 *                 |     first PONG on our link: |    \ the id is already known:
 *                 |     rename to its real id   |     \ update that node's address,
 *                 v                             v      delete the handshake record
 *           +-------------------------------------+
 *           |               KNOWN                 | <----------------------------+
 *           | (master or replica; NOADDR if a     |                              |
 *           |  PONG came back with another id)    |                              |
 *           +-------------------------------------+                              |
 *              | ping pending > node_timeout  ^ PONG received                    |
 *              v                              |                                  |
 *           +-------------------------------------+                              |
 *           |               PFAIL                 |                              |
 *           +-------------------------------------+                              |
 *              | majority of masters report PFAIL/FAIL within 2 x node_timeout,  |
 *              | or a FAIL message from a known node                             |
 *              v                                                                 |
 *           +-------------------------------------+  PONG and (replica, or       |
 *           |                FAIL                 |  slotless master, or master  |
 *           |  (broadcast FAIL when we decide)    |  still owning its slots      |
 *           +-------------------------------------+  2 x node_timeout after FAIL)+
 *   Any KNOWN/PFAIL/FAIL node: CLUSTER FORGET (60 s ban), a FORGOTTEN_NODE
 *   extension, or CLUSTER RESET -> deleted.
 *
 * ---- Transition -> function ---------------------------------------------------
 *   (none) -> HANDSHAKE           cluster_meet (cluster_cmd.c); msg_ping_meet for a MEET
 *                                 from an unknown node (cluster_msg.c)
 *   (none) -> KNOWN               msg_gossip: a known sender gossips an unknown id
 *                                 (cluster_msg.c); cluster_load (cluster_conf.c)
 *   HANDSHAKE -> KNOWN            msg_link_identity: first PONG on our link, renamed
 *   HANDSHAKE -> deleted          fail_handshake_timeout (cluster_fail.c);
 *                                 msg_link_identity when the id is already known
 *   KNOWN -> NOADDR               msg_link_identity: our link answered with another id
 *   KNOWN -> PFAIL                fail_check_node (cluster_fail.c)
 *   PFAIL -> KNOWN                msg_pong_on_link (cluster_msg.c)
 *   PFAIL -> FAIL                 cluster_fail_mark_if_needed (cluster_fail.c), msg_fail
 *   FAIL -> KNOWN                 cluster_fail_clear_if_needed (cluster_fail.c)
 *   any -> deleted                cluster_state_node_del (here), from cluster_forget,
 *                                 cluster_reset (cluster_cmd.c), msg_ext (FORGOTTEN_NODE)
 *   master <-> replica            msg_roles, cluster_msg_update_slots (cluster_msg.c),
 *                                 cluster_state_set_node_as_master, cluster_state_set_my_master
 *   (vote for a replica of a FAIL  cluster_failover_vote (cluster_failover.c)
 *    master, one per epoch)
 *   myself replica -> master      cluster_election_promote (cluster_election.c), from
 *                                 an election won or CLUSTER FAILOVER TAKEOVER
 *   myself replica -> replica of  cluster_election_migration (replica migration)
 *    another master
 *
 * ---- Invariants (cluster_validate) --------------------------------------------
 *   - exactly one node has MYSELF and it is c->myself; names are unique, 40 chars;
 *     the name index and the nodes array hold the same nodes;
 *   - slots[s] == n iff bit s of n->slots is set; n->num_slots == popcount(n->slots);
 *   - no node is both MASTER and SLAVE; a node with a master is in that master's
 *     replica list exactly once, and every listed replica points back;
 *   - migrating[s] / importing[s], when set, are nodes of the table;
 *   - a HANDSHAKE node has no slots, no replicas and no master;
 *   - failure reports name live nodes other than their owner;
 *   - every outbox entry is addressed to a live node.
 */
#include "cluster/cluster_priv.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/mem.h"

/* A node record with its index entry (dict entries start with dict_node_t). */
typedef struct cluster_box_s {
    dict_node_t dn;
    cnode_t n;
} cluster_box_t;

static cluster_box_t *box_of(cnode_t *n)
{
    return (cluster_box_t *)(void *)((char *)n - offsetof(cluster_box_t, n));
}

static void box_key(const dict_node_t *d, const char **k, size_t *len)
{
    const cluster_box_t *b = (const cluster_box_t *)(const void *)d;
    *k = b->n.name;
    *len = CLUSTER_NAMELEN;
}

static const dict_type_t box_type = {.key = box_key};

/* ---- life cycle -------------------------------------------------------------- */

cluster_t *cluster_new(const cluster_cfg_t *cfg, uint64_t (*rnd)(void), uint64_t now_ms)
{
    cluster_t *c = mem_calloc(sizeof *c);
    c->cfg = *cfg;
    c->rnd = rnd;
    c->state = BUS_STATE_FAIL;
    c->size = 1; /* Redis starts with size 1 until the first state update */
    dict_init(&c->index, &box_type);
    (void)now_ms;
    return c;
}

static void node_free_mem(cnode_t *n)
{
    mem_free(n->hostname);
    mem_free(n->human_nodename);
    mem_free(n->fail_reports);
    mem_free(n->replicas);
    mem_free(box_of(n));
}

void cluster_free(cluster_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_nodes; i++)
        node_free_mem(c->nodes[i]);
    mem_free(c->nodes);
    dict_deinit(&c->index, NULL, NULL);
    for (size_t i = c->out_head; i < c->out_len; i++)
        mem_free(c->out[i].data);
    mem_free(c->out);
    mem_free(c->bans);
    mem_free(c);
}

void cluster_set_hooks(cluster_t *c, const cluster_hooks_t *hooks)
{
    c->hooks = *hooks;
}

const cluster_cfg_t *cluster_cfg(const cluster_t *c)
{
    return &c->cfg;
}

void cluster_set_cfg(cluster_t *c, const cluster_cfg_t *cfg)
{
    c->cfg = *cfg;
    if (c->myself)
        cluster_state_update_myself_announce(c);
}

/* Myself's announced ports, ip (when cluster-announce-ip is set), hostname, human
 * node name and NOFAILOVER flag (cluster-replica-no-failover, any role)
 * follow the configuration (Redis clusterUpdateMyself*). */
void cluster_state_update_myself_announce(cluster_t *c)
{
    cnode_t *me = c->myself;
    const cluster_cfg_t *g = &c->cfg;
    int changed = me->port != g->port || me->cport != g->cport || me->pport != g->pport;
    me->port = g->port;
    me->cport = g->cport;
    me->pport = g->pport;
    if (g->announce_ip[0] && strcmp(me->ip, g->announce_ip) != 0) {
        snprintf(me->ip, sizeof me->ip, "%s", g->announce_ip);
        changed = 1;
    }
    const char *h = me->hostname ? me->hostname : "";
    if (strcmp(h, g->announce_hostname) != 0) {
        cluster_state_set_str(&me->hostname, g->announce_hostname, strlen(g->announce_hostname));
        changed = 1;
    }
    uint32_t nofailover = g->replica_no_failover ? BUS_NODE_NOFAILOVER : 0;
    if ((me->flags & BUS_NODE_NOFAILOVER) != nofailover) {
        me->flags = (me->flags & ~(uint32_t)BUS_NODE_NOFAILOVER) | nofailover;
        changed = 1;
    }
    h = me->human_nodename ? me->human_nodename : "";
    if (strcmp(h, g->human_nodename) != 0)
        cluster_state_set_str(&me->human_nodename, g->human_nodename, strlen(g->human_nodename));
    if (changed)
        cluster_state_todo(c, CLUSTER_TODO_SAVE);
}

void cluster_state_set_str(char **field, const char *s, size_t len)
{
    if (*field && s && strlen(*field) == len && memcmp(*field, s, len) == 0)
        return;
    mem_free(*field);
    *field = (s && len) ? mem_strndup(s, len) : NULL;
}

/* ---- node table ---------------------------------------------------------------- */

void cluster_state_random_name(cluster_t *c, char *name40)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < CLUSTER_NAMELEN; i += 16) {
        uint64_t r = c->rnd();
        for (int j = 0; j < 16 && i + j < CLUSTER_NAMELEN; j++, r >>= 4)
            name40[i + j] = hex[r & 15];
    }
}

cnode_t *cluster_state_node_new(cluster_t *c, const char *name, uint32_t flags, uint64_t now_ms)
{
    cluster_box_t *b = mem_calloc(sizeof *b);
    cnode_t *n = &b->n;
    if (name)
        memcpy(n->name, name, CLUSTER_NAMELEN);
    else
        cluster_state_random_name(c, n->name);
    n->name[CLUSTER_NAMELEN] = '\0';
    n->flags = flags;
    n->ctime = now_ms;
    cluster_state_random_name(c, n->shard_id);
    n->shard_id[CLUSTER_NAMELEN] = '\0';
    return n;
}

void cluster_state_node_add(cluster_t *c, cnode_t *n)
{
    if (c->n_nodes == c->cap_nodes) {
        c->cap_nodes = c->cap_nodes ? c->cap_nodes * 2 : 8;
        c->nodes = mem_realloc(c->nodes, c->cap_nodes * sizeof *c->nodes);
    }
    c->nodes[c->n_nodes++] = n;
    dict_add(&c->index, &box_of(n)->dn);
}

cnode_t *cluster_state_lookup40(const cluster_t *c, const char *name40)
{
    dict_node_t *d = dict_find((dict_t *)&c->index, name40, CLUSTER_NAMELEN);
    return d ? &((cluster_box_t *)(void *)d)->n : NULL;
}

cnode_t *cluster_lookup(const cluster_t *c, const char *name, size_t len)
{
    if (len != CLUSTER_NAMELEN)
        return NULL;
    return cluster_state_lookup40(c, name);
}

void cluster_state_node_rename(cluster_t *c, cnode_t *n, const char *name40)
{
    log_debug("Renaming node %.40s into %.40s", n->name, name40);
    dict_unlink(&c->index, n->name, CLUSTER_NAMELEN);
    memcpy(n->name, name40, CLUSTER_NAMELEN);
    dict_add(&c->index, &box_of(n)->dn);
}

/* Drops queued messages addressed to n (it is going away). */
static void outbox_purge(cluster_t *c, const cnode_t *n)
{
    size_t w = c->out_head;
    for (size_t i = c->out_head; i < c->out_len; i++) {
        if (c->out[i].to == n)
            mem_free(c->out[i].data);
        else
            c->out[w++] = c->out[i];
    }
    c->out_len = w;
}

/* Unlinks n from every structure and frees it (Redis freeClusterNode). */
static void node_unlink_free(cluster_t *c, cnode_t *n)
{
    for (int j = 0; j < n->num_replicas; j++)
        n->replicas[j]->master = NULL;
    if (cnode_is_replica(n) && n->master)
        cluster_state_remove_replica(n->master, n);
    dict_unlink(&c->index, n->name, CLUSTER_NAMELEN);
    for (size_t i = 0; i < c->n_nodes; i++) {
        if (c->nodes[i] == n) {
            c->nodes[i] = c->nodes[--c->n_nodes];
            break;
        }
    }
    outbox_purge(c, n);
    if (c->hooks.node_deleted)
        c->hooks.node_deleted(c->hooks.ctx, n);
    node_free_mem(n);
}

void cluster_state_node_del(cluster_t *c, cnode_t *n)
{
    if (c->election.mf_replica == n)
        cluster_mf_reset(c);
    for (int j = 0; j < CLUSTER_SLOTS; j++) {
        if (c->importing[j] == n)
            cluster_state_set_importing(c, j, NULL);
        if (c->migrating[j] == n)
            cluster_state_set_migrating(c, j, NULL);
        if (c->slots[j] == n)
            cluster_state_del_slot(c, j);
    }
    for (size_t i = 0; i < c->n_nodes; i++) {
        cnode_t *o = c->nodes[i];
        for (size_t k = 0; k < o->n_fail_reports; k++) {
            if (o->fail_reports[k].node == n) {
                o->fail_reports[k] = o->fail_reports[--o->n_fail_reports];
                break;
            }
        }
    }
    node_unlink_free(c, n);
}

size_t cluster_node_count(const cluster_t *c)
{
    return c->n_nodes;
}

cnode_t *cluster_node_at(const cluster_t *c, size_t i)
{
    return i < c->n_nodes ? c->nodes[i] : NULL;
}

cnode_t *cluster_myself(const cluster_t *c)
{
    return c->myself;
}

uint64_t cluster_current_epoch(const cluster_t *c)
{
    return c->current_epoch;
}

uint64_t cluster_last_vote_epoch(const cluster_t *c)
{
    return c->last_vote_epoch;
}

int cluster_size(const cluster_t *c)
{
    return c->size;
}

/* ---- slots and roles ---------------------------------------------------------- */

static int masters_have_replicas(const cluster_t *c)
{
    for (size_t i = 0; i < c->n_nodes; i++)
        if (!cnode_is_replica(c->nodes[i]) && c->nodes[i]->num_replicas > 0)
            return 1;
    return 0;
}

int cluster_state_add_slot(cluster_t *c, cnode_t *n, int slot)
{
    if (c->slots[slot])
        return -1;
    if (!bus_slot_test(n->slots, (unsigned)slot)) {
        bus_slot_set(n->slots, (unsigned)slot);
        n->num_slots++;
        /* A master getting its first slot becomes a replica migration target
         * when other masters have replicas (Redis clusterNodeSetSlotBit). */
        if (n->num_slots == 1 && masters_have_replicas(c))
            n->flags |= BUS_NODE_MIGRATE_TO;
    }
    c->slots[slot] = n;
    return 0;
}

int cluster_state_del_slot(cluster_t *c, int slot)
{
    cnode_t *n = c->slots[slot];
    if (!n)
        return -1;
    if (bus_slot_test(n->slots, (unsigned)slot)) {
        bus_slot_clear(n->slots, (unsigned)slot);
        n->num_slots--;
    }
    c->slots[slot] = NULL;
    return 0;
}

void cluster_state_del_node_slots(cluster_t *c, cnode_t *n)
{
    for (int j = 0; j < CLUSTER_SLOTS && n->num_slots > 0; j++)
        if (c->slots[j] == n)
            cluster_state_del_slot(c, j);
}

void cluster_state_add_replica(cnode_t *master, cnode_t *replica)
{
    for (int j = 0; j < master->num_replicas; j++)
        if (master->replicas[j] == replica)
            return;
    master->replicas =
        mem_realloc(master->replicas, (size_t)(master->num_replicas + 1) * sizeof(cnode_t *));
    master->replicas[master->num_replicas++] = replica;
    master->flags |= BUS_NODE_MIGRATE_TO;
}

int cluster_state_remove_replica(cnode_t *master, cnode_t *replica)
{
    for (int j = 0; j < master->num_replicas; j++) {
        if (master->replicas[j] != replica)
            continue;
        memmove(master->replicas + j, master->replicas + j + 1,
                (size_t)(master->num_replicas - j - 1) * sizeof(cnode_t *));
        master->num_replicas--;
        if (master->num_replicas == 0)
            master->flags &= ~(uint32_t)BUS_NODE_MIGRATE_TO;
        return 1;
    }
    return 0;
}

/* Redis clusterSetNodeAsMaster. */
void cluster_state_set_node_as_master(cluster_t *c, cnode_t *n)
{
    if (cnode_is_master(n))
        return;
    if (n->master) {
        cluster_state_remove_replica(n->master, n);
        if (n != c->myself)
            n->flags |= BUS_NODE_MIGRATE_TO;
    }
    n->flags &= ~(uint32_t)BUS_NODE_SLAVE;
    n->flags |= BUS_NODE_MASTER;
    n->master = NULL;
    cluster_state_todo(c, CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE);
    if (n != c->myself)
        return;
    /* No election or manual failover survives a role change; the data age of a
     * future replica role starts unknown (Redis resets repl_down_since). */
    cluster_election_reset(c);
    cluster_mf_reset(c);
    c->master_link_up = 0;
    c->master_link_time = 0;
    if (c->hooks.role_changed)
        c->hooks.role_changed(c->hooks.ctx, NULL);
}

/* Redis clusterSetMaster: myself (no slots) becomes a replica of n. */
void cluster_state_set_my_master(cluster_t *c, cnode_t *n)
{
    cnode_t *me = c->myself;
    if (cnode_is_master(me)) {
        me->flags &= ~(uint32_t)(BUS_NODE_MASTER | BUS_NODE_MIGRATE_TO);
        me->flags |= BUS_NODE_SLAVE;
        cluster_state_close_all_slots(c);
    } else if (me->master) {
        cluster_state_remove_replica(me->master, me);
    }
    me->master = n;
    cluster_state_add_replica(n, me);
    memcpy(me->shard_id, n->shard_id, sizeof me->shard_id);
    cluster_election_reset(c);
    cluster_mf_reset(c); /* a paused master resumes its clients (they get redirected) */
    if (c->hooks.role_changed)
        c->hooks.role_changed(c->hooks.ctx, n);
}

void cluster_state_close_all_slots(cluster_t *c)
{
    memset(c->migrating, 0, sizeof c->migrating);
    memset(c->importing, 0, sizeof c->importing);
    c->n_markers = 0;
}

uint64_t cluster_state_max_epoch(const cluster_t *c)
{
    uint64_t max = c->current_epoch;
    for (size_t i = 0; i < c->n_nodes; i++)
        if (c->nodes[i]->config_epoch > max)
            max = c->nodes[i]->config_epoch;
    return max;
}

/* Redis clusterBumpConfigEpochWithoutConsensus: 0 bumped, -1 still. */
int cluster_state_bump_epoch_no_consensus(cluster_t *c)
{
    uint64_t max = cluster_state_max_epoch(c);
    cnode_t *me = c->myself;
    if (me->config_epoch != 0 && me->config_epoch == max)
        return -1;
    c->current_epoch++;
    me->config_epoch = c->current_epoch;
    cluster_state_todo(c, CLUSTER_TODO_SAVE | CLUSTER_TODO_FSYNC);
    log_warning("New configEpoch set to %llu", (unsigned long long)me->config_epoch);
    return 0;
}

cnode_t *cluster_slot_owner(const cluster_t *c, int slot)
{
    return (slot >= 0 && slot < CLUSTER_SLOTS) ? c->slots[slot] : NULL;
}

cnode_t *cluster_slot_migrating(const cluster_t *c, int slot)
{
    return (slot >= 0 && slot < CLUSTER_SLOTS) ? c->migrating[slot] : NULL;
}

cnode_t *cluster_slot_importing(const cluster_t *c, int slot)
{
    return (slot >= 0 && slot < CLUSTER_SLOTS) ? c->importing[slot] : NULL;
}

int cluster_state_ok(const cluster_t *c)
{
    return c->state == BUS_STATE_OK;
}

const char *cluster_node_endpoint(const cluster_t *c, const cnode_t *n)
{
    switch (c->cfg.preferred_endpoint) {
    case CLUSTER_ENDPOINT_HOSTNAME:
        return n->hostname ? n->hostname : "?";
    case CLUSTER_ENDPOINT_UNKNOWN:
        return "";
    default:
        return n->ip;
    }
}

void cluster_set_repl_offset(cluster_t *c, uint64_t offset)
{
    c->repl_offset = offset;
    if (c->myself)
        c->myself->repl_offset = offset;
    if (c->election.mf_offset_known && !c->election.mf_can_start)
        c->election.asap = 1; /* a manual failover may be able to start */
}

/* ---- todo, outbox, stats ------------------------------------------------------ */

void cluster_state_todo(cluster_t *c, int flags)
{
    c->todo |= flags;
}

int cluster_todo_take(cluster_t *c)
{
    int t = c->todo & (CLUSTER_TODO_SAVE | CLUSTER_TODO_FSYNC);
    c->todo &= ~(CLUSTER_TODO_SAVE | CLUSTER_TODO_FSYNC);
    return t | (c->todo & CLUSTER_TODO_UPDATE_STATE);
}

void cluster_before_sleep_state(cluster_t *c, uint64_t now_ms)
{
    if (c->todo & CLUSTER_TODO_UPDATE_STATE)
        cluster_fail_update_state(c, now_ms);
}

/* Queues a copy of b's bytes for `to` (dropped if its link is down, as Redis does
 * when node->link is NULL) and counts it as sent. */
void cluster_state_queue(cluster_t *c, cnode_t *to, bus_buf_t *b, uint16_t type)
{
    if (!to || !to->link_connected || to == c->myself)
        return;
    if (c->out_head > 0 && c->out_head == c->out_len)
        c->out_head = c->out_len = 0;
    if (c->out_len == c->out_cap) {
        if (c->out_head > 0) {
            memmove(c->out, c->out + c->out_head, (c->out_len - c->out_head) * sizeof *c->out);
            c->out_len -= c->out_head;
            c->out_head = 0;
        }
        if (c->out_len == c->out_cap) {
            c->out_cap = c->out_cap ? c->out_cap * 2 : 16;
            c->out = mem_realloc(c->out, c->out_cap * sizeof *c->out);
        }
    }
    cluster_out_t *o = &c->out[c->out_len++];
    o->to = to;
    o->meet = type == BUS_TYPE_MEET;
    o->len = b->len;
    o->data = mem_alloc(b->len);
    memcpy(o->data, b->data, b->len);
    if (type < BUS_TYPE_COUNT)
        c->stats_sent[type]++;
}

int cluster_out_pop(cluster_t *c, cluster_out_t *out)
{
    if (c->out_head == c->out_len)
        return 0;
    *out = c->out[c->out_head++];
    if (c->out_head == c->out_len)
        c->out_head = c->out_len = 0;
    return 1;
}

size_t cluster_out_pending(const cluster_t *c)
{
    return c->out_len - c->out_head;
}

uint64_t cluster_stats_sent(const cluster_t *c, int type)
{
    return (type >= 0 && type < BUS_TYPE_COUNT) ? c->stats_sent[type] : 0;
}

uint64_t cluster_stats_received(const cluster_t *c, int type)
{
    return (type >= 0 && type < BUS_TYPE_COUNT) ? c->stats_received[type] : 0;
}

void cluster_stat_link_buffer_limit_exceeded(cluster_t *c)
{
    c->links_buffer_limit_exceeded++;
}

/* ---- FORGET ban list (Redis's nodes blacklist, seconds resolution) -------------- */

static void ban_cleanup(cluster_t *c, uint64_t now_ms)
{
    uint64_t now_s = now_ms / 1000;
    size_t w = 0;
    for (size_t i = 0; i < c->n_bans; i++)
        if (c->bans[i].expire_s >= now_s)
            c->bans[w++] = c->bans[i];
    c->n_bans = w;
}

void cluster_state_ban_add(cluster_t *c, const char *name40, uint64_t now_ms, uint64_t ttl_s)
{
    ban_cleanup(c, now_ms);
    size_t i = 0;
    while (i < c->n_bans && memcmp(c->bans[i].name, name40, CLUSTER_NAMELEN) != 0)
        i++;
    if (i == c->n_bans) {
        if (c->n_bans == c->cap_bans) {
            c->cap_bans = c->cap_bans ? c->cap_bans * 2 : 4;
            c->bans = mem_realloc(c->bans, c->cap_bans * sizeof *c->bans);
        }
        memcpy(c->bans[c->n_bans++].name, name40, CLUSTER_NAMELEN);
    }
    c->bans[i].expire_s = now_ms / 1000 + ttl_s;
}

int cluster_state_ban_exists(cluster_t *c, const char *name40, uint64_t now_ms)
{
    ban_cleanup(c, now_ms);
    for (size_t i = 0; i < c->n_bans; i++)
        if (memcmp(c->bans[i].name, name40, CLUSTER_NAMELEN) == 0)
            return 1;
    return 0;
}

uint64_t cluster_state_ban_ttl(const cluster_t *c, size_t i, uint64_t now_ms)
{
    uint64_t now_s = now_ms / 1000;
    return c->bans[i].expire_s > now_s ? c->bans[i].expire_s - now_s : 0;
}

/* ---- validator ------------------------------------------------------------------ */

/* Always compiled (unit tests call it); the state machine calls it after every
 * message and tick only in DEBUG_ASSERT builds. */
#define CHECK(cond, ...)                                                                 \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            log_warning("cluster_validate: " __VA_ARGS__);                               \
            abort();                                                                     \
        }                                                                                \
    } while (0)

static int node_known(const cluster_t *c, const cnode_t *n)
{
    return n && cluster_state_lookup40(c, n->name) == n;
}

static void validate_node(const cluster_t *c, const cnode_t *n)
{
    int pop = 0;
    for (int s = 0; s < CLUSTER_SLOTS; s++) {
        int bit = bus_slot_test(n->slots, (unsigned)s);
        pop += bit;
        CHECK(bit == (c->slots[s] == n), "slot %d of %.40s out of sync", s, n->name);
    }
    CHECK(pop == n->num_slots, "num_slots of %.40s", n->name);
    CHECK(!(cnode_is_master(n) && cnode_is_replica(n)), "%.40s master and replica", n->name);
    CHECK(((n->flags & BUS_NODE_MYSELF) != 0) == (n == c->myself), "myself flag on %.40s",
          n->name);
    if (n->master) {
        int k = 0;
        CHECK(node_known(c, n->master), "master of %.40s unknown", n->name);
        for (int j = 0; j < n->master->num_replicas; j++)
            k += n->master->replicas[j] == n;
        CHECK(k == 1, "%.40s listed %d times by its master", n->name, k);
    }
    for (int j = 0; j < n->num_replicas; j++)
        CHECK(n->replicas[j]->master == n, "replica list of %.40s", n->name);
    if (n->flags & BUS_NODE_HANDSHAKE)
        CHECK(n->num_slots == 0 && n->num_replicas == 0 && !n->master, "handshake %.40s",
              n->name);
    for (size_t k = 0; k < n->n_fail_reports; k++)
        CHECK(node_known(c, n->fail_reports[k].node) && n->fail_reports[k].node != n,
              "fail report on %.40s", n->name);
}

void cluster_validate(const cluster_t *c)
{
    CHECK(c->myself && node_known(c, c->myself), "myself");
    CHECK(dict_size((dict_t *)&c->index) == c->n_nodes, "index size");
    for (size_t i = 0; i < c->n_nodes; i++) {
        const cnode_t *n = c->nodes[i];
        CHECK(strlen(n->name) == CLUSTER_NAMELEN, "name length");
        CHECK(node_known(c, n), "%.40s not indexed", n->name);
        validate_node(c, n);
    }
    for (int s = 0; s < CLUSTER_SLOTS; s++) {
        CHECK(!c->slots[s] || node_known(c, c->slots[s]), "slot %d owner", s);
        CHECK(!c->migrating[s] || node_known(c, c->migrating[s]), "migrating %d", s);
        CHECK(!c->importing[s] || node_known(c, c->importing[s]), "importing %d", s);
    }
    for (size_t i = c->out_head; i < c->out_len; i++)
        CHECK(node_known(c, c->out[i].to), "outbox entry to a dead node");
    cluster_election_validate(c);
    cluster_mf_validate(c);
}
