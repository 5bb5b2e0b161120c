/*
 * rdb_obj.c — decoding one RDB object into a keyspace value (kv_val_t):
 * strings, lists (plain, ziplist, quicklist of ziplists, quicklist2 with
 * PACKED/PLAIN nodes), sets (plain, intset), sorted sets (text and binary
 * scores, ziplist, listpack), hashes (plain, zipmap, ziplist, listpack).
 *
 * Encodings follow Redis 7.0's loading rules: a plain set starts as an
 * intset when its length allows and becomes a hashtable on the first
 * non-integer; a plain zset becomes a listpack when it fits the limits after
 * loading; listpack/ziplist/intset blobs stay compact unless they hold more
 * entries than the *-max-*-entries limit; plain hashes switch to a
 * hashtable past the limits. Duplicates, NaN scores, unsorted zset
 * listpacks and every structural defect are errors.
 *
 * Must not: leak on any error path, trust counts for preallocation beyond
 * what the input can hold, or log.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ks/intset.h"
#include "ks/listpack.h"
#include "ks/quicklist.h"
#include "ks/thash.h"
#include "ks/tset.h"
#include "ks/zset.h"
#include "lib/mem.h"
#include "persist/rdb_int.h"

#define HINT_MAX (1u << 20) /* cap of a table-size hint taken from a count */

static size_t hint(uint64_t n)
{
    return n > HINT_MAX ? HINT_MAX : (size_t)n;
}

void rdb_val_free(kv_val_t *v)
{
    if (v->ptr == NULL)
        return;
    switch (v->type) {
    case OBJ_STRING:
        str_free(v->ptr);
        break;
    case OBJ_LIST:
        quicklist_free(v->ptr);
        break;
    case OBJ_SET: {
        tset_t s = {v->enc, v->ptr};
        tset_deinit(&s);
        break;
    }
    case OBJ_ZSET: {
        zset_t z = {v->enc, v->ptr};
        zset_deinit(&z);
        break;
    }
    case OBJ_HASH: {
        thash_t h = {v->enc, v->ptr};
        thash_deinit(&h);
        break;
    }
    default:
        break;
    }
    v->ptr = NULL;
}

/* ---- lists ------------------------------------------------------------------------ */

static int list_done(rdb_reader_t *r, quicklist_t *ql, kv_val_t *out)
{
    (void)r;
    if (quicklist_count(ql) == 0) {
        quicklist_free(ql);
        return RDB_EMPTY;
    }
    *out = kv_val_ptr(OBJ_LIST, ENC_QUICKLIST, ql);
    return RDB_OK;
}

static int load_list_plain(rdb_reader_t *r, kv_val_t *out)
{
    uint64_t n;
    if (rd_count(r, &n, 1) != 0)
        return RDB_ERR;
    if (n == 0)
        return RDB_EMPTY;
    quicklist_t *ql = quicklist_new(r->list_fill);
    for (uint64_t i = 0; i < n; i++) {
        rdb_str_t s;
        if (rd_str(r, &s) != 0) {
            quicklist_free(ql);
            return RDB_ERR;
        }
        quicklist_push(ql, QUICKLIST_TAIL, s.p, s.len);
        rd_str_free(&s);
    }
    return list_done(r, ql, out);
}

/* One quicklist node as a validated listpack (NULL after an error). */
static unsigned char *load_ql_node(rdb_reader_t *r, int type)
{
    uint64_t container = RDB_QL_PACKED;
    if (type == RDB_TYPE_LIST_QUICKLIST_2 && rd_len(r, &container, NULL) != 0)
        return NULL;
    if (container != RDB_QL_PACKED && container != RDB_QL_PLAIN) {
        rd_fail(r, "Quicklist integrity check failed (container %llu)",
                (unsigned long long)container);
        return NULL;
    }
    unsigned char *blob, *lp;
    size_t len;
    if (rd_blob(r, &blob, &len) != 0)
        return NULL;
    if (container == RDB_QL_PLAIN) {
        lp = listpack_new();
        listpack_append(&lp, (const char *)blob, len);
        mem_free(blob);
        return lp;
    }
    if (type == RDB_TYPE_LIST_QUICKLIST_2) {
        if (listpack_validate(blob, len, NULL, NULL))
            return blob;
        mem_free(blob);
        rd_fail(r, "Listpack integrity check failed");
        return NULL;
    }
    lp = rdb_ziplist_to_listpack(blob, len, 0);
    mem_free(blob);
    if (lp == NULL)
        rd_fail(r, "Ziplist integrity check failed");
    return lp;
}

