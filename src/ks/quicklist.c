/*
 * quicklist.c — lists as linked listpack nodes (see quicklist.h).
 *
 * Owns: the nodes and their listpacks.
 * Must not: leave an empty node in the list, let a node grow past its fill
 * limit (except a node holding one oversized entry), or allocate outside mem.h.
 * Invariants: ql->count == sum of node->count; ql->len == number of nodes;
 * node->sz == listpack_bytes(node->lp); node->count == listpack_len(node->lp).
 */
#include "ks/quicklist.h"

#include "lib/mem.h"
#include "lib/util.h"

#define SIZE_SAFETY_LIMIT 8192

static size_t size_limit(int fill)
{
    if (fill >= 0)
        return SIZE_SAFETY_LIMIT;
    int level = -fill > 5 ? 5 : -fill;
    return (size_t)4096 << (level - 1);
}

/* Upper bound of the bytes an entry of len bytes adds to a listpack. */
static size_t entry_estimate(size_t len)
{
    size_t l = len + (len < 64 ? 1 : len < 4096 ? 2 : 5);
    return l + (l <= 127 ? 1 : l < 16383 ? 2 : 5);
}

static int node_fits(const quicklist_t *ql, size_t new_sz, size_t new_count)
{
    if (new_sz > size_limit(ql->fill))
        return 0;
    return ql->fill < 0 || new_count <= (size_t)ql->fill;
}

static int allow_insert(const quicklist_t *ql, const quicklist_node_t *n, size_t len)
{
    return n != NULL && node_fits(ql, n->sz + entry_estimate(len), (size_t)n->count + 1);
}

static quicklist_node_t *node_new(unsigned char *lp)
{
    quicklist_node_t *n = mem_alloc(sizeof(*n));
    n->prev = n->next = NULL;
    n->lp = lp ? lp : listpack_new();
    n->sz = (uint32_t)listpack_bytes(n->lp);
    n->count = (uint32_t)listpack_len(n->lp);
    return n;
}

static void node_sync(quicklist_node_t *n)
{
    n->sz = (uint32_t)listpack_bytes(n->lp);
}

/* Link n after old (old == NULL: at the head). */
static void link_after(quicklist_t *ql, quicklist_node_t *old, quicklist_node_t *n)
{
    n->prev = old;
    n->next = old ? old->next : ql->head;
    if (n->next)
        n->next->prev = n;
    else
        ql->tail = n;
    if (old)
        old->next = n;
    else
        ql->head = n;
    ql->len++;
    ql->count += n->count;
}

static void link_before(quicklist_t *ql, quicklist_node_t *old, quicklist_node_t *n)
{
    link_after(ql, old ? old->prev : ql->tail, n);
}

/* Unlink and free n; ql->count drops by n's remaining entries. */
static void node_remove(quicklist_t *ql, quicklist_node_t *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        ql->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        ql->tail = n->prev;
    ql->len--;
    ql->count -= n->count;
    listpack_free(n->lp);
    mem_free(n);
}

quicklist_t *quicklist_new(int fill)
{
    quicklist_t *ql = mem_alloc(sizeof(*ql));
    ql->head = ql->tail = NULL;
    ql->count = 0;
    ql->len = 0;
    if (fill > QUICKLIST_FILL_MAX)
        fill = QUICKLIST_FILL_MAX;
    if (fill < -5)
        fill = -5;
    if (fill == 0)
        fill = 1;
    ql->fill = (int16_t)fill;
    return ql;
}

void quicklist_free(quicklist_t *ql)
{
    if (ql == NULL)
        return;
    quicklist_node_t *n = ql->head;
    while (n) {
        quicklist_node_t *next = n->next;
        listpack_free(n->lp);
        mem_free(n);
        n = next;
    }
    mem_free(ql);
}

quicklist_t *quicklist_dup(const quicklist_t *ql)
{
    quicklist_t *d = quicklist_new(ql->fill);
    for (quicklist_node_t *n = ql->head; n; n = n->next)
        link_after(d, d->tail, node_new(listpack_dup(n->lp)));
    return d;
}

void quicklist_push(quicklist_t *ql, int where, const char *s, size_t len)
{
    quicklist_node_t *n = where == QUICKLIST_HEAD ? ql->head : ql->tail;
    if (!allow_insert(ql, n, len)) {
        n = node_new(NULL);
        if (where == QUICKLIST_HEAD)
            link_after(ql, NULL, n);
        else
            link_after(ql, ql->tail, n);
    }
    if (where == QUICKLIST_HEAD)
        listpack_prepend(&n->lp, s, len);
    else
        listpack_append(&n->lp, s, len);
    n->count++;
    ql->count++;
    node_sync(n);
}

void quicklist_push_int(quicklist_t *ql, int where, long long v)
{
    char buf[LISTPACK_INTBUF];
    size_t n = ll_to_str(buf, v);
    quicklist_push(ql, where, buf, n);
}

