/*
 * test_dict.c — unit tests for the hash table (dict.c): add/find/unlink, growth
 * and shrink, incremental rehash, iterators (pausing rehash, deleting while
 * iterating), SCAN guarantees across resizes, random sampling.
 */
/* SOURCES: src/lib/dict.c src/lib/mem.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dict.h"
#include "lib/mem.h"

typedef struct entry_s {
    dict_node_t node; /* first member: the dict links entries through it */
    int id;
    size_t len;
    char key[24];
} entry_t;

static void entry_key(const dict_node_t *n, const char **k, size_t *len)
{
    const entry_t *e = (const entry_t *)n;
    *k = e->key;
    *len = e->len;
}

static const dict_type_t entry_type = {.key = entry_key};

static entry_t *entry_new(int id)
{
    entry_t *e = mem_calloc(sizeof(*e));
    e->id = id;
    e->len = (size_t)snprintf(e->key, sizeof(e->key), "key:%d", id);
    return e;
}

static size_t key_of(int id, char *buf)
{
    return (size_t)snprintf(buf, 24, "key:%d", id);
}

static entry_t *find_id(dict_t *d, int id)
{
    char k[24];
    size_t len = key_of(id, k);
    return (entry_t *)dict_find(d, k, len);
}

static int unlink_id(dict_t *d, int id)
{
    char k[24];
    size_t len = key_of(id, k);
    entry_t *e = (entry_t *)dict_unlink(d, k, len);
    if (e == NULL)
        return 0;
    assert_int_equal(e->id, id);
    mem_free(e);
    return 1;
}

static void free_entry(dict_node_t *n, void *arg)
{
    if (arg != NULL)
        (*(int *)arg)++;
    mem_free(n);
}

/* Deterministic randomness for the tests (xorshift64*). */
static uint64_t rnd_state = 88172645463325252ULL;
static uint64_t test_rnd(void)
{
    rnd_state ^= rnd_state >> 12;
    rnd_state ^= rnd_state << 25;
    rnd_state ^= rnd_state >> 27;
    return rnd_state * 2685821657736338717ULL;
}

static void finish_rehash(dict_t *d)
{
    for (int i = 0; i < 1000000 && dict_rehash(d, 1000); i++)
        ;
    assert_false(dict_is_rehashing(d));
}

static int setup(void **state)
{
    dict_set_seed(0x1234abcd5678ef90ULL);
    dict_t *d = mem_alloc(sizeof(*d));
    dict_init(d, &entry_type);
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    dict_t *d = *state;
    dict_deinit(d, free_entry, NULL);
    mem_free(d);
    return 0;
}

/* ---- basic operations ------------------------------------------------------- */

static void test_add_find_unlink(void **state)
{
    dict_t *d = *state;
    assert_null(find_id(d, 1));
    assert_int_equal(dict_buckets(d), 0); /* nothing allocated until the first add */
    for (int i = 0; i < 100; i++)
        dict_add(d, &entry_new(i)->node);
    assert_int_equal(dict_size(d), 100);
    for (int i = 0; i < 100; i++) {
        entry_t *e = find_id(d, i);
        assert_non_null(e);
        assert_int_equal(e->id, i);
    }
    assert_null(find_id(d, 100));
    assert_null(dict_find(d, "key:1x", 6));
    assert_null(dict_find(d, "key:", 4));
    assert_true(unlink_id(d, 42));
    assert_false(unlink_id(d, 42));
    assert_null(find_id(d, 42));
    assert_int_equal(dict_size(d), 99);

    /* Replace in place through the link. */
    dict_node_t **link = dict_find_link(d, "key:7", 5);
    assert_non_null(link);
    entry_t *old = (entry_t *)*link;
    entry_t *rep = entry_new(7);
    rep->id = 7000;
    dict_replace_link(link, &rep->node);
    mem_free(old);
    assert_int_equal(find_id(d, 7)->id, 7000);
    assert_int_equal(dict_size(d), 99);
    assert_null(dict_find_link(d, "nope", 4));

    /* Remove by identity. */
    entry_t *e9 = find_id(d, 9);
    assert_true(dict_remove_node(d, &e9->node));
    assert_false(dict_remove_node(d, &e9->node));
    mem_free(e9);
    assert_null(find_id(d, 9));
    assert_int_equal(dict_size(d), 98);
}

