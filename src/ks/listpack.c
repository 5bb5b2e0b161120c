/*
 * listpack.c — Redis 7.0 listpack encoder/decoder (format in listpack.h).
 *
 * Owns: the bytes of each listpack it creates, sized exactly (total-bytes in
 * the header always equals the block's logical size).
 * Must not: read outside a listpack (validate untrusted input first with
 * listpack_validate), allocate outside mem.h, or keep state between calls.
 * Invariants: header total-bytes == size; last byte 0xFF; header count is the
 * entry count, or 65535 when it would not fit; every entry's backlen equals
 * the size of its encoding+data, written in the smallest form Redis writes.
 */
#include "ks/listpack.h"

#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "lib/util.h"

/* Encoding bytes and masks. */
#define ENC_7BIT_UINT_MASK 0x80
#define ENC_6BIT_STR 0x80
#define ENC_6BIT_STR_MASK 0xC0
#define ENC_13BIT_INT 0xC0
#define ENC_13BIT_INT_MASK 0xE0
#define ENC_12BIT_STR 0xE0
#define ENC_12BIT_STR_MASK 0xF0
#define ENC_32BIT_STR 0xF0
#define ENC_16BIT_INT 0xF1
#define ENC_24BIT_INT 0xF2
#define ENC_32BIT_INT 0xF3
#define ENC_64BIT_INT 0xF4

/* A value prepared for writing: its encoding decided, sizes known. */
typedef struct lp_enc_s {
    const unsigned char *s; /* NULL: integer in v */
    size_t len;
    long long v;
    size_t enclen;  /* encoding + data */
    size_t backlen; /* bytes of the backlen field */
} lp_enc_t;

#define LP_BATCH 16

static inline void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static inline uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline unsigned get_numele(const unsigned char *lp)
{
    return (unsigned)lp[4] | (unsigned)lp[5] << 8;
}

static inline void set_numele(unsigned char *lp, size_t n)
{
    if (n > LISTPACK_NUMELE_UNKNOWN)
        n = LISTPACK_NUMELE_UNKNOWN;
    lp[4] = (unsigned char)n;
    lp[5] = (unsigned char)(n >> 8);
}

/* Bytes needed to write backlen l (thresholds as Redis writes them). */
static inline size_t backlen_size(size_t l)
{
    if (l <= 127)
        return 1;
    if (l < 16383)
        return 2;
    if (l < 2097151)
        return 3;
    if (l < 268435455)
        return 4;
    return 5;
}

/* Write backlen l at dst (most significant group first, the rest flagged). */
static void backlen_put(unsigned char *dst, size_t l)
{
    size_t n = backlen_size(l);
    for (size_t i = 0; i < n; i++) {
        size_t shift = 7 * (n - 1 - i);
        unsigned char b = (unsigned char)((l >> shift) & 127);
        dst[i] = i == 0 ? b : (unsigned char)(b | 128);
    }
}

/* Read the backlen that ends at last (inclusive), walking backwards. */
static inline size_t backlen_get(const unsigned char *last)
{
    size_t v = 0;
    unsigned shift = 0;
    for (int i = 0; i < 5; i++) {
        v |= (size_t)(last[-i] & 127) << shift;
        if (!(last[-i] & 128))
            break;
        shift += 7;
    }
    return v;
}

/* Size of encoding + data of the entry at p (trusted bytes). */
static inline size_t entry_enclen(const unsigned char *p)
{
    unsigned char c = p[0];
    if ((c & ENC_7BIT_UINT_MASK) == 0)
        return 1;
    if ((c & ENC_6BIT_STR_MASK) == ENC_6BIT_STR)
        return 1 + (c & 0x3F);
    if ((c & ENC_13BIT_INT_MASK) == ENC_13BIT_INT)
        return 2;
    if ((c & ENC_12BIT_STR_MASK) == ENC_12BIT_STR)
        return 2 + (((size_t)(c & 0x0F) << 8) | p[1]);
    switch (c) {
    case ENC_32BIT_STR:
        return 5 + (size_t)get_u32(p + 1);
    case ENC_16BIT_INT:
        return 3;
    case ENC_24BIT_INT:
        return 4;
    case ENC_32BIT_INT:
        return 5;
    case ENC_64BIT_INT:
        return 9;
    default:
        return 1; /* EOF or invalid; callers check before */
    }
}