void quicklist_append_listpack(quicklist_t *ql, unsigned char *lp)
{
    if (listpack_len(lp) == 0) {
        listpack_free(lp);
        return;
    }
    link_after(ql, ql->tail, node_new(lp));
}

int quicklist_peek(const quicklist_t *ql, int where, listpack_val_t *out)
{
    quicklist_node_t *n = where == QUICKLIST_HEAD ? ql->head : ql->tail;
    if (n == NULL)
        return 0;
    listpack_get(where == QUICKLIST_HEAD ? listpack_first(n->lp) : listpack_last(n->lp), out);
    return 1;
}

/* Delete the entry at p in n, removing n if it empties. */
static void node_delete_entry(quicklist_t *ql, quicklist_node_t *n, unsigned char *p)
{
    listpack_delete(&n->lp, p);
    n->count--;
    ql->count--;
    if (n->count == 0)
        node_remove(ql, n);
    else
        node_sync(n);
}

int quicklist_pop(quicklist_t *ql, int where)
{
    quicklist_node_t *n = where == QUICKLIST_HEAD ? ql->head : ql->tail;
    if (n == NULL)
        return 0;
    node_delete_entry(ql, n,
                      where == QUICKLIST_HEAD ? listpack_first(n->lp) : listpack_last(n->lp));
    return 1;
}

/* Find the node holding index and the offset inside it. */
static int locate(const quicklist_t *ql, long index, quicklist_node_t **node, size_t *off)
{
    if (index < 0)
        index += (long)ql->count;
    if (index < 0 || (size_t)index >= ql->count)
        return 0;
    size_t i = (size_t)index;
    quicklist_node_t *n;
    if (i < ql->count / 2) {
        n = ql->head;
        while (i >= n->count) {
            i -= n->count;
            n = n->next;
        }
    } else {
        size_t r = ql->count - 1 - i;
        n = ql->tail;
        while (r >= n->count) {
            r -= n->count;
            n = n->prev;
        }
        i = n->count - 1 - r;
    }
    *node = n;
    *off = i;
    return 1;
}

int quicklist_index(const quicklist_t *ql, long index, listpack_val_t *out)
{
    quicklist_node_t *n;
    size_t off;
    if (!locate(ql, index, &n, &off))
        return 0;
    listpack_get(listpack_seek(n->lp, (long)off), out);
    return 1;
}

/* Split n so that entries [off, count) move to a new node after it. */
static quicklist_node_t *node_split(quicklist_t *ql, quicklist_node_t *n, size_t off)
{
    unsigned char *right = listpack_dup(n->lp);
    listpack_delete_range(&right, 0, off);
    listpack_delete_range(&n->lp, (long)off, n->count - off);
    quicklist_node_t *r = node_new(right);
    n->count = (uint32_t)off;
    node_sync(n);
    ql->count -= r->count; /* link_after adds it back */
    link_after(ql, n, r);
    return r;
}

/* Insert s so that it becomes entry number off of node n (off may equal
 * n->count: after its last entry). */
static void insert_at(quicklist_t *ql, quicklist_node_t *n, size_t off, const char *s, size_t len)
{
    quicklist_node_t *target = n;
    int at_end = off == n->count;
    if (allow_insert(ql, n, len)) {
        if (at_end)
            listpack_append(&n->lp, s, len);
        else
            listpack_insert(&n->lp, listpack_seek(n->lp, (long)off), LISTPACK_BEFORE, s, len);
    } else if (at_end && allow_insert(ql, n->next, len)) {
        target = n->next;
        listpack_prepend(&target->lp, s, len);
    } else if (off == 0 && allow_insert(ql, n->prev, len)) {
        target = n->prev;
        listpack_append(&target->lp, s, len);
    } else if (at_end || off == 0) {
        target = node_new(NULL);
        listpack_append(&target->lp, s, len);
        if (at_end)
            link_after(ql, n, target);
        else
            link_before(ql, n, target);
        ql->count++;
        target->count++;
        node_sync(target);
        return;
    } else {
        node_split(ql, n, off);
        insert_at(ql, n, off, s, len);
        return;
    }
    target->count++;
    ql->count++;
    node_sync(target);
}

/* Replace the entry at p (number off) in n. */
static void node_replace(quicklist_t *ql, quicklist_node_t *n, unsigned char *p, size_t off,
                         const char *s, size_t len)
{
    size_t old = listpack_entry_size(p);
    if (n->count == 1 || node_fits(ql, n->sz - old + entry_estimate(len), n->count)) {
        listpack_replace(&n->lp, p, s, len);
        node_sync(n);
        return;
    }
    listpack_delete(&n->lp, p);
    n->count--;
    ql->count--;
    node_sync(n);
    insert_at(ql, n, off, s, len);
}

int quicklist_replace_at(quicklist_t *ql, long index, const char *s, size_t len)
{
    quicklist_node_t *n;
    size_t off;
    if (!locate(ql, index, &n, &off))
        return 0;
    node_replace(ql, n, listpack_seek(n->lp, (long)off), off, s, len);
    return 1;
}

