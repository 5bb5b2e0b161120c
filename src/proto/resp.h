/*
 * resp.h — incremental RESP request parser (multibulk and inline), tri-state.
 *
 * Pure: takes bytes, returns a status; no I/O, no allocation per request once
 * the argv arrays have grown to the largest request seen.
 *
 * Contract of resp_parse():
 *  - buf/len: the unconsumed bytes of the connection, starting at the first
 *    byte of the request being parsed. After RESP_AGAIN the caller passes the
 *    same bytes again (they may have moved in memory) plus whatever arrived; the
 *    parser resumes from where it was (it keeps offsets, not pointers), so a
 *    request split at any byte boundary costs O(bytes) overall.
 *  - RESP_OK: *used = length of the request; req->argv holds req->argc slices
 *    into buf (inline requests are unescaped in place, so buf is mutable). The
 *    slices stay valid until the next call. argc may be 0 (an empty inline line
 *    or "*0\r\n"): the caller just skips *used bytes.
 *  - RESP_AGAIN: need more bytes; *used = 0. resp_need() tells how many bytes
 *    the request needs in total when that is known (a big bulk), so the caller
 *    can size its buffer exactly once.
 *  - RESP_ERR: p->err holds Redis's text ("Protocol error: invalid bulk length",
 *    ...), without the leading '-'. The error is sticky until resp_reset().
 *
 * Limits (Redis 7.0's): multibulk count > INT_MAX or < -1 → invalid multibulk
 * length; bulk length < 0 or > max_bulk → invalid bulk length; while the client
 * is unauthenticated, count > 10 → unauthenticated multibulk length and bulk >
 * 16384 → unauthenticated bulk length; a header line with no CRLF within 64 KiB
 * → too big mbulk/bulk count string; an inline line with no newline within 64
 * KiB → too big inline request; inline quotes unbalanced → unbalanced quotes in
 * request. argv grows as elements arrive (never preallocated from the header).
 */
#ifndef TESSERA_RESP_H
#define TESSERA_RESP_H

#include <stddef.h>

#include "../lib/slice.h"

enum { RESP_OK = 0, RESP_AGAIN = 1, RESP_ERR = -1 };

#define RESP_INLINE_MAX (64 * 1024)
#define RESP_BIG_ARG (32 * 1024) /* a bulk this big is worth a buffer of its own */

typedef struct resp_req_s {
    int argc;
    slice_t *argv; /* borrowed from the parser, pointing into buf */
} resp_req_t;

typedef struct resp_parser_s {
    /* configuration, set by the owner */
    long long max_bulk; /* proto-max-bulk-len */
    int unauth;         /* 1 while the connection still has to AUTH */
    /* progress inside the current request */
    int state;
    long long mb_count;  /* elements announced by '*' (multibulk) */
    long long bulk_len;  /* length of the bulk being read, -1 if none */
    size_t pos;          /* bytes of the request already consumed */
    int argc;
    int argv_cap;
    size_t *arg_off; /* offsets relative to the request start */
    size_t *arg_len;
    slice_t *argv;   /* filled on RESP_OK */
    char err[128];
} resp_parser_t;

void resp_init(resp_parser_t *p, long long max_bulk);
void resp_deinit(resp_parser_t *p);
/* Forget the current request's progress and any sticky error. */
void resp_reset(resp_parser_t *p);
int resp_parse(resp_parser_t *p, char *buf, size_t len, size_t *used, resp_req_t *req);
/* After RESP_AGAIN: total bytes the request needs, if known, else 0. */
size_t resp_need(const resp_parser_t *p);
/* 1 if the request under way is a multibulk (so a half-read request is not an
 * inline one), used by the client to decide how to treat a closed connection. */
int resp_in_progress(const resp_parser_t *p);

#endif
