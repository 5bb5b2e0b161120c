/*
 * thash.c — the hash facade over listpack and hashtable encodings (see
 * thash.h).
 *
 * Owns: the listpack, or the dict and its field entries (one allocation each:
 * dict link, field and value lengths, field bytes then value bytes).
 * Must not: keep argument bytes (everything is copied), turn a hashtable back
 * into a listpack, or allocate outside mem.h.
 * Invariants: a listpack holds field,value pairs with unique fields; ENC_HT
 * entries have unique fields; in both the value of a field is the last one set.
 */
#include "ks/thash.h"

#include <string.h>

#include "ks/tset.h"
#include "lib/mem.h"
#include "lib/util.h"

typedef struct hent_s {
    dict_node_t node; /* must be first */
    uint32_t flen, vlen;
    char data[]; /* field then value */
} hent_t;

static size_t max_entries = 128;
static size_t max_value = 64;

void thash_set_limits(size_t entries, size_t value)
{
    max_entries = entries;
    max_value = value;
}

void thash_get_limits(size_t *entries, size_t *value)
{
    *entries = max_entries;
    *value = max_value;
}

static void hent_key(const dict_node_t *n, const char **k, size_t *len)
{
    const hent_t *e = (const hent_t *)n;
    *k = e->data;
    *len = e->flen;
}

static const dict_type_t hent_type = {hent_key};

static void hent_free(dict_node_t *n, void *arg)
{
    (void)arg;
    mem_free(n);
}

static hent_t *hent_new(const char *f, size_t flen, const char *v, size_t vlen)
{
    hent_t *e = mem_alloc(sizeof(*e) + flen + vlen);
    e->node.next = NULL;
    e->flen = (uint32_t)flen;
    e->vlen = (uint32_t)vlen;
    if (flen)
        memcpy(e->data, f, flen);
    if (vlen)
        memcpy(e->data + flen, v, vlen);
    return e;
}

static dict_t *ht_new(size_t hint)
{
    dict_t *d = mem_alloc(sizeof(*d));
    dict_init(d, &hent_type);
    if (hint > 0)
        dict_expand(d, hint);
    return d;
}

/* Set in a dict; returns 1 if the field is new. */
static int ht_set(dict_t *d, const char *f, size_t flen, const char *v, size_t vlen)
{
    uint64_t h = dict_hash(f, flen);
    dict_node_t **link = dict_find_link_hashed(d, f, flen, h);
    if (link == NULL) {
        dict_add_hashed(d, &hent_new(f, flen, v, vlen)->node, h);
        return 1;
    }
    hent_t *e = (hent_t *)*link;
    size_t need = sizeof(*e) + flen + vlen, have = mem_usable(e);
    if (need <= have && need > have / 2) {
        if (vlen)
            memmove(e->data + flen, v, vlen);
        e->vlen = (uint32_t)vlen;
        return 0;
    }
    dict_replace_link(link, &hent_new(f, flen, v, vlen)->node);
    mem_free(e);
    return 0;
}

static void hent_vals(const dict_node_t *n, listpack_val_t *field, listpack_val_t *value)
{
    const hent_t *e = (const hent_t *)n;
    if (field) {
        field->s = (const unsigned char *)e->data;
        field->len = e->flen;
        field->v = 0;
    }
    if (value) {
        value->s = (const unsigned char *)e->data + e->flen;
        value->len = e->vlen;
        value->v = 0;
    }
}

void thash_convert(thash_t *h, int enc)
{
    if (h->enc == enc || enc != ENC_HT)
        return;
    unsigned char *lp = h->ptr;
    dict_t *d = ht_new(listpack_len(lp) / 2);
    for (unsigned char *p = listpack_first(lp); p; p = listpack_next(lp, listpack_next(lp, p))) {
        char fb[LISTPACK_INTBUF], vb[LISTPACK_INTBUF];
        size_t flen, vlen;
        const char *f = listpack_get_str(p, fb, &flen);
        const char *v = listpack_get_str(listpack_next(lp, p), vb, &vlen);
        ht_set(d, f, flen, v, vlen);
    }
    listpack_free(lp);
    h->enc = ENC_HT;
    h->ptr = d;
}

void thash_try_convert(thash_t *h, size_t max_len, size_t sum_len)
{
    if (h->enc == ENC_LISTPACK && (max_len > max_value || !listpack_safe_to_add(h->ptr, sum_len)))
        thash_convert(h, ENC_HT);
}

void thash_init(thash_t *h)
{
    h->enc = ENC_LISTPACK;
    h->ptr = listpack_new();
}

