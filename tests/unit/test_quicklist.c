/*
 * test_quicklist.c — unit tests for src/ks/quicklist.c: pushes and pops at
 * both ends, index/replace/insert/delete against a naive array model under
 * every fill setting, node size limits, and iteration in both directions.
 *
 * Golden node bytes: Debian's redis-server 7.0.15 on a free loopback port,
 * `RPUSH l a 1 hello`, `LPUSH l z`, DUMP l. The payload is RDB type 18
 * (quicklist 2), node count 1, container 2 (packed), the RDB string length and
 * then the node's listpack, which is the string below.
 */
/* SOURCES: src/lib/mem.c src/lib/util.c src/ks/listpack.c src/ks/quicklist.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ks/quicklist.h"
#include "lib/mem.h"
#include "lib/util.h"

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

static void model_clear(model_t *m)
{
    while (m->n)
        model_delete(m, m->n - 1);
    mem_free(m->s);
    mem_free(m->len);
    memset(m, 0, sizeof(*m));
}

static void val_eq(const listpack_val_t *v, const char *s, size_t len)
{
    char buf[LISTPACK_INTBUF];
    size_t n;
    const char *p = listpack_val_str(v, buf, &n);
    assert_int_equal(n, len);
    assert_memory_equal(p, s, len);
}

static size_t limit_of(int fill)
{
    return fill < 0 ? (size_t)4096 << ((-fill > 5 ? 5 : -fill) - 1) : 8192;
}

/* Structure invariants plus equality with the model in both directions. */
static void check(quicklist_t *ql, const model_t *m)
{
    size_t total = 0, nodes = 0;
    quicklist_node_t *prev = NULL;
    for (quicklist_node_t *n = ql->head; n; prev = n, n = n->next) {
        assert_ptr_equal(n->prev, prev);
        assert_true(n->count > 0);
        assert_int_equal(n->count, listpack_len(n->lp));
        assert_int_equal(n->sz, listpack_bytes(n->lp));
        if (n->count > 1) {
            assert_true(n->sz <= limit_of(ql->fill));
            if (ql->fill > 0)
                assert_true(n->count <= (uint32_t)ql->fill);
        }
        total += n->count;
        nodes++;
    }
    assert_ptr_equal(ql->tail, prev);
    assert_int_equal(total, ql->count);
    assert_int_equal(nodes, ql->len);
    assert_int_equal(quicklist_count(ql), m->n);
    quicklist_iter_t it;
    listpack_val_t v;
    size_t i = 0;
    quicklist_iter_init(&it, ql, QUICKLIST_FORWARD);
    while (quicklist_iter_next(&it, &v)) {
        assert_true(i < m->n);
        val_eq(&v, m->s[i], m->len[i]);
        i++;
    }
    assert_int_equal(i, m->n);
    quicklist_iter_init(&it, ql, QUICKLIST_BACKWARD);
    while (quicklist_iter_next(&it, &v)) {
        i--;
        val_eq(&v, m->s[i], m->len[i]);
    }
    assert_int_equal(i, 0);
}

static size_t random_value(char *buf)
{
    switch (rng_next() % 8) {
    case 0:
        return ll_to_str(buf, (long long)(rng_next() % 1000));
    case 1:
        return ll_to_str(buf, (long long)rng_next());
    case 2: {
        size_t n = 500 + rng_next() % 3000;
        memset(buf, 'L', n);
        return n;
    }
    case 3:
        if (rng_next() % 8 == 0) {
            size_t n = 9000 + rng_next() % 9000; /* bigger than any 8k node */
            memset(buf, 'H', n);
            return n;
        }
        /* fallthrough */
    default: {
        size_t n = rng_next() % 40;
        for (size_t i = 0; i < n; i++)
            buf[i] = (char)('a' + rng_next() % 26);
        return n;
    }
    }
}

