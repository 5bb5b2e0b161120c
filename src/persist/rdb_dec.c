/*
 * rdb_dec.c — the RDB reader: the input window over memory or a read
 * callback with its lazy CRC-64, the length/string/double primitives, the
 * file-level decoder (magic, opcodes, keys, EOF, checksum), loading into a
 * keyspace, DUMP payload checks, and the LRU/LFU value of a restored key.
 *
 * Must not: allocate more than the input can justify (lengths are checked
 * against the bytes known to remain; when the size is unknown big blocks
 * grow as their bytes arrive), read past the window, or log.
 * Invariants: the CRC covers exactly the consumed bytes once rd_crc() runs
 * (bytes [mark, p) are added lazily); the first error is kept with its
 * offset and every later call fails.
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ks/db.h"
#include "ks/quicklist.h"
#include "lib/crc64.h"
#include "lib/mem.h"
#include "lib/util.h"
#include "persist/rdb_int.h"

#define READER_BUF (64 * 1024)
#define GROW_CHUNK (16u << 20) /* unknown-size streams: grow big blocks by this */
#define LZF_MAX_RATIO 96       /* one 3-byte back reference yields at most 264 bytes */

static const unsigned char empty_input[1];

/* ---- the window ---------------------------------------------------------------- */

void rdb_reader_init_mem(rdb_reader_t *r, const void *buf, size_t len)
{
    memset(r, 0, sizeof(*r));
    const unsigned char *b = buf != NULL ? buf : empty_input;
    r->p = r->win = r->mark = b;
    r->end = b + (buf != NULL ? len : 0);
    r->size = buf != NULL ? len : 0;
    r->list_fill = QUICKLIST_FILL_DEFAULT;
}

void rdb_reader_init_fn(rdb_reader_t *r, rdb_read_fn fn, void *arg, uint64_t size)
{
    memset(r, 0, sizeof(*r));
    r->read = fn;
    r->arg = arg;
    r->size = size;
    r->bufcap = READER_BUF;
    r->buf = mem_alloc(r->bufcap);
    r->p = r->win = r->mark = r->end = r->buf;
    r->list_fill = QUICKLIST_FILL_DEFAULT;
}

void rdb_reader_deinit(rdb_reader_t *r)
{
    mem_free(r->buf);
    r->buf = NULL;
    r->p = r->win = r->mark = r->end = empty_input;
}

uint64_t rdb_reader_offset(const rdb_reader_t *r)
{
    return r->win_off + (uint64_t)(r->p - r->win);
}

const char *rdb_reader_error(const rdb_reader_t *r)
{
    return r->err;
}

static int vfail(rdb_reader_t *r, const char *fmt, va_list ap)
{
    if (r->failed)
        return -1;
    r->failed = 1;
    r->err_off = rdb_reader_offset(r);
    char at[40];
    int m = snprintf(at, sizeof(at), " at offset %llu", (unsigned long long)r->err_off);
    size_t room = sizeof(r->err) - (size_t)m; /* the offset always fits */
    int n = vsnprintf(r->err, room, fmt, ap);
    size_t used = n < 0 ? 0 : (size_t)n < room ? (size_t)n : room - 1;
    memcpy(r->err + used, at, (size_t)m + 1);
    return -1;
}

int rd_fail(rdb_reader_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(r, fmt, ap);
    va_end(ap);
    return -1;
}

int rdb_reader_fail(rdb_reader_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(r, fmt, ap);
    va_end(ap);
    return RDB_ERR;
}

uint64_t rd_remaining(const rdb_reader_t *r)
{
    if (r->size == UINT64_MAX)
        return UINT64_MAX;
    uint64_t off = rdb_reader_offset(r);
    return r->size > off ? r->size - off : 0;
}

uint64_t rd_crc(rdb_reader_t *r)
{
    if (r->p > r->mark)
        r->crc = crc64_jones(r->crc, r->mark, (size_t)(r->p - r->mark));
    r->mark = r->p;
    return r->crc;
}

