/*
 * rdb_load.c — the file-level RDB decoder: magic and version, the opcode
 * stream (aux fields, SELECTDB, RESIZEDB, expire times, IDLE/FREQ), keys
 * handed to callbacks, EOF and the CRC-64 trailer; loading into a keyspace;
 * DUMP payload checks and decoding; the LRU/LFU value of a restored key.
 *
 * Must not: log, read clocks (now_ms is a parameter), or keep a key the
 * callback refused.
 * Invariants: every key's value goes either to the key callback (which owns
 * it) or is freed here; expire/IDLE/FREQ apply to the next key only.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "ks/db.h"
#include "lib/crc64.h"
#include "lib/util.h"
#include "persist/rdb_int.h"

/* Per-key prefix state (reset after each key). */
typedef struct key_prefix_s {
    long long expire, idle;
    int freq;
} key_prefix_t;

static int read_magic(rdb_reader_t *r, int *version)
{
    char m[9];
    if (rd_bytes(r, m, 9) != 0)
        return -1;
    if (memcmp(m, "REDIS", 5) != 0)
        return rd_fail(r, "Wrong signature trying to load DB from file");
    int v = 0;
    for (int i = 5; i < 9; i++) {
        if (m[i] < '0' || m[i] > '9')
            return rd_fail(r, "Wrong signature trying to load DB from file");
        v = v * 10 + (m[i] - '0');
    }
    if (v < 1 || v > RDB_VERSION)
        return rd_fail(r, "Can't handle RDB format version %d", v);
    *version = v;
    return 0;
}

static int read_le(rdb_reader_t *r, int bytes, uint64_t *v)
{
    unsigned char b[8];
    if (rd_bytes(r, b, (size_t)bytes) != 0)
        return -1;
    *v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        *v = *v << 8 | b[i];
    return 0;
}

static int read_aux(rdb_reader_t *r, const rdb_load_cb_t *cb, void *arg)
{
    rdb_str_t k, v;
    if (rd_str(r, &k) != 0)
        return -1;
    if (rd_str(r, &v) != 0) {
        rd_str_free(&k);
        return -1;
    }
    if (cb->aux != NULL)
        cb->aux(arg, slice_make(k.p, k.len), slice_make(v.p, v.len));
    rd_str_free(&k);
    rd_str_free(&v);
    return 0;
}

static int read_select(rdb_reader_t *r, const rdb_load_cb_t *cb, void *arg, int *db)
{
    uint64_t id;
    if (rd_len(r, &id, NULL) != 0)
        return -1;
    if (id > INT_MAX)
        return rd_fail(r, "Database id %llu out of range", (unsigned long long)id);
    if (cb->select_db != NULL && cb->select_db(arg, (int)id) != 0)
        return rd_fail(r, "Database %llu refused", (unsigned long long)id);
    *db = (int)id;
    return 0;
}

static int read_resize(rdb_reader_t *r, const rdb_load_cb_t *cb, void *arg, int db)
{
    uint64_t keys, expires;
    if (rd_len(r, &keys, NULL) != 0 || rd_len(r, &expires, NULL) != 0)
        return -1;
    if (cb->resize_db != NULL)
        cb->resize_db(arg, db, keys, expires);
    return 0;
}

static int is_object_type(unsigned t)
{
    return t <= RDB_TYPE_MODULE_2 ||
           (t >= RDB_TYPE_HASH_ZIPMAP && t <= RDB_TYPE_STREAM_LISTPACKS_2);
}

/* One key of type t: its name, its value, the callback. */
static int read_key(rdb_reader_t *r, unsigned t, int db, const key_prefix_t *pre,
                    const rdb_load_cb_t *cb, void *arg)
{
    rdb_str_t key;
    if (rd_str(r, &key) != 0)
        return -1;
    rdb_key_t k = {.db = db,
                   .key = slice_make(key.p, key.len),
                   .expire = pre->expire,
                   .idle_s = pre->idle,
                   .freq = pre->freq};
    int rc = rdb_read_object(r, (int)t, &k.val);
    if (rc == RDB_EMPTY) {
        if (cb->empty_key != NULL)
            cb->empty_key(arg, db, k.key);
        rc = 0;
    } else if (rc == RDB_OK) {
        rc = cb->key(arg, &k) == 0 ? 0 : -1;
        if (rc != 0)
            rd_fail(r, "Key refused by the loader");
    }
    rd_str_free(&key);
    return rc;
}

