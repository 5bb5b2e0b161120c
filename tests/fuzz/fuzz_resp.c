/*
 * fuzz_resp.c — libFuzzer harness for src/proto/resp.c.
 *
 * Input layout: byte 0 picks the parser configuration (bit 0: unauthenticated,
 * bit 1: proto-max-bulk-len of 1000 instead of 512 MiB), bytes 1-2 pick where
 * the stream is split, the rest is the byte stream of a connection.
 *
 * The stream is parsed whole, then split in two at the data-derived boundary
 * (the buffer moves between the two calls), then byte by byte when short. Each
 * run logs every outcome (status, used, argv bytes, error text, what is left);
 * the logs must be identical. Invariants checked on every call: used <= len,
 * used > 0 on OK, *used == 0 otherwise, argv slices inside [buf, buf + used),
 * resp_need() larger than what is buffered when it is known.
 */
/* SOURCES: src/proto/resp.c src/lib/mem.c */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "proto/resp.h"

typedef struct log_s {
    char *p;
    size_t len, cap;
} log_t;

static void log_put(log_t *l, const void *p, size_t n)
{
    if (l->len + n > l->cap) {
        l->cap = (l->len + n) * 2 + 256;
        l->p = realloc(l->p, l->cap);
        if (l->p == NULL)
            abort();
    }
    memcpy(l->p + l->len, p, n);
    l->len += n;
}

static void log_num(log_t *l, size_t v)
{
    log_put(l, &v, sizeof(v));
}

typedef struct fconn_s {
    resp_parser_t p;
    char *buf;
    size_t len;
    int done;
    log_t log;
} fconn_t;

static void fconn_drain(fconn_t *c)
{
    while (!c->done) {
        size_t used = 777;
        resp_req_t req = {0, NULL};
        int rc = resp_parse(&c->p, c->buf, c->len, &used, &req);
        if (rc == RESP_AGAIN) {
            size_t need = resp_need(&c->p);
            if (used != 0 || (need != 0 && need <= c->len))
                abort();
            return;
        }
        if (rc == RESP_ERR) {
            if (used != 0 || c->p.err[0] == '\0')
                abort();
            log_put(&c->log, "E", 1);
            log_put(&c->log, c->p.err, strlen(c->p.err));
            c->done = 1;
            return;
        }
        if (rc != RESP_OK || used == 0 || used > c->len || req.argc < 0)
            abort();
        log_put(&c->log, "K", 1);
        log_num(&c->log, used);
        log_num(&c->log, (size_t)req.argc);
        for (int i = 0; i < req.argc; i++) {
            const char *a = req.argv[i].p;
            size_t n = req.argv[i].len;
            if (a < c->buf || a > c->buf + used || n > (size_t)(c->buf + used - a))
                abort();
            log_num(&c->log, n);
            log_put(&c->log, a, n);
        }
        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;
    }
}

/* Appends bytes to a fresh allocation (the old buffer is freed, so a stale
 * pointer kept by the parser would be caught by ASan). */
static void fconn_feed(fconn_t *c, const uint8_t *d, size_t n)
{
    char *nb = malloc(c->len + n + 1);
    if (nb == NULL)
        abort();
    if (c->len)
        memcpy(nb, c->buf, c->len);
    if (n)
        memcpy(nb + c->len, d, n);
    free(c->buf);
    c->buf = nb;
    c->len += n;
    fconn_drain(c);
}

static void fconn_start(fconn_t *c, uint8_t cfg)
{
    memset(c, 0, sizeof(*c));
    resp_init(&c->p, (cfg & 2) ? 1000 : 512LL * 1024 * 1024);
    c->p.unauth = cfg & 1;
}

static void fconn_end(fconn_t *c)
{
    if (!c->done) {
        log_put(&c->log, "A", 1);
        log_num(&c->log, c->len);
    }
    resp_deinit(&c->p);
    free(c->buf);
}

static void check_same(const log_t *a, const log_t *b)
{
    if (a->len != b->len || (a->len && memcmp(a->p, b->p, a->len) != 0)) {
        fprintf(stderr, "fuzz_resp: split run differs from whole run\n");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fconn_t whole, split;

    if (size < 3)
        return 0;
    uint8_t cfg = data[0];
    size_t at = (size_t)data[1] | ((size_t)data[2] << 8);
    data += 3;
    size -= 3;
    at %= size + 1;

    fconn_start(&whole, cfg);
    fconn_feed(&whole, data, size);

    fconn_start(&split, cfg);
    fconn_feed(&split, data, at);
    fconn_feed(&split, data + at, size - at);
    fconn_end(&split);
    fconn_end(&whole);
    check_same(&whole.log, &split.log);
    free(split.log.p);

    if (size <= 512) {
        fconn_t bytes;
        fconn_start(&bytes, cfg);
        for (size_t i = 0; i < size; i++)
            fconn_feed(&bytes, data + i, 1);
        fconn_end(&bytes);
        check_same(&whole.log, &bytes.log);
        free(bytes.log.p);
    }
    free(whole.log.p);
    return 0;
}
