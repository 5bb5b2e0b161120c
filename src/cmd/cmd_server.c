/*
 * cmd_server.c — the server-command family: its table (cmd_table_server) and
 * the small handlers: DBSIZE FLUSHDB FLUSHALL TIME LASTSAVE SLOWLOG
 * LATENCY (DOCTOR GRAPH HISTOGRAM HISTORY LATEST RESET HELP). INFO, DEBUG and COMMAND live in
 * cmd_info.c, cmd_debug.c and cmd_command.c; ROLE in cmd_repl.c.
 *
 * Owns: the rows of this family (name, arity, flags, keys as Redis 7.0's
 * COMMAND INFO reports them; cmd_meta_verify() checks that) and the shared
 * HELP / subcommand-error replies.
 * Must not: write to sockets or read clocks (commands see env->now_ms/now_us).
 * Invariant: the containers (COMMAND, SLOWLOG, LATENCY) reach their
 * subcommands through .subs; the dispatcher resolves them.
 */
#include <stdio.h>
#include <string.h>

#include "../conf/config.h"
#include "../ks/db.h"
#include "../lib/util.h"
#include "cmd_save.h"
#include "cmd_server_int.h"
#include "latency.h"
#include "slowlog.h"
#include "textbuf.h"

/* ---- shared replies ------------------------------------------------------------ */

void srv_reply_help(reply_t *r, const char *name, const char *const *lines)
{
    long long n = 0;
    while (lines[n] != NULL)
        n++;
    char head[128];
    snprintf(head, sizeof(head),
             "%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", name);
    reply_array(r, n + 3);
    reply_status(r, head);
    for (long long i = 0; i < n; i++)
        reply_status(r, lines[i]);
    reply_status(r, "HELP");
    reply_status(r, "    Prints this help.");
}

void srv_reply_subcommand_error(reply_t *r, const char *name, slice_t sub)
{
    reply_errorf(r, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try %s HELP.",
                 (int)(sub.len > 128 ? 128 : sub.len), sub.p, name);
}

/* A container called without a subcommand never passes the arity check; this
 * answers like Redis should a future caller bypass it. */
static void srv_container(cmd_ctx_t *ctx)
{
    reply_wrong_arity(ctx->r, ctx->cmd);
}

/* ---- keyspace-wide commands ------------------------------------------------------- */

static void cmd_dbsize(cmd_ctx_t *ctx)
{
    reply_int(ctx->r, (long long)db_size(ks_db(ctx->env->ks, ctx->s->db)));
}

/* FLUSHDB/FLUSHALL [ASYNC|SYNC]: both run synchronously here. */
static int flush_args_ok(cmd_ctx_t *ctx)
{
    if (ctx->argc > 2 || (ctx->argc == 2 && !slice_eq_ci(ctx->argv[1], "sync") &&
                          !slice_eq_ci(ctx->argv[1], "async"))) {
        reply_syntax_error(ctx->r);
        return 0;
    }
    return 1;
}

/* Redis counts the removed keys as changes and propagates the flush even when
 * nothing was removed (forceCommandPropagation): ctx->dirty >= 1 asks for the
 * propagation without adding a change to INFO's counter. */
static void flush_done(cmd_ctx_t *ctx, uint64_t removed)
{
    cmd_dirty(ctx, (long long)removed);
    if (ctx->dirty == 0)
        ctx->dirty = 1;
    reply_ok(ctx->r);
}

static void cmd_flushdb(cmd_ctx_t *ctx)
{
    if (flush_args_ok(ctx))
        flush_done(ctx, db_flush(ks_db(ctx->env->ks, ctx->s->db)));
}

static void cmd_flushall(cmd_ctx_t *ctx)
{
    if (!flush_args_ok(ctx))
        return;
    flush_done(ctx, ks_flushall(ctx->env->ks));
    save_after_flushall(ctx->env); /* Redis saves the empty dataset when save points exist */
}

/* ---- clocks and roles -------------------------------------------------------------- */