static int load_quicklist(rdb_reader_t *r, int type, kv_val_t *out)
{
    uint64_t n;
    if (rd_count(r, &n, type == RDB_TYPE_LIST_QUICKLIST_2 ? 2 : 1) != 0)
        return RDB_ERR;
    if (n == 0)
        return RDB_EMPTY;
    quicklist_t *ql = quicklist_new(r->list_fill);
    for (uint64_t i = 0; i < n; i++) {
        unsigned char *lp = load_ql_node(r, type);
        if (lp == NULL) {
            quicklist_free(ql);
            return RDB_ERR;
        }
        quicklist_append_listpack(ql, lp); /* empty nodes are dropped */
    }
    return list_done(r, ql, out);
}

static int load_list_ziplist(rdb_reader_t *r, kv_val_t *out)
{
    unsigned char *blob, *lp;
    size_t len;
    if (rd_blob(r, &blob, &len) != 0)
        return RDB_ERR;
    lp = rdb_ziplist_to_listpack(blob, len, 0);
    mem_free(blob);
    if (lp == NULL)
        return rdb_reader_fail(r, "Ziplist integrity check failed");
    quicklist_t *ql = quicklist_new(r->list_fill);
    quicklist_append_listpack(ql, lp);
    return list_done(r, ql, out);
}

/* ---- sets ------------------------------------------------------------------------------- */

static int load_set_plain(rdb_reader_t *r, kv_val_t *out)
{
    uint64_t n;
    if (rd_count(r, &n, 1) != 0)
        return RDB_ERR;
    if (n == 0)
        return RDB_EMPTY;
    tset_t s;
    tset_init_enc(&s, n > tset_get_limit() ? ENC_HT : ENC_INTSET, hint(n));
    for (uint64_t i = 0; i < n; i++) {
        rdb_str_t m;
        if (rd_str(r, &m) != 0) {
            tset_deinit(&s);
            return RDB_ERR;
        }
        int added = tset_add(&s, m.p, m.len);
        rd_str_free(&m);
        if (!added) {
            tset_deinit(&s);
            return rdb_reader_fail(r, "Duplicate set members detected");
        }
    }
    *out = kv_val_ptr(OBJ_SET, s.enc, s.ptr);
    return RDB_OK;
}

static int load_intset(rdb_reader_t *r, kv_val_t *out)
{
    unsigned char *blob;
    size_t len;
    if (rd_blob(r, &blob, &len) != 0)
        return RDB_ERR;
    if (!intset_validate(blob, len)) {
        mem_free(blob);
        return rdb_reader_fail(r, "Intset integrity check failed");
    }
    tset_t s = {ENC_INTSET, intset_from_bytes(blob, len)};
    mem_free(blob);
    if (intset_len(s.ptr) > tset_get_limit())
        tset_convert(&s, ENC_HT);
    *out = kv_val_ptr(OBJ_SET, s.enc, s.ptr);
    return RDB_OK;
}

/* ---- sorted sets ------------------------------------------------------------------------- */

static int load_zset_plain(rdb_reader_t *r, int type, kv_val_t *out)
{
    uint64_t n;
    if (rd_count(r, &n, type == RDB_TYPE_ZSET_2 ? 9 : 2) != 0)
        return RDB_ERR;
    if (n == 0)
        return RDB_EMPTY;
    zset_t z;
    size_t maxlen = 0, totlen = 0;
    zset_init(&z, hint(n), 0);
    for (uint64_t i = 0; i < n; i++) {
        rdb_str_t m;
        double score;
        int flags;
        if (rd_str(r, &m) != 0)
            goto fail;
        int rc = type == RDB_TYPE_ZSET_2 ? rd_double_bin(r, &score) : rd_double_text(r, &score);
        if (rc == 0 && isnan(score))
            rc = rd_fail(r, "Zset with NAN score detected");
        if (rc == 0) {
            zset_add(&z, m.p, m.len, score, ZSET_IN_NX, &flags, NULL);
            if (!(flags & ZSET_OUT_ADDED))
                rc = rd_fail(r, "Duplicate zset fields detected");
        }
        maxlen = m.len > maxlen ? m.len : maxlen;
        totlen += m.len;
        rd_str_free(&m);
        if (rc != 0)
            goto fail;
    }
    zset_shrink_if_fits(&z, maxlen, totlen);
    *out = kv_val_ptr(OBJ_ZSET, z.enc, z.ptr);
    return RDB_OK;
fail:
    zset_deinit(&z);
    return RDB_ERR;
}

