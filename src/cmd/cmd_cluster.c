/*
 * cmd_cluster.c — CLUSTER as a table of subcommand handlers, plus ASKING,
 * READONLY and READWRITE, with Redis 7.0.15's replies and error texts (each
 * checked against a real redis-server 7.0.15 in cluster mode). This file holds
 * the table and the subcommands that change state or answer with a scalar; the
 * ones that describe the cluster (INFO, NODES, SLOTS, SHARDS, LINKS, REPLICAS)
 * are in cmd_cluster_info.c.
 *
 * Must not: touch sockets or libuv; change cluster state other than through
 * cluster.h; keep pointers into the cluster across calls.
 * Invariant: every handler first checks env->cluster (standalone: "ERR This
 * instance has cluster support disabled") and writes exactly one reply.
 */
#include <stdio.h>
#include <string.h>

#include "../cluster/cluster.h"
#include "../cluster/cluster_bus.h"
#include "../ks/db.h"
#include "../lib/crc16.h"
#include "cmd_cluster_int.h"

#define CL_ERRCAP 256

int cl_enabled(cmd_ctx_t *ctx)
{
    if (ctx->env->cluster != NULL)
        return 1;
    reply_error(ctx->r, "ERR This instance has cluster support disabled");
    return 0;
}

int cl_slot_arg(cmd_ctx_t *ctx, slice_t a)
{
    long long slot;
    if (!str_to_ll_slice(a, &slot) || slot < 0 || slot >= CLUSTER_SLOTS) {
        reply_error(ctx->r, "ERR Invalid or out of range slot");
        return -1;
    }
    return (int)slot;
}

void cl_reply_unknown_node(cmd_ctx_t *ctx, slice_t name)
{
    reply_errorf(ctx->r, "ERR Unknown node %.*s", (int)name.len, name.p);
}

void cl_reply_subcommand_error(cmd_ctx_t *ctx)
{
    reply_errorf(
        ctx->r, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try CLUSTER HELP.",
        (int)ctx->argv[1].len, ctx->argv[1].p);
}

/* ---- scalar subcommands ---------------------------------------------------------- */

static void cmd_cluster_myid(cmd_ctx_t *ctx)
{
    if (cl_enabled(ctx))
        reply_bulk(ctx->r, cluster_myself(ctx->env->cluster)->name, CLUSTER_NAMELEN);
}

static void cmd_cluster_keyslot(cmd_ctx_t *ctx)
{
    if (cl_enabled(ctx))
        reply_int(ctx->r, key_hash_slot(ctx->argv[2].p, ctx->argv[2].len));
}

static void cmd_cluster_countkeysinslot(cmd_ctx_t *ctx)
{
    long long slot;
    if (!cl_enabled(ctx) || arg_ll(ctx, ctx->argv[2], &slot) != 0)
        return;
    if (slot < 0 || slot >= CLUSTER_SLOTS) {
        reply_error(ctx->r, "ERR Invalid slot");
        return;
    }
    reply_int(ctx->r, (long long)db_slot_count(ks_db(ctx->env->ks, 0), (int)slot));
}

typedef struct keys_out_s {
    reply_t *r;
    long long n;
} keys_out_t;

static void getkeys_one(void *arg, kv_t *kv)
{
    keys_out_t *o = arg;
    slice_t k = kv_key(kv);
    reply_bulk(o->r, k.p, k.len);
    o->n++;
}

static void cmd_cluster_getkeysinslot(cmd_ctx_t *ctx)
{
    long long maxkeys, slot;
    if (!cl_enabled(ctx) || arg_ll(ctx, ctx->argv[3], &maxkeys) != 0 ||
        arg_ll(ctx, ctx->argv[2], &slot) != 0)
        return;
    if (maxkeys < 0 || slot < 0 || slot >= CLUSTER_SLOTS) {
        reply_error(ctx->r, "ERR Invalid slot or number of keys");
        return;
    }
    keys_out_t o = {.r = ctx->r, .n = 0};
    reply_defer_t d = reply_defer(ctx->r);
    db_slot_keys(ks_db(ctx->env->ks, 0), (int)slot, (size_t)maxkeys, getkeys_one, &o);
    reply_defer_array(ctx->r, d, o.n);
}

