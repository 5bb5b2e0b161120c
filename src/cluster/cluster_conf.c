/*
 * cluster_conf.c — the cluster state as text: nodes.conf load and save (through
 * the nodes_conf codec), CLUSTER NODES lines and CLUSTER INFO, Redis 7.0.15's
 * exact formats.
 *
 * Must not: do I/O (the caller reads and writes the file), or read the clock.
 * Invariants: serialize -> load gives back the same ids, addresses, hostnames,
 * flags, masters, epochs, slots and myself's migration markers; a replica's line
 * carries its master's configEpoch (Redis nodeEpoch); the file omits nodes in
 * handshake; CLUSTER NODES shows every node not filtered out.
 */
#include "cluster/cluster_priv.h"

#include <stdio.h>
#include <string.h>

#include "cluster/nodes_conf.h"
#include "lib/log.h"
#include "lib/mem.h"

#define PRINTABLE_FLAGS                                                                  \
    (BUS_NODE_MYSELF | BUS_NODE_MASTER | BUS_NODE_SLAVE | BUS_NODE_PFAIL | BUS_NODE_FAIL | \
     BUS_NODE_HANDSHAKE | BUS_NODE_NOADDR | BUS_NODE_NOFAILOVER)

/* ---- node -> text ------------------------------------------------------------ */

/* Fills r (borrowing n's hostname) for the formatter; myself gets its migration
 * markers in mig (one entry per migrating and per importing slot; NULL if none). */
static void conf_node_view(const cluster_t *c, const cnode_t *n, nodes_conf_node_t *r,
                           nodes_conf_mig_t *mig)
{
    memset(r, 0, sizeof *r);
    memcpy(r->id, n->name, sizeof r->id);
    snprintf(r->ip, sizeof r->ip, "%s", n->ip);
    r->port = n->port;
    r->cport = n->cport;
    r->hostname = n->hostname;
    r->flags = n->flags & PRINTABLE_FLAGS;
    if (n->master)
        memcpy(r->master, n->master->name, sizeof r->master);
    r->ping_sent = n->ping_sent;
    r->pong_recv = n->pong_received;
    r->config_epoch = cluster_state_epoch_node((cnode_t *)n)->config_epoch;
    r->connected = n->link_connected || n == c->myself;
    memcpy(r->slots, n->slots, sizeof r->slots);
    r->num_slots = n->num_slots;
    if (n != c->myself || !mig)
        return;
    size_t k = 0, want = (size_t)c->n_markers;
    for (int pass = 0; pass < 2; pass++) { /* migrating markers, then importing */
        for (int s = 0; s < CLUSTER_SLOTS && k < want; s++) {
            const cnode_t *t = pass == 0 ? c->migrating[s] : c->importing[s];
            if (!t)
                continue;
            mig[k].slot = (uint16_t)s;
            memcpy(mig[k].node, t->name, sizeof mig[k].node);
            k++;
        }
        if (pass == 0)
            r->n_migrating = k;
    }
    r->migrating = mig;
    r->importing = mig + r->n_migrating;
    r->n_importing = k - r->n_migrating;
}

static size_t conf_node_text(const cluster_t *c, const cnode_t *n, char **out)
{
    nodes_conf_node_t r;
    nodes_conf_mig_t *mig = NULL;
    if (n == c->myself && c->n_markers > 0)
        mig = mem_alloc((size_t)c->n_markers * sizeof *mig);
    conf_node_view(c, n, &r, mig);
    size_t len = nodes_conf_format_node(NULL, 0, &r, 1);
    *out = mem_alloc(len + 1);
    nodes_conf_format_node(*out, len + 1, &r, 1);
    mem_free(mig);
    return len;
}

size_t cluster_node_line(const cluster_t *c, const cnode_t *n, char **out)
{
    return conf_node_text(c, n, out);
}