void thash_deinit(thash_t *h)
{
    if (h->ptr == NULL)
        return;
    if (h->enc == ENC_LISTPACK) {
        listpack_free(h->ptr);
    } else {
        dict_deinit(h->ptr, hent_free, NULL);
        mem_free(h->ptr);
    }
    h->ptr = NULL;
}

void thash_dup(thash_t *dst, const thash_t *src)
{
    dst->enc = src->enc;
    if (src->enc == ENC_LISTPACK) {
        dst->ptr = listpack_dup(src->ptr);
        return;
    }
    dict_t *from = src->ptr, *d = ht_new(dict_size(from));
    dict_iter_t it;
    dict_node_t *n;
    dict_iter_init(&it, from);
    while ((n = dict_iter_next(&it)) != NULL) {
        const hent_t *e = (const hent_t *)n;
        dict_add(d, &hent_new(e->data, e->flen, e->data + e->flen, e->vlen)->node);
    }
    dict_iter_deinit(&it);
    dst->ptr = d;
}

size_t thash_len(const thash_t *h)
{
    return h->enc == ENC_LISTPACK ? listpack_len(h->ptr) / 2 : dict_size(h->ptr);
}

size_t thash_mem(const thash_t *h)
{
    if (h->enc == ENC_LISTPACK)
        return mem_usable(h->ptr);
    dict_t *d = h->ptr;
    size_t total = mem_usable(d) + dict_buckets(d) * sizeof(dict_node_t *);
    dict_iter_t it;
    dict_node_t *n;
    dict_iter_init(&it, d);
    while ((n = dict_iter_next(&it)) != NULL)
        total += mem_usable(n);
    dict_iter_deinit(&it);
    return total;
}

static unsigned char *lp_field(unsigned char *lp, const char *f, size_t flen)
{
    return listpack_find(lp, listpack_first(lp), f, flen, 1);
}

int thash_set(thash_t *h, const char *f, size_t flen, const char *v, size_t vlen, int flags)
{
    if (h->enc == ENC_LISTPACK) {
        size_t longest = flen;
        if (!(flags & THASH_SET_NO_LEN_CHECK) && vlen > longest)
            longest = vlen;
        thash_try_convert(h, longest, flen + vlen);
    }
    if (h->enc == ENC_HT)
        return ht_set(h->ptr, f, flen, v, vlen);
    unsigned char **lpp = (unsigned char **)&h->ptr;
    unsigned char *p = lp_field(*lpp, f, flen);
    if (p) {
        listpack_replace(lpp, listpack_next(*lpp, p), v, vlen);
        return 0;
    }
    listpack_val_t vals[2] = {{(const unsigned char *)f, flen, 0},
                              {(const unsigned char *)v, vlen, 0}};
    listpack_insert_vals(lpp, NULL, LISTPACK_AFTER, vals, 2);
    if (thash_len(h) > max_entries)
        thash_convert(h, ENC_HT);
    return 1;
}

int thash_get(const thash_t *h, const char *f, size_t flen, listpack_val_t *out)
{
    if (h->enc == ENC_LISTPACK) {
        unsigned char *lp = h->ptr, *p = lp_field(lp, f, flen);
        if (p && out)
            listpack_get(listpack_next(lp, p), out);
        return p != NULL;
    }
    dict_node_t *n = dict_find(h->ptr, f, flen);
    if (n && out)
        hent_vals(n, NULL, out);
    return n != NULL;
}

int thash_exists(const thash_t *h, const char *f, size_t flen)
{
    return thash_get(h, f, flen, NULL);
}

int thash_del(thash_t *h, const char *f, size_t flen)
{
    if (h->enc == ENC_LISTPACK) {
        unsigned char *p = lp_field(h->ptr, f, flen);
        if (p)
            listpack_delete_at((unsigned char **)&h->ptr, p, 2);
        return p != NULL;
    }
    dict_node_t *n = dict_unlink(h->ptr, f, flen);
    mem_free(n);
    return n != NULL;
}

void thash_iter_init(thash_iter_t *it, const thash_t *h)
{
    it->h = h;
    if (h->enc == ENC_LISTPACK)
        it->p = listpack_first(h->ptr);
    else
        dict_iter_init(&it->di, h->ptr);
}

int thash_iter_next(thash_iter_t *it, listpack_val_t *field, listpack_val_t *value)
{
    if (it->h->enc == ENC_LISTPACK) {
        if (it->p == NULL)
            return 0;
        unsigned char *lp = it->h->ptr, *vp = listpack_next(lp, it->p);
        listpack_get(it->p, field);
        listpack_get(vp, value);
        it->p = listpack_next(lp, vp);
        return 1;
    }
    dict_node_t *n = dict_iter_next(&it->di);
    if (n == NULL)
        return 0;
    hent_vals(n, field, value);
    return 1;
}