static double lp_score(const unsigned char *p)
{
    listpack_val_t v;
    char buf[130];
    listpack_get(p, &v);
    if (v.s == NULL)
        return (double)v.v;
    size_t n = v.len < sizeof(buf) - 1 ? v.len : sizeof(buf) - 1;
    memcpy(buf, v.s, n);
    buf[n] = '\0';
    return strtod(buf, NULL);
}

/* Members of a validated zset listpack must be ordered by (score, member). */
static int zset_lp_ordered(unsigned char *lp)
{
    unsigned char *prev = NULL;
    double prev_score = 0;
    for (unsigned char *p = listpack_first(lp); p != NULL;) {
        unsigned char *sp = listpack_next(lp, p);
        double score = lp_score(sp);
        if (isnan(score))
            return 0;
        if (prev != NULL) {
            char b1[LISTPACK_INTBUF], b2[LISTPACK_INTBUF];
            size_t l1, l2;
            const char *m1 = listpack_get_str(prev, b1, &l1);
            const char *m2 = listpack_get_str(p, b2, &l2);
            size_t k = l1 < l2 ? l1 : l2;
            int c = k ? memcmp(m1, m2, k) : 0;
            if (score < prev_score || (score == prev_score && (c > 0 || (c == 0 && l1 >= l2))))
                return 0;
        }
        prev = p;
        prev_score = score;
        p = listpack_next(lp, sp);
    }
    return 1;
}

static int load_zset_blob(rdb_reader_t *r, int type, kv_val_t *out)
{
    unsigned char *blob, *lp;
    size_t len;
    if (rd_blob(r, &blob, &len) != 0)
        return RDB_ERR;
    if (type == RDB_TYPE_ZSET_ZIPLIST) {
        lp = rdb_ziplist_to_listpack(blob, len, 1);
        mem_free(blob);
        if (lp == NULL)
            return rdb_reader_fail(r, "Zset ziplist integrity check failed");
        len = listpack_bytes(lp);
    } else {
        lp = blob;
    }
    if (!zset_listpack_validate(lp, len) || !zset_lp_ordered(lp)) {
        listpack_free(lp);
        return rdb_reader_fail(r, "Zset listpack integrity check failed");
    }
    zset_t z = {ENC_LISTPACK, lp};
    size_t max_entries, max_value;
    zset_get_limits(&max_entries, &max_value);
    if (zset_len(&z) == 0) {
        listpack_free(lp);
        return RDB_EMPTY;
    }
    if (zset_len(&z) > max_entries)
        zset_convert(&z, ENC_SKIPLIST);
    *out = kv_val_ptr(OBJ_ZSET, z.enc, z.ptr);
    return RDB_OK;
}

/* ---- hashes ---------------------------------------------------------------------------------- */

static int load_hash_plain(rdb_reader_t *r, kv_val_t *out)
{
    uint64_t n;
    size_t max_entries, max_value;
    if (rd_count(r, &n, 2) != 0)
        return RDB_ERR;
    if (n == 0)
        return RDB_EMPTY;
    thash_t h;
    thash_init(&h);
    thash_get_limits(&max_entries, &max_value);
    if (n > max_entries)
        thash_convert(&h, ENC_HT);
    for (uint64_t i = 0; i < n; i++) {
        rdb_str_t f, v;
        if (rd_str(r, &f) != 0)
            goto fail;
        if (rd_str(r, &v) != 0) {
            rd_str_free(&f);
            goto fail;
        }
        int added = thash_set(&h, f.p, f.len, v.p, v.len, 0);
        rd_str_free(&f);
        rd_str_free(&v);
        if (!added) {
            rd_fail(r, "Duplicate hash fields detected");
            goto fail;
        }
    }
    *out = kv_val_ptr(OBJ_HASH, h.enc, h.ptr);
    return RDB_OK;
fail:
    thash_deinit(&h);
    return RDB_ERR;
}

