/*
 * rdb_save.h — RDB snapshots on disk: the synchronous save (SAVE, SHUTDOWN),
 * the background save in a forked child (BGSAVE, save points), loading a file
 * into the keyspace at start, and the snapshot state that LASTSAVE, INFO
 * persistence and the MISCONF rule read.
 *
 * Owns: the one RDB child of the process (at most one at a time), the temp
 * file it writes ("temp-<pid>.rdb" in the working directory, renamed over the
 * target when complete), and the process-wide snapshot state below.
 * Must not: include <uv.h>, server.h or config.h (callers pass plain values);
 * reap any child but its own (waitpid on its pid only).
 * Invariant: rdb_bgsave_in_progress() iff a child was forked and not yet
 * reaped; the state is only changed from the main thread.
 */
#ifndef TESSERA_RDB_SAVE_H
#define TESSERA_RDB_SAVE_H

#include <stddef.h>
#include <stdint.h>

#include "persist/rdb.h"

struct ks_s;

/* How a snapshot is written. */
typedef struct rdb_file_opts_s {
    int compress;          /* rdbcompression */
    int checksum;          /* rdbchecksum */
    int incremental_fsync; /* rdb-save-incremental-fsync: fsync every 4 MB */
    int policy;            /* KS_POLICY_* of the keyspace (IDLE/FREQ per key) */
    uint64_t now_ms;
    /* repl-id / repl-offset / repl-stream-db aux fields (repl_save_info of
     * repl/repl.h); repl_id NULL: none. */
    const char *repl_id;
    long long repl_offset;
    int repl_stream_db;
    int aof_base; /* the "aof-base" aux field: 1 for an AOF base (preamble) */
} rdb_file_opts_t;

/* The snapshot state (one per process). */
typedef struct rdb_status_s {
    long long lastsave_s;           /* time of the last successful save (0: never) */
    int last_bgsave_ok;             /* rdb_last_bgsave_status */
    long long last_bgsave_time_sec; /* -1 before the first */
    long long last_bgsave_try_s;    /* when the last BGSAVE was attempted */
    uint64_t saves;                 /* rdb_saves */
    uint64_t last_load_keys_loaded, last_load_keys_expired;
    int scheduled; /* BGSAVE SCHEDULE pending */
    int child_pid; /* 0: none */
    uint64_t child_start_ms;
    uint64_t dirty_at_start; /* the change counter when the child forked */
} rdb_status_t;

/* The state, mutable for the glue (LASTSAVE after a load, scheduling). */
rdb_status_t *rdb_status(void);

/*
 * Write a snapshot of ks to `filename` (relative to the working directory):
 * temp-<pid>.rdb, fsync, rename, fsync of the directory. Logs like Redis
 * ("DB saved on disk" or the reason). 0 or -1. Does not touch rdb_status().
 */
int rdb_save_file(struct ks_s *ks, const char *filename, const rdb_file_opts_t *o);

/*
 * The snapshot of ks written to an open fd, nothing else (no temp file, no
 * fsync, no log): the RDB base of an AOF (aof-use-rdb-preamble yes), with
 * o->aof_base set. ks NULL writes an empty dataset. 0, or -1 (errno set).
 */
int rdb_write_fd(int fd, struct ks_s *ks, const rdb_file_opts_t *o);
/* The same snapshot into any sink (a pipe, memory). 0, or -1. */
int rdb_write_sink(rdb_write_fn fn, void *arg, struct ks_s *ks, const rdb_file_opts_t *o);
/* First thing in a forked snapshot child: SIGTERM/SIGINT/SIGUSR1 back to
 * their defaults (the loop's handlers write into a pipe shared with the
 * parent) and the 'C' role in log lines. */
void rdb_child_setup(void);

/*
 * A foreground save (SAVE, SHUTDOWN, FLUSHALL with save points): rdb_save_file,
 * and on success lastsave = now and last_bgsave_ok = 1; saves is counted
 * either way. 0 or -1.
 */
int rdb_save_now(struct ks_s *ks, const char *filename, const rdb_file_opts_t *o);

/* BGSAVE results. */
enum { RDB_BG_STARTED = 0, RDB_BG_IN_PROGRESS = 1, RDB_BG_FAILED = -1 };
/*
 * Fork a child that writes the snapshot (the caller checks that no other child,
 * e.g. an AOF rewrite, is running). dirty_now is the change counter, handed
 * back by rdb_bgsave_poll so the caller can subtract what was saved.
 */
int rdb_bgsave_start(struct ks_s *ks, const char *filename, const rdb_file_opts_t *o,
                     uint64_t dirty_now);
/* 1 while the child runs. */
int rdb_bgsave_in_progress(void);
/*
 * Reap the child if it finished (non-blocking): 0 nothing happened, 1 it
 * succeeded (*dirty_at_start set; lastsave = now_ms), -1 it failed or was
 * killed. Logs the outcome as Redis does.
 */
int rdb_bgsave_poll(uint64_t now_ms, uint64_t *dirty_at_start);
/* Kill the child (SHUTDOWN, FLUSHALL) and remove its temp file; waits for it. */
void rdb_bgsave_kill(void);

/*
 * Load `filename` into ks (which should be empty). Returns 1 loaded, 0 the
 * file does not exist, -1 error (logged with the offset, as Redis's "Internal
 * error in RDB reading ..."). Expired keys are dropped when drop_expired.
 * Logs Redis's "Loading RDB produced by version ..." lines. st may be NULL.
 */
int rdb_load_file(struct ks_s *ks, const char *filename, uint64_t now_ms, int drop_expired,
                  int list_fill, rdb_load_stats_t *st);

/*
 * Load the RDB at the start of an AOF file held in memory (len bytes at p:
 * an RDB base, or an old-style appendonly.aof with an RDB preamble) into ks.
 * Keys already expired are kept, as Redis keeps them from a preamble (the
 * AOF after it may still touch them; they expire once loading is over).
 * *used gets the RDB's length (where the AOF commands, if any, start).
 * Logs like Redis ("Loading RDB produced by version ...", keys loaded).
 * 0, or -1 with the decoder's reason ("<reason> at offset N") in err.
 */
int rdb_load_preamble(struct ks_s *ks, const void *p, size_t len, uint64_t now_ms, int list_fill,
                      size_t *used, char *err, size_t errcap);

/*
 * INFO persistence lines from rdb_changes_since_last_save to
 * rdb_last_load_keys_loaded (Redis 7.0's order), each ending in "\r\n".
 * dirty is the change counter. Returns the length (NUL-terminated,
 * truncated to cap - 1).
 */
size_t rdb_info(uint64_t now_ms, uint64_t dirty, char *buf, size_t cap);

/*
 * The MISCONF rule for RDB (Redis's writeCommandsDeniedByDiskError): 1 with
 * *msg (Redis's text without the leading '-') when stop-writes-on-bgsave-error
 * is on, save points are configured and the last background save failed.
 */
int rdb_writes_refused(int stop_writes_on_bgsave_error, int nsave, const char **msg);

#endif