/* Next window from the callback; 0 at the end of the input. */
static int refill(rdb_reader_t *r)
{
    if (r->read == NULL)
        return 0;
    rd_crc(r);
    r->win_off += (uint64_t)(r->end - r->win);
    size_t got = r->read(r->arg, r->buf, r->bufcap);
    r->p = r->win = r->mark = r->buf;
    r->end = r->buf + got;
    return got > 0;
}

int rd_bytes(rdb_reader_t *r, void *dst, size_t n)
{
    unsigned char *d = dst;
    if (r->failed)
        return -1;
    while (n > 0) {
        size_t avail = (size_t)(r->end - r->p);
        if (avail == 0) {
            if (!refill(r))
                return rd_fail(r, "Unexpected end of input (%zu more bytes expected)", n);
            continue;
        }
        size_t take = avail < n ? avail : n;
        memcpy(d, r->p, take);
        r->p += take;
        d += take;
        n -= take;
    }
    return 0;
}

int rd_u8(rdb_reader_t *r, unsigned *v)
{
    unsigned char b;
    if (rd_bytes(r, &b, 1) != 0)
        return -1;
    *v = b;
    return 0;
}

/* ---- lengths and strings ---------------------------------------------------------- */

int rd_len(rdb_reader_t *r, uint64_t *len, int *enc)
{
    unsigned char b[8];
    if (rd_bytes(r, b, 1) != 0)
        return -1;
    unsigned kind = b[0] >> 6;
    if (enc != NULL)
        *enc = 0;
    if (kind == RDB_ENCVAL) {
        if (enc == NULL)
            return rd_fail(r, "Unexpected encoded length 0x%02x", b[0]);
        *enc = 1;
        *len = b[0] & 0x3f;
    } else if (kind == RDB_6BITLEN) {
        *len = b[0] & 0x3f;
    } else if (kind == RDB_14BITLEN) {
        unsigned hi = b[0] & 0x3f;
        if (rd_bytes(r, b, 1) != 0)
            return -1;
        *len = (uint64_t)hi << 8 | b[0];
    } else if (b[0] == RDB_32BITLEN || b[0] == RDB_64BITLEN) {
        int n = b[0] == RDB_32BITLEN ? 4 : 8;
        if (rd_bytes(r, b, (size_t)n) != 0)
            return -1;
        *len = 0;
        for (int i = 0; i < n; i++)
            *len = *len << 8 | b[i];
    } else {
        return rd_fail(r, "Unknown length encoding 0x%02x", b[0]);
    }
    return 0;
}

int rd_count(rdb_reader_t *r, uint64_t *n, unsigned min_bytes)
{
    if (rd_len(r, n, NULL) != 0)
        return -1;
    uint64_t left = rd_remaining(r);
    if (left != UINT64_MAX && *n > left / (min_bytes ? min_bytes : 1))
        return rd_fail(r, "Element count %llu exceeds the input", (unsigned long long)*n);
    return 0;
}

/* n bytes into a new block (at least 1 byte allocated). */
static unsigned char *rd_alloc_read(rdb_reader_t *r, uint64_t n)
{
    uint64_t left = rd_remaining(r);
    if (n > left || n > SIZE_MAX / 2) {
        rd_fail(r, "Length %llu exceeds the input", (unsigned long long)n);
        return NULL;
    }
    if (left != UINT64_MAX || n <= GROW_CHUNK) {
        unsigned char *p = mem_alloc(n ? (size_t)n : 1);
        if (rd_bytes(r, p, (size_t)n) == 0)
            return p;
        mem_free(p);
        return NULL;
    }
    /* Unknown size: grow as the bytes arrive, so a lying length costs nothing. */
    size_t cap = GROW_CHUNK, got = 0;
    unsigned char *p = mem_alloc(cap);
    while (got < n) {
        if (got == cap) {
            cap = cap * 2 < n ? cap * 2 : (size_t)n;
            p = mem_realloc(p, cap);
        }
        size_t take = cap - got;
        if (rd_bytes(r, p + got, take) != 0) {
            mem_free(p);
            return NULL;
        }
        got += take;
    }
    return p;
}

