/*
 * cmd_string.c — the string command family: GET SET SETNX SETEX PSETEX GETSET
 * GETDEL GETEX MGET MSET MSETNX INCR DECR INCRBY DECRBY INCRBYFLOAT APPEND
 * STRLEN GETRANGE SETRANGE SUBSTR, with Redis 7.0's replies, errors and
 * value encodings (int / embstr / raw, see ks/kv.h).
 *
 * Must not: touch sockets or other rooms' state; everything goes through the
 * keyspace (ks/db.h) and the reply buffer.
 * Invariants: a handler writes exactly one reply; every change of a key is
 * counted with cmd_dirty(); lookups follow Redis (readers count keyspace
 * hits/misses, writers do not).
 */
#include <limits.h>
#include <math.h>

#include "../conf/config.h"
#include "../ks/db.h"
#include "../lib/util.h"
#include "cmd.h"

/* Options of SET / GETEX (Redis's OBJ_* flags). */
enum {
    O_NX = 1 << 0,
    O_XX = 1 << 1,
    O_GET = 1 << 2,
    O_KEEPTTL = 1 << 3,
    O_PERSIST = 1 << 4,
    O_EX = 1 << 5,
    O_PX = 1 << 6,
    O_EXAT = 1 << 7,
    O_PXAT = 1 << 8,
};
#define O_ANY_EXPIRE (O_EX | O_PX | O_EXAT | O_PXAT)

/* What SET-like commands answer on success / when NX or XX stops them. */
enum { R_OK, R_NULL, R_ONE, R_ZERO };

static db_t *cur_db(cmd_ctx_t *ctx)
{
    return ks_db(ctx->env->ks, ctx->s->db);
}

static void reply_value(reply_t *r, const kv_t *kv)
{
    char tmp[32];
    if (kv->enc == ENC_INT) {
        reply_bulk_ll(r, kv_int(kv));
        return;
    }
    slice_t v = kv_str(kv, tmp);
    reply_bulk(r, v.p, v.len);
}

static void reply_kind(reply_t *r, int kind)
{
    if (kind == R_OK)
        reply_ok(r);
    else if (kind == R_NULL)
        reply_null(r);
    else
        reply_int(r, kind == R_ONE ? 1 : 0);
}

/* Reader's lookup of a string. Returns 0 with *out set (NULL if missing), or
 * -1 after replying WRONGTYPE. */
static int lookup_string(cmd_ctx_t *ctx, int write, kv_t **out)
{
    db_t *db = cur_db(ctx);
    slice_t key = ctx->argv[1];
    kv_t *kv =
        write ? db_lookup_write(db, key, ctx->env->now_ms) : db_lookup(db, key, ctx->env->now_ms);
    if (kv && kv->type != OBJ_STRING) {
        reply_wrongtype(ctx->r);
        return -1;
    }
    *out = kv;
    return 0;
}

/* GET semantics as a step of other commands: replies the value or null.
 * Returns -1 after WRONGTYPE. */
static int get_generic(cmd_ctx_t *ctx)
{
    kv_t *kv;
    if (lookup_string(ctx, 0, &kv) != 0)
        return -1;
    if (kv)
        reply_value(ctx->r, kv);
    else
        reply_null(ctx->r);
    return 0;
}

