/*
 * cmd_zset.c — the sorted-set family on one key: ZADD ZINCRBY ZREM ZCARD
 * ZSCORE ZMSCORE ZCOUNT ZLEXCOUNT ZRANGE ZRANGESTORE ZRANGEBYSCORE
 * ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZREVRANGE ZRANK ZREVRANK
 * ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX ZPOPMIN ZPOPMAX ZMPOP
 * ZRANDMEMBER ZSCAN, and the pop core zset_pop_reply (cmd_types.h) that
 * BZPOPMIN / BZPOPMAX / BZMPOP reuse. The multi-key algebra (ZUNION ...)
 * lives in cmd_zset_ops.c; the table here lists both files' handlers.
 *
 * Owns: the rows of the family and their handlers over zset.h. Scores are
 * replied with reply_double (RESP3 double, RESP2 bulk "%.17g"); WITHSCORES
 * pairs are nested [member, score] arrays in RESP3, flat in RESP2.
 * Must not: keep a borrowed member across a write to its zset, or leave an
 * empty zset in the keyspace.
 * Invariant: every write stores the (possibly converted) zset_t back into its
 * entry with kv_set_ptr before anything else looks at the key.
 */
#include <limits.h>

#include "../ks/zset.h"
#include "../lib/mem.h"
#include "../lib/util.h"
#include "cmd_types.h"

/* Handlers of cmd_zset_ops.c. */
void cmd_zunion(cmd_ctx_t *ctx);
void cmd_zinter(cmd_ctx_t *ctx);
void cmd_zdiff(cmd_ctx_t *ctx);
void cmd_zunionstore(cmd_ctx_t *ctx);
void cmd_zinterstore(cmd_ctx_t *ctx);
void cmd_zdiffstore(cmd_ctx_t *ctx);
void cmd_zintercard(cmd_ctx_t *ctx);

static zset_t zset_of(const kv_t *kv)
{
    zset_t z = {kv->enc, kv_ptr(kv)};
    return z;
}

static kv_t *zset_read(cmd_ctx_t *ctx, int *wrong)
{
    return types_lookup_read(ctx, types_db(ctx), ctx->argv[1], OBJ_ZSET, wrong);
}

/* After removing members: store z back, then delete the key if it is empty
 * or tell listeners it changed. */
static void zset_after_remove(db_t *db, kv_t *kv, slice_t key, const zset_t *z)
{
    kv_set_ptr(kv, z->enc, z->ptr);
    if (zset_len(z) == 0)
        db_delete(db, key);
    else
        db_modified(db, key);
}

/* A member with its score: RESP3 [m, s] when nested, else m then s. */
static void reply_elem(reply_t *r, const zset_elem_t *e, int withscores, int nested)
{
    if (withscores && nested)
        reply_array(r, 2);
    reply_bulk(r, e->m, e->mlen);
    if (withscores)
        reply_double(r, e->score);
}

/* ---- ZADD / ZINCRBY ----------------------------------------------------------------- */

typedef struct zadd_req_s {
    int flags; /* ZSET_IN_* */
    int ch;
    int first; /* argv index of the first score */
    int n;     /* score-member pairs */
    double *scores;
} zadd_req_t;

/* Options, pair count, compatibility and scores, in Redis's order of errors. */
static int zadd_parse(cmd_ctx_t *ctx, zadd_req_t *q)
{
    static const struct {
        const char *name;
        int flag;
    } opts[] = {{"nx", ZSET_IN_NX}, {"xx", ZSET_IN_XX}, {"ch", 0},
                {"incr", ZSET_IN_INCR}, {"gt", ZSET_IN_GT}, {"lt", ZSET_IN_LT}};
    const size_t nopts = sizeof(opts) / sizeof(opts[0]);
    int i = 2;
    for (; i < ctx->argc; i++) {
        size_t k = 0;
        while (k < nopts && !slice_eq_ci(ctx->argv[i], opts[k].name))
            k++;
        if (k == nopts)
            break;
        q->flags |= opts[k].flag;
        q->ch |= opts[k].flag == 0;
    }
    int elements = ctx->argc - i, f = q->flags;
    if (elements % 2 || elements == 0)
        return reply_syntax_error(ctx->r), -1;
    if ((f & ZSET_IN_NX) && (f & ZSET_IN_XX))
        return reply_error(ctx->r, "ERR XX and NX options at the same time are not compatible"), -1;
    if (((f & ZSET_IN_NX) && (f & (ZSET_IN_GT | ZSET_IN_LT))) ||
        ((f & ZSET_IN_GT) && (f & ZSET_IN_LT)))
        return reply_error(ctx->r,
                           "ERR GT, LT, and/or NX options at the same time are not compatible"),
               -1;
    if ((f & ZSET_IN_INCR) && elements > 2)
        return reply_error(ctx->r, "ERR INCR option supports a single increment-element pair"), -1;
    q->first = i;
    q->n = elements / 2;
    q->scores = mem_alloc((size_t)q->n * sizeof(double));
    for (int j = 0; j < q->n; j++)
        if (arg_d(ctx, ctx->argv[i + 2 * j], &q->scores[j]) != 0)
            return -1;
    return 0;
}

