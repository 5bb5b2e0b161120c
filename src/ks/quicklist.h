/*
 * quicklist.h — Redis 7.0's list value: a doubly linked list of listpack
 * nodes (OBJECT ENCODING "quicklist"; RDB type 18 saves each node's listpack).
 *
 * Node size follows list-max-listpack-size ("fill"):
 *   fill < 0: a node's listpack may grow to 4/8/16/32/64 KiB for -1..-5
 *             (values below -5 act as -5);
 *   fill > 0: at most fill entries per node, and a node stays under 8 KiB
 *             unless it holds a single entry (fill is capped at 32767).
 * An entry bigger than the limit gets a node of its own. Compression
 * (list-compress-depth) is not implemented: depth 0 is the only mode.
 *
 * The structs are public so the RDB writer can walk nodes; everything else
 * treats them as read-only and goes through the functions below.
 * Invariants: no node is empty; ql->count is the sum of node counts; each
 * node's sz/count mirror its listpack's size and entry count.
 */
#ifndef TESSERA_QUICKLIST_H
#define TESSERA_QUICKLIST_H

#include <stddef.h>
#include <stdint.h>

#include "ks/kv.h"
#include "ks/listpack.h"

#define QUICKLIST_HEAD 0
#define QUICKLIST_TAIL 1
#define QUICKLIST_FILL_DEFAULT (-2)
#define QUICKLIST_FILL_MAX 32767

typedef struct quicklist_node_s {
    struct quicklist_node_s *prev, *next;
    unsigned char *lp;
    uint32_t sz;    /* listpack_bytes(lp) */
    uint32_t count; /* entries in lp */
} quicklist_node_t;

typedef struct quicklist_s {
    quicklist_node_t *head, *tail;
    size_t count; /* entries in all nodes */
    uint32_t len; /* nodes */
    int16_t fill;
} quicklist_t;

/* Direction of iteration. */
#define QUICKLIST_FORWARD 0  /* head to tail */
#define QUICKLIST_BACKWARD 1 /* tail to head */

typedef struct quicklist_iter_s {
    quicklist_t *ql;
    quicklist_node_t *node; /* node of the current entry; NULL when done */
    unsigned char *p;       /* current entry; NULL before the node's first */
    int dir;
    int hold; /* p is the next entry to return (after a delete) */
} quicklist_iter_t;

/* An empty list with the given fill (list-max-listpack-size). */
quicklist_t *quicklist_new(int fill);
void quicklist_free(quicklist_t *ql);
/* A deep copy (COPY command). */
quicklist_t *quicklist_dup(const quicklist_t *ql);
static inline size_t quicklist_count(const quicklist_t *ql)
{
    return ql->count;
}

/* Push at QUICKLIST_HEAD or QUICKLIST_TAIL. */
void quicklist_push(quicklist_t *ql, int where, const char *s, size_t len);
void quicklist_push_int(quicklist_t *ql, int where, long long v);
/* Append a whole listpack as a new tail node (RDB load); takes ownership of
 * lp. Empty listpacks are freed and ignored. */
void quicklist_append_listpack(quicklist_t *ql, unsigned char *lp);

/* Borrow the head/tail entry into *out; returns 0 if the list is empty. The
 * value stays valid until the next write to the list. */
int quicklist_peek(const quicklist_t *ql, int where, listpack_val_t *out);
/* Remove the head/tail entry; returns 0 if the list is empty. */
int quicklist_pop(quicklist_t *ql, int where);

/* Borrow the entry at index (negative counts from the tail). Returns 0 if out
 * of range. */
int quicklist_index(const quicklist_t *ql, long index, listpack_val_t *out);
/* Replace the entry at index (LSET). Returns 0 if out of range. */
int quicklist_replace_at(quicklist_t *ql, long index, const char *s, size_t len);
/* Delete count entries from index start (negative allowed, clipped to the
 * list). Returns the number deleted. */
size_t quicklist_del_range(quicklist_t *ql, long start, size_t count);

/* Iterate from the head (FORWARD) or the tail (BACKWARD). */
void quicklist_iter_init(quicklist_iter_t *it, quicklist_t *ql, int dir);
/* Iterate starting at the entry at index (negative allowed). Returns 0 and
 * leaves the iterator finished if index is out of range. */
int quicklist_iter_init_at(quicklist_iter_t *it, quicklist_t *ql, int dir, long index);
/* Next entry into *out (borrowed); returns 0 at the end. */
int quicklist_iter_next(quicklist_iter_t *it, listpack_val_t *out);
/* 1 if the current entry equals s/len. */
int quicklist_iter_eq(const quicklist_iter_t *it, const char *s, size_t len);
/* Delete the current entry; iteration continues with the entry that would
 * have come next. */
void quicklist_iter_delete(quicklist_iter_t *it);
/* Insert s before (after = 0) or after the current entry (LINSERT). The
 * iterator is finished afterwards. */
void quicklist_iter_insert(quicklist_iter_t *it, int after, const char *s, size_t len);
/* Replace the current entry. The iterator is finished afterwards. */
void quicklist_iter_replace(quicklist_iter_t *it, const char *s, size_t len);

/* Bytes of heap used (nodes, listpacks, the header), for MEMORY USAGE. */
size_t quicklist_mem_usage(const quicklist_t *ql);

/* kv hooks for OBJ_LIST / ENC_QUICKLIST (free, dup, mem). */
extern const kv_type_ops_t quicklist_kv_ops;

#endif
