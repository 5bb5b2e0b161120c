/*
 * dict.c — intrusive chained hash table with incremental rehash (see dict.h).
 *
 * Owns: the bucket arrays ht[0]/ht[1] and the rehash cursor. Entries belong to
 * the caller; this file only links and unlinks them.
 * Must not: allocate or free entries, call back into the caller except through
 * dict_type_t.key() and the scan/free callbacks, or move entries while
 * d->iterators > 0.
 * Invariants:
 *  - size[t] is 0 or a power of two; ht[1] is non-NULL only while rehashing.
 *  - While rehashing, ht[0] buckets below rehash_idx are empty and new entries
 *    go to ht[1]; a rehash ends (ht[1] becomes ht[0]) when used[0] reaches 0.
 *  - An entry's bucket is hash & (size - 1): the low bits of the hash. SCAN's
 *    reverse-binary cursor relies on it.
 */
#include "dict.h"

#include "mem.h"

#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

/* Empty buckets dict_rehash may skip per bucket move it was asked for. */
#define DICT_EMPTY_VISITS_PER_STEP 10
/* Bucket moves between two clock reads in dict_rehash_ms. */
#define DICT_REHASH_MS_BATCH 100
/* Random probes dict_random makes before falling back to a linear walk. */
#define DICT_RANDOM_PROBES 256
/* Largest bucket array we ever ask for (2^60 buckets is beyond any memory). */
#define DICT_MAX_SIZE (1ULL << 60)

uint64_t dict_seed;

void dict_set_seed(uint64_t seed)
{
    dict_seed = seed;
}

static inline uint64_t hash_bytes(const char *k, size_t len)
{
    return XXH3_64bits_withSeed(k, len, dict_seed);
}

uint64_t dict_hash(const char *k, size_t len)
{
    return hash_bytes(k, len);
}

static inline uint64_t node_hash(const dict_t *d, const dict_node_t *n)
{
    const char *k;
    size_t len;
    d->type->key(n, &k, &len);
    return hash_bytes(k, len);
}

static inline int node_has_key(const dict_t *d, const dict_node_t *n, const char *k, size_t len)
{
    const char *nk;
    size_t nlen;
    d->type->key(n, &nk, &nlen);
    return nlen == len && memcmp(nk, k, len) == 0;
}

/* Smallest power of two >= n, at least DICT_MIN_SIZE, at most DICT_MAX_SIZE. */
static uint64_t table_size_for(uint64_t n)
{
    if (n <= DICT_MIN_SIZE)
        return DICT_MIN_SIZE;
    if (n >= DICT_MAX_SIZE)
        return DICT_MAX_SIZE;
    return 1ULL << (64 - __builtin_clzll(n - 1));
}

void dict_init(dict_t *d, const dict_type_t *type)
{
    d->type = type;
    d->ht[0] = d->ht[1] = NULL;
    d->size[0] = d->size[1] = 0;
    d->used[0] = d->used[1] = 0;
    d->rehash_idx = -1;
    d->iterators = 0;
}

void dict_deinit(dict_t *d, void (*free_entry)(dict_node_t *n, void *arg), void *arg)
{
    for (int t = 0; t < 2; t++) {
        if (free_entry != NULL) {
            for (uint64_t i = 0; i < d->size[t]; i++) {
                dict_node_t *n = d->ht[t][i];
                while (n != NULL) {
                    dict_node_t *next = n->next;
                    free_entry(n, arg);
                    n = next;
                }
            }
        }
        mem_free(d->ht[t]);
    }
    int iterators = d->iterators; /* an open iterator still closes later */
    dict_init(d, d->type);
    d->iterators = iterators;
}

/* ---- resizing and rehashing --------------------------------------------- */

/* Ends a finished rehash: ht[1] becomes the only table. */
static void rehash_finish(dict_t *d)
{
    mem_free(d->ht[0]);
    d->ht[0] = d->ht[1];
    d->size[0] = d->size[1];
    d->used[0] = d->used[1];
    d->ht[1] = NULL;
    d->size[1] = 0;
    d->used[1] = 0;
    d->rehash_idx = -1;
}

