/*
 * test_intset.c — unit tests for src/ks/intset.c: golden bytes from Redis
 * 7.0.15, upgrades across every width, random operations against a sorted
 * model, and validate() on corrupted input.
 *
 * Golden bytes: Debian's redis-server 7.0.15 on a free loopback port, then
 * `SADD s 1 2 3`, `SADD s2 1 70000 -5`, `SADD s3 1 5000000000 -7`,
 * `SADD s4 -32768 32767` and `DUMP key`. The payload is the RDB type byte 11
 * (intset), the RDB string length (one byte here), the intset bytes, the RDB
 * version and a CRC64; the strings below are the intset bytes only.
 */
/* SOURCES: src/lib/mem.c src/lib/util.c src/ks/intset.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ks/intset.h"
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

static void check_golden(const char *hex, const int64_t *vals, size_t n)
{
    unsigned char g[64];
    size_t glen = unhex(hex, g);
    intset_t *is = intset_new();
    for (size_t i = 0; i < n; i++)
        assert_int_equal(intset_add(&is, vals[i]), 1);
    assert_int_equal(intset_bytes(is), glen);
    assert_memory_equal(intset_raw(is), g, glen);
    assert_true(intset_validate(g, glen));
    intset_t *c = intset_from_bytes(g, glen);
    for (size_t i = 0; i < n; i++)
        assert_true(intset_find(c, vals[i]));
    intset_free(c);
    intset_free(is);
}

static void test_golden(void **state)
{
    (void)state;
    const int64_t s[] = {1, 2, 3};
    const int64_t s2[] = {1, 70000, -5};
    const int64_t s3[] = {1, 5000000000LL, -7};
    const int64_t s4[] = {-32768, 32767};
    check_golden("0200000003000000010002000300", s, 3);
    check_golden("0400000003000000fbffffff0100000070110100", s2, 3);
    check_golden("0800000003000000f9ffffffffffffff010000000000000000f2052a01000000", s3, 3);
    check_golden("02000000020000000080ff7f", s4, 2);
}

static void test_upgrades(void **state)
{
    (void)state;
    intset_t *is = intset_new();
    assert_int_equal(intset_encoding(is), 2);
    assert_int_equal(intset_bytes(is), 8);
    intset_add(&is, 32767);
    intset_add(&is, -32768);
    assert_int_equal(intset_encoding(is), 2);
    intset_add(&is, 32768);
    assert_int_equal(intset_encoding(is), 4);
    intset_add(&is, -2147483648LL);
    intset_add(&is, 2147483647LL);
    assert_int_equal(intset_encoding(is), 4);
    intset_add(&is, -2147483649LL);
    assert_int_equal(intset_encoding(is), 8);
    intset_add(&is, INT64_MAX);
    intset_add(&is, INT64_MIN);
    const int64_t want[] = {INT64_MIN, -2147483649LL, -2147483648LL, -32768,
                            32767,     32768,         2147483647LL,  INT64_MAX};
    assert_int_equal(intset_len(is), 8);
    assert_int_equal(intset_bytes(is), 8 + 8 * 8);
    for (uint32_t i = 0; i < 8; i++)
        assert_true(intset_get(is, i) == want[i]);
    assert_true(intset_min(is) == INT64_MIN);
    assert_true(intset_max(is) == INT64_MAX);
    /* Removing the wide values keeps the encoding. */
    assert_int_equal(intset_remove(&is, INT64_MIN), 1);
    assert_int_equal(intset_remove(&is, INT64_MIN), 0);
    assert_int_equal(intset_encoding(is), 8);
    assert_true(intset_validate(intset_raw(is), intset_bytes(is)));
    intset_free(is);

    /* Upgrade with a negative value goes to the front, positive to the back. */
    is = intset_new();
    intset_add(&is, 5);
    intset_add(&is, 6);
    intset_add(&is, -100000);
    assert_true(intset_get(is, 0) == -100000);
    assert_true(intset_get(is, 2) == 6);
    /* Values wider than the encoding are never members. */
    assert_false(intset_find(is, 1LL << 40));
    assert_int_equal(intset_remove(&is, 1LL << 40), 0);
    intset_free(is);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t rand_val(void)
{
    switch (rng_next() % 4) {
    case 0:
        return (int64_t)(rng_next() % 200) - 100;
    case 1:
        return (int64_t)(rng_next() % 100000) - 50000;
    case 2:
        return (int64_t)(rng_next() % 10000000000ULL) - 5000000000LL;
    default:
        return (int64_t)rng_next();
    }
}