static void cmd_time(cmd_ctx_t *ctx)
{
    uint64_t us = ctx->env->now_us ? ctx->env->now_us : time_us();
    reply_array(ctx->r, 2);
    reply_bulk_ll(ctx->r, (long long)(us / 1000000));
    reply_bulk_ll(ctx->r, (long long)(us % 1000000));
}

static void cmd_lastsave(cmd_ctx_t *ctx)
{
    const stats_t *st = ctx->env->stats;
    reply_int(ctx->r, (long long)(st->lastsave_s ? st->lastsave_s : st->start_ms / 1000));
}

/* ---- SLOWLOG ----------------------------------------------------------------------- */

static void cmd_slowlog_get(cmd_ctx_t *ctx)
{
    long long count = 10;
    if (ctx->argc > 3) {
        srv_reply_subcommand_error(ctx->r, "SLOWLOG", ctx->argv[1]);
        return;
    }
    if (ctx->argc == 3 && (!str_to_ll(ctx->argv[2].p, ctx->argv[2].len, &count) || count < -1)) {
        reply_error(ctx->r, "ERR count should be greater than or equal to -1");
        return;
    }
    slowlog_reply(ctx->r, count);
}

static void cmd_slowlog_len(cmd_ctx_t *ctx)
{
    reply_int(ctx->r, (long long)slowlog_len());
}

static void cmd_slowlog_reset(cmd_ctx_t *ctx)
{
    slowlog_reset();
    reply_ok(ctx->r);
}

static void cmd_slowlog_help(cmd_ctx_t *ctx)
{
    static const char *const lines[] = {
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        NULL,
    };
    srv_reply_help(ctx->r, "SLOWLOG", lines);
}

/* ---- LATENCY ----------------------------------------------------------------------- */

static void cmd_latency_latest(cmd_ctx_t *ctx)
{
    latency_reply_latest(ctx->r);
}

static void cmd_latency_history(cmd_ctx_t *ctx)
{
    latency_reply_history(ctx->r, ctx->argv[2].p, ctx->argv[2].len);
}

static void cmd_latency_reset(cmd_ctx_t *ctx)
{
    reply_int(ctx->r, latency_reset(ctx->argc - 2, ctx->argv + 2));
}

static void cmd_latency_doctor(cmd_ctx_t *ctx)
{
    textbuf_t b;
    textbuf_init(&b);
    latency_doctor(&b, ctx->env->now_ms / 1000, ctx->env->cfg->latency_monitor_threshold);
    reply_verbatim(ctx->r, b.p, b.len, "txt");
    textbuf_deinit(&b);
}

static void cmd_latency_graph(cmd_ctx_t *ctx)
{
    textbuf_t b;
    textbuf_init(&b);
    if (latency_graph(&b, ctx->argv[2].p, ctx->argv[2].len, ctx->env->now_ms / 1000) != 0)
        reply_errorf(ctx->r, "ERR No samples available for event '%.*s'",
                     (int)(ctx->argv[2].len > 128 ? 128 : ctx->argv[2].len), ctx->argv[2].p);
    else
        reply_verbatim(ctx->r, b.p, b.len, "txt");
    textbuf_deinit(&b);
}

/* One "name → CDF" pair per row with a histogram, and its subcommands'. */
static long long histogram_rows(reply_t *r, const cmd_def_t *def, int subs)
{
    long long n = 0;
    if (latency_has_histogram(def)) {
        char name[128];
        reply_bulk(r, name, srv_fullname(def, name, sizeof(name)));
        latency_reply_cdf(r, def);
        n++;
    }
    for (const cmd_def_t *s = def->subs; subs && s != NULL && s->name != NULL; s++)
        n += histogram_rows(r, s, 1);
    return n;
}

static void cmd_latency_histogram(cmd_ctx_t *ctx)
{
    reply_defer_t d = reply_defer(ctx->r);
    long long n = 0;
    if (ctx->argc == 2) {
        for (size_t i = 0; i < cmd_count(); i++)
            n += histogram_rows(ctx->r, cmd_at(i), 1);
    }
    for (int i = 2; i < ctx->argc; i++) {
        const cmd_def_t *def = srv_lookup_fullname(ctx->argv[i]);
        if (def != NULL)
            n += histogram_rows(ctx->r, def, 1);
    }
    reply_defer_map(ctx->r, d, n);
}

