/*
 * cmd_debug.c — DEBUG: SLEEP, POPULATE, SET-ACTIVE-EXPIRE, OBJECT, HELP,
 * gated by enable-debug-command exactly as Redis 7.0 gates it.
 *
 * Owns: the subcommand table of DEBUG and the protected-command check.
 * Must not: propagate (POPULATE's keys are not replicated, as in Redis) or
 * count POPULATE's keys as dirty.
 * Invariant: every subcommand handler checks its own argument count and
 * answers with Redis's "unknown subcommand or wrong number of arguments" text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../conf/config.h"
#include "../ks/db.h"
#include "../lib/mem.h"
#include "../lib/util.h"
#include "cmd_debug.h"
#include "cmd_server_int.h"

enum { DEBUG_CMD_NO = 0, DEBUG_CMD_YES = 1, DEBUG_CMD_LOCAL = 2 };

static int is_local(const cmd_env_t *env, const session_t *s)
{
    if (s->flags & SESS_UNIX)
        return 1;
    const char *a = NULL;
    if (env->host != NULL && env->host->client_addr != NULL)
        a = env->host->client_addr(env->host->self, s);
    if (a == NULL)
        return 0;
    return strncmp(a, "127.0.0.1:", 10) == 0 || strncmp(a, "[::1]:", 6) == 0 ||
           strncmp(a, "::1:", 4) == 0;
}

int debug_protected_check(const cmd_env_t *env, const session_t *s, reply_t *r,
                          const cmd_def_t *cmd)
{
    if (!(cmd->flags & CMD_PROTECTED) && !(cmd->parent && (cmd->parent->flags & CMD_PROTECTED)))
        return 0;
    int mode = env->cfg != NULL ? env->cfg->enable_debug_command : DEBUG_CMD_NO;
    if (mode == DEBUG_CMD_YES || (mode == DEBUG_CMD_LOCAL && is_local(env, s)))
        return 0;
    char up[32];
    const char *name = cmd->parent ? cmd->parent->name : cmd->name;
    size_t i;
    for (i = 0; name[i] && i < sizeof(up) - 1; i++)
        up[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
    up[i] = '\0';
    reply_errorf(r,
                 "ERR %s command not allowed. If the enable-debug-command option is set to "
                 "\"local\", you can run it from a local connection, otherwise you need to set "
                 "this option in the configuration file, and then restart the server.",
                 up);
    return -1;
}

/* ---- subcommands ------------------------------------------------------------- */

static void debug_help(cmd_ctx_t *ctx)
{
    static const char *const lines[] = {
        "OBJECT <key>",
        "    Show low level info about `key` and associated value.",
        "POPULATE <count> [<prefix>] [<size>]",
        "    Create <count> string keys named key:<num>. If <prefix> is specified then",
        "    it is used instead of the 'key' prefix. These are not propagated to",
        "    replicas. Cluster slots are not respected so keys not belonging to the",
        "    current node can be created in cluster mode.",
        "SET-ACTIVE-EXPIRE <0|1>",
        "    Setting it to 0 disables expiring keys in background when they are not",
        "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
        "    default.",
        "SLEEP <seconds>",
        "    Stop the server for <seconds>. Decimals allowed.",
        NULL,
    };
    srv_reply_help(ctx->r, "DEBUG", lines);
}

/* A NUL-terminated copy of a (short) argument into buf. */
static const char *arg_cstr(slice_t a, char *buf, size_t cap)
{
    size_t n = a.len < cap - 1 ? a.len : cap - 1;
    memcpy(buf, a.p, n);
    buf[n] = '\0';
    return buf;
}

