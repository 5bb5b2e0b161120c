/*
 * rdb.h — the RDB codec: Redis 7.0's snapshot format (RDB version 10), used
 * for dump.rdb files, DUMP/RESTORE payloads and (later) full-sync streams.
 *
 * Owns: the byte format (magic, aux fields, opcodes, length and string
 * encodings, LZF, every object encoding Redis 7.0 reads and writes, EOF and
 * the CRC-64 trailer), and the conversion between those bytes and keyspace
 * values (kv_val_t of kv.h).
 * Must not: open files, fork, read clocks or log (rdb_save.h and the loop
 * room do that); allocate outside mem.h; trust a single input byte.
 *
 * Writing goes through rdb_writer_t, a small buffered sink over a write
 * callback (a file, a memory buffer, a socket later). It keeps the running
 * CRC-64 of everything written.
 * Reading goes through rdb_reader_t, over a memory block or a read callback.
 * Every length, count and nested structure (listpack, intset, ziplist,
 * zipmap, LZF stream) is validated before use; on error the reader keeps a
 * message and the byte offset where decoding stopped, and nothing leaks.
 *
 * Written encodings (what Redis 7.0 writes): strings with the integer forms
 * and, when compression is on, LZF for strings over 20 bytes; lists as
 * quicklist2 (type 18, PACKED listpack nodes); sets as intset (11) or plain
 * (2); zsets as listpack (17) or zset2 (5, binary doubles); hashes as
 * listpack (16) or plain (4).
 * Read encodings: all of the above plus what 7.0 still loads: list (1),
 * zset with text scores (3), zipmap (9), ziplist list (10), ziplist zset (12),
 * ziplist hash (13), quicklist of ziplists (14), quicklist2 PLAIN nodes.
 * Streams and module types are refused (Tessera has neither).
 */
#ifndef TESSERA_RDB_H
#define TESSERA_RDB_H

#include <stddef.h>
#include <stdint.h>

#include "ks/kv.h"

struct ks_s;
struct db_s;

#define RDB_VERSION 10
#define RDB_REDIS_VER "7.0.15"

/* Object types (the byte before a key). */
enum {
    RDB_TYPE_STRING = 0,
    RDB_TYPE_LIST = 1,
    RDB_TYPE_SET = 2,
    RDB_TYPE_ZSET = 3,
    RDB_TYPE_HASH = 4,
    RDB_TYPE_ZSET_2 = 5,
    RDB_TYPE_MODULE = 6,
    RDB_TYPE_MODULE_2 = 7,
    RDB_TYPE_HASH_ZIPMAP = 9,
    RDB_TYPE_LIST_ZIPLIST = 10,
    RDB_TYPE_SET_INTSET = 11,
    RDB_TYPE_ZSET_ZIPLIST = 12,
    RDB_TYPE_HASH_ZIPLIST = 13,
    RDB_TYPE_LIST_QUICKLIST = 14,
    RDB_TYPE_STREAM_LISTPACKS = 15,
    RDB_TYPE_HASH_LISTPACK = 16,
    RDB_TYPE_ZSET_LISTPACK = 17,
    RDB_TYPE_LIST_QUICKLIST_2 = 18,
    RDB_TYPE_STREAM_LISTPACKS_2 = 19,
};

/* Opcodes (bytes that are not object types). */
enum {
    RDB_OPCODE_FUNCTION2 = 245,
    RDB_OPCODE_FUNCTION = 246,
    RDB_OPCODE_MODULE_AUX = 247,
    RDB_OPCODE_IDLE = 248,
    RDB_OPCODE_FREQ = 249,
    RDB_OPCODE_AUX = 250,
    RDB_OPCODE_RESIZEDB = 251,
    RDB_OPCODE_EXPIRETIME_MS = 252,
    RDB_OPCODE_EXPIRETIME = 253,
    RDB_OPCODE_SELECTDB = 254,
    RDB_OPCODE_EOF = 255,
};

/* quicklist2 node containers. */
enum { RDB_QL_PLAIN = 1, RDB_QL_PACKED = 2 };

/* Return codes. RDB_EMPTY: a valid but empty collection (Redis skips such a
 * key when loading a file and refuses it in RESTORE); nothing was allocated. */
enum { RDB_OK = 0, RDB_ERR = -1, RDB_EMPTY = -2 };

/* ---- writing ------------------------------------------------------------------ */

/* Sink: write all n bytes; 0, or -1 on error (errno describes it). */
typedef int (*rdb_write_fn)(void *arg, const void *p, size_t n);

enum { RDB_W_COMPRESS = 1u << 0, RDB_W_CHECKSUM = 1u << 1 };