size_t quicklist_del_range(quicklist_t *ql, long start, size_t count)
{
    if (start < 0)
        start += (long)ql->count;
    if (start < 0)
        start = 0;
    if ((size_t)start >= ql->count || count == 0)
        return 0;
    if (count > ql->count - (size_t)start)
        count = ql->count - (size_t)start;
    quicklist_node_t *n;
    size_t off, left = count;
    locate(ql, start, &n, &off);
    while (left > 0 && n) {
        quicklist_node_t *next = n->next;
        size_t del = n->count - off < left ? n->count - off : left;
        if (del == n->count) {
            node_remove(ql, n);
        } else {
            listpack_delete_range(&n->lp, (long)off, del);
            n->count -= (uint32_t)del;
            ql->count -= del;
            node_sync(n);
        }
        left -= del;
        off = 0;
        n = next;
    }
    return count;
}

void quicklist_iter_init(quicklist_iter_t *it, quicklist_t *ql, int dir)
{
    it->ql = ql;
    it->dir = dir;
    it->node = dir == QUICKLIST_FORWARD ? ql->head : ql->tail;
    it->p = NULL;
    it->hold = 0;
}

int quicklist_iter_init_at(quicklist_iter_t *it, quicklist_t *ql, int dir, long index)
{
    size_t off;
    quicklist_iter_init(it, ql, dir);
    if (!locate(ql, index, &it->node, &off)) {
        it->node = NULL;
        return 0;
    }
    it->p = listpack_seek(it->node->lp, (long)off);
    it->hold = 1;
    return 1;
}

int quicklist_iter_next(quicklist_iter_t *it, listpack_val_t *out)
{
    int fwd = it->dir == QUICKLIST_FORWARD;
    while (it->node) {
        unsigned char *lp = it->node->lp;
        if (it->hold)
            it->hold = 0;
        else if (it->p == NULL)
            it->p = fwd ? listpack_first(lp) : listpack_last(lp);
        else
            it->p = fwd ? listpack_next(lp, it->p) : listpack_prev(lp, it->p);
        if (it->p) {
            listpack_get(it->p, out);
            return 1;
        }
        it->node = fwd ? it->node->next : it->node->prev;
    }
    return 0;
}

int quicklist_iter_eq(const quicklist_iter_t *it, const char *s, size_t len)
{
    return listpack_eq(it->p, s, len);
}

void quicklist_iter_delete(quicklist_iter_t *it)
{
    quicklist_node_t *n = it->node;
    unsigned char *p = it->p;
    if (it->dir == QUICKLIST_FORWARD) {
        unsigned char *np = listpack_delete(&n->lp, p);
        it->p = np;
        it->hold = np != NULL;
        if (np == NULL)
            it->node = n->next;
    } else {
        unsigned char *pp = listpack_prev(n->lp, p);
        size_t off = pp ? (size_t)(pp - n->lp) : 0;
        listpack_delete(&n->lp, p);
        it->p = pp ? n->lp + off : NULL;
        it->hold = pp != NULL;
        if (pp == NULL)
            it->node = n->prev;
    }
    n->count--;
    it->ql->count--;
    if (n->count == 0)
        node_remove(it->ql, n);
    else
        node_sync(n);
}

/* Position of p inside n's listpack. */
static size_t entry_offset(quicklist_node_t *n, unsigned char *p)
{
    size_t off = 0;
    for (unsigned char *q = listpack_first(n->lp); q != p; q = listpack_next(n->lp, q))
        off++;
    return off;
}

void quicklist_iter_insert(quicklist_iter_t *it, int after, const char *s, size_t len)
{
    quicklist_node_t *n = it->node;
    size_t off = entry_offset(n, it->p) + (after ? 1 : 0);
    insert_at(it->ql, n, off, s, len);
    it->node = NULL;
    it->p = NULL;
}

void quicklist_iter_replace(quicklist_iter_t *it, const char *s, size_t len)
{
    quicklist_node_t *n = it->node;
    node_replace(it->ql, n, it->p, entry_offset(n, it->p), s, len);
    it->node = NULL;
    it->p = NULL;
}

size_t quicklist_mem_usage(const quicklist_t *ql)
{
    size_t total = mem_usable(ql);
    for (quicklist_node_t *n = ql->head; n; n = n->next)
        total += mem_usable(n) + mem_usable(n->lp);
    return total;
}

static void kv_free_list(void *ptr, int enc)
{
    (void)enc;
    quicklist_free(ptr);
}

static void *kv_dup_list(const void *ptr, int enc)
{
    (void)enc;
    return quicklist_dup(ptr);
}

static size_t kv_mem_list(const void *ptr, int enc)
{
    (void)enc;
    return quicklist_mem_usage(ptr);
}

const kv_type_ops_t quicklist_kv_ops = {kv_free_list, kv_dup_list, kv_mem_list};
