/*
 * cmd_cluster_info.c — the CLUSTER subcommands that describe the cluster: INFO,
 * NODES, SLOTS, SHARDS, LINKS, REPLICAS/SLAVES, in Redis 7.0.15's exact shapes
 * (RESP2 and RESP3; compared byte for byte with a real redis-server 7.0.15).
 *
 * Must not: change cluster state; keep node pointers past the call.
 * Notes from 7.0.15: INFO and NODES are verbatim strings ("txt"); SLOTS lists
 * ranges in slot order with the master then every *available* replica (not
 * failed, replication offset != 0), each node as [endpoint, port, id, {extra
 * networking metadata}]; SHARDS lists every master (slot ranges as integer
 * pairs, then the master and its replicas as maps); LINKS lists, per node, the
 * "to" link then the "from" link.
 */
#include <string.h>

#include "../cluster/cluster.h"
#include "../cluster/cluster_bus.h"
#include "../lib/mem.h"
#include "cmd_cluster_int.h"

void cmd_cluster_info(cmd_ctx_t *ctx)
{
    char *text;
    if (!cl_enabled(ctx))
        return;
    size_t len = cluster_info_text(ctx->env->cluster, &text);
    reply_verbatim(ctx->r, text, len, "txt");
    mem_free(text);
}

void cmd_cluster_nodes(cmd_ctx_t *ctx)
{
    char *text;
    if (!cl_enabled(ctx))
        return;
    size_t len = cluster_nodes_text(ctx->env->cluster, &text, ctx->env->now_ms, 0);
    reply_verbatim(ctx->r, text, len, "txt");
    mem_free(text);
}

/* CLUSTER REPLICAS / SLAVES <node-id>: the replicas' CLUSTER NODES lines. */
void cmd_cluster_replicas(cmd_ctx_t *ctx)
{
    if (!cl_enabled(ctx))
        return;
    cluster_t *c = ctx->env->cluster;
    cnode_t *n = cluster_lookup(c, ctx->argv[2].p, ctx->argv[2].len);
    if (n == NULL) {
        cl_reply_unknown_node(ctx, ctx->argv[2]);
        return;
    }
    if (!cnode_is_master(n)) {
        reply_error(ctx->r, "ERR The specified node is not a master");
        return;
    }
    reply_array(ctx->r, n->num_replicas);
    for (int i = 0; i < n->num_replicas; i++) {
        char *line;
        size_t len = cluster_node_line(c, n->replicas[i], &line);
        while (len > 0 && line[len - 1] == '\n')
            len--;
        reply_bulk(ctx->r, line, len);
        mem_free(line);
    }
}

/* ---- SLOTS ------------------------------------------------------------------------ */

/* A replica worth listing: not failed and done with its first sync. */
static int replica_available(const cnode_t *n)
{
    return !cnode_failed(n) && n->repl_offset != 0;
}

/* [endpoint, port, id, {ip and/or hostname that are not the endpoint}] */
static void reply_slot_node(reply_t *r, const cluster_t *c, const cnode_t *n)
{
    int type = cluster_cfg(c)->preferred_endpoint;
    int has_host = n->hostname != NULL && n->hostname[0] != '\0';
    reply_array(r, 4);
    if (type == CLUSTER_ENDPOINT_IP)
        reply_bulk_cstr(r, n->ip);
    else if (type == CLUSTER_ENDPOINT_HOSTNAME)
        reply_bulk_cstr(r, has_host ? n->hostname : "?");
    else
        reply_null(r);
    reply_int(r, n->port);
    reply_bulk(r, n->name, CLUSTER_NAMELEN);
    int extra_ip = type != CLUSTER_ENDPOINT_IP;
    int extra_host = type != CLUSTER_ENDPOINT_HOSTNAME && has_host;
    reply_map(r, extra_ip + extra_host);
    if (extra_ip) {
        reply_bulk_cstr(r, "ip");
        reply_bulk_cstr(r, n->ip);
    }
    if (extra_host) {
        reply_bulk_cstr(r, "hostname");
        reply_bulk_cstr(r, n->hostname);
    }
}

static void reply_slot_range(reply_t *r, const cluster_t *c, const cnode_t *n, int start, int end)
{
    int avail = 0;
    for (int i = 0; i < n->num_replicas; i++)
        avail += replica_available(n->replicas[i]);
    reply_array(r, 3 + avail);
    reply_int(r, start);
    reply_int(r, end);
    reply_slot_node(r, c, n);
    for (int i = 0; i < n->num_replicas; i++)
        if (replica_available(n->replicas[i]))
            reply_slot_node(r, c, n->replicas[i]);
}

