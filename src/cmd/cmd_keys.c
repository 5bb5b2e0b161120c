/*
 * cmd_keys.c — the generic key commands: DEL UNLINK EXISTS TYPE TOUCH EXPIRE
 * PEXPIRE EXPIREAT PEXPIREAT TTL PTTL EXPIRETIME PEXPIRETIME PERSIST KEYS SCAN
 * RANDOMKEY RENAME RENAMENX COPY MOVE SWAPDB OBJECT, with Redis 7.0's replies
 * and error texts. They work on entries of any type (kv_type_name and the
 * type hooks of ks/kv.h make other types plug in).
 *
 * Must not: touch sockets or other rooms' state.
 * Invariants: a handler writes exactly one reply; every change is counted
 * with cmd_dirty(); lookup flavours follow Redis (TYPE/EXISTS/TTL/OBJECT do not
 * touch the LRU clock but count hits/misses; writers count nothing).
 */
#include <limits.h>

#include "../conf/config.h"
#include "../ks/db.h"
#include "../lib/mem.h"
#include "../lib/util.h"
#include "cmd.h"

#define SHARED_INTEGERS 10000
#define SHARED_REFCOUNT 2147483647LL

static db_t *cur_db(cmd_ctx_t *ctx)
{
    return ks_db(ctx->env->ks, ctx->s->db);
}

/* Redis's getIntFromObjectOrReply: an int-sized integer, or -1 after the
 * error (msg when given, else Redis's default texts). */
