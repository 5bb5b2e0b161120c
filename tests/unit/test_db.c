/*
 * test_db.c — the keyspace (src/ks): entries and encodings, TTLs and the
 * volatile index, lazy and active expiry, scan, rename/move/copy/swapdb,
 * flush, cluster per-slot tables, hooks, and memory per key.
 */
/* clang-format off */
/* SOURCES: src/ks/kv.c src/ks/db.c src/ks/ks.c src/lib/dict.c src/lib/util.c src/lib/mem.c src/lib/crc16.c */
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
#include "ks/ks.h"
#include "ks/kv.h"
#include "lib/crc16.h"
#include "lib/mem.h"
#include "lib/util.h"

static slice_t S(const char *s)
{
    return slice_make(s, strlen(s));
}

static void assert_str(const kv_t *kv, const char *want)
{
    char tmp[32];
    assert_non_null(kv);
    slice_t v = kv_str(kv, tmp);
    assert_int_equal(v.len, strlen(want));
    assert_memory_equal(v.p, want, v.len);
}

/* Walk every entry and check the volatile index both ways. */
static void check_vol(db_t *db)
{
    db_iter_t it;
    size_t with_ttl = 0, total = 0;
    db_iter_init(&it, db);
    for (kv_t *kv; (kv = db_iter_next(&it)) != NULL; total++) {
        if (kv->has_expire) {
            with_ttl++;
            assert_true(kv_vol_idx(kv) < db->nvol);
            assert_ptr_equal(db->vol[kv_vol_idx(kv)], kv);
        }
        assert_ptr_equal(db_find(db, kv_key(kv)), kv);
    }
    db_iter_deinit(&it);
    assert_int_equal(with_ttl, db->nvol);
    assert_int_equal(total, db_size(db));
    for (size_t i = 0; i < db->nvol; i++)
        assert_int_equal(kv_vol_idx(db->vol[i]), i);
}

