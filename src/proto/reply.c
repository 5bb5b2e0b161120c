/*
 * reply.c — a client's reply buffer and the RESP2/RESP3 encoders (see reply.h).
 *
 * Owns: the inline area and the chunk list of one reply_t, and the exact bytes
 * of every reply form.
 * Must not: do I/O, move a byte once written (except the bytes written after
 * an unset deferred placeholder, which cannot have been handed out yet), or
 * allocate for a reply that fits in the current tail.
 *
 * Invariants:
 *  - Appends go to the inline area while head == NULL, else to tail. Pending
 *    bytes are inl[inl_sent, inl_len) followed by each chunk's [sent, len).
 *  - pending == sum of those ranges; chunk_mem == sum of mem_usable(chunk).
 *  - A segment (the inline area or a chunk) holds at most one unset deferred
 *    placeholder; tail_defer says whether the tail segment holds one.
 */
#include "reply.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../lib/mem.h"
#include "../lib/util.h"

#define REPLY_HDR_MAX REPLY_DEFER_HDR /* longest "<type><long long>\r\n" */

/* ---- integer formatting ------------------------------------------------ */

static const char reply_digits2[] = "00010203040506070809"
                                    "10111213141516171819"
                                    "20212223242526272829"
                                    "30313233343536373839"
                                    "40414243444546474849"
                                    "50515253545556575859"
                                    "60616263646566676869"
                                    "70717273747576777879"
                                    "80818283848586878889"
                                    "90919293949596979899";

static inline size_t reply_u64_len(uint64_t v)
{
    size_t n = 1;
    for (;;) {
        if (v < 10)
            return n;
        if (v < 100)
            return n + 1;
        if (v < 1000)
            return n + 2;
        if (v < 10000)
            return n + 3;
        v /= 10000;
        n += 4;
    }
}

/* Decimal form of v at dst (no NUL); returns its length (at most 20). */
static inline size_t reply_fmt_u64(char *dst, uint64_t v)
{
    size_t len = reply_u64_len(v);
    char *p = dst + len;

    while (v >= 100) {
        size_t i = (size_t)(v % 100) * 2;
        v /= 100;
        *--p = reply_digits2[i + 1];
        *--p = reply_digits2[i];
    }
    if (v < 10) {
        *--p = (char)('0' + v);
    } else {
        *--p = reply_digits2[v * 2 + 1];
        *--p = reply_digits2[v * 2];
    }
    return len;
}

static inline size_t reply_fmt_ll(char *dst, long long v)
{
    if (v < 0) {
        *dst = '-';
        return 1 + reply_fmt_u64(dst + 1, (uint64_t)0 - (uint64_t)v);
    }
    return reply_fmt_u64(dst, (uint64_t)v);
}

/* "<type><v>\r\n" at dst; returns its length (at most REPLY_HDR_MAX). */
static inline size_t reply_fmt_hdr(char *dst, char type, long long v)
{
    dst[0] = type;
    size_t n = 1 + reply_fmt_ll(dst + 1, v);
    dst[n] = '\r';
    dst[n + 1] = '\n';
    return n + 2;
}

/* ---- storage ----------------------------------------------------------- */

/* Free bytes at the tail and where they start. */
static inline char *reply_tail(reply_t *r, size_t *room)
{
    if (r->head == NULL) {
        *room = REPLY_INLINE - r->inl_len;
        return r->inl + r->inl_len;
    }
    *room = r->tail->cap - r->tail->len;
    return r->tail->data + r->tail->len;
}

static inline void reply_commit(reply_t *r, size_t n)
{
    if (r->head == NULL)
        r->inl_len += n;
    else
        r->tail->len += n;
    r->pending += n;
}

/* Appends an empty chunk able to hold at least `need` bytes. */
static void reply_chunk_new(reply_t *r, size_t need)
{
    size_t cap = need > REPLY_CHUNK ? need : REPLY_CHUNK;
    reply_chunk_t *c = mem_alloc(sizeof(*c) + cap);
    size_t usable = mem_usable(c);

    c->next = NULL;
    c->len = 0;
    c->sent = 0;
    c->cap = usable - sizeof(*c);
    if (r->head == NULL)
        r->head = c;
    else
        r->tail->next = c;
    r->tail = c;
    r->chunk_mem += usable;
    r->tail_defer = 0;
}

/* General append: fills the tail, then new chunks sized for the rest of the
 * item being written (hint = bytes of the item from p on, >= n). */
