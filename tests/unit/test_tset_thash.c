/*
 * test_tset_thash.c — unit tests for the set (src/ks/tset.c) and hash
 * (src/ks/thash.c) facades: encodings and conversions at the Redis 7.0
 * thresholds, golden bytes from Redis 7.0.15, random operations against naive
 * models on both encodings, iteration, SCAN, random picks (uniqueness and
 * rough uniformity) and validation of untrusted hash listpacks.
 *
 * Golden bytes: Debian's redis-server 7.0.15 on a free loopback port,
 * `SADD s 1 2 3` and `HSET h a 1 b hello`, then DUMP (RDB type 11 intset /
 * type 16 hash listpack; the strings below are the blob after the RDB length).
 * The edit sequence golden comes from `HSET h2 a 1 b 2 c x`, `HSET h2 a
 * "hello world"`, `HDEL h2 b`, `HSET h2 d -5`, DUMP h2.
 */
/* clang-format off */
/* SOURCES: src/lib/mem.c src/lib/util.c src/lib/dict.c src/ks/listpack.c src/ks/intset.c src/ks/tset.c src/ks/thash.c */
/* clang-format on */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ks/intset.h"
#include "ks/thash.h"
#include "ks/tset.h"
#include "lib/mem.h"
#include "lib/util.h"

static size_t unhex(const char *h, unsigned char *out)
{
    size_t n = 0;
    for (; h[0] && h[1]; h += 2) {
        unsigned v;
        sscanf(h, "%2x", &v);
        out[n++] = (unsigned char)v;
    }
    return n;
}

static size_t val_str(const listpack_val_t *v, char *buf, const char **s)
{
    size_t n;
    *s = listpack_val_str(v, buf, &n);
    return n;
}

/* ---- sets ------------------------------------------------------------------ */

static void test_set_encodings(void **state)
{
    (void)state;
    tset_t s;
    unsigned char g[64];
    size_t n = unhex("0200000003000000010002000300", g);
    tset_init(&s, "1", 1);
    assert_int_equal(s.enc, ENC_INTSET);
    assert_int_equal(tset_add(&s, "1", 1), 1);
    assert_int_equal(tset_add(&s, "2", 1), 1);
    assert_int_equal(tset_add_int(&s, 3), 1);
    assert_int_equal(tset_add(&s, "3", 1), 0);
    assert_int_equal(intset_bytes(s.ptr), n);
    assert_memory_equal(intset_raw(s.ptr), g, n);
    assert_true(tset_contains(&s, "2", 1));
    assert_false(tset_contains(&s, "02", 2));
    assert_false(tset_contains(&s, "x", 1));
    assert_false(tset_remove(&s, "x", 1));
    /* A non-canonical integer converts. */
    assert_int_equal(tset_add(&s, "01", 2), 1);
    assert_int_equal(s.enc, ENC_HT);
    assert_true(tset_contains(&s, "1", 1));
    assert_true(tset_contains(&s, "01", 2));
    assert_int_equal(tset_len(&s), 4);
    assert_true(tset_remove(&s, "1", 1));
    assert_false(tset_remove(&s, "1", 1));
    assert_int_equal(tset_len(&s), 3);
    tset_deinit(&s);

    tset_init(&s, "abc", 3);
    assert_int_equal(s.enc, ENC_HT);
    tset_deinit(&s);
    tset_init(&s, "-0", 2);
    assert_int_equal(s.enc, ENC_HT);
    tset_deinit(&s);

    /* 512 integers stay an intset, the 513th converts. */
    tset_init(&s, "0", 1);
    for (int i = 0; i < 512; i++)
        assert_int_equal(tset_add_int(&s, i * 7), 1);
    assert_int_equal(s.enc, ENC_INTSET);
    assert_int_equal(tset_add_int(&s, 0), 0);
    assert_int_equal(s.enc, ENC_INTSET);
    assert_int_equal(tset_add(&s, "-5", 2), 1);
    assert_int_equal(s.enc, ENC_HT);
    assert_int_equal(tset_len(&s), 513);
    assert_true(tset_contains(&s, "3577", 4));
    assert_true(tset_contains(&s, "-5", 2));
    tset_deinit(&s);

    size_t old = tset_get_limit();
    tset_set_limits(0);
    tset_init(&s, "5", 1);
    assert_int_equal(s.enc, ENC_INTSET);
    tset_add(&s, "5", 1);
    assert_int_equal(s.enc, ENC_HT);
    tset_deinit(&s);
    tset_set_limits((size_t)1 << 40);
    assert_int_equal(tset_get_limit(), (size_t)1 << 30);
    tset_set_limits(old);
}

