/*
 * cmd_set.c — the set family: SADD SREM SISMEMBER SMISMEMBER SMEMBERS SCARD
 * SPOP SRANDMEMBER SMOVE SINTER SINTERCARD SUNION SDIFF SINTERSTORE
 * SUNIONSTORE SDIFFSTORE SSCAN.
 *
 * Owns: the rows of this family and their handlers over tset.h, and the
 * propagation of SPOP as SREM / DEL (Redis 7.0's rewrite: the pick is random,
 * the effect must not be).
 * Must not: keep borrowed members across a write to their set, or leave an
 * empty set in the keyspace.
 * Invariant: every write stores the (possibly converted) tset_t back into
 * its entry with kv_set_ptr before anything else looks at the key.
 */
#include <limits.h>
#include <stdlib.h>

#include "../ks/tset.h"
#include "../lib/mem.h"
#include "../lib/util.h"
#include "cmd_types.h"

#define SPOP_PROP_BATCH 1024

static tset_t set_of(const kv_t *kv)
{
    tset_t s = {kv->enc, kv_ptr(kv)};
    return s;
}

/* Copies of members (offsets into one growing buffer). */
typedef struct mlist_s {
    char *bytes;
    size_t blen, bcap;
    size_t *off; /* n + 1 offsets: member i is bytes[off[i] .. off[i+1]) */
    size_t n, cap;
} mlist_t;

static void mlist_add(void *arg, const listpack_val_t *m)
{
    mlist_t *l = arg;
    char buf[LISTPACK_INTBUF];
    size_t len;
    const char *p = listpack_val_str(m, buf, &len);
    if (l->blen + len > l->bcap) {
        l->bcap = (l->blen + len) * 2 + 64;
        l->bytes = mem_realloc(l->bytes, l->bcap);
    }
    if (l->n + 2 > l->cap) {
        l->cap = l->cap * 2 + 16;
        l->off = mem_realloc(l->off, l->cap * sizeof(size_t));
    }
    if (len)
        memcpy(l->bytes + l->blen, p, len);
    l->off[l->n] = l->blen;
    l->blen += len;
    l->off[++l->n] = l->blen;
}

static slice_t mlist_at(const mlist_t *l, size_t i)
{
    return slice_make(l->bytes + l->off[i], l->off[i + 1] - l->off[i]);
}

static void mlist_free(mlist_t *l)
{
    mem_free(l->bytes);
    mem_free(l->off);
}

static void reply_member(void *arg, const listpack_val_t *m)
{
    types_reply_val(arg, m);
}

/* Reply every member of s as a RESP3 set / RESP2 array. */
static void reply_whole_set(reply_t *r, const tset_t *s)
{
    tset_iter_t it;
    listpack_val_t m;
    reply_set(r, (long long)tset_len(s));
    tset_iter_init(&it, s);
    while (tset_iter_next(&it, &m))
        types_reply_val(r, &m);
    tset_iter_deinit(&it);
}

static int set_has(const tset_t *s, const listpack_val_t *m)
{
    char buf[LISTPACK_INTBUF];
    size_t len;
    const char *p = listpack_val_str(m, buf, &len);
    return tset_contains(s, p, len);
}

static void set_add_val(tset_t *s, const listpack_val_t *m)
{
    if (m->s == NULL)
        tset_add_int(s, m->v);
    else
        tset_add(s, (const char *)m->s, m->len);
}

/* ---- single-key commands ---------------------------------------------------------- */

static void cmd_sadd(cmd_ctx_t *ctx)
{
    db_t *db = types_db(ctx);
    int wrong, created = 0;
    kv_t *kv = types_lookup_write(ctx, db, ctx->argv[1], OBJ_SET, &wrong);
    if (wrong)
        return;
    if (kv == NULL) {
        tset_t ns;
        tset_init(&ns, ctx->argv[2].p, ctx->argv[2].len);
        kv_val_t v = kv_val_ptr(OBJ_SET, ns.enc, ns.ptr);
        kv = db_add(db, ctx->argv[1], &v, -1, ctx->env->now_ms);
        created = 1;
    }
    tset_t s = set_of(kv);
    long long added = 0;
    for (int i = 2; i < ctx->argc; i++)
        added += tset_add(&s, ctx->argv[i].p, ctx->argv[i].len);
    kv_set_ptr(kv, s.enc, s.ptr);
    if (added && !created)
        db_modified(db, ctx->argv[1]);
    cmd_dirty(ctx, added);
    reply_int(ctx->r, added);
}

