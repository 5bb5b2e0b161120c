/*
 * repl_backlog.h — the replication backlog: a fixed-size ring of the most
 * recent bytes of the replication stream, addressed by replication offset, so
 * a replica that lost its link can continue (PSYNC → +CONTINUE) from the byte
 * after the last one it processed.
 *
 * Offsets follow Redis: the stream's first byte has offset 1; `end` is the
 * offset of the last byte written (== master_repl_offset); the backlog holds
 * the histlen bytes [end - histlen + 1, end]. A replica asking PSYNC with
 * offset `from` (the first byte it still needs) can be served iff
 * first <= from <= end + 1 (from == end + 1: nothing to send).
 *
 * Pure: no I/O, no clock. Owns `buf` (mem.h); embedded storage: _init/_deinit.
 * Invariants: histlen <= size; idx < size; the byte at offset `end` sits at
 * buf[(idx + size - 1) % size] when histlen > 0.
 */
#ifndef TESSERA_REPL_BACKLOG_H
#define TESSERA_REPL_BACKLOG_H

#include <stddef.h>

typedef struct repl_backlog_s {
    char *buf;      /* size bytes; NULL when the backlog does not exist */
    size_t size;    /* capacity (repl-backlog-size) */
    size_t idx;     /* where the next byte goes */
    size_t histlen; /* valid bytes, <= size */
    long long end;  /* offset of the last byte written; first - 1 while empty */
} repl_backlog_t;

/* A backlog of size bytes (> 0) whose next byte will have offset end + 1. */
void repl_backlog_init(repl_backlog_t *b, size_t size, long long end);
/* Free the ring; the struct reads as inactive (buf == NULL) afterwards. */
void repl_backlog_deinit(repl_backlog_t *b);
static inline int repl_backlog_active(const repl_backlog_t *b)
{
    return b->buf != NULL;
}
/* Append n bytes (only the last `size` of them are kept); end += n. */
void repl_backlog_append(repl_backlog_t *b, const void *p, size_t n);
/* Offset of the oldest byte held (end + 1 when empty). */
long long repl_backlog_first(const repl_backlog_t *b);
/* 1 if a reader needing every byte from offset `from` on can be served. */
int repl_backlog_covers(const repl_backlog_t *b, long long from);
/*
 * The bytes [from, end] as at most two segments (the ring may wrap).
 * Requires repl_backlog_covers(b, from). Returns the segment count (0 when
 * from == end + 1); p[i]/n[i] are borrowed until the next append.
 */
int repl_backlog_range(const repl_backlog_t *b, long long from, const char *p[2], size_t n[2]);
/* Change the capacity keeping the newest min(histlen, size) bytes. */
void repl_backlog_resize(repl_backlog_t *b, size_t size);

#endif
