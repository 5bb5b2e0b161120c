/*
 * cmd_hash.c — the hash family: HSET HSETNX HGET HMSET HMGET HDEL HEXISTS
 * HLEN HSTRLEN HGETALL HKEYS HVALS HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN.
 *
 * Owns: the rows of this family (arity, flags, keys as Redis 7.0's COMMAND
 * INFO reports them) and their handlers over thash.h.
 * Must not: keep borrowed field/value bytes across a write to the same hash,
 * or leave an empty hash in the keyspace.
 * Invariant: every write stores the (possibly converted) thash_t back into
 * its entry with kv_set_ptr before anything else looks at the key.
 */
#include <limits.h>
#include <math.h>

#include "../ks/thash.h"
#include "../lib/util.h"
#include "cmd_types.h"

static thash_t hash_of(const kv_t *kv)
{
    thash_t h = {kv->enc, kv_ptr(kv)};
    return h;
}

/* A writer's lookup that creates an empty hash when the key is missing.
 * NULL after WRONGTYPE. *created tells whether the key is new. */
static kv_t *hash_write_or_create(cmd_ctx_t *ctx, db_t *db, slice_t key, int *created)
{
    int wrong;
    kv_t *kv = types_lookup_write(ctx, db, key, OBJ_HASH, &wrong);
    *created = 0;
    if (wrong)
        return NULL;
    if (kv == NULL) {
        thash_t h;
        thash_init(&h);
        kv_val_t v = kv_val_ptr(OBJ_HASH, h.enc, h.ptr);
        kv = db_add(db, key, &v, -1, ctx->env->now_ms);
        *created = 1;
    }
    return kv;
}

/* Store h back and tell listeners about an in-place change. */
static void hash_store(db_t *db, kv_t *kv, const thash_t *h, int created)
{
    kv_set_ptr(kv, h->enc, h->ptr);
    if (!created)
        db_modified(db, kv_key(kv));
}

/* Convert before writing argv[first..last] if any is too long (Redis's
 * hashTypeTryConversion). */
static void hash_try_conversion(thash_t *h, const cmd_ctx_t *ctx, int first, int last)
{
    size_t maxlen = 0, sum = 0;
    for (int i = first; i <= last; i++) {
        if (ctx->argv[i].len > maxlen)
            maxlen = ctx->argv[i].len;
        sum += ctx->argv[i].len;
    }
    thash_try_convert(h, maxlen, sum);
}

static void hash_set_pairs(cmd_ctx_t *ctx, int is_hmset)
{
    if (ctx->argc % 2 == 1) {
        reply_wrong_arity(ctx->r, ctx->cmd);
        return;
    }
    db_t *db = types_db(ctx);
    int created;
    kv_t *kv = hash_write_or_create(ctx, db, ctx->argv[1], &created);
    if (kv == NULL)
        return;
    thash_t h = hash_of(kv);
    hash_try_conversion(&h, ctx, 2, ctx->argc - 1);
    long long added = 0;
    for (int i = 2; i < ctx->argc; i += 2)
        added += thash_set(&h, ctx->argv[i].p, ctx->argv[i].len, ctx->argv[i + 1].p,
                           ctx->argv[i + 1].len, 0);
    hash_store(db, kv, &h, created);
    cmd_dirty(ctx, (ctx->argc - 2) / 2);
    if (is_hmset)
        reply_ok(ctx->r);
    else
        reply_int(ctx->r, added);
}

static void cmd_hset(cmd_ctx_t *ctx) { hash_set_pairs(ctx, 0); }
static void cmd_hmset(cmd_ctx_t *ctx) { hash_set_pairs(ctx, 1); }

static void cmd_hsetnx(cmd_ctx_t *ctx)
{
    db_t *db = types_db(ctx);
    int created;
    kv_t *kv = hash_write_or_create(ctx, db, ctx->argv[1], &created);
    if (kv == NULL)
        return;
    thash_t h = hash_of(kv);
    if (thash_exists(&h, ctx->argv[2].p, ctx->argv[2].len)) {
        reply_int(ctx->r, 0);
        return;
    }
    hash_try_conversion(&h, ctx, 2, 3);
    thash_set(&h, ctx->argv[2].p, ctx->argv[2].len, ctx->argv[3].p, ctx->argv[3].len, 0);
    hash_store(db, kv, &h, created);
    cmd_dirty(ctx, 1);
    reply_int(ctx->r, 1);
}

