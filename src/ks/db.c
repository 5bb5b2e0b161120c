/*
 * db.c — one database: tables of kv_t, the volatile index, lazy expiry and
 * the operations of db.h.
 *
 * Must not: write replies, read clocks, propagate (hooks do that upstairs).
 * Invariants (see db.h): nkeys == sum of table sizes; an entry is in vol[]
 * iff it has a TTL and vol[kv_vol_idx(e)] == e. Every change of a key fires
 * the touch hook once, after the change, with the key bytes still valid.
 * Hooks must not modify the keyspace.
 */
#include "ks_int.h"

#include "../lib/crc16.h"
#include "../lib/mem.h"

#define DB_SCAN_SLOT_SHIFT 48
#define DB_SCAN_INNER_MASK ((1ULL << DB_SCAN_SLOT_SHIFT) - 1)
#define DB_RANDOM_HIDDEN_TRIES 100

static inline dict_t *db_dict(db_t *db, slice_t key)
{
    if (db->ntables == 1)
        return &db->tables[0];
    return &db->tables[key_hash_slot(key.p, key.len)];
}

static inline void db_touch(db_t *db, slice_t key)
{
    ks_t *ks = db->ks;
    if (ks->touch)
        ks->touch(ks->touch_arg, db->id, key);
}

void db_init(db_t *db, ks_t *ks, int id, int ntables)
{
    memset(db, 0, sizeof *db);
    db->ks = ks;
    db->id = id;
    db->ntables = ntables;
    db->tables = mem_alloc(sizeof(dict_t) * (size_t)ntables);
    for (int i = 0; i < ntables; i++)
        dict_init(&db->tables[i], &kv_dict_type);
}

static void db_free_entry(dict_node_t *n, void *arg)
{
    (void)arg;
    kv_free((kv_t *)n);
}

/* Free every entry and the tables' bucket arrays; tables stay usable. */
static void db_clear(db_t *db)
{
    for (int i = 0; i < db->ntables; i++) {
        dict_t *d = &db->tables[i];
        if (dict_size(d) == 0 && dict_buckets(d) == 0)
            continue;
        dict_deinit(d, db_free_entry, NULL);
        dict_init(d, &kv_dict_type);
    }
    mem_free(db->vol);
    db->vol = NULL;
    db->nvol = db->vol_cap = db->vol_cursor = 0;
    db->nkeys = 0;
    db->avg_ttl = 0;
}

void db_deinit(db_t *db)
{
    db_clear(db);
    mem_free(db->tables);
    db->tables = NULL;
}

/* ---- the volatile index ---------------------------------------------------- */

static void vol_add(db_t *db, kv_t *kv)
{
    if (db->nvol == db->vol_cap) {
        db->vol_cap = db->vol_cap ? db->vol_cap * 2 : 16;
        db->vol = mem_realloc(db->vol, db->vol_cap * sizeof(kv_t *));
    }
    kv_set_vol_idx(kv, (uint32_t)db->nvol);
    db->vol[db->nvol++] = kv;
}

static void vol_del(db_t *db, kv_t *kv)
{
    size_t i = kv_vol_idx(kv);
    kv_t *last = db->vol[--db->nvol];
    if (i != db->nvol) {
        db->vol[i] = last;
        kv_set_vol_idx(last, (uint32_t)i);
    }
    if (db->vol_cursor > db->nvol)
        db->vol_cursor = db->nvol;
    if (db->vol_cap > 64 && db->nvol < db->vol_cap / 4) {
        db->vol_cap /= 2;
        db->vol = mem_realloc(db->vol, db->vol_cap * sizeof(kv_t *));
    }
}

/* nw takes old's place in its table link and in the volatile index. */
static void db_swap(db_t *db, dict_node_t **link, kv_t *old, kv_t *nw)
{
    dict_replace_link(link, &nw->node);
    if (old->has_expire && nw->has_expire) {
        uint32_t i = kv_vol_idx(old);
        kv_set_vol_idx(nw, i);
        db->vol[i] = nw;
    } else if (old->has_expire) {
        vol_del(db, old);
    } else if (nw->has_expire) {
        vol_add(db, nw);
    }
}

