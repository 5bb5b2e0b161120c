/*
 * test_listpack.c — unit tests for src/ks/listpack.c: encodings at every
 * boundary, byte-exact golden listpacks captured from Redis 7.0.15, navigation,
 * random edits against a naive model, and validate() on corrupted input.
 *
 * Golden bytes were obtained by starting Debian's redis-server 7.0.15 on a free
 * loopback port with `--save ''`, running `CONFIG SET rdbcompression no`,
 * `CONFIG SET hash-max-listpack-value 20000`, `CONFIG SET
 * hash-max-listpack-entries 1000`, then HSET commands (listed with each test)
 * and `DUMP key`. A DUMP payload is: RDB type byte (16 = hash listpack), the
 * RDB length of the blob, the listpack bytes, RDB version (2 bytes) and CRC64
 * (8 bytes); the arrays below are the listpack bytes only. Long runs of one
 * byte are written as {NULL, byte, count} segments.
 */
/* SOURCES: src/lib/mem.c src/lib/util.c src/ks/listpack.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ks/listpack.h"
#include "lib/mem.h"
#include "lib/util.h"

typedef struct seg_s {
    const char *hex;
    int byte;
    size_t count;
} seg_t;

/* Assemble segments into a buffer; returns its length. */
static size_t seg_build(const seg_t *segs, size_t n, unsigned char **out)
{
    size_t cap = 0;
    for (size_t i = 0; i < n; i++)
        cap += segs[i].hex ? strlen(segs[i].hex) / 2 : segs[i].count;
    unsigned char *b = mem_alloc(cap);
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (segs[i].hex) {
            const char *h = segs[i].hex;
            for (size_t k = 0; h[k]; k += 2) {
                unsigned v;
                sscanf(h + k, "%2x", &v);
                b[len++] = (unsigned char)v;
            }
        } else {
            memset(b + len, segs[i].byte, segs[i].count);
            len += segs[i].count;
        }
    }
    *out = b;
    return len;
}

/* HSET h a 1 b hello  ->  DUMP h */
static const char golden_small_hex[] = "16000000040081610201018162028568656c6c6f06ff";

/*
 * HSET big <field_i> <value_i> for i = 0..32 in order, where field_i is
 * (i * 1000) in decimal for even i and "f<i>" for odd i, and value_i is
 * big_values[i] (x63 = 63 times 'x' and so on).
 */
static const seg_t golden_big[] = {
    {"aee20000420000010001826631037f01c7d002c0800282663303dfff02cfa002"
     "cfff0282663503d00002f1701703f100100382663703f1ffef03f1401f03f1ff"
     "7f0382663903f1008003f1102703f2008000048366313104f2ffff7f04f1e02e"
     "03f2000080048366313304f30000800005f1b03603f3ffffff7f058366313504"
     "f30000008005f1803e03f40000008000000000098366313704f4ffffffffffff"
     "ff7f09f1504603f40000000000000080098366313904822d3003f1204e038230"
     "31038366323104822b3103f1f055039339323233333732303336383534373735"
     "3830381483663233048001f1c05d03bf",
     0, 0},
    {NULL, 0x78, 63},
    {"408366323504e040", 0, 0},
    {NULL, 0x78, 64},
    {"42f1906503e07f", 0, 0},
    {NULL, 0x79, 127},
    {"01818366323704e080", 0, 0},
    {NULL, 0x79, 128},
    {"0182f1606d03efff", 0, 0},
    {NULL, 0x7a, 4095},
    {"20818366323904f000100000", 0, 0},
    {NULL, 0x77, 4096},
    {"2085f1307503f0f93f0000", 0, 0},
    {NULL, 0x76, 16377},
    {"7ffe8366333104f0fa3f0000", 0, 0},
    {NULL, 0x75, 16378},
    {"00fffff1007d03f0fb3f0000", 0, 0},
    {NULL, 0x74, 16379},
    {"018080ff", 0, 0},
};

