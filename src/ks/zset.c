/*
 * zset.c — sorted sets: the skiplist+dict encoding, the listpack encoding and
 * the facade that switches between them (see zset.h).
 *
 * Owns: skiplist nodes (one allocation each: dict link, score, backward link,
 * levels, member bytes), the member dict, and zset listpacks.
 * Must not: hold on to argument bytes (members are copied), convert a skiplist
 * back to a listpack except through zset_convert/zset_shrink_if_fits, or
 * allocate outside mem.h.
 * Invariants: in a skiplist every level is ordered by (score, member); span
 * of a link = number of level-0 steps it covers; the dict holds exactly the
 * nodes of the skiplist. In a listpack entries come in member,score pairs in
 * the same order, members are unique.
 */
#include "ks/zset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dict.h"
#include "lib/mem.h"
#include "lib/util.h"

#define ZSL_MAXLEVEL 32

typedef struct zsl_node_s zsl_node_t;

typedef struct zsl_level_s {
    zsl_node_t *forward;
    unsigned long span;
} zsl_level_t;

struct zsl_node_s {
    dict_node_t dnode; /* member dict chain; must be first */
    double score;
    zsl_node_t *backward;
    uint32_t mlen;
    uint32_t height;
    zsl_level_t level[]; /* height levels, then mlen member bytes */
};

typedef struct zsl_s {
    dict_t dict;
    zsl_node_t *header, *tail;
    size_t length;
    int level;
} zsl_t;

/* A score or lex interval, so range walks are written once. */
typedef struct spec_s {
    const zset_range_t *r; /* score range, or NULL */
    const zset_lex_t *l;   /* lex range when r is NULL */
} spec_t;

static size_t max_entries = 128;
static size_t max_value = 64;

void zset_set_limits(size_t entries, size_t value)
{
    max_entries = entries;
    max_value = value;
}

void zset_get_limits(size_t *entries, size_t *value)
{
    *entries = max_entries;
    *value = max_value;
}

/* ---- comparisons ---------------------------------------------------------- */

static inline int mcmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return (alen > blen) - (alen < blen);
}

static int lex_gte_min(const zset_lex_t *l, const char *m, size_t mlen)
{
    if (l->minkind != ZSET_LEX_VAL)
        return l->minkind == ZSET_LEX_NEG;
    int c = mcmp(m, mlen, l->min, l->minlen);
    return l->minex ? c > 0 : c >= 0;
}

static int lex_lte_max(const zset_lex_t *l, const char *m, size_t mlen)
{
    if (l->maxkind != ZSET_LEX_VAL)
        return l->maxkind == ZSET_LEX_POS;
    int c = mcmp(m, mlen, l->max, l->maxlen);
    return l->maxex ? c < 0 : c <= 0;
}

static int spec_gte_min(const spec_t *s, double score, const char *m, size_t mlen)
{
    if (s->r)
        return s->r->minex ? score > s->r->min : score >= s->r->min;
    return lex_gte_min(s->l, m, mlen);
}

static int spec_lte_max(const spec_t *s, double score, const char *m, size_t mlen)
{
    if (s->r)
        return s->r->maxex ? score < s->r->max : score <= s->r->max;
    return lex_lte_max(s->l, m, mlen);
}

/* 1 if the interval cannot contain anything whatever the set holds. */
static int spec_empty(const spec_t *s)
{
    if (s->r)
        return s->r->min > s->r->max || (s->r->min == s->r->max && (s->r->minex || s->r->maxex));
    const zset_lex_t *l = s->l;
    int c;
    if (l->minkind == l->maxkind && l->minkind != ZSET_LEX_VAL)
        c = 0;
    else if (l->minkind == ZSET_LEX_NEG || l->maxkind == ZSET_LEX_POS)
        c = -1;
    else if (l->minkind == ZSET_LEX_POS || l->maxkind == ZSET_LEX_NEG)
        c = 1;
    else
        c = mcmp(l->min, l->minlen, l->max, l->maxlen);
    return c > 0 || (c == 0 && (l->minex || l->maxex));
}

/* ---- parsing and formatting ------------------------------------------------ */

size_t zset_score_str(char *buf, double score)
{
    if (isinf(score)) {
        memcpy(buf, score > 0 ? "inf" : "-inf", score > 0 ? 4 : 5);
        return score > 0 ? 3 : 4;
    }
    if (isnan(score)) {
        memcpy(buf, "nan", 4);
        return 3;
    }
    if (score > -4503599627370495.0 && score < 4503599627370496.0 &&
        score == (double)(long long)score)
        return ll_to_str(buf, (long long)score);
    return (size_t)snprintf(buf, 32, "%.17g", score);
}

/* strtod over a NUL-terminated copy; the whole string must be used. */
static int parse_double_bound(const char *s, size_t len, double *out, int *ex)
{
    char stack[128];
    char *buf = len < sizeof(stack) ? stack : mem_alloc(len + 1);
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *p = buf, *end;
    *ex = 0;
    if (p[0] == '(') {
        *ex = 1;
        p++;
    }
    *out = strtod(p, &end);
    int ok = *end == '\0' && !isnan(*out);
    if (buf != stack)
        mem_free(buf);
    return ok;
}