static void cmd_latency_help(cmd_ctx_t *ctx)
{
    static const char *const lines[] = {
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for "
        "the specified command names.",
        "    If no commands are specified then all histograms are replied.",
        NULL,
    };
    srv_reply_help(ctx->r, "LATENCY", lines);
}

/* ---- the table ------------------------------------------------------------------- */

#define LS (CMD_LOADING | CMD_STALE)
#define ADMIN_LS (CMD_ADMIN | CMD_LOADING | CMD_STALE)

static cmd_def_t command_subs[] = {
    {.name = "count", .proc = cmd_command_count, .arity = 2, .flags = LS},
    {.name = "docs", .proc = cmd_command_docs, .arity = -2, .flags = LS},
    {.name = "getkeys", .proc = cmd_command_getkeys, .arity = -4, .flags = LS},
    {.name = "getkeysandflags", .proc = cmd_command_getkeysandflags, .arity = -4, .flags = LS},
    {.name = "help", .proc = cmd_command_help, .arity = 2, .flags = LS},
    {.name = "info", .proc = cmd_command_info, .arity = -2, .flags = LS},
    {.name = "list", .proc = cmd_command_list, .arity = -2, .flags = LS},
    {0},
};

static cmd_def_t slowlog_subs[] = {
    {.name = "get", .proc = cmd_slowlog_get, .arity = -2, .flags = ADMIN_LS},
    {.name = "len", .proc = cmd_slowlog_len, .arity = 2, .flags = ADMIN_LS},
    {.name = "reset", .proc = cmd_slowlog_reset, .arity = 2, .flags = ADMIN_LS},
    {.name = "help", .proc = cmd_slowlog_help, .arity = 2, .flags = LS},
    {0},
};

static cmd_def_t latency_subs[] = {
    {.name = "doctor", .proc = cmd_latency_doctor, .arity = 2, .flags = ADMIN_LS | CMD_NOSCRIPT},
    {.name = "graph", .proc = cmd_latency_graph, .arity = 3, .flags = ADMIN_LS | CMD_NOSCRIPT},
    {.name = "histogram",
     .proc = cmd_latency_histogram,
     .arity = -2,
     .flags = ADMIN_LS | CMD_NOSCRIPT},
    {.name = "history", .proc = cmd_latency_history, .arity = 3, .flags = ADMIN_LS | CMD_NOSCRIPT},
    {.name = "latest", .proc = cmd_latency_latest, .arity = 2, .flags = ADMIN_LS | CMD_NOSCRIPT},
    {.name = "reset", .proc = cmd_latency_reset, .arity = -2, .flags = ADMIN_LS | CMD_NOSCRIPT},
    {.name = "help", .proc = cmd_latency_help, .arity = 2, .flags = LS},
    {0},
};

cmd_def_t cmd_table_server[] = {
    {.name = "dbsize", .proc = cmd_dbsize, .arity = 1, .flags = CMD_READONLY | CMD_FAST},
    {.name = "flushdb", .proc = cmd_flushdb, .arity = -1, .flags = CMD_WRITE},
    {.name = "flushall", .proc = cmd_flushall, .arity = -1, .flags = CMD_WRITE},
    {.name = "info", .proc = cmd_info, .arity = -1, .flags = LS},
    {.name = "time", .proc = cmd_time, .arity = 1, .flags = LS | CMD_FAST},
    {.name = "lastsave", .proc = cmd_lastsave, .arity = 1, .flags = LS | CMD_FAST},
    {.name = "debug",
     .proc = cmd_debug,
     .arity = -2,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | LS | CMD_PROTECTED},
    {.name = "command", .proc = cmd_command, .arity = -1, .flags = LS, .subs = command_subs},
    {.name = "slowlog", .proc = srv_container, .arity = -2, .subs = slowlog_subs},
    {.name = "latency", .proc = srv_container, .arity = -2, .subs = latency_subs},
    {0},
};