static int arg_int(cmd_ctx_t *ctx, slice_t a, int *out, const char *msg)
{
    long long v;
    if (arg_ll_msg(ctx, a, &v, msg) != 0)
        return -1;
    if (v < INT_MIN || v > INT_MAX) {
        reply_error(ctx->r, msg ? msg
                                : "ERR value is out of range, value must between -2147483648 and "
                                  "2147483647");
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* Check a db index against `databases` (Redis's selectDb); *out is the db, or
 * NULL when the keyspace does not hold it (cluster mode keeps only db 0).
 * Returns -1 after "DB index is out of range". */
static int other_db(cmd_ctx_t *ctx, int id, db_t **out)
{
    const config_t *cfg = ctx->env->cfg;
    if (id < 0 || id >= cfg->databases) {
        reply_error(ctx->r, "ERR DB index is out of range");
        return -1;
    }
    *out = ks_db(ctx->env->ks, id);
    return 0;
}

/* ---- DEL UNLINK EXISTS TYPE TOUCH ---------------------------------------------- */

static void cmd_del(cmd_ctx_t *ctx)
{
    db_t *db = cur_db(ctx);
    long long n = 0;
    for (int i = 1; i < ctx->argc; i++) {
        db_expire_if_needed(db, ctx->argv[i], ctx->env->now_ms);
        n += db_delete(db, ctx->argv[i]);
    }
    cmd_dirty(ctx, n);
    reply_int(ctx->r, n);
}

static void cmd_exists(cmd_ctx_t *ctx)
{
    db_t *db = cur_db(ctx);
    long long n = 0;
    for (int i = 1; i < ctx->argc; i++)
        n += db_lookup_flags(db, ctx->argv[i], ctx->env->now_ms, DB_LOOKUP_NOTOUCH) != NULL;
    reply_int(ctx->r, n);
}

static void cmd_type(cmd_ctx_t *ctx)
{
    kv_t *kv = db_lookup_flags(cur_db(ctx), ctx->argv[1], ctx->env->now_ms, DB_LOOKUP_NOTOUCH);
    reply_status(ctx->r, kv_type_name(kv));
}

static void cmd_touch(cmd_ctx_t *ctx)
{
    db_t *db = cur_db(ctx);
    long long n = 0;
    for (int i = 1; i < ctx->argc; i++)
        n += db_lookup(db, ctx->argv[i], ctx->env->now_ms) != NULL;
    reply_int(ctx->r, n);
}

/* ---- TTLs --------------------------------------------------------------------------- */

enum { E_NX = 1, E_XX = 2, E_GT = 4, E_LT = 8 };

static int parse_expire_opts(cmd_ctx_t *ctx, int *flags)
{
    int f = 0;
    for (int j = 3; j < ctx->argc; j++) {
        slice_t o = ctx->argv[j];
        if (slice_eq_ci(o, "nx"))
            f |= E_NX;
        else if (slice_eq_ci(o, "xx"))
            f |= E_XX;
        else if (slice_eq_ci(o, "gt"))
            f |= E_GT;
        else if (slice_eq_ci(o, "lt"))
            f |= E_LT;
        else {
            size_t n = strnlen(o.p, o.len);
            reply_errorf(ctx->r, "ERR Unsupported option %.*s", (int)(n > 128 ? 128 : n), o.p);
            return -1;
        }
    }
    if ((f & E_NX) && (f & (E_XX | E_GT | E_LT))) {
        reply_error(ctx->r, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return -1;
    }
    if ((f & E_GT) && (f & E_LT)) {
        reply_error(ctx->r, "ERR GT and LT options at the same time are not compatible");
        return -1;
    }
    *flags = f;
    return 0;
}

/* The absolute ms of EXPIRE-family argument 2, or -1 after the error. */
static int expire_when(cmd_ctx_t *ctx, long long base, int secs, long long *out)
{
    long long when;
    if (arg_ll(ctx, ctx->argv[2], &when) != 0)
        return -1;
    int ok = !secs || (when <= LLONG_MAX / 1000 && when >= LLONG_MIN / 1000);
    if (ok && secs)
        when *= 1000;
    ok = ok && when <= LLONG_MAX - base;
    if (!ok) {
        char name[64];
        cmd_fullname(ctx->cmd, name, sizeof name);
        reply_errorf(ctx->r, "ERR invalid expire time in '%s' command", name);
        return -1;
    }
    *out = when + base;
    return 0;
}

static void expire_generic(cmd_ctx_t *ctx, long long base, int secs)
{
    int f;
    long long when;
    cmd_env_t *env = ctx->env;
    if (parse_expire_opts(ctx, &f) != 0 || expire_when(ctx, base, secs, &when) != 0)
        return;
    db_t *db = cur_db(ctx);
    kv_t *kv = db_lookup_write(db, ctx->argv[1], env->now_ms);
    long long cur = kv ? kv_expire(kv) : -1;
    if (kv == NULL || ((f & E_NX) && cur != -1) || ((f & E_XX) && cur == -1) ||
        ((f & E_GT) && (when <= cur || cur == -1)) || ((f & E_LT) && cur != -1 && when >= cur)) {
        reply_int(ctx->r, 0);
        return;
    }
    if (when <= (long long)env->now_ms && !env->loading && !env->is_replica)
        db_delete(db, ctx->argv[1]);
    else
        db_set_expire(db, ctx->argv[1], when);
    cmd_dirty(ctx, 1);
    reply_int(ctx->r, 1);
}

static void cmd_expire(cmd_ctx_t *ctx)
{
    expire_generic(ctx, (long long)ctx->env->now_ms, 1);
}

static void cmd_pexpire(cmd_ctx_t *ctx)
{
    expire_generic(ctx, (long long)ctx->env->now_ms, 0);
}

static void cmd_expireat(cmd_ctx_t *ctx)
{
    expire_generic(ctx, 0, 1);
}

static void cmd_pexpireat(cmd_ctx_t *ctx)
{
    expire_generic(ctx, 0, 0);
}

/* TTL/PTTL (relative) and EXPIRETIME/PEXPIRETIME (absolute). */
static void ttl_generic(cmd_ctx_t *ctx, int ms, int absolute)
{
    long long now = (long long)ctx->env->now_ms;
    kv_t *kv = db_lookup_flags(cur_db(ctx), ctx->argv[1], (uint64_t)now, DB_LOOKUP_NOTOUCH);
    if (kv == NULL || kv_expire(kv) == -1) {
        reply_int(ctx->r, kv ? -1 : -2);
        return;
    }
    long long t = absolute ? kv_expire(kv) : kv_expire(kv) - now;
    if (t < 0)
        t = 0;
    reply_int(ctx->r, ms ? t : (long long)(((unsigned long long)t + 500) / 1000));
}

static void cmd_ttl(cmd_ctx_t *ctx)
{
    ttl_generic(ctx, 0, 0);
}

static void cmd_pttl(cmd_ctx_t *ctx)
{
    ttl_generic(ctx, 1, 0);
}

static void cmd_expiretime(cmd_ctx_t *ctx)
{
    ttl_generic(ctx, 0, 1);
}

static void cmd_pexpiretime(cmd_ctx_t *ctx)
{
    ttl_generic(ctx, 1, 1);
}

static void cmd_persist(cmd_ctx_t *ctx)
{
    db_t *db = cur_db(ctx);
    int done = db_lookup_write(db, ctx->argv[1], ctx->env->now_ms) && db_persist(db, ctx->argv[1]);
    cmd_dirty(ctx, done);
    reply_int(ctx->r, done);
}

/* ---- KEYS SCAN RANDOMKEY ----------------------------------------------------------- */

static void cmd_keys(cmd_ctx_t *ctx)
{
    db_t *db = cur_db(ctx);
    slice_t pat = ctx->argv[1];
    int all = pat.len == 1 && pat.p[0] == '*';
    int hide = ks_expire_mode(ctx->env->ks) != KS_EXPIRE_NEVER;
    reply_defer_t d = reply_defer(ctx->r);
    long long n = 0;
    db_iter_t it;
    db_iter_init(&it, db);
    for (kv_t *kv; (kv = db_iter_next(&it)) != NULL;) {
        slice_t k = kv_key(kv);
        if (!all && !glob_match(pat.p, pat.len, k.p, k.len, 0))
            continue;
        if (hide && db_kv_is_expired(kv, ctx->env->now_ms))
            continue;
        reply_bulk(ctx->r, k.p, k.len);
        n++;
    }
    db_iter_deinit(&it);
    reply_defer_array(ctx->r, d, n);
}

/* Keys gathered by one SCAN call: copies (later filters may delete entries). */
typedef struct scan_acc_s {
    slice_t pat;
    int use_pat;
    size_t seen; /* entries visited, matching or not (Redis's list length) */
    char *buf;   /* key bytes */
    size_t used, cap;
    size_t *ends; /* end offset of each kept key in buf */
    size_t n, ncap;
} scan_acc_t;

static void scan_collect(void *arg, kv_t *kv)
{
    scan_acc_t *a = arg;
    slice_t k = kv_key(kv);
    a->seen++;
    if (a->use_pat && !glob_match(a->pat.p, a->pat.len, k.p, k.len, 0))
        return;
    if (a->used + k.len > a->cap) {
        a->cap = (a->used + k.len) * 2 + 256;
        a->buf = mem_realloc(a->buf, a->cap);
    }
    if (a->n == a->ncap) {
        a->ncap = a->ncap * 2 + 16;
        a->ends = mem_realloc(a->ends, a->ncap * sizeof(size_t));
    }
    memcpy(a->buf + a->used, k.p, k.len);
    a->used += k.len;
    a->ends[a->n++] = a->used;
}

/* SCAN options: COUNT n, MATCH pat, TYPE t. Returns -1 after the error. */
static int scan_opts(cmd_ctx_t *ctx, long long *count, scan_acc_t *a, slice_t *type)
{
    for (int i = 2; i < ctx->argc; i += 2) {
        slice_t o = ctx->argv[i];
        if (i + 1 >= ctx->argc) {
            reply_syntax_error(ctx->r);
            return -1;
        }
        if (slice_eq_ci(o, "count")) {
            if (arg_ll(ctx, ctx->argv[i + 1], count) != 0)
                return -1;
            if (*count < 1) {
                reply_syntax_error(ctx->r);
                return -1;
            }
        } else if (slice_eq_ci(o, "match")) {
            a->pat = ctx->argv[i + 1];
            a->use_pat = !(a->pat.len == 1 && a->pat.p[0] == '*');
        } else if (slice_eq_ci(o, "type")) {
            *type = ctx->argv[i + 1];
        } else {
            reply_syntax_error(ctx->r);
            return -1;
        }
    }
    return 0;
}

static void cmd_scan(cmd_ctx_t *ctx)
{
    unsigned long long cursor;
    long long count = 10;
    slice_t type = {NULL, 0};
    scan_acc_t a = {0};
    if (!str_to_scan_cursor(ctx->argv[1].p, ctx->argv[1].len, &cursor)) {
        reply_error(ctx->r, "ERR invalid cursor");
        return;
    }
    if (scan_opts(ctx, &count, &a, &type) != 0)
        return;
    db_t *db = cur_db(ctx);
    uint64_t now = ctx->env->now_ms;
    long long iters = count * 10;
    do
        cursor = db_scan(db, cursor, scan_collect, &a);
    while (cursor && iters-- && a.seen < (size_t)count);
    char num[24];
    reply_array(ctx->r, 2);
    reply_bulk(ctx->r, num, ull_to_str(num, cursor));
    reply_defer_t d = reply_defer(ctx->r);
    long long n = 0;
    for (size_t i = 0, start = 0; i < a.n; start = a.ends[i++]) {
        slice_t k = slice_make(a.buf + start, a.ends[i] - start);
        if (type.p) {
            kv_t *kv = db_lookup_flags(db, k, now, DB_LOOKUP_NOTOUCH);
            if (!slice_eq_ci(type, kv_type_name(kv)))
                continue;
        }
        if (db_expire_if_needed(db, k, now))
            continue;
        reply_bulk(ctx->r, k.p, k.len);
        n++;
    }
    reply_defer_array(ctx->r, d, n);
    mem_free(a.buf);
    mem_free(a.ends);
}

static void cmd_randomkey(cmd_ctx_t *ctx)
{
    kv_t *kv = db_random(cur_db(ctx), ctx->env->now_ms);
    if (kv == NULL) {
        reply_null(ctx->r);
        return;
    }
    slice_t k = kv_key(kv);
    reply_bulk(ctx->r, k.p, k.len);
}

/* ---- RENAME MOVE COPY SWAPDB ---------------------------------------------------------- */

static void rename_generic(cmd_ctx_t *ctx, int nx)
{
    int rc = db_rename(cur_db(ctx), ctx->argv[1], ctx->argv[2], nx, ctx->env->now_ms);
    if (rc == DB_NOKEY) {
        reply_error(ctx->r, "ERR no such key");
        return;
    }
    if (rc == DB_EXISTS) {
        reply_int(ctx->r, 0);
        return;
    }
    if (!slice_eq(ctx->argv[1], ctx->argv[2]))
        cmd_dirty(ctx, 1);
    if (nx)
        reply_int(ctx->r, 1);
    else
        reply_ok(ctx->r);
}

static void cmd_rename(cmd_ctx_t *ctx)
{
    rename_generic(ctx, 0);
}

static void cmd_renamenx(cmd_ctx_t *ctx)
{
    rename_generic(ctx, 1);
}

static void cmd_move(cmd_ctx_t *ctx)
{
    int id;
    db_t *dst;
    if (ctx->env->cluster_mode) {
        reply_error(ctx->r, "ERR MOVE is not allowed in cluster mode");
        return;
    }
    if (arg_int(ctx, ctx->argv[2], &id, NULL) != 0 || other_db(ctx, id, &dst) != 0)
        return;
    if (id == ctx->s->db) {
        reply_error(ctx->r, "ERR source and destination objects are the same");
        return;
    }
    int rc = dst ? db_move(cur_db(ctx), dst, ctx->argv[1], ctx->env->now_ms) : DB_NOKEY;
    cmd_dirty(ctx, rc == DB_OK);
    reply_int(ctx->r, rc == DB_OK);
}

static void cmd_copy(cmd_ctx_t *ctx)
{
    int id = ctx->s->db, replace = 0;
    db_t *dst = cur_db(ctx);
    for (int j = 3; j < ctx->argc; j++) {
        if (slice_eq_ci(ctx->argv[j], "replace")) {
            replace = 1;
        } else if (slice_eq_ci(ctx->argv[j], "db") && j + 1 < ctx->argc) {
            if (arg_int(ctx, ctx->argv[++j], &id, NULL) != 0 || other_db(ctx, id, &dst) != 0)
                return;
        } else {
            reply_syntax_error(ctx->r);
            return;
        }
    }
    if (ctx->env->cluster_mode && (ctx->s->db != 0 || id != 0)) {
        reply_error(ctx->r, "ERR Copying to another database is not allowed in cluster mode");
        return;
    }
    if (id == ctx->s->db && slice_eq(ctx->argv[1], ctx->argv[2])) {
        reply_error(ctx->r, "ERR source and destination objects are the same");
        return;
    }
    int rc = dst ? db_copy(cur_db(ctx), ctx->argv[1], dst, ctx->argv[2], replace, ctx->env->now_ms)
                 : DB_NOKEY;
    cmd_dirty(ctx, rc == DB_OK);
    reply_int(ctx->r, rc == DB_OK);
}

static void cmd_swapdb(cmd_ctx_t *ctx)
{
    int a, b;
    if (ctx->env->cluster_mode) {
        reply_error(ctx->r, "ERR SWAPDB is not allowed in cluster mode");
        return;
    }
    if (arg_int(ctx, ctx->argv[1], &a, "ERR invalid first DB index") != 0 ||
        arg_int(ctx, ctx->argv[2], &b, "ERR invalid second DB index") != 0)
        return;
    if (ks_swapdb(ctx->env->ks, a, b) != 0) {
        reply_error(ctx->r, "ERR DB index is out of range");
        return;
    }
    cmd_dirty(ctx, 1);
    reply_ok(ctx->r);
}

/* ---- OBJECT ---------------------------------------------------------------------------- */

static const char *const object_help[] = {
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
};

/* The entry OBJECT inspects, or NULL after a null reply. */
static kv_t *object_lookup(cmd_ctx_t *ctx)
{
    kv_t *kv = db_lookup_flags(cur_db(ctx), ctx->argv[2], ctx->env->now_ms, DB_LOOKUP_NOTOUCH);
    if (kv == NULL)
        reply_null(ctx->r);
    return kv;
}

static void cmd_object_encoding(cmd_ctx_t *ctx)
{
    kv_t *kv = object_lookup(ctx);
    if (kv)
        reply_bulk_cstr(ctx->r, kv_enc_name(kv));
}

static void cmd_object_refcount(cmd_ctx_t *ctx)
{
    kv_t *kv = object_lookup(ctx);
    if (kv == NULL)
        return;
    int shared = kv->type == OBJ_STRING && kv->enc == ENC_INT && !kv->unshared &&
                 ks_shared_ints(ctx->env->ks) && kv_int(kv) >= 0 && kv_int(kv) < SHARED_INTEGERS;
    reply_int(ctx->r, shared ? SHARED_REFCOUNT : 1);
}

static void cmd_object_idletime(cmd_ctx_t *ctx)
{
    kv_t *kv = object_lookup(ctx);
    if (kv == NULL)
        return;
    if (ks_policy(ctx->env->ks) == KS_POLICY_LFU) {
        reply_error(ctx->r, "ERR An LFU maxmemory policy is selected, idle time not tracked. "
                            "Please note that when switching between policies at runtime LRU "
                            "and LFU data will take some time to adjust.");
        return;
    }
    reply_int(ctx->r, (long long)(kv_idle_ms(kv, ctx->env->now_ms) / 1000));
}

static void cmd_object_freq(cmd_ctx_t *ctx)
{
    kv_t *kv = object_lookup(ctx);
    if (kv == NULL)
        return;
    if (ks_policy(ctx->env->ks) != KS_POLICY_LFU) {
        reply_error(ctx->r, "ERR An LFU maxmemory policy is not selected, access frequency not "
                            "tracked. Please note that when switching between policies at "
                            "runtime LRU and LFU data will take some time to adjust.");
        return;
    }
    reply_int(ctx->r, ks_lfu_freq(ctx->env->ks, kv, ctx->env->now_ms));
}

static void cmd_object_help(cmd_ctx_t *ctx)
{
    reply_help_lines(ctx->r, object_help, sizeof object_help / sizeof object_help[0]);
}

static cmd_def_t cmd_object_subs[] = {
    {.name = "encoding",
     .proc = cmd_object_encoding,
     .arity = 3,
     .flags = CMD_READONLY,
     .key = {2, 2, 1}},
    {.name = "freq", .proc = cmd_object_freq, .arity = 3, .flags = CMD_READONLY, .key = {2, 2, 1}},
    {.name = "help", .proc = cmd_object_help, .arity = 2, .flags = CMD_LOADING | CMD_STALE},
    {.name = "idletime",
     .proc = cmd_object_idletime,
     .arity = 3,
     .flags = CMD_READONLY,
     .key = {2, 2, 1}},
    {.name = "refcount",
     .proc = cmd_object_refcount,
     .arity = 3,
     .flags = CMD_READONLY,
     .key = {2, 2, 1}},
    {0},
};

#define R_FAST (CMD_READONLY | CMD_FAST)
#define W_FAST (CMD_WRITE | CMD_FAST)

cmd_def_t cmd_table_keys[] = {
    {.name = "del", .proc = cmd_del, .arity = -2, .flags = CMD_WRITE, .key = {1, -1, 1}},
    {.name = "unlink", .proc = cmd_del, .arity = -2, .flags = W_FAST, .key = {1, -1, 1}},
    {.name = "exists", .proc = cmd_exists, .arity = -2, .flags = R_FAST, .key = {1, -1, 1}},
    {.name = "type", .proc = cmd_type, .arity = 2, .flags = R_FAST, .key = {1, 1, 1}},
    {.name = "touch", .proc = cmd_touch, .arity = -2, .flags = R_FAST, .key = {1, -1, 1}},
    {.name = "expire", .proc = cmd_expire, .arity = -3, .flags = W_FAST, .key = {1, 1, 1}},
    {.name = "pexpire", .proc = cmd_pexpire, .arity = -3, .flags = W_FAST, .key = {1, 1, 1}},
    {.name = "expireat", .proc = cmd_expireat, .arity = -3, .flags = W_FAST, .key = {1, 1, 1}},
    {.name = "pexpireat", .proc = cmd_pexpireat, .arity = -3, .flags = W_FAST, .key = {1, 1, 1}},
    {.name = "ttl", .proc = cmd_ttl, .arity = 2, .flags = R_FAST, .key = {1, 1, 1}},
    {.name = "pttl", .proc = cmd_pttl, .arity = 2, .flags = R_FAST, .key = {1, 1, 1}},
    {.name = "expiretime", .proc = cmd_expiretime, .arity = 2, .flags = R_FAST, .key = {1, 1, 1}},
    {.name = "pexpiretime", .proc = cmd_pexpiretime, .arity = 2, .flags = R_FAST, .key = {1, 1, 1}},
    {.name = "persist", .proc = cmd_persist, .arity = 2, .flags = W_FAST, .key = {1, 1, 1}},
    {.name = "keys", .proc = cmd_keys, .arity = 2, .flags = CMD_READONLY},
    {.name = "scan", .proc = cmd_scan, .arity = -2, .flags = CMD_READONLY},
    {.name = "randomkey", .proc = cmd_randomkey, .arity = 1, .flags = CMD_READONLY},
    {.name = "rename", .proc = cmd_rename, .arity = 3, .flags = CMD_WRITE, .key = {1, 2, 1}},
    {.name = "renamenx", .proc = cmd_renamenx, .arity = 3, .flags = W_FAST, .key = {1, 2, 1}},
    {.name = "copy",
     .proc = cmd_copy,
     .arity = -3,
     .flags = CMD_WRITE | CMD_DENYOOM,
     .key = {1, 2, 1}},
    {.name = "move", .proc = cmd_move, .arity = 3, .flags = W_FAST, .key = {1, 1, 1}},
    {.name = "swapdb", .proc = cmd_swapdb, .arity = 3, .flags = W_FAST},
    {.name = "object", .arity = -2, .subs = cmd_object_subs},
    {0},
};
