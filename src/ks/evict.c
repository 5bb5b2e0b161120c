/*
 * evict.c — maxmemory eviction (see evict.h): the eviction pool, sampling,
 * and the loop that deletes victims until enough memory was freed.
 *
 * The algorithm is the one Redis documents: for the LRU, LFU and TTL
 * policies, each round samples `samples` keys from every database (from all
 * keys, or from the keys with a TTL for volatile-*), scores them (idle time,
 * 255 - decayed LFU counter, or "expires sooner"), and merges them into a
 * pool of the 16 best candidates kept across calls; the best candidate that
 * still exists is evicted. Random policies take a random key from the
 * databases in round robin.
 *
 * Must not: read clocks or the allocator directly (req supplies them), reply,
 * or propagate (the on_evict callback does that upstairs).
 * Invariants: the used pool entries form a prefix of the array, sorted by
 * ascending score (the best candidate is the last used one); an entry owns
 * its heap copy (if any) of the key name, and a candidate is revalidated
 * (db_find, and a TTL for volatile-*) before it is evicted. The pool is
 * process-wide state, like Redis's; it only caches names, so a stale entry
 * costs a lookup, never a wrong eviction.
 */
#include "evict.h"

#include <math.h>
#include <string.h>

#include "../lib/mem.h"
#include "ks_int.h"

#define EVICT_POOL_INLINE 255 /* key bytes kept inside the entry (Redis: 255) */
#define EVICT_ROUNDS_MAX 64   /* pool rounds without a live candidate before giving up */
#define EVICT_CHECK_EVERY 16  /* keys between two time checks */
#define EVICT_SAMPLES_MAX 64

typedef struct pool_entry_s {
    uint64_t score;
    int used;
    int db;
    size_t klen;
    char *heap; /* key bytes when klen > EVICT_POOL_INLINE, else NULL */
    char inl[EVICT_POOL_INLINE];
} pool_entry_t;

static pool_entry_t pool[KS_EVICT_POOL_SIZE];
static int next_random_db;

static const char *entry_key(const pool_entry_t *e)
{
    return e->heap ? e->heap : e->inl;
}

static void entry_clear(pool_entry_t *e)
{
    mem_free(e->heap);
    e->heap = NULL;
    e->used = 0;
    e->klen = 0;
}

static void entry_set(pool_entry_t *e, int db, slice_t key, uint64_t score)
{
    e->used = 1;
    e->db = db;
    e->score = score;
    e->klen = key.len;
    e->heap = NULL;
    if (key.len > EVICT_POOL_INLINE)
        e->heap = mem_alloc(key.len);
    memcpy(e->heap ? e->heap : e->inl, key.p, key.len);
}

void ks_evict_pool_reset(void)
{
    for (int i = 0; i < KS_EVICT_POOL_SIZE; i++)
        entry_clear(&pool[i]);
}

size_t ks_evict_pool_scores(uint64_t *idle, size_t max)
{
    size_t n = 0;
    for (int i = 0; i < KS_EVICT_POOL_SIZE; i++)
        if (pool[i].used && n < max)
            idle[n++] = pool[i].score;
    return n;
}

uint64_t ks_evict_time_limit_us(int tenacity)
{
    if (tenacity <= 10)
        return 50u * (uint64_t)(tenacity < 0 ? 0 : tenacity);
    if (tenacity < 100)
        return (uint64_t)(500.0 * pow(1.15, tenacity - 10.0));
    return UINT64_MAX;
}

static int policy_volatile(int p)
{
    return p >= KS_EVICT_VOLATILE_LRU && p <= KS_EVICT_VOLATILE_TTL;
}

static int policy_random(int p)
{
    return p == KS_EVICT_VOLATILE_RANDOM || p == KS_EVICT_ALLKEYS_RANDOM;
}

/* The score of a candidate: the higher, the better to evict. */
static uint64_t score_of(ks_t *ks, const kv_t *kv, int policy, uint64_t now_ms)
{
    switch (policy) {
    case KS_EVICT_VOLATILE_LFU:
    case KS_EVICT_ALLKEYS_LFU:
        return 255 - ks_lfu_freq(ks, kv, now_ms);
    case KS_EVICT_VOLATILE_TTL:
        return UINT64_MAX - (uint64_t)kv_expire(kv);
    default:
        return kv_idle_ms(kv, now_ms);
    }
}

/* Merge one candidate into the pool (Redis's evictionPoolPopulate rule). */
static void pool_insert(int db, slice_t key, uint64_t score)
{
    int k = 0, last = KS_EVICT_POOL_SIZE - 1;
    while (k < KS_EVICT_POOL_SIZE && pool[k].used && pool[k].score < score)
        k++;
    if (k == 0 && pool[last].used)
        return; /* worse than every candidate and no room */
    if (k < KS_EVICT_POOL_SIZE && !pool[k].used) {
        /* an empty slot: insert there */
    } else if (!pool[last].used) {
        memmove(&pool[k + 1], &pool[k], sizeof(pool[0]) * (size_t)(last - k));
    } else {
        k--; /* full: drop the worst (pool[0]) and insert before the first better one */
        entry_clear(&pool[0]);
        memmove(&pool[0], &pool[1], sizeof(pool[0]) * (size_t)k);
    }
    entry_set(&pool[k], db, key, score);
}