static void cmd_cluster_count_failure_reports(cmd_ctx_t *ctx)
{
    if (!cl_enabled(ctx))
        return;
    cnode_t *n = cluster_lookup(ctx->env->cluster, ctx->argv[2].p, ctx->argv[2].len);
    if (n == NULL) {
        cl_reply_unknown_node(ctx, ctx->argv[2]);
        return;
    }
    reply_int(ctx->r, cluster_failure_reports_count(ctx->env->cluster, n, ctx->env->now_ms));
}

/* ---- slot assignment ---------------------------------------------------------------- */

/* ADDSLOTS / DELSLOTS: every argument parsed first, then each checked in order. */
static void slots_cmd(cmd_ctx_t *ctx, int del)
{
    cluster_t *c = ctx->env->cluster;
    uint8_t seen[CLUSTER_SLOT_BYTES];
    char err[CL_ERRCAP];
    for (int j = 2; j < ctx->argc; j++)
        if (cl_slot_arg(ctx, ctx->argv[j]) < 0)
            return;
    memset(seen, 0, sizeof(seen));
    for (int j = 2; j < ctx->argc; j++) {
        int s = cl_slot_arg(ctx, ctx->argv[j]);
        if (cluster_slots_check(c, seen, del, s, s, err, sizeof(err)) != 0) {
            reply_error(ctx->r, err);
            return;
        }
    }
    cluster_slots_apply(c, seen, del);
    reply_ok(ctx->r);
}

/* ADDSLOTSRANGE / DELSLOTSRANGE: start end pairs, each parsed and checked in turn. */
static void slots_range_cmd(cmd_ctx_t *ctx, int del)
{
    cluster_t *c = ctx->env->cluster;
    uint8_t seen[CLUSTER_SLOT_BYTES];
    char err[CL_ERRCAP];
    if (ctx->argc % 2 == 1) {
        reply_wrong_arity(ctx->r, ctx->cmd);
        return;
    }
    memset(seen, 0, sizeof(seen));
    for (int j = 2; j < ctx->argc; j += 2) {
        int start = cl_slot_arg(ctx, ctx->argv[j]), end;
        if (start < 0 || (end = cl_slot_arg(ctx, ctx->argv[j + 1])) < 0)
            return;
        if (start > end) {
            reply_errorf(ctx->r, "ERR start slot number %d is greater than end slot number %d",
                         start, end);
            return;
        }
        if (cluster_slots_check(c, seen, del, start, end, err, sizeof(err)) != 0) {
            reply_error(ctx->r, err);
            return;
        }
    }
    cluster_slots_apply(c, seen, del);
    reply_ok(ctx->r);
}

static void cmd_cluster_addslots(cmd_ctx_t *ctx)
{
    if (cl_enabled(ctx))
        slots_cmd(ctx, 0);
}

static void cmd_cluster_delslots(cmd_ctx_t *ctx)
{
    if (cl_enabled(ctx))
        slots_cmd(ctx, 1);
}

static void cmd_cluster_addslotsrange(cmd_ctx_t *ctx)
{
    if (cl_enabled(ctx))
        slots_range_cmd(ctx, 0);
}

static void cmd_cluster_delslotsrange(cmd_ctx_t *ctx)
{
    if (cl_enabled(ctx))
        slots_range_cmd(ctx, 1);
}

static void cmd_cluster_flushslots(cmd_ctx_t *ctx)
{
    char err[CL_ERRCAP];
    if (!cl_enabled(ctx))
        return;
    if (db_size(ks_db(ctx->env->ks, 0)) != 0) {
        reply_error(ctx->r, "ERR DB must be empty to perform CLUSTER FLUSHSLOTS.");
        return;
    }
    if (cluster_flush_slots(ctx->env->cluster, err, sizeof(err)) != 0)
        reply_error(ctx->r, err);
    else
        reply_ok(ctx->r);
}