/* A reader's lookup: the hash, or NULL (missing or WRONGTYPE, see *wrong). */
static kv_t *hash_read(cmd_ctx_t *ctx, int *wrong)
{
    return types_lookup_read(ctx, types_db(ctx), ctx->argv[1], OBJ_HASH, wrong);
}

static void cmd_hget(cmd_ctx_t *ctx)
{
    int wrong;
    kv_t *kv = hash_read(ctx, &wrong);
    if (wrong)
        return;
    listpack_val_t v;
    thash_t h = kv ? hash_of(kv) : (thash_t){0, NULL};
    if (kv == NULL || !thash_get(&h, ctx->argv[2].p, ctx->argv[2].len, &v))
        reply_null(ctx->r);
    else
        types_reply_val(ctx->r, &v);
}

static void cmd_hmget(cmd_ctx_t *ctx)
{
    int wrong;
    kv_t *kv = hash_read(ctx, &wrong);
    if (wrong)
        return;
    thash_t h = kv ? hash_of(kv) : (thash_t){0, NULL};
    reply_array(ctx->r, ctx->argc - 2);
    for (int i = 2; i < ctx->argc; i++) {
        listpack_val_t v;
        if (kv != NULL && thash_get(&h, ctx->argv[i].p, ctx->argv[i].len, &v))
            types_reply_val(ctx->r, &v);
        else
            reply_null(ctx->r);
    }
}

static void cmd_hdel(cmd_ctx_t *ctx)
{
    db_t *db = types_db(ctx);
    int wrong;
    kv_t *kv = types_lookup_write(ctx, db, ctx->argv[1], OBJ_HASH, &wrong);
    if (wrong)
        return;
    if (kv == NULL) {
        reply_int(ctx->r, 0);
        return;
    }
    thash_t h = hash_of(kv);
    long long deleted = 0;
    for (int i = 2; i < ctx->argc; i++) {
        deleted += thash_del(&h, ctx->argv[i].p, ctx->argv[i].len);
        if (thash_len(&h) == 0)
            break;
    }
    kv_set_ptr(kv, h.enc, h.ptr);
    if (deleted) {
        if (thash_len(&h) == 0)
            db_delete(db, ctx->argv[1]);
        else
            db_modified(db, ctx->argv[1]);
        cmd_dirty(ctx, deleted);
    }
    reply_int(ctx->r, deleted);
}

static void cmd_hexists(cmd_ctx_t *ctx)
{
    int wrong;
    kv_t *kv = hash_read(ctx, &wrong);
    if (wrong)
        return;
    thash_t h = kv ? hash_of(kv) : (thash_t){0, NULL};
    reply_int(ctx->r, kv != NULL && thash_exists(&h, ctx->argv[2].p, ctx->argv[2].len));
}

static void cmd_hlen(cmd_ctx_t *ctx)
{
    int wrong;
    kv_t *kv = hash_read(ctx, &wrong);
    if (wrong)
        return;
    thash_t h = kv ? hash_of(kv) : (thash_t){0, NULL};
    reply_int(ctx->r, kv ? (long long)thash_len(&h) : 0);
}

static void cmd_hstrlen(cmd_ctx_t *ctx)
{
    int wrong;
    kv_t *kv = hash_read(ctx, &wrong);
    if (wrong)
        return;
    listpack_val_t v;
    thash_t h = kv ? hash_of(kv) : (thash_t){0, NULL};
    if (kv == NULL || !thash_get(&h, ctx->argv[2].p, ctx->argv[2].len, &v)) {
        reply_int(ctx->r, 0);
        return;
    }
    char buf[LISTPACK_INTBUF];
    size_t len;
    listpack_val_str(&v, buf, &len);
    reply_int(ctx->r, (long long)len);
}

/* HGETALL (what = 3), HKEYS (1), HVALS (2). */
static void hash_dump(cmd_ctx_t *ctx, int what)
{
    int wrong;
    kv_t *kv = hash_read(ctx, &wrong);
    if (wrong)
        return;
    thash_t h = kv ? hash_of(kv) : (thash_t){0, NULL};
    long long n = kv ? (long long)thash_len(&h) : 0;
    if (what == 3)
        reply_map(ctx->r, n);
    else
        reply_array(ctx->r, n);
    if (kv == NULL)
        return;
    thash_iter_t it;
    listpack_val_t f, v;
    thash_iter_init(&it, &h);
    while (thash_iter_next(&it, &f, &v)) {
        if (what & 1)
            types_reply_val(ctx->r, &f);
        if (what & 2)
            types_reply_val(ctx->r, &v);
    }
    thash_iter_deinit(&it);
}

