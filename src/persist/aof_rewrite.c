/*
 * aof_rewrite.c — the AOF rewrite, Redis 7.0 style: the parent flushes its
 * buffer, opens a new incr file (recorded in the manifest) and forks; the
 * child writes the keyspace snapshot into a temporary base file — an RDB
 * when aof-use-rdb-preamble is yes (Redis's default; the base is then named
 * <name>.<seq>.base.rdb), else commands (<name>.<seq>.base.aof); when the
 * child succeeds the parent renames it to the next base name, turns
 * the old base and older incr files into history, persists the manifest
 * atomically and deletes the history files in the background.
 *
 * Also: the per-type emitter table and the snapshot writer (aof_rewrite.h).
 * Must not: include <uv.h>; in the child: log through anything but log_msg
 * (one write per line), touch the parent's files other than its temp file.
 * Invariant: between a successful fork and its completion, the parent writes
 * only to the incr file opened for this rewrite, so base(snapshot) + that
 * incr file == the dataset.
 */
#include "aof_rewrite.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../ks/db.h"
#include "../lib/log.h"
#include "../lib/mem.h"
#include "aof_int.h"
#include "rdb_save.h"

/* ---- the writer ------------------------------------------------------------ */

#define EMIT_BUF (64 * 1024)

struct aof_emit_s {
    int fd;
    int incremental_fsync;
    int err;             /* errno of the first failure, 0 if none */
    size_t len;          /* bytes in buf */
    size_t total;        /* bytes written to fd */
    size_t since_sync;
    char buf[EMIT_BUF];
};

static int emit_drain(aof_emit_t *w)
{
    size_t off = 0;
    while (off < w->len) {
        ssize_t n = write(w->fd, w->buf + off, w->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            w->err = n < 0 ? errno : ENOSPC;
            return -1;
        }
        off += (size_t)n;
    }
    w->total += w->len;
    w->since_sync += w->len;
    w->len = 0;
    if (w->incremental_fsync && w->since_sync >= AOF_AUTOSYNC_BYTES) {
        if (fdatasync(w->fd) == -1 && errno != EINVAL) {
            w->err = errno;
            return -1;
        }
        w->since_sync = 0;
    }
    return 0;
}

static int emit_raw(aof_emit_t *w, const void *p, size_t n)
{
    if (w->err)
        return -1;
    const char *s = p;
    while (n > 0) {
        if (w->len == EMIT_BUF && emit_drain(w) != 0)
            return -1;
        size_t room = EMIT_BUF - w->len, k = n < room ? n : room;
        memcpy(w->buf + w->len, s, k);
        w->len += k;
        s += k;
        n -= k;
    }
    return 0;
}

static int emit_header(aof_emit_t *w, char prefix, long long v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "%c%lld\r\n", prefix, v);
    return emit_raw(w, tmp, (size_t)n);
}

int aof_emit_array(aof_emit_t *w, long long argc) { return emit_header(w, '*', argc); }

int aof_emit_bulk(aof_emit_t *w, const void *p, size_t n)
{
    if (emit_header(w, '$', (long long)n) != 0 || emit_raw(w, p, n) != 0)
        return -1;
    return emit_raw(w, "\r\n", 2);
}

int aof_emit_bulk_ll(aof_emit_t *w, long long v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%lld", v);
    return aof_emit_bulk(w, tmp, (size_t)n);
}

int aof_emit_bulk_slice(aof_emit_t *w, slice_t s) { return aof_emit_bulk(w, s.p, s.len); }

/* ---- per-type emitters ------------------------------------------------------- */

static int emit_string(aof_emit_t *w, const kv_t *kv, slice_t key)
{
    char tmp[32];
    slice_t v = kv_str(kv, tmp);
    aof_emit_array(w, 3);
    aof_emit_bulk(w, "SET", 3);
    aof_emit_bulk_slice(w, key);
    return aof_emit_bulk_slice(w, v);
}

static aof_emit_fn emitters[OBJ_TYPES] = {
    [OBJ_STRING] = emit_string, [OBJ_LIST] = aof_emit_list, [OBJ_SET] = aof_emit_set,
    [OBJ_ZSET] = aof_emit_zset, [OBJ_HASH] = aof_emit_hash,
};

void aof_rewrite_register(int type, aof_emit_fn fn)
{
    if (type >= 0 && type < OBJ_TYPES)
        emitters[type] = fn;
}

/* ---- the snapshot -------------------------------------------------------------- */

