/*
 * slice.h — a borrowed byte range. Never owns its bytes; valid as long as the
 * buffer it points into (usually a client's query buffer until the command ends).
 */
#ifndef TESSERA_SLICE_H
#define TESSERA_SLICE_H

#include <stddef.h>
#include <string.h>
#include <strings.h>

typedef struct slice_s {
    const char *p;
    size_t len;
} slice_t;

#define SLICE_LIT(s) ((slice_t){(s), sizeof(s) - 1})

static inline slice_t slice_make(const char *p, size_t len)
{
    return (slice_t){p, len};
}

/* Case-insensitive compare with a NUL-terminated word (command and option names). */
static inline int slice_eq_ci(slice_t s, const char *word)
{
    size_t n = strlen(word);
    return s.len == n && strncasecmp(s.p, word, n) == 0;
}

static inline int slice_eq(slice_t a, slice_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

#endif