static void test_hashed_variants(void **state)
{
    dict_t *d = *state;
    char k[24];
    for (int i = 0; i < 50; i++) {
        entry_t *e = entry_new(i);
        dict_add_hashed(d, &e->node, dict_hash(e->key, e->len));
    }
    for (int i = 0; i < 50; i++) {
        size_t len = key_of(i, k);
        uint64_t h = dict_hash(k, len);
        assert_ptr_equal(dict_find_hashed(d, k, len, h), dict_find(d, k, len));
        assert_non_null(dict_find_link_hashed(d, k, len, h));
    }
    size_t len = key_of(3, k);
    entry_t *e = (entry_t *)dict_unlink_hashed(d, k, len, dict_hash(k, len));
    assert_int_equal(e->id, 3);
    mem_free(e);
    assert_null(find_id(d, 3));
    /* The hash depends on the seed and on every byte. */
    uint64_t h1 = dict_hash("abc", 3);
    assert_true(h1 != dict_hash("abd", 3));
    assert_true(h1 != dict_hash("ab", 2));
    uint64_t seed = dict_seed;
    dict_set_seed(seed + 1);
    assert_true(h1 != dict_hash("abc", 3));
    dict_set_seed(seed);
    assert_true(h1 == dict_hash("abc", 3));
}

static void test_binary_keys(void **state)
{
    dict_t *d = *state;
    entry_t *a = mem_calloc(sizeof(*a)), *b = mem_calloc(sizeof(*b)), *c = mem_calloc(sizeof(*c));
    memcpy(a->key, "a\0b", 3);
    a->len = 3;
    memcpy(b->key, "a\0c", 3);
    b->len = 3;
    c->len = 0; /* the empty key */
    dict_add(d, &a->node);
    dict_add(d, &b->node);
    dict_add(d, &c->node);
    assert_ptr_equal(dict_find(d, "a\0b", 3), &a->node);
    assert_ptr_equal(dict_find(d, "a\0c", 3), &b->node);
    assert_ptr_equal(dict_find(d, "", 0), &c->node);
    assert_null(dict_find(d, "a", 1));
}

/* ---- growth, shrink, rehash ------------------------------------------------- */

static void test_growth(void **state)
{
    dict_t *d = *state;
    dict_add(d, &entry_new(0)->node);
    assert_int_equal(dict_buckets(d), DICT_MIN_SIZE);
    int saw_rehash = 0;
    for (int i = 1; i < 10000; i++) {
        dict_add(d, &entry_new(i)->node);
        saw_rehash |= dict_is_rehashing(d);
        if (!dict_is_rehashing(d)) {
            /* Load factor stays <= 1 and the size is a power of two. */
            assert_true(d->size[0] >= d->used[0]);
            assert_int_equal(d->size[0] & (d->size[0] - 1), 0);
        }
        if (dict_is_rehashing(d))
            assert_int_equal(d->size[1], 2 * d->size[0]);
    }
    assert_true(saw_rehash);
    finish_rehash(d);
    assert_int_equal(d->size[0], 16384);
    for (int i = 0; i < 10000; i++)
        assert_non_null(find_id(d, i));
}

