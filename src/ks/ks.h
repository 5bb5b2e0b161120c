/*
 * ks.h — the keyspace as the rest of the server sees it: N databases (16 in
 * standalone mode, one with a table per hash slot in cluster mode), values,
 * expiry (lazy on access + active sampling), and the figures INFO reports.
 *
 * Pure: no I/O, no libuv, no clock reads — callers pass now_ms.
 * The detailed API (entries, string values, lookups) is in kv.h and db.h.
 */
#ifndef TESSERA_KS_H
#define TESSERA_KS_H

#include <stddef.h>
#include <stdint.h>

typedef struct ks_s ks_t;
struct stats_s;

/* ndbs databases; cluster != 0 gives db 0 one table per slot (16384). */
ks_t *ks_new(int ndbs, int cluster);
void ks_free(ks_t *ks);
int ks_ndbs(const ks_t *ks);

/*
 * Active expiry: sample keys with a TTL in every db and delete the expired
 * ones, for at most budget_us of work (the caller measures time through
 * now_us). Counts into st->expired_keys. Returns keys deleted.
 */
size_t ks_active_expire(ks_t *ks, uint64_t now_ms, uint64_t budget_us,
                        uint64_t (*now_us)(void), struct stats_s *st);
/* Incremental rehash of big tables for about ms milliseconds. */
void ks_rehash(ks_t *ks, int ms, uint64_t (*now_us)(void));
/* INFO keyspace figures for one db. */
void ks_db_info(const ks_t *ks, int db, uint64_t *keys, uint64_t *expires, uint64_t *avg_ttl);

#endif
