/*
 * evict.h — maxmemory eviction over the keyspace: Redis's sampled
 * approximations of LRU, LFU and TTL order (an eviction pool of the best
 * candidates seen so far, refilled with maxmemory-samples keys from each
 * database per round) and random eviction.
 *
 * Pure: no clock reads, no I/O, no replies. Time, the used-memory figure and
 * randomness (the keyspace's rng) come from the caller; each evicted key is
 * reported through a callback before it is deleted, so the caller can
 * propagate a DEL. The deletion itself fires the keyspace's touch hook (WATCH).
 *
 * The policy numbers are Redis's maxmemory-policy values as config.h numbers
 * them (MAXMEMORY_*); cmd_evict.c checks they agree.
 */
#ifndef TESSERA_EVICT_H
#define TESSERA_EVICT_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

enum {
    KS_EVICT_NOEVICTION = 0,
    KS_EVICT_VOLATILE_LRU = 1,
    KS_EVICT_VOLATILE_LFU = 2,
    KS_EVICT_VOLATILE_RANDOM = 3,
    KS_EVICT_VOLATILE_TTL = 4,
    KS_EVICT_ALLKEYS_LRU = 5,
    KS_EVICT_ALLKEYS_LFU = 6,
    KS_EVICT_ALLKEYS_RANDOM = 7,
};

/* Outcome of ks_evict (Redis's EVICT_OK / EVICT_RUNNING / EVICT_FAIL). */
enum {
    KS_EVICT_OK = 0,      /* freed at least need_bytes (or nothing was needed) */
    KS_EVICT_RUNNING = 1, /* the time budget ran out first: call again later */
    KS_EVICT_FAIL = 2,    /* nothing (more) to evict: noeviction, or no candidate */
};

#define KS_EVICT_POOL_SIZE 16

typedef struct ks_evict_req_s {
    int policy;  /* KS_EVICT_* */
    int samples; /* maxmemory-samples (>= 1) */
    uint64_t now_ms;
    /* The allocator's used bytes; the memory a deletion frees is measured as
     * the difference around it (what the callback allocates is not counted). */
    size_t (*mem_used)(void);
    /* Time budget: checked every 16 evicted keys; now_us NULL = no limit. */
    uint64_t (*now_us)(void);
    uint64_t budget_us;
    /* Called for each victim before it is deleted (key valid during the call). */
    ks_key_hook_t on_evict;
    void *arg;
} ks_evict_req_t;

/*
 * Evict keys until the deletions freed at least need_bytes, the budget ran
 * out, or nothing is left to evict (volatile-* policies only take keys with
 * a TTL). Returns the number of keys evicted; *status gets KS_EVICT_*.
 * need_bytes == 0 returns 0 with KS_EVICT_OK.
 */
size_t ks_evict(ks_t *ks, size_t need_bytes, const ks_evict_req_t *req, int *status);

/* Redis's time limit for one eviction run from maxmemory-eviction-tenacity
 * (0..100): 50 us per step up to 10, then +15% per step, 100 = unlimited
 * (UINT64_MAX). */
uint64_t ks_evict_time_limit_us(int tenacity);

/* Forget the candidates kept in the eviction pool (tests; after FLUSHALL it
 * is not needed: stale candidates are skipped). */
void ks_evict_pool_reset(void);

/* The pool's current candidates, best last (tests, DEBUG): fills up to max
 * idle scores and returns how many there are. */
size_t ks_evict_pool_scores(uint64_t *idle, size_t max);

#endif