static void test_lookup_during_rehash(void **state)
{
    dict_t *d = *state;
    for (int i = 0; i < 1024; i++)
        dict_add(d, &entry_new(i)->node);
    finish_rehash(d);
    assert_int_equal(d->size[0], 1024);
    dict_add(d, &entry_new(1024)->node); /* starts the rehash to 2048 */
    assert_true(dict_is_rehashing(d));
    /* Every entry is findable at every point of the rehash; lookups move nothing. */
    int64_t idx = d->rehash_idx;
    for (int i = 0; i <= 1024; i++)
        assert_non_null(find_id(d, i));
    assert_int_equal(d->rehash_idx, idx);
    int rounds = 0;
    while (dict_rehash(d, 7)) {
        rounds++;
        for (int i = 0; i <= 1024; i += 17)
            assert_non_null(find_id(d, i));
        assert_true(rounds < 10000);
    }
    assert_int_equal(d->size[0], 2048);
    assert_int_equal(dict_size(d), 1025);
    for (int i = 0; i <= 1024; i++)
        assert_non_null(find_id(d, i));
}

static void test_shrink(void **state)
{
    dict_t *d = *state;
    for (int i = 0; i < 5000; i++)
        dict_add(d, &entry_new(i)->node);
    finish_rehash(d);
    assert_int_equal(d->size[0], 8192);
    /* 819 = 8192/10: the table shrinks once fewer than 819 entries remain. */
    for (int i = 0; i < 5000 - 819; i++)
        assert_true(unlink_id(d, i));
    assert_false(dict_is_rehashing(d));
    assert_int_equal(d->size[0], 8192);
    assert_true(unlink_id(d, 5000 - 819));
    assert_true(dict_is_rehashing(d));
    assert_int_equal(d->size[1], 1024); /* smallest power of two >= 818 */
    finish_rehash(d);
    for (int i = 5000 - 818; i < 5000; i++)
        assert_non_null(find_id(d, i));
    /* Down to empty: never below DICT_MIN_SIZE. */
    for (int i = 5000 - 818; i < 5000; i++) {
        assert_true(unlink_id(d, i));
        dict_rehash(d, 100);
    }
    finish_rehash(d);
    assert_int_equal(dict_size(d), 0);
    assert_int_equal(d->size[0], DICT_MIN_SIZE);
    /* Reusable afterwards. */
    dict_add(d, &entry_new(1)->node);
    assert_non_null(find_id(d, 1));
}

static void test_expand_and_resize(void **state)
{
    dict_t *d = *state;
    dict_expand(d, 1000);
    assert_int_equal(d->size[0], 1024);
    assert_false(dict_is_rehashing(d));
    for (int i = 0; i < 1000; i++)
        dict_add(d, &entry_new(i)->node);
    assert_false(dict_is_rehashing(d)); /* presized: no rehash needed */
    dict_expand(d, 10);                 /* never shrinks */
    assert_int_equal(d->size[0], 1024);
    dict_expand(d, 4000);
    assert_true(dict_is_rehashing(d));
    assert_int_equal(d->size[1], 4096);
    finish_rehash(d);
    dict_resize_if_needed(d); /* 1000 of 4096: within bounds, nothing to do */
    assert_false(dict_is_rehashing(d));
}

static uint64_t fake_now;
static uint64_t fake_clock(void)
{
    fake_now += 50; /* every read advances 50 us */
    return fake_now;
}

static void test_rehash_ms(void **state)
{
    dict_t *d = *state;
    assert_int_equal(dict_rehash_ms(d, 1, fake_clock), 0);
    dict_expand(d, 64);
    for (int i = 0; i < 64; i++)
        dict_add(d, &entry_new(i)->node);
    /* Make a big sparse-ish rehash: expand to 1 << 20 buckets. */
    dict_expand(d, 1 << 20);
    assert_true(dict_is_rehashing(d));
    int done = dict_rehash_ms(d, 1, fake_clock);
    assert_true(done > 0 && done <= 64);
    int guard = 0;
    while (dict_is_rehashing(d) && guard++ < 100000)
        dict_rehash_ms(d, 1, fake_clock);
    assert_false(dict_is_rehashing(d));
    assert_int_equal(d->size[0], 1 << 20);
    for (int i = 0; i < 64; i++)
        assert_non_null(find_id(d, i));
}

/* ---- iterators -------------------------------------------------------------- */