/* Apply the parsed pairs; returns 0, or -1 after the NaN error. */
static int zadd_apply(cmd_ctx_t *ctx, kv_t *kv, const zadd_req_t *q, long long *added,
                      long long *updated, long long *processed, double *score)
{
    zset_t z = zset_of(kv);
    int rc = 0;
    for (int j = 0; j < q->n; j++) {
        slice_t m = ctx->argv[q->first + 2 * j + 1];
        int out;
        *score = q->scores[j];
        if (!zset_add(&z, m.p, m.len, q->scores[j], q->flags, &out, score)) {
            reply_error(ctx->r, "ERR resulting score is not a number (NaN)");
            rc = -1;
            break;
        }
        *added += (out & ZSET_OUT_ADDED) != 0;
        *updated += (out & ZSET_OUT_UPDATED) != 0;
        *processed += !(out & ZSET_OUT_NOP);
    }
    kv_set_ptr(kv, z.enc, z.ptr);
    return rc;
}

static void zadd_generic(cmd_ctx_t *ctx, int base_flags)
{
    zadd_req_t q = {.flags = base_flags};
    long long added = 0, updated = 0, processed = 0;
    double score = 0;
    db_t *db = types_db(ctx);
    int wrong, rc = -1, created = 0;
    kv_t *kv = NULL;
    if (zadd_parse(ctx, &q) != 0 ||
        ((kv = types_lookup_write(ctx, db, ctx->argv[1], OBJ_ZSET, &wrong)) == NULL && wrong))
        goto done;
    if (kv == NULL && !(q.flags & ZSET_IN_XX)) {
        zset_t z;
        zset_init(&z, 1, ctx->argv[q.first + 1].len);
        kv_val_t v = kv_val_ptr(OBJ_ZSET, z.enc, z.ptr);
        kv = db_add(db, ctx->argv[1], &v, -1, ctx->env->now_ms);
        created = 1;
    }
    rc = kv ? zadd_apply(ctx, kv, &q, &added, &updated, &processed, &score) : 0;
    if ((added || updated) && !created)
        db_modified(db, ctx->argv[1]);
    cmd_dirty(ctx, added + updated);
    if (rc != 0)
        goto done;
    if (!(q.flags & ZSET_IN_INCR))
        reply_int(ctx->r, q.ch ? added + updated : added);
    else if (processed)
        reply_double(ctx->r, score);
    else
        reply_null(ctx->r);
done:
    mem_free(q.scores);
}

static void cmd_zadd(cmd_ctx_t *ctx) { zadd_generic(ctx, 0); }
static void cmd_zincrby(cmd_ctx_t *ctx) { zadd_generic(ctx, ZSET_IN_INCR); }

/* ---- simple reads and removal ---------------------------------------------------------- */

static void cmd_zrem(cmd_ctx_t *ctx)
{
    db_t *db = types_db(ctx);
    int wrong;
    kv_t *kv = types_lookup_write(ctx, db, ctx->argv[1], OBJ_ZSET, &wrong);
    if (wrong)
        return;
    if (kv == NULL) {
        reply_int(ctx->r, 0);
        return;
    }
    zset_t z = zset_of(kv);
    long long deleted = 0;
    for (int i = 2; i < ctx->argc && zset_len(&z) > 0; i++)
        deleted += zset_del(&z, ctx->argv[i].p, ctx->argv[i].len);
    if (deleted) {
        zset_after_remove(db, kv, ctx->argv[1], &z);
        cmd_dirty(ctx, deleted);
    }
    reply_int(ctx->r, deleted);
}

static void cmd_zcard(cmd_ctx_t *ctx)
{
    int wrong;
    kv_t *kv = zset_read(ctx, &wrong);
    if (wrong)
        return;
    zset_t z = kv ? zset_of(kv) : (zset_t){0, NULL};
    reply_int(ctx->r, kv ? (long long)zset_len(&z) : 0);
}