typedef struct rdb_writer_s {
    rdb_write_fn write;
    void *arg;
    unsigned char *buf; /* staging buffer, flushed when full */
    size_t used, cap;
    uint64_t crc;          /* CRC-64 of every byte written so far */
    uint64_t total;        /* bytes written so far (including staged ones) */
    unsigned flags;        /* RDB_W_* */
    int failed;            /* sticky: a write failed, later writes are dropped */
    struct rdb_lzf_s *lzf; /* compressor state, made on first use */
    unsigned char *zbuf;   /* compression output, grown on demand */
    size_t zcap;
} rdb_writer_t;

/* A writer over fn/arg with RDB_W_* flags. */
void rdb_writer_init(rdb_writer_t *w, rdb_write_fn fn, void *arg, unsigned flags);
/* Hand every staged byte to the sink. 0, or -1 if any write failed. */
int rdb_writer_flush(rdb_writer_t *w);
void rdb_writer_deinit(rdb_writer_t *w);
/* Raw bytes (also feeds the CRC). 0, or -1 once a write has failed. */
int rdb_write_raw(rdb_writer_t *w, const void *p, size_t n);

/* A growing memory block as a sink (DUMP payloads, tests). */
typedef struct rdb_membuf_s {
    unsigned char *p; /* mem_alloc'ed; the caller owns it after use */
    size_t len, cap;
} rdb_membuf_t;
int rdb_membuf_write(void *arg, const void *p, size_t n);

/* What goes into the aux fields and how keys are written. */
typedef struct rdb_save_info_s {
    long long ctime_s;           /* "ctime" aux field (unix seconds) */
    unsigned long long used_mem; /* "used-mem" */
    int aof_base;                /* "aof-base": 1 when this is an AOF preamble */
    const char *repl_id;         /* NULL: no repl-* fields (no replication info) */
    int repl_stream_db;
    long long repl_offset;
    int policy;      /* KS_POLICY_*: LRU writes IDLE, LFU writes FREQ per key */
    uint64_t now_ms; /* for idle times and LFU decay */
} rdb_save_info_t;

/* The RDB type byte a value is written with. */
int rdb_object_type(const kv_t *kv);
/* The value's encoding (the bytes after the key). 0 or -1 (write failed). */
int rdb_write_object(rdb_writer_t *w, const kv_t *kv);
/* One key: [EXPIRETIME_MS] [IDLE|FREQ] type key object. ks gives the LFU
 * decay (may be NULL when policy is not LFU). */
int rdb_write_key(rdb_writer_t *w, const kv_t *kv, const struct ks_s *ks,
                  const rdb_save_info_t *info);
/* "REDIS0010" and the aux fields. */
int rdb_write_header(rdb_writer_t *w, const rdb_save_info_t *info);
/* SELECTDB, RESIZEDB and every key of db (expired ones included, as Redis).
 * Writes nothing for an empty db. */
int rdb_write_db(rdb_writer_t *w, struct db_s *db, const rdb_save_info_t *info);
/* EOF and the CRC-64 (0 when the writer has no RDB_W_CHECKSUM), then flush. */
int rdb_write_footer(rdb_writer_t *w);
/* The whole snapshot: header, every db, footer. 0 or -1 (write failed). */
int rdb_save_ks(rdb_writer_t *w, struct ks_s *ks, const rdb_save_info_t *info);

/*
 * DUMP payload of a value: type byte, object encoding, RDB version (2 bytes
 * LE) and CRC-64 of all that (8 bytes LE). Returns a mem_alloc'ed block of
 * *len bytes. compress: use LZF like rdbcompression yes.
 */
unsigned char *rdb_dump_payload(const kv_t *kv, int compress, size_t *len);

/* ---- reading ------------------------------------------------------------------ */

/* Source: copy up to cap bytes into dst; returns the count, 0 at the end of
 * the input or on error. */
typedef size_t (*rdb_read_fn)(void *arg, void *dst, size_t cap);

#define RDB_ERR_MAX 192

typedef struct rdb_reader_s {
    const unsigned char *p, *end; /* unread part of the current window */
    const unsigned char *win;     /* start of the current window */
    const unsigned char *mark;    /* bytes [mark, p) are not yet in crc */
    uint64_t win_off;             /* stream offset of win */
    uint64_t size;                /* total stream size, UINT64_MAX if unknown */
    uint64_t crc;
    rdb_read_fn read; /* NULL: a memory reader */
    void *arg;
    unsigned char *buf; /* window storage of callback readers */
    size_t bufcap;
    int list_fill; /* list-max-listpack-size for lists created by loading */
    int failed;
    uint64_t err_off;
    char err[RDB_ERR_MAX];
    char scratch[64]; /* short string values of the object being decoded */
} rdb_reader_t;

/* A reader over len bytes at buf (borrowed until deinit). */
void rdb_reader_init_mem(rdb_reader_t *r, const void *buf, size_t len);
/* A reader over a callback; size is the stream's length when known (file
 * size), else UINT64_MAX. */