int zset_parse_range(const char *min, size_t minlen, const char *max, size_t maxlen,
                     zset_range_t *out)
{
    return parse_double_bound(min, minlen, &out->min, &out->minex) &&
           parse_double_bound(max, maxlen, &out->max, &out->maxex);
}

static int parse_lex_bound(const char *s, size_t len, const char **v, size_t *vlen, int *kind,
                           int *ex)
{
    *ex = 0;
    *v = NULL;
    *vlen = 0;
    if (len == 0)
        return 0;
    if (s[0] == '+' || s[0] == '-') {
        *kind = s[0] == '+' ? ZSET_LEX_POS : ZSET_LEX_NEG;
        return len == 1;
    }
    if (s[0] != '(' && s[0] != '[')
        return 0;
    *kind = ZSET_LEX_VAL;
    *ex = s[0] == '(';
    *v = s + 1;
    *vlen = len - 1;
    return 1;
}

int zset_parse_lex(const char *min, size_t minlen, const char *max, size_t maxlen, zset_lex_t *out)
{
    return parse_lex_bound(min, minlen, &out->min, &out->minlen, &out->minkind, &out->minex) &&
           parse_lex_bound(max, maxlen, &out->max, &out->maxlen, &out->maxkind, &out->maxex);
}

/* ---- skiplist -------------------------------------------------------------- */

static inline const char *zn_member(const zsl_node_t *n)
{
    return (const char *)(n->level + n->height);
}

static void zsl_dict_key(const dict_node_t *n, const char **k, size_t *len)
{
    const zsl_node_t *z = (const zsl_node_t *)n;
    *k = zn_member(z);
    *len = z->mlen;
}

static const dict_type_t zsl_dict_type = {zsl_dict_key};

static zsl_node_t *zn_new(uint32_t height, double score, const char *m, size_t mlen)
{
    zsl_node_t *n = mem_alloc(sizeof(*n) + height * sizeof(zsl_level_t) + mlen);
    n->dnode.next = NULL;
    n->score = score;
    n->backward = NULL;
    n->mlen = (uint32_t)mlen;
    n->height = height;
    for (uint32_t i = 0; i < height; i++) {
        n->level[i].forward = NULL;
        n->level[i].span = 0;
    }
    if (mlen)
        memcpy((char *)(n->level + height), m, mlen);
    return n;
}

/* Geometric with p = 1/4: each pair of zero low bits adds a level. */
static uint32_t random_level(void)
{
    uint64_t r = rng_next();
    uint32_t l = 1 + (r ? (uint32_t)__builtin_ctzll(r) / 2 : 31);
    return l > ZSL_MAXLEVEL ? ZSL_MAXLEVEL : l;
}

static zsl_t *zsl_new(void)
{
    zsl_t *sl = mem_alloc(sizeof(*sl));
    dict_init(&sl->dict, &zsl_dict_type);
    sl->header = zn_new(ZSL_MAXLEVEL, 0, NULL, 0);
    sl->tail = NULL;
    sl->length = 0;
    sl->level = 1;
    return sl;
}

static void zsl_free(zsl_t *sl)
{
    zsl_node_t *n = sl->header->level[0].forward;
    while (n) {
        zsl_node_t *next = n->level[0].forward;
        mem_free(n);
        n = next;
    }
    mem_free(sl->header);
    dict_deinit(&sl->dict, NULL, NULL);
    mem_free(sl);
}

/* 1 if node n sorts before (score, m). */
static inline int zn_before(const zsl_node_t *n, double score, const char *m, size_t mlen)
{
    return n->score < score || (n->score == score && mcmp(zn_member(n), n->mlen, m, mlen) < 0);
}

/* Link node x (not in the list) at its place. */
static void zsl_link(zsl_t *sl, zsl_node_t *x)
{
    zsl_node_t *update[ZSL_MAXLEVEL], *n = sl->header;
    unsigned long rank[ZSL_MAXLEVEL];
    const char *m = zn_member(x);
    for (int i = sl->level - 1; i >= 0; i--) {
        rank[i] = i == sl->level - 1 ? 0 : rank[i + 1];
        while (n->level[i].forward && zn_before(n->level[i].forward, x->score, m, x->mlen)) {
            rank[i] += n->level[i].span;
            n = n->level[i].forward;
        }
        update[i] = n;
    }
    int h = (int)x->height;
    if (h > sl->level) {
        for (int i = sl->level; i < h; i++) {
            rank[i] = 0;
            update[i] = sl->header;
            update[i]->level[i].span = sl->length;
        }
        sl->level = h;
    }
    for (int i = 0; i < h; i++) {
        x->level[i].forward = update[i]->level[i].forward;
        update[i]->level[i].forward = x;
        x->level[i].span = update[i]->level[i].span - (rank[0] - rank[i]);
        update[i]->level[i].span = (rank[0] - rank[i]) + 1;
    }
    for (int i = h; i < sl->level; i++)
        update[i]->level[i].span++;
    x->backward = update[0] == sl->header ? NULL : update[0];
    if (x->level[0].forward)
        x->level[0].forward->backward = x;
    else
        sl->tail = x;
    sl->length++;
}

