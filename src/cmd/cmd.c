/*
 * cmd.c — the command table (built from the family tables), lookup, and the
 * dispatcher that runs one request: checks, call, stats, slowlog, monitors.
 *
 * Owns: the name → row index (a small open-addressing table, case-insensitive),
 * per-command stats storage, the order of pre-call checks (Redis 7.0's
 * processCommand order: unknown command, arity, auth, loading, then call).
 * Must not: write to sockets; know about libuv.
 * Invariant: every row reachable from the index has stats != NULL, and every
 * subcommand row has parent set.
 */
#include "cmd.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "../conf/config.h"
#include "../lib/mem.h"
#include "../lib/util.h"
#include "cmd_hooks.h"
#include "latency.h"

#define CMD_INDEX_SIZE 1024 /* power of two, > 2x the number of commands */

static cmd_def_t *index_rows[CMD_INDEX_SIZE];
static cmd_def_t **all_rows;
static size_t nrows;

/* The family tables, in COMMAND's listing order. */
static cmd_def_t *const families[] = {
    cmd_table_conn, cmd_table_string, cmd_table_keys, cmd_table_server, cmd_table_config, cmd_table_multi, cmd_table_pubsub, cmd_table_shutdown,
    cmd_table_hash, cmd_table_list, cmd_table_set, cmd_table_zset, cmd_table_bits,
    cmd_table_blocking, cmd_table_cluster, cmd_table_dump, cmd_table_save, cmd_table_persist, cmd_table_migrate,
    cmd_table_repl,
};

static uint32_t name_hash(const char *p, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)tolower((unsigned char)p[i])) * 16777619u;
    return h;
}

static void init_stats(cmd_def_t *row, cmd_def_t *parent)
{
    row->parent = parent;
    row->stats = mem_calloc(sizeof(cmd_stats_t));
    if (row->subs == NULL)
        return;
    for (cmd_def_t *s = (cmd_def_t *)row->subs; s->name != NULL; s++)
        init_stats(s, row);
}

void cmd_table_init(void)
{
    size_t cap = 0;
    for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++)
        for (cmd_def_t *row = families[f]; row->name != NULL; row++)
            cap++;
    all_rows = mem_alloc(sizeof(*all_rows) * (cap + 1));
    for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
        for (cmd_def_t *row = families[f]; row->name != NULL; row++) {
            uint32_t i = name_hash(row->name, strlen(row->name)) & (CMD_INDEX_SIZE - 1);
            while (index_rows[i] != NULL)
                i = (i + 1) & (CMD_INDEX_SIZE - 1);
            index_rows[i] = row;
            all_rows[nrows++] = row;
            init_stats(row, NULL);
        }
    }
}

const cmd_def_t *cmd_lookup(slice_t name)
{
    if (name.len == 0 || name.len > 64)
        return NULL;
    uint32_t i = name_hash(name.p, name.len) & (CMD_INDEX_SIZE - 1);
    for (cmd_def_t *row; (row = index_rows[i]) != NULL; i = (i + 1) & (CMD_INDEX_SIZE - 1))
        if (slice_eq_ci(name, row->name))
            return row;
    return NULL;
}

const cmd_def_t *cmd_lookup_sub(const cmd_def_t *parent, slice_t name)
{
    if (parent->subs == NULL)
        return NULL;
    for (const cmd_def_t *s = parent->subs; s->name != NULL; s++)
        if (slice_eq_ci(name, s->name))
            return s;
    return NULL;
}

size_t cmd_count(void) { return nrows; }
const cmd_def_t *cmd_at(size_t i) { return i < nrows ? all_rows[i] : NULL; }

/* "config|get" for subcommands, "get" otherwise. */
size_t cmd_fullname(const cmd_def_t *cmd, char *buf, size_t cap)
{
    int n = cmd->parent ? snprintf(buf, cap, "%s|%s", cmd->parent->name, cmd->name)
                        : snprintf(buf, cap, "%s", cmd->name);
    return n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1);
}