static char *big_value(int i, size_t *len)
{
    static const char *fixed[] = {"0",
                                  "127",
                                  "128",
                                  "-1",
                                  "4095",
                                  "-4096",
                                  "4096",
                                  "-4097",
                                  "32767",
                                  "-32768",
                                  "32768",
                                  "8388607",
                                  "-8388608",
                                  "8388608",
                                  "2147483647",
                                  "-2147483648",
                                  "2147483648",
                                  "9223372036854775807",
                                  "-9223372036854775808",
                                  "-0",
                                  "01",
                                  "+1",
                                  "9223372036854775808",
                                  ""};
    static const struct {
        char c;
        size_t n;
    } rep[] = {{'x', 63},   {'x', 64},    {'y', 127},   {'y', 128},  {'z', 4095},
               {'w', 4096}, {'v', 16377}, {'u', 16378}, {'t', 16379}};
    size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
    if ((size_t)i < nfixed) {
        *len = strlen(fixed[i]);
        return mem_strdup(fixed[i]);
    }
    size_t r = (size_t)i - nfixed;
    char *s = mem_alloc(rep[r].n + 1);
    memset(s, rep[r].c, rep[r].n);
    s[rep[r].n] = 0;
    *len = rep[r].n;
    return s;
}

static unsigned char *hex_to_bytes(const char *h, size_t *len)
{
    seg_t s = {h, 0, 0};
    unsigned char *b;
    *len = seg_build(&s, 1, &b);
    return b;
}

static void test_golden_small(void **state)
{
    (void)state;
    size_t glen;
    unsigned char *g = hex_to_bytes(golden_small_hex, &glen);
    unsigned char *lp = listpack_new();
    listpack_append(&lp, "a", 1);
    listpack_append(&lp, "1", 1);
    listpack_append(&lp, "b", 1);
    listpack_append(&lp, "hello", 5);
    assert_int_equal(listpack_bytes(lp), glen);
    assert_memory_equal(lp, g, glen);
    assert_true(listpack_validate(g, glen, NULL, NULL));
    listpack_free(lp);
    mem_free(g);
}

static void test_golden_big(void **state)
{
    (void)state;
    unsigned char *g;
    size_t glen = seg_build(golden_big, sizeof(golden_big) / sizeof(golden_big[0]), &g);
    assert_true(listpack_validate(g, glen, NULL, NULL));
    unsigned char *lp = listpack_new();
    for (int i = 0; i < 33; i++) {
        char field[32];
        int flen = i % 2 ? snprintf(field, sizeof(field), "f%d", i)
                         : snprintf(field, sizeof(field), "%d", i * 1000);
        size_t vlen;
        char *v = big_value(i, &vlen);
        listpack_append(&lp, field, (size_t)flen);
        listpack_append(&lp, v, vlen);
        mem_free(v);
    }
    assert_int_equal(listpack_len(lp), 66);
    assert_int_equal(listpack_bytes(lp), glen);
    assert_memory_equal(lp, g, glen);
    /* Decoding the golden bytes gives back the values (as strings). */
    unsigned char *p = listpack_first(g);
    for (int i = 0; i < 33; i++) {
        char buf[LISTPACK_INTBUF];
        size_t vlen, glen2;
        p = listpack_next(g, p);
        char *v = big_value(i, &vlen);
        const char *s = listpack_get_str(p, buf, &glen2);
        assert_int_equal(glen2, vlen);
        assert_memory_equal(s, v, vlen);
        mem_free(v);
        p = listpack_next(g, p);
    }
    assert_null(p);
    listpack_free(lp);
    mem_free(g);
}