static void test_encodings(void **state)
{
    (void)state;
    ks_t *ks = ks_new(16, 0);
    db_t *db = ks_db(ks, 0);
    struct {
        const char *v;
        const char *enc;
    } cases[] = {
        {"123", "int"},
        {"-5", "int"},
        {"0", "int"},
        {"0123", "embstr"},
        {"-0", "embstr"},
        {" 1", "embstr"},
        {"1.5", "embstr"},
        {"9223372036854775807", "int"},
        {"9223372036854775808", "embstr"},
        {"-9223372036854775808", "int"},
        {"", "embstr"},
        {"12345678901234567890123456789012345678901234", "embstr"},
        {"123456789012345678901234567890123456789012345", "raw"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kv_t *kv = db_set_string(db, S("k"), S(cases[i].v), -1, 0, 1000);
        assert_string_equal(kv_enc_name(kv), cases[i].enc);
        assert_string_equal(kv_type_name(kv), "string");
        kv = db_lookup(db, S("k"), 1000);
        assert_str(kv, cases[i].v);
        assert_int_equal(kv_strlen(kv), strlen(cases[i].v));
        assert_int_equal(kv_expire(kv), -1);
        check_vol(db);
    }
    assert_int_equal(db_size(db), 1);
    kv_val_t raw = kv_val_raw(S("ab"));
    kv_t *kv = db_set(db, S("r"), &raw, -1, 0, 0);
    assert_string_equal(kv_enc_name(kv), "raw");
    assert_str(kv, "ab");
    kv_val_t f = kv_val_string_noint(S("3"));
    kv = db_set(db, S("f"), &f, -1, 0, 0);
    assert_string_equal(kv_enc_name(kv), "embstr");
    long long ll;
    assert_true(kv_str_ll(kv, &ll));
    assert_int_equal(ll, 3);
    kv = db_set_int(db, S("i"), -42, -1, 0, 0);
    assert_str(kv, "-42");
    kv_set_int_inplace(kv, 77);
    assert_str(db_lookup(db, S("i"), 0), "77");
    assert_null(db_lookup(db, S("nope"), 0));
    assert_string_equal(kv_type_name(NULL), "none");
    ks_free(ks);
}

static void test_raw_string_growth(void **state)
{
    (void)state;
    str_t *s = str_new("abc", 3, 3);
    assert_true(s->cap >= 3);
    s = str_reserve(s, 100);
    assert_true(s->cap >= 200);
    assert_memory_equal(s->data, "abc", 3);
    s = str_reserve(s, 3 * 1024 * 1024);
    assert_true(s->cap >= 4 * 1024 * 1024);
    str_free(s);
}

static void test_ttl_realloc(void **state)
{
    (void)state;
    ks_t *ks = ks_new(1, 0);
    db_t *db = ks_db(ks, 0);
    db_set_string(db, S("a"), S("hello"), -1, 0, 0);
    db_set_string(db, S("b"), S("12"), 5000, 0, 0);
    assert_int_equal(db_expires(db), 1);
    kv_t *kv = db_set_expire(db, S("a"), 9000);
    assert_non_null(kv);
    assert_int_equal(kv_expire(kv), 9000);
    assert_str(db_lookup(db, S("a"), 0), "hello");
    assert_int_equal(db_expires(db), 2);
    check_vol(db);
    assert_non_null(db_set_expire(db, S("a"), 8000));
    assert_int_equal(db_get_expire(db, S("a")), 8000);
    assert_int_equal(db_persist(db, S("a")), 1);
    assert_int_equal(db_persist(db, S("a")), 0);
    assert_int_equal(db_get_expire(db, S("a")), -1);
    assert_int_equal(db_get_expire(db, S("zz")), -2);
    assert_null(db_set_expire(db, S("zz"), 1));
    assert_str(db_lookup(db, S("a"), 0), "hello");
    check_vol(db);
    /* SET drops the TTL unless KEEPTTL */
    db_set_string(db, S("b"), S("x"), -1, DB_SET_KEEPTTL, 0);
    assert_int_equal(db_get_expire(db, S("b")), 5000);
    db_set_string(db, S("b"), S("a much longer value that is raw for sure, yes, raw"), -1,
                  DB_SET_KEEPTTL, 0);
    assert_int_equal(db_get_expire(db, S("b")), 5000);
    check_vol(db);
    db_set_string(db, S("b"), S("y"), -1, 0, 0);
    assert_int_equal(db_get_expire(db, S("b")), -1);
    assert_int_equal(db_expires(db), 0);
    /* db_replace keeps the TTL */
    db_set_expire(db, S("a"), 7000);
    kv = db_lookup_write(db, S("a"), 0);
    kv_val_t v = kv_val_raw(S("hello world"));
    kv = db_replace(db, kv, &v, 0);
    assert_string_equal(kv_enc_name(kv), "raw");
    assert_int_equal(kv_expire(kv), 7000);
    check_vol(db);
    ks_free(ks);
}

static int n_expired_hook, n_touch, n_added;
static char last_touch[64];

static void on_expired(void *arg, int dbi, slice_t key)
{
    (void)arg, (void)dbi, (void)key;
    n_expired_hook++;
}

static void on_touch(void *arg, int dbi, slice_t key)
{
    (void)arg, (void)dbi;
    n_touch++;
    if (key.p)
        snprintf(last_touch, sizeof last_touch, "%.*s", (int)key.len, key.p);
    else
        snprintf(last_touch, sizeof last_touch, "<db>");
}

static void on_added(void *arg, int dbi, slice_t key, int type)
{
    (void)arg, (void)dbi, (void)key, (void)type;
    n_added++;
}

static void test_lazy_expiry_and_hooks(void **state)
{
    (void)state;
    ks_t *ks = ks_new(2, 0);
    db_t *db = ks_db(ks, 0);
    n_expired_hook = n_touch = n_added = 0;
    ks_set_expired_hook(ks, on_expired, NULL);
    ks_set_touch_hook(ks, on_touch, NULL);
    ks_set_added_hook(ks, on_added, NULL);
    db_set_string(db, S("k"), S("v"), 1000, 0, 0);
    assert_int_equal(n_added, 1);
    assert_int_equal(n_touch, 1);
    db_set_string(db, S("k"), S("v2"), 1000, 0, 0);
    assert_int_equal(n_added, 1);
    assert_int_equal(n_touch, 2);
    assert_non_null(db_lookup(db, S("k"), 1000)); /* now == expire: still there */
    assert_int_equal(ks_stats(ks)->keyspace_hits, 1);
    assert_null(db_lookup(db, S("k"), 1001));
    assert_int_equal(ks_stats(ks)->keyspace_misses, 1);
    assert_int_equal(ks_stats(ks)->expired_keys, 1);
    assert_int_equal(n_expired_hook, 1);
    assert_string_equal(last_touch, "k");
    assert_int_equal(db_size(db), 0);
    assert_int_equal(db_expires(db), 0);
    /* write lookups do not count stats */
    assert_null(db_lookup_write(db, S("k"), 0));
    assert_int_equal(ks_stats(ks)->keyspace_misses, 1);
    /* read-only replica: hidden, not deleted */
    db_set_string(db, S("r"), S("v"), 10, 0, 0);
    ks_set_expire_mode(ks, KS_EXPIRE_HIDE_RO);
    assert_null(db_lookup(db, S("r"), 20));
    assert_null(db_lookup_write(db, S("r"), 20));
    assert_int_equal(db_size(db), 1);
    ks_set_expire_mode(ks, KS_EXPIRE_NEVER);
    assert_non_null(db_lookup(db, S("r"), 20));
    ks_set_expire_mode(ks, KS_EXPIRE_HIDE_RW);
    assert_null(db_lookup(db, S("r"), 20));
    assert_int_equal(db_size(db), 1);
    assert_null(db_lookup_write(db, S("r"), 20));
    assert_int_equal(db_size(db), 0);
    ks_set_expire_mode(ks, KS_EXPIRE_DELETE);
    /* SET over an expired key with KEEPTTL does not inherit the dead TTL */
    db_set_string(db, S("x"), S("1"), 10, 0, 0);
    db_set_string(db, S("x"), S("2"), -1, DB_SET_KEEPTTL, 20);
    assert_int_equal(db_get_expire(db, S("x")), -1);
    assert_int_equal(ks_stats(ks)->expired_keys, 3);
    /* db_expire_if_needed */
    db_set_string(db, S("y"), S("1"), 10, 0, 0);
    assert_int_equal(db_expire_if_needed(db, S("y"), 5), 0);
    assert_int_equal(db_expire_if_needed(db, S("y"), 11), 1);
    assert_null(db_find(db, S("y")));
    /* the LRU clock follows lookups unless NOTOUCH */
    kv_t *kv = db_set_string(db, S("l"), S("1"), -1, 0, 5000);
    assert_int_equal(kv->lru, 5);
    db_lookup_flags(db, S("l"), 9000, DB_LOOKUP_NOTOUCH);
    assert_int_equal(kv_idle_ms(kv, 9000), 4000);
    db_lookup(db, S("l"), 9000);
    assert_int_equal(kv_idle_ms(kv, 9000), 0);
    check_vol(db);
    ks_free(ks);
}

static uint64_t fake_us;
static uint64_t fake_step = 0;
static uint64_t fake_now_us(void)
{
    fake_us += fake_step;
    return fake_us;
}

static void test_active_expiry(void **state)
{
    (void)state;
    ks_t *ks = ks_new(3, 0);
    char k[32];
    for (int d = 0; d < 3; d++) {
        db_t *db = ks_db(ks, d);
        for (int i = 0; i < 1000; i++) {
            snprintf(k, sizeof k, "key:%d", i);
            db_set_string(db, S(k), S("v"), i % 2 ? 100 : 100000, 0, 0);
        }
        for (int i = 0; i < 200; i++) {
            snprintf(k, sizeof k, "p:%d", i);
            db_set_string(db, S(k), S("v"), -1, 0, 0);
        }
    }
    fake_step = 0;
    size_t total = 0;
    for (int round = 0; round < 1000 && total < 1500; round++)
        total += ks_active_expire(ks, 5000, 1000, fake_now_us);
    assert_int_equal(total, 1500);
    for (int d = 0; d < 3; d++) {
        db_t *db = ks_db(ks, d);
        assert_int_equal(db_expires(db), 500);
        assert_int_equal(db_size(db), 700);
        check_vol(db);
        uint64_t keys, exp, avg;
        ks_db_info(ks, d, &keys, &exp, &avg);
        assert_int_equal(keys, 700);
        assert_int_equal(exp, 500);
        assert_true(avg > 0 && avg <= 95000);
    }
    assert_int_equal(ks_stats(ks)->expired_keys, 1500);
    /* nothing left to expire: a cycle deletes nothing */
    assert_int_equal(ks_active_expire(ks, 5000, 1000, fake_now_us), 0);
    ks_free(ks);
    /* a clock that jumps past the budget stops the cycle after one loop */
    ks = ks_new(1, 0);
    db_t *db = ks_db(ks, 0);
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "t:%d", i);
        db_set_string(db, S(k), S("v"), 10, 0, 0);
    }
    fake_step = 10000;
    for (int call = 0; call < 3; call++)
        assert_int_equal(ks_active_expire(ks, 5000, 1000, fake_now_us), 20);
    assert_int_equal(db_size(db), 5000 - 60);
    assert_int_equal(ks_stats(ks)->expired_time_cap_reached, 3);
    assert_true(ks_expire_fast_wanted(ks, 1000000));
    assert_false(ks_expire_fast_wanted(ks, 1000001));
    check_vol(db);
    /* with time to spare, one cycle clears them all (every loop is 100% stale) */
    fake_step = 0;
    assert_int_equal(ks_active_expire(ks, 5000, 1000, fake_now_us), 5000 - 60);
    assert_false(ks_expire_fast_wanted(ks, 3000000));
    /* replicas never actively expire */
    ks_set_expire_mode(ks, KS_EXPIRE_HIDE_RO);
    assert_int_equal(ks_active_expire(ks, 5000, 100000, fake_now_us), 0);
    assert_int_equal(ks_expire_slow_budget_us(ks, 10), 25000);
    assert_int_equal(ks_expire_fast_budget_us(ks), 1000);
    ks_set_expire_effort(ks, 10);
    assert_int_equal(ks_expire_slow_budget_us(ks, 10), 43000);
    ks_free(ks);
}