/* Length of the longest string entry of a listpack (integers count 0). */
static size_t lp_longest(unsigned char *lp)
{
    size_t max = 0;
    for (unsigned char *p = listpack_first(lp); p != NULL; p = listpack_next(lp, p)) {
        listpack_val_t v;
        listpack_get(p, &v);
        if (v.s != NULL && v.len > max)
            max = v.len;
    }
    return max;
}

static int load_hash_blob(rdb_reader_t *r, int type, kv_val_t *out)
{
    unsigned char *blob, *lp = NULL;
    size_t len;
    if (rd_blob(r, &blob, &len) != 0)
        return RDB_ERR;
    if (type == RDB_TYPE_HASH_LISTPACK) {
        lp = blob;
    } else {
        lp = type == RDB_TYPE_HASH_ZIPMAP ? rdb_zipmap_to_listpack(blob, len)
                                          : rdb_ziplist_to_listpack(blob, len, 1);
        mem_free(blob);
        len = lp != NULL ? listpack_bytes(lp) : 0;
    }
    if (lp == NULL || !thash_listpack_validate(lp, len)) {
        listpack_free(lp);
        return rdb_reader_fail(r, "Hash integrity check failed");
    }
    thash_t h = {ENC_LISTPACK, lp};
    size_t max_entries, max_value;
    thash_get_limits(&max_entries, &max_value);
    if (thash_len(&h) == 0) {
        listpack_free(lp);
        return RDB_EMPTY;
    }
    /* Zipmaps also convert when a field or value is too long (Redis 7.0). */
    if (thash_len(&h) > max_entries || (type == RDB_TYPE_HASH_ZIPMAP && lp_longest(lp) > max_value))
        thash_convert(&h, ENC_HT);
    *out = kv_val_ptr(OBJ_HASH, h.enc, h.ptr);
    return RDB_OK;
}

/* ---- dispatch
 * ------------------------------------------------------------------------------------ */

int rdb_read_object(rdb_reader_t *r, int type, kv_val_t *out)
{
    memset(out, 0, sizeof(*out));
    switch (type) {
    case RDB_TYPE_STRING:
        return rd_string_val(r, out) == 0 ? RDB_OK : RDB_ERR;
    case RDB_TYPE_LIST:
        return load_list_plain(r, out);
    case RDB_TYPE_LIST_ZIPLIST:
        return load_list_ziplist(r, out);
    case RDB_TYPE_LIST_QUICKLIST:
    case RDB_TYPE_LIST_QUICKLIST_2:
        return load_quicklist(r, type, out);
    case RDB_TYPE_SET:
        return load_set_plain(r, out);
    case RDB_TYPE_SET_INTSET:
        return load_intset(r, out);
    case RDB_TYPE_ZSET:
    case RDB_TYPE_ZSET_2:
        return load_zset_plain(r, type, out);
    case RDB_TYPE_ZSET_ZIPLIST:
    case RDB_TYPE_ZSET_LISTPACK:
        return load_zset_blob(r, type, out);
    case RDB_TYPE_HASH:
        return load_hash_plain(r, out);
    case RDB_TYPE_HASH_ZIPMAP:
    case RDB_TYPE_HASH_ZIPLIST:
    case RDB_TYPE_HASH_LISTPACK:
        return load_hash_blob(r, type, out);
    case RDB_TYPE_MODULE:
    case RDB_TYPE_MODULE_2:
        return rdb_reader_fail(r, "Module values are not supported");
    case RDB_TYPE_STREAM_LISTPACKS:
    case RDB_TYPE_STREAM_LISTPACKS_2:
        return rdb_reader_fail(r, "Stream values are not supported");
    default:
        return rdb_reader_fail(r, "Unknown RDB object type %d", type);
    }
}