/* Every integer width at both edges: entry size and round trip. */
static void test_int_widths(void **state)
{
    (void)state;
    static const struct {
        long long v;
        size_t size; /* encoding + data + backlen */
    } cases[] = {
        {0, 2},
        {127, 2},
        {128, 3},
        {-1, 3},
        {4095, 3},
        {-4096, 3},
        {4096, 4},
        {-4097, 4},
        {32767, 4},
        {-32768, 4},
        {32768, 5},
        {-32769, 5},
        {8388607, 5},
        {-8388608, 5},
        {8388608, 6},
        {-8388609, 6},
        {2147483647LL, 6},
        {-2147483648LL, 6},
        {2147483648LL, 10},
        {-2147483649LL, 10},
        {9223372036854775807LL, 10},
        {-9223372036854775807LL - 1, 10},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned char *lp = listpack_new();
        char buf[32];
        size_t n = ll_to_str(buf, cases[i].v);
        listpack_append_int(&lp, cases[i].v);
        listpack_append(&lp, buf, n);
        unsigned char *p = listpack_first(lp);
        assert_int_equal(listpack_entry_size(p), cases[i].size);
        assert_int_equal(listpack_bytes(lp), 7 + 2 * cases[i].size);
        for (int k = 0; k < 2; k++) {
            listpack_val_t v;
            listpack_get(p, &v);
            assert_null(v.s);
            assert_true(v.v == cases[i].v);
            assert_true(listpack_eq(p, buf, n));
            p = listpack_next(lp, p);
        }
        assert_null(p);
        assert_true(listpack_validate(lp, listpack_bytes(lp), NULL, NULL));
        listpack_free(lp);
    }
}

/* Non-canonical integers stay strings. */
static void test_int_like_strings(void **state)
{
    (void)state;
    static const char *strs[] = {
        "-0", "01", "+1", " 1", "1 ", "9223372036854775808", "-9223372036854775809",
        "",   "-",  "1a", "00"};
    unsigned char *lp = listpack_new();
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        listpack_append(&lp, strs[i], strlen(strs[i]));
    unsigned char *p = listpack_first(lp);
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        listpack_val_t v;
        listpack_get(p, &v);
        assert_non_null(v.s);
        assert_int_equal(v.len, strlen(strs[i]));
        assert_memory_equal(v.s, strs[i], v.len);
        assert_true(listpack_eq(p, strs[i], strlen(strs[i])));
        p = listpack_next(lp, p);
    }
    /* "1" does not match the string "01". */
    assert_null(listpack_find(lp, listpack_first(lp), "1", 1, 0));
    listpack_free(lp);
}

static void test_string_lengths(void **state)
{
    (void)state;
    static const struct {
        size_t len, size;
    } cases[] = {
        {0, 2},     {1, 3},       {62, 64},     {63, 65},       {64, 67},       {125, 128},
        {126, 130}, {4095, 4099}, {4096, 4103}, {16377, 16384}, {16378, 16386}, {70000, 70008},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *s = mem_alloc(cases[i].len + 1);
        memset(s, 'a' + (int)(i % 26), cases[i].len);
        unsigned char *lp = listpack_new();
        listpack_append(&lp, s, cases[i].len);
        listpack_append_int(&lp, 5);
        unsigned char *p = listpack_first(lp);
        assert_int_equal(listpack_entry_size(p), cases[i].size);
        listpack_val_t v;
        listpack_get(p, &v);
        assert_non_null(v.s);
        assert_int_equal(v.len, cases[i].len);
        assert_memory_equal(v.s, s, cases[i].len);
        /* Walking back from the integer lands on the string. */
        assert_ptr_equal(listpack_prev(lp, listpack_last(lp)), p);
        assert_true(listpack_validate(lp, listpack_bytes(lp), NULL, NULL));
        listpack_free(lp);
        mem_free(s);
    }
}