/* ---- random operations against a naive model ------------------------------- */

#define MODEL_KEYS 64
typedef struct model_s {
    int present;
    long long val;
    long long expire;
} model_t;

static long long model_get(model_t *m, long long now)
{
    if (m->present && m->expire >= 0 && m->expire < now)
        m->present = 0;
    return m->present;
}

static void check_model(db_t *db, model_t *m, long long now)
{
    size_t live = 0;
    for (int i = 0; i < MODEL_KEYS; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        kv_t *kv = db_lookup(db, S(k), (uint64_t)now);
        if (!model_get(&m[i], now)) {
            assert_null(kv);
            continue;
        }
        live++;
        assert_non_null(kv);
        long long v;
        assert_true(kv_str_ll(kv, &v));
        assert_int_equal(v, m[i].val);
        assert_int_equal(kv_expire(kv), m[i].expire);
    }
    assert_int_equal(db_size(db), live);
    check_vol(db);
}

static void model_op(db_t *db, model_t *m, long long now)
{
    int i = (int)(rng_next() % MODEL_KEYS), j = (int)(rng_next() % MODEL_KEYS);
    char k[16], k2[16];
    snprintf(k, sizeof k, "k%d", i);
    snprintf(k2, sizeof k2, "k%d", j);
    model_get(&m[i], now);
    model_get(&m[j], now);
    long long v = (long long)(rng_next() % 100000) - 500;
    long long ttl = now + (long long)(rng_next() % 50);
    switch (rng_next() % 7) {
    case 0:
    case 1: {
        int with_ttl = rng_next() % 2, keep = rng_next() % 3 == 0;
        char buf[64];
        snprintf(buf, sizeof buf, rng_next() % 2 ? "%lld" : "%lld", v);
        if (rng_next() % 4 == 0) {
            kv_val_t rv = kv_val_raw(S(buf));
            db_set(db, S(k), &rv, with_ttl ? ttl : -1, keep ? DB_SET_KEEPTTL : 0, (uint64_t)now);
        } else {
            db_set_string(db, S(k), S(buf), with_ttl ? ttl : -1, keep ? DB_SET_KEEPTTL : 0,
                          (uint64_t)now);
        }
        long long e = with_ttl ? ttl : -1;
        if (keep && m[i].present && m[i].expire >= 0)
            e = m[i].expire;
        m[i] = (model_t){1, v, e};
        break;
    }
    case 2:
        db_expire_if_needed(db, S(k), (uint64_t)now);
        assert_int_equal(db_delete(db, S(k)), m[i].present);
        m[i].present = 0;
        break;
    case 3:
        if (db_lookup_write(db, S(k), (uint64_t)now)) {
            db_set_expire(db, S(k), ttl);
            m[i].expire = ttl;
        }
        break;
    case 4:
        if (db_lookup_write(db, S(k), (uint64_t)now)) {
            assert_int_equal(db_persist(db, S(k)), m[i].expire >= 0);
            m[i].expire = -1;
        }
        break;
    case 5: {
        int rc = db_rename(db, S(k), S(k2), 0, (uint64_t)now);
        assert_int_equal(rc, m[i].present ? DB_OK : DB_NOKEY);
        if (m[i].present && i != j) {
            m[j] = m[i];
            m[i].present = 0;
        }
        break;
    }
    default:
        ks_active_expire(db->ks, (uint64_t)now, 1000000, fake_now_us);
        break;
    }
}

