/*
 * listpack.h — Redis 7.0's listpack: one contiguous block of bytes holding a
 * sequence of strings and integers, byte-for-byte the format Redis writes into
 * RDB files and DUMP payloads (hash, zset and quicklist-node encodings).
 *
 * Layout (all multi-byte fields little-endian):
 *   total-bytes u32 | num-elements u16 (65535 = unknown, count by walking)
 *   entry* | 0xFF
 * entry = encoding+data | backlen, where backlen is the size of encoding+data
 * written in 1..5 bytes so the list can be walked backwards.
 * Encodings: 0xxxxxxx 7-bit uint; 10xxxxxx 6-bit-length string;
 *   110xxxxx +1 13-bit int; 1110xxxx +1 12-bit-length string;
 *   0xF0 +4 32-bit-length string; 0xF1/0xF2/0xF3/0xF4 16/24/32/64-bit int.
 *
 * A listpack is handled as `unsigned char *` pointing at its first byte. Writers
 * take `unsigned char **lpp` because they may move the block (the caller's
 * pointer is updated in place; no hidden reallocation of an argument).
 * Entry positions are `unsigned char *` into the block; every writer returns the
 * position that stays meaningful, all other positions are invalidated.
 *
 * Strings that are canonical integers (str_to_ll rules) are stored as integers,
 * as Redis does, so "1" and 1 are the same entry.
 */
#ifndef TESSERA_LISTPACK_H
#define TESSERA_LISTPACK_H

#include <stddef.h>
#include <stdint.h>

#define LISTPACK_HDR_SIZE 6
#define LISTPACK_EOF 0xFF
#define LISTPACK_NUMELE_UNKNOWN 65535
/* Writers refuse nothing; callers keep listpacks below this (lpSafeToAdd). */
#define LISTPACK_MAX_SAFE_SIZE (1u << 30)
/* Room for the decimal form of any long long (listpack_val_str). */
#define LISTPACK_INTBUF 24

/* An entry's value: a string (s != NULL) or an integer (s == NULL, v). When
 * used as input, a string that is a canonical integer is stored as one. */
typedef struct listpack_val_s {
    const unsigned char *s;
    size_t len;
    long long v;
} listpack_val_t;

enum listpack_where { LISTPACK_BEFORE = 0, LISTPACK_AFTER = 1, LISTPACK_REPLACE = 2 };

/* An empty listpack (7 bytes). Free with listpack_free. */
unsigned char *listpack_new(void);
void listpack_free(unsigned char *lp);
/* A copy of lp. */
unsigned char *listpack_dup(const unsigned char *lp);

/* Total size in bytes, from the header. */
static inline size_t listpack_bytes(const unsigned char *lp)
{
    return (size_t)lp[0] | (size_t)lp[1] << 8 | (size_t)lp[2] << 16 | (size_t)lp[3] << 24;
}
/* Number of entries. O(1) unless the header says unknown (>= 65535 entries);
 * then it walks, and stores the count back if it fits. */
size_t listpack_len(unsigned char *lp);
/* True if adding add bytes keeps lp below LISTPACK_MAX_SAFE_SIZE. */
int listpack_safe_to_add(const unsigned char *lp, size_t add);

/* Navigation. All return NULL when there is no such entry. */
unsigned char *listpack_first(unsigned char *lp);
unsigned char *listpack_last(unsigned char *lp);
unsigned char *listpack_next(unsigned char *lp, unsigned char *p);
unsigned char *listpack_prev(unsigned char *lp, unsigned char *p);
/* Entry at index (0-based; negative counts from the end, -1 is the last). */
unsigned char *listpack_seek(unsigned char *lp, long index);

/* Decode the entry at p. out->s points into the listpack (borrowed). */
void listpack_get(const unsigned char *p, listpack_val_t *out);
/* The entry as bytes: strings point into the listpack, integers are written
 * into buf (LISTPACK_INTBUF bytes). Returns the start, length in *len. */
const char *listpack_get_str(const unsigned char *p, char *buf, size_t *len);
/* Same for an already decoded value. */
const char *listpack_val_str(const listpack_val_t *v, char *buf, size_t *len);
/* 1 if the entry at p equals the bytes s/len (integers compare by value when
 * s is a canonical integer, strings by bytes). */
int listpack_eq(const unsigned char *p, const char *s, size_t len);
/* Bytes the entry at p occupies (encoding, data and backlen). */
size_t listpack_entry_size(const unsigned char *p);

/*
 * Insert n values at p: before it, after it, or (n == 1 only) in place of it.
 * p == NULL appends at the end (where is ignored). Returns the position of the
 * first inserted entry in the (possibly moved) listpack *lpp.
 */
unsigned char *listpack_insert_vals(unsigned char **lpp, unsigned char *p, int where,
                                    const listpack_val_t *vals, size_t n);
unsigned char *listpack_insert(unsigned char **lpp, unsigned char *p, int where, const char *s,
                               size_t len);
unsigned char *listpack_insert_int(unsigned char **lpp, unsigned char *p, int where, long long v);
/* Replace the entry at p; returns its new position. */
unsigned char *listpack_replace(unsigned char **lpp, unsigned char *p, const char *s, size_t len);
unsigned char *listpack_replace_int(unsigned char **lpp, unsigned char *p, long long v);
void listpack_append(unsigned char **lpp, const char *s, size_t len);
void listpack_append_int(unsigned char **lpp, long long v);
void listpack_prepend(unsigned char **lpp, const char *s, size_t len);
void listpack_prepend_int(unsigned char **lpp, long long v);

/* Delete the entry at p; returns the entry that followed it, or NULL. */
unsigned char *listpack_delete(unsigned char **lpp, unsigned char *p);
/* Delete up to count entries starting at p; returns the entry after them or NULL. */
unsigned char *listpack_delete_at(unsigned char **lpp, unsigned char *p, size_t count);
/* Delete count entries starting at index (negative allowed). Returns deleted. */
size_t listpack_delete_range(unsigned char **lpp, long index, size_t count);
/* Append all entries of *src to *dst; *src is freed and set to NULL. */
void listpack_merge(unsigned char **dst, unsigned char **src);

/*
 * Find the first entry at or after p that equals s/len, comparing only every
 * (skip+1)-th entry (skip = 1 looks at hash fields / zset members only).
 * Returns NULL if none.
 */
unsigned char *listpack_find(unsigned char *lp, unsigned char *p, const char *s, size_t len,
                             unsigned skip);

/*
 * Choose count distinct indexes from [0, n) uniformly at random (count <= n),
 * written to out in ascending order. Used for random pairs / members.
 */
void listpack_random_indexes(size_t n, size_t count, uint64_t (*rnd)(void), size_t *out);

/*
 * Full integrity check of untrusted bytes (RESTORE, RDB): header size equals
 * size, terminator present, every entry's encoding, length and backlen within
 * bounds and consistent, count equal to the header's (unless unknown). cb, if
 * not NULL, is called for each entry and may reject it by returning 0. Never
 * reads outside buf[0..size). Returns 1 if valid, 0 if not.
 */
int listpack_validate(const unsigned char *buf, size_t size,
                      int (*cb)(const unsigned char *p, void *arg), void *arg);

/*
 * listpack_validate plus the rules of hash and zset listpacks: an even number
 * of entries and no two equal keys (entries 0, 2, 4...). cb as above.
 */
int listpack_validate_pairs(const unsigned char *buf, size_t size,
                            int (*cb)(const unsigned char *p, void *arg), void *arg);

#endif
