/*
 * aof.h — the append-only file, Redis 7.0 multi-part style: the write side
 * (command feed, the buffer written in before_sleep, fsync policies, write
 * errors), the files of <dir>/<appenddirname>/ and their manifest, the
 * rewrite (fork + new base while the parent opens a new incr file), start-up
 * loading, and the INFO persistence aof_* figures.
 *
 * Writer side: plain syscalls, fork and a pthread (aof_bio.h) — no libuv.
 * Time is passed in (now_ms). The command room is reached only through the
 * exec callback of the loader.
 *
 * States (Redis's aof_state):
 *   AOF_OFF           appendonly no: nothing is fed or written
 *   AOF_WAIT_REWRITE  appendonly just turned on: commands go to a temporary
 *                     incr file until the first rewrite produced a base
 *   AOF_ON            commands go to the last incr file of the manifest
 *
 *   OFF --aof_enable--> WAIT_REWRITE --rewrite done--> ON --aof_disable--> OFF
 *   (aof_open_on_start goes OFF -> ON directly after loading)
 */
#ifndef TESSERA_AOF_H
#define TESSERA_AOF_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/slice.h"

struct ks_s;

enum { AOF_OFF = 0, AOF_ON = 1, AOF_WAIT_REWRITE = 2 };
enum { AOF_FSYNC_NO = 0, AOF_FSYNC_ALWAYS = 1, AOF_FSYNC_EVERYSEC = 2 };

/* The directives the AOF follows (copied from the config by the caller). */
typedef struct aof_conf_s {
    int appendonly;
    const char *appendfilename;   /* immutable after aof_new */
    const char *appenddirname;    /* immutable after aof_new */
    int appendfsync;              /* AOF_FSYNC_* */
    int no_appendfsync_on_rewrite;
    int auto_rewrite_perc;
    long long auto_rewrite_min_size;
    int load_truncated;
    int use_rdb_preamble;         /* rewrites write the base as RDB (.base.rdb) */
    int rdb_compression;          /* rdbcompression, for RDB bases */
    int rdb_checksum;             /* rdbchecksum, for RDB bases */
    int rewrite_incremental_fsync;
    int timestamp_enabled;
} aof_conf_t;

typedef struct aof_s aof_t;

/* workdir: the server's `dir` (the AOF directory is workdir/appenddirname). */
aof_t *aof_new(const aof_conf_t *conf, const char *workdir);
/* Stops the background thread, closes files; kills a running rewrite child. */
void aof_free(aof_t *aof);
/* Runtime changes (CONFIG SET): fsync policy, auto rewrite, flags. The file
 * and directory names are not changed. */
void aof_set_conf(aof_t *aof, const aof_conf_t *conf);
int aof_state(const aof_t *aof);

/* ---- loading (at start, before serving) ---------------------------------- */

/*
 * Runs one command read from the AOF. Returns 0, or -1 to stop loading with a
 * reason in err (e.g. "Unknown command 'x'"); the loader adds file and offset.
 */
typedef int (*aof_exec_fn)(void *arg, int argc, slice_t *argv, char *err, size_t errcap);

typedef struct aof_load_s aof_load_t;

/*
 * Loads the RDB at the start of a file (an RDB base, or the preamble of an
 * old-style appendonly.aof): len bytes at p, of which the RDB is a prefix.
 * Sets *used to the RDB's length; the AOF commands after it (if any) are
 * then run through aof_exec_fn. 0, or -1 with a reason in err (the loader
 * adds the file name).
 */
typedef int (*aof_rdb_fn)(void *arg, const void *p, size_t len, size_t *used, char *err,
                          size_t errcap);

/* Read the manifest if the AOF directory has one (Redis reads it even with
 * appendonly no, so a later rewrite continues its sequence numbers).
 * 1: read, 0: there is none, -1: malformed or unreadable (logged: the server
 * must not start). */
int aof_load_manifest(aof_t *aof);
enum { AOF_LOAD_MORE = 1, AOF_LOAD_DONE = 0, AOF_LOAD_FAIL = -1 };

/*
 * Prepare loading: read the manifest (or migrate an old-style single
 * appendonly.aof into the directory, as Redis 7.0 does) and list the files to
 * load; every listed file must exist. Returns a loader (possibly with
 * nothing to load), or NULL after logging why the server must not start
 * (malformed manifest, missing file, an RDB base while rdb is NULL). now_us
 * times the load (logs); rdb (with rdb_arg) loads files that start with an
 * RDB (the magic "REDIS").
 */