typedef struct smodel_s {
    char m[400][16];
    size_t n;
} smodel_t;

static long smodel_find(const smodel_t *md, const char *m, size_t len)
{
    for (size_t i = 0; i < md->n; i++)
        if (strlen(md->m[i]) == len && memcmp(md->m[i], m, len) == 0)
            return (long)i;
    return -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void collect_set(void *arg, const listpack_val_t *v)
{
    smodel_t *md = arg;
    char buf[LISTPACK_INTBUF];
    const char *s;
    size_t n = val_str(v, buf, &s);
    assert_true(n < 16 && md->n < 400);
    memcpy(md->m[md->n], s, n);
    md->m[md->n][n] = 0;
    md->n++;
}

/* Sorted copy of everything the set reports through fn-style collection. */
static void check_set(const tset_t *s, smodel_t *md, smodel_t *tmp)
{
    assert_int_equal(tset_len(s), md->n);
    tmp->n = 0;
    tset_iter_t it;
    listpack_val_t v;
    tset_iter_init(&it, s);
    while (tset_iter_next(&it, &v))
        collect_set(tmp, &v);
    tset_iter_deinit(&it);
    qsort(tmp->m, tmp->n, 16, cmp_str);
    qsort(md->m, md->n, 16, cmp_str);
    assert_int_equal(tmp->n, md->n);
    for (size_t i = 0; i < md->n; i++)
        assert_string_equal(tmp->m[i], md->m[i]);
    /* SCAN covers every member. */
    tmp->n = 0;
    uint64_t cur = 0;
    int rounds = 0;
    do {
        cur = tset_scan(s, cur, collect_set, tmp);
        assert_true(++rounds < 100000);
    } while (cur);
    assert_true(tmp->n >= md->n);
}

static void test_set_random_ops(void **state)
{
    (void)state;
    rng_seed(31);
    smodel_t *md = mem_calloc(sizeof(*md)), *tmp = mem_calloc(sizeof(*tmp));
    for (int round = 0; round < 2; round++) {
        tset_t s;
        md->n = 0;
        tset_init(&s, "1", 1);
        for (int op = 0; op < 4000; op++) {
            char m[16];
            size_t len;
            if (round == 0 || rng_next() % 10)
                len = (size_t)snprintf(m, sizeof(m), "%d", (int)(rng_next() % 600) - 300);
            else
                len = (size_t)snprintf(m, sizeof(m), "s%d", (int)(rng_next() % 100));
            long at = smodel_find(md, m, len);
            unsigned r = (unsigned)(rng_next() % 3);
            if (r == 0 && md->n < 380) {
                assert_int_equal(tset_add(&s, m, len), at < 0);
                if (at < 0)
                    memcpy(md->m[md->n++], m, len + 1);
            } else if (r == 1) {
                assert_int_equal(tset_remove(&s, m, len), at >= 0);
                if (at >= 0)
                    memcpy(md->m[at], md->m[--md->n], 16);
            } else {
                assert_int_equal(tset_contains(&s, m, len), at >= 0);
            }
            if (op % 500 == 0)
                check_set(&s, md, tmp);
        }
        check_set(&s, md, tmp);
        assert_int_equal(s.enc, round == 0 ? ENC_INTSET : ENC_HT);
        tset_t d;
        tset_dup(&d, &s);
        check_set(&d, md, tmp);
        assert_true(tset_mem(&d) > 0);
        void *copy = tset_kv_ops.dup(d.ptr, d.enc);
        assert_true(tset_kv_ops.mem(copy, d.enc) > 0);
        tset_kv_ops.free(copy, d.enc);
        tset_deinit(&d);
        tset_deinit(&s);
    }
    mem_free(md);
    mem_free(tmp);
}

static void test_set_random_picks(void **state)
{
    (void)state;
    rng_seed(5);
    smodel_t *md = mem_calloc(sizeof(*md));
    for (int enc = 0; enc < 2; enc++) {
        tset_t s;
        tset_init(&s, "0", 1);
        for (int i = 0; i < 50; i++)
            tset_add_int(&s, i);
        if (enc)
            tset_convert(&s, ENC_HT);
        assert_int_equal(s.enc, enc ? ENC_HT : ENC_INTSET);
        int hits[50] = {0};
        for (int i = 0; i < 50000; i++) {
            listpack_val_t v;
            char buf[LISTPACK_INTBUF];
            const char *p;
            tset_random(&s, rng_next, &v);
            size_t n = val_str(&v, buf, &p);
            long long x;
            assert_true(str_to_ll(p, n, &x) && x >= 0 && x < 50);
            hits[x]++;
        }
        /* Expect 1000 each; a uniform pick stays well within +-20%. */
        for (int i = 0; i < 50; i++)
            assert_true(hits[i] > 800 && hits[i] < 1200);
        static const size_t counts[] = {1, 10, 16, 17, 30, 49, 50, 80};
        for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
            md->n = 0;
            size_t want = counts[c] < 50 ? counts[c] : 50;
            assert_int_equal(tset_random_many(&s, counts[c], 1, rng_next, collect_set, md), want);
            assert_int_equal(md->n, want);
            qsort(md->m, md->n, 16, cmp_str);
            for (size_t i = 1; i < md->n; i++)
                assert_true(strcmp(md->m[i - 1], md->m[i]) != 0);
        }
        md->n = 0;
        assert_int_equal(tset_random_many(&s, 200, 0, rng_next, collect_set, md), 200);
        tset_deinit(&s);
    }
    mem_free(md);
}