/* Unlink x given the last node before it on every level. */
static void zsl_unlink(zsl_t *sl, zsl_node_t *x, zsl_node_t **update)
{
    for (int i = 0; i < sl->level; i++) {
        if (update[i]->level[i].forward == x) {
            update[i]->level[i].span += x->level[i].span - 1;
            update[i]->level[i].forward = x->level[i].forward;
        } else {
            update[i]->level[i].span -= 1;
        }
    }
    if (x->level[0].forward)
        x->level[0].forward->backward = x->backward;
    else
        sl->tail = x->backward;
    while (sl->level > 1 && sl->header->level[sl->level - 1].forward == NULL)
        sl->level--;
    sl->length--;
}

/* Unlink x (found through the dict) from the skiplist only. */
static void zsl_unlink_node(zsl_t *sl, zsl_node_t *x)
{
    zsl_node_t *update[ZSL_MAXLEVEL], *n = sl->header;
    const char *m = zn_member(x);
    for (int i = sl->level - 1; i >= 0; i--) {
        while (n->level[i].forward && n->level[i].forward != x &&
               zn_before(n->level[i].forward, x->score, m, x->mlen))
            n = n->level[i].forward;
        update[i] = n;
    }
    zsl_unlink(sl, x, update);
}

/* Add a member known to be absent. */
static zsl_node_t *zsl_insert(zsl_t *sl, double score, const char *m, size_t mlen)
{
    zsl_node_t *x = zn_new(random_level(), score, m, mlen);
    zsl_link(sl, x);
    dict_add(&sl->dict, &x->dnode);
    return x;
}

/* Change x's score, moving it only when the order requires. */
static void zsl_update_score(zsl_t *sl, zsl_node_t *x, double score)
{
    if ((x->backward == NULL || x->backward->score < score) &&
        (x->level[0].forward == NULL || x->level[0].forward->score > score)) {
        x->score = score;
        return;
    }
    zsl_unlink_node(sl, x);
    x->score = score;
    zsl_link(sl, x);
}

/* 1-based rank of x. */
static unsigned long zsl_rank(const zsl_t *sl, const zsl_node_t *x)
{
    unsigned long rank = 0;
    const zsl_node_t *n = sl->header;
    const char *m = zn_member(x);
    for (int i = sl->level - 1; i >= 0; i--) {
        while (n->level[i].forward &&
               (n->level[i].forward == x || zn_before(n->level[i].forward, x->score, m, x->mlen))) {
            rank += n->level[i].span;
            n = n->level[i].forward;
            if (n == x)
                return rank;
        }
    }
    return rank;
}

/* Node at 1-based rank, or NULL. */
static zsl_node_t *zsl_at(const zsl_t *sl, unsigned long rank)
{
    unsigned long traversed = 0;
    zsl_node_t *n = sl->header;
    for (int i = sl->level - 1; i >= 0; i--) {
        while (n->level[i].forward && traversed + n->level[i].span <= rank) {
            traversed += n->level[i].span;
            n = n->level[i].forward;
        }
        if (traversed == rank)
            return n == sl->header ? NULL : n;
    }
    return NULL;
}

static zsl_node_t *zsl_first_in(const zsl_t *sl, const spec_t *s)
{
    if (spec_empty(s) || sl->length == 0)
        return NULL;
    zsl_node_t *n = sl->header;
    for (int i = sl->level - 1; i >= 0; i--)
        while (n->level[i].forward &&
               !spec_gte_min(s, n->level[i].forward->score, zn_member(n->level[i].forward),
                             n->level[i].forward->mlen))
            n = n->level[i].forward;
    n = n->level[0].forward;
    if (n == NULL || !spec_lte_max(s, n->score, zn_member(n), n->mlen))
        return NULL;
    return n;
}

static zsl_node_t *zsl_last_in(const zsl_t *sl, const spec_t *s)
{
    if (spec_empty(s) || sl->length == 0)
        return NULL;
    zsl_node_t *n = sl->header;
    for (int i = sl->level - 1; i >= 0; i--)
        while (n->level[i].forward &&
               spec_lte_max(s, n->level[i].forward->score, zn_member(n->level[i].forward),
                            n->level[i].forward->mlen))
            n = n->level[i].forward;
    if (n == sl->header || !spec_gte_min(s, n->score, zn_member(n), n->mlen))
        return NULL;
    return n;
}

