/*
 * resp.c — the incremental RESP request parser (see resp.h for the contract).
 *
 * Owns: the parser's progress through one request and its argv arrays.
 * Must not: do I/O, allocate per request (arrays only grow, and shrink back
 * after an unusually wide request), size anything from a header before the
 * elements arrive, or read a byte twice on the hot path.
 *
 * Invariants:
 *  - pos is the offset, from the request start, of the first byte not consumed
 *    yet: the start of the header line (or of the bulk payload) under way.
 *  - arg_off/arg_len hold argc completed elements as offsets from the request
 *    start; argv is filled from them only when the request completes, because
 *    the caller may move the bytes between calls.
 *  - scan >= pos while a line is being searched: bytes in [pos, scan) hold no
 *    terminator and no NUL, so a resumed search starts at scan.
 *  - state ST_ERR is sticky until resp_reset().
 */
#include "resp.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "../lib/mem.h"

enum {
    ST_START = 0, /* nothing of the request seen */
    ST_MBHDR,     /* reading "*<count>\r\n" */
    ST_BULKHDR,   /* reading "$<len>\r\n" */
    ST_BULK,      /* reading the payload and the two bytes after it */
    ST_INLINE,    /* reading an inline line up to '\n' */
    ST_ERR        /* a protocol error was reported */
};

#define RESP_ARGV_MIN 8     /* first size of the argv arrays */
#define RESP_ARGV_KEEP 1024 /* wider arrays are dropped once their request is done */
#define RESP_UNAUTH_COUNT 10
#define RESP_UNAUTH_BULK 16384

static int resp_fail(resp_parser_t *p, const char *msg)
{
    snprintf(p->err, sizeof(p->err), "%s", msg);
    p->state = ST_ERR;
    return RESP_ERR;
}

static void resp_progress_clear(resp_parser_t *p)
{
    p->state = ST_START;
    p->mb_count = 0;
    p->bulk_len = -1;
    p->pos = 0;
    p->scan = 0;
    p->poison = 0;
    p->argc = 0;
}

static void resp_arrays_free(resp_parser_t *p)
{
    mem_free(p->arg_off);
    mem_free(p->arg_len);
    mem_free(p->argv);
    p->arg_off = NULL;
    p->arg_len = NULL;
    p->argv = NULL;
    p->argv_cap = 0;
}

void resp_init(resp_parser_t *p, long long max_bulk)
{
    memset(p, 0, sizeof(*p));
    p->max_bulk = max_bulk;
    resp_progress_clear(p);
}

void resp_deinit(resp_parser_t *p)
{
    resp_arrays_free(p);
    resp_progress_clear(p);
}

void resp_reset(resp_parser_t *p)
{
    resp_progress_clear(p);
    p->err[0] = '\0';
}

size_t resp_need(const resp_parser_t *p)
{
    if (p->state == ST_BULK && p->bulk_len >= RESP_BIG_ARG)
        return p->pos + (size_t)p->bulk_len + 2;
    return 0;
}

int resp_in_progress(const resp_parser_t *p)
{
    return p->state == ST_MBHDR || p->state == ST_BULKHDR || p->state == ST_BULK;
}

/* Makes room for one more element. Growth follows the elements that actually
 * arrived, never the announced count. */
static void resp_grow(resp_parser_t *p)
{
    int cap = p->argv_cap ? p->argv_cap * 2 : RESP_ARGV_MIN;
    p->arg_off = mem_realloc(p->arg_off, (size_t)cap * sizeof(*p->arg_off));
    p->arg_len = mem_realloc(p->arg_len, (size_t)cap * sizeof(*p->arg_len));
    p->argv = mem_realloc(p->argv, (size_t)cap * sizeof(*p->argv));
    p->argv_cap = cap;
}

static inline void resp_push_arg(resp_parser_t *p, size_t off, size_t len)
{
    if (p->argc == p->argv_cap)
        resp_grow(p);
    p->arg_off[p->argc] = off;
    p->arg_len[p->argc] = len;
    p->argc++;
}

/* Redis's string2ll acceptance: optional '-', then a digit 1-9 and digits, or
 * exactly "0"; must fit in a long long. */
