/*
 * mem.h — the allocator door. Every heap allocation in Tessera goes through here.
 *
 * Owns: the used-memory figure (INFO used_memory), computed from jemalloc's real
 * allocation sizes so it matches what the allocator hands out.
 * Must not: return NULL. On out-of-memory it logs the size and aborts, so callers
 * never check (STYLE rule 9).
 * Invariant: mem_used() == sum of usable sizes of live blocks allocated here.
 */
#ifndef TESSERA_MEM_H
#define TESSERA_MEM_H

#include <stddef.h>

void *mem_alloc(size_t n);
void *mem_calloc(size_t n);
void *mem_realloc(void *p, size_t n); /* p may be NULL; never returns NULL */
void mem_free(void *p);               /* p may be NULL */
size_t mem_usable(const void *p);     /* real size of the block behind p */
char *mem_strndup(const char *s, size_t n); /* NUL-terminated copy */
char *mem_strdup(const char *s);
size_t mem_used(void);                /* bytes currently allocated through this door */
size_t mem_rss(void);                 /* resident set size from /proc, 0 if unknown */
const char *mem_allocator_name(void); /* "jemalloc-5.3.0" */

#endif