aof_load_t *aof_load_begin(aof_t *aof, uint64_t (*now_us)(void), aof_rdb_fn rdb, void *rdb_arg);
/* Execute commands for at most max_cmds commands. AOF_LOAD_MORE: call again;
 * AOF_LOAD_DONE: all loaded (truncation handled per aof-load-truncated);
 * AOF_LOAD_FAIL: logged, the server must exit(1). */
int aof_load_step(aof_load_t *ld, size_t max_cmds, aof_exec_fn fn, void *arg);
/* Progress for INFO (loading_* fields). */
void aof_load_progress(const aof_load_t *ld, uint64_t *loaded, uint64_t *total);
/* Free the loader; on success (ok != 0) records sizes in aof. */
void aof_load_end(aof_load_t *ld, int ok);

/*
 * After loading, with appendonly yes: open the last incr file for appending
 * or create one (and an empty base when there was no AOF at all: an RDB with
 * aof-use-rdb-preamble yes, as Redis 7.0, stamped with now_ms), persist the
 * manifest, delete history files. State becomes AOF_ON. 0, or -1 (logged).
 */
int aof_open_on_start(aof_t *aof, uint64_t now_ms);

/* ---- the write path -------------------------------------------------------- */

/* Append one executed write command (db it ran in; < 0 for a command with no
 * db of its own, like the EXEC closing a propagated transaction: no SELECT).
 * No-op when AOF_OFF. */
void aof_feed(aof_t *aof, int db, int argc, const slice_t *argv, uint64_t now_ms);
/*
 * Write the buffer to the current incr file and apply the fsync policy
 * (before_sleep; force from shutdown/rewrite). appendfsync always: fsync
 * before returning, exit(1) if the write or fsync fails (Redis's rule:
 * nothing unpersisted may be acknowledged).
 */
void aof_flush(aof_t *aof, int force, uint64_t now_ms);
/* Once per cron tick: postponed flushes, write-error retries, background
 * fsync of written-but-unsynced bytes, rewrite child reaping, scheduled and
 * automatic rewrites. */
void aof_cron(aof_t *aof, struct ks_s *ks, uint64_t now_ms);

/* 1 when write commands must be refused; *msg is Redis's error text without
 * the leading '-': "MISCONF Errors writing to the AOF file: <strerror>". */
int aof_write_refused(const aof_t *aof, const char **msg);

/* ---- turning it on and off ------------------------------------------------- */

/* appendonly yes at runtime: start the first rewrite (state WAIT_REWRITE).
 * 0, or -1 (logged) if the rewrite can't start. */
int aof_enable(aof_t *aof, struct ks_s *ks, uint64_t now_ms);
/* appendonly no at runtime: flush, fsync, close, stop a running rewrite. */
void aof_disable(aof_t *aof);
/* Shutdown: kill a rewrite child, flush and fsync. 0, or -1 to refuse (the
 * buffer can't be written, or the first rewrite after enabling has not
 * completed, so the AOF has no base yet) unless force. */
int aof_shutdown(aof_t *aof, int force, uint64_t now_ms);

/* ---- rewrite ---------------------------------------------------------------- */

enum { AOF_RW_STARTED = 0, AOF_RW_SCHEDULED = 1, AOF_RW_IN_PROGRESS = 2, AOF_RW_FAILED = -1 };
/* BGREWRITEAOF: start now, or schedule it (when the propagation stream is
 * inside MULTI/EXEC, so no transaction is split across incr files). */
/* in_exec: called from inside EXEC, where the rewrite must wait until the
 * transaction is over (its commands may still be held for propagation). */
int aof_bgrewrite(aof_t *aof, struct ks_s *ks, uint64_t now_ms, int in_exec);
/* 1 while a rewrite child runs. */
int aof_rewrite_in_progress(const aof_t *aof);

/* ---- INFO -------------------------------------------------------------------- */

/* Redis 7.0's aof_* lines of INFO persistence (from aof_enabled to
 * module_fork_last_cow_size, then the aof_current_size... block when
 * enabled), "\r\n"-terminated. Returns the length written (truncated to cap-1,
 * NUL-terminated). */
size_t aof_info(const aof_t *aof, uint64_t now_ms, char *buf, size_t cap);

#endif