static void test_random_vs_model(void **state)
{
    (void)state;
    rng_seed(7);
    for (int round = 0; round < 30; round++) {
        intset_t *is = intset_new();
        int64_t model[600];
        size_t n = 0;
        int widest = round % 3; /* limit the value mix in some rounds */
        for (int op = 0; op < 1000; op++) {
            int64_t v = rand_val();
            if (widest == 0)
                v = (int64_t)(rng_next() % 500);
            if (n > 0 && rng_next() % 3 == 0)
                v = model[rng_next() % n];
            int present = 0;
            for (size_t i = 0; i < n; i++)
                if (model[i] == v)
                    present = 1;
            assert_int_equal(intset_find(is, v), present);
            if (rng_next() % 3 == 0 || n == 600) {
                assert_int_equal(intset_remove(&is, v), present);
                if (present) {
                    size_t i = 0;
                    while (model[i] != v)
                        i++;
                    model[i] = model[--n];
                }
            } else {
                assert_int_equal(intset_add(&is, v), !present);
                if (!present)
                    model[n++] = v;
            }
        }
        qsort(model, n, sizeof(model[0]), cmp64);
        assert_int_equal(intset_len(is), n);
        for (size_t i = 0; i < n; i++)
            assert_true(intset_get(is, (uint32_t)i) == model[i]);
        if (n)
            assert_true(intset_validate(intset_raw(is), intset_bytes(is)));
        intset_free(is);
    }
}

static void test_random_member(void **state)
{
    (void)state;
    rng_seed(3);
    intset_t *is = intset_new();
    for (int i = 0; i < 10; i++)
        intset_add(&is, i * 10);
    int hits[10] = {0};
    for (int i = 0; i < 10000; i++) {
        int64_t v = intset_random(is, rng_next);
        assert_true(v % 10 == 0 && v >= 0 && v < 100);
        hits[v / 10]++;
    }
    for (int i = 0; i < 10; i++)
        assert_true(hits[i] > 800 && hits[i] < 1200);
    intset_free(is);
}

static void test_validate(void **state)
{
    (void)state;
    unsigned char b[64];
    size_t n = unhex("0400000003000000fbffffff0100000070110100", b);
    assert_true(intset_validate(b, n));
    assert_false(intset_validate(b, n - 1));
    assert_false(intset_validate(b, n + 4));
    assert_false(intset_validate(NULL, 0));
    assert_false(intset_validate(b, 7));
    unsigned char c[64];
    memcpy(c, b, n);
    c[0] = 3; /* bad encoding */
    assert_false(intset_validate(c, n));
    memcpy(c, b, n);
    c[4] = 0; /* empty sets are refused */
    assert_false(intset_validate(c, 8));
    memcpy(c, b, n);
    c[4] = 0xFF; /* length beyond the buffer */
    assert_false(intset_validate(c, n));
    memcpy(c, b, n);
    c[4] = 0xFF;
    c[5] = 0xFF;
    c[6] = 0xFF;
    c[7] = 0x3F; /* length * encoding overflows 32 bits */
    assert_false(intset_validate(c, n));
    memcpy(c, b, n);
    memcpy(c + 12, b + 8, 4); /* unsorted */
    memcpy(c + 8, b + 12, 4);
    assert_false(intset_validate(c, n));
    memcpy(c, b, n);
    memcpy(c + 12, b + 8, 4); /* duplicate */
    assert_false(intset_validate(c, n));
    /* Every truncation and random corruption: never reads out of bounds. */
    rng_seed(5);
    for (size_t cut = 0; cut <= n; cut++) {
        unsigned char *h = mem_alloc(cut ? cut : 1);
        memcpy(h, b, cut);
        assert_int_equal(intset_validate(h, cut), cut == n);
        mem_free(h);
    }
    for (int r = 0; r < 5000; r++) {
        unsigned char *h = mem_alloc(n);
        memcpy(h, b, n);
        h[rng_next() % n] = (unsigned char)rng_next();
        if (intset_validate(h, n)) {
            intset_t *is = intset_from_bytes(h, n);
            for (uint32_t i = 0; i < intset_len(is); i++)
                assert_true(intset_find(is, intset_get(is, i)));
            intset_free(is);
        }
        mem_free(h);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),          cmocka_unit_test(test_upgrades),
        cmocka_unit_test(test_random_vs_model), cmocka_unit_test(test_random_member),
        cmocka_unit_test(test_validate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