/* The integer forms of strings. */
static int rd_int_enc(rdb_reader_t *r, uint64_t enc, long long *v)
{
    unsigned char b[4];
    if (enc == RDB_ENC_INT8) {
        if (rd_bytes(r, b, 1) != 0)
            return -1;
        *v = (int8_t)b[0];
    } else if (enc == RDB_ENC_INT16) {
        if (rd_bytes(r, b, 2) != 0)
            return -1;
        *v = (int16_t)(uint16_t)(b[0] | b[1] << 8);
    } else if (enc == RDB_ENC_INT32) {
        if (rd_bytes(r, b, 4) != 0)
            return -1;
        *v = (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                       (uint32_t)b[3] << 24);
    } else {
        return rd_fail(r, "Unknown string encoding %llu", (unsigned long long)enc);
    }
    return 0;
}

/* The sizes of an LZF string; the compressed bytes follow. */
static int rd_lzf_sizes(rdb_reader_t *r, uint64_t *clen, uint64_t *len)
{
    if (rd_len(r, clen, NULL) != 0 || rd_len(r, len, NULL) != 0)
        return -1;
    if (*clen == 0 || *len == 0 || *len / LZF_MAX_RATIO > *clen)
        return rd_fail(r, "Invalid LZF sizes (compressed %llu, plain %llu)",
                       (unsigned long long)*clen, (unsigned long long)*len);
    if (*len > SIZE_MAX / 2 || *len > UINT32_MAX)
        return rd_fail(r, "LZF string too long (%llu)", (unsigned long long)*len);
    return 0;
}

/* Decompress clen input bytes into out (len bytes). */
static int rd_lzf_into(rdb_reader_t *r, uint64_t clen, unsigned char *out, uint64_t len)
{
    unsigned char *c = rd_alloc_read(r, clen);
    if (c == NULL)
        return -1;
    int rc = rdb_lzf_decompress(c, (size_t)clen, out, (size_t)len);
    mem_free(c);
    return rc == 0 ? 0 : rd_fail(r, "Invalid LZF compressed string");
}

int rd_str(rdb_reader_t *r, rdb_str_t *s)
{
    uint64_t len, clen;
    int enc;
    s->heap = NULL;
    s->p = s->inl;
    s->len = 0;
    if (rd_len(r, &len, &enc) != 0)
        return -1;
    if (enc && len != RDB_ENC_LZF) {
        long long v;
        if (rd_int_enc(r, len, &v) != 0)
            return -1;
        s->len = ll_to_str(s->inl, v);
        return 0;
    }
    if (enc) {
        if (rd_lzf_sizes(r, &clen, &len) != 0)
            return -1;
        if (len > sizeof(s->inl))
            s->p = s->heap = mem_alloc((size_t)len);
        s->len = (size_t)len;
        if (rd_lzf_into(r, clen, (unsigned char *)s->p, len) == 0)
            return 0;
        rd_str_free(s);
        return -1;
    }
    if (len <= sizeof(s->inl)) {
        s->len = (size_t)len;
        return rd_bytes(r, s->inl, s->len);
    }
    if ((s->heap = (char *)rd_alloc_read(r, len)) == NULL)
        return -1;
    s->p = s->heap;
    s->len = (size_t)len;
    return 0;
}

void rd_str_free(rdb_str_t *s)
{
    mem_free(s->heap);
    s->heap = NULL;
    s->p = s->inl;
    s->len = 0;
}

