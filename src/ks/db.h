/*
 * db.h — one logical database: its table(s) of kv_t, the volatile index, lazy
 * expiry, and the operations commands need (lookup, set, delete, TTL, rename,
 * move, copy, scan, random, flush, per-slot access).
 *
 * Owns: every kv_t stored in the db (freed on delete/overwrite/flush), the
 * volatile index (the array of entries that have a TTL; each such entry keeps
 * its position in vol_idx so removal is O(1): swap with the last).
 * Must not: write replies, propagate, read clocks: time arrives as now_ms and
 * effects leave through the ks hooks (touch / expired / added, see below).
 *
 * Invariants:
 *  - Standalone: ntables == 1. Cluster: ntables == 16384 and a key lives in
 *    tables[key_hash_slot(key)]. nkeys == sum of the tables' sizes.
 *  - e is in vol[0..nvol) iff e->has_expire, and vol[kv_vol_idx(e)] == e.
 *  - Entries returned by lookups are valid until the next db_* call that may
 *    modify this db (set, delete, expire, flush, rename, move, lookup with
 *    lazy expiry of *that* key). Functions that change an entry's size return
 *    the new pointer.
 *
 * Expiry modes (ks_set_expire_mode): a key whose expire time is < now_ms is
 * logically expired. KS_EXPIRE_DELETE (a master): any lookup deletes it, counts
 * it in stats.expired_keys and fires the expired hook. KS_EXPIRE_HIDE_RO (a
 * read-only replica): lookups report it missing but keep it (the master will
 * send the DEL). KS_EXPIRE_HIDE_RW (a writable replica): reads hide it, write
 * lookups delete it. KS_EXPIRE_NEVER (loading; a replica applying its master's
 * stream): nothing expires.
 *
 * Hooks (all optional, one indirect call each, key bytes valid only during the
 * call; a hook must not modify the keyspace, only record):
 *  - touch(arg, db, key): a key was modified, created or deleted (Redis's
 *    signalModifiedKey; WATCH, client tracking). key.p == NULL: the whole db is
 *    about to be emptied or swapped (FLUSHDB/FLUSHALL/SWAPDB); called BEFORE that
 *    change so the listener can still see which keys exist. For single keys it
 *    is called after the change (a deleted key is already gone).
 *  - expired(arg, db, key): a key expired (lazy or active) and was taken out
 *    of the db (its memory is freed right after the hooks): propagate a DEL,
 *    emit the "expired" event. touch follows it.
 *  - added(arg, db, key, type): a new key was added (Redis's dbAdd:
 *    signalKeyAsReady for blocked clients, the "new" event). After SWAPDB it is
 *    called once per swapped db with key.p == NULL and type -1: rescan.
 */
#ifndef TESSERA_DB_H
#define TESSERA_DB_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/dict.h"
#include "../lib/slice.h"
#include "ks.h"
#include "kv.h"

#define DB_CLUSTER_SLOTS 16384

/* Return codes of rename/move/copy. */
enum { DB_OK = 0, DB_NOKEY = -1, DB_EXISTS = -2 };

/* Lookup flags (Redis's LOOKUP_*). */
enum {
    DB_LOOKUP_WRITE = 1u << 0,   /* a writer: no hit/miss stats; may delete expired on rw replica */
    DB_LOOKUP_NOTOUCH = 1u << 1, /* do not update the LRU clock (TYPE, TTL, OBJECT, EXISTS) */
    DB_LOOKUP_NOSTATS = 1u << 2, /* no keyspace hit/miss counting */
};

/* db_set flags. */
enum {
    DB_SET_KEEPTTL = 1u << 0, /* keep the old TTL (SET KEEPTTL, value rewrites) */
};

/* Expiry modes (see the file comment). */
enum { KS_EXPIRE_DELETE = 0, KS_EXPIRE_HIDE_RO = 1, KS_EXPIRE_HIDE_RW = 2, KS_EXPIRE_NEVER = 3 };

typedef struct db_s {
    struct ks_s *ks;
    int id;
    int ntables; /* 1, or DB_CLUSTER_SLOTS */
    dict_t *tables;
    uint64_t nkeys;
    kv_t **vol; /* volatile index */
    size_t nvol, vol_cap;
    size_t vol_cursor; /* active expiry sweeps vol[] downwards from here */
    long long avg_ttl; /* ms, running estimate from active expiry (INFO) */
} db_t;

/* Counters INFO reports (stats section). Reset with ks_stats_reset(). */
typedef struct ks_stats_s {
    uint64_t expired_keys;
    uint64_t keyspace_hits;
    uint64_t keyspace_misses;
    uint64_t expired_time_cap_reached;
    double expired_stale_perc; /* 0..1 running estimate, INFO prints *100 */
} ks_stats_t;