static void cmd_zscore(cmd_ctx_t *ctx)
{
    int wrong;
    kv_t *kv = zset_read(ctx, &wrong);
    if (wrong)
        return;
    zset_t z = kv ? zset_of(kv) : (zset_t){0, NULL};
    double s;
    if (kv && zset_score(&z, ctx->argv[2].p, ctx->argv[2].len, &s))
        reply_double(ctx->r, s);
    else
        reply_null(ctx->r);
}

static void cmd_zmscore(cmd_ctx_t *ctx)
{
    int wrong;
    kv_t *kv = zset_read(ctx, &wrong);
    if (wrong)
        return;
    zset_t z = kv ? zset_of(kv) : (zset_t){0, NULL};
    reply_array(ctx->r, ctx->argc - 2);
    for (int i = 2; i < ctx->argc; i++) {
        double s;
        if (kv && zset_score(&z, ctx->argv[i].p, ctx->argv[i].len, &s))
            reply_double(ctx->r, s);
        else
            reply_null(ctx->r);
    }
}

static int parse_score_range(cmd_ctx_t *ctx, slice_t min, slice_t max, zset_range_t *r)
{
    if (zset_parse_range(min.p, min.len, max.p, max.len, r))
        return 0;
    reply_error(ctx->r, "ERR min or max is not a float");
    return -1;
}

static int parse_lex_range(cmd_ctx_t *ctx, slice_t min, slice_t max, zset_lex_t *r)
{
    if (zset_parse_lex(min.p, min.len, max.p, max.len, r))
        return 0;
    reply_error(ctx->r, "ERR min or max not valid string range item");
    return -1;
}

/* Byte order of members (a shorter prefix first), as zset.h orders them. */
static int lex_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (alen > blen) - (alen < blen);
}

/*
 * Redis's quick rejection before any lex-range walk: nothing is in range
 * unless the last member is >= min and the first member is <= max. With
 * members of different scores (where lex ranges are undefined) this decides
 * what Redis answers, so it is reproduced here.
 */
static int lex_may_match(const zset_t *z, const zset_lex_t *l)
{
    zset_elem_t first, last;
    if (!zset_elem_at(z, 0, 0, &first) || !zset_elem_at(z, 0, 1, &last))
        return 0;
    if (l->minkind == ZSET_LEX_POS || l->maxkind == ZSET_LEX_NEG)
        return 0;
    if (l->minkind == ZSET_LEX_VAL) {
        int c = lex_cmp(last.m, last.mlen, l->min, l->minlen);
        if (l->minex ? c <= 0 : c < 0)
            return 0;
    }
    if (l->maxkind == ZSET_LEX_VAL) {
        int c = lex_cmp(first.m, first.mlen, l->max, l->maxlen);
        if (l->maxex ? c >= 0 : c > 0)
            return 0;
    }
    return 1;
}

static void cmd_zcount(cmd_ctx_t *ctx)
{
    zset_range_t r;
    if (parse_score_range(ctx, ctx->argv[2], ctx->argv[3], &r) != 0)
        return;
    int wrong;
    kv_t *kv = zset_read(ctx, &wrong);
    if (wrong)
        return;
    zset_t z = kv ? zset_of(kv) : (zset_t){0, NULL};
    reply_int(ctx->r, kv ? (long long)zset_count_range(&z, &r) : 0);
}

static void cmd_zlexcount(cmd_ctx_t *ctx)
{
    zset_lex_t r;
    if (parse_lex_range(ctx, ctx->argv[2], ctx->argv[3], &r) != 0)
        return;
    int wrong;
    kv_t *kv = zset_read(ctx, &wrong);
    if (wrong)
        return;
    zset_t z = kv ? zset_of(kv) : (zset_t){0, NULL};
    reply_int(ctx->r, kv && lex_may_match(&z, &r) ? (long long)zset_count_lex(&z, &r) : 0);
}

static void zrank_generic(cmd_ctx_t *ctx, int reverse)
{
    int wrong;
    kv_t *kv = zset_read(ctx, &wrong);
    if (wrong)
        return;
    zset_t z = kv ? zset_of(kv) : (zset_t){0, NULL};
    long rank = kv ? zset_rank(&z, ctx->argv[2].p, ctx->argv[2].len, reverse, NULL) : -1;
    if (rank < 0)
        reply_null(ctx->r);
    else
        reply_int(ctx->r, rank);
}

