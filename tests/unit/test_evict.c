/*
 * test_evict.c — maxmemory eviction (src/ks/evict.c): policies, the TTL-only
 * rule of volatile-*, LRU/LFU/TTL ordering through the eviction pool, the
 * time budget, long key names in the pool, cluster-mode databases, and the
 * callback contract (called before the deletion, with the key present).
 */
/* clang-format off */
/* SOURCES: src/ks/evict.c src/ks/kv.c src/ks/db.c src/ks/ks.c src/lib/dict.c src/lib/util.c src/lib/mem.c src/lib/crc16.c */
/* clang-format on */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ks/db.h"
#include "ks/evict.h"
#include "ks/ks.h"
#include "ks/kv.h"
#include "lib/mem.h"
#include "lib/util.h"

#define T0 1700000000000ULL /* a fixed "now" in unix ms */

static uint64_t rng_state;

static uint64_t test_rng(void)
{
    /* xorshift64*: deterministic runs */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

typedef struct seen_s {
    ks_t *ks;
    int calls;
    int missing; /* callback saw a key that was not in the db */
    char keys[512][64];
} seen_t;

static void on_evict(void *arg, int db, slice_t key)
{
    seen_t *s = arg;
    if (db_find(ks_db(s->ks, db), key) == NULL)
        s->missing++;
    if (s->calls < 512) {
        size_t n = key.len < 63 ? key.len : 63;
        memcpy(s->keys[s->calls], key.p, n);
        s->keys[s->calls][n] = '\0';
    }
    s->calls++;
}

static ks_t *new_ks(int ndbs, int cluster)
{
    rng_state = 0x9e3779b97f4a7c15ULL;
    ks_t *ks = ks_new(ndbs, cluster);
    ks_set_rng(ks, test_rng);
    ks_evict_pool_reset();
    return ks;
}

static void free_ks(ks_t *ks)
{
    ks_evict_pool_reset();
    ks_free(ks);
}

/* n keys "<prefix><i>" with a 100-byte value; ttl_ms > 0 gives each a TTL of
 * now + ttl_ms + i (so lower i expires sooner). */
static void fill(db_t *db, const char *prefix, int n, long long ttl_ms, uint64_t now)
{
    char k[64], v[101];
    memset(v, 'x', 100);
    v[100] = '\0';
    for (int i = 0; i < n; i++) {
        int kl = snprintf(k, sizeof k, "%s%d", prefix, i);
        long long exp = ttl_ms > 0 ? (long long)now + ttl_ms + i : -1;
        db_set_string(db, slice_make(k, (size_t)kl), slice_make(v, 100), exp, 0, now);
    }
}

static ks_evict_req_t req_for(int policy, int samples, uint64_t now, seen_t *seen)
{
    ks_evict_req_t r = {
        .policy = policy,
        .samples = samples,
        .now_ms = now,
        .mem_used = mem_used,
        .on_evict = on_evict,
        .arg = seen,
    };
    return r;
}

static void test_noeviction_and_nothing_needed(void **state)
{
    (void)state;
    ks_t *ks = new_ks(16, 0);
    fill(ks_db(ks, 0), "k", 10, 0, T0);
    seen_t seen = {.ks = ks};
    ks_evict_req_t r = req_for(KS_EVICT_NOEVICTION, 5, T0, &seen);
    int st = -1;
    assert_int_equal(ks_evict(ks, 1000, &r, &st), 0);
    assert_int_equal(st, KS_EVICT_FAIL);
    r.policy = KS_EVICT_ALLKEYS_LRU;
    assert_int_equal(ks_evict(ks, 0, &r, &st), 0);
    assert_int_equal(st, KS_EVICT_OK);
    assert_int_equal(db_size(ks_db(ks, 0)), 10);
    assert_int_equal(seen.calls, 0);
    free_ks(ks);
}

/* Every policy frees what is asked, reporting each victim first. */
static void test_each_policy_frees_enough(void **state)
{
    (void)state;
    static const int policies[] = {KS_EVICT_VOLATILE_LRU,    KS_EVICT_VOLATILE_LFU,
                                   KS_EVICT_VOLATILE_RANDOM, KS_EVICT_VOLATILE_TTL,
                                   KS_EVICT_ALLKEYS_LRU,     KS_EVICT_ALLKEYS_LFU,
                                   KS_EVICT_ALLKEYS_RANDOM};
    for (size_t p = 0; p < sizeof policies / sizeof policies[0]; p++) {
        ks_t *ks = new_ks(16, 0);
        fill(ks_db(ks, 0), "a", 200, 100000, T0);
        fill(ks_db(ks, 3), "b", 200, 100000, T0);
        seen_t seen = {.ks = ks};
        ks_evict_req_t r = req_for(policies[p], 5, T0 + 5000, &seen);
        size_t before = mem_used();
        int st = -1;
        size_t n = ks_evict(ks, 5000, &r, &st);
        assert_int_equal(st, KS_EVICT_OK);
        assert_true(n > 0);
        assert_true(before - mem_used() >= 5000);
        assert_int_equal(seen.calls, (int)n);
        assert_int_equal(seen.missing, 0);
        assert_int_equal(db_size(ks_db(ks, 0)) + db_size(ks_db(ks, 3)), 400 - n);
        free_ks(ks);
    }
}

/* volatile-* never touch keys without a TTL, and fail once none is left. */
static void test_volatile_only_ttl_keys(void **state)
{
    (void)state;
    static const int policies[] = {KS_EVICT_VOLATILE_LRU, KS_EVICT_VOLATILE_LFU,
                                   KS_EVICT_VOLATILE_RANDOM, KS_EVICT_VOLATILE_TTL};
    for (size_t p = 0; p < sizeof policies / sizeof policies[0]; p++) {
        ks_t *ks = new_ks(16, 0);
        db_t *db = ks_db(ks, 0);
        fill(db, "persist", 100, 0, T0);
        fill(db, "vol", 20, 100000, T0);
        seen_t seen = {.ks = ks};
        ks_evict_req_t r = req_for(policies[p], 5, T0, &seen);
        int st = -1;
        size_t n = ks_evict(ks, (size_t)1 << 30, &r, &st);
        assert_int_equal(st, KS_EVICT_FAIL);
        assert_int_equal(n, 20);
        for (int i = 0; i < seen.calls; i++)
            assert_memory_equal(seen.keys[i], "vol", 3);
        assert_int_equal(db_size(db), 100);
        assert_int_equal(db_expires(db), 0);
        n = ks_evict(ks, 100, &r, &st);
        assert_int_equal(n, 0);
        assert_int_equal(st, KS_EVICT_FAIL);
        free_ks(ks);
    }
}

/* volatile-ttl takes the key that expires soonest first. */
static void test_volatile_ttl_order(void **state)
{
    (void)state;
    ks_t *ks = new_ks(16, 0);
    db_t *db = ks_db(ks, 0);
    fill(db, "t", 5, 50000, T0); /* t0 expires first */
    seen_t seen = {.ks = ks};
    ks_evict_req_t r = req_for(KS_EVICT_VOLATILE_TTL, 64, T0, &seen);
    int st = -1;
    assert_int_equal(ks_evict(ks, 1, &r, &st), 1);
    assert_string_equal(seen.keys[0], "t0");
    assert_int_equal(ks_evict(ks, 1, &r, &st), 1);
    assert_string_equal(seen.keys[1], "t1");
    free_ks(ks);
}

/* allkeys-lru: keys idle for long go before recently used ones. */
static void test_allkeys_lru_prefers_idle(void **state)
{
    (void)state;
    ks_t *ks = new_ks(16, 0);
    db_t *db = ks_db(ks, 0);
    fill(db, "old", 100, 0, T0);
    fill(db, "new", 100, 0, T0);
    char k[32];
    for (int i = 0; i < 100; i++) { /* touch the "new" ones 100 s later */
        int kl = snprintf(k, sizeof k, "new%d", i);
        assert_non_null(db_lookup(db, slice_make(k, (size_t)kl), T0 + 100000));
    }
    seen_t seen = {.ks = ks};
    ks_evict_req_t r = req_for(KS_EVICT_ALLKEYS_LRU, 5, T0 + 200000, &seen);
    int old = 0;
    for (int i = 0; i < 40; i++) {
        int st;
        assert_int_equal(ks_evict(ks, 1, &r, &st), 1);
        old += memcmp(seen.keys[i], "old", 3) == 0;
    }
    assert_true(old >= 38);
    free_ks(ks);
}

/* allkeys-lfu: rarely used keys go before frequently used ones. */
static void test_allkeys_lfu_prefers_rare(void **state)
{
    (void)state;
    ks_t *ks = new_ks(16, 0);
    ks_set_policy(ks, KS_POLICY_LFU, 1, 10, 1);
    db_t *db = ks_db(ks, 0);
    fill(db, "rare", 100, 0, T0);
    fill(db, "hot", 100, 0, T0);
    char k[32];
    for (int i = 0; i < 100; i++) {
        int kl = snprintf(k, sizeof k, "hot%d", i);
        for (int j = 0; j < 200; j++)
            db_lookup(db, slice_make(k, (size_t)kl), T0);
        kv_t *kv = db_find(db, slice_make(k, (size_t)kl));
        assert_true(ks_lfu_freq(ks, kv, T0) > 5);
    }
    seen_t seen = {.ks = ks};
    ks_evict_req_t r = req_for(KS_EVICT_ALLKEYS_LFU, 5, T0, &seen);
    int rare = 0;
    for (int i = 0; i < 40; i++) {
        int st;
        assert_int_equal(ks_evict(ks, 1, &r, &st), 1);
        rare += memcmp(seen.keys[i], "rare", 4) == 0;
    }
    assert_true(rare >= 38);
    free_ks(ks);
}

static uint64_t fake_us;

static uint64_t fake_now_us(void)
{
    fake_us += 1000;
    return fake_us;
}

/* The time budget stops a run after a multiple of 16 keys: RUNNING. */
static void test_time_budget(void **state)
{
    (void)state;
    ks_t *ks = new_ks(16, 0);
    fill(ks_db(ks, 0), "k", 300, 0, T0);
    seen_t seen = {.ks = ks};
    ks_evict_req_t r = req_for(KS_EVICT_ALLKEYS_RANDOM, 5, T0, &seen);
    r.now_us = fake_now_us;
    r.budget_us = 0;
    int st = -1;
    size_t n = ks_evict(ks, (size_t)1 << 30, &r, &st);
    assert_int_equal(st, KS_EVICT_RUNNING);
    assert_int_equal(n, 16);
    assert_int_equal(db_size(ks_db(ks, 0)), 300 - 16);
    free_ks(ks);
}

static void test_time_limit_from_tenacity(void **state)
{
    (void)state;
    assert_int_equal(ks_evict_time_limit_us(0), 0);
    assert_int_equal(ks_evict_time_limit_us(10), 500);
    assert_int_equal(ks_evict_time_limit_us(11), 575);
    assert_true(ks_evict_time_limit_us(99) > 100000000ULL);
    assert_true(ks_evict_time_limit_us(100) == UINT64_MAX);
}

/* Pool entries with names longer than the inline room, sorted scores, and
 * candidates whose key vanished meanwhile. */
static void test_pool_long_keys_and_ghosts(void **state)
{
    (void)state;
    ks_t *ks = new_ks(16, 0);
    db_t *db = ks_db(ks, 0);
    char k[400];
    memset(k, 'L', sizeof k);
    for (int i = 0; i < 50; i++) {
        int kl = snprintf(k + 300, 100, "%d", i) + 300;
        db_set_string(db, slice_make(k, (size_t)kl), SLICE_LIT("v"), -1, 0,
                      T0 - 1000 * (uint64_t)i);
    }
    seen_t seen = {.ks = ks};
    ks_evict_req_t r = req_for(KS_EVICT_ALLKEYS_LRU, 10, T0 + 1000, &seen);
    int st;
    assert_int_equal(ks_evict(ks, 1, &r, &st), 1);
    uint64_t idle[KS_EVICT_POOL_SIZE];
    size_t n = ks_evict_pool_scores(idle, KS_EVICT_POOL_SIZE);
    assert_true(n > 0);
    for (size_t i = 1; i < n; i++)
        assert_true(idle[i - 1] <= idle[i]);
    /* Delete every key: the pool's candidates become ghosts. */
    db_flush(db);
    fill(db, "fresh", 3, 0, T0);
    assert_int_equal(ks_evict(ks, 1, &r, &st), 1);
    assert_memory_equal(seen.keys[1], "fresh", 5);
    assert_int_equal(seen.missing, 0);
    free_ks(ks);
}

/* Cluster mode: one table per slot, sampling walks the slots. */
static void test_cluster_tables(void **state)
{
    (void)state;
    ks_t *ks = new_ks(1, 1);
    db_t *db = ks_db(ks, 0);
    fill(db, "c", 300, 0, T0);
    static const int policies[] = {KS_EVICT_ALLKEYS_LRU, KS_EVICT_ALLKEYS_RANDOM};
    for (size_t p = 0; p < 2; p++) {
        seen_t seen = {.ks = ks};
        ks_evict_req_t r = req_for(policies[p], 5, T0, &seen);
        int st;
        size_t before = db_size(db);
        assert_int_equal(ks_evict(ks, 1, &r, &st), 1);
        assert_int_equal(st, KS_EVICT_OK);
        assert_int_equal(db_size(db), before - 1);
        assert_int_equal(seen.missing, 0);
    }
    free_ks(ks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noeviction_and_nothing_needed),
        cmocka_unit_test(test_each_policy_frees_enough),
        cmocka_unit_test(test_volatile_only_ttl_keys),
        cmocka_unit_test(test_volatile_ttl_order),
        cmocka_unit_test(test_allkeys_lru_prefers_idle),
        cmocka_unit_test(test_allkeys_lfu_prefers_rare),
        cmocka_unit_test(test_time_budget),
        cmocka_unit_test(test_time_limit_from_tenacity),
        cmocka_unit_test(test_pool_long_keys_and_ghosts),
        cmocka_unit_test(test_cluster_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
