/*
 * ks.h — the keyspace as the rest of the server sees it: N databases (16 in
 * standalone mode, one with a table per hash slot in cluster mode), values,
 * expiry (lazy on access + active sweeping), and the figures INFO reports.
 *
 * Pure: no I/O, no libuv, no clock reads — callers pass now_ms (and a now_us
 * function for time budgets).
 * The detailed API (entries, string values, lookups, hooks, counters) is in
 * kv.h and db.h.
 *
 * Counters: expired keys, keyspace hits/misses, expired_stale_perc and
 * expired_time_cap_reached_count are kept by the keyspace itself in
 * ks_stats_t (db.h: ks_stats(ks)); INFO reads them from there, not from
 * stats_t (the keyspace does not depend on the command room).
 */
#ifndef TESSERA_KS_H
#define TESSERA_KS_H

#include <stddef.h>
#include <stdint.h>

typedef struct ks_s ks_t;

/* ndbs databases; cluster != 0 gives db 0 one table per slot (16384). */
ks_t *ks_new(int ndbs, int cluster);
void ks_free(ks_t *ks);
int ks_ndbs(const ks_t *ks);

/*
 * Active expiry (Redis's active expire cycle): in every db, round robin, sweep
 * the keys with a TTL in loops of 20 (+5 per effort step), deleting the
 * expired ones, and repeat on a db while more than 10% (minus the effort) of
 * a loop was expired, for at most budget_us of work measured with now_us.
 * Counts into ks_stats(). Returns keys deleted. Does nothing unless the expire
 * mode is KS_EXPIRE_DELETE.
 */
size_t ks_active_expire(ks_t *ks, uint64_t now_ms, uint64_t budget_us, uint64_t (*now_us)(void));
/*
 * Budgets Redis uses, for the caller: the slow cycle (from the cron, hz times
 * per second) gets (25 + 2 * effort') % of a 1/hz period; the fast cycle (from
 * before_sleep) 1000 + 250 * effort' us, where effort' = effort - 1.
 * ks_expire_fast_wanted says whether a fast cycle is worth it now (the last
 * cycle hit its time cap, or the stale estimate is above the acceptable level,
 * and no fast cycle ran within twice its duration).
 */
uint64_t ks_expire_slow_budget_us(const ks_t *ks, int hz);
uint64_t ks_expire_fast_budget_us(const ks_t *ks);
int ks_expire_fast_wanted(ks_t *ks, uint64_t now_us);
/* Incremental rehash of big tables for about ms milliseconds (in cluster mode
 * spread over the slots' tables); also shrinks tables that became sparse. */
void ks_rehash(ks_t *ks, int ms, uint64_t (*now_us)(void));
/* INFO keyspace figures for one db (avg_ttl in ms, an estimate). */
void ks_db_info(const ks_t *ks, int db, uint64_t *keys, uint64_t *expires, uint64_t *avg_ttl);

#endif