static void cmd_zrank(cmd_ctx_t *ctx) { zrank_generic(ctx, 0); }
static void cmd_zrevrank(cmd_ctx_t *ctx) { zrank_generic(ctx, 1); }

/* ---- ZRANGE and friends ------------------------------------------------------------------ */

enum { ZR_AUTO = 0, ZR_RANK, ZR_SCORE, ZR_LEX };
enum { ZD_AUTO = 0, ZD_FORWARD, ZD_REVERSE };

typedef struct zrange_req_s {
    int type, dir, withscores;
    long long offset, limit; /* limit -1: none */
    long long start, end;    /* ZR_RANK */
    zset_range_t r;          /* ZR_SCORE */
    zset_lex_t lex;          /* ZR_LEX */
} zrange_req_t;

/* Where results go: the client (counted for a deferred length) or a zset. */
typedef struct zsink_s {
    reply_t *r;
    zset_t *dst;
    int withscores, nested;
    long long n;
    size_t maxlen, totlen;
} zsink_t;

static void zsink_put(zsink_t *s, const zset_elem_t *e)
{
    s->n++;
    if (s->dst == NULL) {
        reply_elem(s->r, e, s->withscores, s->nested);
        return;
    }
    int out;
    zset_add(s->dst, e->m, e->mlen, e->score, 0, &out, NULL);
}

static int zrange_options(cmd_ctx_t *ctx, int first, int store, zrange_req_t *q)
{
    for (int j = first; j < ctx->argc; j++) {
        int left = ctx->argc - j - 1;
        slice_t a = ctx->argv[j];
        if (!store && slice_eq_ci(a, "withscores")) {
            q->withscores = 1;
        } else if (slice_eq_ci(a, "limit") && left >= 2) {
            if (arg_ll(ctx, ctx->argv[j + 1], &q->offset) != 0 ||
                arg_ll(ctx, ctx->argv[j + 2], &q->limit) != 0)
                return -1;
            j += 2;
        } else if (q->dir == ZD_AUTO && slice_eq_ci(a, "rev")) {
            q->dir = ZD_REVERSE;
        } else if (q->type == ZR_AUTO && slice_eq_ci(a, "bylex")) {
            q->type = ZR_LEX;
        } else if (q->type == ZR_AUTO && slice_eq_ci(a, "byscore")) {
            q->type = ZR_SCORE;
        } else {
            reply_syntax_error(ctx->r);
            return -1;
        }
    }
    return 0;
}

/* Parse everything after the source key (argv[src]). */
static int zrange_parse(cmd_ctx_t *ctx, int src, int store, zrange_req_t *q)
{
    if (zrange_options(ctx, src + 3, store, q) != 0)
        return -1;
    q->dir = q->dir == ZD_AUTO ? ZD_FORWARD : q->dir;
    q->type = q->type == ZR_AUTO ? ZR_RANK : q->type;
    if (q->limit != -1 && q->type == ZR_RANK)
        return reply_error(ctx->r, "ERR syntax error, LIMIT is only supported in combination "
                                   "with either BYSCORE or BYLEX"),
               -1;
    if (q->withscores && q->type == ZR_LEX)
        return reply_error(ctx->r,
                           "ERR syntax error, WITHSCORES not supported in combination with BYLEX"),
               -1;
    slice_t min = ctx->argv[src + 1], max = ctx->argv[src + 2];
    if (q->dir == ZD_REVERSE && q->type != ZR_RANK) {
        slice_t t = min;
        min = max, max = t;
    }
    if (q->type == ZR_RANK)
        return arg_ll(ctx, min, &q->start) != 0 || arg_ll(ctx, max, &q->end) != 0 ? -1 : 0;
    if (q->type == ZR_SCORE)
        return parse_score_range(ctx, min, max, &q->r);
    return parse_lex_range(ctx, min, max, &q->lex);
}

/* Emit the requested range of z into s. */
static void zrange_emit(const zset_t *z, const zrange_req_t *q, zsink_t *s)
{
    int rev = q->dir == ZD_REVERSE;
    zset_iter_t it;
    zset_elem_t e;
    long long n = -1;
    if (q->type == ZR_RANK) {
        long long llen = (long long)zset_len(z), start = q->start, end = q->end;
        start += start < 0 ? llen : 0;
        end += end < 0 ? llen : 0;
        start = start < 0 ? 0 : start;
        if (start > end || start >= llen)
            return;
        end = end >= llen ? llen - 1 : end;
        n = end - start + 1;
        zset_iter_rank(&it, z, (size_t)start, rev);
    } else {
        if (q->offset < 0 || (q->offset > 0 && (unsigned long long)q->offset >= zset_len(z)))
            return;
        if (q->type == ZR_SCORE)
            zset_iter_score(&it, z, &q->r, rev);
        else if (lex_may_match(z, &q->lex))
            zset_iter_lex(&it, z, &q->lex, rev);
        else
            return;
        for (long long skip = q->offset; skip > 0 && zset_iter_next(&it, &e); skip--)
            ;
        n = q->limit;
    }
    for (; n != 0 && zset_iter_next(&it, &e); n--)
        zsink_put(s, &e);
}