typedef void (*ks_key_hook_t)(void *arg, int db, slice_t key);
typedef void (*ks_added_hook_t)(void *arg, int db, slice_t key, int type);

/* ---- the keyspace (ks_t) -------------------------------------------------- */

/* Database idx (0 <= idx < ks_ndbs). */
db_t *ks_db(ks_t *ks, int idx);
int ks_cluster(const ks_t *ks);
/* Swap the contents of two dbs (SWAPDB). Fires touch(NULL key) for both
 * first. Returns 0, or -1 if an index is out of range. */
int ks_swapdb(ks_t *ks, int a, int b);
/* Flush every db (FLUSHALL). Returns the number of keys removed. */
uint64_t ks_flushall(ks_t *ks);
uint64_t ks_total_keys(const ks_t *ks);

void ks_set_touch_hook(ks_t *ks, ks_key_hook_t fn, void *arg);
void ks_set_expired_hook(ks_t *ks, ks_key_hook_t fn, void *arg);
void ks_set_added_hook(ks_t *ks, ks_added_hook_t fn, void *arg);
void ks_set_expire_mode(ks_t *ks, int mode);
int ks_expire_mode(const ks_t *ks);
/* active-expire-effort 1..10 (default 1). */
void ks_set_expire_effort(ks_t *ks, int effort);
/* The randomness source for RANDOMKEY and sampling (default rng_next). */
void ks_set_rng(ks_t *ks, uint64_t (*rnd)(void));
/*
 * What the maxmemory policy means for entries (set at start and on CONFIG SET
 * of maxmemory / maxmemory-policy / lfu-log-factor / lfu-decay-time):
 * KS_POLICY_LRU / KS_POLICY_OTHER: the lru field holds the 24-bit LRU clock.
 * KS_POLICY_LFU: it holds Redis's LFU data (16-bit minutes << 8 | 8-bit log
 * counter), incremented on access with log_factor and decayed every
 * decay_time minutes. shared_ints: integers 0..9999 count as Redis's shared
 * objects (OBJECT REFCOUNT 2147483647): maxmemory is 0 or the policy is
 * neither LRU nor LFU.
 */
enum { KS_POLICY_OTHER = 0, KS_POLICY_LRU = 1, KS_POLICY_LFU = 2 };
void ks_set_policy(ks_t *ks, int kind, int maxmemory_set, int lfu_log_factor, int lfu_decay_time);
int ks_policy(const ks_t *ks);
int ks_shared_ints(const ks_t *ks);
/* OBJECT FREQ: the decayed LFU counter of an entry (KS_POLICY_LFU only). */
unsigned ks_lfu_freq(const ks_t *ks, const kv_t *kv, uint64_t now_ms);

/* The counters (mutable so CONFIG RESETSTAT can zero them). */
ks_stats_t *ks_stats(ks_t *ks);

/* ---- lookups --------------------------------------------------------------- */

/* A reader's lookup: lazy expiry, hit/miss stats, LRU update. NULL if missing. */
kv_t *db_lookup(db_t *db, slice_t key, uint64_t now_ms);
/* A writer's lookup: lazy expiry, LRU update, no stats. */
kv_t *db_lookup_write(db_t *db, slice_t key, uint64_t now_ms);
kv_t *db_lookup_flags(db_t *db, slice_t key, uint64_t now_ms, int flags);
/* The raw entry, ignoring TTLs; no stats, no LRU (persistence, DEBUG). */
kv_t *db_find(db_t *db, slice_t key);
/* Lazy expiry of one key on its own: returns 1 if the key exists but is
 * logically expired (deleted or hidden per the expire mode), else 0. */
int db_expire_if_needed(db_t *db, slice_t key, uint64_t now_ms);
/* 1 if the entry is past its TTL at now_ms, i.e. now_ms > expire (Redis's
 * rule: at now == expire the key still exists with PTTL 0). Ignores the mode. */
static inline int db_kv_is_expired(const kv_t *kv, uint64_t now_ms)
{
    return kv->has_expire && kv_expire(kv) < (long long)now_ms;
}

/* ---- writes ---------------------------------------------------------------- */

/*
 * Store v under key, replacing any value (setKey). The TTL becomes expire_ms
 * (unix ms; < 0 none) unless DB_SET_KEEPTTL and the old entry had one (the old
 * TTL is kept; expire_ms is then ignored). An old entry past its TTL is first
 * expired (stats, expired hook) as a writer's lookup would. Fires touch, and
 * added when the key is new. Takes ownership of v->ptr. Returns the entry.
 */
kv_t *db_set(db_t *db, slice_t key, const kv_val_t *v, long long expire_ms, int flags,
             uint64_t now_ms);