static void test_navigation(void **state)
{
    (void)state;
    unsigned char *lp = listpack_new();
    assert_null(listpack_first(lp));
    assert_null(listpack_last(lp));
    assert_null(listpack_seek(lp, 0));
    assert_null(listpack_seek(lp, -1));
    for (int i = 0; i < 100; i++)
        listpack_append_int(&lp, i * 1000);
    assert_int_equal(listpack_len(lp), 100);
    for (long i = -100; i < 100; i++) {
        listpack_val_t v;
        unsigned char *p = listpack_seek(lp, i);
        assert_non_null(p);
        listpack_get(p, &v);
        assert_int_equal(v.v, (i < 0 ? i + 100 : i) * 1000);
    }
    assert_null(listpack_seek(lp, 100));
    assert_null(listpack_seek(lp, -101));
    int n = 0;
    for (unsigned char *p = listpack_last(lp); p; p = listpack_prev(lp, p))
        n++;
    assert_int_equal(n, 100);
    listpack_prepend(&lp, "head", 4);
    listpack_prepend_int(&lp, -7);
    listpack_val_t v;
    listpack_get(listpack_first(lp), &v);
    assert_int_equal(v.v, -7);
    listpack_get(listpack_seek(lp, 1), &v);
    assert_memory_equal(v.s, "head", 4);
    assert_int_equal(listpack_len(lp), 102);
    listpack_free(lp);
}

static void test_find_skip(void **state)
{
    (void)state;
    unsigned char *lp = listpack_new();
    /* field/value pairs where a value equals a later field's name */
    const char *kv[] = {"a", "b", "b", "1", "1", "x", "c", "1"};
    for (int i = 0; i < 8; i++)
        listpack_append(&lp, kv[i], strlen(kv[i]));
    unsigned char *f = listpack_first(lp);
    unsigned char *p = listpack_find(lp, f, "b", 1, 1);
    assert_ptr_equal(p, listpack_seek(lp, 2));
    p = listpack_find(lp, f, "1", 1, 1);
    assert_ptr_equal(p, listpack_seek(lp, 4));
    assert_null(listpack_find(lp, f, "x", 1, 1));
    assert_ptr_equal(listpack_find(lp, f, "x", 1, 0), listpack_seek(lp, 5));
    assert_null(listpack_find(lp, f, "zz", 2, 0));
    listpack_free(lp);
}

static void test_replace_delete(void **state)
{
    (void)state;
    unsigned char *lp = listpack_new();
    for (int i = 0; i < 10; i++)
        listpack_append_int(&lp, i);
    unsigned char *p = listpack_seek(lp, 3);
    p = listpack_replace(&lp, p, "three", 5);
    assert_true(listpack_eq(p, "three", 5));
    p = listpack_replace_int(&lp, p, 3000000000LL);
    listpack_val_t v;
    listpack_get(p, &v);
    assert_true(v.v == 3000000000LL);
    p = listpack_replace_int(&lp, p, 3);
    assert_int_equal(listpack_bytes(lp), 7 + 20);
    p = listpack_delete(&lp, listpack_seek(lp, 9));
    assert_null(p);
    p = listpack_delete(&lp, listpack_seek(lp, 0));
    listpack_get(p, &v);
    assert_int_equal(v.v, 1);
    assert_int_equal(listpack_delete_range(&lp, -3, 100), 3);
    assert_int_equal(listpack_len(lp), 5);
    assert_int_equal(listpack_delete_range(&lp, 1, 2), 2);
    long want[] = {1, 4, 5};
    int i = 0;
    for (p = listpack_first(lp); p; p = listpack_next(lp, p), i++) {
        listpack_get(p, &v);
        assert_int_equal(v.v, want[i]);
    }
    assert_int_equal(i, 3);
    p = listpack_insert(&lp, listpack_seek(lp, 1), LISTPACK_AFTER, "mid", 3);
    assert_ptr_equal(p, listpack_seek(lp, 2));
    p = listpack_insert_int(&lp, listpack_seek(lp, 0), LISTPACK_BEFORE, -1);
    assert_ptr_equal(p, listpack_first(lp));
    assert_int_equal(listpack_len(lp), 5);
    unsigned char *d = listpack_dup(lp);
    listpack_merge(&lp, &d);
    assert_null(d);
    assert_int_equal(listpack_len(lp), 10);
    assert_true(listpack_validate(lp, listpack_bytes(lp), NULL, NULL));
    listpack_free(lp);
}