static void cmd_srem(cmd_ctx_t *ctx)
{
    db_t *db = types_db(ctx);
    int wrong;
    kv_t *kv = types_lookup_write(ctx, db, ctx->argv[1], OBJ_SET, &wrong);
    if (wrong)
        return;
    if (kv == NULL) {
        reply_int(ctx->r, 0);
        return;
    }
    tset_t s = set_of(kv);
    long long removed = 0;
    for (int i = 2; i < ctx->argc && tset_len(&s) > 0; i++)
        removed += tset_remove(&s, ctx->argv[i].p, ctx->argv[i].len);
    kv_set_ptr(kv, s.enc, s.ptr);
    if (removed) {
        if (tset_len(&s) == 0)
            db_delete(db, ctx->argv[1]);
        else
            db_modified(db, ctx->argv[1]);
        cmd_dirty(ctx, removed);
    }
    reply_int(ctx->r, removed);
}

static kv_t *set_read(cmd_ctx_t *ctx, int *wrong)
{
    return types_lookup_read(ctx, types_db(ctx), ctx->argv[1], OBJ_SET, wrong);
}

static void cmd_sismember(cmd_ctx_t *ctx)
{
    int wrong;
    kv_t *kv = set_read(ctx, &wrong);
    if (wrong)
        return;
    tset_t s = kv ? set_of(kv) : (tset_t){0, NULL};
    reply_int(ctx->r, kv && tset_contains(&s, ctx->argv[2].p, ctx->argv[2].len));
}

static void cmd_smismember(cmd_ctx_t *ctx)
{
    int wrong;
    kv_t *kv = set_read(ctx, &wrong);
    if (wrong)
        return;
    tset_t s = kv ? set_of(kv) : (tset_t){0, NULL};
    reply_array(ctx->r, ctx->argc - 2);
    for (int i = 2; i < ctx->argc; i++)
        reply_int(ctx->r, kv && tset_contains(&s, ctx->argv[i].p, ctx->argv[i].len));
}

static void cmd_scard(cmd_ctx_t *ctx)
{
    int wrong;
    kv_t *kv = set_read(ctx, &wrong);
    if (wrong)
        return;
    tset_t s = kv ? set_of(kv) : (tset_t){0, NULL};
    reply_int(ctx->r, kv ? (long long)tset_len(&s) : 0);
}

static void cmd_smembers(cmd_ctx_t *ctx)
{
    int wrong;
    kv_t *kv = set_read(ctx, &wrong);
    if (wrong)
        return;
    if (kv == NULL) {
        reply_set(ctx->r, 0);
        return;
    }
    tset_t s = set_of(kv);
    reply_whole_set(ctx->r, &s);
}

/* ---- SPOP / SRANDMEMBER ---------------------------------------------------------- */

/* Propagate the removal of l's members as SREM batches. */
static void spop_propagate(cmd_ctx_t *ctx, const mlist_t *l)
{
    slice_t *argv = mem_alloc((SPOP_PROP_BATCH + 2) * sizeof(slice_t));
    argv[0] = SLICE_LIT("SREM");
    argv[1] = ctx->argv[1];
    for (size_t i = 0; i < l->n;) {
        int argc = 2;
        for (; i < l->n && argc < SPOP_PROP_BATCH + 2; i++)
            argv[argc++] = mlist_at(l, i);
        types_propagate(ctx, argc, argv);
    }
    mem_free(argv);
}