static void cmd_hgetall(cmd_ctx_t *ctx) { hash_dump(ctx, 3); }
static void cmd_hkeys(cmd_ctx_t *ctx) { hash_dump(ctx, 1); }
static void cmd_hvals(cmd_ctx_t *ctx) { hash_dump(ctx, 2); }

/* The current value of a field for HINCRBY*: 1 found (*v), 0 absent. */
static int hash_field(const thash_t *h, slice_t f, listpack_val_t *v)
{
    return thash_get(h, f.p, f.len, v);
}

static void cmd_hincrby(cmd_ctx_t *ctx)
{
    long long incr, cur = 0;
    if (arg_ll(ctx, ctx->argv[3], &incr) != 0)
        return;
    db_t *db = types_db(ctx);
    int created;
    kv_t *kv = hash_write_or_create(ctx, db, ctx->argv[1], &created);
    if (kv == NULL)
        return;
    thash_t h = hash_of(kv);
    listpack_val_t v;
    if (hash_field(&h, ctx->argv[2], &v)) {
        if (v.s == NULL)
            cur = v.v;
        else if (!str_to_ll((const char *)v.s, v.len, &cur)) {
            reply_error(ctx->r, "ERR hash value is not an integer");
            return;
        }
    }
    if ((incr < 0 && cur < 0 && incr < LLONG_MIN - cur) ||
        (incr > 0 && cur > 0 && incr > LLONG_MAX - cur)) {
        reply_error(ctx->r, "ERR increment or decrement would overflow");
        return;
    }
    cur += incr;
    char buf[LL_STR_MAX];
    size_t n = ll_to_str(buf, cur);
    thash_set(&h, ctx->argv[2].p, ctx->argv[2].len, buf, n, 0);
    hash_store(db, kv, &h, created);
    cmd_dirty(ctx, 1);
    reply_int(ctx->r, cur);
}

static void cmd_hincrbyfloat(cmd_ctx_t *ctx)
{
    long double incr, cur = 0;
    if (arg_ld(ctx, ctx->argv[3], &incr) != 0)
        return;
    if (isnan(incr) || isinf(incr)) {
        reply_error(ctx->r, "ERR value is NaN or Infinity");
        return;
    }
    db_t *db = types_db(ctx);
    int created;
    kv_t *kv = hash_write_or_create(ctx, db, ctx->argv[1], &created);
    if (kv == NULL)
        return;
    thash_t h = hash_of(kv);
    listpack_val_t v;
    if (hash_field(&h, ctx->argv[2], &v)) {
        if (v.s == NULL)
            cur = (long double)v.v;
        else if (!str_to_ld((const char *)v.s, v.len, &cur)) {
            reply_error(ctx->r, "ERR hash value is not a float");
            return;
        }
    }
    cur += incr;
    if (isnan(cur) || isinf(cur)) {
        reply_error(ctx->r, "ERR increment would produce NaN or Infinity");
        return;
    }
    char buf[LD_STR_MAX];
    size_t n = ld_to_str(buf, sizeof(buf), cur);
    thash_set(&h, ctx->argv[2].p, ctx->argv[2].len, buf, n, 0);
    hash_store(db, kv, &h, created);
    cmd_dirty(ctx, 1);
    reply_bulk(ctx->r, buf, n);
    slice_t prop[4] = {SLICE_LIT("HSET"), ctx->argv[1], ctx->argv[2], slice_make(buf, n)};
    types_propagate(ctx, 4, prop);
}

/* ---- HRANDFIELD ------------------------------------------------------------------- */

typedef struct rand_out_s {
    reply_t *r;
    int withvalues;
} rand_out_t;

static void rand_emit(void *arg, const listpack_val_t *f, const listpack_val_t *v)
{
    rand_out_t *o = arg;
    if (o->withvalues && o->r->resp > 2)
        reply_array(o->r, 2);
    types_reply_val(o->r, f);
    if (o->withvalues)
        types_reply_val(o->r, v);
}

