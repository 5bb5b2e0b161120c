/*
 * kv.c — keyspace entries (see kv.h for the layout): building, reshaping,
 * copying and freeing entries; string encodings; str_t; per-type hooks.
 *
 * Must not: touch tables or the volatile index (db.c owns those).
 * Invariant: an entry's allocation size is fixed by (has_expire, klen, value
 * part size) at creation; value parts are copied verbatim when reshaping.
 */
#include "kv.h"

#include <limits.h>

#include "../lib/mem.h"
#include "../lib/util.h"

static const kv_type_ops_t *kv_types[OBJ_TYPES];

/* ---- str_t ------------------------------------------------------------- */

#define STR_PREALLOC_MAX (1024 * 1024)

str_t *str_new(const char *p, size_t len, size_t cap)
{
    if (cap < len)
        cap = len;
    str_t *s = mem_alloc(sizeof(str_t) + cap);
    size_t usable = mem_usable(s) - sizeof(str_t);
    s->cap = (uint32_t)(usable > UINT32_MAX ? UINT32_MAX : usable);
    s->len = (uint32_t)len;
    if (len)
        memcpy(s->data, p, len);
    return s;
}

void str_free(str_t *s)
{
    mem_free(s);
}

str_t *str_reserve(str_t *s, size_t need)
{
    if (need <= s->cap)
        return s;
    size_t cap = need < STR_PREALLOC_MAX ? need * 2 : need + STR_PREALLOC_MAX;
    if (cap > UINT32_MAX)
        cap = UINT32_MAX;
    s = mem_realloc(s, sizeof(str_t) + cap);
    size_t usable = mem_usable(s) - sizeof(str_t);
    s->cap = (uint32_t)(usable > UINT32_MAX ? UINT32_MAX : usable);
    return s;
}

/* ---- value descriptions -------------------------------------------------- */

kv_val_t kv_val_string(slice_t v)
{
    long long ll;
    if (v.len <= KV_INT_MAXLEN && str_to_ll(v.p, v.len, &ll))
        return kv_val_int(ll);
    return kv_val_string_noint(v);
}

kv_val_t kv_val_string_noint(slice_t v)
{
    kv_val_t r = {.type = OBJ_STRING, .enc = v.len <= KV_EMBSTR_MAX ? ENC_EMBSTR : ENC_RAW, .s = v};
    return r;
}

kv_val_t kv_val_raw(slice_t v)
{
    kv_val_t r = {.type = OBJ_STRING, .enc = ENC_RAW, .s = v};
    return r;
}

kv_val_t kv_val_int(long long v)
{
    kv_val_t r = {.type = OBJ_STRING, .enc = ENC_INT, .ll = v};
    return r;
}

kv_val_t kv_val_ptr(int type, int enc, void *ptr)
{
    kv_val_t r = {.type = type, .enc = enc, .ptr = ptr};
    return r;
}

/* ---- entries --------------------------------------------------------------- */

static int kv_is_inline(int type, int enc)
{
    return type == OBJ_STRING && (enc == ENC_EMBSTR || enc == ENC_INT);
}

/* Size of the value part of an existing entry. */
static size_t kv_valsize(const kv_t *kv)
{
    if (kv->type == OBJ_STRING && kv->enc == ENC_EMBSTR) {
        uint32_t n;
        memcpy(&n, kv_valp(kv), sizeof n);
        return sizeof n + n;
    }
    return kv->type == OBJ_STRING && kv->enc == ENC_INT ? sizeof(int64_t) : sizeof(void *);
}

static size_t kv_val_size(const kv_val_t *v)
{
    if (v->type == OBJ_STRING && v->enc == ENC_EMBSTR)
        return sizeof(uint32_t) + v->s.len;
    return v->type == OBJ_STRING && v->enc == ENC_INT ? sizeof(int64_t) : sizeof(void *);
}

/* Allocate and fill the header, TTL slot and key; the value part is left to the caller. */
static kv_t *kv_alloc(slice_t key, int type, int enc, size_t valsize, long long expire_ms,
                      uint32_t lru)
{
    int has_exp = expire_ms >= 0;
    kv_t *kv = mem_alloc(sizeof(kv_t) + (has_exp ? KV_EXPIRE_BYTES : 0) + key.len + valsize);
    kv->node.next = NULL;
    kv->lru = lru & KV_LRU_MAX;
    kv->type = (unsigned)type;
    kv->enc = (unsigned)enc;
    kv->klen = (uint32_t)key.len;
    kv->has_expire = (unsigned)has_exp;
    kv->unshared = 0;
    if (has_exp) {
        kv_set_expire_inplace(kv, expire_ms);
        kv_set_vol_idx(kv, UINT32_MAX);
    }
    if (key.len)
        memmove(kv_keyp(kv), key.p, key.len);
    return kv;
}

kv_t *kv_new(slice_t key, const kv_val_t *v, long long expire_ms, uint32_t lru)
{
    kv_t *kv = kv_alloc(key, v->type, v->enc, kv_val_size(v), expire_ms, lru);
    char *p = kv_valp(kv);
    if (v->type == OBJ_STRING && v->enc == ENC_EMBSTR) {
        uint32_t n = (uint32_t)v->s.len;
        memcpy(p, &n, sizeof n);
        if (n)
            memcpy(p + sizeof n, v->s.p, n);
    } else if (v->type == OBJ_STRING && v->enc == ENC_INT) {
        kv_set_int_inplace(kv, v->ll);
    } else if (v->type == OBJ_STRING && v->ptr == NULL) {
        kv_set_ptr(kv, ENC_RAW, str_new(v->s.p, v->s.len, v->s.len));
    } else {
        kv_set_ptr(kv, v->enc, v->ptr);
    }
    return kv;
}