static void test_random_ops_vs_model(void **state)
{
    (void)state;
    rng_seed(12345);
    fake_step = 0;
    ks_t *ks = ks_new(1, 0);
    db_t *db = ks_db(ks, 0);
    model_t m[MODEL_KEYS];
    memset(m, 0, sizeof m);
    long long now = 1000;
    for (int op = 0; op < 10000; op++) {
        if (rng_next() % 4 == 0)
            now += (long long)(rng_next() % 10);
        model_op(db, m, now);
        if (op % 50 == 0)
            check_model(db, m, now);
        else
            check_vol(db);
    }
    check_model(db, m, now);
    ks_free(ks);
}

/* ---- scan, random, rename, move, copy, swapdb, flush ---------------------------- */

static void mark_seen(void *arg, kv_t *kv)
{
    unsigned char *seen = arg;
    long long i;
    slice_t k = kv_key(kv);
    if (k.len > 2 && memcmp(k.p, "s:", 2) == 0) {
        assert_true(str_to_ll(k.p + 2, k.len - 2, &i));
        seen[i] = 1;
    }
}

static void scan_all(db_t *db, int n)
{
    unsigned char *seen = calloc((size_t)n, 1);
    uint64_t cur = 0;
    int steps = 0;
    do {
        cur = db_scan(db, cur, mark_seen, seen);
        assert_true(++steps < 1000000);
    } while (cur != 0);
    for (int i = 0; i < n; i++)
        assert_true(seen[i]);
    free(seen);
}