/* Put a new entry whose key is absent into table d; h is dict_hash of its key. */
static kv_t *db_insert_hashed(db_t *db, dict_t *d, kv_t *kv, uint64_t h)
{
    ks_t *ks = db->ks;
    dict_add_hashed(d, &kv->node, h);
    db->nkeys++;
    if (kv->has_expire)
        vol_add(db, kv);
    slice_t k = kv_key(kv);
    if (ks->added)
        ks->added(ks->added_arg, db->id, k, kv->type);
    db_touch(db, k);
    return kv;
}

static kv_t *db_insert(db_t *db, dict_t *d, kv_t *kv)
{
    return db_insert_hashed(db, d, kv, dict_hash(kv_keyp(kv), kv->klen));
}

/* Take a present entry out of the table and the index; not freed. */
static void db_unlink_kv(db_t *db, kv_t *kv)
{
    dict_remove_node(db_dict(db, kv_key(kv)), &kv->node);
    if (kv->has_expire)
        vol_del(db, kv);
    db->nkeys--;
}

void db_expire_entry(db_t *db, kv_t *kv)
{
    ks_t *ks = db->ks;
    db_unlink_kv(db, kv);
    ks->stats.expired_keys++;
    slice_t k = kv_key(kv);
    if (ks->expired)
        ks->expired(ks->expired_arg, db->id, k);
    db_touch(db, k);
    kv_free(kv);
}

/*
 * kv was found; if it is past its TTL, apply the expire mode. Returns 1 if the
 * caller must treat the key as missing (it may have been freed).
 */
static int db_check_expired(db_t *db, kv_t *kv, uint64_t now_ms, int write)
{
    if (!db_kv_is_expired(kv, now_ms))
        return 0;
    switch (db->ks->expire_mode) {
    case KS_EXPIRE_NEVER:
        return 0;
    case KS_EXPIRE_HIDE_RO:
        return 1;
    case KS_EXPIRE_HIDE_RW:
        if (!write)
            return 1;
        break;
    default:
        break;
    }
    db_expire_entry(db, kv);
    return 1;
}

/* ---- lookups ------------------------------------------------------------------ */

kv_t *db_lookup_flags(db_t *db, slice_t key, uint64_t now_ms, int flags)
{
    kv_t *kv = (kv_t *)dict_find(db_dict(db, key), key.p, key.len);
    if (kv && kv->has_expire && db_check_expired(db, kv, now_ms, flags & DB_LOOKUP_WRITE))
        kv = NULL;
    int stats = !(flags & (DB_LOOKUP_NOSTATS | DB_LOOKUP_WRITE));
    if (kv) {
        if (!(flags & DB_LOOKUP_NOTOUCH))
            ks_lru_access(db->ks, kv, now_ms);
        if (stats)
            db->ks->stats.keyspace_hits++;
    } else if (stats) {
        db->ks->stats.keyspace_misses++;
    }
    return kv;
}

kv_t *db_lookup(db_t *db, slice_t key, uint64_t now_ms)
{
    return db_lookup_flags(db, key, now_ms, 0);
}

kv_t *db_lookup_write(db_t *db, slice_t key, uint64_t now_ms)
{
    return db_lookup_flags(db, key, now_ms, DB_LOOKUP_WRITE);
}

kv_t *db_find(db_t *db, slice_t key)
{
    return (kv_t *)dict_find(db_dict(db, key), key.p, key.len);
}

int db_expire_if_needed(db_t *db, slice_t key, uint64_t now_ms)
{
    kv_t *kv = db_find(db, key);
    return kv && kv->has_expire && db_check_expired(db, kv, now_ms, 0);
}

/* ---- writes ----------------------------------------------------------------------- */

