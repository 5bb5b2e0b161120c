/*
 * rdb_enc.c — the RDB writer: the buffered sink with its running CRC-64,
 * length/string/double encodings, every value's object encoding, keys with
 * their expire/LRU/LFU prefix, the header with aux fields, whole databases,
 * the footer, and DUMP payloads.
 *
 * Must not: do I/O itself (bytes leave through the writer's callback), read
 * clocks (now_ms comes in rdb_save_info_t), or change the values it walks
 * (a forked child walks the parent's memory).
 * Invariants: w->crc covers exactly the bytes handed to the sink, in order;
 * staged bytes join the CRC when they are flushed; after a failed write the
 * writer drops everything and every call returns -1.
 */
#include <stdio.h>
#include <string.h>

#include "ks/db.h"
#include "ks/intset.h"
#include "ks/listpack.h"
#include "ks/quicklist.h"
#include "ks/thash.h"
#include "ks/tset.h"
#include "ks/zset.h"
#include "lib/crc64.h"
#include "lib/mem.h"
#include "lib/util.h"
#include "persist/rdb_int.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the RDB codec assumes a little-endian host (binary doubles, u64 fields)"
#endif

#define WRITER_BUF (64 * 1024)

/* ---- the sink ------------------------------------------------------------------ */

void rdb_writer_init(rdb_writer_t *w, rdb_write_fn fn, void *arg, unsigned flags)
{
    memset(w, 0, sizeof(*w));
    w->write = fn;
    w->arg = arg;
    w->flags = flags;
    w->cap = WRITER_BUF;
    w->buf = mem_alloc(w->cap);
}

void rdb_writer_deinit(rdb_writer_t *w)
{
    mem_free(w->buf);
    mem_free(w->zbuf);
    if (w->lzf != NULL)
        rdb_lzf_free(w->lzf);
    memset(w, 0, sizeof(*w));
}

static int sink(rdb_writer_t *w, const void *p, size_t n)
{
    w->crc = crc64_jones(w->crc, p, n);
    if (w->write(w->arg, p, n) != 0) {
        w->failed = 1;
        return -1;
    }
    return 0;
}

int rdb_writer_flush(rdb_writer_t *w)
{
    if (w->failed)
        return -1;
    if (w->used > 0) {
        size_t n = w->used;
        w->used = 0;
        return sink(w, w->buf, n);
    }
    return 0;
}

int rdb_write_raw(rdb_writer_t *w, const void *p, size_t n)
{
    if (w->failed)
        return -1;
    w->total += n;
    if (n <= w->cap - w->used) {
        memcpy(w->buf + w->used, p, n);
        w->used += n;
        return 0;
    }
    if (rdb_writer_flush(w) != 0)
        return -1;
    if (n >= w->cap)
        return sink(w, p, n);
    memcpy(w->buf, p, n);
    w->used = n;
    return 0;
}

int rdb_membuf_write(void *arg, const void *p, size_t n)
{
    rdb_membuf_t *m = arg;
    if (n > m->cap - m->len) {
        size_t cap = m->cap ? m->cap : 256;
        while (cap - m->len < n)
            cap *= 2;
        m->p = mem_realloc(m->p, cap);
        m->cap = cap;
    }
    memcpy(m->p + m->len, p, n);
    m->len += n;
    return 0;
}

/* ---- primitives ------------------------------------------------------------------ */

static int wr_u8(rdb_writer_t *w, unsigned v)
{
    unsigned char b = (unsigned char)v;
    return rdb_write_raw(w, &b, 1);
}

static int wr_le(rdb_writer_t *w, uint64_t v, int bytes)
{
    unsigned char b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    return rdb_write_raw(w, b, (size_t)bytes);
}

static int wr_len(rdb_writer_t *w, uint64_t len)
{
    unsigned char b[9];
    size_t n;
    if (len < (1u << 6)) {
        b[0] = (unsigned char)len;
        n = 1;
    } else if (len < (1u << 14)) {
        b[0] = (unsigned char)(RDB_14BITLEN << 6 | len >> 8);
        b[1] = (unsigned char)len;
        n = 2;
    } else if (len <= UINT32_MAX) {
        b[0] = RDB_32BITLEN;
        for (int i = 0; i < 4; i++)
            b[1 + i] = (unsigned char)(len >> (24 - 8 * i));
        n = 5;
    } else {
        b[0] = RDB_64BITLEN;
        for (int i = 0; i < 8; i++)
            b[1 + i] = (unsigned char)(len >> (56 - 8 * i));
        n = 9;
    }
    return rdb_write_raw(w, b, n);
}