/* SETSLOT <slot> IMPORTING|MIGRATING|NODE <id> | STABLE */
static void cmd_cluster_setslot(cmd_ctx_t *ctx)
{
    char err[CL_ERRCAP];
    long long slot;
    if (!cl_enabled(ctx))
        return;
    if (!str_to_ll_slice(ctx->argv[2], &slot) || slot < 0 || slot >= CLUSTER_SLOTS)
        slot = -1; /* the state reports it after the replica check, as Redis does */
    slice_t a = ctx->argv[3];
    int how = -1;
    if (slice_eq_ci(a, "importing") && ctx->argc == 5)
        how = CLUSTER_SETSLOT_IMPORTING;
    else if (slice_eq_ci(a, "migrating") && ctx->argc == 5)
        how = CLUSTER_SETSLOT_MIGRATING;
    else if (slice_eq_ci(a, "node") && ctx->argc == 5)
        how = CLUSTER_SETSLOT_NODE;
    else if (slice_eq_ci(a, "stable") && ctx->argc == 4)
        how = CLUSTER_SETSLOT_STABLE;
    slice_t id = ctx->argc == 5 ? ctx->argv[4] : SLICE_LIT("");
    long long keys = slot >= 0 ? (long long)db_slot_count(ks_db(ctx->env->ks, 0), (int)slot) : 0;
    if (cluster_setslot(ctx->env->cluster, (int)slot, how, id.p, id.len, keys, err, sizeof(err)) !=
        0)
        reply_error(ctx->r, err);
    else
        reply_ok(ctx->r);
}

/* ---- nodes and epochs ------------------------------------------------------------------ */

/* MEET <ip> <port> [<bus-port>] */
static void cmd_cluster_meet(cmd_ctx_t *ctx)
{
    char err[CL_ERRCAP], ip[CLUSTER_IPLEN];
    long long port, cport = 0;
    if (!cl_enabled(ctx))
        return;
    if (ctx->argc > 5) {
        cl_reply_subcommand_error(ctx);
        return;
    }
    if (!str_to_ll_slice(ctx->argv[3], &port)) {
        reply_errorf(ctx->r, "ERR Invalid TCP base port specified: %.*s", (int)ctx->argv[3].len,
                     ctx->argv[3].p);
        return;
    }
    if (ctx->argc == 5 && !str_to_ll_slice(ctx->argv[4], &cport)) {
        reply_errorf(ctx->r, "ERR Invalid TCP bus port specified: %.*s", (int)ctx->argv[4].len,
                     ctx->argv[4].p);
        return;
    }
    if (ctx->argc == 4)
        cport = port + 10000;
    snprintf(ip, sizeof(ip), "%.*s", (int)ctx->argv[2].len, ctx->argv[2].p);
    if (ctx->argv[2].len >= sizeof(ip) || port <= 0 || port > 65535 || cport <= 0 ||
        cport > 65535 ||
        cluster_meet(ctx->env->cluster, ip, (int)port, (int)cport, err, sizeof(err),
                     ctx->env->now_ms) != 0) {
        reply_errorf(ctx->r, "ERR Invalid node address specified: %.*s:%.*s", (int)ctx->argv[2].len,
                     ctx->argv[2].p, (int)ctx->argv[3].len, ctx->argv[3].p);
        return;
    }
    reply_ok(ctx->r);
}

static void cmd_cluster_forget(cmd_ctx_t *ctx)
{
    char err[CL_ERRCAP];
    if (!cl_enabled(ctx))
        return;
    if (cluster_forget(ctx->env->cluster, ctx->argv[2].p, ctx->argv[2].len, err, sizeof(err),
                       ctx->env->now_ms) != 0)
        reply_error(ctx->r, err);
    else
        reply_ok(ctx->r);
}

