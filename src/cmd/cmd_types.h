/*
 * cmd_types.h — helpers shared by the data-type families (hash, list, set,
 * zset, bits) and by the features layered on them (blocking pops, MULTI).
 *
 * Owns: type registration at start-up (types_init), typed lookups that answer
 * WRONGTYPE, the H/S/ZSCAN engine, the pop/move cores that BLPOP, BRPOP,
 * BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX and BZMPOP reuse, and the
 * "propagate something else than argv" door.
 * Must not: block, keep state per client, or touch sockets.
 *
 * Conventions of the pop/move cores: they run as a writer in db, delete a
 * key whose collection became empty (Redis semantics), call db_modified()
 * after in-place changes, cmd_dirty(ctx, n) for the elements moved, and write
 * exactly one reply when they return > 0 (or -1: WRONGTYPE). When they return
 * 0 nothing was written and nothing changed: the key is missing (a caller that
 * blocks may wait for it). They do not propagate; the caller decides what the
 * AOF/replicas see (LMPOP → LPOP/RPOP key n, BLPOP → LPOP key, ...).
 */
#ifndef TESSERA_CMD_TYPES_H
#define TESSERA_CMD_TYPES_H

#include "../ks/db.h"
#include "../ks/listpack.h"
#include "cmd.h"

struct config_s;

/*
 * Register the kv hooks of OBJ_LIST / OBJ_SET / OBJ_ZSET / OBJ_HASH and apply
 * the encoding limits of cfg (hash-max-listpack-*, zset-max-listpack-*,
 * set-max-intset-entries, list-max-listpack-size). Call once at start-up
 * before any such value is built (RDB / AOF loading included), and again
 * after every CONFIG SET (host reconfigure): limits only change future
 * conversions, as in Redis. cfg may be NULL: Redis's defaults.
 */
void types_init(const struct config_s *cfg);

/* The fill of new lists (list-max-listpack-size), set by types_init. */
int types_list_fill(void);

/* The session's database. */
db_t *types_db(cmd_ctx_t *ctx);

/*
 * Typed lookups. Return the entry when the key exists with `type`; NULL when
 * it is missing (*wrong = 0) or holds another type (*wrong = 1, WRONGTYPE has
 * been written). _read counts keyspace hits/misses, _write is a writer's
 * lookup (no stats).
 */
kv_t *types_lookup_read(cmd_ctx_t *ctx, db_t *db, slice_t key, int type, int *wrong);
kv_t *types_lookup_write(cmd_ctx_t *ctx, db_t *db, slice_t key, int type, int *wrong);

/* Reply a listpack_val_t (string, or integer when s == NULL) as a bulk. */
void types_reply_val(reply_t *r, const listpack_val_t *v);

/*
 * Send argv to the AOF / replicas instead of the command's own argv. Rows
 * whose handler calls this carry CMD_NO_PROPAGATE_ARGV.
 */
void types_propagate(cmd_ctx_t *ctx, int argc, const slice_t *argv);

/*
 * HSCAN / SSCAN / ZSCAN key cursor [MATCH pattern] [COUNT count] for a key of
 * `type` (OBJ_HASH, OBJ_SET, OBJ_ZSET): the whole command, Redis's order of
 * checks (cursor, key, type, options).
 */
void types_scan_command(cmd_ctx_t *ctx, int type);

/*
 * "<numkeys> key ... <w0|w1> [COUNT n]" of LMPOP/BLMPOP (w0 = "left",
 * w1 = "right") and ZMPOP/BZMPOP ("min", "max"), numkeys at argv[numkeys_idx].
 * Fills *nkeys, *where (0 for w0, 1 for w1) and *count (1 without COUNT).
 * Returns 0, or -1 after writing Redis's error ("numkeys should be greater
 * than 0", "count should be greater than 0", syntax error).
 */
int types_parse_mpop(cmd_ctx_t *ctx, int numkeys_idx, const char *w0, const char *w1, int *nkeys,
                     int *where, long *count);

/* The count argument of HRANDFIELD / SRANDMEMBER / ZRANDMEMBER: an integer in
 * Redis's range -LONG_MAX..LONG_MAX. Returns 0, or -1 after the error reply. */
int types_rand_count(cmd_ctx_t *ctx, slice_t a, long long *out);

/* ---- lists ----------------------------------------------------------------- */

enum { LIST_HEAD = 0, LIST_TAIL = 1 }; /* == QUICKLIST_HEAD / QUICKLIST_TAIL */

/* Reply shapes of list_pop_reply. */
enum {
    LIST_POP_SINGLE = 0,    /* the element as a bulk (LPOP key) */
    LIST_POP_ARRAY = 1,     /* array of elements (LPOP key count) */
    LIST_POP_KEY_ELEM = 2,  /* [key, element] (BLPOP / BRPOP) */
    LIST_POP_KEY_ARRAY = 3, /* [key, [elements]] (LMPOP / BLMPOP) */
};

/*
 * Pop up to count (>= 1) elements from the list at key, at where (LIST_HEAD
 * or LIST_TAIL), in pop order, and reply in shape mode. Returns the number
 * popped (> 0), 0 if the key is missing (nothing written), -1 on WRONGTYPE.
 */
long list_pop_reply(cmd_ctx_t *ctx, db_t *db, slice_t key, int where, long count, int mode);

/*
 * LMOVE core: pop from src at wherefrom, push onto dst at whereto (dst is
 * created if missing; src == dst rotates), reply the element as a bulk.
 * Returns 1 moved, 0 src missing (nothing written), -1 WRONGTYPE of src or
 * dst (error written, nothing changed).
 */
int list_move_reply(cmd_ctx_t *ctx, db_t *db, slice_t src, slice_t dst, int wherefrom,
                    int whereto);

/* ---- sorted sets ----------------------------------------------------------- */

/* Reply shapes of zset_pop_reply. */
enum {
    ZPOP_FLAT = 0,       /* [m1, s1, m2, s2 ...] (ZPOPMIN RESP2, or without count) */
    ZPOP_NESTED = 1,     /* [[m1, s1], ...] (ZPOPMIN key count in RESP3) */
    ZPOP_KEY_FLAT = 2,   /* [key, m, s] (BZPOPMIN / BZPOPMAX) */
    ZPOP_KEY_NESTED = 3, /* [key, [[m, s], ...]] (ZMPOP / BZMPOP) */
};

/*
 * Pop up to count (>= 1) lowest (max = 0) or highest (max = 1) members of the
 * zset at key. Same return convention as list_pop_reply.
 */
long zset_pop_reply(cmd_ctx_t *ctx, db_t *db, slice_t key, int max, long count, int mode);

/* COMMAND GETKEYS for "numkeys key ..." commands (LMPOP, ZMPOP, SINTERCARD,
 * ZINTERCARD, ZUNION, ZINTER, ZDIFF: numkeys at 1) and for the *STORE forms
 * (ZUNIONSTORE ...: destination at 1, numkeys at 2). */
int types_getkeys_numkeys1(int argc, const slice_t *argv, int *keys, int max);
int types_getkeys_store(int argc, const slice_t *argv, int *keys, int max);

#endif