static void fill(db_t *db, int n)
{
    char k[32];
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof k, "s:%d", i);
        db_set_string(db, S(k), S(k), i % 3 ? -1 : 1000000, 0, 0);
    }
}

static void test_scan_random(void **state)
{
    (void)state;
    ks_t *ks = ks_new(1, 0);
    db_t *db = ks_db(ks, 0);
    assert_int_equal(db_scan(db, 0, mark_seen, NULL), 0);
    assert_null(db_random(db, 0));
    fill(db, 3000);
    scan_all(db, 3000);
    for (int i = 0; i < 100; i++) {
        kv_t *kv = db_random(db, 0);
        assert_non_null(kv);
        assert_ptr_equal(db_find(db, kv_key(kv)), kv);
    }
    /* all keys expired: RANDOMKEY expires them on the way and returns NULL */
    ks_t *ks2 = ks_new(1, 0);
    db_t *d2 = ks_db(ks2, 0);
    char k[16];
    for (int i = 0; i < 50; i++) {
        snprintf(k, sizeof k, "e%d", i);
        db_set_string(d2, S(k), S("v"), 10, 0, 0);
    }
    db_set_string(d2, S("live"), S("v"), -1, 0, 0);
    kv_t *kv = db_random(d2, 100);
    assert_non_null(kv);
    assert_memory_equal(kv_key(kv).p, "live", 4);
    ks_free(ks2);
    ks_free(ks);
}