static void random_op(quicklist_t *ql, model_t *m, char *buf)
{
    size_t len = random_value(buf);
    unsigned r = (unsigned)(rng_next() % 20);
    listpack_val_t v;
    if (m->n == 0 || r < 5) {
        int where = (int)(rng_next() % 2);
        quicklist_push(ql, where, buf, len);
        model_insert(m, where == QUICKLIST_HEAD ? 0 : m->n, buf, len);
    } else if (r < 7) {
        int where = (int)(rng_next() % 2);
        assert_true(quicklist_peek(ql, where, &v));
        size_t at = where == QUICKLIST_HEAD ? 0 : m->n - 1;
        val_eq(&v, m->s[at], m->len[at]);
        assert_true(quicklist_pop(ql, where));
        model_delete(m, at);
    } else if (r < 9) {
        long idx = (long)(rng_next() % (m->n * 2)) - (long)m->n;
        size_t at = idx < 0 ? (size_t)(idx + (long)m->n) : (size_t)idx;
        assert_true(quicklist_index(ql, idx, &v));
        val_eq(&v, m->s[at], m->len[at]);
        assert_true(quicklist_replace_at(ql, idx, buf, len));
        model_delete(m, at);
        model_insert(m, at, buf, len);
    } else if (r < 12) {
        size_t at = rng_next() % m->n;
        int after = (int)(rng_next() % 2);
        quicklist_iter_t it;
        assert_true(quicklist_iter_init_at(&it, ql, (int)(rng_next() % 2), (long)at));
        assert_true(quicklist_iter_next(&it, &v));
        val_eq(&v, m->s[at], m->len[at]);
        quicklist_iter_insert(&it, after, buf, len);
        model_insert(m, at + (size_t)after, buf, len);
    } else if (r < 13) {
        size_t at = rng_next() % m->n;
        quicklist_iter_t it;
        assert_true(quicklist_iter_init_at(&it, ql, QUICKLIST_FORWARD, (long)at));
        assert_true(quicklist_iter_next(&it, &v));
        quicklist_iter_replace(&it, buf, len);
        model_delete(m, at);
        model_insert(m, at, buf, len);
    } else if (r < 15) {
        long start = (long)(rng_next() % (m->n + 2)) - 1;
        size_t cnt = rng_next() % 30;
        size_t s0 = start < 0 ? m->n - 1 : (size_t)start;
        size_t want = s0 >= m->n ? 0 : (cnt < m->n - s0 ? cnt : m->n - s0);
        assert_int_equal(quicklist_del_range(ql, start, cnt), want);
        for (size_t k = 0; k < want; k++)
            model_delete(m, s0);
    } else {
        /* LREM-like: delete every entry starting with a chosen byte, walking
         * in a random direction. */
        int dir = (int)(rng_next() % 2);
        char c = (char)('a' + rng_next() % 26);
        quicklist_iter_t it;
        quicklist_iter_init(&it, ql, dir);
        while (quicklist_iter_next(&it, &v))
            if (v.s && v.len > 0 && v.s[0] == (unsigned char)c && v.len < 40)
                quicklist_iter_delete(&it);
        for (size_t k = m->n; k > 0; k--)
            if (m->len[k - 1] > 0 && m->len[k - 1] < 40 && m->s[k - 1][0] == c &&
                m->s[k - 1][0] >= 'a')
                model_delete(m, k - 1);
    }
}

static void test_random_all_fills(void **state)
{
    (void)state;
    static const int fills[] = {-1, -2, -3, -4, -5, -9, 1, 2, 3, 16, 128, 100000, 0};
    char *buf = mem_alloc(20000);
    rng_seed(2024);
    for (size_t f = 0; f < sizeof(fills) / sizeof(fills[0]); f++) {
        quicklist_t *ql = quicklist_new(fills[f]);
        model_t m = {0};
        for (int op = 0; op < 1500; op++) {
            random_op(ql, &m, buf);
            if (op % 100 == 0)
                check(ql, &m);
            while (m.n > 400) {
                quicklist_pop(ql, QUICKLIST_HEAD);
                model_delete(&m, 0);
            }
        }
        check(ql, &m);
        quicklist_t *d = quicklist_kv_ops.dup(ql, ENC_QUICKLIST);
        check(d, &m);
        assert_int_equal(quicklist_kv_ops.mem(d, ENC_QUICKLIST), quicklist_mem_usage(d));
        quicklist_kv_ops.free(d, ENC_QUICKLIST);
        assert_true(quicklist_mem_usage(ql) > 0);
        quicklist_free(ql);
        model_clear(&m);
    }
    mem_free(buf);
}