/* CLUSTER FAILOVER [FORCE|TAKEOVER] */
static void cmd_cluster_failover(cmd_ctx_t *ctx)
{
    char err[CL_ERRCAP];
    if (!cl_enabled(ctx))
        return;
    int mode = CLUSTER_FAILOVER_DEFAULT;
    if (ctx->argc == 3 && slice_eq_ci(ctx->argv[2], "force"))
        mode = CLUSTER_FAILOVER_FORCE;
    else if (ctx->argc == 3 && slice_eq_ci(ctx->argv[2], "takeover"))
        mode = CLUSTER_FAILOVER_TAKEOVER;
    else if (ctx->argc > 2) {
        reply_syntax_error(ctx->r);
        return;
    }
    if (cluster_failover_start(ctx->env->cluster, mode, err, sizeof(err), ctx->env->now_ms) != 0)
        reply_error(ctx->r, err);
    else
        reply_ok(ctx->r);
}

static void cmd_cluster_replicate(cmd_ctx_t *ctx)
{
    char err[CL_ERRCAP];
    if (!cl_enabled(ctx))
        return;
    int empty = db_size(ks_db(ctx->env->ks, 0)) == 0;
    if (cluster_replicate(ctx->env->cluster, ctx->argv[2].p, ctx->argv[2].len, empty, err,
                          sizeof(err), ctx->env->now_ms) != 0)
        reply_error(ctx->r, err);
    else
        reply_ok(ctx->r);
}

/* RESET [HARD|SOFT] */
static void cmd_cluster_reset(cmd_ctx_t *ctx)
{
    char err[CL_ERRCAP];
    int hard = 0;
    if (!cl_enabled(ctx))
        return;
    if (ctx->argc > 3) {
        cl_reply_subcommand_error(ctx);
        return;
    }
    if (ctx->argc == 3) {
        if (slice_eq_ci(ctx->argv[2], "hard")) {
            hard = 1;
        } else if (!slice_eq_ci(ctx->argv[2], "soft")) {
            reply_syntax_error(ctx->r);
            return;
        }
    }
    cnode_t *me = cluster_myself(ctx->env->cluster);
    if (cnode_is_master(me) && db_size(ks_db(ctx->env->ks, 0)) != 0) {
        reply_error(ctx->r, "ERR CLUSTER RESET can't be called with master nodes containing keys");
        return;
    }
    if (cnode_is_replica(me))
        ks_flushall(ctx->env->ks); /* a replica becoming a master starts empty */
    if (cluster_reset(ctx->env->cluster, hard, ctx->env->now_ms, err, sizeof(err)) != 0)
        reply_error(ctx->r, err);
    else
        reply_ok(ctx->r);
}

static void cmd_cluster_saveconfig(cmd_ctx_t *ctx)
{
    char err[CL_ERRCAP];
    if (!cl_enabled(ctx))
        return;
    if (cluster_bus_save_config(ctx->env->cluster_bus, err, sizeof(err)) != 0)
        reply_errorf(ctx->r, "ERR error saving the cluster node config: %s", err);
    else
        reply_ok(ctx->r);
}

static void cmd_cluster_set_config_epoch(cmd_ctx_t *ctx)
{
    char err[CL_ERRCAP];
    long long epoch;
    if (!cl_enabled(ctx) || arg_ll(ctx, ctx->argv[2], &epoch) != 0)
        return;
    if (cluster_set_config_epoch(ctx->env->cluster, epoch, err, sizeof(err)) != 0)
        reply_error(ctx->r, err);
    else
        reply_ok(ctx->r);
}