static int dump_db(aof_emit_t *w, db_t *db, int id, uint64_t now_ms)
{
    db_iter_t it;
    kv_t *kv;
    aof_emit_array(w, 2);
    aof_emit_bulk(w, "SELECT", 6);
    aof_emit_bulk_ll(w, id);
    db_iter_init(&it, db);
    while ((kv = db_iter_next(&it)) != NULL && !w->err) {
        if (db_kv_is_expired(kv, now_ms))
            continue;
        aof_emit_fn fn = kv->type < OBJ_TYPES ? emitters[kv->type] : NULL;
        if (fn == NULL) {
            w->err = EINVAL;
            break;
        }
        slice_t key = kv_key(kv);
        fn(w, kv, key);
        if (kv->has_expire) {
            aof_emit_array(w, 3);
            aof_emit_bulk(w, "PEXPIREAT", 9);
            aof_emit_bulk_slice(w, key);
            aof_emit_bulk_ll(w, kv_expire(kv));
        }
    }
    db_iter_deinit(&it);
    return w->err ? -1 : 0;
}

int aof_rewrite_dump(struct ks_s *ks, int fd, uint64_t now_ms, int incremental_fsync,
                     size_t *bytes)
{
    aof_emit_t *w = mem_calloc(sizeof(*w));
    w->fd = fd;
    w->incremental_fsync = incremental_fsync;
    int rc = 0;
    for (int i = 0; i < ks_ndbs(ks) && rc == 0; i++) {
        db_t *db = ks_db(ks, i);
        if (db_size(db) > 0)
            rc = dump_db(w, db, i, now_ms);
    }
    if (rc == 0 && w->len > 0)
        rc = emit_drain(w);
    int e = w->err;
    if (bytes)
        *bytes = w->total;
    mem_free(w);
    errno = e;
    return rc == 0 && e == 0 ? 0 : -1;
}

void aof_rdb_base_opts(const aof_t *aof, struct ks_s *ks, uint64_t now_ms, rdb_file_opts_t *o)
{
    *o = (rdb_file_opts_t){.compress = aof->conf.rdb_compression,
                           .checksum = aof->conf.rdb_checksum,
                           .incremental_fsync = aof->conf.rewrite_incremental_fsync,
                           .policy = ks != NULL ? ks_policy(ks) : 0,
                           .now_ms = now_ms,
                           .aof_base = 1};
}

/* ---- the child ------------------------------------------------------------------ */

/* Private dirty bytes of this process (the copy-on-write cost of the fork). */
static size_t child_cow_bytes(void)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (f == NULL)
        return 0;
    char line[256];
    size_t kb = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned long v;
        if (sscanf(line, "Private_Dirty: %lu kB", &v) == 1)
            kb += v;
    }
    fclose(f);
    return kb * 1024;
}

/* The snapshot as an RDB (aof-use-rdb-preamble yes at fork) or as commands. */
static int write_base(aof_t *aof, struct ks_s *ks, int fd, uint64_t now_ms)
{
    if (!aof->child_rdb)
        return aof_rewrite_dump(ks, fd, now_ms, aof->conf.rewrite_incremental_fsync, NULL);
    rdb_file_opts_t o;
    aof_rdb_base_opts(aof, ks, now_ms, &o);
    return rdb_write_fd(fd, ks, &o);
}