/* The integer forms (8/16/32 bits). Returns 1 if v was written that way,
 * 0 if it does not fit, -1 on write error. */
static int wr_int_enc(rdb_writer_t *w, long long v)
{
    unsigned char b[5];
    size_t n;
    if (v >= INT8_MIN && v <= INT8_MAX) {
        b[0] = RDB_ENCVAL << 6 | RDB_ENC_INT8;
        b[1] = (unsigned char)v;
        n = 2;
    } else if (v >= INT16_MIN && v <= INT16_MAX) {
        b[0] = RDB_ENCVAL << 6 | RDB_ENC_INT16;
        b[1] = (unsigned char)v;
        b[2] = (unsigned char)(v >> 8);
        n = 3;
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        b[0] = RDB_ENCVAL << 6 | RDB_ENC_INT32;
        for (int i = 0; i < 4; i++)
            b[1 + i] = (unsigned char)((unsigned long long)v >> (8 * i));
        n = 5;
    } else {
        return 0;
    }
    return rdb_write_raw(w, b, n) == 0 ? 1 : -1;
}

/* LZF form when it saves at least 4 bytes (Redis's rule). 1 written, 0 not
 * worth it, -1 write error. */
static int wr_lzf(rdb_writer_t *w, const unsigned char *p, size_t len)
{
    if (len <= 4 || len >= UINT32_MAX)
        return 0;
    size_t outcap = len - 4;
    if (w->zcap < outcap) {
        mem_free(w->zbuf);
        w->zbuf = mem_alloc(outcap);
        w->zcap = outcap;
    }
    if (w->lzf == NULL)
        w->lzf = rdb_lzf_new();
    size_t clen = rdb_lzf_compress(w->lzf, p, len, w->zbuf, outcap);
    if (clen == 0)
        return 0;
    if (wr_u8(w, RDB_ENCVAL << 6 | RDB_ENC_LZF) != 0 || wr_len(w, clen) != 0 ||
        wr_len(w, len) != 0 || rdb_write_raw(w, w->zbuf, clen) != 0)
        return -1;
    return 1;
}

/* A string as Redis writes it: short canonical integers in integer form,
 * long strings LZF-compressed when that helps and compression is on. */
static int wr_string(rdb_writer_t *w, const void *p, size_t len)
{
    long long v;
    int rc;
    if (len <= 11 && len > 0 && str_to_ll(p, len, &v) && (rc = wr_int_enc(w, v)) != 0)
        return rc < 0 ? -1 : 0;
    if ((w->flags & RDB_W_COMPRESS) && len > 20 && (rc = wr_lzf(w, p, len)) != 0)
        return rc < 0 ? -1 : 0;
    if (wr_len(w, len) != 0)
        return -1;
    return rdb_write_raw(w, p, len);
}

static int wr_string_ll(rdb_writer_t *w, long long v)
{
    int rc = wr_int_enc(w, v);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    char buf[LL_STR_MAX];
    size_t n = ll_to_str(buf, v);
    if (wr_len(w, n) != 0)
        return -1;
    return rdb_write_raw(w, buf, n);
}

static int wr_cstr(rdb_writer_t *w, const char *s)
{
    return wr_string(w, s, strlen(s));
}

static int wr_lpval(rdb_writer_t *w, const listpack_val_t *v)
{
    return v->s ? wr_string(w, v->s, v->len) : wr_string_ll(w, v->v);
}

static int wr_double_bin(rdb_writer_t *w, double d)
{
    unsigned char b[8];
    memcpy(b, &d, 8);
    return rdb_write_raw(w, b, 8);
}

/* ---- objects ----------------------------------------------------------------------- */

int rdb_object_type(const kv_t *kv)
{
    switch (kv->type) {
    case OBJ_STRING:
        return RDB_TYPE_STRING;
    case OBJ_LIST:
        return RDB_TYPE_LIST_QUICKLIST_2;
    case OBJ_SET:
        return kv->enc == ENC_INTSET ? RDB_TYPE_SET_INTSET : RDB_TYPE_SET;
    case OBJ_ZSET:
        return kv->enc == ENC_LISTPACK ? RDB_TYPE_ZSET_LISTPACK : RDB_TYPE_ZSET_2;
    case OBJ_HASH:
        return kv->enc == ENC_LISTPACK ? RDB_TYPE_HASH_LISTPACK : RDB_TYPE_HASH;
    default:
        return -1;
    }
}