kv_t *db_set(db_t *db, slice_t key, const kv_val_t *v, long long expire_ms, int flags,
             uint64_t now_ms)
{
    dict_t *d = db_dict(db, key);
    uint64_t h = dict_hash(key.p, key.len);
    dict_node_t **link = dict_find_link_hashed(d, key.p, key.len, h);
    uint32_t lru = ks_lru_new(db->ks, now_ms);
    if (link) {
        kv_t *old = (kv_t *)*link;
        int expired = db_kv_is_expired(old, now_ms) && db->ks->expire_mode != KS_EXPIRE_NEVER;
        int mode = db->ks->expire_mode;
        if (expired && (mode == KS_EXPIRE_DELETE || mode == KS_EXPIRE_HIDE_RW)) {
            db_expire_entry(db, old);
        } else {
            if ((flags & DB_SET_KEEPTTL) && old->has_expire && !expired)
                expire_ms = kv_expire(old);
            if (db->ks->policy == KS_POLICY_LFU)
                lru = old->lru; /* an overwrite keeps the access frequency */
            kv_t *nw = kv_new(key, v, expire_ms, lru);
            db_swap(db, link, old, nw);
            kv_free(old);
            db_touch(db, kv_key(nw));
            return nw;
        }
    }
    return db_insert_hashed(db, d, kv_new(key, v, expire_ms, lru), h);
}

kv_t *db_set_string(db_t *db, slice_t key, slice_t val, long long expire_ms, int flags,
                    uint64_t now_ms)
{
    kv_val_t v = kv_val_string(val);
    return db_set(db, key, &v, expire_ms, flags, now_ms);
}

kv_t *db_set_int(db_t *db, slice_t key, long long val, long long expire_ms, int flags,
                 uint64_t now_ms)
{
    kv_val_t v = kv_val_int(val);
    return db_set(db, key, &v, expire_ms, flags, now_ms);
}

kv_t *db_add(db_t *db, slice_t key, const kv_val_t *v, long long expire_ms, uint64_t now_ms)
{
    return db_insert(db, db_dict(db, key), kv_new(key, v, expire_ms, ks_lru_new(db->ks, now_ms)));
}

kv_t *db_replace(db_t *db, kv_t *kv, const kv_val_t *v, uint64_t now_ms)
{
    slice_t key = kv_key(kv);
    dict_node_t **link = dict_find_link(db_dict(db, key), key.p, key.len);
    kv_t *nw = kv_new(key, v, kv_expire(kv), ks_lru_new(db->ks, now_ms));
    db_swap(db, link, kv, nw);
    kv_free(kv);
    db_touch(db, kv_key(nw));
    return nw;
}

int db_delete(db_t *db, slice_t key)
{
    kv_t *kv = (kv_t *)dict_unlink(db_dict(db, key), key.p, key.len);
    if (kv == NULL)
        return 0;
    if (kv->has_expire)
        vol_del(db, kv);
    db->nkeys--;
    db_touch(db, kv_key(kv));
    kv_free(kv);
    return 1;
}

void db_modified(db_t *db, slice_t key)
{
    db_touch(db, key);
}

/* ---- TTLs ------------------------------------------------------------------------- */

kv_t *db_set_expire(db_t *db, slice_t key, long long when_ms)
{
    dict_node_t **link = dict_find_link(db_dict(db, key), key.p, key.len);
    if (link == NULL)
        return NULL;
    kv_t *kv = (kv_t *)*link;
    if (kv->has_expire) {
        kv_set_expire_inplace(kv, when_ms);
    } else {
        kv = kv_reshape(kv, kv_key(kv), when_ms);
        dict_replace_link(link, &kv->node);
        vol_add(db, kv);
    }
    db_touch(db, kv_key(kv));
    return kv;
}

