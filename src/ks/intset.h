/*
 * intset.h — Redis's intset: a sorted array of distinct integers, all stored
 * with the width of the widest one. Byte-for-byte the RDB/DUMP form (RDB type
 * 11), so the block can be written out and loaded back as is.
 *
 * Layout (little-endian): encoding u32 (2, 4 or 8 = bytes per element),
 * length u32, then length elements in ascending order.
 *
 * The encoding only grows (upgrade on the first value that needs more bytes);
 * removals never shrink it, as in Redis. Writers take `intset_t **` because the
 * block is reallocated to its exact size.
 */
#ifndef TESSERA_INTSET_H
#define TESSERA_INTSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct intset_s intset_t;

#define INTSET_ENC_INT16 2u
#define INTSET_ENC_INT32 4u
#define INTSET_ENC_INT64 8u
#define INTSET_HDR_SIZE 8u

/* An empty intset with 16-bit encoding. */
intset_t *intset_new(void);
void intset_free(intset_t *is);
intset_t *intset_dup(const intset_t *is);

/* Add v; returns 1 if it was added, 0 if already present. */
int intset_add(intset_t **isp, int64_t v);
/* Remove v; returns 1 if it was removed. */
int intset_remove(intset_t **isp, int64_t v);
/* 1 if v is a member (binary search). */
int intset_find(const intset_t *is, int64_t v);
/* Element at pos (0-based, pos < intset_len). */
int64_t intset_get(const intset_t *is, uint32_t pos);
/* A uniformly chosen element; the set must not be empty. */
int64_t intset_random(const intset_t *is, uint64_t (*rnd)(void));
/* Smallest / largest element; the set must not be empty. */
int64_t intset_min(const intset_t *is);
int64_t intset_max(const intset_t *is);

uint32_t intset_len(const intset_t *is);
/* Bytes per element: 2, 4 or 8. */
uint32_t intset_encoding(const intset_t *is);
/* Total size in bytes (header + elements); the RDB blob is exactly this. */
size_t intset_bytes(const intset_t *is);
/* The block's bytes (for RDB/DUMP). */
const unsigned char *intset_raw(const intset_t *is);

/*
 * Check untrusted bytes: encoding is 2/4/8, size == header + length*encoding,
 * length > 0 (Redis refuses empty intsets), elements strictly ascending.
 * Never reads outside buf[0..size). Returns 1 if valid.
 */
int intset_validate(const unsigned char *buf, size_t size);
/* A copy of validated bytes as an intset. */
intset_t *intset_from_bytes(const unsigned char *buf, size_t size);

#endif
