/*
 * aof_rewrite_types.c — the built-in AOF rewrite emitters for the collection
 * types, written as Redis 7.0's rewrite writes them: RPUSH (lists), SADD
 * (sets), ZADD score member (sorted sets, scores in "%.17g" form), HMSET
 * (hashes), at most AOF_REWRITE_ITEMS_PER_CMD items per command.
 *
 * Runs in the rewrite child: reads the value through the types' iterators
 * only. Must not: modify values, log, allocate beyond the iterators' own use.
 * Streams are not covered yet (no emitter: a rewrite of a stream key fails
 * loudly rather than dropping it).
 */
#include "../ks/quicklist.h"
#include "../ks/thash.h"
#include "../ks/tset.h"
#include "../ks/zset.h"
#include "../lib/util.h"
#include "aof_rewrite.h"

/* Header of the next batch: "*<2 + n * per>" cmd key, n = items left (capped). */
static size_t batch_begin(aof_emit_t *w, const char *cmd, size_t cmdlen, slice_t key,
                          size_t left, int per)
{
    size_t n = left < AOF_REWRITE_ITEMS_PER_CMD ? left : AOF_REWRITE_ITEMS_PER_CMD;
    aof_emit_array(w, 2 + (long long)(n * (size_t)per));
    aof_emit_bulk(w, cmd, cmdlen);
    aof_emit_bulk_slice(w, key);
    return n;
}

static int emit_val(aof_emit_t *w, const listpack_val_t *v)
{
    char buf[LISTPACK_INTBUF];
    size_t len;
    const char *p = listpack_val_str(v, buf, &len);
    return aof_emit_bulk(w, p, len);
}

int aof_emit_list(aof_emit_t *w, const kv_t *kv, slice_t key)
{
    quicklist_t *ql = kv_ptr(kv);
    quicklist_iter_t it;
    listpack_val_t v;
    size_t left = quicklist_count(ql), in_batch = 0;
    int rc = 0;
    quicklist_iter_init(&it, ql, QUICKLIST_FORWARD);
    while (rc == 0 && quicklist_iter_next(&it, &v)) {
        if (in_batch == 0)
            in_batch = batch_begin(w, "RPUSH", 5, key, left, 1);
        rc = emit_val(w, &v);
        in_batch--;
        left--;
    }
    return rc;
}

int aof_emit_set(aof_emit_t *w, const kv_t *kv, slice_t key)
{
    tset_t s = {.enc = kv->enc, .ptr = kv_ptr(kv)};
    tset_iter_t it;
    listpack_val_t v;
    size_t left = tset_len(&s), in_batch = 0;
    int rc = 0;
    tset_iter_init(&it, &s);
    while (rc == 0 && tset_iter_next(&it, &v)) {
        if (in_batch == 0)
            in_batch = batch_begin(w, "SADD", 4, key, left, 1);
        rc = emit_val(w, &v);
        in_batch--;
        left--;
    }
    tset_iter_deinit(&it);
    return rc;
}

int aof_emit_hash(aof_emit_t *w, const kv_t *kv, slice_t key)
{
    thash_t h = {.enc = kv->enc, .ptr = kv_ptr(kv)};
    thash_iter_t it;
    listpack_val_t f, v;
    size_t left = thash_len(&h), in_batch = 0;
    int rc = 0;
    thash_iter_init(&it, &h);
    while (rc == 0 && thash_iter_next(&it, &f, &v)) {
        if (in_batch == 0)
            in_batch = batch_begin(w, "HMSET", 5, key, left, 2);
        emit_val(w, &f);
        rc = emit_val(w, &v);
        in_batch--;
        left--;
    }
    thash_iter_deinit(&it);
    return rc;
}

int aof_emit_zset(aof_emit_t *w, const kv_t *kv, slice_t key)
{
    zset_t z = {.enc = kv->enc, .ptr = kv_ptr(kv)};
    zset_iter_t it;
    zset_elem_t e;
    size_t left = zset_len(&z), in_batch = 0;
    int rc = 0;
    if (!zset_iter_rank(&it, &z, 0, 0))
        return 0;
    while (rc == 0 && zset_iter_next(&it, &e)) {
        char score[D_STR_MAX];
        if (in_batch == 0)
            in_batch = batch_begin(w, "ZADD", 4, key, left, 2);
        aof_emit_bulk(w, score, d_to_str(score, sizeof(score), e.score));
        rc = aof_emit_bulk(w, e.m, e.mlen);
        in_batch--;
        left--;
    }
    return rc;
}
