/*
 * ks_int.h — private to src/ks: the keyspace struct shared by db.c and ks.c.
 * Nothing outside src/ks includes this; everyone else goes through ks.h/db.h.
 */
#ifndef TESSERA_KS_INT_H
#define TESSERA_KS_INT_H

#include "db.h"

struct ks_s {
    int ndbs;
    int cluster;
    db_t *dbs;
    int expire_mode; /* KS_EXPIRE_* */
    int effort;      /* active-expire-effort - 1, 0..9 */
    uint64_t (*rnd)(void);
    ks_key_hook_t touch;
    void *touch_arg;
    ks_key_hook_t expired;
    void *expired_arg;
    ks_added_hook_t added;
    void *added_arg;
    ks_stats_t stats;
    int policy; /* KS_POLICY_* */
    int shared_ints;
    int lfu_log_factor;
    int lfu_decay_time;
    int expire_next_db;        /* round-robin start of the next active cycle */
    int expire_timelimit_exit; /* the last cycle ran out of time */
    uint64_t expire_fast_start_us;
    uint64_t expire_fast_budget_us;
};

#define KS_LFU_INIT_VAL 5

/* The lru field of a new entry, and its update on access (LRU clock or LFU). */
uint32_t ks_lru_new(const ks_t *ks, uint64_t now_ms);
void ks_lru_access(ks_t *ks, kv_t *kv, uint64_t now_ms);

/* db.c, for ks.c */
void db_init(db_t *db, ks_t *ks, int id, int ntables);
void db_deinit(db_t *db);
/* Expire one entry found to be past its TTL: unlink, count, hooks, free. */
void db_expire_entry(db_t *db, kv_t *kv);

#endif