static int wr_obj_string(rdb_writer_t *w, const kv_t *kv)
{
    if (kv->enc == ENC_INT)
        return wr_string_ll(w, kv_int(kv));
    char tmp[32];
    slice_t s = kv_str(kv, tmp);
    return wr_string(w, s.p, s.len);
}

static int wr_obj_list(rdb_writer_t *w, const kv_t *kv)
{
    const quicklist_t *ql = kv_ptr(kv);
    if (wr_len(w, ql->len) != 0)
        return -1;
    for (const quicklist_node_t *n = ql->head; n != NULL; n = n->next)
        if (wr_len(w, RDB_QL_PACKED) != 0 || wr_string(w, n->lp, listpack_bytes(n->lp)) != 0)
            return -1;
    return 0;
}

static int wr_obj_set(rdb_writer_t *w, const kv_t *kv)
{
    if (kv->enc == ENC_INTSET) {
        const intset_t *is = kv_ptr(kv);
        return wr_string(w, intset_raw(is), intset_bytes(is));
    }
    tset_t s = {kv->enc, kv_ptr(kv)};
    if (wr_len(w, tset_len(&s)) != 0)
        return -1;
    tset_iter_t it;
    listpack_val_t m;
    int rc = 0;
    tset_iter_init(&it, &s);
    while (rc == 0 && tset_iter_next(&it, &m))
        rc = wr_lpval(w, &m);
    tset_iter_deinit(&it);
    return rc;
}

static int wr_obj_zset(rdb_writer_t *w, const kv_t *kv)
{
    if (kv->enc == ENC_LISTPACK) {
        const unsigned char *lp = kv_ptr(kv);
        return wr_string(w, lp, listpack_bytes(lp));
    }
    zset_t z = {kv->enc, kv_ptr(kv)};
    if (wr_len(w, zset_len(&z)) != 0)
        return -1;
    /* From the highest score down, as Redis writes it. */
    zset_iter_t it;
    zset_elem_t e;
    if (!zset_iter_rank(&it, &z, 0, 1))
        return 0;
    while (zset_iter_next(&it, &e))
        if (wr_string(w, e.m, e.mlen) != 0 || wr_double_bin(w, e.score) != 0)
            return -1;
    return 0;
}

static int wr_obj_hash(rdb_writer_t *w, const kv_t *kv)
{
    if (kv->enc == ENC_LISTPACK) {
        const unsigned char *lp = kv_ptr(kv);
        return wr_string(w, lp, listpack_bytes(lp));
    }
    thash_t h = {kv->enc, kv_ptr(kv)};
    if (wr_len(w, thash_len(&h)) != 0)
        return -1;
    thash_iter_t it;
    listpack_val_t f, v;
    int rc = 0;
    thash_iter_init(&it, &h);
    while (rc == 0 && thash_iter_next(&it, &f, &v))
        rc = (wr_lpval(w, &f) != 0 || wr_lpval(w, &v) != 0) ? -1 : 0;
    thash_iter_deinit(&it);
    return rc;
}

int rdb_write_object(rdb_writer_t *w, const kv_t *kv)
{
    switch (kv->type) {
    case OBJ_STRING:
        return wr_obj_string(w, kv);
    case OBJ_LIST:
        return wr_obj_list(w, kv);
    case OBJ_SET:
        return wr_obj_set(w, kv);
    case OBJ_ZSET:
        return wr_obj_zset(w, kv);
    case OBJ_HASH:
        return wr_obj_hash(w, kv);
    default:
        w->failed = 1; /* a type the format has no encoding for here */
        return -1;
    }
}

/* ---- keys, databases, the file ---------------------------------------------------------- */

int rdb_write_key(rdb_writer_t *w, const kv_t *kv, const struct ks_s *ks,
                  const rdb_save_info_t *info)
{
    int type = rdb_object_type(kv);
    if (type < 0) {
        w->failed = 1;
        return -1;
    }
    if (kv->has_expire &&
        (wr_u8(w, RDB_OPCODE_EXPIRETIME_MS) != 0 || wr_le(w, (uint64_t)kv_expire(kv), 8) != 0))
        return -1;
    if (info->policy == KS_POLICY_LRU) {
        if (wr_u8(w, RDB_OPCODE_IDLE) != 0 || wr_len(w, kv_idle_ms(kv, info->now_ms) / 1000) != 0)
            return -1;
    } else if (info->policy == KS_POLICY_LFU && ks != NULL) {
        if (wr_u8(w, RDB_OPCODE_FREQ) != 0 || wr_u8(w, ks_lfu_freq(ks, kv, info->now_ms)) != 0)
            return -1;
    }
    slice_t key = kv_key(kv);
    if (wr_u8(w, (unsigned)type) != 0 || wr_string(w, key.p, key.len) != 0)
        return -1;
    return rdb_write_object(w, kv);
}