/* Moves every entry of ht[0][rehash_idx] into ht[1]. */
static void rehash_bucket(dict_t *d)
{
    uint64_t mask = d->size[1] - 1;
    dict_node_t **to = d->ht[1];
    dict_node_t *n = d->ht[0][d->rehash_idx];
    while (n != NULL) {
        dict_node_t *next = n->next;
        uint64_t idx = node_hash(d, n) & mask;
        n->next = to[idx];
        to[idx] = n;
        d->used[0]--;
        d->used[1]++;
        n = next;
    }
    d->ht[0][d->rehash_idx] = NULL;
    d->rehash_idx++;
}

/* Up to n bucket moves; returns how many non-empty buckets were moved. */
static int rehash_steps(dict_t *d, int n)
{
    if (!dict_is_rehashing(d) || d->iterators > 0)
        return 0;
    int moved = 0;
    int64_t empty_left = (int64_t)n * DICT_EMPTY_VISITS_PER_STEP;
    while (moved < n && d->used[0] != 0) {
        while (d->ht[0][d->rehash_idx] == NULL) {
            d->rehash_idx++;
            if (--empty_left <= 0)
                return moved;
        }
        rehash_bucket(d);
        moved++;
    }
    if (d->used[0] == 0)
        rehash_finish(d);
    return moved;
}

/* The one step every write operation pays while a rehash is in progress. */
static inline void rehash_step(dict_t *d)
{
    if (dict_is_rehashing(d) && d->iterators == 0)
        rehash_steps(d, 1);
}

int dict_rehash(dict_t *d, int n)
{
    rehash_steps(d, n);
    return dict_is_rehashing(d);
}

int dict_rehash_ms(dict_t *d, int ms, uint64_t (*now_us)(void))
{
    if (!dict_is_rehashing(d) || d->iterators > 0)
        return 0;
    uint64_t start = now_us();
    uint64_t budget = ms > 0 ? (uint64_t)ms * 1000 : 0;
    int done = 0;
    while (dict_is_rehashing(d)) {
        done += rehash_steps(d, DICT_REHASH_MS_BATCH);
        if (now_us() - start >= budget)
            break;
    }
    return done;
}

/*
 * Makes the table size new_size: allocates the first table directly, swaps an
 * empty table directly, and otherwise starts an incremental rehash. Does
 * nothing while rehashing or when the size would not change.
 */
static void resize_to(dict_t *d, uint64_t new_size)
{
    if (dict_is_rehashing(d) || new_size == d->size[0])
        return;
    dict_node_t **table = mem_calloc(new_size * sizeof(*table));
    if (d->size[0] == 0 || (d->used[0] == 0 && d->iterators == 0)) {
        mem_free(d->ht[0]);
        d->ht[0] = table;
        d->size[0] = new_size;
        return;
    }
    d->ht[1] = table;
    d->size[1] = new_size;
    d->used[1] = 0;
    d->rehash_idx = 0;
}

/* Grow at load factor 1 (doubling); called before an insert. */
static inline void grow_if_needed(dict_t *d)
{
    if (dict_is_rehashing(d))
        return;
    if (d->size[0] == 0)
        resize_to(d, DICT_MIN_SIZE);
    else if (d->used[0] >= d->size[0])
        resize_to(d, table_size_for(d->used[0] + 1));
}

/* Shrink when fewer than one bucket in ten would be used; called after a delete. */
static inline void shrink_if_needed(dict_t *d)
{
    if (dict_is_rehashing(d) || d->size[0] <= DICT_MIN_SIZE)
        return;
    if (d->used[0] < d->size[0] / 10)
        resize_to(d, table_size_for(d->used[0]));
}

void dict_resize_if_needed(dict_t *d)
{
    if (d->size[0] == 0)
        return;
    grow_if_needed(d);
    shrink_if_needed(d);
}

void dict_expand(dict_t *d, uint64_t n)
{
    uint64_t want = table_size_for(n);
    if (dict_is_rehashing(d) || want <= d->size[0])
        return;
    resize_to(d, want);
}

/* ---- lookup, insert, delete ------------------------------------------------ */

/*
 * Finds the link pointing at the entry with key k (hash h) and reports its
 * table in *table. Touches only the buckets that can hold the key.
 */
