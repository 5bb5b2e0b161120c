/*
 * reply.h — a client's reply buffer and the RESP2/RESP3 encoders that fill it.
 *
 * Storage: an inline area of REPLY_INLINE bytes, then a list of heap chunks of
 * at least REPLY_CHUNK bytes each (bigger for one big bulk). Bytes never move
 * once written: the loop room may hand them to the kernel (uv_write) while
 * commands keep appending behind them.
 *
 * Ordering rule: appends go to the inline area only while there is no chunk;
 * once a chunk exists, everything goes to the tail chunk (so order holds).
 *
 * Consumption (by the loop room): reply_iov() lists the pending bytes as
 * segments; reply_consume() drops bytes from the front once the kernel has them
 * (frees chunks, rewinds the inline area when it is empty).
 *
 * Encoders pick RESP2 or RESP3 forms from r->resp. Errors: reply_error() takes
 * the whole message including its code ("ERR wrong number of arguments for 'get'
 * command", "WRONGTYPE ..."), writes "-<msg>\r\n" (CR/LF inside msg become
 * spaces), counts it in r->errors and remembers its code (first word) in
 * r->last_err_code for INFO errorstats (Redis's rule: the first word if a
 * space occurs within the first 31 bytes, else "ERR").
 *
 * Deferred lengths: reply_defer() reserves REPLY_DEFER_HDR bytes; setting it
 * writes the header there and closes the gap by moving only the bytes written
 * after it in the same segment (never bytes that may be with the kernel). Each
 * segment holds at most one unset placeholder (a second one opened while the
 * first is unset starts a new chunk), so placeholders may be set in any order.
 * Every placeholder must be set before the reply is next flushed, moved or
 * consumed: until then its bytes are garbage. No extra bytes reach the wire.
 */
#ifndef TESSERA_REPLY_H
#define TESSERA_REPLY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define REPLY_INLINE (16 * 1024)
#define REPLY_CHUNK (16 * 1024)
#define REPLY_DEFER_HDR 23 /* "*" + "-9223372036854775808" + CRLF */

typedef struct reply_chunk_s {
    struct reply_chunk_s *next;
    size_t len;  /* bytes written */
    size_t cap;  /* bytes available in data */
    size_t sent; /* bytes already consumed from the front */
    char data[];
} reply_chunk_t;

typedef struct reply_s {
    int resp;        /* 2 or 3 */
    size_t inl_len;  /* bytes written in inl */
    size_t inl_sent; /* bytes of inl already consumed */
    reply_chunk_t *head, *tail;
    size_t pending;   /* bytes written and not yet consumed (all storage) */
    size_t chunk_mem; /* heap bytes held by chunks (output buffer limits, INFO) */
    int tail_defer;   /* the tail segment holds an unset deferred length */
    uint64_t errors;  /* error replies written so far */
    char last_err_code[32];
    char inl[REPLY_INLINE];
} reply_t;

/* A placeholder for a length written later (KEYS, SCAN, CLIENT LIST ...). */
typedef struct reply_defer_s {
    reply_chunk_t *chunk; /* NULL: the placeholder is in the inline area */
    size_t off;
} reply_defer_t;

void reply_init(reply_t *r, int resp);
void reply_deinit(reply_t *r);
/* Drop everything pending (used for scratch replies and CLIENT REPLY OFF).
 * Frees chunks: never while a write of them is in flight. Counters stay. */
void reply_clear(reply_t *r);
static inline size_t reply_pending(const reply_t *r)
{
    return r->pending;
}

/* Up to max segments of pending bytes into iov; returns the count. */
int reply_iov(const reply_t *r, struct iovec *iov, int max);
/* The kernel took n bytes from the front. */
void reply_consume(reply_t *r, size_t n);
/* Move everything pending in src to the end of dst (MULTI/EXEC, scratch). */
/* Chunks are handed over without copying when dst's tail has no room for
 * them; src ends empty. Neither reply's error counters change. */
void reply_move(reply_t *dst, reply_t *src);

/* Appends bytes as they are (pre-encoded protocol). */
void reply_raw(reply_t *r, const void *p, size_t n);
void reply_ok(reply_t *r);                    /* +OK */
void reply_status(reply_t *r, const char *s); /* +s */
void reply_status_len(reply_t *r, const char *s, size_t n);
void reply_error(reply_t *r, const char *msg); /* -msg */
void reply_error_len(reply_t *r, const char *msg, size_t n);
void reply_errorf(reply_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_int(reply_t *r, long long v); /* :v */
void reply_bulk(reply_t *r, const void *p, size_t n);
void reply_bulk_cstr(reply_t *r, const char *s); /* NULL → null */
void reply_bulk_ll(reply_t *r, long long v);     /* integer as a bulk string */
/* "$n\r\n" only: the caller appends exactly n bytes and "\r\n" with reply_raw. */
void reply_bulk_hdr(reply_t *r, size_t n);
void reply_null(reply_t *r);               /* $-1 / _ */
void reply_null_array(reply_t *r);         /* *-1 / _ */
void reply_array(reply_t *r, long long n); /* *n */
void reply_map(reply_t *r, long long n);   /* %n / *2n */
void reply_set(reply_t *r, long long n);   /* ~n / *n */
void reply_push(reply_t *r, long long n);  /* >n / *n */
void reply_double(reply_t *r, double d);   /* ,d / bulk "d" (d_to_str's text) */
void reply_bool(reply_t *r, int b);        /* #t #f / :1 :0 */
/* ext is exactly 3 bytes ("txt", "mkd"). */
void reply_verbatim(reply_t *r, const char *p, size_t n,
                    const char *ext);                   /* =n\r\ntxt:... / bulk */
void reply_bignum(reply_t *r, const char *p, size_t n); /* (n / bulk */

/* Deferred aggregate lengths: write the header later, once the count is known. */
reply_defer_t reply_defer(reply_t *r);
void reply_defer_array(reply_t *r, reply_defer_t d, long long n);
void reply_defer_map(reply_t *r, reply_defer_t d, long long n);
void reply_defer_set(reply_t *r, reply_defer_t d, long long n);

#endif