int rd_blob(rdb_reader_t *r, unsigned char **out, size_t *outlen)
{
    uint64_t len, clen;
    int enc;
    *out = NULL;
    if (rd_len(r, &len, &enc) != 0)
        return -1;
    if (enc && len != RDB_ENC_LZF) {
        long long v;
        char tmp[LL_STR_MAX];
        if (rd_int_enc(r, len, &v) != 0)
            return -1;
        *outlen = ll_to_str(tmp, v);
        *out = mem_alloc(*outlen);
        memcpy(*out, tmp, *outlen);
        return 0;
    }
    if (enc) {
        if (rd_lzf_sizes(r, &clen, &len) != 0)
            return -1;
        unsigned char *p = mem_alloc((size_t)len);
        if (rd_lzf_into(r, clen, p, len) != 0) {
            mem_free(p);
            return -1;
        }
        *out = p;
        *outlen = (size_t)len;
        return 0;
    }
    if ((*out = rd_alloc_read(r, len)) == NULL)
        return -1;
    *outlen = (size_t)len;
    return 0;
}

/* A long plain string straight into a new str_t. */
static int rd_raw_value(rdb_reader_t *r, uint64_t len, int lzf, uint64_t clen, kv_val_t *out)
{
    if (len > UINT32_MAX)
        return rd_fail(r, "String too long (%llu)", (unsigned long long)len);
    if (!lzf && len > rd_remaining(r))
        return rd_fail(r, "Length %llu exceeds the input", (unsigned long long)len);
    str_t *s;
    if (!lzf && rd_remaining(r) == UINT64_MAX && len > GROW_CHUNK) {
        unsigned char *p = rd_alloc_read(r, len);
        if (p == NULL)
            return -1;
        s = str_new((const char *)p, (size_t)len, (size_t)len);
        mem_free(p);
    } else {
        s = str_new("", 0, (size_t)len);
        int rc = lzf ? rd_lzf_into(r, clen, (unsigned char *)s->data, len)
                     : rd_bytes(r, s->data, (size_t)len);
        if (rc != 0) {
            str_free(s);
            return -1;
        }
        s->len = (uint32_t)len;
    }
    *out = (kv_val_t){.type = OBJ_STRING, .enc = ENC_RAW, .ptr = s};
    return 0;
}

int rd_string_val(rdb_reader_t *r, kv_val_t *out)
{
    uint64_t len, clen = 0;
    int enc;
    if (rd_len(r, &len, &enc) != 0)
        return -1;
    if (enc && len != RDB_ENC_LZF) {
        long long v;
        if (rd_int_enc(r, len, &v) != 0)
            return -1;
        *out = kv_val_int(v);
        return 0;
    }
    int lzf = enc;
    if (lzf && rd_lzf_sizes(r, &clen, &len) != 0)
        return -1;
    if (len > KV_EMBSTR_MAX)
        return rd_raw_value(r, len, lzf, clen, out);
    int rc = lzf ? rd_lzf_into(r, clen, (unsigned char *)r->scratch, len)
                 : rd_bytes(r, r->scratch, (size_t)len);
    if (rc != 0)
        return -1;
    *out = kv_val_string(slice_make(r->scratch, (size_t)len));
    return 0;
}

int rd_double_bin(rdb_reader_t *r, double *out)
{
    unsigned char b[8];
    if (rd_bytes(r, b, 8) != 0)
        return -1;
    memcpy(out, b, 8);
    return 0;
}

int rd_double_text(rdb_reader_t *r, double *out)
{
    unsigned len;
    char buf[256];
    if (rd_u8(r, &len) != 0)
        return -1;
    if (len >= 253) {
        *out = len == 253 ? NAN : len == 254 ? INFINITY : -INFINITY;
        return 0;
    }
    if (rd_bytes(r, buf, len) != 0)
        return -1;
    buf[len] = '\0';
    char *end;
    *out = strtod(buf, &end);
    if (end == buf)
        return rd_fail(r, "Invalid score '%.32s'", buf);
    return 0;
}