static dict_node_t **find_link(dict_t *d, const char *k, size_t len, uint64_t h, int *table)
{
    if (d->used[0] + d->used[1] == 0)
        return NULL;
    for (int t = 0; t < 2; t++) {
        uint64_t idx = h & (d->size[t] - 1);
        if (t == 0 && d->rehash_idx > 0 && idx < (uint64_t)d->rehash_idx)
            continue; /* already moved to ht[1] */
        dict_node_t **link = &d->ht[t][idx];
        while (*link != NULL) {
            if (node_has_key(d, *link, k, len)) {
                *table = t;
                return link;
            }
            link = &(*link)->next;
        }
        if (!dict_is_rehashing(d))
            break;
    }
    return NULL;
}

dict_node_t **dict_find_link_hashed(dict_t *d, const char *k, size_t len, uint64_t h)
{
    int t;
    return find_link(d, k, len, h, &t);
}

dict_node_t *dict_find_hashed(dict_t *d, const char *k, size_t len, uint64_t h)
{
    int t;
    dict_node_t **link = find_link(d, k, len, h, &t);
    return link ? *link : NULL;
}

dict_node_t **dict_find_link(dict_t *d, const char *k, size_t len)
{
    return dict_find_link_hashed(d, k, len, hash_bytes(k, len));
}

dict_node_t *dict_find(dict_t *d, const char *k, size_t len)
{
    return dict_find_hashed(d, k, len, hash_bytes(k, len));
}

void dict_replace_link(dict_node_t **link, dict_node_t *n)
{
    n->next = (*link)->next;
    *link = n;
}

void dict_add_hashed(dict_t *d, dict_node_t *n, uint64_t h)
{
    rehash_step(d);
    grow_if_needed(d);
    int t = dict_is_rehashing(d) ? 1 : 0;
    dict_node_t **bucket = &d->ht[t][h & (d->size[t] - 1)];
    n->next = *bucket;
    *bucket = n;
    d->used[t]++;
}

void dict_add(dict_t *d, dict_node_t *n)
{
    dict_add_hashed(d, n, node_hash(d, n));
}

dict_node_t *dict_unlink_hashed(dict_t *d, const char *k, size_t len, uint64_t h)
{
    rehash_step(d);
    int t;
    dict_node_t **link = find_link(d, k, len, h, &t);
    if (link == NULL)
        return NULL;
    dict_node_t *n = *link;
    *link = n->next;
    n->next = NULL;
    d->used[t]--;
    shrink_if_needed(d);
    return n;
}

dict_node_t *dict_unlink(dict_t *d, const char *k, size_t len)
{
    return dict_unlink_hashed(d, k, len, hash_bytes(k, len));
}

int dict_remove_node(dict_t *d, dict_node_t *n)
{
    rehash_step(d);
    if (dict_size(d) == 0)
        return 0;
    uint64_t h = node_hash(d, n);
    for (int t = 0; t < (dict_is_rehashing(d) ? 2 : 1); t++) {
        dict_node_t **link = &d->ht[t][h & (d->size[t] - 1)];
        while (*link != NULL && *link != n)
            link = &(*link)->next;
        if (*link == n) {
            *link = n->next;
            n->next = NULL;
            d->used[t]--;
            shrink_if_needed(d);
            return 1;
        }
    }
    return 0;
}

/* ---- iteration ------------------------------------------------------------- */

void dict_iter_init(dict_iter_t *it, dict_t *d)
{
    it->d = d;
    it->table = 0;
    it->index = 0;
    it->next = NULL;
    d->iterators++;
}

dict_node_t *dict_iter_next(dict_iter_t *it)
{
    dict_t *d = it->d;
    while (it->next == NULL) {
        if (it->index >= d->size[it->table]) {
            if (it->table == 1 || !dict_is_rehashing(d))
                return NULL;
            it->table = 1;
            it->index = 0;
            continue;
        }
        it->next = d->ht[it->table][it->index++];
    }
    dict_node_t *n = it->next;
    it->next = n->next;
    return n;
}

void dict_iter_deinit(dict_iter_t *it)
{
    if (it->d != NULL) {
        it->d->iterators--;
        it->d = NULL;
    }
}

/* ---- SCAN ------------------------------------------------------------------ */

static inline uint64_t rev64(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0f0f0f0f0f0f0f0fULL) | ((v & 0x0f0f0f0f0f0f0f0fULL) << 4);
    return __builtin_bswap64(v);
}

/* Adds one to the cursor counting from its high bits down to the mask's top. */
static inline uint64_t cursor_next(uint64_t v, uint64_t mask)
{
    v |= ~mask;
    return rev64(rev64(v) + 1);
}