static void test_iter_pauses_rehash(void **state)
{
    dict_t *d = *state;
    for (int i = 0; i < 1024; i++)
        dict_add(d, &entry_new(i)->node);
    finish_rehash(d);
    dict_add(d, &entry_new(1024)->node);
    dict_rehash(d, 100);
    assert_true(dict_is_rehashing(d));

    int seen[1300] = {0};
    dict_iter_t it;
    dict_iter_init(&it, d);
    int64_t idx = d->rehash_idx;
    int count = 0;
    dict_node_t *n;
    while ((n = dict_iter_next(&it)) != NULL) {
        entry_t *e = (entry_t *)n;
        seen[e->id]++;
        count++;
        if (count % 10 == 0) {
            /* Writes and explicit rehash requests while iterating move nothing. */
            assert_int_equal(dict_rehash(d, 50), 1);
            dict_add(d, &entry_new(1025 + count / 10)->node);
            assert_int_equal(d->rehash_idx, idx);
        }
    }
    dict_iter_deinit(&it);
    for (int i = 0; i <= 1024; i++)
        assert_int_equal(seen[i], 1);
    for (int i = 1025; i < 1300; i++)
        assert_true(seen[i] <= 1);
    /* Once closed, writes rehash again. */
    dict_add(d, &entry_new(5000)->node);
    assert_true(d->rehash_idx != idx || !dict_is_rehashing(d));
    assert_int_equal(d->iterators, 0);
}

static void test_iter_delete_all(void **state)
{
    dict_t *d = *state;
    for (int i = 0; i < 3000; i++)
        dict_add(d, &entry_new(i)->node);
    assert_true(dict_is_rehashing(d) || d->size[0] == 4096);
    int seen[3000] = {0};
    dict_iter_t it;
    dict_iter_init(&it, d);
    dict_node_t *n;
    while ((n = dict_iter_next(&it)) != NULL) {
        entry_t *e = (entry_t *)n;
        seen[e->id]++;
        assert_true(dict_remove_node(d, n)); /* may start a shrink: harmless */
        mem_free(e);
    }
    dict_iter_deinit(&it);
    assert_int_equal(dict_size(d), 0);
    for (int i = 0; i < 3000; i++)
        assert_int_equal(seen[i], 1);
    /* Shrinking waited for the iterator; the next resize check does it. */
    finish_rehash(d);
    dict_resize_if_needed(d);
    finish_rehash(d);
    assert_int_equal(d->size[0], DICT_MIN_SIZE);
}

static void test_iter_empty(void **state)
{
    dict_t *d = *state;
    dict_iter_t it;
    dict_iter_init(&it, d);
    assert_null(dict_iter_next(&it));
    dict_iter_deinit(&it);
    assert_int_equal(d->iterators, 0);
}

/* ---- SCAN ------------------------------------------------------------------- */

typedef struct scan_state_s {
    int *seen;
    int max_id;
} scan_state_t;

static void scan_count(void *arg, dict_node_t *n)
{
    scan_state_t *st = arg;
    entry_t *e = (entry_t *)n;
    if (e->id < st->max_id)
        st->seen[e->id]++;
}

static void test_scan_static(void **state)
{
    dict_t *d = *state;
    assert_int_equal(dict_scan(d, 0, scan_count, NULL), 0); /* empty */
    int seen[777] = {0};
    scan_state_t st = {seen, 777};
    for (int i = 0; i < 777; i++)
        dict_add(d, &entry_new(i)->node);
    finish_rehash(d);
    uint64_t cursor = 0;
    int calls = 0;
    do {
        cursor = dict_scan(d, cursor, scan_count, &st);
        calls++;
    } while (cursor != 0 && calls < 100000);
    assert_int_equal(calls, (int)d->size[0]); /* one bucket per call */
    for (int i = 0; i < 777; i++)
        assert_int_equal(seen[i], 1); /* stable table: exactly once */
}