/* Redis's parseExtendedStringArgumentsOrReply (SET from argv[3], GETEX from argv[2]). */
static int parse_ext(cmd_ctx_t *ctx, int start, int is_set, int *flags, slice_t *expire)
{
    int f = 0;
    for (int j = start; j < ctx->argc; j++) {
        slice_t o = ctx->argv[j];
        int next = j + 1 < ctx->argc;
        if (slice_eq_ci(o, "nx") && !(f & O_XX) && is_set)
            f |= O_NX;
        else if (slice_eq_ci(o, "xx") && !(f & O_NX) && is_set)
            f |= O_XX;
        else if (slice_eq_ci(o, "get") && is_set)
            f |= O_GET;
        else if (slice_eq_ci(o, "keepttl") && !(f & (O_PERSIST | O_ANY_EXPIRE)) && is_set)
            f |= O_KEEPTTL;
        else if (slice_eq_ci(o, "persist") && !is_set && !(f & (O_ANY_EXPIRE | O_KEEPTTL)))
            f |= O_PERSIST;
        else if (slice_eq_ci(o, "ex") && !(f & (O_KEEPTTL | O_PERSIST | O_EXAT | O_PX | O_PXAT)) &&
                 next)
            f |= O_EX, *expire = ctx->argv[++j];
        else if (slice_eq_ci(o, "px") && !(f & (O_KEEPTTL | O_PERSIST | O_EX | O_EXAT | O_PXAT)) &&
                 next)
            f |= O_PX, *expire = ctx->argv[++j];
        else if (slice_eq_ci(o, "exat") && !(f & (O_KEEPTTL | O_PERSIST | O_EX | O_PX | O_PXAT)) &&
                 next)
            f |= O_EXAT, *expire = ctx->argv[++j];
        else if (slice_eq_ci(o, "pxat") && !(f & (O_KEEPTTL | O_PERSIST | O_EX | O_EXAT | O_PX)) &&
                 next)
            f |= O_PXAT, *expire = ctx->argv[++j];
        else {
            reply_syntax_error(ctx->r);
            return -1;
        }
    }
    *flags = f;
    return 0;
}

/* Redis's getExpireMillisecondsOrReply: the absolute unix ms of an EX/PX/EXAT/
 * PXAT argument, or -1 after replying the error. */
static int expire_arg(cmd_ctx_t *ctx, slice_t arg, int flags, long long *out)
{
    long long v;
    if (arg_ll(ctx, arg, &v) != 0)
        return -1;
    int secs = (flags & (O_EX | O_EXAT)) != 0;
    int ok = v > 0 && !(secs && v > LLONG_MAX / 1000);
    if (ok && secs)
        v *= 1000;
    if (ok && (flags & (O_EX | O_PX)))
        ok = !__builtin_add_overflow(v, (long long)ctx->env->now_ms, &v);
    if (!ok || v <= 0) {
        char name[64];
        cmd_fullname(ctx->cmd, name, sizeof name);
        reply_errorf(ctx->r, "ERR invalid expire time in '%s' command", name);
        return -1;
    }
    *out = v;
    return 0;
}

/* setGenericCommand: flags O_*, expire NULL or the EX/PX/... argument. */
static void set_generic(cmd_ctx_t *ctx, int f, slice_t key, slice_t val, const slice_t *expire,
                        int ok_reply, int abort_reply)
{
    long long when = -1;
    if (expire && expire_arg(ctx, *expire, f, &when) != 0)
        return;
    if ((f & O_GET) && get_generic(ctx) != 0)
        return;
    db_t *db = cur_db(ctx);
    if (f & (O_NX | O_XX)) {
        int found = db_lookup_write(db, key, ctx->env->now_ms) != NULL;
        if (((f & O_NX) && found) || ((f & O_XX) && !found)) {
            if (!(f & O_GET))
                reply_kind(ctx->r, abort_reply);
            return;
        }
    }
    db_set_string(db, key, val, when, (f & O_KEEPTTL) ? DB_SET_KEEPTTL : 0, ctx->env->now_ms);
    cmd_dirty(ctx, 1);
    if (!(f & O_GET))
        reply_kind(ctx->r, ok_reply);
}

static void cmd_get(cmd_ctx_t *ctx)
{
    get_generic(ctx);
}

static void cmd_set(cmd_ctx_t *ctx)
{
    int f;
    slice_t expire;
    if (parse_ext(ctx, 3, 1, &f, &expire) != 0)
        return;
    set_generic(ctx, f, ctx->argv[1], ctx->argv[2], (f & O_ANY_EXPIRE) ? &expire : NULL, R_OK,
                R_NULL);
}