static void child_main(aof_t *aof, struct ks_s *ks, uint64_t now_ms, int cow_fd)
{
    log_set_role('C');
    char *name = aof_name_temp_rewrite((int)getpid());
    char *path = aof_path(aof->dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int ok = fd >= 0;
    if (!ok)
        log_warning("Opening the temp file for AOF rewrite in rewriteAppendOnlyFile(): %s",
                    strerror(errno));
    if (ok && (write_base(aof, ks, fd, now_ms) != 0 || fsync(fd) != 0 || close(fd) != 0)) {
        log_warning("Write error writing append only file on disk: %s", strerror(errno));
        ok = 0;
    }
    if (ok) {
        log_notice("Successfully created the temporary AOF base file %s", name);
        size_t cow = child_cow_bytes();
        log_notice("Fork CoW for AOF rewrite: current %zu MB, peak %zu MB, average %zu MB",
                   cow >> 20, cow >> 20, cow >> 20);
        ssize_t n = write(cow_fd, &cow, sizeof(cow));
        (void)n;
    }
    _exit(ok ? 0 : 1);
}

/* ---- parent: start ----------------------------------------------------------------- */

/* Before the fork: the incr file the parent writes to while the child runs. */
static int open_rewrite_incr(aof_t *aof)
{
    if (aof->state == AOF_WAIT_REWRITE) {
        char *tmp = aof_name_temp_incr(aof->fname);
        int fd = aof_open_append(aof, tmp, 1);
        if (fd < 0) {
            log_warning("Can't open the append-only file %s: %s", tmp, strerror(errno));
            mem_free(tmp);
            return -1;
        }
        log_notice("Creating AOF incr file %s on background rewrite", tmp);
        mem_free(tmp);
        aof_switch_fd(aof, fd);
        return 0;
    }
    long long seq = aof->man.incr_seq + 1;
    char *name = aof_name_incr(aof->fname, seq);
    int fd = aof_open_append(aof, name, 1);
    if (fd < 0) {
        log_warning("Can't open the append-only file %s: %s", name, strerror(errno));
        mem_free(name);
        return -1;
    }
    aof_manifest_t m;
    aof_manifest_copy(&m, &aof->man);
    aof_manifest_add_incr(&m, name, seq);
    if (aof_persist_manifest(aof, &m) != 0) {
        close(fd);
        char *path = aof_path(aof->dir, name);
        unlink(path);
        mem_free(path);
        aof_manifest_deinit(&m);
        mem_free(name);
        return -1;
    }
    aof_manifest_deinit(&aof->man);
    aof->man = m;
    log_notice("Creating AOF incr file %s on background rewrite", name);
    mem_free(name);
    aof_switch_fd(aof, fd);
    return 0;
}

int aof_rewrite_start(aof_t *aof, struct ks_s *ks, uint64_t now_ms)
{
    if (aof->child_pid > 0)
        return -1;
    if (aof_ensure_dir(aof) != 0)
        return -1;
    if (aof->state != AOF_OFF) {
        aof_flush(aof, 1, now_ms);
        if (aof->buf_len > 0) {
            log_warning("Can't rewrite append only file in background: the AOF buffer can't be "
                        "written (%s)", strerror(aof->write_errno));
            return -1;
        }
        if (open_rewrite_incr(aof) != 0)
            return -1;
    }
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        log_warning("Can't rewrite append only file in background: pipe: %s", strerror(errno));
        return -1;
    }
    aof->rewrites++;
    aof->child_rdb = aof->conf.use_rdb_preamble;
    pid_t pid = fork();
    if (pid < 0) {
        log_warning("Can't rewrite append only file in background: fork: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        aof->last_bgrewrite_ok = 0;
        return -1;
    }
    if (pid == 0) {
        close(pfd[0]);
        child_main(aof, ks, now_ms, pfd[1]);
    }
    close(pfd[1]);
    aof->cow_pipe = pfd[0];
    aof->child_pid = pid;
    aof->rewrite_start_ms = now_ms;
    aof->rewrite_scheduled = 0;
    log_notice("Background append only file rewriting started by pid %ld", (long)pid);
    return 0;
}

int aof_bgrewrite(aof_t *aof, struct ks_s *ks, uint64_t now_ms, int in_exec)
{
    if (aof->child_pid > 0)
        return AOF_RW_IN_PROGRESS;
    if (aof->in_multi || in_exec) {
        aof->rewrite_scheduled = 1;
        return AOF_RW_SCHEDULED;
    }
    return aof_rewrite_start(aof, ks, now_ms) == 0 ? AOF_RW_STARTED : AOF_RW_FAILED;
}

/* ---- parent: completion ------------------------------------------------------------ */

static void unlink_in_dir(aof_t *aof, const char *name)
{
    char *path = aof_path(aof->dir, name);
    unlink(path);
    mem_free(path);
}

static int rename_in_dir(aof_t *aof, const char *from, const char *to)
{
    char *a = aof_path(aof->dir, from), *b = aof_path(aof->dir, to);
    int rc = rename(a, b);
    int e = errno;
    mem_free(a);
    mem_free(b);
    errno = e;
    return rc;
}

/* Install the child's base. 0, or -1 (files left as before the rewrite). */
static int install_new_base(aof_t *aof, const char *tmp)
{
    aof_manifest_t m;
    aof_manifest_copy(&m, &aof->man);
    char *base = aof_name_base(aof->fname, m.base_seq + 1, aof->child_rdb);
    char *incr = NULL, *tmp_incr = NULL;
    int rc = -1;
    if (rename_in_dir(aof, tmp, base) != 0) {
        log_warning("Error trying to rename the temporary AOF base file %s into %s: %s", tmp,
                    base, strerror(errno));
        goto out;
    }
    log_notice("Successfully renamed the temporary AOF base file %s into %s", tmp, base);
    aof_manifest_base_to_history(&m);
    aof_manifest_set_base(&m, base, m.base_seq + 1);
    if (aof->state == AOF_WAIT_REWRITE) {
        tmp_incr = aof_name_temp_incr(aof->fname);
        incr = aof_name_incr(aof->fname, m.incr_seq + 1);
        if (rename_in_dir(aof, tmp_incr, incr) != 0) {
            log_warning("Error trying to rename the temporary AOF incr file %s into %s: %s",
                        tmp_incr, incr, strerror(errno));
            unlink_in_dir(aof, base);
            goto out;
        }
        log_notice("Successfully renamed the temporary AOF incr file %s into %s", tmp_incr, incr);
        aof_manifest_incr_to_history(&m, 0);
        aof_manifest_add_incr(&m, incr, m.incr_seq + 1);
    } else {
        aof_manifest_incr_to_history(&m, aof->state == AOF_ON ? 1 : 0);
    }
    if (aof_persist_manifest(aof, &m) != 0) {
        unlink_in_dir(aof, base);
        if (incr != NULL)
            rename_in_dir(aof, incr, tmp_incr);
        goto out;
    }
    aof_manifest_deinit(&aof->man);
    aof->man = m;
    aof_manifest_init(&m); /* ownership moved to aof->man */
    rc = 0;
out:
    aof_manifest_deinit(&m);
    mem_free(base);
    mem_free(incr);
    mem_free(tmp_incr);
    return rc;
}

static void rewrite_done(aof_t *aof, int ok, uint64_t now_ms)
{
    char *tmp = aof_name_temp_rewrite(aof->child_pid);
    if (ok && install_new_base(aof, tmp) == 0) {
        if (aof->state == AOF_WAIT_REWRITE) {
            aof->state = AOF_ON;
            aof->fsync_offset = -1; /* the renamed file still needs its fsync */
        }
        long long base = aof_file_size(aof, aof->man.base->name);
        aof->current_size = base + aof->last_incr_size;
        aof->rewrite_base_size = aof->current_size;
        aof_delete_history(aof);
        aof->last_bgrewrite_ok = 1;
        aof->rewrites_consecutive_failures = 0;
        log_notice("Background AOF rewrite finished successfully");
    } else {
        unlink_in_dir(aof, tmp);
        aof->last_bgrewrite_ok = 0;
        aof->rewrites_consecutive_failures++;
        if (aof->rewrites_consecutive_failures >= AOF_REWRITE_FAIL_LIMIT) {
            long long n = aof->rewrites_consecutive_failures - AOF_REWRITE_FAIL_LIMIT;
            uint64_t minutes = n >= 6 ? 60 : (uint64_t)1 << n;
            aof->rewrite_retry_after_ms = now_ms + minutes * 60000;
            log_warning("Background AOF rewrite has repeatedly failed and triggered the limit, "
                        "will retry in %llu minutes", (unsigned long long)minutes);
        }
        if (aof->state == AOF_WAIT_REWRITE)
            aof->rewrite_scheduled = 1;
    }
    mem_free(tmp);
    aof->last_rewrite_time_s = (long long)((now_ms - aof->rewrite_start_ms) / 1000);
}

static void read_cow(aof_t *aof)
{
    size_t cow = 0;
    if (aof->cow_pipe >= 0) {
        if (read(aof->cow_pipe, &cow, sizeof(cow)) == (ssize_t)sizeof(cow))
            aof->last_cow_size = cow;
        close(aof->cow_pipe);
        aof->cow_pipe = -1;
    }
}

void aof_rewrite_poll(aof_t *aof, uint64_t now_ms, int block)
{
    if (aof->child_pid <= 0)
        return;
    int status;
    pid_t r = waitpid(aof->child_pid, &status, block ? 0 : WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR))
        return;
    int ok = r == aof->child_pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (r == aof->child_pid && WIFSIGNALED(status))
        log_warning("Background AOF rewrite terminated by signal %d", WTERMSIG(status));
    else if (ok)
        log_notice("Background AOF rewrite terminated with success");
    else
        log_warning("Background AOF rewrite terminated with error");
    if (ok)
        read_cow(aof);
    else if (aof->cow_pipe >= 0) {
        close(aof->cow_pipe);
        aof->cow_pipe = -1;
    }
    rewrite_done(aof, ok, now_ms);
    aof->child_pid = 0;
}

void aof_rewrite_kill(aof_t *aof)
{
    if (aof->child_pid <= 0)
        return;
    kill(aof->child_pid, SIGUSR1);
    int status;
    while (waitpid(aof->child_pid, &status, 0) < 0 && errno == EINTR)
        ;
    char *tmp = aof_name_temp_rewrite(aof->child_pid);
    unlink_in_dir(aof, tmp);
    mem_free(tmp);
    if (aof->cow_pipe >= 0) {
        close(aof->cow_pipe);
        aof->cow_pipe = -1;
    }
    aof->child_pid = 0;
}
