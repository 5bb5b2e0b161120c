/*
 * rdb_lzf.c — the LZF block format Redis uses for compressed RDB strings:
 * a bounds-checked decompressor and a small greedy compressor.
 *
 * Format (liblzf's, described from its documentation): a sequence of
 *   000LLLLL + L+1 literal bytes, or
 *   LLLooooo [+ extra length byte when LLL == 7] + oooooooo:
 *     copy (LLL [+ extra]) + 2 bytes from (offset + 1) bytes back.
 * Offsets reach 8192 bytes back; a match copies 3..264 bytes.
 *
 * Must not: read or write outside the given buffers whatever the input.
 * The compressor's hash table lives in the caller's rdb_lzf_t (no globals);
 * entries carry a generation so the table is never cleared between calls.
 */
#include <string.h>

#include "lib/mem.h"
#include "persist/rdb_int.h"

#define LZF_HLOG 13
#define LZF_HSIZE (1u << LZF_HLOG)
#define LZF_MAX_OFF 8192u
#define LZF_MAX_LIT 32u
#define LZF_MAX_REF 264u /* (7 + 255) + 2 */

struct rdb_lzf_s {
    uint64_t tab[LZF_HSIZE]; /* generation << 32 | (position + 1) */
    uint32_t gen;
};

rdb_lzf_t *rdb_lzf_new(void)
{
    return mem_calloc(sizeof(rdb_lzf_t));
}

void rdb_lzf_free(rdb_lzf_t *z)
{
    mem_free(z);
}

int rdb_lzf_decompress(const unsigned char *in, size_t inlen, unsigned char *out, size_t outlen)
{
    const unsigned char *ip = in, *iend = in + inlen;
    unsigned char *op = out, *oend = out + outlen;
    while (ip < iend) {
        unsigned ctrl = *ip++;
        if (ctrl < 32) {
            size_t n = (size_t)ctrl + 1;
            if ((size_t)(iend - ip) < n || (size_t)(oend - op) < n)
                return -1;
            memcpy(op, ip, n);
            op += n;
            ip += n;
            continue;
        }
        size_t len = ctrl >> 5;
        size_t back = (size_t)(ctrl & 0x1f) << 8;
        if (len == 7) {
            if (ip >= iend)
                return -1;
            len += *ip++;
        }
        if (ip >= iend)
            return -1;
        back += (size_t)*ip++ + 1;
        len += 2;
        if (back > (size_t)(op - out) || (size_t)(oend - op) < len)
            return -1;
        const unsigned char *ref = op - back;
        for (size_t i = 0; i < len; i++)
            op[i] = ref[i]; /* may overlap: byte by byte */
        op += len;
    }
    return op == oend ? 0 : -1;
}

static inline uint32_t lzf_hash(const unsigned char *p)
{
    uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    return (v * 2654435761u) >> (32 - LZF_HLOG);
}

/* Emit in[from, to) as literal runs. Returns the new op, or NULL if full. */
static unsigned char *emit_literals(unsigned char *op, unsigned char *oend,
                                    const unsigned char *from, const unsigned char *to)
{
    while (from < to) {
        size_t n = (size_t)(to - from);
        if (n > LZF_MAX_LIT)
            n = LZF_MAX_LIT;
        if ((size_t)(oend - op) < n + 1)
            return NULL;
        *op++ = (unsigned char)(n - 1);
        memcpy(op, from, n);
        op += n;
        from += n;
    }
    return op;
}

static unsigned char *emit_ref(unsigned char *op, unsigned char *oend, size_t off, size_t len)
{
    size_t l = len - 2;
    if ((size_t)(oend - op) < 3)
        return NULL;
    if (l < 7) {
        *op++ = (unsigned char)(l << 5 | off >> 8);
    } else {
        *op++ = (unsigned char)(7u << 5 | off >> 8);
        *op++ = (unsigned char)(l - 7);
    }
    *op++ = (unsigned char)(off & 0xff);
    return op;
}

size_t rdb_lzf_compress(rdb_lzf_t *z, const unsigned char *in, size_t inlen, unsigned char *out,
                        size_t outcap)
{
    if (++z->gen == 0) {
        memset(z->tab, 0, sizeof(z->tab));
        z->gen = 1;
    }
    const uint64_t tag = (uint64_t)z->gen << 32;
    const unsigned char *ip = in, *lit = in, *iend = in + inlen;
    unsigned char *op = out, *oend = out + outcap;
    while (iend - ip > 2) {
        uint32_t h = lzf_hash(ip);
        uint64_t e = z->tab[h];
        size_t pos = (size_t)(ip - in);
        z->tab[h] = tag | (uint32_t)(pos + 1);
        size_t ref = (e >> 32) == z->gen ? (size_t)(uint32_t)e - 1 : SIZE_MAX;
        if (ref == SIZE_MAX || ref >= pos || pos - ref - 1 >= LZF_MAX_OFF ||
            memcmp(in + ref, ip, 3) != 0) {
            ip++;
            continue;
        }
        size_t max = (size_t)(iend - ip);
        if (max > LZF_MAX_REF)
            max = LZF_MAX_REF;
        size_t len = 3;
        while (len < max && in[ref + len] == ip[len])
            len++;
        if ((op = emit_literals(op, oend, lit, ip)) == NULL)
            return 0;
        if ((op = emit_ref(op, oend, pos - ref - 1, len)) == NULL)
            return 0;
        ip += len;
        lit = ip;
    }
    if ((op = emit_literals(op, oend, lit, iend)) == NULL)
        return 0;
    return (size_t)(op - out);
}