static void cmd_setnx(cmd_ctx_t *ctx)
{
    set_generic(ctx, O_NX, ctx->argv[1], ctx->argv[2], NULL, R_ONE, R_ZERO);
}

static void cmd_setex(cmd_ctx_t *ctx)
{
    set_generic(ctx, O_EX, ctx->argv[1], ctx->argv[3], &ctx->argv[2], R_OK, R_NULL);
}

static void cmd_psetex(cmd_ctx_t *ctx)
{
    set_generic(ctx, O_PX, ctx->argv[1], ctx->argv[3], &ctx->argv[2], R_OK, R_NULL);
}

static void cmd_getset(cmd_ctx_t *ctx)
{
    if (get_generic(ctx) != 0)
        return;
    db_set_string(cur_db(ctx), ctx->argv[1], ctx->argv[2], -1, 0, ctx->env->now_ms);
    cmd_dirty(ctx, 1);
}

static void cmd_getdel(cmd_ctx_t *ctx)
{
    if (get_generic(ctx) != 0)
        return;
    if (db_delete(cur_db(ctx), ctx->argv[1]))
        cmd_dirty(ctx, 1);
}

static void cmd_getex(cmd_ctx_t *ctx)
{
    int f;
    slice_t expire;
    long long when = -1;
    kv_t *kv;
    if (parse_ext(ctx, 2, 0, &f, &expire) != 0 || lookup_string(ctx, 0, &kv) != 0)
        return;
    if (kv == NULL) {
        reply_null(ctx->r);
        return;
    }
    if ((f & O_ANY_EXPIRE) && expire_arg(ctx, expire, f, &when) != 0)
        return;
    reply_value(ctx->r, kv);
    db_t *db = cur_db(ctx);
    cmd_env_t *env = ctx->env;
    if ((f & (O_EXAT | O_PXAT)) && when <= (long long)env->now_ms && !env->loading &&
        !env->is_replica) {
        db_delete(db, ctx->argv[1]);
        cmd_dirty(ctx, 1);
    } else if (f & O_ANY_EXPIRE) {
        db_set_expire(db, ctx->argv[1], when);
        cmd_dirty(ctx, 1);
    } else if ((f & O_PERSIST) && db_persist(db, ctx->argv[1])) {
        cmd_dirty(ctx, 1);
    }
}

static void cmd_mget(cmd_ctx_t *ctx)
{
    db_t *db = cur_db(ctx);
    reply_array(ctx->r, ctx->argc - 1);
    for (int i = 1; i < ctx->argc; i++) {
        kv_t *kv = db_lookup(db, ctx->argv[i], ctx->env->now_ms);
        if (kv == NULL || kv->type != OBJ_STRING)
            reply_null(ctx->r);
        else
            reply_value(ctx->r, kv);
    }
}

static void mset_generic(cmd_ctx_t *ctx, int nx)
{
    db_t *db = cur_db(ctx);
    if (ctx->argc % 2 == 0) {
        reply_wrong_arity(ctx->r, ctx->cmd);
        return;
    }
    if (nx) {
        for (int i = 1; i < ctx->argc; i += 2) {
            if (db_lookup_write(db, ctx->argv[i], ctx->env->now_ms) != NULL) {
                reply_int(ctx->r, 0);
                return;
            }
        }
    }
    for (int i = 1; i < ctx->argc; i += 2)
        db_set_string(db, ctx->argv[i], ctx->argv[i + 1], -1, 0, ctx->env->now_ms);
    cmd_dirty(ctx, (ctx->argc - 1) / 2);
    if (nx)
        reply_int(ctx->r, 1);
    else
        reply_ok(ctx->r);
}

static void cmd_mset(cmd_ctx_t *ctx)
{
    mset_generic(ctx, 0);
}

static void cmd_msetnx(cmd_ctx_t *ctx)
{
    mset_generic(ctx, 1);
}