/* One opcode or key. 1 at EOF, 0 to continue, -1 on error. */
static int read_item(rdb_reader_t *r, const rdb_load_cb_t *cb, void *arg, int *db,
                     key_prefix_t *pre)
{
    unsigned t;
    uint64_t v;
    if (rd_u8(r, &t) != 0)
        return -1;
    switch (t) {
    case RDB_OPCODE_EOF:
        return 1;
    case RDB_OPCODE_EXPIRETIME:
        if (read_le(r, 4, &v) != 0)
            return -1;
        pre->expire = (long long)v * 1000;
        return 0;
    case RDB_OPCODE_EXPIRETIME_MS:
        if (read_le(r, 8, &v) != 0)
            return -1;
        pre->expire = (long long)v;
        return 0;
    case RDB_OPCODE_FREQ:
        if (rd_u8(r, &t) != 0)
            return -1;
        pre->freq = (int)t;
        return 0;
    case RDB_OPCODE_IDLE:
        if (rd_len(r, &v, NULL) != 0)
            return -1;
        pre->idle = v > LLONG_MAX ? LLONG_MAX : (long long)v;
        return 0;
    case RDB_OPCODE_SELECTDB:
        return read_select(r, cb, arg, db);
    case RDB_OPCODE_RESIZEDB:
        return read_resize(r, cb, arg, *db);
    case RDB_OPCODE_AUX:
        return read_aux(r, cb, arg);
    case RDB_OPCODE_MODULE_AUX:
        return rd_fail(r, "The RDB file contains module data, which is not supported");
    case RDB_OPCODE_FUNCTION:
    case RDB_OPCODE_FUNCTION2:
        return rd_fail(r, "The RDB file contains functions, which are not supported");
    default:
        break;
    }
    if (!is_object_type(t))
        return rd_fail(r, "Unknown RDB type %u", t);
    int rc = read_key(r, t, *db, pre, cb, arg);
    *pre = (key_prefix_t){-1, -1, -1};
    return rc;
}

int rdb_load(rdb_reader_t *r, const rdb_load_cb_t *cb, void *arg, int *version)
{
    int ver = 0, db = 0, rc;
    key_prefix_t pre = {-1, -1, -1};
    if (read_magic(r, &ver) != 0)
        return RDB_ERR;
    while ((rc = read_item(r, cb, arg, &db, &pre)) == 0)
        ;
    if (rc < 0)
        return RDB_ERR;
    if (ver >= 5) {
        uint64_t expected = rd_crc(r), stored;
        if (read_le(r, 8, &stored) != 0)
            return RDB_ERR;
        if (stored != 0 && stored != expected)
            return rdb_reader_fail(r, "Wrong RDB checksum expected: (%016llx) got: (%016llx)",
                                   (unsigned long long)stored, (unsigned long long)expected);
    }
    if (version != NULL)
        *version = ver;
    return RDB_OK;
}

/* ---- loading into a keyspace ------------------------------------------------------- */

typedef struct ks_loader_s {
    rdb_reader_t *r;
    ks_t *ks;
    uint64_t now_ms;
    int drop_expired;
    rdb_load_stats_t *st;
} ks_loader_t;

static long long slice_ll(slice_t v, long long dflt)
{
    long long x;
    return str_to_ll(v.p, v.len, &x) ? x : dflt;
}

static void copy_text(char *dst, size_t cap, slice_t v)
{
    size_t n = v.len < cap - 1 ? v.len : cap - 1;
    memcpy(dst, v.p, n);
    dst[n] = '\0';
}

static void ld_aux(void *arg, slice_t name, slice_t v)
{
    rdb_load_stats_t *st = ((ks_loader_t *)arg)->st;
    if (slice_eq(name, SLICE_LIT("redis-ver")))
        copy_text(st->redis_ver, sizeof(st->redis_ver), v);
    else if (slice_eq(name, SLICE_LIT("ctime")))
        st->ctime_s = slice_ll(v, -1);
    else if (slice_eq(name, SLICE_LIT("used-mem")))
        st->used_mem = slice_ll(v, -1);
    else if (slice_eq(name, SLICE_LIT("aof-base")) || slice_eq(name, SLICE_LIT("aof-preamble")))
        st->aof_base = (int)slice_ll(v, 0);
    else if (slice_eq(name, SLICE_LIT("repl-id")) && v.len == 40)
        copy_text(st->repl_id, sizeof(st->repl_id), v);
    else if (slice_eq(name, SLICE_LIT("repl-offset")))
        st->repl_offset = slice_ll(v, -1);
    else if (slice_eq(name, SLICE_LIT("repl-stream-db")))
        st->repl_stream_db = (int)slice_ll(v, -1);
}