int db_persist(db_t *db, slice_t key)
{
    dict_node_t **link = dict_find_link(db_dict(db, key), key.p, key.len);
    if (link == NULL || !((kv_t *)*link)->has_expire)
        return 0;
    kv_t *kv = (kv_t *)*link;
    vol_del(db, kv);
    kv = kv_reshape(kv, kv_key(kv), -1);
    dict_replace_link(link, &kv->node);
    db_touch(db, kv_key(kv));
    return 1;
}

long long db_get_expire(db_t *db, slice_t key)
{
    kv_t *kv = db_find(db, key);
    return kv ? kv_expire(kv) : -2;
}

/* ---- whole-db operations ------------------------------------------------------------ */

static kv_t *db_random_raw(db_t *db)
{
    uint64_t (*rnd)(void) = db->ks->rnd;
    if (db->nkeys == 0)
        return NULL;
    if (db->ntables == 1)
        return (kv_t *)dict_random(&db->tables[0], rnd);
    uint64_t r = rnd() % db->nkeys;
    for (int i = 0; i < db->ntables; i++) {
        uint64_t n = dict_size(&db->tables[i]);
        if (r < n)
            return (kv_t *)dict_random(&db->tables[i], rnd);
        r -= n;
    }
    return NULL;
}

kv_t *db_random(db_t *db, uint64_t now_ms)
{
    /* Each expired key met is deleted (DELETE mode), so the loop is bounded
     * by nkeys; in the hiding modes it gives up after a fixed number of tries
     * and returns a possibly expired key, as Redis does on replicas. */
    uint64_t bound = db->nkeys + DB_RANDOM_HIDDEN_TRIES;
    for (uint64_t tries = 0; tries < bound; tries++) {
        kv_t *kv = db_random_raw(db);
        if (kv == NULL || !kv->has_expire)
            return kv;
        if (db->ks->expire_mode != KS_EXPIRE_DELETE && tries + 1 >= DB_RANDOM_HIDDEN_TRIES)
            return kv;
        if (!db_check_expired(db, kv, now_ms, 0))
            return kv;
    }
    return NULL;
}

typedef struct db_scan_tramp_s {
    db_scan_fn fn;
    void *arg;
} db_scan_tramp_t;

static void db_scan_cb(void *arg, dict_node_t *n)
{
    db_scan_tramp_t *t = arg;
    t->fn(t->arg, (kv_t *)n);
}

static uint64_t db_next_nonempty(const db_t *db, uint64_t slot)
{
    while (slot < (uint64_t)db->ntables && dict_size(&db->tables[slot]) == 0)
        slot++;
    return slot;
}

uint64_t db_scan(db_t *db, uint64_t cursor, db_scan_fn fn, void *arg)
{
    db_scan_tramp_t t = {fn, arg};
    if (db->ntables == 1)
        return dict_scan(&db->tables[0], cursor, db_scan_cb, &t);
    uint64_t slot = cursor >> DB_SCAN_SLOT_SHIFT;
    uint64_t inner = cursor & DB_SCAN_INNER_MASK;
    uint64_t first = db_next_nonempty(db, slot);
    if (first != slot)
        inner = 0;
    if (first >= (uint64_t)db->ntables)
        return 0;
    inner = dict_scan(&db->tables[first], inner, db_scan_cb, &t);
    if (inner == 0) {
        first = db_next_nonempty(db, first + 1);
        if (first >= (uint64_t)db->ntables)
            return 0;
    }
    return (first << DB_SCAN_SLOT_SHIFT) | inner;
}

uint64_t db_flush(db_t *db)
{
    uint64_t n = db->nkeys;
    db_touch(db, (slice_t){NULL, 0});
    db_clear(db);
    return n;
}

void db_iter_init(db_iter_t *it, db_t *db)
{
    it->db = db;
    it->table = -1;
    it->open = 0;
}

