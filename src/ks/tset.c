/*
 * tset.c — the set facade over intset and hashtable encodings (see tset.h).
 *
 * Owns: the intset block or the dict and its member entries (one allocation
 * each: dict link, u32 length, bytes).
 * Must not: keep argument bytes (members are copied), turn a hashtable set
 * back into an intset, or allocate outside mem.h.
 * Invariants: ENC_INTSET holds only integers and at most the intset limit of
 * members; ENC_HT entries are unique byte strings.
 */
#include "ks/tset.h"

#include <stdlib.h>
#include <string.h>

#include "ks/intset.h"
#include "lib/mem.h"
#include "lib/util.h"

typedef struct sent_s {
    dict_node_t node; /* must be first */
    uint32_t len;
    char data[];
} sent_t;

/* Chains longer than this are (almost) never seen at load factor <= 1. */
#define FAIR_CHAIN_MAX 8
#define FAIR_TRIES 1000

static size_t max_intset = 512;

void tset_set_limits(size_t max_intset_entries)
{
    max_intset = max_intset_entries > (1u << 30) ? (1u << 30) : max_intset_entries;
}

size_t tset_get_limit(void)
{
    return max_intset;
}

static void sent_key(const dict_node_t *n, const char **k, size_t *len)
{
    const sent_t *e = (const sent_t *)n;
    *k = e->data;
    *len = e->len;
}

static const dict_type_t sent_type = {sent_key};

static void sent_free(dict_node_t *n, void *arg)
{
    (void)arg;
    mem_free(n);
}

static dict_t *ht_new(size_t hint)
{
    dict_t *d = mem_alloc(sizeof(*d));
    dict_init(d, &sent_type);
    if (hint > 0)
        dict_expand(d, hint);
    return d;
}

static void ht_free(dict_t *d)
{
    dict_deinit(d, sent_free, NULL);
    mem_free(d);
}

static int ht_add(dict_t *d, const char *m, size_t len)
{
    uint64_t h = dict_hash(m, len);
    if (dict_find_hashed(d, m, len, h))
        return 0;
    sent_t *e = mem_alloc(sizeof(*e) + len);
    e->node.next = NULL;
    e->len = (uint32_t)len;
    if (len)
        memcpy(e->data, m, len);
    dict_add_hashed(d, &e->node, h);
    return 1;
}

static int as_int(const char *m, size_t len, long long *v)
{
    return len > 0 && len <= 20 && str_to_ll(m, len, v);
}

void tset_convert(tset_t *s, int enc)
{
    if (s->enc == enc || enc != ENC_HT)
        return;
    intset_t *is = s->ptr;
    dict_t *d = ht_new(intset_len(is));
    for (uint32_t i = 0; i < intset_len(is); i++) {
        char buf[LISTPACK_INTBUF];
        size_t n = ll_to_str(buf, intset_get(is, i));
        ht_add(d, buf, n);
    }
    intset_free(is);
    s->enc = ENC_HT;
    s->ptr = d;
}

void tset_init_enc(tset_t *s, int enc, size_t size_hint)
{
    s->enc = enc;
    s->ptr = enc == ENC_INTSET ? (void *)intset_new() : (void *)ht_new(size_hint);
}

void tset_init(tset_t *s, const char *first, size_t len)
{
    long long v;
    tset_init_enc(s, as_int(first, len, &v) ? ENC_INTSET : ENC_HT, 0);
}

void tset_deinit(tset_t *s)
{
    if (s->ptr == NULL)
        return;
    if (s->enc == ENC_INTSET)
        intset_free(s->ptr);
    else
        ht_free(s->ptr);
    s->ptr = NULL;
}

void tset_dup(tset_t *dst, const tset_t *src)
{
    dst->enc = src->enc;
    if (src->enc == ENC_INTSET) {
        dst->ptr = intset_dup(src->ptr);
        return;
    }
    dict_t *from = src->ptr, *d = ht_new(dict_size(from));
    dict_iter_t it;
    dict_node_t *n;
    dict_iter_init(&it, from);
    while ((n = dict_iter_next(&it)) != NULL) {
        const sent_t *e = (const sent_t *)n;
        ht_add(d, e->data, e->len);
    }
    dict_iter_deinit(&it);
    dst->ptr = d;
}

size_t tset_len(const tset_t *s)
{
    return s->enc == ENC_INTSET ? intset_len(s->ptr) : dict_size(s->ptr);
}

