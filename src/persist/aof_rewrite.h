/*
 * aof_rewrite.h — how a value is written into a rewritten AOF base: a table
 * of per-type emitters (strings built in; lists, sets, hashes, zsets, streams
 * register theirs as they land) and the writer they use.
 *
 * An emitter writes the commands that rebuild one key's value, e.g. for a
 * list `RPUSH key e1 .. e64` batches of AOF_REWRITE_ITEMS_PER_CMD items (Redis
 * 7.0's batching). Strings, lists, sets, hashes and sorted sets are built in;
 * streams (and modules) register theirs when they land. The TTL is NOT the emitter's business: the rewrite appends
 * `PEXPIREAT key <ms>` after any key that has one.
 *
 * Runs in the forked child: emitters must only read the value and call the
 * aof_emit_* functions (no logging, no keyspace changes).
 */
#ifndef TESSERA_AOF_REWRITE_H
#define TESSERA_AOF_REWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "../ks/kv.h"
#include "../lib/slice.h"

#define AOF_REWRITE_ITEMS_PER_CMD 64

typedef struct aof_emit_s aof_emit_t;

/* Writes the commands for kv (whose key is key). Returns 0, or -1 on a write
 * error (already recorded in the writer). */
typedef int (*aof_emit_fn)(aof_emit_t *w, const kv_t *kv, slice_t key);

/* Register the emitter for an OBJ_* type (at start-up, before any rewrite). */
void aof_rewrite_register(int type, aof_emit_fn fn);

/* Built-in emitters (aof_rewrite_types.c): RPUSH / SADD / HMSET / ZADD in
 * batches, as Redis 7.0's rewrite writes them. Registered by default. */
int aof_emit_list(aof_emit_t *w, const kv_t *kv, slice_t key);
int aof_emit_set(aof_emit_t *w, const kv_t *kv, slice_t key);
int aof_emit_hash(aof_emit_t *w, const kv_t *kv, slice_t key);
int aof_emit_zset(aof_emit_t *w, const kv_t *kv, slice_t key);

/* One command: "*argc" then exactly argc bulks. */
int aof_emit_array(aof_emit_t *w, long long argc);
int aof_emit_bulk(aof_emit_t *w, const void *p, size_t n);
int aof_emit_bulk_ll(aof_emit_t *w, long long v);
int aof_emit_bulk_slice(aof_emit_t *w, slice_t s);

/*
 * Write the whole keyspace as commands to fd (SELECT per non-empty db, one
 * emitter call per key, PEXPIREAT for keys with a TTL; keys already expired
 * at now_ms are skipped). incremental_fsync: fdatasync every 4 MiB. Returns
 * 0, or -1 with errno set (write error, or a key of a type with no emitter:
 * EINVAL). Used by the rewrite child and by tests.
 */
struct ks_s;
int aof_rewrite_dump(struct ks_s *ks, int fd, uint64_t now_ms, int incremental_fsync,
                     size_t *bytes);

#endif