/* ---- reply helpers shared by all handlers ------------------------------- */

void reply_wrong_arity(reply_t *r, const cmd_def_t *cmd)
{
    char name[128];
    cmd_fullname(cmd, name, sizeof(name));
    reply_errorf(r, "ERR wrong number of arguments for '%s' command", name);
}

void reply_syntax_error(reply_t *r) { reply_error(r, "ERR syntax error"); }

void reply_wrongtype(reply_t *r)
{
    reply_error(r, "WRONGTYPE Operation against a key holding the wrong kind of value");
}

void reply_not_integer(reply_t *r) { reply_error(r, "ERR value is not an integer or out of range"); }
void reply_not_float(reply_t *r) { reply_error(r, "ERR value is not a valid float"); }

int arg_ll_msg(cmd_ctx_t *ctx, slice_t a, long long *out, const char *msg)
{
    if (str_to_ll(a.p, a.len, out))
        return 0;
    if (msg != NULL)
        reply_error(ctx->r, msg);
    else
        reply_not_integer(ctx->r);
    return -1;
}

int arg_ll(cmd_ctx_t *ctx, slice_t a, long long *out) { return arg_ll_msg(ctx, a, out, NULL); }

int arg_ld(cmd_ctx_t *ctx, slice_t a, long double *out)
{
    if (str_to_ld(a.p, a.len, out))
        return 0;
    reply_not_float(ctx->r);
    return -1;
}

int arg_d(cmd_ctx_t *ctx, slice_t a, double *out)
{
    if (str_to_d(a.p, a.len, out))
        return 0;
    reply_not_float(ctx->r);
    return -1;
}

slice_t *cmd_argv_copy(int argc, const slice_t *argv)
{
    size_t bytes = sizeof(slice_t) * (size_t)argc;
    for (int i = 0; i < argc; i++)
        bytes += argv[i].len;
    slice_t *copy = mem_alloc(bytes ? bytes : 1);
    char *p = (char *)(copy + argc);
    for (int i = 0; i < argc; i++) {
        memcpy(p, argv[i].p, argv[i].len);
        copy[i] = slice_make(p, argv[i].len);
        p += argv[i].len;
    }
    return copy;
}

void cmd_dirty(cmd_ctx_t *ctx, long long n)
{
    ctx->dirty += n;
    ctx->env->stats->dirty += (uint64_t)n;
}

/* ---- dispatch ----------------------------------------------------------- */

static int arity_ok(const cmd_def_t *cmd, int argc)
{
    return cmd->arity > 0 ? argc == cmd->arity : argc >= -cmd->arity;
}

/* Resolves a container command to its subcommand; writes the error and returns
 * NULL when the subcommand is unknown. */
static const cmd_def_t *resolve(reply_t *r, const cmd_def_t *cmd, int argc, const slice_t *argv)
{
    if (cmd->subs == NULL || argc < 2)
        return cmd;
    const cmd_def_t *sub = cmd_lookup_sub(cmd, argv[1]);
    if (sub == NULL) {
        char up[64];
        size_t i;
        for (i = 0; cmd->name[i] && i < sizeof(up) - 1; i++)
            up[i] = (char)toupper((unsigned char)cmd->name[i]);
        up[i] = '\0';
        reply_errorf(r, "ERR unknown subcommand '%.*s'. Try %s HELP.",
                     (int)(argv[1].len > 128 ? 128 : argv[1].len), argv[1].p, up);
    }
    return sub;
}

static void note_errors(cmd_env_t *env, reply_t *r, uint64_t before)
{
    if (r->errors != before) {
        env->stats->total_error_replies += r->errors - before;
        errorstats_count(r->last_err_code);
    }
}