/* Remove every node from x on while keep(x) says so; update[] describes x. */
static size_t zsl_delete_run(zsl_t *sl, zsl_node_t **update, zsl_node_t *x, const spec_t *s,
                             size_t limit)
{
    size_t removed = 0;
    while (x && removed < limit &&
           (s == NULL || spec_lte_max(s, x->score, zn_member(x), x->mlen))) {
        zsl_node_t *next = x->level[0].forward;
        zsl_unlink(sl, x, update);
        dict_remove_node(&sl->dict, &x->dnode);
        mem_free(x);
        removed++;
        x = next;
    }
    return removed;
}

static size_t zsl_delete_spec(zsl_t *sl, const spec_t *s)
{
    if (spec_empty(s))
        return 0;
    zsl_node_t *update[ZSL_MAXLEVEL], *n = sl->header;
    for (int i = sl->level - 1; i >= 0; i--) {
        while (n->level[i].forward &&
               !spec_gte_min(s, n->level[i].forward->score, zn_member(n->level[i].forward),
                             n->level[i].forward->mlen))
            n = n->level[i].forward;
        update[i] = n;
    }
    return zsl_delete_run(sl, update, n->level[0].forward, s, SIZE_MAX);
}

/* Delete 1-based ranks start..end inclusive. */
static size_t zsl_delete_rank(zsl_t *sl, unsigned long start, unsigned long end)
{
    zsl_node_t *update[ZSL_MAXLEVEL], *n = sl->header;
    unsigned long traversed = 0;
    for (int i = sl->level - 1; i >= 0; i--) {
        while (n->level[i].forward && traversed + n->level[i].span < start) {
            traversed += n->level[i].span;
            n = n->level[i].forward;
        }
        update[i] = n;
    }
    return zsl_delete_run(sl, update, n->level[0].forward, NULL, end - start + 1);
}

static size_t zsl_mem(const zsl_t *sl)
{
    size_t total =
        mem_usable(sl) + mem_usable(sl->header) + dict_buckets(&sl->dict) * sizeof(dict_node_t *);
    for (zsl_node_t *n = sl->header->level[0].forward; n; n = n->level[0].forward)
        total += mem_usable(n);
    return total;
}

/* ---- listpack encoding ------------------------------------------------------ */

static double lp_score(const unsigned char *sp)
{
    listpack_val_t v;
    listpack_get(sp, &v);
    if (v.s == NULL)
        return (double)v.v;
    char buf[128];
    size_t n = v.len < sizeof(buf) - 1 ? v.len : sizeof(buf) - 1;
    memcpy(buf, v.s, n);
    buf[n] = '\0';
    return strtod(buf, NULL);
}

/* Decode the pair whose member entry is p. */
static void lp_elem(unsigned char *lp, unsigned char *p, zset_elem_t *e)
{
    e->m = listpack_get_str(p, e->buf, &e->mlen);
    e->score = lp_score(listpack_next(lp, p));
}

static unsigned char *lp_find(unsigned char *lp, const char *m, size_t mlen, double *score)
{
    unsigned char *p = listpack_find(lp, listpack_first(lp), m, mlen, 1);
    if (p && score)
        *score = lp_score(listpack_next(lp, p));
    return p;
}

static void lp_insert(unsigned char **lpp, const char *m, size_t mlen, double score)
{
    char sbuf[32];
    listpack_val_t vals[2] = {{(const unsigned char *)m, mlen, 0},
                              {(const unsigned char *)sbuf, zset_score_str(sbuf, score), 0}};
    unsigned char *lp = *lpp, *p = listpack_first(lp);
    while (p) {
        unsigned char *sp = listpack_next(lp, p);
        double s = lp_score(sp);
        if (s > score)
            break;
        if (s == score) {
            zset_elem_t e;
            e.m = listpack_get_str(p, e.buf, &e.mlen);
            if (mcmp(e.m, e.mlen, m, mlen) > 0)
                break;
        }
        p = listpack_next(lp, sp);
    }
    listpack_insert_vals(lpp, p, LISTPACK_BEFORE, vals, 2);
}

/* Member entry of the last pair, or NULL. */
static unsigned char *lp_last_pair(unsigned char *lp)
{
    unsigned char *sp = listpack_last(lp);
    return sp ? listpack_prev(lp, sp) : NULL;
}

static unsigned char *lp_prev_pair(unsigned char *lp, unsigned char *p)
{
    unsigned char *sp = listpack_prev(lp, p);
    return sp ? listpack_prev(lp, sp) : NULL;
}

static unsigned char *lp_next_pair(unsigned char *lp, unsigned char *p)
{
    return listpack_next(lp, listpack_next(lp, p));
}

static unsigned char *lp_first_in(unsigned char *lp, const spec_t *s)
{
    if (spec_empty(s))
        return NULL;
    zset_elem_t e;
    for (unsigned char *p = listpack_first(lp); p; p = lp_next_pair(lp, p)) {
        lp_elem(lp, p, &e);
        if (spec_gte_min(s, e.score, e.m, e.mlen))
            return spec_lte_max(s, e.score, e.m, e.mlen) ? p : NULL;
    }
    return NULL;
}

