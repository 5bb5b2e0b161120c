/*
 * ks.c — the keyspace: the array of databases, hooks and counters, SWAPDB and
 * FLUSHALL, the active expire cycle, incremental rehashing, INFO figures.
 *
 * Must not: read clocks directly (now_ms and now_us() are passed in), reply,
 * propagate.
 * Invariants: dbs[i].id == i; in cluster mode only db 0 has one table per
 * slot (the others keep a single table and stay unused).
 *
 * Active expiry sweeps each db's volatile index downwards from a per-db
 * cursor (like Redis 7's scan of the expires dict, every key with a TTL is
 * visited once per full sweep), in loops of keys_per_loop, repeating on a db
 * while more than the acceptable share of a loop was expired.
 */
#include "ks_int.h"

#include "../lib/mem.h"
#include "../lib/util.h"

#define KS_KEYS_PER_LOOP 20
#define KS_FAST_DURATION_US 1000
#define KS_SLOW_TIME_PERC 25
#define KS_ACCEPTABLE_STALE 10

ks_t *ks_new(int ndbs, int cluster)
{
    ks_t *ks = mem_calloc(sizeof *ks);
    ks->ndbs = ndbs < 1 ? 1 : ndbs;
    ks->cluster = cluster != 0;
    ks->dbs = mem_alloc(sizeof(db_t) * (size_t)ks->ndbs);
    for (int i = 0; i < ks->ndbs; i++)
        db_init(&ks->dbs[i], ks, i, (cluster && i == 0) ? DB_CLUSTER_SLOTS : 1);
    ks->rnd = rng_next;
    ks->expire_mode = KS_EXPIRE_DELETE;
    ks->shared_ints = 1;
    ks->lfu_log_factor = 10;
    ks->lfu_decay_time = 1;
    return ks;
}

void ks_free(ks_t *ks)
{
    if (ks == NULL)
        return;
    for (int i = 0; i < ks->ndbs; i++)
        db_deinit(&ks->dbs[i]);
    mem_free(ks->dbs);
    mem_free(ks);
}

int ks_ndbs(const ks_t *ks)
{
    return ks->ndbs;
}

int ks_cluster(const ks_t *ks)
{
    return ks->cluster;
}

db_t *ks_db(ks_t *ks, int idx)
{
    return idx >= 0 && idx < ks->ndbs ? &ks->dbs[idx] : NULL;
}

void ks_set_touch_hook(ks_t *ks, ks_key_hook_t fn, void *arg)
{
    ks->touch = fn;
    ks->touch_arg = arg;
}

void ks_set_expired_hook(ks_t *ks, ks_key_hook_t fn, void *arg)
{
    ks->expired = fn;
    ks->expired_arg = arg;
}

void ks_set_added_hook(ks_t *ks, ks_added_hook_t fn, void *arg)
{
    ks->added = fn;
    ks->added_arg = arg;
}

void ks_set_expire_mode(ks_t *ks, int mode)
{
    ks->expire_mode = mode;
}

int ks_expire_mode(const ks_t *ks)
{
    return ks->expire_mode;
}

void ks_set_expire_effort(ks_t *ks, int effort)
{
    if (effort < 1)
        effort = 1;
    if (effort > 10)
        effort = 10;
    ks->effort = effort - 1;
}

void ks_set_rng(ks_t *ks, uint64_t (*rnd)(void))
{
    ks->rnd = rnd ? rnd : rng_next;
}

ks_stats_t *ks_stats(ks_t *ks)
{
    return &ks->stats;
}

int ks_swapdb(ks_t *ks, int a, int b)
{
    if (a < 0 || b < 0 || a >= ks->ndbs || b >= ks->ndbs)
        return -1;
    if (a == b)
        return 0;
    db_t *x = &ks->dbs[a], *y = &ks->dbs[b];
    if (ks->touch) {
        ks->touch(ks->touch_arg, a, (slice_t){NULL, 0});
        ks->touch(ks->touch_arg, b, (slice_t){NULL, 0});
    }
    db_t tmp = *x;
    *x = *y;
    *y = tmp;
    y->id = b;
    x->id = a;
    if (ks->added) {
        ks->added(ks->added_arg, a, (slice_t){NULL, 0}, -1);
        ks->added(ks->added_arg, b, (slice_t){NULL, 0}, -1);
    }
    return 0;
}