static void reply_write(reply_t *r, const char *p, size_t n, size_t hint)
{
    while (n > 0) {
        size_t room;
        char *w = reply_tail(r, &room);
        if (room == 0) {
            reply_chunk_new(r, hint > n ? hint : n);
            continue;
        }
        size_t k = n < room ? n : room;
        memcpy(w, p, k);
        reply_commit(r, k);
        p += k;
        n -= k;
        hint = hint > k ? hint - k : 0;
    }
}

static inline void reply_put(reply_t *r, const char *p, size_t n)
{
    size_t room;
    char *w = reply_tail(r, &room);

    if (n <= room) {
        memcpy(w, p, n);
        reply_commit(r, n);
        return;
    }
    reply_write(r, p, n, n);
}

static void reply_hdr(reply_t *r, char type, long long v)
{
    size_t room;
    char *w = reply_tail(r, &room);

    if (room >= REPLY_HDR_MAX) {
        reply_commit(r, reply_fmt_hdr(w, type, v));
        return;
    }
    char tmp[REPLY_HDR_MAX];
    reply_write(r, tmp, reply_fmt_hdr(tmp, type, v), REPLY_HDR_MAX);
}

void reply_init(reply_t *r, int resp)
{
    r->resp = resp;
    r->inl_len = 0;
    r->inl_sent = 0;
    r->head = NULL;
    r->tail = NULL;
    r->pending = 0;
    r->chunk_mem = 0;
    r->tail_defer = 0;
    r->errors = 0;
    r->last_err_code[0] = '\0';
}

void reply_clear(reply_t *r)
{
    reply_chunk_t *c = r->head;

    while (c != NULL) {
        reply_chunk_t *next = c->next;
        mem_free(c);
        c = next;
    }
    r->head = NULL;
    r->tail = NULL;
    r->inl_len = 0;
    r->inl_sent = 0;
    r->pending = 0;
    r->chunk_mem = 0;
    r->tail_defer = 0;
}

void reply_deinit(reply_t *r)
{
    reply_clear(r);
}

int reply_iov(const reply_t *r, struct iovec *iov, int max)
{
    int n = 0;

    if (n < max && r->inl_len > r->inl_sent) {
        iov[n].iov_base = (char *)r->inl + r->inl_sent;
        iov[n].iov_len = r->inl_len - r->inl_sent;
        n++;
    }
    for (reply_chunk_t *c = r->head; c != NULL && n < max; c = c->next) {
        if (c->len > c->sent) {
            iov[n].iov_base = c->data + c->sent;
            iov[n].iov_len = c->len - c->sent;
            n++;
        }
    }
    return n;
}

void reply_consume(reply_t *r, size_t n)
{
    size_t k = r->inl_len - r->inl_sent;

    if (n > r->pending)
        n = r->pending;
    r->pending -= n;
    if (k > n)
        k = n;
    r->inl_sent += k;
    n -= k;
    if (r->inl_sent == r->inl_len)
        r->inl_sent = r->inl_len = 0;
    while (r->head != NULL) {
        reply_chunk_t *c = r->head;
        k = c->len - c->sent;
        if (k > n)
            k = n;
        c->sent += k;
        n -= k;
        if (c->sent < c->len)
            break;
        r->head = c->next;
        if (r->head == NULL) {
            r->tail = NULL;
            r->tail_defer = 0;
        }
        r->chunk_mem -= mem_usable(c);
        mem_free(c);
    }
}

/* Takes chunk c (detached from src) into dst: copied when dst's tail has room
 * for its pending bytes, else linked as dst's new tail. */
static void reply_take_chunk(reply_t *dst, reply_chunk_t *c)
{
    size_t k = c->len - c->sent;
    size_t room;

    reply_tail(dst, &room);
    if (k <= room) {
        reply_put(dst, c->data + c->sent, k);
        mem_free(c);
        return;
    }
    c->next = NULL;
    if (dst->head == NULL)
        dst->head = c;
    else
        dst->tail->next = c;
    dst->tail = c;
    dst->chunk_mem += mem_usable(c);
    dst->pending += k;
    dst->tail_defer = 0;
}

void reply_move(reply_t *dst, reply_t *src)
{
    size_t k = src->inl_len - src->inl_sent;
    reply_chunk_t *c = src->head;

    if (k > 0)
        reply_write(dst, src->inl + src->inl_sent, k, k);
    while (c != NULL) {
        reply_chunk_t *next = c->next;
        reply_take_chunk(dst, c);
        c = next;
    }
    src->head = NULL;
    src->tail = NULL;
    reply_clear(src);
}

