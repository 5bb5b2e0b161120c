/*
 * thash.h — hashes in Redis 7.0's two encodings, behind one facade:
 *  - ENC_LISTPACK: field,value pairs in insertion order (RDB/DUMP type 16 is
 *    the listpack's bytes), while there are at most hash-max-listpack-entries
 *    (128) fields and no field or value longer than hash-max-listpack-value
 *    (64) bytes;
 *  - ENC_HT: a dict with one allocation per field (dict link, two u32 lengths,
 *    field bytes, value bytes). A value update that fits the allocation's
 *    usable size is done in place. Never converted back to a listpack.
 *
 * A thash_t is the {enc, ptr} pair the keyspace entry stores (kv.h numbers);
 * writers may change both and the caller stores them back.
 *
 * Fields and values are reported as listpack_val_t: s == NULL means the
 * integer v (listpack entries that were canonical integers), otherwise s/len
 * are borrowed bytes valid until the next write to the hash.
 */
#ifndef TESSERA_THASH_H
#define TESSERA_THASH_H

#include <stddef.h>
#include <stdint.h>

#include "ks/kv.h"
#include "ks/listpack.h"
#include "lib/dict.h"

typedef struct thash_s {
    int enc;   /* ENC_LISTPACK or ENC_HT */
    void *ptr; /* listpack bytes or dict_t * */
} thash_t;

/* hash-max-listpack-entries / hash-max-listpack-value (128 / 64). */
void thash_set_limits(size_t max_entries, size_t max_value);
void thash_get_limits(size_t *max_entries, size_t *max_value);

/* An empty hash (always a listpack, as Redis creates them). */
void thash_init(thash_t *h);
void thash_deinit(thash_t *h);
void thash_dup(thash_t *dst, const thash_t *src);
size_t thash_len(const thash_t *h);
size_t thash_mem(const thash_t *h);
/* Convert a listpack hash to ENC_HT. */
void thash_convert(thash_t *h, int enc);
/* Convert to ENC_HT now if any of the lengths about to be written exceeds the
 * value limit, or their sum would make the listpack unsafe (Redis's
 * hashTypeTryConversion, run before HSET/HSETNX/HINCRBY* write). */
void thash_try_convert(thash_t *h, size_t max_len, size_t sum_len);

#define THASH_SET_NO_LEN_CHECK 1 /* flags: skip the value-length rule (HINCRBYFLOAT) */

/*
 * Set field to value. Unless THASH_SET_NO_LEN_CHECK, a field or value longer
 * than the value limit converts the hash first; after adding, a listpack with
 * more than max_entries fields converts. Returns 1 if the field is new, 0 if
 * an existing value was replaced.
 */
int thash_set(thash_t *h, const char *f, size_t flen, const char *v, size_t vlen, int flags);
/* 1 and *out (borrowed) if the field exists. */
int thash_get(const thash_t *h, const char *f, size_t flen, listpack_val_t *out);
int thash_exists(const thash_t *h, const char *f, size_t flen);
/* Remove a field; returns 1 if it existed. */
int thash_del(thash_t *h, const char *f, size_t flen);

/* Iteration over field,value pairs (listpack: insertion order). The hash must
 * not be written while iterating. */
typedef struct thash_iter_s {
    const thash_t *h;
    unsigned char *p; /* listpack: next field entry */
    dict_iter_t di;
} thash_iter_t;
void thash_iter_init(thash_iter_t *it, const thash_t *h);
int thash_iter_next(thash_iter_t *it, listpack_val_t *field, listpack_val_t *value);
void thash_iter_deinit(thash_iter_t *it);

/* HSCAN: listpacks are reported whole and return 0; hashtables follow
 * dict_scan's cursor. */
typedef void (*thash_visit_fn)(void *arg, const listpack_val_t *field, const listpack_val_t *value);
uint64_t thash_scan(const thash_t *h, uint64_t cursor, thash_visit_fn fn, void *arg);

/*
 * HRANDFIELD helpers. thash_random: one uniformly chosen pair (hash not
 * empty). thash_random_many: count picks; unique = 0 allows repeats, unique = 1
 * gives min(count, len) distinct fields (listpack: in hash order, as Redis;
 * hashtable: random order). Returns the number visited.
 */
void thash_random(const thash_t *h, uint64_t (*rnd)(void), listpack_val_t *field,
                  listpack_val_t *value);
size_t thash_random_many(const thash_t *h, size_t count, int unique, uint64_t (*rnd)(void),
                         thash_visit_fn fn, void *arg);

/* Deep check of an untrusted hash listpack (RDB type 16): valid listpack,
 * even number of entries, no duplicate field. */
int thash_listpack_validate(const unsigned char *lp, size_t size);

/* kv hooks for OBJ_HASH (free, dup, mem). */
extern const kv_type_ops_t thash_kv_ops;

#endif
