/*
 * kv.h — one keyspace entry: key, value and optional TTL in ONE allocation.
 *
 * Owns: the entry layout, the string value encodings (int, embstr, raw) and
 * Redis's rules for choosing them, the heap string str_t behind "raw", and the
 * per-type hooks (free, dup) through which list/set/hash/zset values plug in.
 * Must not: know about databases, the volatile index or hooks (db.h does).
 *
 * Layout: a 16-byte header then data[]:
 *   [if has_expire: int64 expire_ms, uint32 vol_idx]   (12 bytes, unaligned)
 *   [key bytes, klen]
 *   [value part]  ENC_EMBSTR: uint32 vlen + vlen bytes
 *                 ENC_INT:    int64
 *                 otherwise:  void * (ENC_RAW: str_t *; other types: their object)
 * Fields in data[] are unaligned and read/written with memcpy. The key sits
 * first so the hash table finds it at a fixed offset (0 or 12).
 *
 * Invariants:
 *  - type/enc use Redis's numbers (OBJECT ENCODING names come from enc).
 *  - An OBJ_STRING entry is ENC_INT, ENC_EMBSTR (value <= KV_EMBSTR_MAX bytes)
 *    or ENC_RAW (str_t, may carry spare capacity for APPEND/SETRANGE).
 *  - The entry's size never changes after allocation: changing a value to a
 *    different size, or adding/removing the TTL slot, makes a new entry
 *    (db.h does that and fixes the table link and the volatile index).
 *    ENC_INT values, pointers and the expire time may be changed in place.
 *  - unshared: an ENC_INT string Redis would hold as a private object although
 *    its value is a shared integer (0..9999), i.e. a COPY of one; only OBJECT
 *    REFCOUNT looks at it. Kept by rename/move, cleared by new values.
 */
#ifndef TESSERA_KV_H
#define TESSERA_KV_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../lib/dict.h"
#include "../lib/slice.h"

/* Value types (Redis's OBJ_* numbers). */
enum {
    OBJ_STRING = 0,
    OBJ_LIST = 1,
    OBJ_SET = 2,
    OBJ_ZSET = 3,
    OBJ_HASH = 4,
    OBJ_MODULE = 5,
    OBJ_STREAM = 6,
    OBJ_TYPES = 7
};

/* Encodings (Redis's OBJ_ENCODING_* numbers). */
enum {
    ENC_RAW = 0,
    ENC_INT = 1,
    ENC_HT = 2,
    ENC_ZIPMAP = 3,
    ENC_LINKEDLIST = 4,
    ENC_ZIPLIST = 5,
    ENC_INTSET = 6,
    ENC_SKIPLIST = 7,
    ENC_EMBSTR = 8,
    ENC_QUICKLIST = 9,
    ENC_STREAM = 10,
    ENC_LISTPACK = 11,
    ENC_COUNT = 12
};

#define KV_EMBSTR_MAX 44   /* longest value stored as "embstr" (Redis's limit) */
#define KV_INT_MAXLEN 20   /* longest text that may become "int" */
#define KV_EXPIRE_BYTES 12 /* int64 expire_ms + uint32 vol_idx */
#define KV_LRU_MAX ((1u << 24) - 1)

typedef struct kv_s {
    dict_node_t node; /* chaining in the db's table; must be first */
    uint32_t lru : 24, type : 4, enc : 4;
    uint32_t klen : 30, has_expire : 1, unshared : 1;
    char data[];
} kv_t;

/* Heap string behind ENC_RAW. cap >= len; data has cap bytes (no NUL kept). */
typedef struct str_s {
    uint32_t len, cap;
    char data[];
} str_t;

/* ---- str_t --------------------------------------------------------------- */

/* New string holding p[0..len) with exactly cap >= len bytes of room. */
str_t *str_new(const char *p, size_t len, size_t cap);
void str_free(str_t *s);
/* Make room for total length `need` (greedy growth like Redis: double below
 * 1 MiB, +1 MiB above). Returns the (possibly moved) string. */
str_t *str_reserve(str_t *s, size_t need);

/* ---- entry accessors (all O(1)) ------------------------------------------ */

static inline char *kv_keyp(const kv_t *kv)
{
    return (char *)kv->data + (kv->has_expire ? KV_EXPIRE_BYTES : 0);
}
static inline slice_t kv_key(const kv_t *kv)
{
    return (slice_t){kv_keyp(kv), kv->klen};
}
/* Expire time in unix ms, or -1 when the key has no TTL. */
static inline long long kv_expire(const kv_t *kv)
{
    int64_t e;
    if (!kv->has_expire)
        return -1;
    memcpy(&e, kv->data, sizeof e);
    return e;
}
/* Change the expire time of an entry that has the TTL slot (has_expire). */
static inline void kv_set_expire_inplace(kv_t *kv, long long when_ms)
{
    int64_t e = when_ms;
    memcpy(kv->data, &e, sizeof e);
}
static inline uint32_t kv_vol_idx(const kv_t *kv)
{
    uint32_t i;
    memcpy(&i, kv->data + 8, sizeof i);
    return i;
}
static inline void kv_set_vol_idx(kv_t *kv, uint32_t i)
{
    memcpy(kv->data + 8, &i, sizeof i);
}
/* Start of the value part. */
static inline char *kv_valp(const kv_t *kv)
{
    return kv_keyp(kv) + kv->klen;
}
/* The object pointer of a non-inline value (ENC_RAW strings, all other types). */
static inline void *kv_ptr(const kv_t *kv)
{
    void *p;
    memcpy(&p, kv_valp(kv), sizeof p);
    return p;
}
/* Replace the object pointer (and encoding) in place, e.g. after a listpack →
 * hashtable conversion. The caller frees the old object if needed. */
