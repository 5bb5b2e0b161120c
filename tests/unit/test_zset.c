/*
 * test_zset.c — unit tests for src/ks/zset.c: golden listpack bytes from Redis
 * 7.0.15, ZADD flag rules, conversions at zset-max-listpack-entries/value,
 * random operations on both encodings against a sorted-array model (ranks,
 * ranges by rank/score/lex, range deletions, iteration both ways), parsing of
 * range arguments, random picks, SCAN, and validation of untrusted listpacks.
 *
 * Golden bytes: Debian's redis-server 7.0.15 on a free loopback port, then
 *   ZADD z 1 a 2.5 b -3 c
 *   ZADD z2 1 a 2.5 b -3 c 0.1 d 1e20 e -inf f inf g 4503599627370496 h
 *           4503599627370495 i 1.5e-7 j -0 k 7 100 -4503599627370495 m
 *           123456789.125 n
 * and DUMP of each key. The payload is RDB type 17 (zset listpack), the RDB
 * length of the blob, the listpack, RDB version and CRC64; below are the
 * listpack bytes only.
 */
/* SOURCES: src/lib/mem.c src/lib/util.c src/lib/dict.c src/ks/listpack.c src/ks/zset.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ks/zset.h"
#include "lib/dict.h"
#include "lib/mem.h"
#include "lib/util.h"

static const char golden_z[] = "1a0000000600816302dffd02816102010181620283322e3504ff";
static const char golden_z2[] = "aa0000001c00816602842d696e6605816d02f4010000000000f0ff09816302df"
                                "fd02816b020001816a0296312e34393939393939393939393939393939652d30"
                                "371781640293302e313030303030303030303030303030303114816102010181"
                                "620283322e350464010701816e028d3132333435363738392e3132350e816902"
                                "f4ffffffffffff0f0009816802f40000000000001000098165028531652b3230"
                                "0681670283696e6604ff";

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

static void add_ok(zset_t *z, const char *m, double score)
{
    int out;
    assert_true(zset_add(z, m, strlen(m), score, 0, &out, NULL));
}

static void test_golden(void **state)
{
    (void)state;
    unsigned char g[256];
    size_t n = unhex(golden_z, g);
    zset_t z;
    zset_init(&z, 3, 1);
    assert_int_equal(z.enc, ENC_LISTPACK);
    add_ok(&z, "a", 1);
    add_ok(&z, "b", 2.5);
    add_ok(&z, "c", -3);
    assert_int_equal(listpack_bytes(z.ptr), n);
    assert_memory_equal(z.ptr, g, n);
    assert_true(zset_listpack_validate(g, n));
    zset_deinit(&z);

    n = unhex(golden_z2, g);
    zset_init(&z, 14, 1);
    static const struct {
        const char *m;
        double s;
    } in[] = {{"a", 1},
              {"b", 2.5},
              {"c", -3},
              {"d", 0.1},
              {"e", 1e20},
              {"f", -INFINITY},
              {"g", INFINITY},
              {"h", 4503599627370496.0},
              {"i", 4503599627370495.0},
              {"j", 1.5e-7},
              {"k", -0.0},
              {"100", 7},
              {"m", -4503599627370495.0},
              {"n", 123456789.125}};
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
        add_ok(&z, in[i].m, in[i].s);
    assert_int_equal(listpack_bytes(z.ptr), n);
    assert_memory_equal(z.ptr, g, n);
    assert_true(zset_listpack_validate(g, n));
    /* Reading back gives the same scores. */
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        double s;
        assert_true(zset_score(&z, in[i].m, strlen(in[i].m), &s));
        assert_true(s == in[i].s);
    }
    /* The integer member "100" reads back as text. */
    zset_elem_t e;
    assert_true(zset_elem_at(&z, 8, 0, &e));
    assert_int_equal(e.mlen, 3);
    assert_memory_equal(e.m, "100", 3);
    zset_deinit(&z);
}

