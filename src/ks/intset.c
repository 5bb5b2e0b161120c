/*
 * intset.c — sorted integer arrays in Redis's intset format (see intset.h).
 *
 * Owns: each intset block, allocated to exactly intset_bytes().
 * Must not: read outside a block (untrusted bytes go through intset_validate),
 * allocate outside mem.h, or downgrade an encoding.
 * Invariants: encoding in {2,4,8} and wide enough for every element; elements
 * strictly ascending; block size == 8 + length * encoding.
 */
#include "ks/intset.h"

#include <string.h>

#include "lib/mem.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "intset.c stores elements in host order and needs a little-endian host"
#endif

struct intset_s {
    uint32_t encoding;
    uint32_t length;
    unsigned char contents[];
};

static inline uint32_t enc_for(int64_t v)
{
    if (v < INT32_MIN || v > INT32_MAX)
        return INTSET_ENC_INT64;
    if (v < INT16_MIN || v > INT16_MAX)
        return INTSET_ENC_INT32;
    return INTSET_ENC_INT16;
}

static inline int64_t get_enc(const unsigned char *c, uint32_t pos, uint32_t enc)
{
    if (enc == INTSET_ENC_INT64) {
        int64_t v;
        memcpy(&v, c + (size_t)pos * 8, 8);
        return v;
    }
    if (enc == INTSET_ENC_INT32) {
        int32_t v;
        memcpy(&v, c + (size_t)pos * 4, 4);
        return v;
    }
    int16_t v;
    memcpy(&v, c + (size_t)pos * 2, 2);
    return v;
}

static inline void set_enc(unsigned char *c, uint32_t pos, uint32_t enc, int64_t v)
{
    if (enc == INTSET_ENC_INT64) {
        memcpy(c + (size_t)pos * 8, &v, 8);
    } else if (enc == INTSET_ENC_INT32) {
        int32_t x = (int32_t)v;
        memcpy(c + (size_t)pos * 4, &x, 4);
    } else {
        int16_t x = (int16_t)v;
        memcpy(c + (size_t)pos * 2, &x, 2);
    }
}

static intset_t *resize(intset_t *is, uint32_t len)
{
    return mem_realloc(is, INTSET_HDR_SIZE + (size_t)len * is->encoding);
}

/* Binary search. Returns 1 and sets *pos if found; otherwise *pos is where v
 * would be inserted. */
static int search(const intset_t *is, int64_t v, uint32_t *pos)
{
    uint32_t lo = 0, hi = is->length;
    if (is->length == 0) {
        *pos = 0;
        return 0;
    }
    if (v > get_enc(is->contents, is->length - 1, is->encoding)) {
        *pos = is->length;
        return 0;
    }
    if (v < get_enc(is->contents, 0, is->encoding)) {
        *pos = 0;
        return 0;
    }
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int64_t cur = get_enc(is->contents, mid, is->encoding);
        if (cur < v) {
            lo = mid + 1;
        } else if (cur > v) {
            hi = mid;
        } else {
            *pos = mid;
            return 1;
        }
    }
    *pos = lo;
    return 0;
}

intset_t *intset_new(void)
{
    intset_t *is = mem_alloc(INTSET_HDR_SIZE);
    is->encoding = INTSET_ENC_INT16;
    is->length = 0;
    return is;
}

void intset_free(intset_t *is)
{
    mem_free(is);
}

intset_t *intset_dup(const intset_t *is)
{
    size_t n = intset_bytes(is);
    intset_t *d = mem_alloc(n);
    memcpy(d, is, n);
    return d;
}

/* Widen every element to enc and add v, which is outside the current range
 * (so it goes first when negative, last otherwise). */
static intset_t *upgrade_add(intset_t *is, uint32_t enc, int64_t v)
{
    uint32_t old = is->encoding, len = is->length;
    int prepend = v < 0;
    is->encoding = enc;
    is = resize(is, len + 1);
    for (uint32_t i = len; i-- > 0;)
        set_enc(is->contents, i + (uint32_t)prepend, enc, get_enc(is->contents, i, old));
    set_enc(is->contents, prepend ? 0 : len, enc, v);
    is->length = len + 1;
    return is;
}

int intset_add(intset_t **isp, int64_t v)
{
    intset_t *is = *isp;
    uint32_t enc = enc_for(v), pos;
    if (enc > is->encoding) {
        *isp = upgrade_add(is, enc, v);
        return 1;
    }
    if (search(is, v, &pos))
        return 0;
    is = resize(is, is->length + 1);
    if (pos < is->length)
        memmove(is->contents + (size_t)(pos + 1) * is->encoding,
                is->contents + (size_t)pos * is->encoding,
                (size_t)(is->length - pos) * is->encoding);
    set_enc(is->contents, pos, is->encoding, v);
    is->length++;
    *isp = is;
    return 1;
}

int intset_remove(intset_t **isp, int64_t v)
{
    intset_t *is = *isp;
    uint32_t pos;
    if (enc_for(v) > is->encoding || !search(is, v, &pos))
        return 0;
    memmove(is->contents + (size_t)pos * is->encoding,
            is->contents + (size_t)(pos + 1) * is->encoding,
            (size_t)(is->length - pos - 1) * is->encoding);
    is->length--;
    *isp = resize(is, is->length);
    return 1;
}

int intset_find(const intset_t *is, int64_t v)
{
    uint32_t pos;
    return enc_for(v) <= is->encoding && search(is, v, &pos);
}

int64_t intset_get(const intset_t *is, uint32_t pos)
{
    return get_enc(is->contents, pos, is->encoding);
}

int64_t intset_random(const intset_t *is, uint64_t (*rnd)(void))
{
    return get_enc(is->contents, (uint32_t)(rnd() % is->length), is->encoding);
}

int64_t intset_min(const intset_t *is)
{
    return get_enc(is->contents, 0, is->encoding);
}

int64_t intset_max(const intset_t *is)
{
    return get_enc(is->contents, is->length - 1, is->encoding);
}

uint32_t intset_len(const intset_t *is)
{
    return is->length;
}

uint32_t intset_encoding(const intset_t *is)
{
    return is->encoding;
}

size_t intset_bytes(const intset_t *is)
{
    return INTSET_HDR_SIZE + (size_t)is->length * is->encoding;
}

const unsigned char *intset_raw(const intset_t *is)
{
    return (const unsigned char *)is;
}

int intset_validate(const unsigned char *buf, size_t size)
{
    uint32_t enc, len;
    if (buf == NULL || size < INTSET_HDR_SIZE)
        return 0;
    memcpy(&enc, buf, 4);
    memcpy(&len, buf + 4, 4);
    if (enc != INTSET_ENC_INT16 && enc != INTSET_ENC_INT32 && enc != INTSET_ENC_INT64)
        return 0;
    if (len == 0 || (size - INTSET_HDR_SIZE) / enc != len || (size - INTSET_HDR_SIZE) % enc != 0)
        return 0;
    const unsigned char *c = buf + INTSET_HDR_SIZE;
    for (uint32_t i = 1; i < len; i++)
        if (get_enc(c, i - 1, enc) >= get_enc(c, i, enc))
            return 0;
    return 1;
}

intset_t *intset_from_bytes(const unsigned char *buf, size_t size)
{
    intset_t *is = mem_alloc(size);
    memcpy(is, buf, size);
    return is;
}