static void cmd_cluster_bumpepoch(cmd_ctx_t *ctx)
{
    char buf[64];
    int bumped = 0;
    if (!cl_enabled(ctx))
        return;
    cluster_bump_epoch(ctx->env->cluster, &bumped);
    snprintf(buf, sizeof(buf), "%s %llu", bumped ? "BUMPED" : "STILL",
             (unsigned long long)cluster_myself(ctx->env->cluster)->config_epoch);
    reply_status(ctx->r, buf);
}

/* CLUSTER HELP, as Redis 7.0.15 prints it (FAILOVER included). */
static const char *const cluster_help_lines[] = {
    "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ADDSLOTS <slot> [<slot> ...]",
    "    Assign slots to current node.",
    "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Assign slots which are between <start-slot> and <end-slot> to current node.",
    "BUMPEPOCH",
    "    Advance the cluster config epoch.",
    "COUNT-FAILURE-REPORTS <node-id>",
    "    Return number of failure reports for <node-id>.",
    "COUNTKEYSINSLOT <slot>",
    "    Return the number of keys in <slot>.",
    "DELSLOTS <slot> [<slot> ...]",
    "    Delete slots information from current node.",
    "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Delete slots information which are between <start-slot> and <end-slot> from "
    "current node.",
    "FAILOVER [FORCE|TAKEOVER]",
    "    Promote current replica node to being a master.",
    "FORGET <node-id>",
    "    Remove a node from the cluster.",
    "GETKEYSINSLOT <slot> <count>",
    "    Return key names stored by current node in a slot.",
    "FLUSHSLOTS",
    "    Delete current node own slots information.",
    "INFO",
    "    Return information about the cluster.",
    "KEYSLOT <key>",
    "    Return the hash slot for <key>.",
    "MEET <ip> <port> [<bus-port>]",
    "    Connect nodes into a working cluster.",
    "MYID",
    "    Return the node id.",
    "NODES",
    "    Return cluster configuration seen by node. Output format:",
    "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
    "REPLICATE <node-id>",
    "    Configure current node as replica to <node-id>.",
    "RESET [HARD|SOFT]",
    "    Reset current node (default: soft).",
    "SET-CONFIG-EPOCH <epoch>",
    "    Set config epoch of current node.",
    "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
    "    Set slot state.",
    "REPLICAS <node-id>",
    "    Return <node-id> replicas.",
    "SAVECONFIG",
    "    Force saving cluster configuration on disk.",
    "SLOTS",
    "    Return information about slots range mappings. Each range is made of:",
    "    start, end, master and replicas IP addresses, ports and ids",
    "SHARDS",
    "    Return information about slot range mappings and the nodes associated with them.",
    "LINKS",
    "    Return information about all network links between this node and its peers.",
    "    Output format is an array where each array element is a map containing attributes "
    "of a link",
    "HELP",
    "    Prints this help.",
};

static void cmd_cluster_help(cmd_ctx_t *ctx)
{
    if (cl_enabled(ctx))
        reply_help_lines(ctx->r, cluster_help_lines,
                         sizeof(cluster_help_lines) / sizeof(cluster_help_lines[0]));
}

/* ---- connection commands ---------------------------------------------------------------- */

static void cmd_asking(cmd_ctx_t *ctx)
{
    if (!cl_enabled(ctx))
        return;
    ctx->s->flags |= SESS_ASKING;
    reply_ok(ctx->r);
}

static void cmd_readonly(cmd_ctx_t *ctx)
{
    if (!cl_enabled(ctx))
        return;
    ctx->s->flags |= SESS_READONLY;
    reply_ok(ctx->r);
}

static void cmd_readwrite(cmd_ctx_t *ctx)
{
    if (!cl_enabled(ctx))
        return;
    ctx->s->flags &= ~SESS_READONLY;
    reply_ok(ctx->r);
}

/* ---- the table ------------------------------------------------------------------------- */

