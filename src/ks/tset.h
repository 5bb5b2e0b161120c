/*
 * tset.h — sets in Redis 7.0's two encodings, behind one facade:
 *  - ENC_INTSET: an intset (intset.h) while every member is a canonical
 *    integer (str_to_ll rules) and there are at most set-max-intset-entries
 *    (default 512) members; the RDB/DUMP type 11 blob is its bytes;
 *  - ENC_HT: a dict of members, one allocation per member (dict link, length,
 *    bytes). A set never goes back from ENC_HT to ENC_INTSET.
 * (Redis 7.2's listpack sets are not used: 7.0 reports "intset"/"hashtable".)
 *
 * A tset_t is the {enc, ptr} pair the keyspace entry stores (kv.h numbers);
 * writers may change both and the caller stores them back.
 *
 * Members are reported as listpack_val_t: s == NULL means the integer v
 * (intset members), otherwise s/len are borrowed bytes valid until the next
 * write to the set.
 */
#ifndef TESSERA_TSET_H
#define TESSERA_TSET_H

#include <stddef.h>
#include <stdint.h>

#include "ks/kv.h"
#include "ks/listpack.h"
#include "lib/dict.h"

typedef struct tset_s {
    int enc;   /* ENC_INTSET or ENC_HT */
    void *ptr; /* intset_t * or dict_t * */
} tset_t;

/* set-max-intset-entries (default 512; values above 2^30 act as 2^30). */
void tset_set_limits(size_t max_intset_entries);
size_t tset_get_limit(void);

/* An empty set suited to its first member (Redis's setTypeCreate): intset if
 * first is a canonical integer, else hashtable. */
void tset_init(tset_t *s, const char *first, size_t len);
/* An empty set with the given encoding (ENC_HT with room for size_hint). */
void tset_init_enc(tset_t *s, int enc, size_t size_hint);
void tset_deinit(tset_t *s);
void tset_dup(tset_t *dst, const tset_t *src);
size_t tset_len(const tset_t *s);
size_t tset_mem(const tset_t *s);
/* Convert an intset set to ENC_HT. */
void tset_convert(tset_t *s, int enc);

/* Add m; returns 1 if added, 0 if already a member. */
int tset_add(tset_t *s, const char *m, size_t len);
int tset_add_int(tset_t *s, long long v);
/* Remove m; returns 1 if it was a member. */
int tset_remove(tset_t *s, const char *m, size_t len);
int tset_contains(const tset_t *s, const char *m, size_t len);

/* Iteration. The set must not be written while iterating. */
typedef struct tset_iter_s {
    const tset_t *s;
    uint32_t pos;   /* intset position */
    dict_iter_t di; /* hashtable */
} tset_iter_t;
void tset_iter_init(tset_iter_t *it, const tset_t *s);
int tset_iter_next(tset_iter_t *it, listpack_val_t *out);
void tset_iter_deinit(tset_iter_t *it);

/* SSCAN: intsets are reported whole and return 0; hashtables follow
 * dict_scan's cursor. */
typedef void (*tset_visit_fn)(void *arg, const listpack_val_t *m);
uint64_t tset_scan(const tset_t *s, uint64_t cursor, tset_visit_fn fn, void *arg);

/*
 * SRANDMEMBER/SPOP helpers. tset_random: one uniformly chosen member (set not
 * empty). tset_random_many: count picks; unique = 0 allows repeats, unique = 1
 * gives min(count, len) distinct members in random order. Returns the number
 * visited. The set must not be written from fn.
 */
void tset_random(const tset_t *s, uint64_t (*rnd)(void), listpack_val_t *out);
size_t tset_random_many(const tset_t *s, size_t count, int unique, uint64_t (*rnd)(void),
                        tset_visit_fn fn, void *arg);

/* A uniformly chosen entry of a non-empty dict (bucket rejection sampling;
 * dict_random favours short chains). Shared with thash. */
dict_node_t *tset_dict_fair_random(dict_t *d, uint64_t (*rnd)(void));
/* count (< dict_size) distinct uniformly chosen entries into out, in random
 * order. Shared with thash. */
void tset_dict_pick_unique(dict_t *d, size_t count, uint64_t (*rnd)(void), dict_node_t **out);

/* kv hooks for OBJ_SET (free, dup, mem). */
extern const kv_type_ops_t tset_kv_ops;

#endif