void cmd_cluster_slots(cmd_ctx_t *ctx)
{
    if (!cl_enabled(ctx))
        return;
    const cluster_t *c = ctx->env->cluster;
    reply_defer_t d = reply_defer(ctx->r);
    long long ranges = 0;
    const cnode_t *n = NULL;
    int start = 0;
    for (int i = 0; i <= CLUSTER_SLOTS; i++) {
        const cnode_t *cur = i < CLUSTER_SLOTS ? cluster_slot_owner(c, i) : NULL;
        if (cur == n)
            continue;
        if (n != NULL) {
            reply_slot_range(ctx->r, c, n, start, i - 1);
            ranges++;
        }
        n = cur;
        start = i;
    }
    reply_defer_array(ctx->r, d, ranges);
}

/* ---- SHARDS ------------------------------------------------------------------------ */

static void reply_shard_node(cmd_ctx_t *ctx, const cnode_t *n)
{
    const cluster_t *c = ctx->env->cluster;
    reply_t *r = ctx->r;
    int has_host = n->hostname != NULL && n->hostname[0] != '\0';
    uint64_t offset = n->repl_offset;
    reply_map(r, 6 + (n->port != 0) + has_host);
    reply_bulk_cstr(r, "id");
    reply_bulk(r, n->name, CLUSTER_NAMELEN);
    if (n->port != 0) {
        reply_bulk_cstr(r, "port");
        reply_int(r, n->port);
    }
    reply_bulk_cstr(r, "ip");
    reply_bulk_cstr(r, n->ip);
    reply_bulk_cstr(r, "endpoint");
    reply_bulk_cstr(r, cluster_node_endpoint(c, n));
    if (has_host) {
        reply_bulk_cstr(r, "hostname");
        reply_bulk_cstr(r, n->hostname);
    }
    reply_bulk_cstr(r, "role");
    reply_bulk_cstr(r, cnode_is_master(n) ? "master" : "replica");
    reply_bulk_cstr(r, "replication-offset");
    reply_int(r, (long long)offset);
    reply_bulk_cstr(r, "health");
    reply_bulk_cstr(r, cnode_failed(n)                        ? "fail"
                       : (cnode_is_replica(n) && offset == 0) ? "loading"
                                                              : "online");
}

static void reply_shard(cmd_ctx_t *ctx, const cnode_t *m)
{
    reply_t *r = ctx->r;
    reply_map(r, 2);
    reply_bulk_cstr(r, "slots");
    reply_defer_t d = reply_defer(r);
    long long items = 0;
    for (int s = 0; s < CLUSTER_SLOTS; s++) {
        if (!cnode_has_slot(m, s))
            continue;
        int e = s;
        while (e + 1 < CLUSTER_SLOTS && cnode_has_slot(m, e + 1))
            e++;
        reply_int(r, s);
        reply_int(r, e);
        items += 2;
        s = e;
    }
    reply_defer_array(r, d, items);
    reply_bulk_cstr(r, "nodes");
    reply_array(r, 1 + m->num_replicas);
    reply_shard_node(ctx, m);
    for (int i = 0; i < m->num_replicas; i++)
        reply_shard_node(ctx, m->replicas[i]);
}

void cmd_cluster_shards(cmd_ctx_t *ctx)
{
    if (!cl_enabled(ctx))
        return;
    cluster_t *c = ctx->env->cluster;
    size_t count = cluster_node_count(c);
    long long masters = 0;
    for (size_t i = 0; i < count; i++)
        masters += cnode_is_master(cluster_node_at(c, i));
    reply_array(ctx->r, masters);
    for (size_t i = 0; i < count; i++) {
        const cnode_t *n = cluster_node_at(c, i);
        if (cnode_is_master(n))
            reply_shard(ctx, n);
    }
}

/* ---- LINKS -------------------------------------------------------------------------- */

static int reply_link(reply_t *r, const cnode_t *n, const void *link)
{
    cluster_link_info_t li;
    if (!cluster_bus_link_info(link, &li))
        return 0;
    reply_map(r, 6);
    reply_bulk_cstr(r, "direction");
    reply_bulk_cstr(r, li.inbound ? "from" : "to");
    reply_bulk_cstr(r, "node");
    reply_bulk(r, n->name, CLUSTER_NAMELEN);
    reply_bulk_cstr(r, "create-time");
    reply_int(r, (long long)li.ctime);
    reply_bulk_cstr(r, "events");
    reply_bulk_cstr(r, li.events);
    reply_bulk_cstr(r, "send-buffer-allocated");
    reply_int(r, (long long)li.send_alloc);
    reply_bulk_cstr(r, "send-buffer-used");
    reply_int(r, (long long)li.send_used);
    return 1;
}

void cmd_cluster_links(cmd_ctx_t *ctx)
{
    if (!cl_enabled(ctx))
        return;
    cluster_t *c = ctx->env->cluster;
    size_t count = cluster_node_count(c);
    reply_defer_t d = reply_defer(ctx->r);
    long long links = 0;
    for (size_t i = 0; i < count; i++) {
        const cnode_t *n = cluster_node_at(c, i);
        links += reply_link(ctx->r, n, n->link);
        links += reply_link(ctx->r, n, n->inbound_link);
    }
    reply_defer_array(ctx->r, d, links);
}