#define CL_ADMIN (CMD_ADMIN | CMD_STALE | CMD_NO_ASYNC_LOADING)
#define CL_ADMIN_RO (CMD_ADMIN | CMD_STALE)
static cmd_def_t cluster_subs[] = {
    {.name = "addslots", .proc = cmd_cluster_addslots, .arity = -3, .flags = CL_ADMIN},
    {.name = "addslotsrange", .proc = cmd_cluster_addslotsrange, .arity = -4, .flags = CL_ADMIN},
    {.name = "bumpepoch", .proc = cmd_cluster_bumpepoch, .arity = 2, .flags = CL_ADMIN},
    {.name = "count-failure-reports",
     .proc = cmd_cluster_count_failure_reports,
     .arity = 3,
     .flags = CL_ADMIN_RO},
    {.name = "countkeysinslot",
     .proc = cmd_cluster_countkeysinslot,
     .arity = 3,
     .flags = CMD_STALE},
    {.name = "delslots", .proc = cmd_cluster_delslots, .arity = -3, .flags = CL_ADMIN},
    {.name = "delslotsrange", .proc = cmd_cluster_delslotsrange, .arity = -4, .flags = CL_ADMIN},
    {.name = "flushslots", .proc = cmd_cluster_flushslots, .arity = 2, .flags = CL_ADMIN},
    {.name = "forget", .proc = cmd_cluster_forget, .arity = 3, .flags = CL_ADMIN},
    {.name = "getkeysinslot", .proc = cmd_cluster_getkeysinslot, .arity = 4, .flags = CMD_STALE},
    {.name = "help", .proc = cmd_cluster_help, .arity = 2, .flags = CMD_LOADING | CMD_STALE},
    {.name = "info", .proc = cmd_cluster_info, .arity = 2, .flags = CMD_STALE},
    {.name = "keyslot", .proc = cmd_cluster_keyslot, .arity = 3, .flags = CMD_STALE},
    {.name = "links", .proc = cmd_cluster_links, .arity = 2, .flags = CMD_STALE},
    {.name = "meet", .proc = cmd_cluster_meet, .arity = -4, .flags = CL_ADMIN},
    {.name = "myid", .proc = cmd_cluster_myid, .arity = 2, .flags = CMD_STALE},
    {.name = "nodes", .proc = cmd_cluster_nodes, .arity = 2, .flags = CMD_STALE},
    {.name = "replicas", .proc = cmd_cluster_replicas, .arity = 3, .flags = CL_ADMIN_RO},
    {.name = "replicate", .proc = cmd_cluster_replicate, .arity = 3, .flags = CL_ADMIN},
    {.name = "failover", .proc = cmd_cluster_failover, .arity = -2, .flags = CL_ADMIN},
    {.name = "reset",
     .proc = cmd_cluster_reset,
     .arity = -2,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_STALE},
    {.name = "saveconfig", .proc = cmd_cluster_saveconfig, .arity = 2, .flags = CL_ADMIN},
    {.name = "set-config-epoch",
     .proc = cmd_cluster_set_config_epoch,
     .arity = 3,
     .flags = CL_ADMIN},
    {.name = "setslot", .proc = cmd_cluster_setslot, .arity = -4, .flags = CL_ADMIN},
    {.name = "shards", .proc = cmd_cluster_shards, .arity = 2, .flags = CMD_STALE},
    {.name = "slaves", .proc = cmd_cluster_replicas, .arity = 3, .flags = CL_ADMIN_RO},
    {.name = "slots", .proc = cmd_cluster_slots, .arity = 2, .flags = CMD_STALE},
    {0},
};

cmd_def_t cmd_table_cluster[] = {
    {.name = "cluster", .arity = -2, .subs = cluster_subs},
    {.name = "asking", .proc = cmd_asking, .arity = 1, .flags = CMD_FAST},
    {.name = "readonly",
     .proc = cmd_readonly,
     .arity = 1,
     .flags = CMD_LOADING | CMD_STALE | CMD_FAST},
    {.name = "readwrite",
     .proc = cmd_readwrite,
     .arity = 1,
     .flags = CMD_LOADING | CMD_STALE | CMD_FAST},
    {0},
};