/* ---- hashes ------------------------------------------------------------------ */

static void test_hash_encodings(void **state)
{
    (void)state;
    unsigned char g[64];
    size_t n = unhex("16000000040081610201018162028568656c6c6f06ff", g);
    thash_t h;
    thash_init(&h);
    assert_int_equal(h.enc, ENC_LISTPACK);
    assert_int_equal(thash_set(&h, "a", 1, "1", 1, 0), 1);
    assert_int_equal(thash_set(&h, "b", 1, "hello", 5, 0), 1);
    assert_int_equal(listpack_bytes(h.ptr), n);
    assert_memory_equal(h.ptr, g, n);
    assert_true(thash_listpack_validate(g, n));
    listpack_val_t v;
    assert_true(thash_get(&h, "a", 1, &v));
    assert_null(v.s);
    assert_int_equal(v.v, 1);
    assert_int_equal(thash_set(&h, "a", 1, "22", 2, 0), 0);
    assert_true(thash_get(&h, "a", 1, &v));
    assert_int_equal(v.v, 22);
    assert_false(thash_exists(&h, "c", 1));
    thash_deinit(&h);

    char big[200];
    memset(big, 'v', sizeof(big));
    /* Replacing keeps the field's position; deleting closes the gap. */
    n = unhex("2300000006008161028b68656c6c6f20776f726c640c816302817802816402dffb02ff", g);
    thash_init(&h);
    thash_set(&h, "a", 1, "1", 1, 0);
    thash_set(&h, "b", 1, "2", 1, 0);
    thash_set(&h, "c", 1, "x", 1, 0);
    thash_set(&h, "a", 1, "hello world", 11, 0);
    assert_true(thash_del(&h, "b", 1));
    thash_set(&h, "d", 1, "-5", 2, 0);
    assert_int_equal(listpack_bytes(h.ptr), n);
    assert_memory_equal(h.ptr, g, n);
    thash_deinit(&h);

    /* value length 64 stays, 65 converts */
    thash_init(&h);
    thash_set(&h, "f", 1, big, 64, 0);
    assert_int_equal(h.enc, ENC_LISTPACK);
    thash_set(&h, "f", 1, big, 65, 0);
    assert_int_equal(h.enc, ENC_HT);
    assert_true(thash_get(&h, "f", 1, &v));
    assert_int_equal(v.len, 65);
    thash_deinit(&h);
    /* long field converts even with NO_LEN_CHECK; long value does not */
    thash_init(&h);
    thash_set(&h, "f", 1, big, 150, THASH_SET_NO_LEN_CHECK);
    assert_int_equal(h.enc, ENC_LISTPACK);
    thash_set(&h, big, 65, "x", 1, THASH_SET_NO_LEN_CHECK);
    assert_int_equal(h.enc, ENC_HT);
    thash_deinit(&h);
    /* 128 fields stay, 129 convert */
    thash_init(&h);
    for (int i = 0; i < 128; i++) {
        char f[16];
        int fl = snprintf(f, sizeof(f), "field%d", i);
        assert_int_equal(thash_set(&h, f, (size_t)fl, f, (size_t)fl, 0), 1);
    }
    assert_int_equal(h.enc, ENC_LISTPACK);
    assert_int_equal(thash_set(&h, "field5", 6, "new", 3, 0), 0);
    assert_int_equal(h.enc, ENC_LISTPACK);
    assert_int_equal(thash_set(&h, "x", 1, "y", 1, 0), 1);
    assert_int_equal(h.enc, ENC_HT);
    assert_int_equal(thash_len(&h), 129);
    assert_true(thash_get(&h, "field5", 6, &v));
    assert_memory_equal(v.s, "new", 3);
    assert_true(thash_get(&h, "field127", 8, &v));
    assert_memory_equal(v.s, "field127", 8);
    /* in-place and reallocating value updates */
    thash_set(&h, "x", 1, big, 100, 0);
    thash_set(&h, "x", 1, "z", 1, 0);
    thash_set(&h, "x", 1, big, 30, 0);
    assert_true(thash_get(&h, "x", 1, &v));
    assert_int_equal(v.len, 30);
    assert_memory_equal(v.s, big, 30);
    assert_true(thash_del(&h, "x", 1));
    assert_false(thash_del(&h, "x", 1));
    thash_deinit(&h);
    /* try_convert on the sum */
    thash_init(&h);
    thash_try_convert(&h, 10, 10);
    assert_int_equal(h.enc, ENC_LISTPACK);
    thash_try_convert(&h, 65, 65);
    assert_int_equal(h.enc, ENC_HT);
    thash_deinit(&h);
}