static unsigned char *lp_last_in(unsigned char *lp, const spec_t *s)
{
    if (spec_empty(s))
        return NULL;
    zset_elem_t e;
    for (unsigned char *p = lp_last_pair(lp); p; p = lp_prev_pair(lp, p)) {
        lp_elem(lp, p, &e);
        if (spec_lte_max(s, e.score, e.m, e.mlen))
            return spec_gte_min(s, e.score, e.m, e.mlen) ? p : NULL;
    }
    return NULL;
}

/* ---- conversions --------------------------------------------------------------- */

static zsl_t *lp_to_zsl(unsigned char *lp)
{
    zsl_t *sl = zsl_new();
    dict_expand(&sl->dict, listpack_len(lp) / 2);
    zset_elem_t e;
    for (unsigned char *p = listpack_first(lp); p; p = lp_next_pair(lp, p)) {
        lp_elem(lp, p, &e);
        zsl_insert(sl, e.score, e.m, e.mlen);
    }
    return sl;
}

static unsigned char *zsl_to_lp(const zsl_t *sl)
{
    unsigned char *lp = listpack_new();
    for (zsl_node_t *n = sl->header->level[0].forward; n; n = n->level[0].forward) {
        char sbuf[32];
        listpack_val_t vals[2] = {{(const unsigned char *)zn_member(n), n->mlen, 0},
                                  {(const unsigned char *)sbuf, zset_score_str(sbuf, n->score), 0}};
        listpack_insert_vals(&lp, NULL, LISTPACK_AFTER, vals, 2);
    }
    return lp;
}

void zset_convert(zset_t *z, int enc)
{
    if (z->enc == enc)
        return;
    if (enc == ENC_SKIPLIST) {
        zsl_t *sl = lp_to_zsl(z->ptr);
        listpack_free(z->ptr);
        z->ptr = sl;
    } else {
        unsigned char *lp = zsl_to_lp(z->ptr);
        zsl_free(z->ptr);
        z->ptr = lp;
    }
    z->enc = enc;
}

void zset_shrink_if_fits(zset_t *z, size_t maxlen, size_t totlen)
{
    if (z->enc == ENC_SKIPLIST && zset_len(z) <= max_entries && maxlen <= max_value &&
        listpack_safe_to_add(NULL, totlen))
        zset_convert(z, ENC_LISTPACK);
}

/* ---- facade -------------------------------------------------------------------- */

void zset_init(zset_t *z, size_t size_hint, size_t max_len)
{
    if (size_hint <= max_entries && max_len <= max_value) {
        z->enc = ENC_LISTPACK;
        z->ptr = listpack_new();
    } else {
        zsl_t *sl = zsl_new();
        if (size_hint > 1)
            dict_expand(&sl->dict, size_hint);
        z->enc = ENC_SKIPLIST;
        z->ptr = sl;
    }
}

void zset_deinit(zset_t *z)
{
    if (z->ptr == NULL)
        return;
    if (z->enc == ENC_LISTPACK)
        listpack_free(z->ptr);
    else
        zsl_free(z->ptr);
    z->ptr = NULL;
}

void zset_dup(zset_t *dst, const zset_t *src)
{
    dst->enc = src->enc;
    if (src->enc == ENC_LISTPACK) {
        dst->ptr = listpack_dup(src->ptr);
        return;
    }
    const zsl_t *sl = src->ptr;
    zsl_t *d = zsl_new();
    dict_expand(&d->dict, sl->length);
    for (zsl_node_t *n = sl->header->level[0].forward; n; n = n->level[0].forward)
        zsl_insert(d, n->score, zn_member(n), n->mlen);
    dst->ptr = d;
}

size_t zset_len(const zset_t *z)
{
    if (z->enc == ENC_LISTPACK)
        return listpack_len(z->ptr) / 2;
    return ((const zsl_t *)z->ptr)->length;
}

size_t zset_mem(const zset_t *z)
{
    return z->enc == ENC_LISTPACK ? mem_usable(z->ptr) : zsl_mem(z->ptr);
}

/* The existing-member half of zset_add (Redis's rules, both encodings). where
 * is the listpack member entry or the skiplist node of m. */
static int add_existing(zset_t *z, void *where, const char *m, size_t mlen, double cur,
                        double score, int in_flags, int *out_flags, double *newscore)
{
    if (in_flags & ZSET_IN_NX) {
        *out_flags |= ZSET_OUT_NOP;
        return 1;
    }
    if (in_flags & ZSET_IN_INCR) {
        score += cur;
        if (isnan(score)) {
            *out_flags |= ZSET_OUT_NAN;
            return 0;
        }
    }
    if (((in_flags & ZSET_IN_LT) && score >= cur) || ((in_flags & ZSET_IN_GT) && score <= cur)) {
        *out_flags |= ZSET_OUT_NOP;
        return 1;
    }
    if (newscore)
        *newscore = score;
    if (score == cur)
        return 1;
    if (z->enc == ENC_LISTPACK) {
        listpack_delete_at((unsigned char **)&z->ptr, where, 2);
        lp_insert((unsigned char **)&z->ptr, m, mlen, score);
    } else {
        zsl_update_score(z->ptr, where, score);
    }
    *out_flags |= ZSET_OUT_UPDATED;
    return 1;
}