size_t listpack_entry_size(const unsigned char *p)
{
    size_t l = entry_enclen(p);
    return l + backlen_size(l);
}

/* Decide how v is written. */
static void enc_prepare(lp_enc_t *e, const listpack_val_t *v)
{
    long long iv;
    e->s = v->s;
    e->len = v->len;
    e->v = v->v;
    if (v->s != NULL && v->len > 0 && v->len <= 20 && str_to_ll((const char *)v->s, v->len, &iv)) {
        e->s = NULL;
        e->v = iv;
    }
    if (e->s == NULL) {
        long long x = e->v;
        if (x >= 0 && x <= 127)
            e->enclen = 1;
        else if (x >= -4096 && x <= 4095)
            e->enclen = 2;
        else if (x >= -32768 && x <= 32767)
            e->enclen = 3;
        else if (x >= -8388608 && x <= 8388607)
            e->enclen = 4;
        else if (x >= -2147483648LL && x <= 2147483647LL)
            e->enclen = 5;
        else
            e->enclen = 9;
    } else if (e->len < 64) {
        e->enclen = 1 + e->len;
    } else if (e->len < 4096) {
        e->enclen = 2 + e->len;
    } else {
        e->enclen = 5 + e->len;
    }
    e->backlen = backlen_size(e->enclen);
}

/* Write a prepared entry at dst; returns bytes written. */
static size_t enc_write(unsigned char *dst, const lp_enc_t *e)
{
    if (e->s == NULL) {
        uint64_t u = (uint64_t)e->v;
        switch (e->enclen) {
        case 1:
            dst[0] = (unsigned char)u;
            break;
        case 2:
            u &= 0x1FFF;
            dst[0] = (unsigned char)(ENC_13BIT_INT | (u >> 8));
            dst[1] = (unsigned char)u;
            break;
        default:
            dst[0] = e->enclen == 3   ? ENC_16BIT_INT
                     : e->enclen == 4 ? ENC_24BIT_INT
                     : e->enclen == 5 ? ENC_32BIT_INT
                                      : ENC_64BIT_INT;
            for (size_t i = 1; i < e->enclen; i++)
                dst[i] = (unsigned char)(u >> (8 * (i - 1)));
            break;
        }
    } else if (e->len < 64) {
        dst[0] = (unsigned char)(ENC_6BIT_STR | e->len);
        if (e->len)
            memcpy(dst + 1, e->s, e->len);
    } else if (e->len < 4096) {
        dst[0] = (unsigned char)(ENC_12BIT_STR | (e->len >> 8));
        dst[1] = (unsigned char)e->len;
        memcpy(dst + 2, e->s, e->len);
    } else {
        dst[0] = ENC_32BIT_STR;
        put_u32(dst + 1, (uint32_t)e->len);
        memcpy(dst + 5, e->s, e->len);
    }
    backlen_put(dst + e->enclen, e->enclen);
    return e->enclen + e->backlen;
}

unsigned char *listpack_new(void)
{
    unsigned char *lp = mem_alloc(LISTPACK_HDR_SIZE + 1);
    put_u32(lp, LISTPACK_HDR_SIZE + 1);
    set_numele(lp, 0);
    lp[LISTPACK_HDR_SIZE] = LISTPACK_EOF;
    return lp;
}

void listpack_free(unsigned char *lp)
{
    mem_free(lp);
}

unsigned char *listpack_dup(const unsigned char *lp)
{
    size_t n = listpack_bytes(lp);
    unsigned char *d = mem_alloc(n);
    memcpy(d, lp, n);
    return d;
}

size_t listpack_len(unsigned char *lp)
{
    unsigned n = get_numele(lp);
    if (n != LISTPACK_NUMELE_UNKNOWN)
        return n;
    size_t count = 0;
    for (unsigned char *p = listpack_first(lp); p; p = listpack_next(lp, p))
        count++;
    if (count < LISTPACK_NUMELE_UNKNOWN)
        set_numele(lp, count);
    return count;
}