static inline void kv_set_ptr(kv_t *kv, int enc, void *p)
{
    kv->enc = (unsigned)enc;
    memcpy(kv_valp(kv), &p, sizeof p);
}
/* The integer of an ENC_INT string. */
static inline long long kv_int(const kv_t *kv)
{
    int64_t v;
    memcpy(&v, kv_valp(kv), sizeof v);
    return v;
}
/* Change an ENC_INT string's value in place (INCR fast path); the result is
 * a fresh value, so it is no longer "unshared". */
static inline void kv_set_int_inplace(kv_t *kv, long long v)
{
    int64_t x = v;
    memcpy(kv_valp(kv), &x, sizeof x);
    kv->unshared = 0;
}
/* The raw string of an ENC_RAW entry (mutable; APPEND/SETRANGE). */
static inline str_t *kv_raw(const kv_t *kv)
{
    return (str_t *)kv_ptr(kv);
}

/* The string value's bytes: for ENC_INT the decimal text is written to tmp.
 * Valid until the entry changes. Only for OBJ_STRING entries. */
slice_t kv_str(const kv_t *kv, char tmp[32]);
/* Length of a string value (STRLEN) without formatting into a buffer. */
size_t kv_strlen(const kv_t *kv);
/* If the string value is an integer (ENC_INT, or text that parses as one),
 * store it and return 1 (INCR and friends). */
int kv_str_ll(const kv_t *kv, long long *out);

/* "string", "list", "set", "zset", "hash", "stream", "none" for NULL. */
const char *kv_type_name(const kv_t *kv);
/* OBJECT ENCODING name: "raw", "int", "embstr", "hashtable", "listpack", ... */
const char *kv_enc_name(const kv_t *kv);
const char *kv_enc_name_of(int enc);

/* Bytes held by the entry (allocation + owned string, not other types' objects). */
size_t kv_mem(const kv_t *kv);

/* ---- building and freeing entries (db.h is the usual caller) -------------- */

/* A value to store, as a description (no allocation yet). */
typedef struct kv_val_s {
    int type;     /* OBJ_* */
    int enc;      /* ENC_*; for OBJ_STRING: ENC_INT (ll), ENC_EMBSTR/ENC_RAW (s) */
    slice_t s;    /* string bytes (ENC_EMBSTR, or ENC_RAW copied into a new str_t) */
    long long ll; /* ENC_INT */
    void *ptr;    /* ENC_RAW with an existing str_t (takes ownership), other types */
} kv_val_t;

/* Redis's encoding rule for a string set by SET/MSET/GETSET/...:
 * "int" if it parses as a long long and is <= 20 bytes, else "embstr" if
 * <= 44 bytes, else "raw". */
kv_val_t kv_val_string(slice_t v);
/* Never "int": "embstr" if <= 44 bytes else "raw" (INCRBYFLOAT results). */
kv_val_t kv_val_string_noint(slice_t v);
/* Always "raw" (APPEND / SETRANGE results). */
kv_val_t kv_val_raw(slice_t v);
kv_val_t kv_val_int(long long v);
/* Another type's object; the entry takes ownership of ptr. */
kv_val_t kv_val_ptr(int type, int enc, void *ptr);

/* Allocate an entry. expire_ms < 0: no TTL slot. lru is the 24-bit clock. */
kv_t *kv_new(slice_t key, const kv_val_t *v, long long expire_ms, uint32_t lru);
/* A new entry with the same value part as kv (ownership of any pointer moves
 * to the result) but key `key` and TTL expire_ms (< 0: none). Frees kv's shell,
 * not its value. The result has vol_idx unset. */
kv_t *kv_reshape(kv_t *kv, slice_t key, long long expire_ms);
/* Deep copy (COPY): the value is duplicated through the type's dup hook. */
kv_t *kv_dup(const kv_t *kv, slice_t key, long long expire_ms, uint32_t lru);
/* Free the entry and its value (through the type's free hook). */
void kv_free(kv_t *kv);
/* Free only the entry's memory; the value was handed elsewhere. */
void kv_free_shell(kv_t *kv);

/* Per-type hooks for types whose value is a pointer (lists, sets, ...).
 * free/dup receive the encoding so one function can handle several.
 * mem returns bytes owned by the object (MEMORY USAGE, may be NULL). */
typedef struct kv_type_ops_s {
    void (*free)(void *ptr, int enc);
    void *(*dup)(const void *ptr, int enc);
    size_t (*mem)(const void *ptr, int enc);
} kv_type_ops_t;
/* Register at start-up (before any entry of that type exists). ops is borrowed
 * and must outlive the process. */
void kv_register_type(int type, const kv_type_ops_t *ops);

/* The 24-bit LRU clock for a unix time in ms (seconds resolution, wraps). */
static inline uint32_t kv_lru_clock(uint64_t now_ms)
{
    return (uint32_t)((now_ms / 1000) & KV_LRU_MAX);
}
/* Idle time in ms of an entry whose lru field holds a kv_lru_clock() value. */
uint64_t kv_idle_ms(const kv_t *kv, uint64_t now_ms);

/* The dict type for tables of kv_t (key = kv_key). */
extern const dict_type_t kv_dict_type;

#endif