/* Every node without a flag in filter, then (for the file) the vars line. */
static char *conf_text(const cluster_t *c, int filter, int vars, size_t *len)
{
    size_t cap = 4096, off = 0;
    char *buf = mem_alloc(cap);
    for (size_t i = 0; i <= c->n_nodes; i++) {
        char *line = NULL;
        size_t n;
        if (i < c->n_nodes) {
            if (c->nodes[i]->flags & (uint32_t)filter)
                continue;
            n = conf_node_text(c, c->nodes[i], &line);
        } else if (vars) {
            n = nodes_conf_format_vars(NULL, 0, c->current_epoch, c->last_vote_epoch);
            line = mem_alloc(n + 1);
            nodes_conf_format_vars(line, n + 1, c->current_epoch, c->last_vote_epoch);
        } else {
            break;
        }
        while (off + n + 1 > cap)
            cap *= 2;
        buf = mem_realloc(buf, cap);
        memcpy(buf + off, line, n);
        off += n;
        mem_free(line);
    }
    buf[off] = '\0';
    *len = off;
    return buf;
}

char *cluster_serialize(const cluster_t *c, size_t *len)
{
    return conf_text(c, BUS_NODE_HANDSHAKE, 1, len);
}

size_t cluster_nodes_text(const cluster_t *c, char **out, uint64_t now_ms, int filter)
{
    (void)now_ms;
    size_t len;
    *out = conf_text(c, filter, 0, &len);
    return len;
}

/* ---- CLUSTER INFO -------------------------------------------------------------- */

static void info_stats(const cluster_t *c, char *buf, size_t cap, size_t *off, int sent)
{
    const uint64_t *st = sent ? c->stats_sent : c->stats_received;
    const char *dir = sent ? "sent" : "received";
    unsigned long long tot = 0;
    for (int i = 0; i < BUS_TYPE_COUNT; i++) {
        if (st[i] == 0)
            continue;
        tot += st[i];
        *off += (size_t)snprintf(buf + *off, cap - *off, "cluster_stats_messages_%s_%s:%llu\r\n",
                                 bus_type_name((uint16_t)i), dir, (unsigned long long)st[i]);
    }
    *off += (size_t)snprintf(buf + *off, cap - *off, "cluster_stats_messages_%s:%llu\r\n", dir,
                             tot);
}

size_t cluster_info_text(const cluster_t *c, char **out)
{
    int assigned = 0, ok = 0, pfail = 0, fail = 0;
    for (int j = 0; j < CLUSTER_SLOTS; j++) {
        const cnode_t *n = c->slots[j];
        if (!n)
            continue;
        assigned++;
        if (n->flags & BUS_NODE_FAIL)
            fail++;
        else if (n->flags & BUS_NODE_PFAIL)
            pfail++;
        else
            ok++;
    }
    const cnode_t *ep = cluster_state_epoch_node(c->myself);
    size_t cap = 4096, off = 0;
    char *buf = mem_alloc(cap);
    off += (size_t)snprintf(
        buf, cap,
        "cluster_state:%s\r\ncluster_slots_assigned:%d\r\ncluster_slots_ok:%d\r\n"
        "cluster_slots_pfail:%d\r\ncluster_slots_fail:%d\r\ncluster_known_nodes:%zu\r\n"
        "cluster_size:%d\r\ncluster_current_epoch:%llu\r\ncluster_my_epoch:%llu\r\n",
        c->state == BUS_STATE_OK ? "ok" : "fail", assigned, ok, pfail, fail, c->n_nodes, c->size,
        (unsigned long long)c->current_epoch, (unsigned long long)ep->config_epoch);
    info_stats(c, buf, cap, &off, 1);
    info_stats(c, buf, cap, &off, 0);
    off += (size_t)snprintf(buf + off, cap - off, "total_cluster_links_buffer_limit_exceeded:%llu\r\n",
                            (unsigned long long)c->links_buffer_limit_exceeded);
    *out = buf;
    return off;
}