/* Batch insert (more than one internal batch). */
static void test_insert_vals(void **state)
{
    (void)state;
    unsigned char *lp = listpack_new();
    listpack_append(&lp, "end", 3);
    listpack_val_t vals[40];
    char bufs[40][8];
    for (int i = 0; i < 40; i++) {
        int n = snprintf(bufs[i], sizeof(bufs[i]), i % 2 ? "%d" : "s%d", i);
        vals[i] = (listpack_val_t){(const unsigned char *)bufs[i], (size_t)n, 0};
    }
    unsigned char *p = listpack_insert_vals(&lp, listpack_first(lp), LISTPACK_BEFORE, vals, 40);
    assert_ptr_equal(p, listpack_first(lp));
    assert_int_equal(listpack_len(lp), 41);
    p = listpack_first(lp);
    for (int i = 0; i < 40; i++, p = listpack_next(lp, p))
        assert_true(listpack_eq(p, bufs[i], strlen(bufs[i])));
    assert_true(listpack_eq(p, "end", 3));
    listpack_free(lp);
}

/* ---- random operations against a naive model ---------------------------- */

typedef struct model_s {
    char **s;
    size_t *len;
    size_t n, cap;
} model_t;

static void model_insert(model_t *m, size_t at, const char *s, size_t len)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->s = mem_realloc(m->s, m->cap * sizeof(char *));
        m->len = mem_realloc(m->len, m->cap * sizeof(size_t));
    }
    memmove(m->s + at + 1, m->s + at, (m->n - at) * sizeof(char *));
    memmove(m->len + at + 1, m->len + at, (m->n - at) * sizeof(size_t));
    m->s[at] = mem_strndup(s, len);
    m->len[at] = len;
    m->n++;
}

static void model_delete(model_t *m, size_t at)
{
    mem_free(m->s[at]);
    memmove(m->s + at, m->s + at + 1, (m->n - at - 1) * sizeof(char *));
    memmove(m->len + at, m->len + at + 1, (m->n - at - 1) * sizeof(size_t));
    m->n--;
}

static size_t random_value(char *buf)
{
    switch (rng_next() % 6) {
    case 0:
        return ll_to_str(buf, (long long)(rng_next() % 200) - 100);
    case 1:
        return ll_to_str(buf, (long long)rng_next());
    case 2:
        return ll_to_str(buf, (long long)(rng_next() % 100000));
    case 3: {
        size_t n = rng_next() % 70;
        memset(buf, 'a' + (int)(rng_next() % 26), n);
        return n;
    }
    case 4: {
        size_t n = 4090 + rng_next() % 10;
        memset(buf, 'q', n);
        return n;
    }
    default:
        return (size_t)snprintf(buf, 32, "0%d", (int)(rng_next() % 100));
    }
}

static void model_check(unsigned char *lp, const model_t *m)
{
    assert_int_equal(listpack_len(lp), m->n);
    assert_true(listpack_validate(lp, listpack_bytes(lp), NULL, NULL));
    unsigned char *p = listpack_first(lp);
    for (size_t i = 0; i < m->n; i++, p = listpack_next(lp, p)) {
        char buf[LISTPACK_INTBUF];
        size_t len;
        const char *s = listpack_get_str(p, buf, &len);
        assert_int_equal(len, m->len[i]);
        assert_memory_equal(s, m->s[i], len);
    }
    assert_null(p);
    p = listpack_last(lp);
    for (size_t i = m->n; i > 0; i--, p = listpack_prev(lp, p))
        assert_true(listpack_eq(p, m->s[i - 1], m->len[i - 1]));
    assert_null(p);
}

