/*
 * aof_int.h — the AOF's private state, shared by aof.c (write path, files,
 * INFO), aof_rewrite.c (fork, child, completion) and aof_load.c (loading).
 * Nothing outside src/persist/aof*.c includes this.
 *
 * Invariants:
 *  - state == AOF_OFF      => fd == -1 and buf_len == 0.
 *  - state == AOF_ON       => fd is open on man.incr[man.nincr - 1].
 *  - state == AOF_WAIT_REWRITE => fd is the temp incr file (or -1 before the
 *    first rewrite started).
 *  - last_incr_size == bytes of the current incr file that were written;
 *    current_size == size of the base + of every incr file listed.
 *  - child_pid > 0 iff a rewrite child runs.
 *  - in_multi == 1 between a fed MULTI and its EXEC; no incr switch happens
 *    then.
 */
#ifndef TESSERA_AOF_INT_H
#define TESSERA_AOF_INT_H

#include <stddef.h>
#include <stdint.h>

#include "aof.h"
#include "aof_bio.h"
#include "aof_manifest.h"

#define AOF_AUTOSYNC_BYTES (4u * 1024 * 1024) /* aof-rewrite-incremental-fsync step */
#define AOF_WRITE_LOG_ERROR_RATE_MS 30000
#define AOF_REWRITE_FAIL_LIMIT 3
#define AOF_BUF_KEEP 4000 /* buffers bigger than this are freed after a write */

struct aof_s {
    aof_conf_t conf;           /* names point to fname/dname below */
    char *fname;               /* appendfilename */
    char *dname;               /* appenddirname */
    char *workdir;             /* the server's dir */
    char *dir;                 /* workdir/appenddirname */
    int state;
    aof_manifest_t man;
    int fd;
    char *buf;
    size_t buf_len, buf_cap;
    int selected_db;           /* -1: the next command gets a SELECT */
    int in_multi;
    uint64_t last_ts_s;        /* last #TS annotation (aof-timestamp-enabled) */

    long long current_size;
    long long last_incr_size;
    long long fsync_offset;    /* current_size at the last fsync (any) */
    long long rewrite_base_size;
    uint64_t last_fsync_ms;
    uint64_t flush_postponed_start_ms;
    unsigned long delayed_fsync;
    int write_error;           /* last write failed (MISCONF) */
    int write_errno;
    uint64_t last_write_error_log_ms;
    uint64_t last_error_retry_ms;
    char refuse_msg[160];
    aof_bio_t *bio;

    /* rewrite */
    int child_pid;
    int child_rdb;             /* the child writes an RDB base (preamble yes at fork) */
    int cow_pipe;              /* read end, child reports its CoW bytes */
    uint64_t rewrite_start_ms;
    int rewrite_scheduled;
    long long last_rewrite_time_s; /* -1 never */
    int last_bgrewrite_ok;
    long long rewrites;
    long long rewrites_consecutive_failures;
    uint64_t rewrite_retry_after_ms; /* auto rewrites wait after repeated failures */
    size_t last_cow_size;
};

/* aof.c */
/* Open (creating) name inside the AOF dir for appending; fd or -1 (errno). */
int aof_open_append(aof_t *aof, const char *name, int truncate);
/* Persist aof->man atomically; 0 or -1 (logged). */
int aof_persist_manifest(aof_t *aof, const aof_manifest_t *m);
/* Create the AOF directory if missing; 0 or -1 (logged). */
int aof_ensure_dir(aof_t *aof);
/* Size of a file in the AOF dir (0 if missing). */
long long aof_file_size(const aof_t *aof, const char *name);
/* Delete every history file (background) and persist the manifest without them. */
void aof_delete_history(aof_t *aof);
/* Replace the current fd: the old one is fsynced and closed in the background. */
void aof_switch_fd(aof_t *aof, int fd);

/* The options of an RDB base (aof-use-rdb-preamble yes): rdbcompression,
 * rdbchecksum, the aof-base aux field, no replication fields. */
struct rdb_file_opts_s;
void aof_rdb_base_opts(const aof_t *aof, struct ks_s *ks, uint64_t now_ms,
                       struct rdb_file_opts_s *o);

/* aof_rewrite.c */
int aof_rewrite_start(aof_t *aof, struct ks_s *ks, uint64_t now_ms);
void aof_rewrite_poll(aof_t *aof, uint64_t now_ms, int block);
void aof_rewrite_kill(aof_t *aof);

#endif