/*
 * Entries 0..STABLE-1 stay for the whole scan; between scan calls other
 * entries are added and removed in waves that grow the table to 16k buckets
 * and shrink it back, with random rehash progress. Every stable entry must be
 * reported at least once.
 */
#define STABLE 300
#define VOLATILE_BASE 100000

static void scan_under_churn(dict_t *d, uint64_t seed)
{
    rnd_state = seed;
    int seen[STABLE] = {0};
    scan_state_t st = {seen, STABLE};
    for (int i = 0; i < STABLE; i++)
        dict_add(d, &entry_new(i)->node);
    int next_vol = VOLATILE_BASE, live_lo = VOLATILE_BASE;
    int growing = 1, target = 10000;
    uint64_t cursor = 0;
    int calls = 0;
    int saw_grow_rehash = 0, saw_shrink_rehash = 0;
    do {
        cursor = dict_scan(d, cursor, scan_count, &st);
        calls++;
        int ops = (int)(test_rnd() % 400);
        for (int k = 0; k < ops; k++) {
            if (growing) {
                dict_add(d, &entry_new(next_vol++)->node);
                if (next_vol - live_lo >= target)
                    growing = 0;
            } else {
                assert_true(unlink_id(d, live_lo++));
                if (live_lo == next_vol) {
                    growing = 1;
                    target = 1000 + (int)(test_rnd() % 12000);
                }
            }
        }
        if (test_rnd() % 3 == 0)
            dict_rehash(d, (int)(test_rnd() % 64));
        if (dict_is_rehashing(d)) {
            if (d->size[1] > d->size[0])
                saw_grow_rehash = 1;
            else
                saw_shrink_rehash = 1;
        }
    } while (cursor != 0 && calls < 1000000);
    assert_int_equal(cursor, 0);
    for (int i = 0; i < STABLE; i++) {
        if (seen[i] < 1)
            fail_msg("seed %llu: stable entry %d missed by SCAN", (unsigned long long)seed, i);
    }
    assert_true(saw_grow_rehash || saw_shrink_rehash);
    dict_deinit(d, free_entry, NULL);
}

static void test_scan_across_resizes(void **state)
{
    dict_t *d = *state;
    int grow_and_shrink = 0;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        scan_under_churn(d, seed * 0x9e3779b97f4a7c15ULL);
        grow_and_shrink++;
    }
    assert_int_equal(grow_and_shrink, 8);
}

/* Resizes forced at every call: a scan that starts on a big table, which then
 * shrinks to the minimum and grows again, still sees every stable entry. */
static void test_scan_extreme_resizes(void **state)
{
    dict_t *d = *state;
    int seen[8] = {0};
    scan_state_t st = {seen, 8};
    for (int i = 0; i < 8; i++)
        dict_add(d, &entry_new(i)->node);
    dict_expand(d, 1 << 16);
    finish_rehash(d);
    uint64_t cursor = 0;
    int calls = 0, vol = VOLATILE_BASE;
    do {
        cursor = dict_scan(d, cursor, scan_count, &st);
        calls++;
        if (calls % 2 == 1) {
            /* Trigger a shrink (8 of 65536 used) and finish it. */
            dict_add(d, &entry_new(vol)->node);
            assert_true(unlink_id(d, vol++));
            finish_rehash(d);
        } else {
            dict_expand(d, (uint64_t)1 << (4 + calls % 12));
            dict_rehash(d, (int)(test_rnd() % 8));
        }
    } while (cursor != 0 && calls < 1000000);
    for (int i = 0; i < 8; i++)
        assert_true(seen[i] >= 1);
}

static void scan_delete_even(void *arg, dict_node_t *n)
{
    dict_t *d = arg;
    entry_t *e = (entry_t *)n;
    if (e->id % 2 == 0) {
        assert_true(dict_remove_node(d, n));
        mem_free(e);
    } else {
        e->id = -e->id - 1; /* mark odd entries as reported */
    }
}