int listpack_safe_to_add(const unsigned char *lp, size_t add)
{
    size_t len = lp ? listpack_bytes(lp) : 0;
    return len + add <= LISTPACK_MAX_SAFE_SIZE;
}

unsigned char *listpack_first(unsigned char *lp)
{
    unsigned char *p = lp + LISTPACK_HDR_SIZE;
    return *p == LISTPACK_EOF ? NULL : p;
}

unsigned char *listpack_last(unsigned char *lp)
{
    unsigned char *end = lp + listpack_bytes(lp) - 1;
    return listpack_prev(lp, end);
}

unsigned char *listpack_next(unsigned char *lp, unsigned char *p)
{
    (void)lp;
    p += listpack_entry_size(p);
    return *p == LISTPACK_EOF ? NULL : p;
}

unsigned char *listpack_prev(unsigned char *lp, unsigned char *p)
{
    if (p == lp + LISTPACK_HDR_SIZE)
        return NULL;
    size_t l = backlen_get(p - 1);
    return p - l - backlen_size(l);
}

unsigned char *listpack_seek(unsigned char *lp, long index)
{
    size_t n = listpack_len(lp);
    if (index < 0)
        index += (long)n;
    if (index < 0 || (size_t)index >= n)
        return NULL;
    unsigned char *p;
    if ((size_t)index <= n / 2) {
        p = listpack_first(lp);
        while (index-- > 0)
            p = listpack_next(lp, p);
    } else {
        p = listpack_last(lp);
        for (size_t i = n - 1; i > (size_t)index; i--)
            p = listpack_prev(lp, p);
    }
    return p;
}

/* Sign-extend the low bits of u. */
static inline long long sext(uint64_t u, unsigned bits)
{
    uint64_t m = 1ULL << (bits - 1);
    return (long long)((u ^ m) - m);
}

void listpack_get(const unsigned char *p, listpack_val_t *out)
{
    unsigned char c = p[0];
    out->s = NULL;
    out->len = 0;
    if ((c & ENC_7BIT_UINT_MASK) == 0) {
        out->v = c;
    } else if ((c & ENC_6BIT_STR_MASK) == ENC_6BIT_STR) {
        out->s = p + 1;
        out->len = c & 0x3F;
    } else if ((c & ENC_13BIT_INT_MASK) == ENC_13BIT_INT) {
        out->v = sext(((uint64_t)(c & 0x1F) << 8) | p[1], 13);
    } else if ((c & ENC_12BIT_STR_MASK) == ENC_12BIT_STR) {
        out->s = p + 2;
        out->len = ((size_t)(c & 0x0F) << 8) | p[1];
    } else if (c == ENC_32BIT_STR) {
        out->s = p + 5;
        out->len = get_u32(p + 1);
    } else {
        unsigned nbytes = c == ENC_16BIT_INT   ? 2
                          : c == ENC_24BIT_INT ? 3
                          : c == ENC_32BIT_INT ? 4
                                               : 8;
        uint64_t u = 0;
        for (unsigned i = 0; i < nbytes; i++)
            u |= (uint64_t)p[1 + i] << (8 * i);
        out->v = nbytes == 8 ? (long long)u : sext(u, nbytes * 8);
    }
}

const char *listpack_val_str(const listpack_val_t *v, char *buf, size_t *len)
{
    if (v->s) {
        *len = v->len;
        return (const char *)v->s;
    }
    *len = ll_to_str(buf, v->v);
    return buf;
}

const char *listpack_get_str(const unsigned char *p, char *buf, size_t *len)
{
    listpack_val_t v;
    listpack_get(p, &v);
    return listpack_val_str(&v, buf, len);
}

int listpack_eq(const unsigned char *p, const char *s, size_t len)
{
    listpack_val_t v;
    long long iv;
    listpack_get(p, &v);
    if (v.s)
        return v.len == len && (len == 0 || memcmp(v.s, s, len) == 0);
    return len > 0 && len <= 20 && str_to_ll(s, len, &iv) && iv == v.v;
}

