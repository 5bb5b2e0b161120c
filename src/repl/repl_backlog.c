/*
 * repl_backlog.c — the replication backlog ring (see repl_backlog.h).
 *
 * Owns: the ring storage. Must not: know about replicas or sockets.
 * Invariants: as in the header; every append keeps `end` in step with the
 * stream so `first` is always end - histlen + 1.
 */
#include "repl_backlog.h"

#include <string.h>

#include "../lib/mem.h"

void repl_backlog_init(repl_backlog_t *b, size_t size, long long end)
{
    b->size = size > 0 ? size : 1;
    b->buf = mem_alloc(b->size);
    b->idx = 0;
    b->histlen = 0;
    b->end = end;
}

void repl_backlog_deinit(repl_backlog_t *b)
{
    mem_free(b->buf);
    b->buf = NULL;
    b->idx = b->histlen = 0;
}

void repl_backlog_append(repl_backlog_t *b, const void *p, size_t n)
{
    const char *src = p;
    b->end += (long long)n;
    if (n >= b->size) { /* only the tail survives */
        memcpy(b->buf, src + (n - b->size), b->size);
        b->idx = 0;
        b->histlen = b->size;
        return;
    }
    size_t first = b->size - b->idx < n ? b->size - b->idx : n;
    memcpy(b->buf + b->idx, src, first);
    memcpy(b->buf, src + first, n - first);
    b->idx = (b->idx + n) % b->size;
    b->histlen = b->histlen + n > b->size ? b->size : b->histlen + n;
}

long long repl_backlog_first(const repl_backlog_t *b)
{
    return b->end - (long long)b->histlen + 1;
}

int repl_backlog_covers(const repl_backlog_t *b, long long from)
{
    return b->buf != NULL && from >= repl_backlog_first(b) && from <= b->end + 1;
}

int repl_backlog_range(const repl_backlog_t *b, long long from, const char *p[2], size_t n[2])
{
    size_t len = (size_t)(b->end + 1 - from);
    if (len == 0)
        return 0;
    /* position of offset `from`: idx points one past `end` */
    size_t start = (b->idx + b->size - len) % b->size;
    if (start + len <= b->size) {
        p[0] = b->buf + start, n[0] = len;
        return 1;
    }
    p[0] = b->buf + start, n[0] = b->size - start;
    p[1] = b->buf, n[1] = len - n[0];
    return 2;
}

void repl_backlog_resize(repl_backlog_t *b, size_t size)
{
    if (size == 0)
        size = 1;
    if (b->buf == NULL || size == b->size)
        return;
    size_t keep = b->histlen < size ? b->histlen : size;
    char *nb = mem_alloc(size);
    const char *p[2];
    size_t n[2];
    int k = repl_backlog_range(b, b->end + 1 - (long long)keep, p, n);
    size_t off = 0;
    for (int i = 0; i < k; i++) {
        memcpy(nb + off, p[i], n[i]);
        off += n[i];
    }
    mem_free(b->buf);
    b->buf = nb;
    b->size = size;
    b->histlen = keep;
    b->idx = keep % size;
}