kv_t *kv_reshape(kv_t *kv, slice_t key, long long expire_ms)
{
    size_t vs = kv_valsize(kv);
    kv_t *n = kv_alloc(key, kv->type, kv->enc, vs, expire_ms, kv->lru);
    memcpy(kv_valp(n), kv_valp(kv), vs);
    n->unshared = kv->unshared;
    mem_free(kv);
    return n;
}

kv_t *kv_dup(const kv_t *kv, slice_t key, long long expire_ms, uint32_t lru)
{
    size_t vs = kv_valsize(kv);
    kv_t *n = kv_alloc(key, kv->type, kv->enc, vs, expire_ms, lru);
    if (kv_is_inline(kv->type, kv->enc)) {
        memcpy(kv_valp(n), kv_valp(kv), vs);
        n->unshared = kv->enc == ENC_INT;
    } else if (kv->type == OBJ_STRING) {
        const str_t *s = kv_raw(kv);
        kv_set_ptr(n, ENC_RAW, str_new(s->data, s->len, s->len));
    } else {
        const kv_type_ops_t *ops = kv_types[kv->type];
        kv_set_ptr(n, kv->enc, ops && ops->dup ? ops->dup(kv_ptr(kv), kv->enc) : NULL);
    }
    return n;
}

void kv_free_shell(kv_t *kv)
{
    mem_free(kv);
}

void kv_free(kv_t *kv)
{
    if (!kv_is_inline(kv->type, kv->enc)) {
        if (kv->type == OBJ_STRING) {
            str_free(kv_raw(kv));
        } else {
            const kv_type_ops_t *ops = kv_types[kv->type];
            if (ops && ops->free)
                ops->free(kv_ptr(kv), kv->enc);
        }
    }
    mem_free(kv);
}

void kv_register_type(int type, const kv_type_ops_t *ops)
{
    if (type >= 0 && type < OBJ_TYPES)
        kv_types[type] = ops;
}

/* ---- string values -------------------------------------------------------- */

slice_t kv_str(const kv_t *kv, char tmp[32])
{
    if (kv->enc == ENC_INT)
        return (slice_t){tmp, ll_to_str(tmp, kv_int(kv))};
    if (kv->enc == ENC_EMBSTR) {
        uint32_t n;
        const char *p = kv_valp(kv);
        memcpy(&n, p, sizeof n);
        return (slice_t){p + sizeof n, n};
    }
    const str_t *s = kv_raw(kv);
    return (slice_t){s->data, s->len};
}

size_t kv_strlen(const kv_t *kv)
{
    char tmp[32];
    return kv_str(kv, tmp).len;
}

int kv_str_ll(const kv_t *kv, long long *out)
{
    if (kv->enc == ENC_INT) {
        *out = kv_int(kv);
        return 1;
    }
    char tmp[32];
    slice_t s = kv_str(kv, tmp);
    return str_to_ll(s.p, s.len, out);
}

const char *kv_type_name(const kv_t *kv)
{
    static const char *const names[OBJ_TYPES] = {"string", "list",   "set",   "zset",
                                                 "hash",   "module", "stream"};
    if (kv == NULL)
        return "none";
    return kv->type < OBJ_TYPES ? names[kv->type] : "unknown";
}

const char *kv_enc_name_of(int enc)
{
    static const char *const names[ENC_COUNT] = {
        "raw",    "int",      "hashtable", "zipmap",    "linkedlist", "ziplist",
        "intset", "skiplist", "embstr",    "quicklist", "stream",     "listpack"};
    return enc >= 0 && enc < ENC_COUNT ? names[enc] : "unknown";
}

const char *kv_enc_name(const kv_t *kv)
{
    return kv_enc_name_of(kv->enc);
}

size_t kv_mem(const kv_t *kv)
{
    size_t n = mem_usable(kv);
    if (kv->type == OBJ_STRING && kv->enc == ENC_RAW) {
        n += mem_usable(kv_raw(kv));
    } else if (!kv_is_inline(kv->type, kv->enc)) {
        const kv_type_ops_t *ops = kv_types[kv->type];
        if (ops && ops->mem)
            n += ops->mem(kv_ptr(kv), kv->enc);
    }
    return n;
}

uint64_t kv_idle_ms(const kv_t *kv, uint64_t now_ms)
{
    uint32_t clock = kv_lru_clock(now_ms);
    if (clock >= kv->lru)
        return (uint64_t)(clock - kv->lru) * 1000;
    return (uint64_t)(clock + (KV_LRU_MAX - kv->lru)) * 1000;
}

/* ---- the dict type ------------------------------------------------------------ */

static void kv_dict_key(const dict_node_t *n, const char **k, size_t *len)
{
    const kv_t *kv = (const kv_t *)n;
    *k = kv_keyp(kv);
    *len = kv->klen;
}

const dict_type_t kv_dict_type = {.key = kv_dict_key};