/* Insert up to LP_BATCH prepared values at byte offset off, replacing del
 * bytes. Returns the offset of the first inserted entry. */
static size_t lp_splice(unsigned char **lpp, size_t off, size_t del, size_t del_entries,
                        const lp_enc_t *enc, size_t n)
{
    unsigned char *lp = *lpp;
    size_t old = listpack_bytes(lp);
    size_t add = 0;
    for (size_t i = 0; i < n; i++)
        add += enc[i].enclen + enc[i].backlen;
    size_t now = old - del + add;
    if (now > UINT32_MAX)
        abort(); /* callers keep listpacks under LISTPACK_MAX_SAFE_SIZE */
    if (now > old)
        lp = mem_realloc(lp, now);
    if (add != del)
        memmove(lp + off + add, lp + off + del, old - off - del);
    if (now < old)
        lp = mem_realloc(lp, now);
    unsigned char *dst = lp + off;
    for (size_t i = 0; i < n; i++)
        dst += enc_write(dst, &enc[i]);
    put_u32(lp, (uint32_t)now);
    unsigned cnt = get_numele(lp);
    if (cnt != LISTPACK_NUMELE_UNKNOWN)
        set_numele(lp, cnt + n - del_entries);
    *lpp = lp;
    return off;
}

unsigned char *listpack_insert_vals(unsigned char **lpp, unsigned char *p, int where,
                                    const listpack_val_t *vals, size_t n)
{
    unsigned char *lp = *lpp;
    size_t off, del = 0, del_entries = 0;
    if (p == NULL) {
        off = listpack_bytes(lp) - 1;
    } else if (where == LISTPACK_BEFORE) {
        off = (size_t)(p - lp);
    } else if (where == LISTPACK_AFTER) {
        off = (size_t)(p - lp) + listpack_entry_size(p);
    } else {
        off = (size_t)(p - lp);
        del = listpack_entry_size(p);
        del_entries = 1;
    }
    size_t first = off;
    size_t done = 0;
    while (done < n || del_entries) {
        lp_enc_t enc[LP_BATCH];
        size_t k = n - done < LP_BATCH ? n - done : LP_BATCH;
        size_t add = 0;
        for (size_t i = 0; i < k; i++) {
            enc_prepare(&enc[i], &vals[done + i]);
            add += enc[i].enclen + enc[i].backlen;
        }
        lp_splice(lpp, off, del, del_entries, enc, k);
        off += add;
        done += k;
        del = del_entries = 0;
    }
    return *lpp + first;
}

unsigned char *listpack_insert(unsigned char **lpp, unsigned char *p, int where, const char *s,
                               size_t len)
{
    listpack_val_t v = {(const unsigned char *)s, len, 0};
    return listpack_insert_vals(lpp, p, where, &v, 1);
}

unsigned char *listpack_insert_int(unsigned char **lpp, unsigned char *p, int where, long long iv)
{
    listpack_val_t v = {NULL, 0, iv};
    return listpack_insert_vals(lpp, p, where, &v, 1);
}

unsigned char *listpack_replace(unsigned char **lpp, unsigned char *p, const char *s, size_t len)
{
    return listpack_insert(lpp, p, LISTPACK_REPLACE, s, len);
}

unsigned char *listpack_replace_int(unsigned char **lpp, unsigned char *p, long long v)
{
    return listpack_insert_int(lpp, p, LISTPACK_REPLACE, v);
}

void listpack_append(unsigned char **lpp, const char *s, size_t len)
{
    listpack_insert(lpp, NULL, LISTPACK_AFTER, s, len);
}

void listpack_append_int(unsigned char **lpp, long long v)
{
    listpack_insert_int(lpp, NULL, LISTPACK_AFTER, v);
}

void listpack_prepend(unsigned char **lpp, const char *s, size_t len)
{
    unsigned char *lp = *lpp;
    listpack_insert(lpp, lp + LISTPACK_HDR_SIZE, LISTPACK_BEFORE, s, len);
}

