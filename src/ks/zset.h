/*
 * zset.h — sorted sets in Redis 7.0's two encodings, behind one facade.
 *
 *  - ENC_LISTPACK: a listpack of member,score pairs ordered by score, then by
 *    member bytes (the RDB/DUMP type 17 blob is exactly these bytes). Scores
 *    are written as Redis 7.0 writes them: integral values in (-2^52, 2^52) as
 *    integers, "inf"/"-inf", everything else with "%.17g".
 *  - ENC_SKIPLIST: a skiplist (p = 1/4, at most 32 levels, spans for ranks)
 *    plus a dict from member to node. One allocation per member holds the dict
 *    link, the score, the levels and the member bytes.
 *
 * A zset_t is a small handle {enc, ptr} as the keyspace entry stores it
 * (kv_ptr/kv_set_ptr with kv.h's ENC_* numbers). Writers may change both
 * fields (conversion listpack -> skiplist at zset-max-listpack-entries /
 * zset-max-listpack-value); the caller stores them back.
 *
 * Ordering everywhere: score ascending, then member bytes (memcmp, a shorter
 * prefix first). Ranks are 0-based in this API.
 */
#ifndef TESSERA_ZSET_H
#define TESSERA_ZSET_H

#include <stddef.h>
#include <stdint.h>

#include "ks/kv.h"
#include "ks/listpack.h"

typedef struct zset_s {
    int enc;   /* ENC_LISTPACK or ENC_SKIPLIST */
    void *ptr; /* unsigned char * listpack, or the skiplist object */
} zset_t;

/* A score interval (ZRANGEBYSCORE and friends). */
typedef struct zset_range_s {
    double min, max;
    int minex, maxex; /* exclusive bounds */
} zset_range_t;

/* A lexicographic interval. A bound is "-" (ZSET_LEX_NEG), "+" (ZSET_LEX_POS)
 * or a string (ZSET_LEX_VAL) that is inclusive "[x" or exclusive "(x". */
enum { ZSET_LEX_VAL = 0, ZSET_LEX_NEG = 1, ZSET_LEX_POS = 2 };
typedef struct zset_lex_s {
    const char *min, *max; /* borrowed from the arguments */
    size_t minlen, maxlen;
    int minkind, maxkind;
    int minex, maxex;
} zset_lex_t;

/* One element as read from a zset. m is borrowed (valid until the next write)
 * or points into buf when the listpack stores the member as an integer. */
typedef struct zset_elem_s {
    const char *m;
    size_t mlen;
    double score;
    char buf[LISTPACK_INTBUF];
} zset_elem_t;

/* ZADD input flags and output flags (Redis's zsetAdd contract). */
#define ZSET_IN_INCR (1 << 0)
#define ZSET_IN_NX (1 << 1)
#define ZSET_IN_XX (1 << 2)
#define ZSET_IN_GT (1 << 3)
#define ZSET_IN_LT (1 << 4)
#define ZSET_OUT_NOP (1 << 0)
#define ZSET_OUT_NAN (1 << 1)
#define ZSET_OUT_ADDED (1 << 2)
#define ZSET_OUT_UPDATED (1 << 3)

/* zset-max-listpack-entries / zset-max-listpack-value (defaults 128 / 64). */
void zset_set_limits(size_t max_entries, size_t max_value);
void zset_get_limits(size_t *max_entries, size_t *max_value);

/* An empty zset for about size_hint members of up to max_len bytes: listpack
 * when both are within the limits, else skiplist (Redis's zsetTypeCreate). */
void zset_init(zset_t *z, size_t size_hint, size_t max_len);
void zset_deinit(zset_t *z);
/* A deep copy into *dst (COPY). */
void zset_dup(zset_t *dst, const zset_t *src);
size_t zset_len(const zset_t *z);
/* Heap bytes held (MEMORY USAGE). */
size_t zset_mem(const zset_t *z);
/* Convert to enc (ENC_LISTPACK or ENC_SKIPLIST) regardless of limits. */
void zset_convert(zset_t *z, int enc);
/* Back to listpack if the set is small enough: len <= max entries, maxlen <=
 * max value and totlen (sum of member lengths) safe for a listpack
 * (zsetConvertToListpackIfNeeded, for *STORE results). */
void zset_shrink_if_fits(zset_t *z, size_t maxlen, size_t totlen);