static int ld_select(void *arg, int db)
{
    ks_loader_t *l = arg;
    if (db >= ks_ndbs(l->ks)) {
        rdb_reader_fail(l->r,
                        "Data file was created with a server configured to handle more "
                        "than %d databases",
                        ks_ndbs(l->ks));
        return -1;
    }
    return 0;
}

static int ld_key(void *arg, rdb_key_t *k)
{
    ks_loader_t *l = arg;
    db_t *db = ks_db(l->ks, k->db);
    if (l->drop_expired && k->expire >= 0 && k->expire < (long long)l->now_ms) {
        rdb_val_free(&k->val);
        l->st->keys_expired++;
        return 0;
    }
    if (db_find(db, k->key) != NULL) {
        int n = (int)(k->key.len > 64 ? 64 : k->key.len);
        rdb_reader_fail(l->r, "RDB has duplicated key '%.*s' in DB %d", n, k->key.p, k->db);
        rdb_val_free(&k->val);
        return -1;
    }
    kv_t *kv = db_add(db, k->key, &k->val, k->expire, l->now_ms);
    uint32_t lru;
    if (rdb_lru_value(ks_policy(l->ks), k->idle_s, k->freq, l->now_ms, &lru))
        kv->lru = lru & KV_LRU_MAX;
    l->st->keys_loaded++;
    return 0;
}

static void ld_empty(void *arg, int db, slice_t key)
{
    (void)db;
    (void)key;
    ((ks_loader_t *)arg)->st->empty_skipped++;
}

int rdb_load_ks(rdb_reader_t *r, ks_t *ks, uint64_t now_ms, int drop_expired, rdb_load_stats_t *st)
{
    memset(st, 0, sizeof(*st));
    st->ctime_s = st->used_mem = st->repl_offset = -1;
    st->aof_base = st->repl_stream_db = -1;
    ks_loader_t l = {r, ks, now_ms, drop_expired, st};
    static const rdb_load_cb_t cb = {
        .aux = ld_aux, .select_db = ld_select, .key = ld_key, .empty_key = ld_empty};
    int ver = 0;
    int rc = rdb_load(r, &cb, &l, &ver);
    st->version = ver;
    return rc;
}

/* ---- DUMP payloads ------------------------------------------------------------------------ */

int rdb_dump_verify(const unsigned char *p, size_t len)
{
    if (len < 10)
        return -1;
    const unsigned char *f = p + len - 10;
    unsigned ver = (unsigned)f[0] | (unsigned)f[1] << 8;
    if (ver > RDB_VERSION)
        return -1;
    uint64_t stored = 0;
    for (int i = 7; i >= 0; i--)
        stored = stored << 8 | f[2 + i];
    return crc64_jones(0, p, len - 8) == stored ? 0 : -1;
}

int rdb_dump_decode(rdb_reader_t *r, const unsigned char *p, size_t len, int list_fill,
                    kv_val_t *out)
{
    rdb_reader_init_mem(r, p, len >= 10 ? len - 10 : 0);
    r->list_fill = list_fill;
    unsigned t;
    if (len < 10)
        return rdb_reader_fail(r, "Payload too short");
    if (rd_u8(r, &t) != 0)
        return RDB_ERR;
    if (!is_object_type(t))
        return rdb_reader_fail(r, "Unknown RDB type %u", t);
    return rdb_read_object(r, (int)t, out);
}

/* ---- LRU / LFU of a restored key --------------------------------------------------------------
 */

int rdb_lru_value(int policy, long long idle_s, int freq, uint64_t now_ms, uint32_t *lru)
{
    if (policy == KS_POLICY_LFU) {
        if (freq < 0)
            return 0;
        uint32_t minutes = (uint32_t)((now_ms / 60000) & 65535);
        *lru = minutes << 8 | (uint32_t)(freq & 255);
        return 1;
    }
    if (idle_s < 0)
        return 0;
    long long clock = (long long)kv_lru_clock(now_ms);
    long long abs = clock - idle_s;
    if (abs < 0)
        abs = (clock + KV_LRU_MAX / 2) % KV_LRU_MAX;
    *lru = (uint32_t)abs;
    return 1;
}