size_t tset_mem(const tset_t *s)
{
    if (s->enc == ENC_INTSET)
        return mem_usable(s->ptr);
    dict_t *d = s->ptr;
    size_t total = mem_usable(d) + dict_buckets(d) * sizeof(dict_node_t *);
    dict_iter_t it;
    dict_node_t *n;
    dict_iter_init(&it, d);
    while ((n = dict_iter_next(&it)) != NULL)
        total += mem_usable(n);
    dict_iter_deinit(&it);
    return total;
}

int tset_add_int(tset_t *s, long long v)
{
    if (s->enc == ENC_INTSET) {
        if (!intset_add((intset_t **)&s->ptr, v))
            return 0;
        if (intset_len(s->ptr) > max_intset)
            tset_convert(s, ENC_HT);
        return 1;
    }
    char buf[LISTPACK_INTBUF];
    size_t n = ll_to_str(buf, v);
    return ht_add(s->ptr, buf, n);
}

int tset_add(tset_t *s, const char *m, size_t len)
{
    long long v;
    if (s->enc == ENC_INTSET) {
        if (as_int(m, len, &v))
            return tset_add_int(s, v);
        tset_convert(s, ENC_HT);
    }
    return ht_add(s->ptr, m, len);
}

int tset_remove(tset_t *s, const char *m, size_t len)
{
    long long v;
    if (s->enc == ENC_INTSET)
        return as_int(m, len, &v) && intset_remove((intset_t **)&s->ptr, v);
    dict_node_t *n = dict_unlink(s->ptr, m, len);
    mem_free(n);
    return n != NULL;
}

int tset_contains(const tset_t *s, const char *m, size_t len)
{
    long long v;
    if (s->enc == ENC_INTSET)
        return as_int(m, len, &v) && intset_find(s->ptr, v);
    return dict_find(s->ptr, m, len) != NULL;
}

void tset_iter_init(tset_iter_t *it, const tset_t *s)
{
    it->s = s;
    it->pos = 0;
    if (s->enc == ENC_HT)
        dict_iter_init(&it->di, s->ptr);
}

static void sent_val(const dict_node_t *n, listpack_val_t *out)
{
    const sent_t *e = (const sent_t *)n;
    out->s = (const unsigned char *)e->data;
    out->len = e->len;
    out->v = 0;
}

int tset_iter_next(tset_iter_t *it, listpack_val_t *out)
{
    if (it->s->enc == ENC_INTSET) {
        if (it->pos >= intset_len(it->s->ptr))
            return 0;
        out->s = NULL;
        out->len = 0;
        out->v = intset_get(it->s->ptr, it->pos++);
        return 1;
    }
    dict_node_t *n = dict_iter_next(&it->di);
    if (n == NULL)
        return 0;
    sent_val(n, out);
    return 1;
}

void tset_iter_deinit(tset_iter_t *it)
{
    if (it->s->enc == ENC_HT)
        dict_iter_deinit(&it->di);
}

typedef struct scan_ctx_s {
    tset_visit_fn fn;
    void *arg;
} scan_ctx_t;

static void scan_adapter(void *arg, dict_node_t *n)
{
    scan_ctx_t *c = arg;
    listpack_val_t v;
    sent_val(n, &v);
    c->fn(c->arg, &v);
}

uint64_t tset_scan(const tset_t *s, uint64_t cursor, tset_visit_fn fn, void *arg)
{
    if (s->enc == ENC_INTSET) {
        tset_iter_t it;
        listpack_val_t v;
        tset_iter_init(&it, s);
        while (tset_iter_next(&it, &v))
            fn(arg, &v);
        tset_iter_deinit(&it);
        return 0;
    }
    scan_ctx_t c = {fn, arg};
    return dict_scan(s->ptr, cursor, scan_adapter, &c);
}

dict_node_t *tset_dict_fair_random(dict_t *d, uint64_t (*rnd)(void))
{
    if (dict_size(d) == 0)
        return NULL;
    uint64_t first = dict_is_rehashing(d) ? (uint64_t)d->rehash_idx : 0;
    uint64_t span = d->size[0] + d->size[1] - first;
    for (int t = 0; t < FAIR_TRIES; t++) {
        uint64_t b = first + rnd() % span;
        dict_node_t *n = b < d->size[0] ? d->ht[0][b] : d->ht[1][b - d->size[0]];
        /* Accept position j of the chain: every entry has chance 1/(span*K). */
        for (uint64_t j = rnd() % FAIR_CHAIN_MAX; n && j > 0; j--)
            n = n->next;
        if (n)
            return n;
    }
    return dict_random(d, rnd);
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
    return (x > y) - (x < y);
}