typedef struct hmodel_s {
    char f[300][16];
    char v[300][80];
    size_t n;
} hmodel_t;

static long hmodel_find(const hmodel_t *md, const char *f, size_t len)
{
    for (size_t i = 0; i < md->n; i++)
        if (strlen(md->f[i]) == len && memcmp(md->f[i], f, len) == 0)
            return (long)i;
    return -1;
}

static void collect_hash(void *arg, const listpack_val_t *f, const listpack_val_t *v)
{
    hmodel_t *md = arg;
    char fb[LISTPACK_INTBUF], vb[LISTPACK_INTBUF];
    const char *fs, *vs;
    size_t fl = val_str(f, fb, &fs), vl = val_str(v, vb, &vs);
    assert_true(fl < 16 && vl < 80 && md->n < 300);
    memcpy(md->f[md->n], fs, fl);
    md->f[md->n][fl] = 0;
    memcpy(md->v[md->n], vs, vl);
    md->v[md->n][vl] = 0;
    md->n++;
}

static void check_hash(const thash_t *h, const hmodel_t *md, hmodel_t *tmp)
{
    assert_int_equal(thash_len(h), md->n);
    tmp->n = 0;
    thash_iter_t it;
    listpack_val_t f, v;
    thash_iter_init(&it, h);
    while (thash_iter_next(&it, &f, &v))
        collect_hash(tmp, &f, &v);
    thash_iter_deinit(&it);
    assert_int_equal(tmp->n, md->n);
    for (size_t i = 0; i < tmp->n; i++) {
        long at = hmodel_find(md, tmp->f[i], strlen(tmp->f[i]));
        assert_true(at >= 0);
        assert_string_equal(tmp->v[i], md->v[at]);
    }
    for (size_t i = 0; i < md->n; i++) {
        char buf[LISTPACK_INTBUF];
        const char *s;
        assert_true(thash_get(h, md->f[i], strlen(md->f[i]), &v));
        size_t n = val_str(&v, buf, &s);
        assert_int_equal(n, strlen(md->v[i]));
        assert_memory_equal(s, md->v[i], n);
    }
    tmp->n = 0;
    uint64_t cur = 0;
    int rounds = 0;
    do {
        cur = thash_scan(h, cur, collect_hash, tmp);
        assert_true(++rounds < 100000);
    } while (cur);
    assert_true(tmp->n >= md->n);
}