void rdb_reader_init_fn(rdb_reader_t *r, rdb_read_fn fn, void *arg, uint64_t size);
void rdb_reader_deinit(rdb_reader_t *r);
/* Offset of the next unread byte. */
uint64_t rdb_reader_offset(const rdb_reader_t *r);
/* The error message: "<reason> at offset N" ("" when none). */
const char *rdb_reader_error(const rdb_reader_t *r);

/*
 * Decode the object of RDB type `type` at the reader into *out: a string
 * (out->s may point into r->scratch, valid until the next read) or a new
 * value object the caller owns (free with rdb_val_free). The encodings
 * follow Redis 7.0's loading rules and the current limits of tset/zset/thash
 * (set-max-intset-entries, *-max-listpack-entries ...). Returns RDB_OK,
 * RDB_EMPTY (empty collection; nothing allocated) or RDB_ERR.
 */
int rdb_read_object(rdb_reader_t *r, int type, kv_val_t *out);
/* Free what rdb_read_object produced (no-op for borrowed strings). */
void rdb_val_free(kv_val_t *v);

/* The key being loaded: passed to the key callback of rdb_load. */
typedef struct rdb_key_s {
    int db;
    slice_t key;      /* valid during the callback */
    kv_val_t val;     /* the callback takes ownership (store or rdb_val_free) */
    long long expire; /* unix ms, -1 none */
    long long idle_s; /* IDLE opcode, -1 none */
    int freq;         /* FREQ opcode, -1 none */
} rdb_key_t;

typedef struct rdb_load_cb_s {
    /* An aux field (may be NULL). */
    void (*aux)(void *arg, slice_t name, slice_t value);
    /* SELECTDB: 0, or -1 to refuse (db out of range; set the error with
     * rdb_reader_fail). */
    int (*select_db)(void *arg, int db);
    /* RESIZEDB hint (may be NULL). */
    void (*resize_db)(void *arg, int db, uint64_t keys, uint64_t expires);
    /* One key. 0, or -1 to stop (after rdb_reader_fail). */
    int (*key)(void *arg, rdb_key_t *k);
    /* A key whose collection was empty, skipped (may be NULL). */
    void (*empty_key)(void *arg, int db, slice_t key);
} rdb_load_cb_t;

/*
 * Decode a whole RDB stream: magic and version (1..10), opcodes, keys, EOF
 * and checksum (a stored 0 means "not checksummed"). RDB_OK or RDB_ERR (the
 * reader holds the reason). On success *version gets the file's version
 * (may be NULL).
 */
int rdb_load(rdb_reader_t *r, const rdb_load_cb_t *cb, void *arg, int *version);
/* Record an error at the current offset (for callbacks). Returns RDB_ERR. */
int rdb_reader_fail(rdb_reader_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* What rdb_load_ks saw. */
typedef struct rdb_load_stats_s {
    uint64_t keys_loaded;
    uint64_t keys_expired;  /* already expired, not loaded (master) */
    uint64_t empty_skipped; /* empty collections skipped */
    int version;
    char redis_ver[32]; /* "redis-ver" aux, "" if absent */
    long long ctime_s;  /* -1 if absent */
    long long used_mem; /* -1 if absent */
    int aof_base;       /* -1 if absent */
    char repl_id[41];   /* "" if absent */
    long long repl_offset;
    int repl_stream_db;
} rdb_load_stats_t;

/*
 * Load a whole stream into ks (whose dbs must not hold the keys: a duplicate
 * key is an error, as in Redis). Keys already expired at now_ms are dropped
 * when drop_expired (a master), else kept. IDLE/FREQ apply per ks's policy.
 * RDB_OK or RDB_ERR; the keys loaded before an error stay in ks.
 */
int rdb_load_ks(rdb_reader_t *r, struct ks_s *ks, uint64_t now_ms, int drop_expired,
                rdb_load_stats_t *st);

/* Check a DUMP payload's trailer: length >= 10, version <= RDB_VERSION and a
 * matching CRC-64. 0 if good, -1 ("DUMP payload version or checksum are wrong"). */
int rdb_dump_verify(const unsigned char *p, size_t len);
/* Decode a verified payload's value into *out, with r as the decoder's
 * state: r is initialised here over p; out->s may point into r->scratch or
 * into p, so store the value before rdb_reader_deinit(r) and before p goes.
 * RDB_OK, RDB_EMPTY or RDB_ERR (reason in r; RESTORE says "Bad data format"). */
int rdb_dump_decode(rdb_reader_t *r, const unsigned char *p, size_t len, int list_fill,
                    kv_val_t *out);

/* The lru field for an entry restored with IDLE seconds / FREQ (-1: not
 * given) under policy (KS_POLICY_*), as Redis's objectSetLRUOrLFU: LFU uses
 * freq, other policies use idle. Returns 1 and sets *lru when one applies. */
int rdb_lru_value(int policy, long long idle_s, int freq, uint64_t now_ms, uint32_t *lru);

#endif