void listpack_prepend_int(unsigned char **lpp, long long v)
{
    unsigned char *lp = *lpp;
    listpack_insert_int(lpp, lp + LISTPACK_HDR_SIZE, LISTPACK_BEFORE, v);
}

unsigned char *listpack_delete_at(unsigned char **lpp, unsigned char *p, size_t count)
{
    unsigned char *lp = *lpp;
    size_t off = (size_t)(p - lp);
    unsigned char *q = p;
    size_t n = 0;
    while (n < count && *q != LISTPACK_EOF) {
        q += listpack_entry_size(q);
        n++;
    }
    if (n == 0)
        return NULL;
    lp_splice(lpp, off, (size_t)(q - p), n, NULL, 0);
    lp = *lpp;
    return lp[off] == LISTPACK_EOF ? NULL : lp + off;
}

unsigned char *listpack_delete(unsigned char **lpp, unsigned char *p)
{
    return listpack_delete_at(lpp, p, 1);
}

size_t listpack_delete_range(unsigned char **lpp, long index, size_t count)
{
    unsigned char *p = listpack_seek(*lpp, index);
    if (p == NULL || count == 0)
        return 0;
    size_t before = listpack_len(*lpp);
    listpack_delete_at(lpp, p, count);
    return before - listpack_len(*lpp);
}

void listpack_merge(unsigned char **dst, unsigned char **src)
{
    unsigned char *a = *dst, *b = *src;
    size_t abytes = listpack_bytes(a), bbytes = listpack_bytes(b);
    size_t body = bbytes - LISTPACK_HDR_SIZE - 1;
    size_t an = listpack_len(a), bn = listpack_len(b);
    size_t now = abytes + body;
    if (now > UINT32_MAX)
        abort();
    a = mem_realloc(a, now);
    memcpy(a + abytes - 1, b + LISTPACK_HDR_SIZE, body);
    a[now - 1] = LISTPACK_EOF;
    put_u32(a, (uint32_t)now);
    set_numele(a, an + bn);
    mem_free(b);
    *dst = a;
    *src = NULL;
}