static void test_score_str(void **state)
{
    (void)state;
    static const struct {
        double d;
        const char *s;
    } cases[] = {{0.0, "0"},
                 {-0.0, "0"},
                 {1.0, "1"},
                 {-3.0, "-3"},
                 {2.5, "2.5"},
                 {0.1, "0.10000000000000001"},
                 {1e20, "1e+20"},
                 {1.5e-7, "1.4999999999999999e-07"},
                 {4503599627370495.0, "4503599627370495"},
                 {4503599627370496.0, "4503599627370496"},
                 {-4503599627370495.0, "-4503599627370495"},
                 {INFINITY, "inf"},
                 {-INFINITY, "-inf"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[32];
        size_t n = zset_score_str(buf, cases[i].d);
        assert_int_equal(n, strlen(cases[i].s));
        assert_memory_equal(buf, cases[i].s, n);
    }
}

static void flags_on(int enc)
{
    zset_t z;
    int out;
    double ns = 0;
    zset_init(&z, 1, 1);
    if (enc == ENC_SKIPLIST)
        zset_convert(&z, ENC_SKIPLIST);
    assert_false(zset_add(&z, "a", 1, NAN, 0, &out, &ns));
    assert_int_equal(out, ZSET_OUT_NAN);
    assert_true(zset_add(&z, "a", 1, 1, ZSET_IN_XX, &out, &ns));
    assert_int_equal(out, ZSET_OUT_NOP);
    assert_int_equal(zset_len(&z), 0);
    assert_true(zset_add(&z, "a", 1, 1, 0, &out, &ns));
    assert_int_equal(out, ZSET_OUT_ADDED);
    assert_true(ns == 1);
    assert_true(zset_add(&z, "a", 1, 5, ZSET_IN_NX, &out, &ns));
    assert_int_equal(out, ZSET_OUT_NOP);
    assert_true(zset_add(&z, "a", 1, 0, ZSET_IN_GT, &out, &ns));
    assert_int_equal(out, ZSET_OUT_NOP);
    assert_true(zset_add(&z, "a", 1, 3, ZSET_IN_GT, &out, &ns));
    assert_int_equal(out, ZSET_OUT_UPDATED);
    assert_true(zset_add(&z, "a", 1, 4, ZSET_IN_LT, &out, &ns));
    assert_int_equal(out, ZSET_OUT_NOP);
    assert_true(zset_add(&z, "a", 1, 3, 0, &out, &ns));
    assert_int_equal(out, 0); /* same score: neither added nor updated */
    assert_true(zset_add(&z, "a", 1, 2, ZSET_IN_INCR, &out, &ns));
    assert_int_equal(out, ZSET_OUT_UPDATED);
    assert_true(ns == 5);
    assert_true(zset_add(&z, "a", 1, -1, ZSET_IN_INCR | ZSET_IN_GT, &out, &ns));
    assert_int_equal(out, ZSET_OUT_NOP);
    assert_true(zset_add(&z, "b", 1, INFINITY, 0, &out, &ns));
    assert_false(zset_add(&z, "b", 1, -INFINITY, ZSET_IN_INCR, &out, &ns));
    assert_int_equal(out, ZSET_OUT_NAN);
    double s;
    assert_true(zset_score(&z, "a", 1, &s));
    assert_true(s == 5);
    assert_int_equal(zset_rank(&z, "b", 1, 0, NULL), 1);
    assert_int_equal(zset_rank(&z, "b", 1, 1, NULL), 0);
    assert_int_equal(zset_rank(&z, "zz", 2, 0, NULL), -1);
    assert_true(zset_del(&z, "a", 1));
    assert_false(zset_del(&z, "a", 1));
    assert_int_equal(z.enc, enc);
    zset_deinit(&z);
}

static void test_add_flags(void **state)
{
    (void)state;
    flags_on(ENC_LISTPACK);
    flags_on(ENC_SKIPLIST);
}

static void test_conversions(void **state)
{
    (void)state;
    zset_t z;
    char m[200];
    zset_init(&z, 0, 0);
    for (int i = 0; i < 128; i++) {
        snprintf(m, sizeof(m), "m%d", i);
        add_ok(&z, m, i);
    }
    assert_int_equal(z.enc, ENC_LISTPACK);
    add_ok(&z, "m5", 1000); /* update: no growth */
    assert_int_equal(z.enc, ENC_LISTPACK);
    add_ok(&z, "one-more", 5);
    assert_int_equal(z.enc, ENC_SKIPLIST);
    assert_int_equal(zset_len(&z), 129);
    double s;
    assert_true(zset_score(&z, "m5", 2, &s));
    assert_true(s == 1000);
    assert_int_equal(zset_rank(&z, "m5", 2, 1, NULL), 0);
    /* Deleting does not convert back; shrink_if_fits does. */
    assert_int_equal(zset_del_range_rank(&z, 0, 99), 100);
    assert_int_equal(z.enc, ENC_SKIPLIST);
    zset_shrink_if_fits(&z, 10, 300);
    assert_int_equal(z.enc, ENC_LISTPACK);
    assert_int_equal(zset_len(&z), 29);
    zset_shrink_if_fits(&z, 10, 300);
    zset_deinit(&z);

    /* Member length 64 stays, 65 converts. */
    memset(m, 'x', sizeof(m));
    zset_init(&z, 1, 64);
    assert_int_equal(z.enc, ENC_LISTPACK);
    int out;
    assert_true(zset_add(&z, m, 64, 1, 0, &out, NULL));
    assert_int_equal(z.enc, ENC_LISTPACK);
    assert_true(zset_add(&z, m, 65, 1, 0, &out, NULL));
    assert_int_equal(z.enc, ENC_SKIPLIST);
    zset_deinit(&z);
    zset_init(&z, 1, 65);
    assert_int_equal(z.enc, ENC_SKIPLIST);
    zset_deinit(&z);
    zset_init(&z, 129, 1);
    assert_int_equal(z.enc, ENC_SKIPLIST);
    zset_deinit(&z);

    /* Limits are settable (CONFIG SET zset-max-listpack-entries 0). */
    size_t e0, v0;
    zset_get_limits(&e0, &v0);
    zset_set_limits(0, 64);
    zset_init(&z, 1, 1);
    assert_int_equal(z.enc, ENC_SKIPLIST);
    zset_deinit(&z);
    zset_set_limits(e0, v0);
}

/* ---- model ------------------------------------------------------------------ */

typedef struct mel_s {
    double score;
    char m[16];
    size_t mlen;
} mel_t;

typedef struct model_s {
    mel_t e[700];
    size_t n;
} model_t;

static int mcmp(const char *a, size_t al, const char *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (al > bl) - (al < bl);
}

static int mel_cmp(const void *a, const void *b)
{
    const mel_t *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return mcmp(x->m, x->mlen, y->m, y->mlen);
}

static long model_find(const model_t *md, const char *m, size_t mlen)
{
    for (size_t i = 0; i < md->n; i++)
        if (md->e[i].mlen == mlen && memcmp(md->e[i].m, m, mlen) == 0)
            return (long)i;
    return -1;
}

static void model_sort(model_t *md)
{
    qsort(md->e, md->n, sizeof(mel_t), mel_cmp);
}

static int in_range(const zset_range_t *r, double s)
{
    return (r->minex ? s > r->min : s >= r->min) && (r->maxex ? s < r->max : s <= r->max);
}

static int in_lex(const zset_lex_t *l, const char *m, size_t mlen)
{
    int lo = l->minkind == ZSET_LEX_NEG ||
             (l->minkind == ZSET_LEX_VAL && (l->minex ? mcmp(m, mlen, l->min, l->minlen) > 0
                                                      : mcmp(m, mlen, l->min, l->minlen) >= 0));
    int hi = l->maxkind == ZSET_LEX_POS ||
             (l->maxkind == ZSET_LEX_VAL && (l->maxex ? mcmp(m, mlen, l->max, l->maxlen) < 0
                                                      : mcmp(m, mlen, l->max, l->maxlen) <= 0));
    return lo && hi;
}

static void check_all(const zset_t *z, const model_t *md)
{
    assert_int_equal(zset_len(z), md->n);
    zset_iter_t it;
    zset_elem_t e;
    size_t i = 0;
    zset_iter_rank(&it, z, 0, 0);
    while (zset_iter_next(&it, &e)) {
        assert_true(i < md->n);
        assert_int_equal(e.mlen, md->e[i].mlen);
        assert_memory_equal(e.m, md->e[i].m, e.mlen);
        assert_true(e.score == md->e[i].score);
        i++;
    }
    assert_int_equal(i, md->n);
    for (i = 0; i < md->n; i++) {
        double s;
        assert_int_equal(zset_rank(z, md->e[i].m, md->e[i].mlen, 0, &s), (long)i);
        assert_int_equal(zset_rank(z, md->e[i].m, md->e[i].mlen, 1, NULL), (long)(md->n - 1 - i));
        assert_true(s == md->e[i].score);
        assert_true(zset_elem_at(z, md->n - 1 - i, 1, &e));
        assert_memory_equal(e.m, md->e[i].m, e.mlen);
    }
    assert_false(zset_elem_at(z, md->n, 0, &e));
}

static double rand_score(void)
{
    switch (rng_next() % 6) {
    case 0:
        return (double)(rng_next() % 10);
    case 1:
        return (double)(int64_t)(rng_next() % 2000) / 8.0 - 100;
    case 2:
        return rng_next() % 50 == 0 ? INFINITY : -INFINITY;
    default:
        return (double)(rng_next() % 40);
    }
}

static size_t rand_member(char *m)
{
    if (rng_next() % 3 == 0)
        return (size_t)snprintf(m, 16, "%d", (int)(rng_next() % 300));
    return (size_t)snprintf(m, 16, "m%c%d", 'a' + (int)(rng_next() % 5), (int)(rng_next() % 120));
}

static void rand_range(zset_range_t *r)
{
    r->min = rand_score();
    r->max = rng_next() % 4 == 0 ? r->min : r->min + (double)(rng_next() % 30);
    r->minex = (int)(rng_next() % 2);
    r->maxex = (int)(rng_next() % 2);
}

static void check_range_ops(zset_t *z, model_t *md)
{
    zset_range_t r;
    rand_range(&r);
    int rev = (int)(rng_next() % 2);
    size_t want = 0;
    for (size_t i = 0; i < md->n; i++)
        want += in_range(&r, md->e[i].score);
    assert_int_equal(zset_count_range(z, &r), want);
    zset_iter_t it;
    zset_elem_t e;
    size_t got = 0;
    long i = rev ? (long)md->n - 1 : 0;
    zset_iter_score(&it, z, &r, rev);
    while (zset_iter_next(&it, &e)) {
        while (!in_range(&r, md->e[i].score))
            i += rev ? -1 : 1;
        assert_memory_equal(e.m, md->e[i].m, e.mlen);
        i += rev ? -1 : 1;
        got++;
    }
    assert_int_equal(got, want);
}

static void random_op(zset_t *z, model_t *md)
{
    char m[16];
    size_t mlen = rand_member(m);
    unsigned r = (unsigned)(rng_next() % 20);
    long at = model_find(md, m, mlen);
    if (r < 10) {
        static const int fl[] = {0,          0,          0,          ZSET_IN_NX,
                                 ZSET_IN_XX, ZSET_IN_GT, ZSET_IN_LT, ZSET_IN_INCR};
        int f = fl[rng_next() % 8], out;
        double s = rand_score(), ns;
        if (zset_add(z, m, mlen, s, f, &out, &ns) == 0) {
            assert_true(out & ZSET_OUT_NAN);
            return;
        }
        if (at < 0) {
            assert_int_equal(out, f == ZSET_IN_XX ? ZSET_OUT_NOP : ZSET_OUT_ADDED);
            if (f != ZSET_IN_XX) {
                mel_t *x = &md->e[md->n++];
                x->score = s;
                memcpy(x->m, m, mlen);
                x->mlen = mlen;
            }
        } else {
            double cur = md->e[at].score, want = f == ZSET_IN_INCR ? cur + s : s;
            int nop = f == ZSET_IN_NX || (f == ZSET_IN_GT && want <= cur) ||
                      (f == ZSET_IN_LT && want >= cur);
            if (nop)
                assert_int_equal(out, ZSET_OUT_NOP);
            else
                md->e[at].score = want;
        }
    } else if (r < 13) {
        assert_int_equal(zset_del(z, m, mlen), at >= 0);
        if (at >= 0)
            md->e[at] = md->e[--md->n];
    } else if (r < 15) {
        check_range_ops(z, md);
        return;
    } else if (r < 16 && md->n > 0) {
        size_t a = rng_next() % md->n, b = a + rng_next() % 5;
        size_t want = (b >= md->n ? md->n - 1 : b) - a + 1;
        assert_int_equal(zset_del_range_rank(z, a, b), want);
        memmove(md->e + a, md->e + a + want, (md->n - a - want) * sizeof(mel_t));
        md->n -= want;
    } else if (r < 17) {
        zset_range_t rg;
        rand_range(&rg);
        rg.max = rg.min + (double)(rng_next() % 3);
        size_t k = 0, del = 0;
        for (size_t i = 0; i < md->n; i++) {
            if (in_range(&rg, md->e[i].score))
                del++;
            else
                md->e[k++] = md->e[i];
        }
        assert_int_equal(zset_del_range_score(z, &rg), del);
        md->n = k;
    } else {
        double s;
        assert_int_equal(zset_score(z, m, mlen, &s), at >= 0);
        if (at >= 0)
            assert_true(s == md->e[at].score);
    }
    model_sort(md);
}

static void test_random_vs_model(void **state)
{
    (void)state;
    rng_seed(42);
    for (int enc = 0; enc < 2; enc++) {
        zset_t z;
        model_t *md = mem_calloc(sizeof(*md));
        zset_init(&z, 0, 0);
        if (enc)
            zset_convert(&z, ENC_SKIPLIST);
        for (int op = 0; op < 6000; op++) {
            random_op(&z, md);
            if (op % 200 == 0)
                check_all(&z, md);
            if (enc == 0 && z.enc == ENC_SKIPLIST)
                zset_convert(&z, ENC_LISTPACK); /* keep exercising the listpack */
        }
        check_all(&z, md);
        zset_t d;
        zset_dup(&d, &z);
        check_all(&d, md);
        assert_true(zset_mem(&d) > 0);
        zset_convert(&d, d.enc == ENC_LISTPACK ? ENC_SKIPLIST : ENC_LISTPACK);
        check_all(&d, md);
        zset_deinit(&d);
        zset_deinit(&z);
        mem_free(md);
    }
}

/* Lex ranges: all scores equal (the only case ZRANGEBYLEX defines). */
static void test_lex(void **state)
{
    (void)state;
    rng_seed(11);
    static const char *bounds[] = {"-",    "+",  "[a", "(a", "[b",   "(b", "[ma",
                                   "(mb5", "[c", "[",  "(",  "[mc1", "(z"};
    size_t nb = sizeof(bounds) / sizeof(bounds[0]);
    for (int enc = 0; enc < 2; enc++) {
        zset_t z;
        model_t *md = mem_calloc(sizeof(*md));
        zset_init(&z, 0, 0);
        for (int i = 0; i < 100; i++) {
            char m[16];
            size_t ml = rand_member(m);
            if (model_find(md, m, ml) >= 0)
                continue;
            int out;
            zset_add(&z, m, ml, 0, 0, &out, NULL);
            mel_t *x = &md->e[md->n++];
            x->score = 0;
            memcpy(x->m, m, ml);
            x->mlen = ml;
        }
        if (enc)
            zset_convert(&z, ENC_SKIPLIST);
        model_sort(md);
        for (size_t a = 0; a < nb; a++) {
            for (size_t b = 0; b < nb; b++) {
                zset_lex_t l;
                assert_true(
                    zset_parse_lex(bounds[a], strlen(bounds[a]), bounds[b], strlen(bounds[b]), &l));
                size_t want = 0;
                for (size_t i = 0; i < md->n; i++)
                    want += in_lex(&l, md->e[i].m, md->e[i].mlen);
                assert_int_equal(zset_count_lex(&z, &l), want);
                for (int rev = 0; rev < 2; rev++) {
                    zset_iter_t it;
                    zset_elem_t e;
                    size_t got = 0;
                    zset_iter_lex(&it, &z, &l, rev);
                    while (zset_iter_next(&it, &e)) {
                        assert_true(in_lex(&l, e.m, e.mlen));
                        got++;
                    }
                    assert_int_equal(got, want);
                }
                if ((a * nb + b) % 17 == 0) {
                    zset_t d;
                    zset_dup(&d, &z);
                    assert_int_equal(zset_del_range_lex(&d, &l), want);
                    assert_int_equal(zset_len(&d), md->n - want);
                    assert_int_equal(zset_count_lex(&d, &l), 0);
                    zset_deinit(&d);
                }
            }
        }
        zset_deinit(&z);
        mem_free(md);
    }
}

static void test_parse(void **state)
{
    (void)state;
    zset_range_t r;
#define PR(a, b) zset_parse_range(a, strlen(a), b, strlen(b), &r)
    assert_true(PR("1", "2"));
    assert_true(r.min == 1 && r.max == 2 && !r.minex && !r.maxex);
    assert_true(PR("(1.5", "(inf"));
    assert_true(r.min == 1.5 && r.minex && r.maxex && isinf(r.max));
    assert_true(PR("-inf", "+inf"));
    assert_true(PR("", "("));
    assert_true(r.min == 0 && r.max == 0 && r.maxex);
    assert_true(PR(" 1", "0x10"));
    assert_true(r.min == 1 && r.max == 16);
    assert_false(PR("(2 ", "3"));
    assert_false(PR("nan", "3"));
    assert_false(PR("1", "abc"));
    assert_false(PR("((1", "3"));
#undef PR
    zset_lex_t l;
#define PL(a, b) zset_parse_lex(a, strlen(a), b, strlen(b), &l)
    assert_true(PL("-", "+"));
    assert_true(l.minkind == ZSET_LEX_NEG && l.maxkind == ZSET_LEX_POS);
    assert_true(PL("[a", "(b"));
    assert_true(l.minkind == ZSET_LEX_VAL && !l.minex && l.minlen == 1 && l.maxex);
    assert_true(PL("[", "+"));
    assert_int_equal(l.minlen, 0);
    assert_false(PL("a", "+"));
    assert_false(PL("", "+"));
    assert_false(PL("-", "+x"));
    assert_false(PL("--", "+"));
#undef PL
}

static void collect(void *arg, const zset_elem_t *e)
{
    model_t *md = arg;
    mel_t *x = &md->e[md->n++];
    assert_true(e->mlen < sizeof(x->m));
    memcpy(x->m, e->m, e->mlen);
    x->mlen = e->mlen;
    x->score = e->score;
}

static void test_random_and_scan(void **state)
{
    (void)state;
    rng_seed(77);
    for (int enc = 0; enc < 2; enc++) {
        zset_t z;
        zset_init(&z, 0, 0);
        for (int i = 0; i < 100; i++) {
            char m[16];
            snprintf(m, sizeof(m), "%s%d", i % 2 ? "m" : "", i);
            add_ok(&z, m, i);
        }
        if (enc)
            zset_convert(&z, ENC_SKIPLIST);
        int hits[100] = {0};
        for (int i = 0; i < 20000; i++) {
            zset_elem_t e;
            zset_random(&z, rng_next, &e);
            hits[(int)e.score]++;
        }
        for (int i = 0; i < 100; i++)
            assert_true(hits[i] > 100 && hits[i] < 320);
        model_t *md = mem_calloc(sizeof(*md));
        static const size_t counts[] = {1, 5, 33, 34, 60, 99, 100, 150};
        for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
            md->n = 0;
            size_t got = zset_random_many(&z, counts[c], 1, rng_next, collect, md);
            size_t want = counts[c] < 100 ? counts[c] : 100;
            assert_int_equal(got, want);
            assert_int_equal(md->n, want);
            model_sort(md);
            for (size_t i = 1; i < md->n; i++)
                assert_true(mel_cmp(&md->e[i - 1], &md->e[i]) != 0);
        }
        md->n = 0;
        assert_int_equal(zset_random_many(&z, 300, 0, rng_next, collect, md), 300);
        assert_int_equal(md->n, 300);
        /* SCAN returns every member (at least once). */
        md->n = 0;
        uint64_t cur = 0;
        int rounds = 0;
        do {
            cur = zset_scan(&z, cur, collect, md);
            assert_true(++rounds < 10000);
        } while (cur != 0);
        model_sort(md);
        size_t uniq = md->n ? 1 : 0;
        for (size_t i = 1; i < md->n; i++)
            uniq += mel_cmp(&md->e[i - 1], &md->e[i]) != 0;
        assert_int_equal(uniq, 100);
        mem_free(md);
        /* The kv hooks free and copy. */
        void *copy = zset_kv_ops.dup(z.ptr, z.enc);
        assert_true(zset_kv_ops.mem(copy, z.enc) > 0);
        zset_kv_ops.free(copy, z.enc);
        zset_deinit(&z);
    }
}