static int precheck(cmd_env_t *env, session_t *s, reply_t *r, const cmd_def_t *cmd, int argc,
                    const slice_t *argv)
{
    if (!arity_ok(cmd, argc)) {
        reply_wrong_arity(r, cmd);
        return -1;
    }
    if (!s->authenticated && !(cmd->flags & CMD_NO_AUTH) &&
        (cmd->parent == NULL || !(cmd->parent->flags & CMD_NO_AUTH))) {
        reply_error(r, "NOAUTH Authentication required.");
        return -1;
    }
    if (env->loading && !(cmd->flags & CMD_LOADING)) {
        reply_error(r, "LOADING Redis is loading the dataset in memory");
        return -1;
    }
    return cmd_precheck_hook(env, s, r, cmd, argc, argv);
}

int cmd_execute(cmd_env_t *env, session_t *s, int argc, slice_t *argv)
{
    reply_t *r = s->r;
    uint64_t errs = r->errors;
    const cmd_def_t *top = cmd_lookup(argv[0]);
    if (top == NULL) {
        char args[256];
        size_t n = 0;
        for (int i = 1; i < argc && n < 128; i++) {
            int room = 128 - (int)n;
            int w = snprintf(args + n, sizeof(args) - n, "'%.*s' ",
                             (int)(argv[i].len < (size_t)room ? argv[i].len : (size_t)room),
                             argv[i].p);
            if (w < 0)
                break;
            n = (size_t)w < sizeof(args) - n ? n + (size_t)w : sizeof(args) - 1;
        }
        args[n] = '\0';
        reply_errorf(r, "ERR unknown command '%.*s', with args beginning with: %s",
                     (int)(argv[0].len > 128 ? 128 : argv[0].len), argv[0].p, args);
        note_errors(env, r, errs);
        if (s->flags & SESS_MULTI)
            s->flags |= SESS_DIRTY_EXEC;
        return 0;
    }
    const cmd_def_t *cmd = resolve(r, top, argc, argv);
    if (cmd == NULL) {
        note_errors(env, r, errs);
        if (s->flags & SESS_MULTI)
            s->flags |= SESS_DIRTY_EXEC;
        return 0;
    }
    int pre = precheck(env, s, r, cmd, argc, argv);
    if (pre == 1)
        return 0; /* queued in MULTI */
    if (pre != 0) {
        cmd->stats->rejected_calls++;
        note_errors(env, r, errs);
        if (s->flags & SESS_MULTI)
            s->flags |= SESS_DIRTY_EXEC;
        return 0;
    }
    return cmd_call(env, s, cmd, argc, argv);
}

int cmd_call(cmd_env_t *env, session_t *s, const cmd_def_t *cmd, int argc, slice_t *argv)
{
    reply_t *r = s->r;
    uint64_t errs = r->errors;
    cmd_ctx_t ctx = {.env = env, .s = s, .r = r, .cmd = cmd, .argc = argc, .argv = argv};
    uint64_t t0 = env->call_batch && env->call_clock_us ? env->call_clock_us : time_mono_us();
    s->last_cmd = cmd;
    cmd->proc(&ctx);
    uint64_t t1 = time_mono_us();
    uint64_t dur = t1 - t0;
    if (env->call_batch)
        env->call_clock_us = t1;
    cmd->stats->calls++;
    cmd->stats->usec += dur;
    if (r->errors != errs)
        cmd->stats->failed_calls++;
    env->stats->total_commands++;
    s->last_cmd = cmd;
    note_errors(env, r, errs);
    if (!(cmd->flags & CMD_SKIP_SLOWLOG))
        slowlog_push(env, s, argc, argv, dur);
    latency_command(env, cmd, dur);
    /* As Redis 7.0: administrative commands are not shown to monitors. */
    if (env->host != NULL && env->host->monitor_feed != NULL &&
        !(cmd->flags & (CMD_SKIP_MONITOR | CMD_ADMIN)))
        env->host->monitor_feed(env->host->self, s, argc, argv);
    cmd_after_call_hook(env, s, cmd, argc, argv, ctx.dirty);
    return (s->flags & SESS_CLOSE_AFTER_REPLY) ? -1 : 0;
}