static void zrange_to_client(cmd_ctx_t *ctx, const zset_t *z, const zrange_req_t *q)
{
    zsink_t s = {.r = ctx->r, .withscores = q->withscores, .nested = ctx->r->resp > 2};
    int per = q->withscores && !s.nested ? 2 : 1;
    reply_defer_t d = reply_defer(ctx->r);
    zrange_emit(z, q, &s);
    reply_defer_array(ctx->r, d, s.n * per);
}

static void zrange_generic(cmd_ctx_t *ctx, int src, int store, int type, int dir)
{
    zrange_req_t q = {.type = type, .dir = dir, .limit = -1};
    if (zrange_parse(ctx, src, store, &q) != 0)
        return;
    int wrong;
    db_t *db = types_db(ctx);
    kv_t *kv = types_lookup_read(ctx, db, ctx->argv[src], OBJ_ZSET, &wrong);
    if (wrong)
        return;
    zset_t z = kv ? zset_of(kv) : (zset_t){0, NULL};
    if (!store) {
        if (kv == NULL)
            reply_array(ctx->r, 0);
        else
            zrange_to_client(ctx, &z, &q);
        return;
    }
    zset_t dst;
    zset_init(&dst, 1, 0);
    zsink_t s = {.dst = &dst};
    if (kv != NULL)
        zrange_emit(&z, &q, &s);
    if (s.n == 0) {
        zset_deinit(&dst);
        if (db_delete(db, ctx->argv[1]))
            cmd_dirty(ctx, 1);
    } else {
        kv_val_t v = kv_val_ptr(OBJ_ZSET, dst.enc, dst.ptr);
        db_set(db, ctx->argv[1], &v, -1, 0, ctx->env->now_ms);
        cmd_dirty(ctx, 1);
    }
    reply_int(ctx->r, s.n);
}

static void cmd_zrange(cmd_ctx_t *ctx) { zrange_generic(ctx, 1, 0, ZR_AUTO, ZD_AUTO); }
static void cmd_zrangestore(cmd_ctx_t *ctx) { zrange_generic(ctx, 2, 1, ZR_AUTO, ZD_AUTO); }
static void cmd_zrevrange(cmd_ctx_t *ctx) { zrange_generic(ctx, 1, 0, ZR_RANK, ZD_REVERSE); }

static void cmd_zrangebyscore(cmd_ctx_t *ctx)
{
    zrange_generic(ctx, 1, 0, ZR_SCORE, ZD_FORWARD);
}

static void cmd_zrevrangebyscore(cmd_ctx_t *ctx)
{
    zrange_generic(ctx, 1, 0, ZR_SCORE, ZD_REVERSE);
}

static void cmd_zrangebylex(cmd_ctx_t *ctx) { zrange_generic(ctx, 1, 0, ZR_LEX, ZD_FORWARD); }
static void cmd_zrevrangebylex(cmd_ctx_t *ctx) { zrange_generic(ctx, 1, 0, ZR_LEX, ZD_REVERSE); }

/* ---- ZREMRANGEBY* ------------------------------------------------------------------------- */