static void test_validate(void **state)
{
    (void)state;
    unsigned char g[256];
    size_t n = unhex(golden_z2, g);
    assert_true(zset_listpack_validate(g, n));
    /* Odd count, duplicate member, bad score. */
    unsigned char *lp = listpack_new();
    listpack_append(&lp, "a", 1);
    assert_false(zset_listpack_validate(lp, listpack_bytes(lp)));
    listpack_append(&lp, "1", 1);
    assert_true(zset_listpack_validate(lp, listpack_bytes(lp)));
    listpack_append_int(&lp, 5);
    listpack_append(&lp, "2.5", 3);
    listpack_append(&lp, "5", 1);
    listpack_append(&lp, "3", 1);
    assert_false(zset_listpack_validate(lp, listpack_bytes(lp)));
    listpack_free(lp);
    lp = listpack_new();
    listpack_append(&lp, "a", 1);
    listpack_append(&lp, "1x", 2);
    assert_false(zset_listpack_validate(lp, listpack_bytes(lp)));
    listpack_free(lp);
    /* Random corruption never crashes; what passes is usable. */
    rng_seed(8);
    for (int r = 0; r < 5000; r++) {
        unsigned char *c = mem_alloc(n);
        memcpy(c, g, n);
        for (int k = 0; k < 2; k++)
            c[rng_next() % n] = (unsigned char)rng_next();
        if (zset_listpack_validate(c, n)) {
            zset_t z = {ENC_LISTPACK, c};
            zset_iter_t it;
            zset_elem_t e;
            zset_iter_rank(&it, &z, 0, 0);
            while (zset_iter_next(&it, &e))
                ;
            zset_convert(&z, ENC_SKIPLIST);
            zset_deinit(&z);
        } else {
            mem_free(c);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),          cmocka_unit_test(test_score_str),
        cmocka_unit_test(test_add_flags),       cmocka_unit_test(test_conversions),
        cmocka_unit_test(test_random_vs_model), cmocka_unit_test(test_lex),
        cmocka_unit_test(test_parse),           cmocka_unit_test(test_random_and_scan),
        cmocka_unit_test(test_validate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
