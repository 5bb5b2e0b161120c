/*
 * rdb_int.h — private to src/persist/rdb_*.c: the reader primitives shared by
 * the file decoder (rdb_dec.c) and the object decoder (rdb_obj.c), LZF
 * (rdb_lzf.c) and the ziplist/zipmap converters (rdb_zl.c).
 * Nothing outside the RDB codec includes this.
 *
 * Reader primitives return 0 on success and -1 after recording an error
 * (rd_fail) in the reader; once failed, a reader stays failed.
 */
#ifndef TESSERA_RDB_INT_H
#define TESSERA_RDB_INT_H

#include <stddef.h>
#include <stdint.h>

#include "persist/rdb.h"

/* RDB length encodings (the top two bits of the first byte). */
#define RDB_6BITLEN 0
#define RDB_14BITLEN 1
#define RDB_32BITLEN 0x80
#define RDB_64BITLEN 0x81
#define RDB_ENCVAL 3
/* Special string encodings (low six bits when the top bits are 11). */
#define RDB_ENC_INT8 0
#define RDB_ENC_INT16 1
#define RDB_ENC_INT32 2
#define RDB_ENC_LZF 3

/* A string read from the input: short ones live in inl, long ones on the heap. */
typedef struct rdb_str_s {
    char *p;
    size_t len;
    char *heap; /* mem_alloc'ed when not inline */
    char inl[128];
} rdb_str_t;

/* ---- reader primitives (rdb_dec.c) ---------------------------------------------- */

int rd_fail(rdb_reader_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Bytes known to remain, UINT64_MAX when the stream's size is unknown. */
uint64_t rd_remaining(const rdb_reader_t *r);
int rd_bytes(rdb_reader_t *r, void *dst, size_t n);
int rd_u8(rdb_reader_t *r, unsigned *v);
/* A length; *enc = 1 and *len = the special encoding when the first byte's top
 * bits are 11 (enc may be NULL: then that is an error). */
int rd_len(rdb_reader_t *r, uint64_t *len, int *enc);
/* A count of elements that each take at least min_bytes of input. */
int rd_count(rdb_reader_t *r, uint64_t *n, unsigned min_bytes);
/* A string in any encoding into s (free with rd_str_free). */
int rd_str(rdb_reader_t *r, rdb_str_t *s);
void rd_str_free(rdb_str_t *s);
/* A string as a new exact-size mem_alloc'ed block (listpacks, intsets...). */
int rd_blob(rdb_reader_t *r, unsigned char **out, size_t *len);
/* A string value as kv_val_t (see rdb_read_object). */
int rd_string_val(rdb_reader_t *r, kv_val_t *out);
/* Scores: binary little-endian double (zset2) and text (zset, 253 nan,
 * 254 +inf, 255 -inf). */
int rd_double_bin(rdb_reader_t *r, double *out);
int rd_double_text(rdb_reader_t *r, double *out);
/* The CRC-64 of everything consumed so far. */
uint64_t rd_crc(rdb_reader_t *r);

/* ---- LZF (rdb_lzf.c) -------------------------------------------------------------- */

typedef struct rdb_lzf_s rdb_lzf_t;
rdb_lzf_t *rdb_lzf_new(void);
void rdb_lzf_free(rdb_lzf_t *z);
/* Decompress exactly outlen bytes; 0, or -1 if the stream is malformed or
 * does not produce exactly outlen bytes. */
int rdb_lzf_decompress(const unsigned char *in, size_t inlen, unsigned char *out, size_t outlen);
/* Compress into out (outcap bytes); the compressed size, or 0 if it does not
 * fit. inlen must be below 4 GiB. */
size_t rdb_lzf_compress(rdb_lzf_t *z, const unsigned char *in, size_t inlen, unsigned char *out,
                        size_t outcap);

/* ---- ziplist / zipmap (rdb_zl.c) ----------------------------------------------------- */

/*
 * Validate a ziplist (header sizes, every entry's prevlen/encoding/length
 * within bounds, tail offset, count) and convert it to a new listpack with
 * the same entries. pairs: also require an even count. Returns the listpack
 * or NULL if invalid.
 */
unsigned char *rdb_ziplist_to_listpack(const unsigned char *zl, size_t size, int pairs);
/* Validate a zipmap and convert it to a listpack of field,value pairs.
 * NULL if invalid. Duplicate fields are left to the caller's pair check. */
unsigned char *rdb_zipmap_to_listpack(const unsigned char *zm, size_t size);

#endif
