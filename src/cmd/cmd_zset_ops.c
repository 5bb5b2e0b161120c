/*
 * cmd_zset_ops.c — sorted-set algebra: ZUNION ZINTER ZDIFF, their *STORE
 * forms (WEIGHTS, AGGREGATE SUM|MIN|MAX, WITHSCORES) and ZINTERCARD. Inputs
 * may be sorted sets or plain sets (members of a set score 1), as in Redis.
 *
 * Owns: the handlers (their rows are in cmd_zset.c's table) and Redis 7.0's
 * arithmetic rules: weight * score that is NaN counts as 0, a SUM that is
 * NaN (inf + -inf) becomes 0; inputs are visited from the smallest to the
 * largest (ZDIFF keeps its first input first).
 * Must not: write to an input while reading it (results are built in a new
 * zset, then stored).
 */
#include <math.h>

#include "../ks/tset.h"
#include "../ks/zset.h"
#include "../lib/mem.h"
#include "../lib/util.h"
#include "cmd_types.h"

void cmd_zunion(cmd_ctx_t *ctx);
void cmd_zinter(cmd_ctx_t *ctx);
void cmd_zdiff(cmd_ctx_t *ctx);
void cmd_zunionstore(cmd_ctx_t *ctx);
void cmd_zinterstore(cmd_ctx_t *ctx);
void cmd_zdiffstore(cmd_ctx_t *ctx);
void cmd_zintercard(cmd_ctx_t *ctx);

enum { OP_UNION = 0, OP_INTER = 1, OP_DIFF = 2 };
enum { AGG_SUM = 0, AGG_MIN = 1, AGG_MAX = 2 };

/* One input: a zset, a set, or missing (type -1, empty). */
typedef struct zsrc_s {
    int type;
    zset_t z;
    tset_t s;
    double weight;
    size_t len;
} zsrc_t;

typedef struct zsrc_iter_s {
    const zsrc_t *src;
    zset_iter_t zi;
    tset_iter_t si;
} zsrc_iter_t;

typedef struct zop_s {
    int op, agg, withscores;
    long long limit; /* ZINTERCARD */
    int nsrc;
    zsrc_t *src;
} zop_t;

static void zsrc_iter_init(zsrc_iter_t *it, const zsrc_t *src)
{
    it->src = src;
    if (src->type == OBJ_ZSET)
        zset_iter_rank(&it->zi, &src->z, 0, 0);
    else if (src->type == OBJ_SET)
        tset_iter_init(&it->si, &src->s);
}

/* Next element into *e (members of sets score 1). */
static int zsrc_iter_next(zsrc_iter_t *it, zset_elem_t *e)
{
    if (it->src->type == OBJ_ZSET)
        return zset_iter_next(&it->zi, e);
    if (it->src->type != OBJ_SET)
        return 0;
    listpack_val_t v;
    if (!tset_iter_next(&it->si, &v))
        return 0;
    e->m = listpack_val_str(&v, e->buf, &e->mlen);
    e->score = 1.0;
    return 1;
}

static void zsrc_iter_deinit(zsrc_iter_t *it)
{
    if (it->src->type == OBJ_SET)
        tset_iter_deinit(&it->si);
}

static int zsrc_find(const zsrc_t *src, const char *m, size_t mlen, double *score)
{
    if (src->type == OBJ_ZSET)
        return zset_score(&src->z, m, mlen, score);
    *score = 1.0;
    return src->type == OBJ_SET && tset_contains(&src->s, m, mlen);
}

static void aggregate(double *target, double val, int agg)
{
    if (agg == AGG_SUM) {
        *target += val;
        if (isnan(*target))
            *target = 0.0;
    } else if (agg == AGG_MIN) {
        *target = val < *target ? val : *target;
    } else {
        *target = val > *target ? val : *target;
    }
}

/* ---- parsing ---------------------------------------------------------------------- */

/* Inputs argv[first .. first+n): 0, or -1 after WRONGTYPE. */
static int zop_sources(cmd_ctx_t *ctx, zop_t *q, int first, int write)
{
    db_t *db = types_db(ctx);
    q->src = mem_calloc((size_t)q->nsrc * sizeof(zsrc_t));
    for (int i = 0; i < q->nsrc; i++) {
        slice_t key = ctx->argv[first + i];
        kv_t *kv = write ? db_lookup_write(db, key, ctx->env->now_ms)
                         : db_lookup(db, key, ctx->env->now_ms);
        zsrc_t *s = &q->src[i];
        s->weight = 1.0;
        s->type = kv ? (int)kv->type : -1;
        if (kv != NULL && kv->type != OBJ_ZSET && kv->type != OBJ_SET) {
            reply_wrongtype(ctx->r);
            return -1;
        }
        if (s->type == OBJ_ZSET) {
            s->z = (zset_t){kv->enc, kv_ptr(kv)};
            s->len = zset_len(&s->z);
        } else if (s->type == OBJ_SET) {
            s->s = (tset_t){kv->enc, kv_ptr(kv)};
            s->len = tset_len(&s->s);
        }
    }
    return 0;
}

