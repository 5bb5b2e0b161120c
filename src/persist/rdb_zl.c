/*
 * rdb_zl.c — readers for the two legacy compact encodings that Redis 7.0
 * still loads from old RDB files and DUMP payloads, converting them to
 * listpacks: the ziplist (RDB types 10, 12, 13 and quicklist v1 nodes) and
 * the zipmap (type 9).
 *
 * Ziplist layout (little-endian): zlbytes u32 | zltail u32 | zllen u16 |
 * entries | 0xFF. Entry: prevlen (1 byte < 254, or 0xFE + u32) | encoding |
 * data. Encodings: 00pppppp (6-bit string length), 01pppppp qqqqqqqq
 * (14-bit, big-endian), 10______ + u32 big-endian length, 0xC0 int16,
 * 0xD0 int32, 0xE0 int64, 0xF0 int24, 0xFE int8, 0xF1..0xFD the values 0..12.
 * Zipmap layout: zmlen u8 | (len key len free value padding)* | 0xFF, with
 * len = 1 byte < 254 or 0xFE + u32 (little-endian).
 *
 * Must not: read outside [buf, buf + size) whatever the bytes say; accept a
 * structure whose header counts, tail offset or back lengths disagree with
 * its entries. Pure: only mem.h and listpack.h.
 */
#include <string.h>

#include "ks/listpack.h"
#include "lib/mem.h"
#include "persist/rdb_int.h"

#define ZL_HEADER 10
#define ZL_END 0xFF
#define ZL_BIGLEN 254
#define ZL_UNKNOWN_LEN 65535u
#define ZM_BIGLEN 254
#define ZM_END 255

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le_n(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

typedef struct zl_entry_s {
    size_t prevlen;
    size_t total; /* bytes of the whole entry */
    const unsigned char *s;
    size_t len; /* string data, or s == NULL and the integer v */
    long long v;
} zl_entry_t;

/* Integer encodings: data size, or -1 if b is not one. */
static int zl_int_size(unsigned b)
{
    switch (b) {
    case 0xC0:
        return 2;
    case 0xD0:
        return 4;
    case 0xE0:
        return 8;
    case 0xF0:
        return 3;
    case 0xFE:
        return 1;
    default:
        return b >= 0xF1 && b <= 0xFD ? 0 : -1;
    }
}

static long long zl_int_value(unsigned b, const unsigned char *d)
{
    switch (b) {
    case 0xC0:
        return (int16_t)(uint16_t)le_n(d, 2);
    case 0xD0:
        return (int32_t)(uint32_t)le_n(d, 4);
    case 0xE0:
        return (int64_t)le_n(d, 8);
    case 0xF0: {
        uint32_t u = (uint32_t)le_n(d, 3) << 8;
        return (int32_t)u >> 8;
    }
    case 0xFE:
        return (int8_t)d[0];
    default:
        return (long long)(b & 0x0F) - 1;
    }
}

/* Decode the entry at off; the entry must end before limit (the 0xFF). */
static int zl_entry(const unsigned char *zl, size_t off, size_t limit, zl_entry_t *e)
{
    size_t ps = 1, es, len;
    if (zl[off] == ZL_END)
        return -1;
    e->prevlen = zl[off];
    if (zl[off] == ZL_BIGLEN) {
        if (limit - off < 5)
            return -1;
        e->prevlen = le32(zl + off + 1);
        ps = 5;
    }
    size_t q = off + ps;
    if (q >= limit)
        return -1;
    unsigned b = zl[q];
    switch (b >> 6) {
    case 0:
        es = 1, len = b & 0x3f;
        break;
    case 1:
        if (limit - q < 2)
            return -1;
        es = 2, len = (size_t)(b & 0x3f) << 8 | zl[q + 1];
        break;
    case 2:
        if (limit - q < 5)
            return -1;
        es = 5, len = (size_t)zl[q + 1] << 24 | (size_t)zl[q + 2] << 16 | (size_t)zl[q + 3] << 8 |
                      zl[q + 4];
        break;
    default: {
        int n = zl_int_size(b);
        if (n < 0)
            return -1;
        es = 1, len = (size_t)n;
    }
    }
    if (limit - q < es || limit - q - es < len)
        return -1;
    e->total = ps + es + len;
    if ((b >> 6) == 3) {
        e->s = NULL;
        e->len = 0;
        e->v = zl_int_value(b, zl + q + 1);
    } else {
        e->s = zl + q + es;
        e->len = len;
    }
    return 0;
}

unsigned char *rdb_ziplist_to_listpack(const unsigned char *zl, size_t size, int pairs)
{
    if (size < ZL_HEADER + 1 || le32(zl) != size || zl[size - 1] != ZL_END)
        return NULL;
    size_t tail = le32(zl + 4), declared = (size_t)le_n(zl + 8, 2);
    size_t off = ZL_HEADER, last = ZL_HEADER, prev = 0, count = 0, limit = size - 1;
    unsigned char *lp = listpack_new();
    while (off < limit) {
        zl_entry_t e;
        if (zl_entry(zl, off, limit, &e) != 0 || e.prevlen != prev)
            goto bad;
        if (e.s != NULL)
            listpack_append(&lp, (const char *)e.s, e.len);
        else
            listpack_append_int(&lp, e.v);
        last = off;
        prev = e.total;
        off += e.total;
        count++;
    }
    if (tail != last || (declared != ZL_UNKNOWN_LEN && declared != count) ||
        (pairs && count % 2 != 0))
        goto bad;
    return lp;
bad:
    listpack_free(lp);
    return NULL;
}

/* A zipmap length at *off (not the end marker). -1 if out of bounds. */
static int zm_len(const unsigned char *zm, size_t size, size_t *off, size_t *len)
{
    if (*off >= size || zm[*off] == ZM_END)
        return -1;
    if (zm[*off] < ZM_BIGLEN) {
        *len = zm[(*off)++];
        return 0;
    }
    if (size - *off < 5)
        return -1;
    *len = le32(zm + *off + 1);
    *off += 5;
    return 0;
}

unsigned char *rdb_zipmap_to_listpack(const unsigned char *zm, size_t size)
{
    if (size < 2 || zm[size - 1] != ZM_END)
        return NULL;
    size_t declared = zm[0], off = 1, count = 0;
    unsigned char *lp = listpack_new();
    while (off < size - 1) {
        size_t klen, vlen;
        if (zm_len(zm, size, &off, &klen) != 0 || size - off < klen)
            goto bad;
        const unsigned char *k = zm + off;
        off += klen;
        if (zm_len(zm, size, &off, &vlen) != 0 || off >= size)
            goto bad;
        size_t pad = zm[off++];
        if (size - off < vlen || size - off - vlen < pad)
            goto bad;
        listpack_append(&lp, (const char *)k, klen);
        listpack_append(&lp, (const char *)zm + off, vlen);
        off += vlen + pad;
        count++;
    }
    if (off != size - 1 || (declared < ZM_BIGLEN && declared != count))
        goto bad;
    return lp;
bad:
    listpack_free(lp);
    return NULL;
}