/* ---- encoders ---------------------------------------------------------- */

void reply_raw(reply_t *r, const void *p, size_t n)
{
    reply_put(r, p, n);
}

void reply_ok(reply_t *r)
{
    reply_put(r, "+OK\r\n", 5);
}

void reply_status_len(reply_t *r, const char *s, size_t n)
{
    size_t room;
    char *w = reply_tail(r, &room);

    if (n + 3 <= room) {
        w[0] = '+';
        memcpy(w + 1, s, n);
        w[n + 1] = '\r';
        w[n + 2] = '\n';
        reply_commit(r, n + 3);
        return;
    }
    reply_write(r, "+", 1, n + 3);
    reply_write(r, s, n, n + 2);
    reply_put(r, "\r\n", 2);
}

void reply_status(reply_t *r, const char *s)
{
    reply_status_len(r, s, strlen(s));
}

/* Redis's errorstats rule: the code is the first word when a space occurs in
 * the first 31 bytes of the message (32 with its '-'), else "ERR". */
static void reply_err_code(reply_t *r, const char *msg, size_t n)
{
    const char *sp = memchr(msg, ' ', n < 31 ? n : 31);

    if (sp == NULL) {
        memcpy(r->last_err_code, "ERR", 4);
        return;
    }
    size_t k = (size_t)(sp - msg);
    memcpy(r->last_err_code, msg, k);
    r->last_err_code[k] = '\0';
}

void reply_error_len(reply_t *r, const char *msg, size_t n)
{
    const char *end;

    if (n > 0 && msg[0] == '-') {
        msg++;
        n--;
    }
    end = msg + n;
    r->errors++;
    reply_err_code(r, msg, n);
    reply_write(r, "-", 1, n + 3);
    while (msg < end) {
        const char *q = msg;
        while (q < end && *q != '\r' && *q != '\n')
            q++;
        reply_write(r, msg, (size_t)(q - msg), (size_t)(end - msg) + 2);
        if (q < end)
            reply_write(r, " ", 1, (size_t)(end - q) + 2);
        msg = q < end ? q + 1 : q;
    }
    reply_put(r, "\r\n", 2);
}

void reply_error(reply_t *r, const char *msg)
{
    reply_error_len(r, msg, strlen(msg));
}

void reply_errorf(reply_t *r, const char *fmt, ...)
{
    char buf[512];
    va_list ap, ap2;

    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n < sizeof(buf)) {
        reply_error_len(r, buf, (size_t)n);
    } else {
        char *big = mem_alloc((size_t)n + 1);
        vsnprintf(big, (size_t)n + 1, fmt, ap2);
        reply_error_len(r, big, (size_t)n);
        mem_free(big);
    }
    va_end(ap2);
}

void reply_int(reply_t *r, long long v)
{
    if (v == 0)
        reply_put(r, ":0\r\n", 4);
    else if (v == 1)
        reply_put(r, ":1\r\n", 4);
    else
        reply_hdr(r, ':', v);
}

void reply_bulk(reply_t *r, const void *p, size_t n)
{
    size_t room;
    char *w = reply_tail(r, &room);

    if (n + REPLY_HDR_MAX + 2 <= room) { /* n is the size of an object in memory: no overflow */
        char *s = w;
        *s++ = '$';
        s += reply_fmt_u64(s, n);
        *s++ = '\r';
        *s++ = '\n';
        memcpy(s, p, n);
        s += n;
        *s++ = '\r';
        *s++ = '\n';
        reply_commit(r, (size_t)(s - w));
        return;
    }
    char hdr[REPLY_HDR_MAX];
    size_t hl = reply_fmt_hdr(hdr, '$', (long long)n);
    reply_write(r, hdr, hl, hl + n + 2);
    reply_write(r, p, n, n + 2);
    reply_put(r, "\r\n", 2);
}

void reply_bulk_hdr(reply_t *r, size_t n)
{
    reply_hdr(r, '$', (long long)n);
}

void reply_bulk_cstr(reply_t *r, const char *s)
{
    if (s == NULL)
        reply_null(r);
    else
        reply_bulk(r, s, strlen(s));
}

void reply_bulk_ll(reply_t *r, long long v)
{
    char buf[24];
    reply_bulk(r, buf, reply_fmt_ll(buf, v));
}