/* WEIGHTS / AGGREGATE / WITHSCORES / LIMIT after the keys. */
static int zop_options(cmd_ctx_t *ctx, zop_t *q, int j, int store, int card)
{
    while (j < ctx->argc) {
        int left = ctx->argc - j;
        slice_t a = ctx->argv[j];
        if (q->op != OP_DIFF && !card && left >= q->nsrc + 1 && slice_eq_ci(a, "weights")) {
            j++;
            for (int i = 0; i < q->nsrc; i++, j++)
                if (!str_to_d(ctx->argv[j].p, ctx->argv[j].len, &q->src[i].weight))
                    return reply_error(ctx->r, "ERR weight value is not a float"), -1;
        } else if (q->op != OP_DIFF && !card && left >= 2 && slice_eq_ci(a, "aggregate")) {
            slice_t v = ctx->argv[j + 1];
            if (slice_eq_ci(v, "sum"))
                q->agg = AGG_SUM;
            else if (slice_eq_ci(v, "min"))
                q->agg = AGG_MIN;
            else if (slice_eq_ci(v, "max"))
                q->agg = AGG_MAX;
            else
                return reply_syntax_error(ctx->r), -1;
            j += 2;
        } else if (!store && !card && slice_eq_ci(a, "withscores")) {
            q->withscores = 1;
            j++;
        } else if (card && left >= 2 && slice_eq_ci(a, "limit")) {
            const char *msg = "ERR LIMIT can't be negative";
            if (arg_ll_msg(ctx, ctx->argv[j + 1], &q->limit, msg) != 0)
                return -1;
            if (q->limit < 0)
                return reply_error(ctx->r, msg), -1;
            j += 2;
        } else {
            return reply_syntax_error(ctx->r), -1;
        }
    }
    return 0;
}

/* numkeys at argv[idx], the keys, the options. 0, or -1 after an error. */
static int zop_parse(cmd_ctx_t *ctx, zop_t *q, int idx, int store, int card)
{
    long long n;
    if (arg_ll(ctx, ctx->argv[idx], &n) != 0)
        return -1;
    if (n < 1) {
        char name[64];
        cmd_fullname(ctx->cmd, name, sizeof(name));
        reply_errorf(ctx->r, "ERR at least 1 input key is needed for '%s' command", name);
        return -1;
    }
    if (n > ctx->argc - idx - 1) {
        reply_syntax_error(ctx->r);
        return -1;
    }
    q->nsrc = (int)n;
    if (zop_sources(ctx, q, idx + 1, store) != 0)
        return -1;
    return zop_options(ctx, q, idx + 1 + (int)n, store, card);
}

/* Smallest inputs first (stable); ZDIFF keeps its first input first. */
static void zop_sort(zop_t *q)
{
    int from = q->op == OP_DIFF ? 2 : 1;
    for (int i = from; i < q->nsrc; i++) {
        zsrc_t t = q->src[i];
        int j = i;
        for (; j > from - 1 && q->src[j - 1].len > t.len; j--)
            q->src[j] = q->src[j - 1];
        q->src[j] = t;
    }
}

/* ---- computing ------------------------------------------------------------------------ */

typedef struct zres_s {
    zset_t z;
    size_t maxlen, totlen;
    long long count;
} zres_t;

static void zres_add(zres_t *r, const zset_elem_t *e, double score)
{
    int out;
    zset_add(&r->z, e->m, e->mlen, score, 0, &out, NULL);
    r->maxlen = e->mlen > r->maxlen ? e->mlen : r->maxlen;
    r->totlen += e->mlen;
    r->count++;
}