static void test_rename_move_copy_swap_flush(void **state)
{
    (void)state;
    ks_t *ks = ks_new(4, 0);
    db_t *a = ks_db(ks, 0), *b = ks_db(ks, 1);
    db_set_string(a, S("src"), S("hello"), 5000, 0, 0);
    db_set_string(a, S("dst"), S("old"), 9000, 0, 0);
    assert_int_equal(db_rename(a, S("nokey"), S("x"), 0, 0), DB_NOKEY);
    assert_int_equal(db_rename(a, S("src"), S("dst"), 1, 0), DB_EXISTS);
    assert_int_equal(db_rename(a, S("src"), S("src"), 0, 0), DB_OK);
    assert_int_equal(db_rename(a, S("src"), S("dst"), 0, 0), DB_OK);
    assert_null(db_find(a, S("src")));
    assert_str(db_find(a, S("dst")), "hello");
    assert_int_equal(db_get_expire(a, S("dst")), 5000);
    assert_int_equal(db_size(a), 1);
    check_vol(a);
    /* move */
    assert_int_equal(db_move(a, b, S("dst"), 0), DB_OK);
    assert_int_equal(db_size(a), 0);
    assert_int_equal(db_expires(a), 0);
    assert_str(db_find(b, S("dst")), "hello");
    assert_int_equal(db_get_expire(b, S("dst")), 5000);
    db_set_string(a, S("dst"), S("x"), -1, 0, 0);
    assert_int_equal(db_move(a, b, S("dst"), 0), DB_EXISTS);
    assert_int_equal(db_move(a, b, S("none"), 0), DB_NOKEY);
    check_vol(a);
    check_vol(b);
    /* copy */
    kv_val_t raw = kv_val_raw(S("rawvalue"));
    db_set(a, S("r"), &raw, 7000, 0, 0);
    assert_int_equal(db_copy(a, S("r"), b, S("r2"), 0, 0), DB_OK);
    assert_str(db_find(b, S("r2")), "rawvalue");
    assert_string_equal(kv_enc_name(db_find(b, S("r2"))), "raw");
    assert_int_equal(db_get_expire(b, S("r2")), 7000);
    assert_ptr_not_equal(kv_raw(db_find(b, S("r2"))), kv_raw(db_find(a, S("r"))));
    assert_int_equal(db_copy(a, S("r"), b, S("r2"), 0, 0), DB_EXISTS);
    assert_int_equal(db_copy(a, S("dst"), b, S("r2"), 1, 0), DB_OK);
    assert_str(db_find(b, S("r2")), "x");
    assert_int_equal(db_get_expire(b, S("r2")), -1);
    assert_int_equal(db_copy(a, S("zz"), b, S("r3"), 1, 0), DB_NOKEY);
    /* a copied integer is a private object (OBJECT REFCOUNT 1), also after RENAME */
    db_set_string(a, S("i"), S("5"), -1, 0, 0);
    assert_false(db_find(a, S("i"))->unshared);
    assert_int_equal(db_copy(a, S("i"), b, S("i2"), 0, 0), DB_OK);
    assert_true(db_find(b, S("i2"))->unshared);
    assert_int_equal(db_rename(b, S("i2"), S("i3"), 0, 0), DB_OK);
    assert_true(db_find(b, S("i3"))->unshared);
    kv_set_int_inplace(db_find(b, S("i3")), 6);
    assert_false(db_find(b, S("i3"))->unshared);
    db_delete(a, S("i"));
    db_delete(b, S("i3"));
    check_vol(b);
    /* swapdb */
    uint64_t na = db_size(a), nb = db_size(b);
    n_touch = 0;
    ks_set_touch_hook(ks, on_touch, NULL);
    assert_int_equal(ks_swapdb(ks, 0, 1), 0);
    assert_int_equal(n_touch, 2);
    assert_ptr_equal(ks_db(ks, 0), a);
    assert_int_equal(a->id, 0);
    assert_int_equal(db_size(a), nb);
    assert_int_equal(db_size(b), na);
    assert_str(db_find(a, S("r2")), "x");
    assert_int_equal(ks_swapdb(ks, 0, 9), -1);
    check_vol(a);
    check_vol(b);
    /* flush */
    fill(ks_db(ks, 2), 500);
    assert_int_equal(ks_total_keys(ks), na + nb + 500);
    assert_int_equal(db_flush(ks_db(ks, 2)), 500);
    assert_int_equal(db_size(ks_db(ks, 2)), 0);
    assert_int_equal(db_expires(ks_db(ks, 2)), 0);
    fill(ks_db(ks, 2), 10);
    assert_int_equal(db_size(ks_db(ks, 2)), 10);
    assert_int_equal(ks_flushall(ks), na + nb + 10);
    assert_int_equal(ks_total_keys(ks), 0);
    ks_free(ks);
}