/* ---- counters ------------------------------------------------------------------ */

static void incr_generic(cmd_ctx_t *ctx, long long incr)
{
    kv_t *kv;
    long long v = 0;
    if (lookup_string(ctx, 1, &kv) != 0)
        return;
    if (kv && !kv_str_ll(kv, &v)) {
        reply_not_integer(ctx->r);
        return;
    }
    if ((incr < 0 && v < 0 && incr < LLONG_MIN - v) ||
        (incr > 0 && v > 0 && incr > LLONG_MAX - v)) {
        reply_error(ctx->r, "ERR increment or decrement would overflow");
        return;
    }
    v += incr;
    db_t *db = cur_db(ctx);
    kv_val_t nv = kv_val_int(v);
    if (kv && kv->enc == ENC_INT) {
        kv_set_int_inplace(kv, v);
        db_modified(db, ctx->argv[1]);
    } else if (kv) {
        db_replace(db, kv, &nv, ctx->env->now_ms);
    } else {
        db_add(db, ctx->argv[1], &nv, -1, ctx->env->now_ms);
    }
    cmd_dirty(ctx, 1);
    reply_int(ctx->r, v);
}

static void cmd_incr(cmd_ctx_t *ctx)
{
    incr_generic(ctx, 1);
}

static void cmd_decr(cmd_ctx_t *ctx)
{
    incr_generic(ctx, -1);
}

static void cmd_incrby(cmd_ctx_t *ctx)
{
    long long n;
    if (arg_ll(ctx, ctx->argv[2], &n) == 0)
        incr_generic(ctx, n);
}

static void cmd_decrby(cmd_ctx_t *ctx)
{
    long long n;
    if (arg_ll(ctx, ctx->argv[2], &n) != 0)
        return;
    if (n == LLONG_MIN) {
        reply_error(ctx->r, "ERR decrement would overflow");
        return;
    }
    incr_generic(ctx, -n);
}

static void cmd_incrbyfloat(cmd_ctx_t *ctx)
{
    kv_t *kv;
    long double v = 0, incr;
    char tmp[32], buf[LD_STR_MAX];
    if (lookup_string(ctx, 1, &kv) != 0)
        return;
    if (kv) {
        slice_t s = kv_str(kv, tmp);
        if (!str_to_ld(s.p, s.len, &v)) {
            reply_not_float(ctx->r);
            return;
        }
    }
    if (arg_ld(ctx, ctx->argv[2], &incr) != 0)
        return;
    v += incr;
    size_t n = isnan(v) || isinf(v) ? 0 : ld_to_str(buf, sizeof buf, v);
    if (n == 0) {
        reply_error(ctx->r, "ERR increment would produce NaN or Infinity");
        return;
    }
    db_t *db = cur_db(ctx);
    kv_val_t nv = kv_val_string_noint(slice_make(buf, n));
    if (kv)
        db_replace(db, kv, &nv, ctx->env->now_ms);
    else
        db_add(db, ctx->argv[1], &nv, -1, ctx->env->now_ms);
    cmd_dirty(ctx, 1);
    reply_bulk(ctx->r, buf, n);
}

/* ---- APPEND / SETRANGE / GETRANGE / STRLEN ----------------------------------------- */

/* Redis's checkStringLength: the result may not exceed proto-max-bulk-len
 * (nor 4 GiB, the limit of a raw string here). The master link is exempt. */