/* SPOP key count with 0 < count < size: pick, reply, remove, propagate. */
static void spop_some(cmd_ctx_t *ctx, db_t *db, kv_t *kv, size_t count)
{
    tset_t s = set_of(kv);
    mlist_t l = {0};
    tset_random_many(&s, count, 1, rng_next, mlist_add, &l);
    reply_set(ctx->r, (long long)l.n);
    for (size_t i = 0; i < l.n; i++) {
        slice_t m = mlist_at(&l, i);
        reply_bulk(ctx->r, m.p, m.len);
        tset_remove(&s, m.p, m.len);
    }
    kv_set_ptr(kv, s.enc, s.ptr);
    db_modified(db, ctx->argv[1]);
    cmd_dirty(ctx, (long long)l.n);
    spop_propagate(ctx, &l);
    mlist_free(&l);
}

static void spop_count(cmd_ctx_t *ctx)
{
    long long count;
    const char *msg = "ERR value is out of range, must be positive";
    if (arg_ll_msg(ctx, ctx->argv[2], &count, msg) != 0)
        return;
    if (count < 0) {
        reply_error(ctx->r, msg);
        return;
    }
    db_t *db = types_db(ctx);
    int wrong;
    kv_t *kv = types_lookup_write(ctx, db, ctx->argv[1], OBJ_SET, &wrong);
    if (wrong)
        return;
    if (kv == NULL || count == 0) {
        reply_set(ctx->r, 0);
        return;
    }
    tset_t s = set_of(kv);
    size_t size = tset_len(&s);
    if ((unsigned long long)count < size) {
        spop_some(ctx, db, kv, (size_t)count);
        return;
    }
    reply_whole_set(ctx->r, &s);
    db_delete(db, ctx->argv[1]);
    cmd_dirty(ctx, (long long)size);
    slice_t prop[2] = {SLICE_LIT("DEL"), ctx->argv[1]};
    types_propagate(ctx, 2, prop);
}

static void cmd_spop(cmd_ctx_t *ctx)
{
    if (ctx->argc == 3) {
        spop_count(ctx);
        return;
    }
    if (ctx->argc > 3) {
        reply_syntax_error(ctx->r);
        return;
    }
    db_t *db = types_db(ctx);
    int wrong;
    kv_t *kv = types_lookup_write(ctx, db, ctx->argv[1], OBJ_SET, &wrong);
    if (wrong)
        return;
    if (kv == NULL) {
        reply_null(ctx->r);
        return;
    }
    tset_t s = set_of(kv);
    listpack_val_t m;
    mlist_t l = {0};
    tset_random(&s, rng_next, &m);
    mlist_add(&l, &m);
    slice_t pick = mlist_at(&l, 0);
    tset_remove(&s, pick.p, pick.len);
    kv_set_ptr(kv, s.enc, s.ptr);
    reply_bulk(ctx->r, pick.p, pick.len);
    spop_propagate(ctx, &l);
    if (tset_len(&s) == 0)
        db_delete(db, ctx->argv[1]);
    else
        db_modified(db, ctx->argv[1]);
    cmd_dirty(ctx, 1);
    mlist_free(&l);
}

static void cmd_srandmember(cmd_ctx_t *ctx)
{
    long long l = 0;
    if (ctx->argc > 3) {
        reply_syntax_error(ctx->r);
        return;
    }
    if (ctx->argc == 3 && types_rand_count(ctx, ctx->argv[2], &l) != 0)
        return;
    int wrong;
    kv_t *kv = set_read(ctx, &wrong);
    if (wrong)
        return;
    tset_t s = kv ? set_of(kv) : (tset_t){0, NULL};
    if (ctx->argc == 2) {
        listpack_val_t m;
        if (kv == NULL)
            reply_null(ctx->r);
        else
            tset_random(&s, rng_next, &m), types_reply_val(ctx->r, &m);
        return;
    }
    if (kv == NULL || l == 0) {
        reply_array(ctx->r, 0);
        return;
    }
    size_t count = (size_t)(l < 0 ? -l : l), len = tset_len(&s);
    size_t n = l > 0 && count > len ? len : count;
    reply_array(ctx->r, (long long)n);
    tset_random_many(&s, n, l > 0, rng_next, reply_member, ctx->r);
}