uint64_t ks_flushall(ks_t *ks)
{
    uint64_t n = 0;
    for (int i = 0; i < ks->ndbs; i++)
        n += db_flush(&ks->dbs[i]);
    return n;
}

uint64_t ks_total_keys(const ks_t *ks)
{
    uint64_t n = 0;
    for (int i = 0; i < ks->ndbs; i++)
        n += ks->dbs[i].nkeys;
    return n;
}

/* ---- LRU / LFU -------------------------------------------------------------------- */

void ks_set_policy(ks_t *ks, int kind, int maxmemory_set, int lfu_log_factor, int lfu_decay_time)
{
    ks->policy = kind;
    ks->shared_ints = !maxmemory_set || kind == KS_POLICY_OTHER;
    ks->lfu_log_factor = lfu_log_factor;
    ks->lfu_decay_time = lfu_decay_time;
}

int ks_policy(const ks_t *ks)
{
    return ks->policy;
}

int ks_shared_ints(const ks_t *ks)
{
    return ks->shared_ints;
}

static uint32_t lfu_minutes(uint64_t now_ms)
{
    return (uint32_t)((now_ms / 60000) & 65535);
}

static unsigned lfu_decr(const ks_t *ks, uint32_t lru, uint64_t now_ms)
{
    uint32_t ldt = lru >> 8, now = lfu_minutes(now_ms);
    unsigned counter = lru & 255;
    uint32_t elapsed = now >= ldt ? now - ldt : 65535 - ldt + now;
    uint32_t periods = ks->lfu_decay_time > 0 ? elapsed / (uint32_t)ks->lfu_decay_time : 0;
    return periods ? (periods > counter ? 0 : counter - periods) : counter;
}

unsigned ks_lfu_freq(const ks_t *ks, const kv_t *kv, uint64_t now_ms)
{
    return lfu_decr(ks, kv->lru, now_ms);
}

uint32_t ks_lru_new(const ks_t *ks, uint64_t now_ms)
{
    if (ks->policy == KS_POLICY_LFU)
        return (lfu_minutes(now_ms) << 8) | KS_LFU_INIT_VAL;
    return kv_lru_clock(now_ms);
}

void ks_lru_access(ks_t *ks, kv_t *kv, uint64_t now_ms)
{
    if (ks->policy != KS_POLICY_LFU) {
        kv->lru = kv_lru_clock(now_ms);
        return;
    }
    unsigned counter = lfu_decr(ks, kv->lru, now_ms);
    if (counter < 255) {
        double r = (double)(ks->rnd() >> 11) * 0x1.0p-53;
        double base = counter > KS_LFU_INIT_VAL ? counter - KS_LFU_INIT_VAL : 0;
        if (r < 1.0 / (base * ks->lfu_log_factor + 1))
            counter++;
    }
    kv->lru = (lfu_minutes(now_ms) << 8) | counter;
}

/* ---- active expiry ------------------------------------------------------------------ */

typedef struct expire_loop_s {
    size_t sampled, expired;
    long long ttl_sum;
    size_t ttl_samples;
} expire_loop_t;

/* Visit up to num keys of db's volatile index from its sweep cursor. */
static void ks_expire_loop(db_t *db, uint64_t now_ms, size_t num, expire_loop_t *l)
{
    while (l->sampled < num && db->nvol > 0) {
        if (db->vol_cursor == 0 || db->vol_cursor > db->nvol)
            db->vol_cursor = db->nvol;
        kv_t *kv = db->vol[--db->vol_cursor];
        long long t = kv_expire(kv);
        l->sampled++;
        if ((long long)now_ms > t) {
            db_expire_entry(db, kv);
            l->expired++;
        } else {
            l->ttl_sum += t - (long long)now_ms;
            l->ttl_samples++;
        }
    }
}