static void count_kv(void *arg, kv_t *kv)
{
    (void)kv;
    (*(int *)arg)++;
}

static void test_cluster_slots(void **state)
{
    (void)state;
    ks_t *ks = ks_new(1, 1);
    db_t *db = ks_db(ks, 0);
    assert_int_equal(db->ntables, DB_CLUSTER_SLOTS);
    assert_int_equal(db_slot_of(db, S("foo")), 12182);
    char k[32];
    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof k, "{user1}:%d", i);
        db_set_string(db, S(k), S("v"), i % 2 ? 50 : -1, 0, 0);
    }
    int slot = (int)key_hash_slot("user1", 5);
    assert_int_equal(db_slot_count(db, slot), 100);
    fill(db, 2000);
    assert_int_equal(db_size(db), 2100);
    scan_all(db, 2000);
    int n = 0;
    assert_int_equal(db_slot_keys(db, slot, 10, count_kv, &n), 10);
    assert_int_equal(n, 10);
    assert_non_null(db_random(db, 0));
    assert_int_equal(db_rename(db, S("{user1}:0"), S("elsewhere"), 0, 0), DB_OK);
    assert_int_equal(db_slot_count(db, slot), 99);
    assert_non_null(db_lookup(db, S("elsewhere"), 0));
    check_vol(db);
    assert_int_equal(db_delete_slot(db, slot, NULL, NULL), 99);
    assert_int_equal(db_slot_count(db, slot), 0);
    assert_int_equal(db_size(db), 2001);
    check_vol(db);
    /* the scan cursor carries the slot in its high bits */
    uint64_t cur = db_scan(db, 0, count_kv, &n);
    assert_true(cur >> 48 < DB_CLUSTER_SLOTS);
    assert_int_equal(ks_active_expire(ks, 100, 100000, fake_now_us), 0);
    ks_free(ks);
}

static void test_memory_per_key(void **state)
{
    (void)state;
    ks_t *ks = ks_new(16, 0);
    db_t *db = ks_db(ks, 0);
    const int n = 200000;
    size_t before = mem_used();
    char k[32], v[32];
    for (int i = 0; i < n; i++) {
        int kl = snprintf(k, sizeof k, "key:%d", i);
        int vl = snprintf(v, sizeof v, "value:%d", i);
        db_set_string(db, slice_make(k, (size_t)kl), slice_make(v, (size_t)vl), -1, 0, 0);
    }
    size_t per_key = (mem_used() - before) / (size_t)n;
    printf("memory per key (DEBUG POPULATE shape, %d keys): %zu bytes\n", n, per_key);
    assert_true(per_key <= 64);
    ks_free(ks);
}

int main(void)
{
    rng_seed(42);
    dict_set_seed(0x1234);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encodings),     cmocka_unit_test(test_raw_string_growth),
        cmocka_unit_test(test_ttl_realloc),   cmocka_unit_test(test_lazy_expiry_and_hooks),
        cmocka_unit_test(test_active_expiry), cmocka_unit_test(test_random_ops_vs_model),
        cmocka_unit_test(test_scan_random),   cmocka_unit_test(test_rename_move_copy_swap_flush),
        cmocka_unit_test(test_cluster_slots), cmocka_unit_test(test_memory_per_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