static void cmd_smove(cmd_ctx_t *ctx)
{
    db_t *db = types_db(ctx);
    kv_t *skv = db_lookup_write(db, ctx->argv[1], ctx->env->now_ms);
    kv_t *dkv = db_lookup_write(db, ctx->argv[2], ctx->env->now_ms);
    slice_t m = ctx->argv[3];
    if (skv == NULL) {
        reply_int(ctx->r, 0);
        return;
    }
    if (skv->type != OBJ_SET || (dkv != NULL && dkv->type != OBJ_SET)) {
        reply_wrongtype(ctx->r);
        return;
    }
    tset_t s = set_of(skv);
    if (skv == dkv) {
        reply_int(ctx->r, tset_contains(&s, m.p, m.len));
        return;
    }
    if (!tset_remove(&s, m.p, m.len)) {
        reply_int(ctx->r, 0);
        return;
    }
    kv_set_ptr(skv, s.enc, s.ptr);
    if (tset_len(&s) == 0)
        db_delete(db, ctx->argv[1]);
    else
        db_modified(db, ctx->argv[1]);
    if (dkv == NULL) {
        tset_t ns;
        tset_init(&ns, m.p, m.len);
        kv_val_t v = kv_val_ptr(OBJ_SET, ns.enc, ns.ptr);
        dkv = db_add(db, ctx->argv[2], &v, -1, ctx->env->now_ms);
    }
    tset_t d = set_of(dkv);
    int added = tset_add(&d, m.p, m.len);
    kv_set_ptr(dkv, d.enc, d.ptr);
    if (added)
        db_modified(db, ctx->argv[2]);
    cmd_dirty(ctx, 1 + added);
    reply_int(ctx->r, 1);
}

/* ---- algebra ---------------------------------------------------------------------- */

/* Look up n set keys. Missing keys give NULL entries; *missing counts them.
 * Returns 0, or -1 after WRONGTYPE. */
static int set_sources(cmd_ctx_t *ctx, const slice_t *keys, int n, int write, tset_t *out,
                       int *missing)
{
    db_t *db = types_db(ctx);
    *missing = 0;
    for (int i = 0; i < n; i++) {
        int wrong;
        kv_t *kv = write ? types_lookup_write(ctx, db, keys[i], OBJ_SET, &wrong)
                         : types_lookup_read(ctx, db, keys[i], OBJ_SET, &wrong);
        if (wrong)
            return -1;
        out[i] = kv ? set_of(kv) : (tset_t){0, NULL};
        *missing += kv == NULL;
    }
    return 0;
}

/* Store res under dst (or delete dst when empty) and reply its size. */
static void set_store(cmd_ctx_t *ctx, slice_t dst, tset_t *res)
{
    db_t *db = types_db(ctx);
    size_t n = tset_len(res);
    if (n == 0) {
        tset_deinit(res);
        if (db_delete(db, dst))
            cmd_dirty(ctx, 1);
        reply_int(ctx->r, 0);
        return;
    }
    kv_val_t v = kv_val_ptr(OBJ_SET, res->enc, res->ptr);
    db_set(db, dst, &v, -1, 0, ctx->env->now_ms);
    cmd_dirty(ctx, 1);
    reply_int(ctx->r, (long long)n);
}

static int cmp_len(const void *a, const void *b)
{
    size_t x = tset_len(a), y = tset_len(b);
    return x < y ? -1 : x > y;
}

/*
 * Intersection of sets[0..n) (none empty). Members of the smallest set in
 * its order: each goes to fn (unless NULL); stops after limit (0: none).
 * Returns the count.
 */
static size_t set_inter(tset_t *sets, int n, size_t limit, tset_visit_fn fn, void *arg)
{
    qsort(sets, (size_t)n, sizeof(*sets), cmp_len);
    tset_iter_t it;
    listpack_val_t m;
    size_t count = 0;
    tset_iter_init(&it, &sets[0]);
    while (tset_iter_next(&it, &m)) {
        int j = 1;
        while (j < n && set_has(&sets[j], &m))
            j++;
        if (j < n)
            continue;
        if (fn)
            fn(arg, &m);
        if (++count == limit)
            break;
    }
    tset_iter_deinit(&it);
    return count;
}