/* Members of src[0] that are (inter) or are not (diff) in every/any other input. */
static void zop_filter_first(const zop_t *q, zres_t *r, int count_only)
{
    zsrc_iter_t it;
    zset_elem_t e;
    if (q->src[0].len == 0)
        return;
    zsrc_iter_init(&it, &q->src[0]);
    while (zsrc_iter_next(&it, &e)) {
        double score = q->src[0].weight * e.score, v;
        if (isnan(score))
            score = 0;
        int j = 1, hit = 0;
        for (; j < q->nsrc; j++) {
            hit = zsrc_find(&q->src[j], e.m, e.mlen, &v);
            if (q->op == OP_DIFF ? hit : !hit)
                break;
            aggregate(&score, v * q->src[j].weight, q->agg);
        }
        if (j < q->nsrc)
            continue;
        if (count_only)
            r->count++;
        else
            zres_add(r, &e, q->op == OP_DIFF ? e.score : score);
        if (count_only && q->limit && r->count >= q->limit)
            break;
    }
    zsrc_iter_deinit(&it);
}

static void zop_union(const zop_t *q, zres_t *r)
{
    for (int i = 0; i < q->nsrc; i++) {
        zsrc_iter_t it;
        zset_elem_t e;
        zsrc_iter_init(&it, &q->src[i]);
        while (zsrc_iter_next(&it, &e)) {
            double score = q->src[i].weight * e.score, cur;
            if (isnan(score))
                score = 0;
            if (!zset_score(&r->z, e.m, e.mlen, &cur)) {
                zres_add(r, &e, score);
                continue;
            }
            aggregate(&cur, score, q->agg);
            int out;
            zset_add(&r->z, e.m, e.mlen, cur, 0, &out, NULL);
        }
        zsrc_iter_deinit(&it);
    }
}

static void zop_compute(zop_t *q, zres_t *r)
{
    zset_init(&r->z, 1, 0);
    zset_convert(&r->z, ENC_SKIPLIST);
    zop_sort(q);
    if (q->op == OP_UNION)
        zop_union(q, r);
    else
        zop_filter_first(q, r, 0);
}

static void zop_reply(cmd_ctx_t *ctx, const zop_t *q, zres_t *r)
{
    size_t n = zset_len(&r->z);
    int nested = ctx->r->resp > 2;
    reply_array(ctx->r, (long long)(q->withscores && !nested ? 2 * n : n));
    zset_iter_t it;
    zset_elem_t e;
    zset_iter_rank(&it, &r->z, 0, 0);
    while (zset_iter_next(&it, &e)) {
        if (q->withscores && nested)
            reply_array(ctx->r, 2);
        reply_bulk(ctx->r, e.m, e.mlen);
        if (q->withscores)
            reply_double(ctx->r, e.score);
    }
}

static void zop_store(cmd_ctx_t *ctx, zres_t *r)
{
    db_t *db = types_db(ctx);
    size_t n = zset_len(&r->z);
    if (n == 0) {
        zset_deinit(&r->z);
        if (db_delete(db, ctx->argv[1]))
            cmd_dirty(ctx, 1);
        reply_int(ctx->r, 0);
        return;
    }
    zset_shrink_if_fits(&r->z, r->maxlen, r->totlen);
    kv_val_t v = kv_val_ptr(OBJ_ZSET, r->z.enc, r->z.ptr);
    db_set(db, ctx->argv[1], &v, -1, 0, ctx->env->now_ms);
    cmd_dirty(ctx, 1);
    reply_int(ctx->r, (long long)n);
}

static void zop_command(cmd_ctx_t *ctx, int op, int store)
{
    zop_t q = {.op = op};
    zres_t r = {0};
    if (zop_parse(ctx, &q, store ? 2 : 1, store, 0) == 0) {
        zop_compute(&q, &r);
        if (store) {
            zop_store(ctx, &r);
        } else {
            zop_reply(ctx, &q, &r);
            zset_deinit(&r.z);
        }
    }
    mem_free(q.src);
}

void cmd_zunion(cmd_ctx_t *ctx) { zop_command(ctx, OP_UNION, 0); }
void cmd_zinter(cmd_ctx_t *ctx) { zop_command(ctx, OP_INTER, 0); }
void cmd_zdiff(cmd_ctx_t *ctx) { zop_command(ctx, OP_DIFF, 0); }
void cmd_zunionstore(cmd_ctx_t *ctx) { zop_command(ctx, OP_UNION, 1); }
void cmd_zinterstore(cmd_ctx_t *ctx) { zop_command(ctx, OP_INTER, 1); }
void cmd_zdiffstore(cmd_ctx_t *ctx) { zop_command(ctx, OP_DIFF, 1); }

void cmd_zintercard(cmd_ctx_t *ctx)
{
    zop_t q = {.op = OP_INTER};
    zres_t r = {0};
    if (zop_parse(ctx, &q, 1, 0, 1) == 0) {
        zop_sort(&q);
        zop_filter_first(&q, &r, 1);
        reply_int(ctx->r, r.count);
    }
    mem_free(q.src);
}