static void hrandfield_count(cmd_ctx_t *ctx)
{
    long long l;
    int withvalues = 0;
    if (types_rand_count(ctx, ctx->argv[2], &l) != 0)
        return;
    if (ctx->argc > 4 || (ctx->argc == 4 && !slice_eq_ci(ctx->argv[3], "withvalues"))) {
        reply_syntax_error(ctx->r);
        return;
    }
    if (ctx->argc == 4) {
        withvalues = 1;
        if (l < -LLONG_MAX / 2 || l > LLONG_MAX / 2) {
            reply_error(ctx->r, "ERR value is out of range");
            return;
        }
    }
    int wrong;
    kv_t *kv = hash_read(ctx, &wrong);
    if (wrong)
        return;
    if (kv == NULL || l == 0) {
        reply_array(ctx->r, 0);
        return;
    }
    thash_t h = hash_of(kv);
    size_t len = thash_len(&h), count = (size_t)(l < 0 ? -l : l);
    int unique = l > 0;
    size_t n = unique && count > len ? len : count;
    rand_out_t o = {ctx->r, withvalues};
    reply_array(ctx->r, (long long)(withvalues && ctx->r->resp == 2 ? 2 * n : n));
    thash_random_many(&h, n, unique, rng_next, rand_emit, &o);
}

static void cmd_hrandfield(cmd_ctx_t *ctx)
{
    if (ctx->argc >= 3) {
        hrandfield_count(ctx);
        return;
    }
    int wrong;
    kv_t *kv = hash_read(ctx, &wrong);
    if (wrong)
        return;
    if (kv == NULL) {
        reply_null(ctx->r);
        return;
    }
    thash_t h = hash_of(kv);
    listpack_val_t f, v;
    thash_random(&h, rng_next, &f, &v);
    types_reply_val(ctx->r, &f);
}

static void cmd_hscan(cmd_ctx_t *ctx) { types_scan_command(ctx, OBJ_HASH); }

#define W_DF (CMD_WRITE | CMD_DENYOOM | CMD_FAST)
#define R_F (CMD_READONLY | CMD_FAST)

cmd_def_t cmd_table_hash[] = {
    {.name = "hset", .proc = cmd_hset, .arity = -4, .flags = W_DF, .key = {1, 1, 1}},
    {.name = "hsetnx", .proc = cmd_hsetnx, .arity = 4, .flags = W_DF, .key = {1, 1, 1}},
    {.name = "hget", .proc = cmd_hget, .arity = 3, .flags = R_F, .key = {1, 1, 1}},
    {.name = "hmset", .proc = cmd_hmset, .arity = -4, .flags = W_DF, .key = {1, 1, 1}},
    {.name = "hmget", .proc = cmd_hmget, .arity = -3, .flags = R_F, .key = {1, 1, 1}},
    {.name = "hdel", .proc = cmd_hdel, .arity = -3, .flags = CMD_WRITE | CMD_FAST, .key = {1, 1, 1}},
    {.name = "hexists", .proc = cmd_hexists, .arity = 3, .flags = R_F, .key = {1, 1, 1}},
    {.name = "hlen", .proc = cmd_hlen, .arity = 2, .flags = R_F, .key = {1, 1, 1}},
    {.name = "hstrlen", .proc = cmd_hstrlen, .arity = 3, .flags = R_F, .key = {1, 1, 1}},
    {.name = "hgetall", .proc = cmd_hgetall, .arity = 2, .flags = CMD_READONLY, .key = {1, 1, 1}},
    {.name = "hkeys", .proc = cmd_hkeys, .arity = 2, .flags = CMD_READONLY, .key = {1, 1, 1}},
    {.name = "hvals", .proc = cmd_hvals, .arity = 2, .flags = CMD_READONLY, .key = {1, 1, 1}},
    {.name = "hincrby", .proc = cmd_hincrby, .arity = 4, .flags = W_DF, .key = {1, 1, 1}},
    {.name = "hincrbyfloat",
     .proc = cmd_hincrbyfloat,
     .arity = 4,
     .flags = W_DF | CMD_NO_PROPAGATE_ARGV,
     .key = {1, 1, 1}},
    {.name = "hrandfield", .proc = cmd_hrandfield, .arity = -2, .flags = CMD_READONLY, .key = {1, 1, 1}},
    {.name = "hscan", .proc = cmd_hscan, .arity = -3, .flags = CMD_READONLY, .key = {1, 1, 1}},
    {0},
};