static void debug_sleep(cmd_ctx_t *ctx)
{
    char buf[64];
    double secs = strtod(arg_cstr(ctx->argv[2], buf, sizeof(buf)), NULL);
    if (secs > 0) {
        struct timespec ts = {.tv_sec = (time_t)secs,
                              .tv_nsec = (long)((secs - (double)(time_t)secs) * 1e9)};
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
    reply_ok(ctx->r);
}

static void debug_set_active_expire(cmd_ctx_t *ctx)
{
    char buf[32];
    ctx->env->active_expire = atoi(arg_cstr(ctx->argv[2], buf, sizeof(buf)));
    reply_ok(ctx->r);
}

static int positive_arg(cmd_ctx_t *ctx, slice_t a, long long *out)
{
    if (!str_to_ll(a.p, a.len, out) || *out < 0) {
        reply_error(ctx->r, "ERR value is out of range, must be positive");
        return -1;
    }
    return 0;
}

static void debug_populate(cmd_ctx_t *ctx)
{
    long long count, size = 0;
    if (positive_arg(ctx, ctx->argv[2], &count) != 0 ||
        (ctx->argc == 5 && positive_arg(ctx, ctx->argv[4], &size) != 0))
        return;
    slice_t prefix = ctx->argc >= 4 ? ctx->argv[3] : SLICE_LIT("key");
    db_t *db = ks_db(ctx->env->ks, ctx->s->db);
    size_t kcap = prefix.len + 32;
    char *key = mem_alloc(kcap), *val = mem_calloc((size_t)size + 32);
    memcpy(key, prefix.p, prefix.len);
    for (long long j = 0; j < count; j++) {
        int kl = snprintf(key + prefix.len, kcap - prefix.len, ":%lld", j);
        slice_t k = slice_make(key, prefix.len + (size_t)kl);
        if (db_lookup_write(db, k, ctx->env->now_ms) != NULL)
            continue;
        int vl = snprintf(val, 32, "value:%lld", j);
        size_t len = size ? (size_t)size : (size_t)vl;
        if (size)
            memset(val + (vl < size ? vl : size), 0, (size_t)(size - (vl < size ? vl : size)));
        kv_val_t v = kv_val_string_noint(slice_make(val, len));
        db_add(db, k, &v, -1, ctx->env->now_ms);
    }
    mem_free(key);
    mem_free(val);
    reply_ok(ctx->r);
}

/* Bytes of a length prefix in RDB. */
static size_t rdb_len_bytes(uint64_t n)
{
    return n < 64 ? 1 : n < 16384 ? 2 : n <= UINT32_MAX ? 5 : 9;
}

/* RDB size of a string value, without LZF compression. */
static size_t rdb_string_size(slice_t s)
{
    long long v;
    if (s.len <= 11 && str_to_ll(s.p, s.len, &v)) {
        if (v >= -128 && v <= 127)
            return 2;
        if (v >= -32768 && v <= 32767)
            return 3;
        if (v >= -2147483648LL && v <= 2147483647LL)
            return 5;
    }
    return rdb_len_bytes(s.len) + s.len;
}

static void debug_object(cmd_ctx_t *ctx)
{
    db_t *db = ks_db(ctx->env->ks, ctx->s->db);
    kv_t *kv =
        db_lookup_flags(db, ctx->argv[2], ctx->env->now_ms, DB_LOOKUP_NOTOUCH | DB_LOOKUP_NOSTATS);
    if (kv == NULL) {
        reply_error(ctx->r, "ERR no such key");
        return;
    }
    size_t ser = 0;
    if (kv->type == OBJ_STRING) {
        char tmp[32];
        ser = rdb_string_size(kv_str(kv, tmp));
    }
    char line[256];
    snprintf(line, sizeof(line),
             "Value at:%p refcount:1 encoding:%s serializedlength:%zu lru:%u "
             "lru_seconds_idle:%llu",
             (void *)kv, kv_enc_name(kv), ser, (unsigned)kv->lru,
             (unsigned long long)(kv_idle_ms(kv, ctx->env->now_ms) / 1000));
    reply_status(ctx->r, line);
}

static const struct {
    const char *name;
    void (*fn)(cmd_ctx_t *ctx);
    int min_argc, max_argc;
} subs[] = {
    {"help", debug_help, 2, 2},         {"sleep", debug_sleep, 3, 3},
    {"populate", debug_populate, 3, 5}, {"set-active-expire", debug_set_active_expire, 3, 3},
    {"object", debug_object, 3, 3},
};

void cmd_debug(cmd_ctx_t *ctx)
{
    if (debug_protected_check(ctx->env, ctx->s, ctx->r, ctx->cmd) != 0)
        return;
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        if (slice_eq_ci(ctx->argv[1], subs[i].name) && ctx->argc >= subs[i].min_argc &&
            ctx->argc <= subs[i].max_argc) {
            subs[i].fn(ctx);
            return;
        }
    }
    srv_reply_subcommand_error(ctx->r, "DEBUG", ctx->argv[1]);
}