/* db_set with Redis's string encoding rule (kv_val_string). */
kv_t *db_set_string(db_t *db, slice_t key, slice_t val, long long expire_ms, int flags,
                    uint64_t now_ms);
kv_t *db_set_int(db_t *db, slice_t key, long long v, long long expire_ms, int flags,
                 uint64_t now_ms);
/* Add a key the caller knows is absent (after a writer's lookup). Fires touch
 * and added. Returns the entry. */
kv_t *db_add(db_t *db, slice_t key, const kv_val_t *v, long long expire_ms, uint64_t now_ms);
/* Replace the value of an existing entry kv (from a lookup), keeping key and
 * TTL. kv is invalid afterwards; returns the new entry. Fires touch. */
kv_t *db_replace(db_t *db, kv_t *kv, const kv_val_t *v, uint64_t now_ms);
/* Delete a key (no TTL check). Fires touch. Returns 1 if it existed. */
int db_delete(db_t *db, slice_t key);
/* Tell listeners a key was modified in place (an INCR of an int entry, a push
 * onto an existing list...). Commands call this after in-place changes. */
void db_modified(db_t *db, slice_t key);

/* ---- TTLs ------------------------------------------------------------------ */

/* Set the TTL (unix ms) of an existing key; adds it to the volatile index and
 * may reallocate the entry. Returns the entry, or NULL if the key is absent.
 * Does not delete a key whose time is in the past (the caller decides). */
kv_t *db_set_expire(db_t *db, slice_t key, long long when_ms);
/* Remove the TTL. Returns 1 if the key had one. */
int db_persist(db_t *db, slice_t key);
/* Expire time in unix ms; -1 no TTL; -2 no such key. No TTL check. */
long long db_get_expire(db_t *db, slice_t key);
/* Number of keys with a TTL. */
static inline size_t db_expires(const db_t *db)
{
    return db->nvol;
}

/* ---- whole-db operations ------------------------------------------------------ */

static inline uint64_t db_size(const db_t *db)
{
    return db->nkeys;
}
/* A random live key (expired ones met on the way are expired), NULL if empty. */
kv_t *db_random(db_t *db, uint64_t now_ms);
/*
 * One SCAN step: calls fn for the entries under cursor, returns the next
 * cursor (0: done). Cursor layout: standalone, the table's own cursor. Cluster
 * mode: bits 48..61 hold the slot (table index) and bits 0..47 the cursor
 * inside that table; empty slots are skipped. Entries are reported raw
 * (possibly expired): the caller filters with db_expire_if_needed.
 */
typedef void (*db_scan_fn)(void *arg, kv_t *kv);
uint64_t db_scan(db_t *db, uint64_t cursor, db_scan_fn fn, void *arg);
/* Delete every key (fires touch with a NULL key first). Returns keys removed. */
uint64_t db_flush(db_t *db);

/* Iterate every entry (safe to delete the current one with db_delete). */
typedef struct db_iter_s {
    db_t *db;
    int table;
    int open;
    dict_iter_t it;
} db_iter_t;
void db_iter_init(db_iter_t *it, db_t *db);
kv_t *db_iter_next(db_iter_t *it);
void db_iter_deinit(db_iter_t *it);

/* RENAME / RENAMENX within one db: keeps the TTL; dst is overwritten unless
 * nx. Returns DB_OK, DB_NOKEY (src missing) or DB_EXISTS (nx and dst exists).
 * src == dst returns DB_OK (or DB_EXISTS with nx) without change. */
int db_rename(db_t *db, slice_t src, slice_t dst, int nx, uint64_t now_ms);
/* MOVE key to another db: DB_OK, DB_NOKEY, DB_EXISTS (dst has the key). */
int db_move(db_t *src, db_t *dst, slice_t key, uint64_t now_ms);
/* COPY: deep copy with the TTL; DB_OK, DB_NOKEY, DB_EXISTS (no replace). */
int db_copy(db_t *src, slice_t skey, db_t *dst, slice_t dkey, int replace, uint64_t now_ms);

/* ---- per-slot access (cluster mode; slot 0 is the only one standalone) ----- */

/* The table a key goes to (0 standalone, key_hash_slot in cluster mode). */
int db_slot_of(const db_t *db, slice_t key);
uint64_t db_slot_count(const db_t *db, int slot);
/* Up to max entries of a slot, raw (GETKEYSINSLOT). Returns the number given. */
size_t db_slot_keys(db_t *db, int slot, size_t max, db_scan_fn fn, void *arg);
/* Delete every key in a slot; fn (may be NULL) sees each key before it goes.
 * Fires touch for each. Returns keys deleted. */
uint64_t db_delete_slot(db_t *db, int slot, ks_key_hook_t fn, void *arg);

#endif