static void add_to_set(void *arg, const listpack_val_t *m)
{
    set_add_val(arg, m);
}

static void set_inter_command(cmd_ctx_t *ctx, const slice_t *keys, int n, const slice_t *dst)
{
    tset_t *sets = mem_alloc((size_t)n * sizeof(*sets));
    int missing;
    if (set_sources(ctx, keys, n, dst != NULL, sets, &missing) != 0) {
        mem_free(sets);
        return;
    }
    tset_t res;
    tset_init_enc(&res, ENC_INTSET, 0);
    if (!missing)
        set_inter(sets, n, 0, add_to_set, &res);
    mem_free(sets);
    if (dst != NULL) {
        set_store(ctx, *dst, &res);
        return;
    }
    reply_whole_set(ctx->r, &res);
    tset_deinit(&res);
}

static void cmd_sinter(cmd_ctx_t *ctx) { set_inter_command(ctx, ctx->argv + 1, ctx->argc - 1, NULL); }

static void cmd_sinterstore(cmd_ctx_t *ctx)
{
    set_inter_command(ctx, ctx->argv + 2, ctx->argc - 2, &ctx->argv[1]);
}

/* SINTERCARD numkeys key [key ...] [LIMIT limit]: 0, or -1 after the error. */
static int sintercard_args(cmd_ctx_t *ctx, long long *numkeys, long long *limit)
{
    if (arg_ll_msg(ctx, ctx->argv[1], numkeys, "ERR numkeys should be greater than 0") != 0)
        return -1;
    if (*numkeys < 1)
        return reply_error(ctx->r, "ERR numkeys should be greater than 0"), -1;
    if (*numkeys > ctx->argc - 2)
        return reply_error(ctx->r, "ERR Number of keys can't be greater than number of args"), -1;
    *limit = 0;
    for (int j = 2 + (int)*numkeys; j < ctx->argc; j++) {
        if (!slice_eq_ci(ctx->argv[j], "limit") || j + 1 >= ctx->argc) {
            reply_syntax_error(ctx->r);
            return -1;
        }
        const char *msg = "ERR LIMIT can't be negative";
        if (arg_ll_msg(ctx, ctx->argv[++j], limit, msg) != 0)
            return -1;
        if (*limit < 0)
            return reply_error(ctx->r, msg), -1;
    }
    return 0;
}

static void cmd_sintercard(cmd_ctx_t *ctx)
{
    long long numkeys, limit;
    if (sintercard_args(ctx, &numkeys, &limit) != 0)
        return;
    tset_t *sets = mem_alloc((size_t)numkeys * sizeof(*sets));
    int missing;
    if (set_sources(ctx, ctx->argv + 2, (int)numkeys, 0, sets, &missing) == 0)
        reply_int(ctx->r, missing ? 0 : (long long)set_inter(sets, (int)numkeys, (size_t)limit, NULL, NULL));
    mem_free(sets);
}

/* SUNION (diff = 0) / SDIFF (diff = 1) of keys[0..n) into res. */
static void set_union_diff(tset_t *sets, int n, int diff, tset_t *res)
{
    tset_iter_t it;
    listpack_val_t m;
    for (int i = 0; i < n && !(diff && i > 0); i++) {
        if (sets[i].ptr == NULL)
            continue;
        tset_iter_init(&it, &sets[i]);
        while (tset_iter_next(&it, &m)) {
            int j = 1;
            while (diff && j < n && !(sets[j].ptr && set_has(&sets[j], &m)))
                j++;
            if (!diff || j == n)
                set_add_val(res, &m);
        }
        tset_iter_deinit(&it);
    }
}