static void test_fill_limits(void **state)
{
    (void)state;
    /* fill 4: four entries per node. */
    quicklist_t *ql = quicklist_new(4);
    for (int i = 0; i < 10; i++)
        quicklist_push_int(ql, QUICKLIST_TAIL, i);
    assert_int_equal(ql->len, 3);
    assert_int_equal(ql->head->count, 4);
    assert_int_equal(ql->tail->count, 2);
    listpack_val_t v;
    assert_true(quicklist_index(ql, -1, &v));
    assert_int_equal(v.v, 9);
    assert_true(quicklist_index(ql, 5, &v));
    assert_int_equal(v.v, 5);
    assert_false(quicklist_index(ql, 10, &v));
    assert_false(quicklist_index(ql, -11, &v));
    quicklist_free(ql);

    /* fill -1: 4 KiB nodes; 100-byte strings -> about 39 per node. */
    ql = quicklist_new(-1);
    char s[100];
    memset(s, 'x', sizeof(s));
    for (int i = 0; i < 1000; i++)
        quicklist_push(ql, QUICKLIST_HEAD, s, sizeof(s));
    for (quicklist_node_t *n = ql->head; n; n = n->next) {
        assert_true(n->sz <= 4096);
        if (n != ql->head)
            assert_true(n->sz > 4096 - 110);
    }
    assert_int_equal(quicklist_count(ql), 1000);
    assert_int_equal(quicklist_del_range(ql, 10, 980), 980);
    assert_int_equal(quicklist_count(ql), 20);
    assert_int_equal(quicklist_del_range(ql, -5, 100), 5);
    assert_int_equal(quicklist_del_range(ql, 15, 1), 0);
    assert_int_equal(quicklist_del_range(ql, -100, 3), 3);
    assert_int_equal(quicklist_count(ql), 12);
    quicklist_free(ql);

    /* Default fill (-2, 8 KiB): small integers pack densely. */
    ql = quicklist_new(QUICKLIST_FILL_DEFAULT);
    for (int i = 0; i < 100000; i++)
        quicklist_push_int(ql, QUICKLIST_TAIL, i % 100);
    assert_true(ql->len <= 100000 / 4000 + 1);
    quicklist_free(ql);
}

static void test_golden_node(void **state)
{
    (void)state;
    static const char hex[] = "160000000400817a0281610201018568656c6c6f06ff";
    unsigned char g[32];
    size_t n = 0;
    for (const char *h = hex; h[0]; h += 2) {
        unsigned v;
        sscanf(h, "%2x", &v);
        g[n++] = (unsigned char)v;
    }
    quicklist_t *ql = quicklist_new(QUICKLIST_FILL_DEFAULT);
    quicklist_push(ql, QUICKLIST_TAIL, "a", 1);
    quicklist_push(ql, QUICKLIST_TAIL, "1", 1);
    quicklist_push(ql, QUICKLIST_TAIL, "hello", 5);
    quicklist_push(ql, QUICKLIST_HEAD, "z", 1);
    assert_int_equal(ql->len, 1);
    assert_int_equal(ql->head->sz, n);
    assert_memory_equal(ql->head->lp, g, n);
    quicklist_free(ql);
}

static void test_empty_and_listpack(void **state)
{
    (void)state;
    quicklist_t *ql = quicklist_new(-2);
    listpack_val_t v;
    assert_false(quicklist_peek(ql, QUICKLIST_HEAD, &v));
    assert_false(quicklist_pop(ql, QUICKLIST_TAIL));
    assert_false(quicklist_replace_at(ql, 0, "a", 1));
    assert_int_equal(quicklist_del_range(ql, 0, 5), 0);
    quicklist_iter_t it;
    assert_false(quicklist_iter_init_at(&it, ql, QUICKLIST_FORWARD, 0));
    assert_false(quicklist_iter_next(&it, &v));
    unsigned char *lp = listpack_new();
    listpack_append(&lp, "a", 1);
    listpack_append(&lp, "b", 1);
    quicklist_append_listpack(ql, lp);
    quicklist_append_listpack(ql, listpack_new());
    lp = listpack_new();
    listpack_append_int(&lp, 42);
    quicklist_append_listpack(ql, lp);
    assert_int_equal(quicklist_count(ql), 3);
    assert_int_equal(ql->len, 2);
    assert_true(quicklist_peek(ql, QUICKLIST_TAIL, &v));
    assert_int_equal(v.v, 42);
    assert_true(quicklist_iter_init_at(&it, ql, QUICKLIST_BACKWARD, -2));
    assert_true(quicklist_iter_next(&it, &v));
    assert_true(quicklist_iter_eq(&it, "b", 1));
    assert_true(quicklist_iter_next(&it, &v));
    val_eq(&v, "a", 1);
    assert_false(quicklist_iter_next(&it, &v));
    while (quicklist_pop(ql, QUICKLIST_HEAD))
        ;
    assert_null(ql->head);
    assert_null(ql->tail);
    assert_int_equal(ql->len, 0);
    quicklist_free(ql);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_all_fills),
        cmocka_unit_test(test_fill_limits),
        cmocka_unit_test(test_empty_and_listpack),
        cmocka_unit_test(test_golden_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