static void test_random_vs_model(void **state)
{
    (void)state;
    rng_seed(12345);
    char *buf = mem_alloc(8192);
    model_t m = {0};
    unsigned char *lp = listpack_new();
    for (int op = 0; op < 3000; op++) {
        size_t len = random_value(buf);
        unsigned r = (unsigned)(rng_next() % 10);
        if (m.n == 0 || r < 3) {
            listpack_append(&lp, buf, len);
            model_insert(&m, m.n, buf, len);
        } else if (r < 4) {
            listpack_prepend(&lp, buf, len);
            model_insert(&m, 0, buf, len);
        } else if (r < 6) {
            size_t at = rng_next() % m.n;
            int after = (int)(rng_next() % 2);
            listpack_insert(&lp, listpack_seek(lp, (long)at), after, buf, len);
            model_insert(&m, at + (size_t)after, buf, len);
        } else if (r < 7) {
            size_t at = rng_next() % m.n;
            listpack_replace(&lp, listpack_seek(lp, (long)at), buf, len);
            model_delete(&m, at);
            model_insert(&m, at, buf, len);
        } else if (r < 9) {
            size_t at = rng_next() % m.n;
            listpack_delete(&lp, listpack_seek(lp, -(long)(m.n - at)));
            model_delete(&m, at);
        } else {
            size_t at = rng_next() % m.n, cnt = rng_next() % 4;
            size_t del = listpack_delete_range(&lp, (long)at, cnt);
            size_t want = cnt < m.n - at ? cnt : m.n - at;
            assert_int_equal(del, want);
            for (size_t k = 0; k < want; k++)
                model_delete(&m, at);
        }
        if (op % 50 == 0 || listpack_bytes(lp) > 60000)
            model_check(lp, &m);
        while (listpack_bytes(lp) > 60000) {
            listpack_delete(&lp, listpack_first(lp));
            model_delete(&m, 0);
        }
    }
    model_check(lp, &m);
    while (m.n)
        model_delete(&m, 0);
    mem_free(m.s);
    mem_free(m.len);
    listpack_free(lp);
    mem_free(buf);
}

/* More than 65534 entries: the header count becomes "unknown". */
static void test_unknown_count(void **state)
{
    (void)state;
    unsigned char *lp = listpack_new();
    for (int i = 0; i < 65536; i++)
        listpack_append_int(&lp, i % 100);
    assert_int_equal(lp[4] | lp[5] << 8, 65535);
    assert_int_equal(listpack_len(lp), 65536);
    assert_true(listpack_validate(lp, listpack_bytes(lp), NULL, NULL));
    listpack_delete_at(&lp, listpack_first(lp), 10);
    assert_int_equal(lp[4] | lp[5] << 8, 65535);
    assert_int_equal(listpack_len(lp), 65526);
    assert_int_equal(lp[4] | lp[5] << 8, 65526);
    listpack_val_t v;
    listpack_get(listpack_seek(lp, -1), &v);
    assert_int_equal(v.v, 65535 % 100);
    listpack_free(lp);
}

/* ---- validate ------------------------------------------------------------ */

static int count_cb(const unsigned char *p, void *arg)
{
    (void)p;
    (*(int *)arg)++;
    return 1;
}

static int reject_cb(const unsigned char *p, void *arg)
{
    (void)arg;
    return !listpack_eq(p, "bad", 3);
}

/* Walk a listpack that validate accepted: must stay in bounds (ASan). */
static void walk_all(unsigned char *lp)
{
    char buf[LISTPACK_INTBUF];
    size_t len, n = 0;
    for (unsigned char *p = listpack_first(lp); p; p = listpack_next(lp, p)) {
        listpack_get_str(p, buf, &len);
        n++;
    }
    for (unsigned char *p = listpack_last(lp); p; p = listpack_prev(lp, p))
        n--;
    assert_int_equal(n, 0);
}

static unsigned char *sample_listpack(void)
{
    unsigned char *lp = listpack_new();
    char big[300];
    memset(big, 'b', sizeof(big));
    listpack_append(&lp, "hello", 5);
    listpack_append_int(&lp, 7);
    listpack_append_int(&lp, -1000);
    listpack_append_int(&lp, 100000);
    listpack_append_int(&lp, 1LL << 40);
    listpack_append(&lp, big, sizeof(big));
    listpack_append_int(&lp, 30000);
    listpack_append_int(&lp, 3000000);
    listpack_append(&lp, "", 0);
    return lp;
}