static int wr_aux_str(rdb_writer_t *w, const char *k, const char *v)
{
    if (wr_u8(w, RDB_OPCODE_AUX) != 0 || wr_cstr(w, k) != 0)
        return -1;
    return wr_cstr(w, v);
}

static int wr_aux_ll(rdb_writer_t *w, const char *k, long long v)
{
    if (wr_u8(w, RDB_OPCODE_AUX) != 0 || wr_cstr(w, k) != 0)
        return -1;
    return wr_string_ll(w, v);
}

int rdb_write_header(rdb_writer_t *w, const rdb_save_info_t *info)
{
    char magic[16];
    snprintf(magic, sizeof(magic), "REDIS%04d", RDB_VERSION);
    if (rdb_write_raw(w, magic, 9) != 0 || wr_aux_str(w, "redis-ver", RDB_REDIS_VER) != 0 ||
        wr_aux_ll(w, "redis-bits", (long long)(sizeof(void *) * 8)) != 0 ||
        wr_aux_ll(w, "ctime", info->ctime_s) != 0 ||
        wr_aux_ll(w, "used-mem", (long long)info->used_mem) != 0)
        return -1;
    if (info->repl_id != NULL && (wr_aux_ll(w, "repl-stream-db", info->repl_stream_db) != 0 ||
                                  wr_aux_str(w, "repl-id", info->repl_id) != 0 ||
                                  wr_aux_ll(w, "repl-offset", info->repl_offset) != 0))
        return -1;
    return wr_aux_ll(w, "aof-base", info->aof_base ? 1 : 0);
}

int rdb_write_db(rdb_writer_t *w, struct db_s *db, const rdb_save_info_t *info)
{
    if (db_size(db) == 0)
        return w->failed ? -1 : 0;
    if (wr_u8(w, RDB_OPCODE_SELECTDB) != 0 || wr_len(w, (uint64_t)db->id) != 0 ||
        wr_u8(w, RDB_OPCODE_RESIZEDB) != 0 || wr_len(w, db_size(db)) != 0 ||
        wr_len(w, db_expires(db)) != 0)
        return -1;
    db_iter_t it;
    kv_t *kv;
    int rc = 0;
    db_iter_init(&it, db);
    while (rc == 0 && (kv = db_iter_next(&it)) != NULL)
        rc = rdb_write_key(w, kv, db->ks, info);
    db_iter_deinit(&it);
    return rc;
}

int rdb_write_footer(rdb_writer_t *w)
{
    if (wr_u8(w, RDB_OPCODE_EOF) != 0 || rdb_writer_flush(w) != 0)
        return -1;
    uint64_t crc = (w->flags & RDB_W_CHECKSUM) ? w->crc : 0;
    if (wr_le(w, crc, 8) != 0)
        return -1;
    return rdb_writer_flush(w);
}

int rdb_save_ks(rdb_writer_t *w, struct ks_s *ks, const rdb_save_info_t *info)
{
    if (rdb_write_header(w, info) != 0)
        return -1;
    for (int i = 0; i < ks_ndbs(ks); i++)
        if (rdb_write_db(w, ks_db(ks, i), info) != 0)
            return -1;
    return rdb_write_footer(w);
}

unsigned char *rdb_dump_payload(const kv_t *kv, int compress, size_t *len)
{
    rdb_membuf_t m = {0};
    rdb_writer_t w;
    rdb_writer_init(&w, rdb_membuf_write, &m, compress ? RDB_W_COMPRESS : 0);
    int type = rdb_object_type(kv);
    unsigned char ver[2] = {RDB_VERSION & 0xff, RDB_VERSION >> 8};
    if (type >= 0) {
        wr_u8(&w, (unsigned)type);
        rdb_write_object(&w, kv);
    }
    rdb_write_raw(&w, ver, 2);
    rdb_writer_flush(&w);
    wr_le(&w, w.crc, 8);
    rdb_writer_flush(&w);
    rdb_writer_deinit(&w);
    *len = m.len;
    return m.p;
}