unsigned char *listpack_find(unsigned char *lp, unsigned char *p, const char *s, size_t len,
                             unsigned skip)
{
    (void)lp;
    int int_state = 0; /* 0 unknown, 1 s is an integer, -1 it is not */
    long long sv = 0;
    unsigned skipcnt = 0;
    while (p && *p != LISTPACK_EOF) {
        size_t enclen = entry_enclen(p);
        if (skipcnt == 0) {
            listpack_val_t v;
            listpack_get(p, &v);
            if (v.s) {
                if (v.len == len && (len == 0 || memcmp(v.s, s, len) == 0))
                    return p;
            } else {
                if (int_state == 0)
                    int_state = len > 0 && len <= 20 && str_to_ll(s, len, &sv) ? 1 : -1;
                if (int_state == 1 && v.v == sv)
                    return p;
            }
            skipcnt = skip;
        } else {
            skipcnt--;
        }
        p += enclen + backlen_size(enclen);
    }
    return NULL;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Selection sampling (Knuth's algorithm S): one pass, ascending output. */
static void pick_by_selection(size_t n, size_t count, uint64_t (*rnd)(void), size_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < count; i++)
        if (rnd() % (n - i) < count - k)
            out[k++] = i;
}

void listpack_random_indexes(size_t n, size_t count, uint64_t (*rnd)(void), size_t *out)
{
    if (count == 0)
        return;
    if (count * 3 > n) {
        pick_by_selection(n, count, rnd, out);
        return;
    }
    /* Sparse picks: draw, sort, drop duplicates, draw again for the gap. */
    size_t have = 0;
    for (int round = 0; round < 64 && have < count; round++) {
        while (have < count)
            out[have++] = rnd() % n;
        qsort(out, have, sizeof(size_t), cmp_size);
        size_t u = 1;
        for (size_t i = 1; i < have; i++)
            if (out[i] != out[u - 1])
                out[u++] = out[i];
        have = u;
    }
    if (have < count)
        pick_by_selection(n, count, rnd, out);
}

/* Validate the entry at p, which must end before end (the 0xFF byte). Returns
 * the entry's total size, or 0 if it is malformed. */
static size_t validate_entry(const unsigned char *p, const unsigned char *end)
{
    size_t avail = (size_t)(end - p);
    unsigned char c = p[0];
    size_t hdr, enclen;
    if ((c & ENC_7BIT_UINT_MASK) == 0 || (c & ENC_6BIT_STR_MASK) == ENC_6BIT_STR)
        hdr = 1;
    else if ((c & ENC_13BIT_INT_MASK) == ENC_13BIT_INT || (c & ENC_12BIT_STR_MASK) == ENC_12BIT_STR)
        hdr = 2;
    else if (c == ENC_32BIT_STR)
        hdr = 5;
    else if (c >= ENC_16BIT_INT && c <= ENC_64BIT_INT)
        hdr = 1;
    else
        return 0;
    if (hdr > avail)
        return 0;
    enclen = entry_enclen(p);
    if (enclen < hdr || enclen > avail)
        return 0;
    size_t bl = backlen_size(enclen);
    if (bl > avail - enclen)
        return 0;
    /* The backlen must be exactly the canonical form of enclen. */
    unsigned char want[5];
    backlen_put(want, enclen);
    if (memcmp(want, p + enclen, bl) != 0)
        return 0;
    return enclen + bl;
}

int listpack_validate(const unsigned char *buf, size_t size,
                      int (*cb)(const unsigned char *p, void *arg), void *arg)
{
    if (buf == NULL || size < LISTPACK_HDR_SIZE + 1)
        return 0;
    if (get_u32(buf) != size || buf[size - 1] != LISTPACK_EOF)
        return 0;
    const unsigned char *end = buf + size - 1;
    const unsigned char *p = buf + LISTPACK_HDR_SIZE;
    size_t count = 0;
    while (p < end) {
        size_t n = validate_entry(p, end);
        if (n == 0)
            return 0;
        if (cb && !cb(p, arg))
            return 0;
        p += n;
        count++;
    }
    if (p != end)
        return 0;
    unsigned hdr = get_numele(buf);
    return hdr == LISTPACK_NUMELE_UNKNOWN || hdr == count;
}

typedef struct pairs_ctx_s {
    size_t count;
    int (*cb)(const unsigned char *p, void *arg);
    void *arg;
} pairs_ctx_t;

static int pairs_cb(const unsigned char *p, void *arg)
{
    pairs_ctx_t *c = arg;
    c->count++;
    return c->cb == NULL || c->cb(p, c->arg);
}

/* Order entries by their bytes (qsort over entry pointers). */
static int entry_cmp(const void *a, const void *b)
{
    char ba[LISTPACK_INTBUF], bb[LISTPACK_INTBUF];
    size_t la, lb;
    const char *x = listpack_get_str(*(unsigned char *const *)a, ba, &la);
    const char *y = listpack_get_str(*(unsigned char *const *)b, bb, &lb);
    int c = memcmp(x, y, la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

int listpack_validate_pairs(const unsigned char *buf, size_t size,
                            int (*cb)(const unsigned char *p, void *arg), void *arg)
{
    pairs_ctx_t c = {0, cb, arg};
    if (!listpack_validate(buf, size, pairs_cb, &c) || c.count % 2 != 0)
        return 0;
    size_t n = c.count / 2, k = 0;
    if (n < 2)
        return 1;
    unsigned char *lp = (unsigned char *)buf;
    unsigned char **keys = mem_alloc(n * sizeof(*keys));
    for (unsigned char *p = listpack_first(lp); p; p = listpack_next(lp, listpack_next(lp, p)))
        keys[k++] = p;
    qsort(keys, n, sizeof(*keys), entry_cmp);
    int ok = 1;
    for (k = 1; k < n && ok; k++)
        ok = entry_cmp(&keys[k - 1], &keys[k]) != 0;
    mem_free(keys);
    return ok;
}