int zset_add(zset_t *z, const char *m, size_t mlen, double score, int in_flags, int *out_flags,
             double *newscore)
{
    double cur;
    *out_flags = 0;
    if (isnan(score)) {
        *out_flags = ZSET_OUT_NAN;
        return 0;
    }
    if (z->enc == ENC_LISTPACK) {
        unsigned char *p = lp_find(z->ptr, m, mlen, &cur);
        if (p)
            return add_existing(z, p, m, mlen, cur, score, in_flags, out_flags, newscore);
        if (in_flags & ZSET_IN_XX) {
            *out_flags |= ZSET_OUT_NOP;
            return 1;
        }
        if (zset_len(z) + 1 > max_entries || mlen > max_value ||
            !listpack_safe_to_add(z->ptr, mlen)) {
            zset_convert(z, ENC_SKIPLIST);
        } else {
            lp_insert((unsigned char **)&z->ptr, m, mlen, score);
            *out_flags |= ZSET_OUT_ADDED;
            if (newscore)
                *newscore = score;
            return 1;
        }
    }
    zsl_t *sl = z->ptr;
    zsl_node_t *x = (zsl_node_t *)dict_find(&sl->dict, m, mlen);
    if (x)
        return add_existing(z, x, m, mlen, x->score, score, in_flags, out_flags, newscore);
    if (in_flags & ZSET_IN_XX) {
        *out_flags |= ZSET_OUT_NOP;
        return 1;
    }
    zsl_insert(sl, score, m, mlen);
    *out_flags |= ZSET_OUT_ADDED;
    if (newscore)
        *newscore = score;
    return 1;
}

int zset_score(const zset_t *z, const char *m, size_t mlen, double *score)
{
    if (z->enc == ENC_LISTPACK)
        return lp_find(z->ptr, m, mlen, score) != NULL;
    zsl_node_t *x = (zsl_node_t *)dict_find(&((zsl_t *)z->ptr)->dict, m, mlen);
    if (x && score)
        *score = x->score;
    return x != NULL;
}

int zset_del(zset_t *z, const char *m, size_t mlen)
{
    if (z->enc == ENC_LISTPACK) {
        unsigned char *p = lp_find(z->ptr, m, mlen, NULL);
        if (p)
            listpack_delete_at((unsigned char **)&z->ptr, p, 2);
        return p != NULL;
    }
    zsl_t *sl = z->ptr;
    zsl_node_t *x = (zsl_node_t *)dict_unlink(&sl->dict, m, mlen);
    if (x == NULL)
        return 0;
    zsl_unlink_node(sl, x);
    mem_free(x);
    return 1;
}

long zset_rank(const zset_t *z, const char *m, size_t mlen, int reverse, double *score)
{
    size_t len = zset_len(z);
    long rank = -1;
    if (z->enc == ENC_LISTPACK) {
        unsigned char *lp = z->ptr, *found = lp_find(lp, m, mlen, score);
        if (found) {
            rank = 0;
            for (unsigned char *p = listpack_first(lp); p != found; p = lp_next_pair(lp, p))
                rank++;
        }
    } else {
        zsl_t *sl = z->ptr;
        zsl_node_t *x = (zsl_node_t *)dict_find(&sl->dict, m, mlen);
        if (x) {
            rank = (long)zsl_rank(sl, x) - 1;
            if (score)
                *score = x->score;
        }
    }
    if (rank >= 0 && reverse)
        rank = (long)len - 1 - rank;
    return rank;
}

int zset_elem_at(const zset_t *z, size_t rank, int reverse, zset_elem_t *out)
{
    size_t len = zset_len(z);
    if (rank >= len)
        return 0;
    size_t idx = reverse ? len - 1 - rank : rank;
    if (z->enc == ENC_LISTPACK) {
        lp_elem(z->ptr, listpack_seek(z->ptr, (long)(2 * idx)), out);
        return 1;
    }
    zsl_node_t *n = zsl_at(z->ptr, idx + 1);
    out->m = zn_member(n);
    out->mlen = n->mlen;
    out->score = n->score;
    return 1;
}

static size_t count_spec(const zset_t *z, const spec_t *s)
{
    if (z->enc == ENC_LISTPACK) {
        unsigned char *lp = z->ptr;
        size_t count = 0;
        zset_elem_t e;
        for (unsigned char *p = lp_first_in(lp, s); p; p = lp_next_pair(lp, p)) {
            lp_elem(lp, p, &e);
            if (!spec_lte_max(s, e.score, e.m, e.mlen))
                break;
            count++;
        }
        return count;
    }
    zsl_t *sl = z->ptr;
    zsl_node_t *first = zsl_first_in(sl, s);
    if (first == NULL)
        return 0;
    zsl_node_t *last = zsl_last_in(sl, s);
    return zsl_rank(sl, last) - zsl_rank(sl, first) + 1;
}