static void zremrange_generic(cmd_ctx_t *ctx, int type)
{
    zrange_req_t q = {.type = type};
    int bad = type == ZR_RANK ? arg_ll(ctx, ctx->argv[2], &q.start) != 0 ||
                                    arg_ll(ctx, ctx->argv[3], &q.end) != 0
              : type == ZR_SCORE ? parse_score_range(ctx, ctx->argv[2], ctx->argv[3], &q.r) != 0
                                 : parse_lex_range(ctx, ctx->argv[2], ctx->argv[3], &q.lex) != 0;
    if (bad)
        return;
    db_t *db = types_db(ctx);
    int wrong;
    kv_t *kv = types_lookup_write(ctx, db, ctx->argv[1], OBJ_ZSET, &wrong);
    if (wrong)
        return;
    zset_t z = kv ? zset_of(kv) : (zset_t){0, NULL};
    size_t deleted = 0;
    if (kv != NULL && type == ZR_RANK) {
        long long llen = (long long)zset_len(&z);
        q.start += q.start < 0 ? llen : 0;
        q.end += q.end < 0 ? llen : 0;
        q.start = q.start < 0 ? 0 : q.start;
        if (q.start <= q.end && q.start < llen)
            deleted = zset_del_range_rank(&z, (size_t)q.start,
                                          (size_t)(q.end >= llen ? llen - 1 : q.end));
    } else if (kv != NULL) {
        deleted = type == ZR_SCORE  ? zset_del_range_score(&z, &q.r)
                  : lex_may_match(&z, &q.lex) ? zset_del_range_lex(&z, &q.lex)
                                              : 0;
    }
    if (deleted) {
        zset_after_remove(db, kv, ctx->argv[1], &z);
        cmd_dirty(ctx, (long long)deleted);
    }
    reply_int(ctx->r, (long long)deleted);
}

static void cmd_zremrangebyrank(cmd_ctx_t *ctx) { zremrange_generic(ctx, ZR_RANK); }
static void cmd_zremrangebyscore(cmd_ctx_t *ctx) { zremrange_generic(ctx, ZR_SCORE); }
static void cmd_zremrangebylex(cmd_ctx_t *ctx) { zremrange_generic(ctx, ZR_LEX); }

/* ---- pops ------------------------------------------------------------------------------------ */

long zset_pop_reply(cmd_ctx_t *ctx, db_t *db, slice_t key, int max, long count, int mode)
{
    int wrong;
    kv_t *kv = types_lookup_write(ctx, db, key, OBJ_ZSET, &wrong);
    if (wrong)
        return -1;
    if (kv == NULL)
        return 0;
    zset_t z = zset_of(kv);
    size_t len = zset_len(&z);
    long n = count < 1 ? 1 : ((size_t)count > len ? (long)len : count);
    int nested = mode == ZPOP_NESTED || mode == ZPOP_KEY_NESTED;
    if (mode == ZPOP_FLAT || mode == ZPOP_NESTED) {
        reply_array(ctx->r, nested ? n : 2 * (long long)n);
    } else {
        reply_array(ctx->r, nested ? 2 : 2 * (long long)n + 1);
        reply_bulk(ctx->r, key.p, key.len);
        if (nested)
            reply_array(ctx->r, n);
    }
    zset_iter_t it;
    zset_elem_t e;
    zset_iter_rank(&it, &z, 0, max);
    for (long i = 0; i < n && zset_iter_next(&it, &e); i++) {
        if (nested)
            reply_array(ctx->r, 2);
        reply_bulk(ctx->r, e.m, e.mlen);
        reply_double(ctx->r, e.score);
    }
    if (max)
        zset_del_range_rank(&z, len - (size_t)n, len - 1);
    else
        zset_del_range_rank(&z, 0, (size_t)n - 1);
    zset_after_remove(db, kv, key, &z);
    cmd_dirty(ctx, n);
    return n;
}

static void zpop_command(cmd_ctx_t *ctx, int max)
{
    long long count = -1;
    const char *msg = "ERR value is out of range, must be positive";
    if (ctx->argc > 3) {
        reply_syntax_error(ctx->r);
        return;
    }
    if (ctx->argc == 3) {
        if (arg_ll_msg(ctx, ctx->argv[2], &count, msg) != 0)
            return;
        if (count < 0) {
            reply_error(ctx->r, msg);
            return;
        }
    }
    db_t *db = types_db(ctx);
    int wrong;
    kv_t *kv = types_lookup_write(ctx, db, ctx->argv[1], OBJ_ZSET, &wrong);
    if (wrong)
        return;
    if (kv == NULL || count == 0) {
        reply_array(ctx->r, 0);
        return;
    }
    int mode = ctx->r->resp > 2 && count != -1 ? ZPOP_NESTED : ZPOP_FLAT;
    zset_pop_reply(ctx, db, ctx->argv[1], max, count < 0 ? 1 : (long)count, mode);
}

static void cmd_zpopmin(cmd_ctx_t *ctx) { zpop_command(ctx, 0); }
static void cmd_zpopmax(cmd_ctx_t *ctx) { zpop_command(ctx, 1); }