static void test_validate_basic(void **state)
{
    (void)state;
    unsigned char *lp = sample_listpack();
    size_t n = listpack_bytes(lp);
    int count = 0;
    assert_true(listpack_validate(lp, n, count_cb, &count));
    assert_int_equal(count, 9);
    assert_false(listpack_validate(lp, n - 1, NULL, NULL));
    assert_false(listpack_validate(lp, n + 1, NULL, NULL));
    assert_false(listpack_validate(NULL, 0, NULL, NULL));
    assert_false(listpack_validate(lp, 3, NULL, NULL));
    listpack_append(&lp, "bad", 3);
    assert_false(listpack_validate(lp, listpack_bytes(lp), reject_cb, NULL));
    unsigned char *c = listpack_dup(lp);
    c[4] = 3; /* count mismatch */
    assert_false(listpack_validate(c, listpack_bytes(c), NULL, NULL));
    c[4] = 0xFF;
    c[5] = 0xFF; /* unknown count is allowed */
    assert_true(listpack_validate(c, listpack_bytes(c), NULL, NULL));
    c[LISTPACK_HDR_SIZE] = 0xF5; /* no such encoding */
    assert_false(listpack_validate(c, listpack_bytes(c), NULL, NULL));
    listpack_free(c);
    c = listpack_dup(lp);
    c[listpack_bytes(c) - 1] = 0; /* no terminator */
    assert_false(listpack_validate(c, listpack_bytes(c), NULL, NULL));
    listpack_free(c);
    listpack_free(lp);
}

/* Every truncation and many byte flips: never crash, and anything accepted is
 * safe to walk. Copies are exact-size heap blocks so ASan sees overreads. */
static void test_validate_corrupt(void **state)
{
    (void)state;
    unsigned char *lp = sample_listpack();
    size_t n = listpack_bytes(lp);
    for (size_t cut = 0; cut < n; cut++) {
        unsigned char *c = mem_alloc(cut ? cut : 1);
        memcpy(c, lp, cut);
        if (cut >= 4) {
            c[0] = (unsigned char)cut;
            c[1] = (unsigned char)(cut >> 8);
            c[2] = c[3] = 0;
        }
        if (listpack_validate(c, cut, NULL, NULL))
            walk_all(c);
        mem_free(c);
    }
    static const unsigned char flips[] = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFF};
    size_t accepted = 0;
    for (size_t pos = 0; pos < n; pos++) {
        for (size_t f = 0; f < sizeof(flips); f++) {
            unsigned char *c = listpack_dup(lp);
            c[pos] ^= flips[f];
            if (listpack_validate(c, n, NULL, NULL)) {
                walk_all(c);
                accepted++;
            }
            listpack_free(c);
        }
    }
    /* Flips inside string payloads are legitimately accepted; header/encoding
     * flips are not. */
    assert_true(accepted > 0 && accepted < n * sizeof(flips));
    rng_seed(99);
    for (int round = 0; round < 20000; round++) {
        unsigned char *c = listpack_dup(lp);
        int k = 1 + (int)(rng_next() % 4);
        for (int j = 0; j < k; j++)
            c[rng_next() % n] = (unsigned char)rng_next();
        if (listpack_validate(c, n, NULL, NULL))
            walk_all(c);
        listpack_free(c);
    }
    listpack_free(lp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_small),     cmocka_unit_test(test_golden_big),
        cmocka_unit_test(test_int_widths),       cmocka_unit_test(test_int_like_strings),
        cmocka_unit_test(test_string_lengths),   cmocka_unit_test(test_navigation),
        cmocka_unit_test(test_find_skip),        cmocka_unit_test(test_replace_delete),
        cmocka_unit_test(test_insert_vals),      cmocka_unit_test(test_random_vs_model),
        cmocka_unit_test(test_unknown_count),    cmocka_unit_test(test_validate_basic),
        cmocka_unit_test(test_validate_corrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