/* Loops on one db; returns 1 if the time budget ran out. */
static int ks_expire_db(ks_t *ks, db_t *db, uint64_t now_ms, uint64_t deadline_us,
                        uint64_t (*now_us)(void), size_t *tot_sampled, size_t *tot_expired)
{
    size_t per_loop = KS_KEYS_PER_LOOP + KS_KEYS_PER_LOOP / 4 * (size_t)ks->effort;
    size_t stale = KS_ACCEPTABLE_STALE - (size_t)ks->effort;
    expire_loop_t l;
    do {
        if (db->nvol == 0) {
            db->avg_ttl = 0;
            return 0;
        }
        memset(&l, 0, sizeof l);
        ks_expire_loop(db, now_ms, per_loop < db->nvol ? per_loop : db->nvol, &l);
        *tot_sampled += l.sampled;
        *tot_expired += l.expired;
        if (l.ttl_samples) {
            long long avg = l.ttl_sum / (long long)l.ttl_samples;
            if (db->avg_ttl == 0)
                db->avg_ttl = avg;
            db->avg_ttl = (db->avg_ttl / 50) * 49 + avg / 50;
        }
        if (now_us() > deadline_us)
            return 1;
    } while (l.sampled == 0 || l.expired * 100 / l.sampled > stale);
    return 0;
}

size_t ks_active_expire(ks_t *ks, uint64_t now_ms, uint64_t budget_us, uint64_t (*now_us)(void))
{
    if (ks->expire_mode != KS_EXPIRE_DELETE)
        return 0;
    uint64_t deadline = now_us() + budget_us;
    size_t sampled = 0, expired = 0;
    int timeout = 0, i;
    for (i = 0; i < ks->ndbs && !timeout; i++) {
        db_t *db = &ks->dbs[(ks->expire_next_db + i) % ks->ndbs];
        timeout = ks_expire_db(ks, db, now_ms, deadline, now_us, &sampled, &expired);
    }
    ks->expire_next_db = (ks->expire_next_db + i) % ks->ndbs;
    ks->expire_timelimit_exit = timeout;
    if (timeout)
        ks->stats.expired_time_cap_reached++;
    double perc = sampled ? (double)expired / (double)sampled : 0;
    ks->stats.expired_stale_perc = perc * 0.05 + ks->stats.expired_stale_perc * 0.95;
    return expired;
}

uint64_t ks_expire_slow_budget_us(const ks_t *ks, int hz)
{
    if (hz < 1)
        hz = 1;
    return 1000000ULL * (uint64_t)(KS_SLOW_TIME_PERC + 2 * ks->effort) / (uint64_t)hz / 100;
}

uint64_t ks_expire_fast_budget_us(const ks_t *ks)
{
    return KS_FAST_DURATION_US + KS_FAST_DURATION_US / 4 * (uint64_t)ks->effort;
}

int ks_expire_fast_wanted(ks_t *ks, uint64_t now_us)
{
    /* Redis compares the stale fraction (0..1) with a percentage here, so in
     * practice a fast cycle follows only a cycle that hit its time cap. */
    double acceptable = KS_ACCEPTABLE_STALE - ks->effort;
    if (!ks->expire_timelimit_exit && ks->stats.expired_stale_perc < acceptable)
        return 0;
    uint64_t dur = ks_expire_fast_budget_us(ks);
    if (ks->expire_fast_start_us && now_us < ks->expire_fast_start_us + dur * 2)
        return 0;
    ks->expire_fast_start_us = now_us;
    return 1;
}

/* ---- rehashing and INFO --------------------------------------------------------------- */

void ks_rehash(ks_t *ks, int ms, uint64_t (*now_us)(void))
{
    uint64_t deadline = now_us() + (uint64_t)ms * 1000;
    for (int i = 0; i < ks->ndbs; i++) {
        db_t *db = &ks->dbs[i];
        for (int t = 0; t < db->ntables; t++) {
            dict_t *d = &db->tables[t];
            if (dict_buckets(d) == 0)
                continue;
            dict_resize_if_needed(d);
            while (dict_is_rehashing(d) && now_us() < deadline)
                dict_rehash(d, 100);
            if (dict_is_rehashing(d))
                return;
        }
    }
}

void ks_db_info(const ks_t *ks, int db, uint64_t *keys, uint64_t *expires, uint64_t *avg_ttl)
{
    const db_t *d = (db >= 0 && db < ks->ndbs) ? &ks->dbs[db] : NULL;
    *keys = d ? d->nkeys : 0;
    *expires = d ? d->nvol : 0;
    *avg_ttl = d && d->avg_ttl > 0 ? (uint64_t)d->avg_ttl : 0;
}
