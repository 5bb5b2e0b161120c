/*
 * aof_reader.c — command iterator over an AOF buffer (see aof_reader.h).
 *
 * Owns: the AOF-specific checks around resp_parse (no inline, argc >= 1,
 * CRLF after every header and payload, '#' annotations) and the offsets.
 * Must not: execute commands, read files, allocate per command (the parser's
 * argv arrays are reused).
 * Invariant: r->off only moves forward, and only to the end of a complete,
 * well-formed command or annotation line.
 */
#include "aof_reader.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

void aof_reader_init(aof_reader_t *r, char *buf, size_t len)
{
    memset(r, 0, sizeof(*r));
    resp_init(&r->parser, LLONG_MAX);
    r->buf = buf;
    r->len = len;
    r->state = AOF_READ_OK;
}

void aof_reader_deinit(aof_reader_t *r) { resp_deinit(&r->parser); }

size_t aof_line_of(const char *buf, size_t off)
{
    size_t n = 1;
    for (const char *p = buf, *end = buf + off; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            break;
        n++;
        p = nl + 1;
    }
    return n;
}

static int reader_fail(aof_reader_t *r, size_t at, const char *msg)
{
    r->err_off = at;
    snprintf(r->err, sizeof(r->err), "%s", msg);
    r->state = AOF_READ_ERR;
    return AOF_READ_ERR;
}

static int is_crlf(const char *p) { return p[0] == '\r' && p[1] == '\n'; }

/*
 * resp_parse skips the byte after each header's CR and the two bytes after a
 * payload unchecked; check them from the argument slices: each payload is
 * preceded by "\r\n" (end of its "$len" line) and followed by "\r\n".
 * Returns 0, or -1 with *bad set to the offset of the first wrong byte.
 */
static int check_terminators(const aof_reader_t *r, const resp_req_t *req, size_t start,
                             size_t end, size_t *bad)
{
    const char *base = r->buf;
    for (int i = 0; i < req->argc; i++) {
        const char *p = req->argv[i].p;
        size_t off = (size_t)(p - base);
        if (off < start + 2 || !is_crlf(p - 2)) {
            *bad = off - 2;
            return -1;
        }
        if (off + req->argv[i].len + 2 > end || !is_crlf(p + req->argv[i].len)) {
            *bad = off + req->argv[i].len;
            return -1;
        }
    }
    return 0;
}

int aof_reader_next(aof_reader_t *r, aof_cmd_t *cmd)
{
    if (r->state != AOF_READ_OK)
        return r->state;
    for (;;) {
        size_t start = r->off;
        if (start == r->len) {
            r->state = AOF_READ_EOF;
            return AOF_READ_EOF;
        }
        char c = r->buf[start];
        if (c == '#') {
            const char *nl = memchr(r->buf + start, '\n', r->len - start);
            if (nl == NULL) {
                r->state = AOF_READ_TRUNC;
                return AOF_READ_TRUNC;
            }
            r->off = (size_t)(nl - r->buf) + 1;
            continue;
        }
        if (c != '*') {
            char msg[64];
            snprintf(msg, sizeof(msg), "Expected prefix '*', got: '%c'", c);
            return reader_fail(r, start, msg);
        }
        size_t used = 0;
        resp_req_t req;
        int rc = resp_parse(&r->parser, r->buf + start, r->len - start, &used, &req);
        if (rc == RESP_AGAIN) {
            r->state = AOF_READ_TRUNC;
            return AOF_READ_TRUNC;
        }
        if (rc == RESP_ERR) /* the parser stopped at the start of the bad line */
            return reader_fail(r, start + r->parser.pos, r->parser.err);
        if (req.argc < 1)
            return reader_fail(r, start, "Protocol error: invalid multibulk length");
        size_t bad;
        if (check_terminators(r, &req, start, start + used, &bad) != 0)
            return reader_fail(r, bad, "Expected \\r\\n");
        r->off = start + used;
        cmd->argc = req.argc;
        cmd->argv = req.argv;
        cmd->off = start;
        cmd->end = r->off;
        return AOF_READ_OK;
    }
}