void thash_iter_deinit(thash_iter_t *it)
{
    if (it->h->enc == ENC_HT)
        dict_iter_deinit(&it->di);
}

typedef struct scan_ctx_s {
    thash_visit_fn fn;
    void *arg;
} scan_ctx_t;

static void scan_adapter(void *arg, dict_node_t *n)
{
    scan_ctx_t *c = arg;
    listpack_val_t f, v;
    hent_vals(n, &f, &v);
    c->fn(c->arg, &f, &v);
}

static void visit_all(const thash_t *h, thash_visit_fn fn, void *arg)
{
    thash_iter_t it;
    listpack_val_t f, v;
    thash_iter_init(&it, h);
    while (thash_iter_next(&it, &f, &v))
        fn(arg, &f, &v);
    thash_iter_deinit(&it);
}

uint64_t thash_scan(const thash_t *h, uint64_t cursor, thash_visit_fn fn, void *arg)
{
    if (h->enc == ENC_LISTPACK) {
        visit_all(h, fn, arg);
        return 0;
    }
    scan_ctx_t c = {fn, arg};
    return dict_scan(h->ptr, cursor, scan_adapter, &c);
}

void thash_random(const thash_t *h, uint64_t (*rnd)(void), listpack_val_t *field,
                  listpack_val_t *value)
{
    if (h->enc == ENC_LISTPACK) {
        unsigned char *lp = h->ptr;
        unsigned char *p = listpack_seek(lp, (long)(2 * (rnd() % thash_len(h))));
        listpack_get(p, field);
        listpack_get(listpack_next(lp, p), value);
        return;
    }
    hent_vals(tset_dict_fair_random(h->ptr, rnd), field, value);
}

/* Listpack picks: index the field entries once. */
static void lp_random_many(const thash_t *h, size_t count, int unique, uint64_t (*rnd)(void),
                           thash_visit_fn fn, void *arg)
{
    unsigned char *lp = h->ptr;
    size_t len = thash_len(h), k = 0;
    unsigned char **fields = mem_alloc(len * sizeof(*fields));
    for (unsigned char *p = listpack_first(lp); p; p = listpack_next(lp, listpack_next(lp, p)))
        fields[k++] = p;
    size_t *idx = NULL;
    if (unique) {
        idx = mem_alloc(count * sizeof(*idx));
        listpack_random_indexes(len, count, rnd, idx);
    }
    for (size_t i = 0; i < count; i++) {
        listpack_val_t f, v;
        unsigned char *p = fields[unique ? idx[i] : rnd() % len];
        listpack_get(p, &f);
        listpack_get(listpack_next(lp, p), &v);
        fn(arg, &f, &v);
    }
    mem_free(idx);
    mem_free(fields);
}

size_t thash_random_many(const thash_t *h, size_t count, int unique, uint64_t (*rnd)(void),
                         thash_visit_fn fn, void *arg)
{
    size_t len = thash_len(h);
    listpack_val_t f, v;
    if (len == 0 || count == 0)
        return 0;
    if (unique && count >= len) {
        visit_all(h, fn, arg);
        return len;
    }
    if (h->enc == ENC_LISTPACK) {
        lp_random_many(h, count, unique, rnd, fn, arg);
        return count;
    }
    if (!unique) {
        for (size_t i = 0; i < count; i++) {
            hent_vals(tset_dict_fair_random(h->ptr, rnd), &f, &v);
            fn(arg, &f, &v);
        }
        return count;
    }
    dict_node_t **picks = mem_alloc(count * sizeof(*picks));
    tset_dict_pick_unique(h->ptr, count, rnd, picks);
    for (size_t i = 0; i < count; i++) {
        hent_vals(picks[i], &f, &v);
        fn(arg, &f, &v);
    }
    mem_free(picks);
    return count;
}

int thash_listpack_validate(const unsigned char *lp, size_t size)
{
    return listpack_validate_pairs(lp, size, NULL, NULL);
}

static void kv_free_hash(void *ptr, int enc)
{
    thash_t h = {enc, ptr};
    thash_deinit(&h);
}

static void *kv_dup_hash(const void *ptr, int enc)
{
    thash_t s = {enc, (void *)ptr}, d;
    thash_dup(&d, &s);
    return d.ptr;
}

static size_t kv_mem_hash(const void *ptr, int enc)
{
    thash_t h = {enc, (void *)ptr};
    return thash_mem(&h);
}

const kv_type_ops_t thash_kv_ops = {kv_free_hash, kv_dup_hash, kv_mem_hash};