static int check_length(cmd_ctx_t *ctx, unsigned long long size, unsigned long long add)
{
    const config_t *cfg = ctx->env->cfg;
    unsigned long long total = size + add;
    if (ctx->s->flags & SESS_MASTER)
        return 0;
    if (total > (unsigned long long)cfg->proto_max_bulk_len || total > UINT32_MAX) {
        reply_error(ctx->r, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return -1;
    }
    return 0;
}

/* Make the string of *kvp a raw str_t with room for need bytes (dbUnshareStringValue). */
static str_t *unshare(cmd_ctx_t *ctx, kv_t **kvp, size_t need)
{
    kv_t *kv = *kvp;
    if (kv->enc == ENC_RAW) {
        str_t *s = str_reserve(kv_raw(kv), need);
        kv_set_ptr(kv, ENC_RAW, s);
        return s;
    }
    char tmp[32];
    slice_t cur = kv_str(kv, tmp);
    str_t *s = str_reserve(str_new(cur.p, cur.len, cur.len), need);
    kv_val_t v = kv_val_ptr(OBJ_STRING, ENC_RAW, s);
    *kvp = db_replace(cur_db(ctx), kv, &v, ctx->env->now_ms);
    return s;
}

static void cmd_append(cmd_ctx_t *ctx)
{
    kv_t *kv;
    slice_t add = ctx->argv[2];
    db_t *db = cur_db(ctx);
    size_t total;
    if (lookup_string(ctx, 1, &kv) != 0)
        return;
    if (kv == NULL) {
        kv_val_t v = kv_val_string(add);
        db_add(db, ctx->argv[1], &v, -1, ctx->env->now_ms);
        total = add.len;
    } else {
        size_t len = kv_strlen(kv);
        if (check_length(ctx, len, add.len) != 0)
            return;
        str_t *s = unshare(ctx, &kv, len + add.len);
        memcpy(s->data + s->len, add.p, add.len);
        s->len += (uint32_t)add.len;
        total = s->len;
        db_modified(db, ctx->argv[1]);
    }
    cmd_dirty(ctx, 1);
    reply_int(ctx->r, (long long)total);
}

static void cmd_setrange(cmd_ctx_t *ctx)
{
    long long off;
    kv_t *kv;
    slice_t val = ctx->argv[3];
    db_t *db = cur_db(ctx);
    if (arg_ll(ctx, ctx->argv[2], &off) != 0)
        return;
    if (off < 0) {
        reply_error(ctx->r, "ERR offset is out of range");
        return;
    }
    if (lookup_string(ctx, 1, &kv) != 0)
        return;
    if (val.len == 0) {
        reply_int(ctx->r, kv ? (long long)kv_strlen(kv) : 0);
        return;
    }
    if (check_length(ctx, (unsigned long long)off, val.len) != 0)
        return;
    size_t end = (size_t)off + val.len;
    str_t *s;
    if (kv == NULL) {
        s = str_new(NULL, 0, end);
        kv_val_t v = kv_val_ptr(OBJ_STRING, ENC_RAW, s);
        db_add(db, ctx->argv[1], &v, -1, ctx->env->now_ms);
    } else {
        s = unshare(ctx, &kv, end);
        db_modified(db, ctx->argv[1]);
    }
    if (end > s->len) {
        memset(s->data + s->len, 0, end - s->len);
        s->len = (uint32_t)end;
    }
    memcpy(s->data + off, val.p, val.len);
    cmd_dirty(ctx, 1);
    reply_int(ctx->r, (long long)s->len);
}

static void cmd_getrange(cmd_ctx_t *ctx)
{
    long long start, end;
    kv_t *kv;
    char tmp[32];
    if (arg_ll(ctx, ctx->argv[2], &start) != 0 || arg_ll(ctx, ctx->argv[3], &end) != 0)
        return;
    if (lookup_string(ctx, 0, &kv) != 0)
        return;
    slice_t s = kv ? kv_str(kv, tmp) : SLICE_LIT("");
    long long len = (long long)s.len;
    if (start < 0 && end < 0 && start > end) {
        reply_bulk(ctx->r, "", 0);
        return;
    }
    if (start < 0)
        start = len + start;
    if (end < 0)
        end = len + end;
    if (start < 0)
        start = 0;
    if (end < 0)
        end = 0;
    if (end >= len)
        end = len - 1;
    if (start > end || len == 0)
        reply_bulk(ctx->r, "", 0);
    else
        reply_bulk(ctx->r, s.p + start, (size_t)(end - start + 1));
}

static void cmd_strlen(cmd_ctx_t *ctx)
{
    kv_t *kv;
    if (lookup_string(ctx, 0, &kv) == 0)
        reply_int(ctx->r, kv ? (long long)kv_strlen(kv) : 0);
}

#define W_FAST (CMD_WRITE | CMD_DENYOOM | CMD_FAST)

cmd_def_t cmd_table_string[] = {
    {.name = "get",
     .proc = cmd_get,
     .arity = 2,
     .flags = CMD_READONLY | CMD_FAST,
     .key = {1, 1, 1}},
    {.name = "set",
     .proc = cmd_set,
     .arity = -3,
     .flags = CMD_WRITE | CMD_DENYOOM,
     .key = {1, 1, 1}},
    {.name = "setnx", .proc = cmd_setnx, .arity = 3, .flags = W_FAST, .key = {1, 1, 1}},
    {.name = "setex",
     .proc = cmd_setex,
     .arity = 4,
     .flags = CMD_WRITE | CMD_DENYOOM,
     .key = {1, 1, 1}},
    {.name = "psetex",
     .proc = cmd_psetex,
     .arity = 4,
     .flags = CMD_WRITE | CMD_DENYOOM,
     .key = {1, 1, 1}},
    {.name = "getset", .proc = cmd_getset, .arity = 3, .flags = W_FAST, .key = {1, 1, 1}},
    {.name = "getdel",
     .proc = cmd_getdel,
     .arity = 2,
     .flags = CMD_WRITE | CMD_FAST,
     .key = {1, 1, 1}},
    {.name = "getex",
     .proc = cmd_getex,
     .arity = -2,
     .flags = CMD_WRITE | CMD_FAST,
     .key = {1, 1, 1}},
    {.name = "mget",
     .proc = cmd_mget,
     .arity = -2,
     .flags = CMD_READONLY | CMD_FAST,
     .key = {1, -1, 1}},
    {.name = "mset",
     .proc = cmd_mset,
     .arity = -3,
     .flags = CMD_WRITE | CMD_DENYOOM,
     .key = {1, -1, 2}},
    {.name = "msetnx",
     .proc = cmd_msetnx,
     .arity = -3,
     .flags = CMD_WRITE | CMD_DENYOOM,
     .key = {1, -1, 2}},
    {.name = "incr", .proc = cmd_incr, .arity = 2, .flags = W_FAST, .key = {1, 1, 1}},
    {.name = "decr", .proc = cmd_decr, .arity = 2, .flags = W_FAST, .key = {1, 1, 1}},
    {.name = "incrby", .proc = cmd_incrby, .arity = 3, .flags = W_FAST, .key = {1, 1, 1}},
    {.name = "decrby", .proc = cmd_decrby, .arity = 3, .flags = W_FAST, .key = {1, 1, 1}},
    {.name = "incrbyfloat", .proc = cmd_incrbyfloat, .arity = 3, .flags = W_FAST, .key = {1, 1, 1}},
    {.name = "append", .proc = cmd_append, .arity = 3, .flags = W_FAST, .key = {1, 1, 1}},
    {.name = "strlen",
     .proc = cmd_strlen,
     .arity = 2,
     .flags = CMD_READONLY | CMD_FAST,
     .key = {1, 1, 1}},
    {.name = "getrange", .proc = cmd_getrange, .arity = 4, .flags = CMD_READONLY, .key = {1, 1, 1}},
    {.name = "setrange",
     .proc = cmd_setrange,
     .arity = 4,
     .flags = CMD_WRITE | CMD_DENYOOM,
     .key = {1, 1, 1}},
    {.name = "substr", .proc = cmd_getrange, .arity = 4, .flags = CMD_READONLY, .key = {1, 1, 1}},
    {0},
};