static int resp_strict_ll(const char *s, size_t n, long long *out)
{
    size_t i = 0;
    int neg = 0;
    unsigned long long v = 0;

    if (n == 0 || n > 20)
        return 0;
    if (n == 1 && s[0] == '0') {
        *out = 0;
        return 1;
    }
    if (s[0] == '-') {
        neg = 1;
        i = 1;
        if (n == 1)
            return 0;
    }
    if (s[i] < '1' || s[i] > '9')
        return 0;
    for (; i < n; i++) {
        unsigned d = (unsigned char)s[i] - (unsigned)'0';
        if (d > 9 || v > (ULLONG_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (unsigned long long)LLONG_MAX + 1)
            return 0;
        *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    } else {
        if (v > (unsigned long long)LLONG_MAX)
            return 0;
        *out = (long long)v;
    }
    return 1;
}

/* Hot path for a header number: 1 to 18 plain digits, no leading zero, then
 * CR and at least one more byte. Returns 0 whenever the general path must
 * decide (sign, zeros, garbage, missing bytes). */
static inline int resp_num_fast(const char *s, const char *end, long long *v, const char **cr)
{
    const char *q = s;
    long long n = 0;

    while (q < end) {
        unsigned d = (unsigned char)*q - (unsigned)'0';
        if (d > 9)
            break;
        if (q - s == 18)
            return 0;
        n = n * 10 + (long long)d;
        q++;
    }
    if (q == s || end - q < 2 || *q != '\r' || (*s == '0' && q - s > 1))
        return 0;
    *v = n;
    *cr = q;
    return 1;
}

/*
 * Finds the terminator `term` of the line starting at p->pos. RESP_OK: *at is
 * its offset and at least `after` bytes follow it. RESP_AGAIN: not yet.
 * RESP_ERR: no terminator within RESP_INLINE_MAX + 1 bytes (or a NUL hides it)
 * and more than RESP_INLINE_MAX bytes are buffered; too_big is the error text.
 */
static int resp_find(resp_parser_t *p, const char *buf, size_t len, char term, size_t after,
                     size_t *at, const char *too_big)
{
    size_t start = p->pos, avail = len - start;
    size_t wend = start + (avail < RESP_INLINE_MAX + 1 ? avail : RESP_INLINE_MAX + 1);
    size_t from = p->scan > start ? p->scan : start;

    if (!p->poison && from < wend) {
        const char *t = memchr(buf + from, term, wend - from);
        size_t stop = t ? (size_t)(t - buf) : wend;
        if (memchr(buf + from, '\0', stop - from) != NULL) {
            p->poison = 1;
        } else if (t != NULL) {
            p->scan = stop;
            if (len - stop <= after)
                return RESP_AGAIN;
            *at = stop;
            return RESP_OK;
        } else {
            p->scan = wend;
        }
    }
    if (avail > RESP_INLINE_MAX)
        return resp_fail(p, too_big);
    return RESP_AGAIN;
}

static int resp_mb_header(resp_parser_t *p, const char *buf, size_t len)
{
    long long v;
    const char *cr;
    size_t at;

    if (resp_num_fast(buf + 1, buf + len, &v, &cr) && v <= INT_MAX) {
        at = (size_t)(cr - buf);
    } else {
        int rc = resp_find(p, buf, len, '\r', 1, &at, "Protocol error: too big mbulk count string");
        if (rc != RESP_OK)
            return rc;
        if (!resp_strict_ll(buf + 1, at - 1, &v) || v > INT_MAX)
            return resp_fail(p, "Protocol error: invalid multibulk length");
    }
    if (v > RESP_UNAUTH_COUNT && p->unauth)
        return resp_fail(p, "Protocol error: unauthenticated multibulk length");
    p->mb_count = v;
    p->pos = at + 2;
    p->scan = p->pos;
    if (v <= 0)
        return RESP_OK;
    p->state = ST_BULKHDR;
    return RESP_AGAIN;
}

static int resp_bulk_header(resp_parser_t *p, const char *buf, size_t len)
{
    const char *s = buf + p->pos;
    long long v;
    const char *cr;
    size_t at;

    if (p->pos < len && *s == '$' && resp_num_fast(s + 1, buf + len, &v, &cr)) {
        at = (size_t)(cr - buf);
    } else {
        int rc = resp_find(p, buf, len, '\r', 1, &at, "Protocol error: too big bulk count string");
        if (rc != RESP_OK)
            return rc;
        if (*s != '$') {
            char msg[64];
            snprintf(msg, sizeof(msg), "Protocol error: expected '$', got '%c'", *s);
            return resp_fail(p, msg);
        }
        if (!resp_strict_ll(s + 1, at - p->pos - 1, &v))
            v = -1;
    }
    if (v < 0 || v > p->max_bulk)
        return resp_fail(p, "Protocol error: invalid bulk length");
    if (v > RESP_UNAUTH_BULK && p->unauth)
        return resp_fail(p, "Protocol error: unauthenticated bulk length");
    p->bulk_len = v;
    p->pos = at + 2;
    p->state = ST_BULK;
    return RESP_OK;
}

/* Runs the multibulk states until the request completes or bytes run out. */
static int resp_multibulk(resp_parser_t *p, const char *buf, size_t len)
{
    int rc;

    if (p->state == ST_MBHDR) {
        rc = resp_mb_header(p, buf, len);
        if (rc != RESP_AGAIN || p->state != ST_BULKHDR)
            return rc;
    }
    for (;;) {
        if (p->state == ST_BULKHDR) {
            rc = resp_bulk_header(p, buf, len);
            if (rc != RESP_OK)
                return rc;
        }
        size_t need = (size_t)p->bulk_len + 2;
        if (len - p->pos < need)
            return RESP_AGAIN;
        resp_push_arg(p, p->pos, (size_t)p->bulk_len);
        p->pos += need;
        p->scan = p->pos;
        p->bulk_len = -1;
        if (p->argc == p->mb_count)
            return RESP_OK;
        p->state = ST_BULKHDR;
    }
}

static inline int resp_is_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r'); /* isspace() in the C locale */
}

