/*
 * dict.h — the project's hash table: intrusive chaining, power-of-two tables,
 * incremental rehash, XXH3 with a per-process random seed, and Redis's SCAN
 * cursor (reverse-binary increment) guarantees.
 *
 * Owns: bucket arrays and the rehash state. Does NOT own entries: an entry is
 * any struct whose first member is a dict_node_t; the caller allocates and frees
 * it. The table learns an entry's key through dict_type_t.key().
 *
 * Invariants:
 *  - Every entry lives in exactly one bucket of ht[0] or ht[1].
 *  - While rehashing (rehash_idx >= 0), buckets of ht[0] below rehash_idx are empty.
 *  - Keys are byte strings compared by length then memcmp; hashing is XXH3-64
 *    seeded by dict_seed (set once at start from a random source).
 *  - Growth: when used >= size of the table (load factor 1) the table doubles;
 *    shrink to the smallest power of two >= used when used < size / 10 (never
 *    below DICT_MIN_SIZE). Each write operation does one rehash step; callers may
 *    also run dict_rehash_ms() from a timer.
 *  - While a dict_iter_t is open on a dict, no rehash step happens (so deletions
 *    of the current entry during iteration are safe).
 *  - Lookups (dict_find*, dict_random, dict_sample, dict_scan) never move entries;
 *    only write operations and dict_rehash*() do. Read-heavy tables finish their
 *    rehash through dict_rehash_ms() from a timer.
 */
#ifndef TESSERA_DICT_H
#define TESSERA_DICT_H

#include <stddef.h>
#include <stdint.h>

#define DICT_MIN_SIZE 4

typedef struct dict_node_s {
    struct dict_node_s *next;
} dict_node_t;

typedef struct dict_type_s {
    /* Where the key of an entry lives. Required. */
    void (*key)(const dict_node_t *n, const char **k, size_t *len);
} dict_type_t;

typedef struct dict_s {
    const dict_type_t *type;
    dict_node_t **ht[2];
    uint64_t size[2];   /* bucket count, 0 or a power of two */
    uint64_t used[2];   /* entries */
    int64_t rehash_idx; /* -1 when not rehashing */
    int iterators;      /* open iterators pause rehashing */
} dict_t;

typedef struct dict_iter_s {
    dict_t *d;
    int table;
    uint64_t index;
    dict_node_t *next; /* fetched before returning current, so current may be unlinked */
} dict_iter_t;

extern uint64_t dict_seed;
/* Sets the process-wide hash seed. Call once at start, before any dict holds
 * entries (changing it later makes existing entries unfindable). */
void dict_set_seed(uint64_t seed);
/* XXH3-64 of the key with dict_seed: the value the *_hashed variants expect. */
uint64_t dict_hash(const char *k, size_t len);

/* An empty dict with no bucket array (the first insert allocates DICT_MIN_SIZE). */
void dict_init(dict_t *d, const dict_type_t *type);
/* Frees bucket arrays only; entries are handed to free_entry (may be NULL) first.
 * Leaves d as after dict_init (so FLUSHALL is deinit + reuse). */
void dict_deinit(dict_t *d, void (*free_entry)(dict_node_t *n, void *arg), void *arg);
static inline uint64_t dict_size(const dict_t *d) { return d->used[0] + d->used[1]; }
static inline uint64_t dict_buckets(const dict_t *d) { return d->size[0] + d->size[1]; }

/* Lookup. Returns the entry or NULL. */
dict_node_t *dict_find(dict_t *d, const char *k, size_t len);
/*
 * Returns the address of the link that points to the entry with this key (so
 * the caller may replace the entry in place with dict_replace_link), or NULL if
 * absent. Valid until the next write operation on the dict.
 */
dict_node_t **dict_find_link(dict_t *d, const char *k, size_t len);
/* Replace *link (found by dict_find_link) by n, which has the same key. */
void dict_replace_link(dict_node_t **link, dict_node_t *n);
/* Insert an entry whose key is known to be absent. */
void dict_add(dict_t *d, dict_node_t *n);

/*
 * The same operations with the key's hash computed by the caller (h must be
 * dict_hash(k, len), or dict_hash of n's key for dict_add_hashed). The keyspace
 * hashes a key once for "find, then add or replace" (SET).
 */
dict_node_t *dict_find_hashed(dict_t *d, const char *k, size_t len, uint64_t h);
dict_node_t **dict_find_link_hashed(dict_t *d, const char *k, size_t len, uint64_t h);
void dict_add_hashed(dict_t *d, dict_node_t *n, uint64_t h);
dict_node_t *dict_unlink_hashed(dict_t *d, const char *k, size_t len, uint64_t h);
/* Unlink and return the entry with this key, or NULL. Caller frees it. May start
 * a shrink (used < size / 10). */
dict_node_t *dict_unlink(dict_t *d, const char *k, size_t len);
/* Unlink this exact entry (pointer identity); returns 1 if found. */
int dict_remove_node(dict_t *d, dict_node_t *n);
/* Grow/shrink as the rules above say; called by writers, exposed for tests and
 * for a cron (a table emptied while an iterator was open, or while a rehash was
 * running, shrinks only at the next delete or call here). Note it also shrinks a
 * table that dict_expand presized but that has not been filled yet. */
void dict_resize_if_needed(dict_t *d);
/* Ensure capacity for n entries (rounded up to a power of two). */
void dict_expand(dict_t *d, uint64_t n);
/* Do up to n bucket moves (visiting at most 10 * n empty buckets). Does nothing
 * while an iterator is open. Returns 1 if more rehashing is pending. */
int dict_rehash(dict_t *d, int n);
/* Rehash for about ms milliseconds, checking now_us() every 100 bucket moves.
 * Returns the number of bucket moves done (0 if not rehashing or paused). */
int dict_rehash_ms(dict_t *d, int ms, uint64_t (*now_us)(void));
static inline int dict_is_rehashing(const dict_t *d) { return d->rehash_idx != -1; }

/*
 * Iteration: every entry present for the whole iteration is returned exactly
 * once. While an iterator is open the dict may be written (adds may or may not
 * be returned); the entry last returned may be unlinked and freed, other
 * entries may be unlinked except the one that follows it in its chain (use
 * dict_scan for bulk deletion). Every dict_iter_init needs its dict_iter_deinit.
 */
void dict_iter_init(dict_iter_t *it, dict_t *d);
dict_node_t *dict_iter_next(dict_iter_t *it);
void dict_iter_deinit(dict_iter_t *it);

/*
 * SCAN: calls fn for every entry of the bucket(s) the cursor names and returns
 * the next cursor (0 when done). An entry present for the whole scan is
 * reported at least once, even across resizes and rehash steps between calls;
 * entries may be reported more than once. Start with cursor 0. fn may unlink
 * (and free) the entry it is given, but must not add entries.
 */
typedef void (*dict_scan_fn)(void *arg, dict_node_t *n);
uint64_t dict_scan(dict_t *d, uint64_t cursor, dict_scan_fn fn, void *arg);

/* A random entry (fair enough for RANDOMKEY / eviction sampling), NULL if empty.
 * rnd supplies randomness so callers can inject it. */
dict_node_t *dict_random(dict_t *d, uint64_t (*rnd)(void));
/* Up to count distinct entries from random places (fewer if the dict is small
 * or sparse; no entry repeats). Returns how many were stored in out. */
size_t dict_sample(dict_t *d, dict_node_t **out, size_t count, uint64_t (*rnd)(void));

#endif