static void cmd_zmpop(cmd_ctx_t *ctx)
{
    int nkeys, max;
    long count;
    if (types_parse_mpop(ctx, 1, "min", "max", &nkeys, &max, &count) != 0)
        return;
    db_t *db = types_db(ctx);
    for (int i = 0; i < nkeys; i++) {
        slice_t key = ctx->argv[2 + i];
        long n = zset_pop_reply(ctx, db, key, max, count, ZPOP_KEY_NESTED);
        if (n < 0)
            return;
        if (n > 0) {
            char num[LL_STR_MAX];
            slice_t prop[3] = {max ? SLICE_LIT("ZPOPMAX") : SLICE_LIT("ZPOPMIN"), key,
                               slice_make(num, ll_to_str(num, n))};
            types_propagate(ctx, 3, prop);
            return;
        }
    }
    reply_null_array(ctx->r);
}

/* ---- ZRANDMEMBER / ZSCAN ------------------------------------------------------------------ */

typedef struct zrand_out_s {
    reply_t *r;
    int withscores;
} zrand_out_t;

static void zrand_emit(void *arg, const zset_elem_t *e)
{
    zrand_out_t *o = arg;
    reply_elem(o->r, e, o->withscores, o->r->resp > 2);
}

static void zrandmember_count(cmd_ctx_t *ctx)
{
    long long l;
    int withscores = 0;
    if (types_rand_count(ctx, ctx->argv[2], &l) != 0)
        return;
    if (ctx->argc > 4 || (ctx->argc == 4 && !slice_eq_ci(ctx->argv[3], "withscores"))) {
        reply_syntax_error(ctx->r);
        return;
    }
    if (ctx->argc == 4) {
        withscores = 1;
        if (l < -LLONG_MAX / 2 || l > LLONG_MAX / 2) {
            reply_error(ctx->r, "ERR value is out of range");
            return;
        }
    }
    int wrong;
    kv_t *kv = zset_read(ctx, &wrong);
    if (wrong)
        return;
    if (kv == NULL || l == 0) {
        reply_array(ctx->r, 0);
        return;
    }
    zset_t z = zset_of(kv);
    size_t len = zset_len(&z), count = (size_t)(l < 0 ? -l : l);
    size_t n = l > 0 && count > len ? len : count;
    zrand_out_t o = {ctx->r, withscores};
    reply_array(ctx->r, (long long)(withscores && ctx->r->resp == 2 ? 2 * n : n));
    if (l > 0 && count >= len) {
        /* The whole set, highest first (the order Redis walks it in). */
        zset_iter_t it;
        zset_elem_t e;
        zset_iter_rank(&it, &z, 0, 1);
        while (zset_iter_next(&it, &e))
            zrand_emit(&o, &e);
        return;
    }
    zset_random_many(&z, n, l > 0, rng_next, zrand_emit, &o);
}

static void cmd_zrandmember(cmd_ctx_t *ctx)
{
    if (ctx->argc >= 3) {
        zrandmember_count(ctx);
        return;
    }
    int wrong;
    kv_t *kv = zset_read(ctx, &wrong);
    if (wrong)
        return;
    if (kv == NULL) {
        reply_null(ctx->r);
        return;
    }
    zset_t z = zset_of(kv);
    zset_elem_t e;
    zset_random(&z, rng_next, &e);
    reply_bulk(ctx->r, e.m, e.mlen);
}

static void cmd_zscan(cmd_ctx_t *ctx) { types_scan_command(ctx, OBJ_ZSET); }

#define R_F (CMD_READONLY | CMD_FAST)
#define W_D (CMD_WRITE | CMD_DENYOOM)
#define MOVABLE(f) ((f) | CMD_MOVABLE_KEYS)