static void set_union_diff_command(cmd_ctx_t *ctx, const slice_t *keys, int n, const slice_t *dst,
                                   int diff)
{
    tset_t *sets = mem_alloc((size_t)n * sizeof(*sets));
    int missing;
    if (set_sources(ctx, keys, n, dst != NULL, sets, &missing) != 0) {
        mem_free(sets);
        return;
    }
    tset_t res;
    tset_init_enc(&res, ENC_INTSET, 0);
    set_union_diff(sets, n, diff, &res);
    mem_free(sets);
    if (dst != NULL) {
        set_store(ctx, *dst, &res);
        return;
    }
    reply_whole_set(ctx->r, &res);
    tset_deinit(&res);
}

static void cmd_sunion(cmd_ctx_t *ctx)
{
    set_union_diff_command(ctx, ctx->argv + 1, ctx->argc - 1, NULL, 0);
}

static void cmd_sdiff(cmd_ctx_t *ctx)
{
    set_union_diff_command(ctx, ctx->argv + 1, ctx->argc - 1, NULL, 1);
}

static void cmd_sunionstore(cmd_ctx_t *ctx)
{
    set_union_diff_command(ctx, ctx->argv + 2, ctx->argc - 2, &ctx->argv[1], 0);
}

static void cmd_sdiffstore(cmd_ctx_t *ctx)
{
    set_union_diff_command(ctx, ctx->argv + 2, ctx->argc - 2, &ctx->argv[1], 1);
}

static void cmd_sscan(cmd_ctx_t *ctx) { types_scan_command(ctx, OBJ_SET); }

#define R_F (CMD_READONLY | CMD_FAST)
#define W_D (CMD_WRITE | CMD_DENYOOM)

cmd_def_t cmd_table_set[] = {
    {.name = "sadd", .proc = cmd_sadd, .arity = -3, .flags = W_D | CMD_FAST, .key = {1, 1, 1}},
    {.name = "srem", .proc = cmd_srem, .arity = -3, .flags = CMD_WRITE | CMD_FAST, .key = {1, 1, 1}},
    {.name = "sismember", .proc = cmd_sismember, .arity = 3, .flags = R_F, .key = {1, 1, 1}},
    {.name = "smismember", .proc = cmd_smismember, .arity = -3, .flags = R_F, .key = {1, 1, 1}},
    {.name = "smembers", .proc = cmd_smembers, .arity = 2, .flags = CMD_READONLY, .key = {1, 1, 1}},
    {.name = "scard", .proc = cmd_scard, .arity = 2, .flags = R_F, .key = {1, 1, 1}},
    {.name = "spop",
     .proc = cmd_spop,
     .arity = -2,
     .flags = CMD_WRITE | CMD_FAST | CMD_NO_PROPAGATE_ARGV,
     .key = {1, 1, 1}},
    {.name = "srandmember", .proc = cmd_srandmember, .arity = -2, .flags = CMD_READONLY, .key = {1, 1, 1}},
    {.name = "smove", .proc = cmd_smove, .arity = 4, .flags = CMD_WRITE | CMD_FAST, .key = {1, 2, 1}},
    {.name = "sinter", .proc = cmd_sinter, .arity = -2, .flags = CMD_READONLY, .key = {1, -1, 1}},
    {.name = "sintercard",
     .proc = cmd_sintercard,
     .arity = -3,
     .flags = CMD_READONLY | CMD_MOVABLE_KEYS,
     .key = {0, 0, 0},
     .getkeys = types_getkeys_numkeys1},
    {.name = "sunion", .proc = cmd_sunion, .arity = -2, .flags = CMD_READONLY, .key = {1, -1, 1}},
    {.name = "sdiff", .proc = cmd_sdiff, .arity = -2, .flags = CMD_READONLY, .key = {1, -1, 1}},
    {.name = "sinterstore", .proc = cmd_sinterstore, .arity = -3, .flags = W_D, .key = {1, -1, 1}},
    {.name = "sunionstore", .proc = cmd_sunionstore, .arity = -3, .flags = W_D, .key = {1, -1, 1}},
    {.name = "sdiffstore", .proc = cmd_sdiffstore, .arity = -3, .flags = W_D, .key = {1, -1, 1}},
    {.name = "sscan", .proc = cmd_sscan, .arity = -3, .flags = CMD_READONLY, .key = {1, 1, 1}},
    {0},
};