/* ---- nodes.conf -> state --------------------------------------------------------- */

static cnode_t *load_get(cluster_t *c, const char *id, uint64_t now_ms)
{
    cnode_t *n = cluster_state_lookup40(c, id);
    if (!n) {
        n = cluster_state_node_new(c, id, 0, now_ms);
        cluster_state_node_add(c, n);
    }
    return n;
}

static void load_node(cluster_t *c, const nodes_conf_node_t *r, uint64_t now_ms)
{
    cnode_t *n = load_get(c, r->id, now_ms);
    snprintf(n->ip, sizeof n->ip, "%s", r->ip);
    n->port = r->port;
    n->cport = r->cport;
    cluster_state_set_str(&n->hostname, r->hostname, r->hostname ? strlen(r->hostname) : 0);
    n->flags |= r->flags & PRINTABLE_FLAGS;
    if (r->flags & BUS_NODE_MYSELF)
        c->myself = n;
    if (r->flags & BUS_NODE_FAIL)
        n->fail_time = now_ms;
    if (r->master[0]) {
        cnode_t *m = load_get(c, r->master, now_ms);
        if (n->master && n->master != m)
            cluster_state_remove_replica(n->master, n);
        n->master = m;
        cluster_state_add_replica(m, n);
    }
    n->ping_sent = r->ping_sent ? now_ms : 0;
    n->pong_received = r->pong_recv ? now_ms : 0;
    n->config_epoch = r->config_epoch;
    for (int s = 0; s < CLUSTER_SLOTS; s++)
        if (bus_slot_test(r->slots, (unsigned)s))
            cluster_state_add_slot(c, n, s);
    for (size_t k = 0; k < r->n_migrating; k++)
        cluster_state_set_migrating(c, r->migrating[k].slot,
                                    load_get(c, r->migrating[k].node, now_ms));
    for (size_t k = 0; k < r->n_importing; k++)
        cluster_state_set_importing(c, r->importing[k].slot,
                                    load_get(c, r->importing[k].node, now_ms));
}

static void load_fresh(cluster_t *c, uint64_t now_ms)
{
    cnode_t *me = cluster_state_node_new(c, NULL, BUS_NODE_MYSELF | BUS_NODE_MASTER, now_ms);
    cluster_state_node_add(c, me);
    c->myself = me;
    log_notice("No cluster configuration found, I'm %.40s", me->name);
    cluster_state_todo(c, CLUSTER_TODO_SAVE);
}

int cluster_load(cluster_t *c, const char *text, size_t len, uint64_t now_ms, char *err,
                 size_t errcap)
{
    nodes_conf_t conf;
    nodes_conf_err_t perr;
    if (nodes_conf_parse(text, len, &conf, &perr) != NODES_CONF_OK) {
        snprintf(err, errcap, "line %u: %s", perr.line, perr.msg);
        return -1;
    }
    if (conf.n_nodes == 0) {
        load_fresh(c, now_ms);
    } else {
        for (size_t i = 0; i < conf.n_nodes; i++)
            load_node(c, &conf.nodes[i], now_ms);
        c->current_epoch = conf.current_epoch;
        c->last_vote_epoch = conf.last_vote_epoch;
        log_notice("Node configuration loaded, I'm %.40s", c->myself->name);
    }
    nodes_conf_free(&conf);
    uint64_t max = cluster_state_max_epoch(c);
    if (max > c->current_epoch)
        c->current_epoch = max;
    for (size_t i = 0; i < c->n_nodes; i++) {
        cnode_t *n = c->nodes[i];
        if (n->master)
            memcpy(n->shard_id, n->master->shard_id, sizeof n->shard_id);
    }
    cluster_state_update_myself_announce(c);
    if (c->myself->master && c->hooks.role_changed)
        c->hooks.role_changed(c->hooks.ctx, c->myself->master);
    return 0;
}