kv_t *db_iter_next(db_iter_t *it)
{
    for (;;) {
        if (it->open) {
            dict_node_t *n = dict_iter_next(&it->it);
            if (n)
                return (kv_t *)n;
            dict_iter_deinit(&it->it);
            it->open = 0;
        }
        do
            it->table++;
        while (it->table < it->db->ntables && dict_size(&it->db->tables[it->table]) == 0);
        if (it->table >= it->db->ntables)
            return NULL;
        dict_iter_init(&it->it, &it->db->tables[it->table]);
        it->open = 1;
    }
}

void db_iter_deinit(db_iter_t *it)
{
    if (it->open)
        dict_iter_deinit(&it->it);
    it->open = 0;
    it->table = it->db->ntables;
}

int db_rename(db_t *db, slice_t src, slice_t dst, int nx, uint64_t now_ms)
{
    kv_t *kv = db_lookup_write(db, src, now_ms);
    if (kv == NULL)
        return DB_NOKEY;
    if (slice_eq(src, dst))
        return nx ? DB_EXISTS : DB_OK;
    if (db_lookup_write(db, dst, now_ms)) {
        if (nx)
            return DB_EXISTS;
        db_delete(db, dst);
    }
    long long expire = kv_expire(kv);
    db_unlink_kv(db, kv);
    db_touch(db, src);
    db_insert(db, db_dict(db, dst), kv_reshape(kv, dst, expire));
    return DB_OK;
}

int db_move(db_t *src, db_t *dst, slice_t key, uint64_t now_ms)
{
    kv_t *kv = db_lookup_write(src, key, now_ms);
    if (kv == NULL)
        return DB_NOKEY;
    if (db_lookup_write(dst, key, now_ms))
        return DB_EXISTS;
    db_unlink_kv(src, kv);
    db_touch(src, kv_key(kv));
    kv->node.next = NULL;
    db_insert(dst, db_dict(dst, kv_key(kv)), kv);
    return DB_OK;
}

int db_copy(db_t *src, slice_t skey, db_t *dst, slice_t dkey, int replace, uint64_t now_ms)
{
    kv_t *kv = db_lookup(src, skey, now_ms);
    if (kv == NULL)
        return DB_NOKEY;
    if (db_lookup_write(dst, dkey, now_ms)) {
        if (!replace)
            return DB_EXISTS;
        db_delete(dst, dkey);
    }
    kv_t *n = kv_dup(kv, dkey, kv_expire(kv), ks_lru_new(dst->ks, now_ms));
    db_insert(dst, db_dict(dst, dkey), n);
    return DB_OK;
}

/* ---- per-slot access ---------------------------------------------------------------- */

int db_slot_of(const db_t *db, slice_t key)
{
    return db->ntables == 1 ? 0 : (int)key_hash_slot(key.p, key.len);
}

uint64_t db_slot_count(const db_t *db, int slot)
{
    if (slot < 0 || slot >= db->ntables)
        return 0;
    return dict_size(&db->tables[slot]);
}

size_t db_slot_keys(db_t *db, int slot, size_t max, db_scan_fn fn, void *arg)
{
    if (slot < 0 || slot >= db->ntables)
        return 0;
    dict_iter_t it;
    size_t n = 0;
    dict_iter_init(&it, &db->tables[slot]);
    for (dict_node_t *e; n < max && (e = dict_iter_next(&it)) != NULL; n++)
        fn(arg, (kv_t *)e);
    dict_iter_deinit(&it);
    return n;
}

uint64_t db_delete_slot(db_t *db, int slot, ks_key_hook_t fn, void *arg)
{
    if (slot < 0 || slot >= db->ntables)
        return 0;
    dict_t *d = &db->tables[slot];
    uint64_t n = 0;
    dict_iter_t it;
    dict_iter_init(&it, d);
    for (dict_node_t *e; (e = dict_iter_next(&it)) != NULL; n++) {
        kv_t *kv = (kv_t *)e;
        if (fn)
            fn(arg, db->id, kv_key(kv));
        db_unlink_kv(db, kv);
        db_touch(db, kv_key(kv));
        kv_free(kv);
    }
    dict_iter_deinit(&it);
    return n;
}
