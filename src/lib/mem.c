/*
 * mem.c — allocator door over jemalloc (see mem.h).
 *
 * The used-memory counter is a relaxed atomic so helper threads (AOF fsync) may
 * free through here; the hot path pays one uncontended add per call.
 */
#include "mem.h"

#include <jemalloc/jemalloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_size_t used_bytes;

static void mem_oom(size_t n)
{
    fprintf(stderr, "tessera: out of memory allocating %zu bytes\n", n);
    fflush(stderr);
    abort();
}

void *mem_alloc(size_t n)
{
    void *p = mallocx(n ? n : 1, 0);
    if (p == NULL)
        mem_oom(n);
    atomic_fetch_add_explicit(&used_bytes, sallocx(p, 0), memory_order_relaxed);
    return p;
}

void *mem_calloc(size_t n)
{
    void *p = mallocx(n ? n : 1, MALLOCX_ZERO);
    if (p == NULL)
        mem_oom(n);
    atomic_fetch_add_explicit(&used_bytes, sallocx(p, 0), memory_order_relaxed);
    return p;
}

void *mem_realloc(void *p, size_t n)
{
    if (p == NULL)
        return mem_alloc(n);
    size_t old = sallocx(p, 0);
    void *q = rallocx(p, n ? n : 1, 0);
    if (q == NULL)
        mem_oom(n);
    size_t now = sallocx(q, 0);
    if (now >= old)
        atomic_fetch_add_explicit(&used_bytes, now - old, memory_order_relaxed);
    else
        atomic_fetch_sub_explicit(&used_bytes, old - now, memory_order_relaxed);
    return q;
}

void mem_free(void *p)
{
    if (p == NULL)
        return;
    size_t sz = sallocx(p, 0);
    atomic_fetch_sub_explicit(&used_bytes, sz, memory_order_relaxed);
    sdallocx(p, sz, 0);
}

size_t mem_usable(const void *p)
{
    return p ? sallocx((void *)p, 0) : 0;
}

char *mem_strndup(const char *s, size_t n)
{
    char *d = mem_alloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *mem_strdup(const char *s)
{
    return mem_strndup(s, strlen(s));
}

size_t mem_used(void)
{
    return atomic_load_explicit(&used_bytes, memory_order_relaxed);
}

size_t mem_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return 0;
    unsigned long size = 0, rss = 0;
    int ok = fscanf(f, "%lu %lu", &size, &rss) == 2;
    fclose(f);
    return ok ? (size_t)rss * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

const char *mem_allocator_name(void)
{
    static char name[64];
    if (name[0] == '\0') {
        const char *v = NULL;
        size_t sz = sizeof(v);
        if (mallctl("version", &v, &sz, NULL, 0) == 0 && v != NULL) {
            /* jemalloc reports "5.3.0-0-g..."; keep the release part. */
            size_t n = strcspn(v, "-");
            snprintf(name, sizeof(name), "jemalloc-%.*s", (int)n, v);
        } else {
            snprintf(name, sizeof(name), "jemalloc");
        }
    }
    return name;
}
