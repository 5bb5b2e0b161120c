/*
 * textbuf.h — a growable text buffer for replies assembled as text before
 * they are sent (INFO, LATENCY DOCTOR). Private to the server-command family.
 *
 * Owns: its heap block (textbuf_deinit frees it). Invariant: p[len] == '\0'
 * whenever p != NULL; cap > len.
 */
#ifndef TESSERA_TEXTBUF_H
#define TESSERA_TEXTBUF_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../lib/mem.h"

typedef struct textbuf_s {
    char *p;
    size_t len, cap;
} textbuf_t;

static inline void textbuf_init(textbuf_t *b)
{
    b->cap = 1024;
    b->len = 0;
    b->p = mem_alloc(b->cap);
    b->p[0] = '\0';
}

static inline void textbuf_deinit(textbuf_t *b)
{
    mem_free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

static inline void textbuf_reserve(textbuf_t *b, size_t more)
{
    if (b->len + more < b->cap)
        return;
    while (b->len + more >= b->cap)
        b->cap *= 2;
    b->p = mem_realloc(b->p, b->cap);
}

static inline void textbuf_add(textbuf_t *b, const char *s, size_t n)
{
    textbuf_reserve(b, n + 1);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static inline void textbuf_cstr(textbuf_t *b, const char *s)
{
    textbuf_add(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static inline void textbuf_printf(textbuf_t *b,
                                                                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= b->cap - b->len) {
        textbuf_reserve(b, (size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

#endif