size_t zset_count_range(const zset_t *z, const zset_range_t *r)
{
    spec_t s = {r, NULL};
    return count_spec(z, &s);
}

size_t zset_count_lex(const zset_t *z, const zset_lex_t *l)
{
    spec_t s = {NULL, l};
    return count_spec(z, &s);
}

size_t zset_del_range_rank(zset_t *z, size_t start, size_t end)
{
    size_t len = zset_len(z);
    if (start > end || start >= len)
        return 0;
    if (end >= len)
        end = len - 1;
    if (z->enc == ENC_LISTPACK) {
        listpack_delete_range((unsigned char **)&z->ptr, (long)(2 * start), 2 * (end - start + 1));
        return end - start + 1;
    }
    return zsl_delete_rank(z->ptr, start + 1, end + 1);
}

static size_t del_spec(zset_t *z, const spec_t *s)
{
    if (z->enc == ENC_SKIPLIST)
        return zsl_delete_spec(z->ptr, s);
    unsigned char *p = lp_first_in(z->ptr, s);
    if (p == NULL)
        return 0;
    size_t off = (size_t)(p - (unsigned char *)z->ptr), n = 0;
    zset_elem_t e;
    for (unsigned char *q = p; q; q = lp_next_pair(z->ptr, q)) {
        lp_elem(z->ptr, q, &e);
        if (!spec_lte_max(s, e.score, e.m, e.mlen))
            break;
        n++;
    }
    listpack_delete_at((unsigned char **)&z->ptr, (unsigned char *)z->ptr + off, 2 * n);
    return n;
}

size_t zset_del_range_score(zset_t *z, const zset_range_t *r)
{
    spec_t s = {r, NULL};
    return del_spec(z, &s);
}

size_t zset_del_range_lex(zset_t *z, const zset_lex_t *l)
{
    spec_t s = {NULL, l};
    return del_spec(z, &s);
}

/* ---- iteration ----------------------------------------------------------------- */

enum { ITER_RANK = 0, ITER_SCORE = 1, ITER_LEX = 2 };

static void iter_base(zset_iter_t *it, const zset_t *z, int reverse, int kind)
{
    it->z = z;
    it->reverse = reverse;
    it->kind = kind;
    it->cur = NULL;
}

int zset_iter_rank(zset_iter_t *it, const zset_t *z, size_t start, int reverse)
{
    iter_base(it, z, reverse, ITER_RANK);
    size_t len = zset_len(z);
    if (start >= len)
        return 0;
    size_t idx = reverse ? len - 1 - start : start;
    if (z->enc == ENC_LISTPACK)
        it->cur = listpack_seek(z->ptr, (long)(2 * idx));
    else
        it->cur = zsl_at(z->ptr, idx + 1);
    return it->cur != NULL;
}

static int iter_spec(zset_iter_t *it, const zset_t *z, const spec_t *s, int reverse)
{
    if (z->enc == ENC_LISTPACK)
        it->cur = reverse ? lp_last_in(z->ptr, s) : lp_first_in(z->ptr, s);
    else
        it->cur = reverse ? zsl_last_in(z->ptr, s) : zsl_first_in(z->ptr, s);
    return it->cur != NULL;
}

int zset_iter_score(zset_iter_t *it, const zset_t *z, const zset_range_t *r, int reverse)
{
    iter_base(it, z, reverse, ITER_SCORE);
    it->r = *r;
    spec_t s = {&it->r, NULL};
    return iter_spec(it, z, &s, reverse);
}

int zset_iter_lex(zset_iter_t *it, const zset_t *z, const zset_lex_t *r, int reverse)
{
    iter_base(it, z, reverse, ITER_LEX);
    it->lex = *r;
    spec_t s = {NULL, &it->lex};
    return iter_spec(it, z, &s, reverse);
}

int zset_iter_next(zset_iter_t *it, zset_elem_t *out)
{
    if (it->cur == NULL)
        return 0;
    if (it->z->enc == ENC_LISTPACK) {
        unsigned char *lp = it->z->ptr, *p = it->cur;
        lp_elem(lp, p, out);
        it->cur = it->reverse ? lp_prev_pair(lp, p) : lp_next_pair(lp, p);
    } else {
        zsl_node_t *n = it->cur;
        out->m = zn_member(n);
        out->mlen = n->mlen;
        out->score = n->score;
        it->cur = it->reverse ? n->backward : n->level[0].forward;
    }
    if (it->kind != ITER_RANK) {
        spec_t s = {it->kind == ITER_SCORE ? &it->r : NULL, &it->lex};
        int in = it->reverse ? spec_gte_min(&s, out->score, out->m, out->mlen)
                             : spec_lte_max(&s, out->score, out->m, out->mlen);
        if (!in) {
            it->cur = NULL;
            return 0;
        }
    }
    return 1;
}