/*
 * Add or update (ZADD/ZINCRBY). score must not be NaN (returns 0 with
 * ZSET_OUT_NAN). With ZSET_IN_INCR the score is added to the current one and
 * a NaN result is refused the same way. *newscore (may be NULL) receives the
 * resulting score when the member was added or updated. Returns 1 unless NaN.
 */
int zset_add(zset_t *z, const char *m, size_t mlen, double score, int in_flags, int *out_flags,
             double *newscore);
/* 1 and *score if m is a member. */
int zset_score(const zset_t *z, const char *m, size_t mlen, double *score);
/* Remove m; returns 1 if it was there. */
int zset_del(zset_t *z, const char *m, size_t mlen);
/* 0-based rank of m (reverse: from the highest), -1 if absent; *score may be NULL. */
long zset_rank(const zset_t *z, const char *m, size_t mlen, int reverse, double *score);
/* The element at 0-based rank (reverse: from the highest). 0 if out of range. */
int zset_elem_at(const zset_t *z, size_t rank, int reverse, zset_elem_t *out);

/* Parse ZRANGEBYSCORE bounds ("(" prefix = exclusive; strtod rules: leading
 * spaces, hex and "inf" accepted, trailing bytes or NaN refused). Returns 1,
 * or 0 for "min or max is not a float". */
int zset_parse_range(const char *min, size_t minlen, const char *max, size_t maxlen,
                     zset_range_t *out);
/* Parse ZRANGEBYLEX bounds ("-", "+", "[x", "(x"). The result borrows the
 * argument bytes. Returns 1, or 0 for "min or max not valid string range item". */
int zset_parse_lex(const char *min, size_t minlen, const char *max, size_t maxlen, zset_lex_t *out);

/* ZCOUNT / ZLEXCOUNT. */
size_t zset_count_range(const zset_t *z, const zset_range_t *r);
size_t zset_count_lex(const zset_t *z, const zset_lex_t *r);
/* ZREMRANGEBY*: start..end are 0-based inclusive and in range (the caller
 * normalises negative indexes). Return the number removed. */
size_t zset_del_range_rank(zset_t *z, size_t start, size_t end);
size_t zset_del_range_score(zset_t *z, const zset_range_t *r);
size_t zset_del_range_lex(zset_t *z, const zset_lex_t *r);

/*
 * Iteration in order (reverse: from the highest). Start at a rank, or at the
 * first element inside a score/lex range (the last one when reverse); a
 * range iterator stops at the range's far end. The zset must not be written
 * while iterating. The init functions return 0 when nothing is in range.
 */
typedef struct zset_iter_s {
    const zset_t *z;
    int reverse, kind;
    zset_range_t r;
    zset_lex_t lex;
    void *cur; /* listpack member entry or skiplist node; NULL at the end */
} zset_iter_t;
int zset_iter_rank(zset_iter_t *it, const zset_t *z, size_t start, int reverse);
int zset_iter_score(zset_iter_t *it, const zset_t *z, const zset_range_t *r, int reverse);
int zset_iter_lex(zset_iter_t *it, const zset_t *z, const zset_lex_t *r, int reverse);
int zset_iter_next(zset_iter_t *it, zset_elem_t *out);

/* SCAN: listpack sets are reported whole and return 0; skiplist sets follow
 * dict_scan's cursor. */
typedef void (*zset_visit_fn)(void *arg, const zset_elem_t *e);
uint64_t zset_scan(const zset_t *z, uint64_t cursor, zset_visit_fn fn, void *arg);

/*
 * ZRANDMEMBER helpers. zset_random: one uniformly chosen element (set not
 * empty). zset_random_many: count picks; unique = 0 allows repeats, unique = 1
 * gives min(count, len) distinct elements. Returns the number visited.
 */
void zset_random(const zset_t *z, uint64_t (*rnd)(void), zset_elem_t *out);
size_t zset_random_many(const zset_t *z, size_t count, int unique, uint64_t (*rnd)(void),
                        zset_visit_fn fn, void *arg);

/* Deep check of an untrusted zset listpack (RDB type 17): valid listpack,
 * even number of entries, scores parse as numbers, no duplicate member. */
int zset_listpack_validate(const unsigned char *lp, size_t size);

/* Score text as Redis 7.0 stores it in a listpack (buf >= 32 bytes). */
size_t zset_score_str(char *buf, double score);

/* kv hooks for OBJ_ZSET (free, dup, mem). */
extern const kv_type_ops_t zset_kv_ops;

#endif