cmd_def_t cmd_table_zset[] = {
    {.name = "zadd", .proc = cmd_zadd, .arity = -4, .flags = W_D | CMD_FAST, .key = {1, 1, 1}},
    {.name = "zincrby", .proc = cmd_zincrby, .arity = 4, .flags = W_D | CMD_FAST, .key = {1, 1, 1}},
    {.name = "zrem", .proc = cmd_zrem, .arity = -3, .flags = CMD_WRITE | CMD_FAST, .key = {1, 1, 1}},
    {.name = "zcard", .proc = cmd_zcard, .arity = 2, .flags = R_F, .key = {1, 1, 1}},
    {.name = "zscore", .proc = cmd_zscore, .arity = 3, .flags = R_F, .key = {1, 1, 1}},
    {.name = "zmscore", .proc = cmd_zmscore, .arity = -3, .flags = R_F, .key = {1, 1, 1}},
    {.name = "zcount", .proc = cmd_zcount, .arity = 4, .flags = R_F, .key = {1, 1, 1}},
    {.name = "zlexcount", .proc = cmd_zlexcount, .arity = 4, .flags = R_F, .key = {1, 1, 1}},
    {.name = "zrange", .proc = cmd_zrange, .arity = -4, .flags = CMD_READONLY, .key = {1, 1, 1}},
    {.name = "zrangestore", .proc = cmd_zrangestore, .arity = -5, .flags = W_D, .key = {1, 2, 1}},
    {.name = "zrangebyscore",
     .proc = cmd_zrangebyscore,
     .arity = -4,
     .flags = CMD_READONLY,
     .key = {1, 1, 1}},
    {.name = "zrevrangebyscore",
     .proc = cmd_zrevrangebyscore,
     .arity = -4,
     .flags = CMD_READONLY,
     .key = {1, 1, 1}},
    {.name = "zrangebylex", .proc = cmd_zrangebylex, .arity = -4, .flags = CMD_READONLY, .key = {1, 1, 1}},
    {.name = "zrevrangebylex",
     .proc = cmd_zrevrangebylex,
     .arity = -4,
     .flags = CMD_READONLY,
     .key = {1, 1, 1}},
    {.name = "zrevrange", .proc = cmd_zrevrange, .arity = -4, .flags = CMD_READONLY, .key = {1, 1, 1}},
    {.name = "zrank", .proc = cmd_zrank, .arity = 3, .flags = R_F, .key = {1, 1, 1}},
    {.name = "zrevrank", .proc = cmd_zrevrank, .arity = 3, .flags = R_F, .key = {1, 1, 1}},
    {.name = "zremrangebyrank", .proc = cmd_zremrangebyrank, .arity = 4, .flags = CMD_WRITE, .key = {1, 1, 1}},
    {.name = "zremrangebyscore", .proc = cmd_zremrangebyscore, .arity = 4, .flags = CMD_WRITE, .key = {1, 1, 1}},
    {.name = "zremrangebylex", .proc = cmd_zremrangebylex, .arity = 4, .flags = CMD_WRITE, .key = {1, 1, 1}},
    {.name = "zpopmin", .proc = cmd_zpopmin, .arity = -2, .flags = CMD_WRITE | CMD_FAST, .key = {1, 1, 1}},
    {.name = "zpopmax", .proc = cmd_zpopmax, .arity = -2, .flags = CMD_WRITE | CMD_FAST, .key = {1, 1, 1}},
    {.name = "zmpop",
     .proc = cmd_zmpop,
     .arity = -4,
     .flags = MOVABLE(CMD_WRITE) | CMD_NO_PROPAGATE_ARGV,
     .key = {0, 0, 0},
     .getkeys = types_getkeys_numkeys1},
    {.name = "zunion",
     .proc = cmd_zunion,
     .arity = -3,
     .flags = MOVABLE(CMD_READONLY),
     .key = {0, 0, 0},
     .getkeys = types_getkeys_numkeys1},
    {.name = "zinter",
     .proc = cmd_zinter,
     .arity = -3,
     .flags = MOVABLE(CMD_READONLY),
     .key = {0, 0, 0},
     .getkeys = types_getkeys_numkeys1},
    {.name = "zdiff",
     .proc = cmd_zdiff,
     .arity = -3,
     .flags = MOVABLE(CMD_READONLY),
     .key = {0, 0, 0},
     .getkeys = types_getkeys_numkeys1},
    {.name = "zunionstore",
     .proc = cmd_zunionstore,
     .arity = -4,
     .flags = MOVABLE(W_D),
     .key = {1, 1, 1},
     .getkeys = types_getkeys_store},
    {.name = "zinterstore",
     .proc = cmd_zinterstore,
     .arity = -4,
     .flags = MOVABLE(W_D),
     .key = {1, 1, 1},
     .getkeys = types_getkeys_store},
    {.name = "zdiffstore",
     .proc = cmd_zdiffstore,
     .arity = -4,
     .flags = MOVABLE(W_D),
     .key = {1, 1, 1},
     .getkeys = types_getkeys_store},
    {.name = "zintercard",
     .proc = cmd_zintercard,
     .arity = -3,
     .flags = MOVABLE(CMD_READONLY),
     .key = {0, 0, 0},
     .getkeys = types_getkeys_numkeys1},
    {.name = "zrandmember", .proc = cmd_zrandmember, .arity = -2, .flags = CMD_READONLY, .key = {1, 1, 1}},
    {.name = "zscan", .proc = cmd_zscan, .arity = -3, .flags = CMD_READONLY, .key = {1, 1, 1}},
    {0},
};