/* ---- scan and random ------------------------------------------------------------- */

typedef struct scan_ctx_s {
    zset_visit_fn fn;
    void *arg;
} scan_ctx_t;

static void scan_adapter(void *arg, dict_node_t *dn)
{
    scan_ctx_t *c = arg;
    const zsl_node_t *n = (const zsl_node_t *)dn;
    zset_elem_t e;
    e.m = zn_member(n);
    e.mlen = n->mlen;
    e.score = n->score;
    c->fn(c->arg, &e);
}

uint64_t zset_scan(const zset_t *z, uint64_t cursor, zset_visit_fn fn, void *arg)
{
    if (z->enc == ENC_LISTPACK) {
        zset_iter_t it;
        zset_elem_t e;
        zset_iter_rank(&it, z, 0, 0);
        while (zset_iter_next(&it, &e))
            fn(arg, &e);
        return 0;
    }
    scan_ctx_t c = {fn, arg};
    return dict_scan(&((zsl_t *)z->ptr)->dict, cursor, scan_adapter, &c);
}

void zset_random(const zset_t *z, uint64_t (*rnd)(void), zset_elem_t *out)
{
    zset_elem_at(z, rnd() % zset_len(z), 0, out);
}

/* Visit picks with repetition. Listpack: index the member entries once. */
static void random_repeat(const zset_t *z, size_t count, uint64_t (*rnd)(void), zset_visit_fn fn,
                          void *arg)
{
    size_t len = zset_len(z);
    zset_elem_t e;
    if (z->enc == ENC_SKIPLIST) {
        for (size_t i = 0; i < count; i++) {
            zset_elem_at(z, rnd() % len, 0, &e);
            fn(arg, &e);
        }
        return;
    }
    unsigned char *lp = z->ptr;
    unsigned char **idx = mem_alloc(len * sizeof(*idx));
    size_t k = 0;
    for (unsigned char *p = listpack_first(lp); p; p = lp_next_pair(lp, p))
        idx[k++] = p;
    for (size_t i = 0; i < count; i++) {
        lp_elem(lp, idx[rnd() % len], &e);
        fn(arg, &e);
    }
    mem_free(idx);
}

size_t zset_random_many(const zset_t *z, size_t count, int unique, uint64_t (*rnd)(void),
                        zset_visit_fn fn, void *arg)
{
    size_t len = zset_len(z);
    zset_iter_t it;
    zset_elem_t e;
    if (len == 0 || count == 0)
        return 0;
    if (!unique) {
        random_repeat(z, count, rnd, fn, arg);
        return count;
    }
    if (count >= len) {
        zset_iter_rank(&it, z, 0, 0);
        while (zset_iter_next(&it, &e))
            fn(arg, &e);
        return len;
    }
    size_t *idx = mem_alloc(count * sizeof(*idx));
    listpack_random_indexes(len, count, rnd, idx);
    if (z->enc == ENC_LISTPACK) {
        /* Listpack picks come in set order, as Redis returns them. */
        size_t k = 0, i = 0;
        zset_iter_rank(&it, z, 0, 0);
        while (k < count && zset_iter_next(&it, &e))
            if (i++ == idx[k]) {
                fn(arg, &e);
                k++;
            }
    } else {
        for (size_t i = count; i > 1; i--) {
            size_t j = rnd() % i, t = idx[i - 1];
            idx[i - 1] = idx[j];
            idx[j] = t;
        }
        for (size_t i = 0; i < count; i++) {
            zset_elem_at(z, idx[i], 0, &e);
            fn(arg, &e);
        }
    }
    mem_free(idx);
    return count;
}

/* ---- validation ------------------------------------------------------------------ */

/* Scores (odd entries) stored as strings must parse as numbers. */
static int validate_entry(const unsigned char *p, void *arg)
{
    size_t *count = arg;
    if ((*count)++ % 2 == 1) {
        listpack_val_t v;
        listpack_get(p, &v);
        if (v.s) {
            double d;
            int ex;
            if (v.len == 0 || v.len > 127 || v.s[0] == '(' ||
                !parse_double_bound((const char *)v.s, v.len, &d, &ex))
                return 0;
        }
    }
    return 1;
}

int zset_listpack_validate(const unsigned char *lp, size_t size)
{
    size_t count = 0;
    return listpack_validate_pairs(lp, size, validate_entry, &count);
}

/* ---- kv hooks ---------------------------------------------------------------------- */

static void kv_free_zset(void *ptr, int enc)
{
    zset_t z = {enc, ptr};
    zset_deinit(&z);
}

static void *kv_dup_zset(const void *ptr, int enc)
{
    zset_t s = {enc, (void *)ptr}, d;
    zset_dup(&d, &s);
    return d.ptr;
}

static size_t kv_mem_zset(const void *ptr, int enc)
{
    zset_t z = {enc, (void *)ptr};
    return zset_mem(&z);
}

const kv_type_ops_t zset_kv_ops = {kv_free_zset, kv_dup_zset, kv_mem_zset};