static inline int resp_hex_val(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* One "..." token body starting after the opening quote at s[*r]. Writes the
 * unescaped bytes at s[*w]. Returns 0, or -1 on unbalanced quotes. */
static int resp_dquoted(char *s, size_t n, size_t *r, size_t *w)
{
    size_t i = *r, o = *w;

    for (;;) {
        if (i == n)
            return -1;
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' && i + 3 < n && s[i + 1] == 'x' &&
            resp_hex_val((unsigned char)s[i + 2]) >= 0 &&
            resp_hex_val((unsigned char)s[i + 3]) >= 0) {
            s[o++] = (char)(resp_hex_val((unsigned char)s[i + 2]) * 16 +
                            resp_hex_val((unsigned char)s[i + 3]));
            i += 4;
        } else if (c == '\\' && i + 1 < n) {
            char e = s[i + 1];
            switch (e) {
            case 'n':
                e = '\n';
                break;
            case 'r':
                e = '\r';
                break;
            case 't':
                e = '\t';
                break;
            case 'b':
                e = '\b';
                break;
            case 'a':
                e = '\a';
                break;
            default:
                break;
            }
            s[o++] = e;
            i += 2;
        } else if (c == '"') {
            if (i + 1 < n && !resp_is_space((unsigned char)s[i + 1]))
                return -1;
            *r = i + 1;
            *w = o;
            return 0;
        } else {
            s[o++] = (char)c;
            i++;
        }
    }
}

/* One '...' token body, as resp_dquoted(); only \' is an escape. */
static int resp_squoted(char *s, size_t n, size_t *r, size_t *w)
{
    size_t i = *r, o = *w;

    for (;;) {
        if (i == n)
            return -1;
        if (s[i] == '\\' && i + 1 < n && s[i + 1] == '\'') {
            s[o++] = '\'';
            i += 2;
        } else if (s[i] == '\'') {
            if (i + 1 < n && !resp_is_space((unsigned char)s[i + 1]))
                return -1;
            *r = i + 1;
            *w = o;
            return 0;
        } else {
            s[o++] = s[i++];
        }
    }
}

/* Splits line s[0, n) into arguments in place. Every token is written at or
 * before where it is read, so earlier tokens are never overwritten. */
static int resp_split(resp_parser_t *p, char *s, size_t n)
{
    size_t r = 0;

    for (;;) {
        while (r < n && resp_is_space((unsigned char)s[r]))
            r++;
        if (r == n)
            return RESP_OK;
        size_t start = r, w = r;
        int done = 0;
        while (!done && r < n) {
            char c = s[r];
            if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
                done = 1;
            } else if (c == '"' || c == '\'') {
                r++;
                int rc = c == '"' ? resp_dquoted(s, n, &r, &w) : resp_squoted(s, n, &r, &w);
                if (rc < 0)
                    return resp_fail(p, "Protocol error: unbalanced quotes in request");
                done = 1;
            } else {
                s[w++] = c;
                r++;
            }
        }
        resp_push_arg(p, start, w - start);
    }
}

static int resp_inline(resp_parser_t *p, char *buf, size_t len)
{
    size_t nl;
    int rc = resp_find(p, buf, len, '\n', 0, &nl, "Protocol error: too big inline request");

    if (rc != RESP_OK)
        return rc;
    size_t end = nl;
    if (end > 0 && buf[end - 1] == '\r')
        end--;
    rc = resp_split(p, buf, end);
    if (rc != RESP_OK)
        return rc;
    p->pos = nl + 1;
    return RESP_OK;
}

int resp_parse(resp_parser_t *p, char *buf, size_t len, size_t *used, resp_req_t *req)
{
    int rc;

    *used = 0;
    if (p->state == ST_ERR)
        return RESP_ERR;
    if (p->state == ST_START) {
        if (len == 0)
            return RESP_AGAIN;
        if (p->argv_cap > RESP_ARGV_KEEP)
            resp_arrays_free(p);
        p->state = buf[0] == '*' ? ST_MBHDR : ST_INLINE;
    }
    rc = p->state == ST_INLINE ? resp_inline(p, buf, len) : resp_multibulk(p, buf, len);
    if (rc != RESP_OK)
        return rc;
    for (int i = 0; i < p->argc; i++) {
        p->argv[i].p = buf + p->arg_off[i];
        p->argv[i].len = p->arg_len[i];
    }
    req->argc = p->argc;
    req->argv = p->argv;
    *used = p->pos;
    resp_progress_clear(p);
    return RESP_OK;
}