/* A raw random entry of db (no TTL check), NULL if empty. */
static kv_t *random_entry(db_t *db, uint64_t (*rnd)(void))
{
    if (db->nkeys == 0)
        return NULL;
    if (db->ntables == 1)
        return (kv_t *)dict_random(&db->tables[0], rnd);
    uint64_t r = rnd() % db->nkeys;
    for (int i = 0; i < db->ntables; i++) {
        uint64_t n = dict_size(&db->tables[i]);
        if (r < n)
            return (kv_t *)dict_random(&db->tables[i], rnd);
        r -= n;
    }
    return NULL;
}

/* Up to n sampled entries of db: from all keys or from the volatile index. */
static size_t sample_db(db_t *db, int volatile_only, kv_t **out, size_t n, uint64_t (*rnd)(void))
{
    size_t got = 0;
    if (volatile_only) {
        for (size_t i = 0; i < n && db->nvol > 0; i++)
            out[got++] = db->vol[rnd() % db->nvol];
        return got;
    }
    if (db->ntables == 1)
        return dict_sample(&db->tables[0], (dict_node_t **)out, n, rnd);
    /* One table per slot: walk from a random slot, one sample per table. */
    int start = (int)(rnd() % (uint64_t)db->ntables);
    for (int i = 0; i < db->ntables && got < n; i++) {
        dict_t *d = &db->tables[(start + i) % db->ntables];
        if (dict_size(d) > 0)
            got += dict_sample(d, (dict_node_t **)out + got, 1, rnd);
    }
    return got;
}

/* Refill the pool from every db; returns the number of keys eligible. */
static uint64_t pool_populate(ks_t *ks, const ks_evict_req_t *req)
{
    kv_t *s[EVICT_SAMPLES_MAX];
    int vol = policy_volatile(req->policy);
    size_t n = req->samples < 1 ? 1 : (size_t)req->samples;
    if (n > EVICT_SAMPLES_MAX)
        n = EVICT_SAMPLES_MAX;
    uint64_t total = 0;
    for (int i = 0; i < ks->ndbs; i++) {
        db_t *db = &ks->dbs[i];
        uint64_t size = vol ? db->nvol : db->nkeys;
        if (size == 0)
            continue;
        total += size;
        size_t got = sample_db(db, vol, s, n, ks->rnd);
        for (size_t j = 0; j < got; j++)
            pool_insert(i, kv_key(s[j]), score_of(ks, s[j], req->policy, req->now_ms));
    }
    return total;
}

/* The best live candidate of the pool, or NULL (the pool is emptied of what
 * it looked at). */
static kv_t *pool_pick(ks_t *ks, int vol, int *dbid)
{
    for (int k = KS_EVICT_POOL_SIZE - 1; k >= 0; k--) {
        pool_entry_t *e = &pool[k];
        if (!e->used)
            continue;
        kv_t *kv = NULL;
        if (e->db < ks->ndbs)
            kv = db_find(&ks->dbs[e->db], slice_make(entry_key(e), e->klen));
        *dbid = e->db;
        entry_clear(e);
        if (kv != NULL && (!vol || kv->has_expire))
            return kv;
    }
    return NULL;
}

static kv_t *pick_pool(ks_t *ks, const ks_evict_req_t *req, int *dbid)
{
    int vol = policy_volatile(req->policy);
    for (int round = 0; round < EVICT_ROUNDS_MAX; round++) {
        if (pool_populate(ks, req) == 0)
            return NULL;
        kv_t *kv = pool_pick(ks, vol, dbid);
        if (kv != NULL)
            return kv;
    }
    return NULL;
}

static kv_t *pick_random(ks_t *ks, const ks_evict_req_t *req, int *dbid)
{
    int vol = policy_volatile(req->policy);
    for (int i = 0; i < ks->ndbs; i++) {
        int j = next_random_db = (next_random_db + 1) % ks->ndbs;
        db_t *db = &ks->dbs[j];
        kv_t *kv = NULL;
        if (vol && db->nvol > 0)
            kv = db->vol[ks->rnd() % db->nvol];
        else if (!vol)
            kv = random_entry(db, ks->rnd);
        if (kv != NULL) {
            *dbid = j;
            return kv;
        }
    }
    return NULL;
}

size_t ks_evict(ks_t *ks, size_t need_bytes, const ks_evict_req_t *req, int *status)
{
    *status = KS_EVICT_OK;
    if (need_bytes == 0)
        return 0;
    if (req->policy == KS_EVICT_NOEVICTION) {
        *status = KS_EVICT_FAIL;
        return 0;
    }
    uint64_t start = req->now_us ? req->now_us() : 0;
    size_t freed = 0, keys = 0;
    while (freed < need_bytes) {
        int dbid = 0;
        kv_t *kv =
            policy_random(req->policy) ? pick_random(ks, req, &dbid) : pick_pool(ks, req, &dbid);
        if (kv == NULL) {
            *status = KS_EVICT_FAIL;
            break;
        }
        db_t *db = &ks->dbs[dbid];
        slice_t key = kv_key(kv);
        if (req->on_evict)
            req->on_evict(req->arg, dbid, key);
        size_t before = req->mem_used();
        db_delete(db, key);
        size_t after = req->mem_used();
        freed += before > after ? before - after : 0;
        keys++;
        if (keys % EVICT_CHECK_EVERY == 0 && req->now_us &&
            req->now_us() - start > req->budget_us && freed < need_bytes) {
            *status = KS_EVICT_RUNNING;
            break;
        }
    }
    return keys;
}