static void test_scan_callback_deletes(void **state)
{
    dict_t *d = *state;
    for (int i = 0; i < 2000; i++)
        dict_add(d, &entry_new(i)->node);
    uint64_t cursor = 0;
    int calls = 0;
    do {
        cursor = dict_scan(d, cursor, scan_delete_even, d);
    } while (cursor != 0 && ++calls < 1000000);
    assert_int_equal(dict_size(d), 1000);
    dict_iter_t it;
    dict_iter_init(&it, d);
    dict_node_t *n;
    while ((n = dict_iter_next(&it)) != NULL)
        assert_true(((entry_t *)n)->id < 0); /* every odd entry was reported */
    dict_iter_deinit(&it);
}

/* ---- random sampling -------------------------------------------------------- */

static void test_random(void **state)
{
    dict_t *d = *state;
    assert_null(dict_random(d, test_rnd));
    for (int i = 0; i < 50; i++)
        dict_add(d, &entry_new(i)->node);
    int seen[50] = {0};
    for (int k = 0; k < 20000; k++) {
        entry_t *e = (entry_t *)dict_random(d, test_rnd);
        assert_non_null(e);
        assert_ptr_equal(find_id(d, e->id), e);
        seen[e->id]++;
    }
    for (int i = 0; i < 50; i++)
        assert_true(seen[i] > 100); /* every entry comes up; ~400 expected */
    /* A very sparse table (shrink blocked by an open iterator) still works. */
    dict_iter_t it;
    dict_iter_init(&it, d);
    dict_expand(d, 1 << 18);
    for (int i = 1; i < 50; i++)
        assert_true(unlink_id(d, i));
    dict_iter_deinit(&it);
    for (int k = 0; k < 100; k++)
        assert_int_equal(((entry_t *)dict_random(d, test_rnd))->id, 0);
}

static void test_sample(void **state)
{
    dict_t *d = *state;
    dict_node_t *out[64];
    assert_int_equal(dict_sample(d, out, 16, test_rnd), 0);
    for (int i = 0; i < 1000; i++)
        dict_add(d, &entry_new(i)->node);
    static int hits[3000], local[3000];
    memset(hits, 0, sizeof(hits));
    for (int round = 0; round < 2000; round++) {
        size_t n = dict_sample(d, out, 16, test_rnd);
        assert_true(n > 0 && n <= 16);
        memset(local, 0, sizeof(local));
        for (size_t j = 0; j < n; j++) {
            entry_t *e = (entry_t *)out[j];
            assert_ptr_equal(find_id(d, e->id), e);
            assert_int_equal(local[e->id]++, 0); /* no repeats within a sample */
            hits[e->id]++;
        }
        if (round % 100 == 0)
            dict_add(d, &entry_new(1000 + round)->node); /* sometimes mid-rehash */
    }
    int covered = 0;
    for (int i = 0; i < 1000; i++)
        covered += hits[i] > 0;
    assert_true(covered > 900);
    /* Asking for more than the dict holds returns everything, once. */
    dict_deinit(d, free_entry, NULL);
    for (int i = 0; i < 5; i++)
        dict_add(d, &entry_new(i)->node);
    assert_int_equal(dict_sample(d, out, 64, test_rnd), 5);
}

static void test_deinit_frees_all(void **state)
{
    dict_t *d = *state;
    for (int i = 0; i < 3000; i++)
        dict_add(d, &entry_new(i)->node);
    assert_true(dict_is_rehashing(d)); /* entries in both tables */
    int freed = 0;
    dict_deinit(d, free_entry, &freed);
    assert_int_equal(freed, 3000);
    assert_int_equal(dict_size(d), 0);
    assert_int_equal(dict_buckets(d), 0);
    assert_false(dict_is_rehashing(d));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_find_unlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hashed_variants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_growth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup_during_rehash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shrink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expand_and_resize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rehash_ms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iter_pauses_rehash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iter_delete_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iter_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_static, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_across_resizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_extreme_resizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_callback_deletes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sample, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deinit_frees_all, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