static void test_hash_random_ops(void **state)
{
    (void)state;
    rng_seed(99);
    hmodel_t *md = mem_calloc(sizeof(*md)), *tmp = mem_calloc(sizeof(*tmp));
    for (int round = 0; round < 2; round++) {
        thash_t h;
        md->n = 0;
        thash_init(&h);
        size_t nfields = round == 0 ? 60 : 140;
        for (int op = 0; op < 4000; op++) {
            char f[16], v[80];
            size_t fl = (size_t)snprintf(f, sizeof(f), rng_next() % 2 ? "%d" : "f%d",
                                         (int)(rng_next() % nfields));
            size_t vl;
            if (rng_next() % 2)
                vl = ll_to_str(v, (long long)(rng_next() >> 1) - (long long)(rng_next() >> 1));
            else {
                vl = rng_next() % (round == 0 ? 64 : 79);
                memset(v, 'a' + (int)(rng_next() % 26), vl);
            }
            v[vl] = 0;
            long at = hmodel_find(md, f, fl);
            unsigned r = (unsigned)(rng_next() % 4);
            if (r < 2) {
                assert_int_equal(thash_set(&h, f, fl, v, vl, 0), at < 0);
                if (at < 0) {
                    at = (long)md->n++;
                    memcpy(md->f[at], f, fl + 1);
                }
                memcpy(md->v[at], v, vl + 1);
            } else if (r == 2) {
                assert_int_equal(thash_del(&h, f, fl), at >= 0);
                if (at >= 0) {
                    md->n--;
                    memcpy(md->f[at], md->f[md->n], 16);
                    memcpy(md->v[at], md->v[md->n], 80);
                }
            } else {
                assert_int_equal(thash_exists(&h, f, fl), at >= 0);
            }
            if (op % 500 == 0)
                check_hash(&h, md, tmp);
        }
        check_hash(&h, md, tmp);
        assert_int_equal(h.enc, round == 0 ? ENC_LISTPACK : ENC_HT);
        thash_t d;
        thash_dup(&d, &h);
        check_hash(&d, md, tmp);
        if (d.enc == ENC_LISTPACK) {
            thash_convert(&d, ENC_HT);
            check_hash(&d, md, tmp);
        }
        assert_true(thash_mem(&d) > 0);
        void *copy = thash_kv_ops.dup(d.ptr, d.enc);
        assert_true(thash_kv_ops.mem(copy, d.enc) > 0);
        thash_kv_ops.free(copy, d.enc);
        thash_deinit(&d);
        thash_deinit(&h);
    }
    mem_free(md);
    mem_free(tmp);
}

static void test_hash_random_picks(void **state)
{
    (void)state;
    rng_seed(17);
    hmodel_t *md = mem_calloc(sizeof(*md));
    for (int enc = 0; enc < 2; enc++) {
        thash_t h;
        thash_init(&h);
        for (int i = 0; i < 40; i++) {
            char f[16];
            int fl = snprintf(f, sizeof(f), "%d", i);
            thash_set(&h, f, (size_t)fl, "v", 1, 0);
        }
        if (enc)
            thash_convert(&h, ENC_HT);
        int hits[40] = {0};
        for (int i = 0; i < 40000; i++) {
            listpack_val_t f, v;
            char buf[LISTPACK_INTBUF];
            const char *p;
            thash_random(&h, rng_next, &f, &v);
            size_t n = val_str(&f, buf, &p);
            long long x;
            assert_true(str_to_ll(p, n, &x) && x >= 0 && x < 40);
            hits[x]++;
        }
        for (int i = 0; i < 40; i++)
            assert_true(hits[i] > 800 && hits[i] < 1200);
        static const size_t counts[] = {1, 7, 13, 14, 39, 40, 41};
        for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
            md->n = 0;
            size_t want = counts[c] < 40 ? counts[c] : 40;
            assert_int_equal(thash_random_many(&h, counts[c], 1, rng_next, collect_hash, md), want);
            assert_int_equal(md->n, want);
            qsort(md->f, md->n, 16, cmp_str);
            for (size_t i = 1; i < md->n; i++)
                assert_true(strcmp(md->f[i - 1], md->f[i]) != 0);
        }
        md->n = 0;
        assert_int_equal(thash_random_many(&h, 100, 0, rng_next, collect_hash, md), 100);
        thash_deinit(&h);
    }
    mem_free(md);
}

static void test_hash_validate(void **state)
{
    (void)state;
    unsigned char *lp = listpack_new();
    listpack_append(&lp, "a", 1);
    assert_false(thash_listpack_validate(lp, listpack_bytes(lp)));
    listpack_append(&lp, "1", 1);
    listpack_append(&lp, "b", 1);
    listpack_append(&lp, "a", 1); /* a value may repeat a field name */
    assert_true(thash_listpack_validate(lp, listpack_bytes(lp)));
    listpack_append_int(&lp, 7);
    listpack_append(&lp, "x", 1);
    listpack_append(&lp, "7", 1); /* field "7" again, as a string */
    listpack_append(&lp, "y", 1);
    assert_false(thash_listpack_validate(lp, listpack_bytes(lp)));
    assert_false(thash_listpack_validate(lp, listpack_bytes(lp) - 1));
    listpack_free(lp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_encodings),    cmocka_unit_test(test_set_random_ops),
        cmocka_unit_test(test_set_random_picks), cmocka_unit_test(test_hash_encodings),
        cmocka_unit_test(test_hash_random_ops),  cmocka_unit_test(test_hash_random_picks),
        cmocka_unit_test(test_hash_validate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
