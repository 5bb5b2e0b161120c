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
 *    ...), without the leading '-' and without the "ERR " code: the client
 *    replies with reply_errorf(r, "ERR %s", p->err) as Redis does, then closes
 *    after the reply is written. The error is sticky until resp_reset().
 *
 * Behaviours copied from Redis 7.0 (verified on the wire against 7.0.15):
 *  - A request starting with '*' is a multibulk, anything else an inline line.
 *  - Counts and lengths follow string2ll: no '+', no leading zeros, no "-0", no
 *    spaces. A count <= 0 ("*0", "*-1", "*-7") is an empty request (argc 0).
 *  - A header line ends at its first CR; the byte after the CR is skipped
 *    without being checked, and so are the two bytes after a bulk's payload.
 *  - A NUL byte before the CR of a header (or before the LF of an inline line)
 *    hides the terminator as it does for Redis's strchr(): the line can never
 *    complete and ends in the "too big" error once 64 KiB are buffered.
 *  - Inline lines are split like sdssplitargs: separators are space, \t, \r,
 *    \n (leading \v \f are skipped too); "..." with \n \r \t \b \a \xHH and
 *    \<any> escapes, '...' with \' only; a closing quote must be followed by
 *    white space or the end of the line. Empty arguments ("") are kept.
 *  - "Too big" (64 KiB) is judged on the line's terminator position, so the
 *    outcome does not depend on how the bytes were split into reads (Redis's
 *    own outcome for lines between 64 and 80 KiB depends on its 16 KiB reads).
 *  - The master link is exempt from proto-max-bulk-len in Redis: its client
 *    sets max_bulk to LLONG_MAX.
 *
 * Limits (Redis 7.0's): multibulk count > INT_MAX or not a number → invalid
 * multibulk length; bulk length < 0 or > max_bulk → invalid bulk length; while the client
 * is unauthenticated, count > 10 → unauthenticated multibulk length and bulk >
 * 16384 → unauthenticated bulk length; a header line with no CR within 64 KiB
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
    int unauth;         /* 1 while the connection still has to AUTH (read when a
                           header is parsed: clear it after a successful AUTH,
                           before parsing the next request) */
    /* progress inside the current request */
    int state;
    long long mb_count; /* elements announced by '*' (multibulk) */
    long long bulk_len; /* length of the bulk being read, -1 if none */
    size_t pos;         /* bytes of the request already consumed */
    size_t scan;        /* the current line has no terminator before this offset */
    int poison;         /* a NUL hides the current line's terminator */
    int argc;
    int argv_cap;
    size_t *arg_off; /* offsets relative to the request start */
    size_t *arg_len;
    slice_t *argv; /* filled on RESP_OK */
    char err[128];
} resp_parser_t;

void resp_init(resp_parser_t *p, long long max_bulk);
void resp_deinit(resp_parser_t *p);
/* Forget the current request's progress and any sticky error. */
void resp_reset(resp_parser_t *p);
int resp_parse(resp_parser_t *p, char *buf, size_t len, size_t *used, resp_req_t *req);
/* After RESP_AGAIN: when a bulk of at least RESP_BIG_ARG bytes is pending, the
 * number of bytes, counted from the request start, that must be buffered for
 * it to complete (its payload and CRLF included); else 0. Elements after it
 * may need more: the caller asks again after the next RESP_AGAIN. */
size_t resp_need(const resp_parser_t *p);
/* 1 if the request under way is a multibulk (so a half-read request is not an
 * inline one), used by the client to decide how to treat a closed connection. */
int resp_in_progress(const resp_parser_t *p);

#endif