static void shuffle(void **a, size_t n, uint64_t (*rnd)(void))
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rnd() % i;
        void *t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

void tset_dict_pick_unique(dict_t *d, size_t count, uint64_t (*rnd)(void), dict_node_t **out)
{
    size_t n = dict_size(d);
    if (count * 3 > n) {
        size_t *idx = mem_alloc(count * sizeof(*idx));
        listpack_random_indexes(n, count, rnd, idx);
        dict_iter_t it;
        dict_node_t *e;
        size_t i = 0, k = 0;
        dict_iter_init(&it, d);
        while (k < count && (e = dict_iter_next(&it)) != NULL)
            if (i++ == idx[k])
                out[k++] = e;
        dict_iter_deinit(&it);
        mem_free(idx);
    } else {
        size_t have = 0;
        while (have < count) {
            while (have < count)
                out[have++] = tset_dict_fair_random(d, rnd);
            qsort(out, have, sizeof(*out), cmp_ptr);
            size_t u = 1;
            for (size_t i = 1; i < have; i++)
                if (out[i] != out[u - 1])
                    out[u++] = out[i];
            have = u;
        }
    }
    shuffle((void **)out, count, rnd);
}

void tset_random(const tset_t *s, uint64_t (*rnd)(void), listpack_val_t *out)
{
    if (s->enc == ENC_INTSET) {
        out->s = NULL;
        out->len = 0;
        out->v = intset_random(s->ptr, rnd);
        return;
    }
    sent_val(tset_dict_fair_random(s->ptr, rnd), out);
}

/* Distinct picks when count < len. */
static void random_unique(const tset_t *s, size_t count, uint64_t (*rnd)(void), tset_visit_fn fn,
                          void *arg)
{
    listpack_val_t v;
    if (s->enc == ENC_INTSET) {
        size_t *idx = mem_alloc(count * sizeof(*idx));
        listpack_random_indexes(intset_len(s->ptr), count, rnd, idx);
        for (size_t i = count; i > 1; i--) {
            size_t j = rnd() % i, t = idx[i - 1];
            idx[i - 1] = idx[j];
            idx[j] = t;
        }
        v.s = NULL;
        v.len = 0;
        for (size_t i = 0; i < count; i++) {
            v.v = intset_get(s->ptr, (uint32_t)idx[i]);
            fn(arg, &v);
        }
        mem_free(idx);
        return;
    }
    dict_node_t **picks = mem_alloc(count * sizeof(*picks));
    tset_dict_pick_unique(s->ptr, count, rnd, picks);
    for (size_t i = 0; i < count; i++) {
        sent_val(picks[i], &v);
        fn(arg, &v);
    }
    mem_free(picks);
}

size_t tset_random_many(const tset_t *s, size_t count, int unique, uint64_t (*rnd)(void),
                        tset_visit_fn fn, void *arg)
{
    size_t len = tset_len(s);
    listpack_val_t v;
    if (len == 0 || count == 0)
        return 0;
    if (!unique) {
        for (size_t i = 0; i < count; i++) {
            tset_random(s, rnd, &v);
            fn(arg, &v);
        }
        return count;
    }
    if (count >= len) {
        tset_iter_t it;
        tset_iter_init(&it, s);
        while (tset_iter_next(&it, &v))
            fn(arg, &v);
        tset_iter_deinit(&it);
        return len;
    }
    random_unique(s, count, rnd, fn, arg);
    return count;
}

static void kv_free_set(void *ptr, int enc)
{
    tset_t s = {enc, ptr};
    tset_deinit(&s);
}

static void *kv_dup_set(const void *ptr, int enc)
{
    tset_t s = {enc, (void *)ptr}, d;
    tset_dup(&d, &s);
    return d.ptr;
}

static size_t kv_mem_set(const void *ptr, int enc)
{
    tset_t s = {enc, (void *)ptr};
    return tset_mem(&s);
}

const kv_type_ops_t tset_kv_ops = {kv_free_set, kv_dup_set, kv_mem_set};