/* Reports every entry of one chain; the next link is read before fn runs. */
static void scan_bucket(dict_node_t *n, dict_scan_fn fn, void *arg)
{
    while (n != NULL) {
        dict_node_t *next = n->next;
        fn(arg, n);
        n = next;
    }
}

/*
 * The cursor's low bits name a bucket of the table; it advances in reversed
 * bit order so that buckets already visited in a smaller table correspond to
 * already-visited buckets after a grow (their expansions) and after a shrink
 * (their fold). While rehashing, the cursor's bucket in the smaller table is
 * visited, then all its expansions in the larger one.
 */
uint64_t dict_scan(dict_t *d, uint64_t cursor, dict_scan_fn fn, void *arg)
{
    if (dict_size(d) == 0)
        return 0;
    uint64_t v = cursor;
    d->iterators++;
    if (!dict_is_rehashing(d)) {
        uint64_t m0 = d->size[0] - 1;
        scan_bucket(d->ht[0][v & m0], fn, arg);
        v = cursor_next(v, m0);
    } else {
        int small = d->size[0] <= d->size[1] ? 0 : 1;
        dict_node_t **t0 = d->ht[small], **t1 = d->ht[!small];
        uint64_t m0 = d->size[small] - 1, m1 = d->size[!small] - 1;
        scan_bucket(t0[v & m0], fn, arg);
        do {
            scan_bucket(t1[v & m1], fn, arg);
            v = cursor_next(v, m1);
        } while (v & (m0 ^ m1));
    }
    d->iterators--;
    return v;
}

/* ---- random sampling -------------------------------------------------------- */

/* The chain at virtual bucket i of [0, size[0] + size[1]). */
static inline dict_node_t *virtual_bucket(const dict_t *d, uint64_t i)
{
    return i < d->size[0] ? d->ht[0][i] : d->ht[1][i - d->size[0]];
}

dict_node_t *dict_random(dict_t *d, uint64_t (*rnd)(void))
{
    if (dict_size(d) == 0)
        return NULL;
    /* Buckets of ht[0] below rehash_idx are empty; skip them. */
    uint64_t first = dict_is_rehashing(d) ? (uint64_t)d->rehash_idx : 0;
    uint64_t span = d->size[0] + d->size[1] - first;
    dict_node_t *chain = NULL;
    for (int i = 0; i < DICT_RANDOM_PROBES && chain == NULL; i++)
        chain = virtual_bucket(d, first + rnd() % span);
    if (chain == NULL) {
        /* Very sparse table: walk from a random bucket to the next non-empty one. */
        uint64_t start = rnd() % span;
        for (uint64_t i = 0; i < span && chain == NULL; i++)
            chain = virtual_bucket(d, first + (start + i) % span);
    }
    uint64_t len = 0;
    for (dict_node_t *n = chain; n != NULL; n = n->next)
        len++;
    uint64_t pick = rnd() % len;
    while (pick-- > 0)
        chain = chain->next;
    return chain;
}

/*
 * Walks consecutive bucket indices from a random start (both tables at the same
 * index while rehashing), collecting whole chains. Each index is visited at
 * most once, so no entry repeats; the walk is bounded by 10 * count steps.
 */
size_t dict_sample(dict_t *d, dict_node_t **out, size_t count, uint64_t (*rnd)(void))
{
    uint64_t total = dict_size(d);
    if (count > total)
        count = total;
    if (count == 0)
        return 0;
    int tables = dict_is_rehashing(d) ? 2 : 1;
    uint64_t mask = d->size[0] - 1;
    if (tables == 2 && d->size[1] > d->size[0])
        mask = d->size[1] - 1;
    uint64_t steps = (uint64_t)count * 10;
    if (steps > mask + 1)
        steps = mask + 1;
    uint64_t i = rnd() & mask;
    size_t stored = 0;
    while (stored < count && steps-- > 0) {
        for (int t = 0; t < tables && stored < count; t++) {
            if (i >= d->size[t] || (t == 0 && tables == 2 && i < (uint64_t)d->rehash_idx))
                continue;
            for (dict_node_t *n = d->ht[t][i]; n != NULL && stored < count; n = n->next)
                out[stored++] = n;
        }
        i = (i + 1) & mask;
    }
    return stored;
}