void reply_null(reply_t *r)
{
    if (r->resp == 3)
        reply_put(r, "_\r\n", 3);
    else
        reply_put(r, "$-1\r\n", 5);
}

void reply_null_array(reply_t *r)
{
    if (r->resp == 3)
        reply_put(r, "_\r\n", 3);
    else
        reply_put(r, "*-1\r\n", 5);
}

void reply_array(reply_t *r, long long n)
{
    reply_hdr(r, '*', n);
}

void reply_map(reply_t *r, long long n)
{
    if (r->resp == 3)
        reply_hdr(r, '%', n);
    else
        reply_hdr(r, '*', n * 2);
}

void reply_set(reply_t *r, long long n)
{
    reply_hdr(r, r->resp == 3 ? '~' : '*', n);
}

void reply_push(reply_t *r, long long n)
{
    reply_hdr(r, r->resp == 3 ? '>' : '*', n);
}

void reply_double(reply_t *r, double d)
{
    char buf[128];
    size_t n = d_to_str(buf + 1, sizeof(buf) - 3, d);

    if (r->resp != 3) {
        reply_bulk(r, buf + 1, n);
        return;
    }
    buf[0] = ',';
    buf[n + 1] = '\r';
    buf[n + 2] = '\n';
    reply_put(r, buf, n + 3);
}

void reply_bool(reply_t *r, int b)
{
    if (r->resp == 3)
        reply_put(r, b ? "#t\r\n" : "#f\r\n", 4);
    else
        reply_put(r, b ? ":1\r\n" : ":0\r\n", 4);
}

void reply_verbatim(reply_t *r, const char *p, size_t n, const char *ext)
{
    if (r->resp != 3) {
        reply_bulk(r, p, n);
        return;
    }
    char hdr[REPLY_HDR_MAX + 4];
    size_t hl = reply_fmt_hdr(hdr, '=', (long long)n + 4);
    memcpy(hdr + hl, ext, 3);
    hdr[hl + 3] = ':';
    hl += 4;
    reply_write(r, hdr, hl, hl + n + 2);
    reply_write(r, p, n, n + 2);
    reply_put(r, "\r\n", 2);
}

void reply_bignum(reply_t *r, const char *p, size_t n)
{
    if (r->resp != 3) {
        reply_bulk(r, p, n);
        return;
    }
    reply_write(r, "(", 1, n + 3);
    reply_write(r, p, n, n + 2);
    reply_put(r, "\r\n", 2);
}

/* ---- deferred lengths -------------------------------------------------- */

reply_defer_t reply_defer(reply_t *r)
{
    size_t room;
    reply_defer_t d;

    reply_tail(r, &room);
    if (r->tail_defer || room < REPLY_HDR_MAX)
        reply_chunk_new(r, REPLY_CHUNK);
    char *w = reply_tail(r, &room);
    d.chunk = r->head == NULL ? NULL : r->tail;
    d.off = r->head == NULL ? r->inl_len : r->tail->len;
    memset(w, 0, REPLY_HDR_MAX);
    reply_commit(r, REPLY_HDR_MAX);
    r->tail_defer = 1;
    return d;
}

static void reply_defer_fill(reply_t *r, reply_defer_t d, char type, long long n)
{
    char *base = d.chunk != NULL ? d.chunk->data : r->inl;
    size_t *len = d.chunk != NULL ? &d.chunk->len : &r->inl_len;
    char *at = base + d.off;
    size_t hl = reply_fmt_hdr(at, type, n);
    size_t gap = REPLY_HDR_MAX - hl;

    if (gap > 0) {
        memmove(at + hl, at + REPLY_HDR_MAX, *len - d.off - REPLY_HDR_MAX);
        *len -= gap;
        r->pending -= gap;
    }
    if (d.chunk == (r->head == NULL ? NULL : r->tail))
        r->tail_defer = 0;
}

void reply_defer_array(reply_t *r, reply_defer_t d, long long n)
{
    reply_defer_fill(r, d, '*', n);
}

void reply_defer_map(reply_t *r, reply_defer_t d, long long n)
{
    if (r->resp == 3)
        reply_defer_fill(r, d, '%', n);
    else
        reply_defer_fill(r, d, '*', n * 2);
}

void reply_defer_set(reply_t *r, reply_defer_t d, long long n)
{
    reply_defer_fill(r, d, r->resp == 3 ? '~' : '*', n);
}
