/*
 * aof.c — the AOF write side: feeding executed commands into the buffer,
 * writing it to the current incr file, the fsync policies (always /
 * everysec with Redis's postponed-fsync rule / no), write errors (MISCONF
 * until the disk recovers), the files of the AOF directory on start and on
 * enable/disable/shutdown, and the INFO persistence aof_* lines.
 *
 * Must not: include <uv.h>, read clocks (now_ms comes in), touch the keyspace
 * (aof_rewrite.c does, in the child), execute commands (aof_load.c calls back).
 * Invariants: see aof_int.h. Log texts are Redis 7.0.15's.
 */
#include "aof_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../lib/mem.h"
#include "rdb_save.h"

/* ---- lifecycle ------------------------------------------------------------ */

static void conf_adopt(aof_t *aof, const aof_conf_t *c)
{
    aof->conf = *c;
    aof->conf.appendfilename = aof->fname;
    aof->conf.appenddirname = aof->dname;
}

aof_t *aof_new(const aof_conf_t *conf, const char *workdir)
{
    aof_t *aof = mem_calloc(sizeof(*aof));
    aof->fname = mem_strdup(conf->appendfilename ? conf->appendfilename : "appendonly.aof");
    aof->dname = mem_strdup(conf->appenddirname ? conf->appenddirname : "appendonlydir");
    aof->workdir = mem_strdup(workdir ? workdir : ".");
    aof->dir = aof_path(aof->workdir, aof->dname);
    conf_adopt(aof, conf);
    aof->state = AOF_OFF;
    aof_manifest_init(&aof->man);
    aof->fd = -1;
    aof->selected_db = -1;
    aof->cow_pipe = -1;
    aof->last_rewrite_time_s = -1;
    aof->last_bgrewrite_ok = 1;
    aof->bio = aof_bio_new();
    return aof;
}

void aof_free(aof_t *aof)
{
    if (aof == NULL)
        return;
    aof_rewrite_kill(aof);
    aof_bio_drain(aof->bio);
    if (aof->fd >= 0)
        close(aof->fd);
    aof_bio_free(aof->bio);
    aof_manifest_deinit(&aof->man);
    mem_free(aof->buf);
    mem_free(aof->fname);
    mem_free(aof->dname);
    mem_free(aof->workdir);
    mem_free(aof->dir);
    mem_free(aof);
}

void aof_set_conf(aof_t *aof, const aof_conf_t *conf) { conf_adopt(aof, conf); }
int aof_state(const aof_t *aof) { return aof->state; }
int aof_rewrite_in_progress(const aof_t *aof) { return aof->child_pid > 0; }

/* ---- files ------------------------------------------------------------------ */

int aof_ensure_dir(aof_t *aof)
{
    if (mkdir(aof->dir, 0755) == 0 || errno == EEXIST)
        return 0;
    log_warning("Can't open or create append-only dir %s: %s", aof->dname, strerror(errno));
    return -1;
}

int aof_open_append(aof_t *aof, const char *name, int truncate)
{
    char *path = aof_path(aof->dir, name);
    int flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : 0);
    int fd = open(path, flags, 0644);
    int e = errno;
    mem_free(path);
    errno = e;
    return fd;
}

long long aof_file_size(const aof_t *aof, const char *name)
{
    char *path = aof_path(aof->dir, name);
    struct stat st;
    long long n = stat(path, &st) == 0 ? (long long)st.st_size : 0;
    mem_free(path);
    return n;
}

int aof_persist_manifest(aof_t *aof, const aof_manifest_t *m)
{
    size_t len;
    char *txt = aof_manifest_encode(m, &len);
    char *name = aof_name_manifest(aof->fname);
    char *tmp = aof_name_temp_manifest(aof->fname);
    int rc = aof_manifest_write_atomic(aof->dir, name, tmp, txt, len);
    if (rc != 0)
        log_warning("Can't persist the AOF manifest file %s: %s", name, strerror(errno));
    mem_free(txt);
    mem_free(name);
    mem_free(tmp);
    return rc;
}

void aof_delete_history(aof_t *aof)
{
    if (aof->man.nhist == 0)
        return;
    for (size_t i = 0; i < aof->man.nhist; i++) {
        char *path = aof_path(aof->dir, aof->man.hist[i].name);
        log_notice("Removing the history file %s in the background", aof->man.hist[i].name);
        aof_bio_unlink(aof->bio, path);
        mem_free(path);
    }
    aof_manifest_clear_history(&aof->man);
    aof_persist_manifest(aof, &aof->man);
}

void aof_switch_fd(aof_t *aof, int fd)
{
    if (aof->fd >= 0)
        aof_bio_fsync_close(aof->bio, aof->fd);
    aof->fd = fd;
    aof->last_incr_size = 0;
    aof->selected_db = -1;
}

/* An empty base file (the dataset is empty when this runs): an RDB with just
 * its header and footer when aof-use-rdb-preamble is yes, else no bytes. */
static int create_empty_base(aof_t *aof, uint64_t now_ms)
{
    int rdb = aof->conf.use_rdb_preamble;
    char *name = aof_name_base(aof->fname, aof->man.base_seq + 1, rdb);
    int fd = aof_open_append(aof, name, 1);
    rdb_file_opts_t o;
    aof_rdb_base_opts(aof, NULL, now_ms, &o);
    if (fd < 0 || (rdb && rdb_write_fd(fd, NULL, &o) != 0) || fsync(fd) != 0) {
        log_warning("Can't create the AOF base file %s: %s", name, strerror(errno));
        if (fd >= 0)
            close(fd);
        mem_free(name);
        return -1;
    }
    close(fd);
    aof_manifest_set_base(&aof->man, name, aof->man.base_seq + 1);
    log_notice("Creating AOF base file %s on server start", name);
    mem_free(name);
    return 0;
}

int aof_open_on_start(aof_t *aof, uint64_t now_ms)
{
    if (aof_ensure_dir(aof) != 0)
        return -1;
    int fresh = aof->man.base == NULL && aof->man.nincr == 0;
    int changed = aof->man.nhist > 0;
    if (fresh) {
        if (create_empty_base(aof, now_ms) != 0)
            return -1;
        changed = 1;
    }
    int fd;
    if (aof->man.nincr > 0) {
        const char *name = aof->man.incr[aof->man.nincr - 1].name;
        fd = aof_open_append(aof, name, 0);
        if (fd < 0) {
            log_warning("Can't open the append-only file %s: %s", name, strerror(errno));
            return -1;
        }
        aof->fd = fd;
        aof->last_incr_size = aof_file_size(aof, name);
        log_notice("Opening AOF incr file %s on server start", name);
    } else {
        char *name = aof_name_incr(aof->fname, aof->man.incr_seq + 1);
        fd = aof_open_append(aof, name, 1);
        if (fd < 0) {
            log_warning("Can't open the append-only file %s: %s", name, strerror(errno));
            mem_free(name);
            return -1;
        }
        aof->fd = fd;
        aof->last_incr_size = 0;
        aof_manifest_add_incr(&aof->man, name, aof->man.incr_seq + 1);
        log_notice("Creating AOF incr file %s on server start", name);
        mem_free(name);
        changed = 1;
    }
    if (changed && aof_persist_manifest(aof, &aof->man) != 0)
        return -1;
    aof_delete_history(aof);
    aof->state = AOF_ON;
    aof->selected_db = -1;
    aof->fsync_offset = aof->current_size;
    return 0;
}

/* ---- feed ------------------------------------------------------------------- */

static void buf_reserve(aof_t *aof, size_t add)
{
    if (aof->buf_len + add <= aof->buf_cap)
        return;
    size_t cap = aof->buf_cap ? aof->buf_cap : 1024;
    while (cap < aof->buf_len + add)
        cap *= 2;
    aof->buf = mem_realloc(aof->buf, cap);
    aof->buf_cap = cap;
}

/* "<prefix><n>\r\n" */
static void buf_header(aof_t *aof, char prefix, unsigned long long n)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    tmp[--i] = '\n';
    tmp[--i] = '\r';
    do {
        tmp[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n > 0);
    tmp[--i] = prefix;
    memcpy(aof->buf + aof->buf_len, tmp + i, sizeof(tmp) - i);
    aof->buf_len += sizeof(tmp) - i;
}

static void buf_command(aof_t *aof, int argc, const slice_t *argv)
{
    size_t need = 24;
    for (int i = 0; i < argc; i++)
        need += argv[i].len + 26;
    buf_reserve(aof, need);
    buf_header(aof, '*', (unsigned long long)argc);
    for (int i = 0; i < argc; i++) {
        buf_header(aof, '$', argv[i].len);
        memcpy(aof->buf + aof->buf_len, argv[i].p, argv[i].len);
        aof->buf_len += argv[i].len;
        aof->buf[aof->buf_len++] = '\r';
        aof->buf[aof->buf_len++] = '\n';
    }
}

void aof_feed(aof_t *aof, int db, int argc, const slice_t *argv, uint64_t now_ms)
{
    if (aof->state == AOF_OFF || argc < 1)
        return;
    if (aof->conf.timestamp_enabled && now_ms / 1000 != aof->last_ts_s) {
        char ts[48];
        aof->last_ts_s = now_ms / 1000;
        int n = snprintf(ts, sizeof(ts), "#TS:%llu\r\n", (unsigned long long)aof->last_ts_s);
        buf_reserve(aof, (size_t)n);
        memcpy(aof->buf + aof->buf_len, ts, (size_t)n);
        aof->buf_len += (size_t)n;
    }
    if (db >= 0 && db != aof->selected_db) { /* db < 0: no db of its own (EXEC) */
        char dbs[16];
        int n = snprintf(dbs, sizeof(dbs), "%d", db);
        slice_t sel[2] = {SLICE_LIT("SELECT"), {dbs, (size_t)n}};
        buf_command(aof, 2, sel);
        aof->selected_db = db;
    }
    buf_command(aof, argc, argv);
    if (slice_eq_ci(argv[0], "multi"))
        aof->in_multi = 1;
    else if (slice_eq_ci(argv[0], "exec"))
        aof->in_multi = 0;
}

/* ---- flush and fsync -------------------------------------------------------- */

/* The everysec/always fsync step after a successful write (or none needed). */
static void try_fsync(aof_t *aof, uint64_t now_ms)
{
    if (aof->conf.no_appendfsync_on_rewrite && aof->child_pid > 0)
        return;
    if (aof->conf.appendfsync == AOF_FSYNC_ALWAYS) {
        if (aof->fsync_offset == aof->current_size)
            return;
        if (fdatasync(aof->fd) == -1 && errno != EINVAL) {
            log_warning("Can't persist AOF for fsync error when the AOF fsync policy is "
                        "'always': %s. Exiting...", strerror(errno));
            exit(1);
        }
        aof->fsync_offset = aof->current_size;
        aof->last_fsync_ms = now_ms;
    } else if (aof->conf.appendfsync == AOF_FSYNC_EVERYSEC &&
               now_ms >= aof->last_fsync_ms + 1000) {
        if (aof_bio_pending_fsync(aof->bio) == 0) {
            aof_bio_fsync(aof->bio, aof->fd);
            aof->fsync_offset = aof->current_size;
        }
        aof->last_fsync_ms = now_ms;
    }
}

/* A failed or short write of n bytes (n < 0: nothing written). */
static void write_failed(aof_t *aof, ssize_t n, int err, uint64_t now_ms)
{
    int can_log = now_ms >= aof->last_write_error_log_ms + AOF_WRITE_LOG_ERROR_RATE_MS;
    if (can_log)
        aof->last_write_error_log_ms = now_ms;
    if (n < 0) {
        if (can_log)
            log_warning("Error writing to the AOF file: %s", strerror(err));
        aof->write_errno = err;
    } else {
        if (can_log)
            log_warning("Short write while writing to the AOF file: (nwritten=%lld, "
                        "expected=%lld)", (long long)n, (long long)aof->buf_len);
        if (ftruncate(aof->fd, (off_t)aof->last_incr_size) == -1) {
            if (can_log)
                log_warning("Could not remove short write from the append-only file. Redis "
                            "may refuse to load the AOF the next time it starts. ftruncate: %s",
                            strerror(errno));
        } else {
            n = -1; /* the partial write is gone */
        }
        aof->write_errno = err ? err : ENOSPC;
    }
    if (aof->conf.appendfsync == AOF_FSYNC_ALWAYS) {
        log_warning("Can't recover from AOF write error when the AOF fsync policy is 'always'. "
                    "Exiting...");
        exit(1);
    }
    aof->write_error = 1;
    if (n > 0) {
        aof->current_size += n;
        aof->last_incr_size += n;
        memmove(aof->buf, aof->buf + n, aof->buf_len - (size_t)n);
        aof->buf_len -= (size_t)n;
    }
}

/* Postpone the write while a background fsync runs (everysec), up to 2 s.
 * Returns 1 to skip this flush. */
static int postpone(aof_t *aof, uint64_t now_ms)
{
    if (aof_bio_pending_fsync(aof->bio) == 0)
        return 0;
    if (aof->flush_postponed_start_ms == 0) {
        aof->flush_postponed_start_ms = now_ms;
        return 1;
    }
    if (now_ms < aof->flush_postponed_start_ms + 2000)
        return 1;
    aof->delayed_fsync++;
    log_notice("Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer "
               "without waiting for fsync to complete, this may slow down Redis.");
    return 0;
}

void aof_flush(aof_t *aof, int force, uint64_t now_ms)
{
    if (aof->fd < 0 || aof->state == AOF_OFF)
        return;
    if (aof->buf_len == 0) {
        /* Written earlier but not yet synced (e.g. the fsync was postponed). */
        if (aof->conf.appendfsync == AOF_FSYNC_EVERYSEC && aof->fsync_offset != aof->current_size &&
            now_ms >= aof->last_fsync_ms + 1000 && aof_bio_pending_fsync(aof->bio) == 0)
            try_fsync(aof, now_ms);
        else if (aof->conf.appendfsync == AOF_FSYNC_ALWAYS)
            try_fsync(aof, now_ms);
        return;
    }
    if (aof->conf.appendfsync == AOF_FSYNC_EVERYSEC && !force && postpone(aof, now_ms))
        return;
    size_t off = 0;
    ssize_t w = 0;
    while (off < aof->buf_len) {
        w = write(aof->fd, aof->buf + off, aof->buf_len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    aof->flush_postponed_start_ms = 0;
    if (off != aof->buf_len) {
        int e = w < 0 ? errno : ENOSPC;
        write_failed(aof, off > 0 ? (ssize_t)off : -1, e, now_ms);
        return;
    }
    if (aof->write_error) {
        log_warning("AOF write error looks solved, Redis can write again.");
        aof->write_error = 0;
    }
    aof->current_size += (long long)off;
    aof->last_incr_size += (long long)off;
    if (aof->buf_cap <= AOF_BUF_KEEP) {
        aof->buf_len = 0;
    } else {
        mem_free(aof->buf);
        aof->buf = NULL;
        aof->buf_len = aof->buf_cap = 0;
    }
    try_fsync(aof, now_ms);
}

int aof_write_refused(const aof_t *aof, const char **msg)
{
    if (aof->state == AOF_OFF)
        return 0;
    int e = aof->write_error ? aof->write_errno : aof_bio_fsync_errno(aof->bio);
    if (!aof->write_error && e == 0)
        return 0;
    aof_t *m = (aof_t *)aof; /* the message buffer only */
    snprintf(m->refuse_msg, sizeof(m->refuse_msg), "MISCONF Errors writing to the AOF file: %s",
             strerror(e));
    *msg = m->refuse_msg;
    return 1;
}

/* ---- cron --------------------------------------------------------------------- */

static int auto_rewrite_due(aof_t *aof, uint64_t now_ms)
{
    if (aof->state != AOF_ON || aof->child_pid > 0 || aof->rewrite_scheduled ||
        aof->conf.auto_rewrite_perc <= 0 || aof->current_size <= aof->conf.auto_rewrite_min_size)
        return 0;
    long long base = aof->rewrite_base_size ? aof->rewrite_base_size : 1;
    long long growth = aof->current_size * 100 / base - 100;
    if (growth < aof->conf.auto_rewrite_perc)
        return 0;
    if (aof->rewrites_consecutive_failures >= AOF_REWRITE_FAIL_LIMIT &&
        now_ms < aof->rewrite_retry_after_ms)
        return 0;
    log_notice("Starting automatic rewriting of AOF on %lld%% growth", growth);
    return 1;
}

void aof_cron(aof_t *aof, struct ks_s *ks, uint64_t now_ms)
{
    if (aof->child_pid > 0)
        aof_rewrite_poll(aof, now_ms, 0);
    if (aof->child_pid <= 0 && aof->rewrite_scheduled && !aof->in_multi) {
        aof->rewrite_scheduled = 0;
        if (aof_rewrite_start(aof, ks, now_ms) != 0 && aof->state == AOF_WAIT_REWRITE)
            aof->rewrite_scheduled = 1;
    }
    if (auto_rewrite_due(aof, now_ms) && !aof->in_multi)
        aof_rewrite_start(aof, ks, now_ms);
    if (aof->state == AOF_OFF)
        return;
    if (aof->flush_postponed_start_ms != 0)
        aof_flush(aof, 0, now_ms);
    if (aof->write_error && now_ms >= aof->last_error_retry_ms + 1000) {
        aof->last_error_retry_ms = now_ms;
        aof_flush(aof, 0, now_ms);
    }
    if (aof->buf_len == 0)
        aof_flush(aof, 0, now_ms); /* background fsync of written, unsynced bytes */
}

/* ---- enable / disable / shutdown -------------------------------------------- */

int aof_enable(aof_t *aof, struct ks_s *ks, uint64_t now_ms)
{
    if (aof->state != AOF_OFF)
        return 0;
    if (aof->child_pid > 0) {
        log_notice("AOF was enabled but there is already an AOF rewriting in background. "
                   "Stopping background AOF and starting a rewrite now.");
        aof_rewrite_kill(aof);
    }
    aof->state = AOF_WAIT_REWRITE;
    aof->last_fsync_ms = now_ms;
    aof->selected_db = -1;
    if (aof_rewrite_start(aof, ks, now_ms) != 0) {
        log_warning("Redis needs to enable the AOF but can't trigger a background AOF rewrite "
                    "operation. Check the above logs for more info about the error.");
        aof->state = AOF_OFF;
        if (aof->fd >= 0) {
            close(aof->fd);
            aof->fd = -1;
        }
        aof->buf_len = 0;
        return -1;
    }
    return 0;
}

void aof_disable(aof_t *aof)
{
    if (aof->state == AOF_OFF)
        return;
    aof_flush(aof, 1, 0);
    aof_bio_drain(aof->bio);
    if (aof->fd >= 0) {
        if (fdatasync(aof->fd) == -1 && errno != EINVAL)
            log_warning("Fail to fsync the AOF file: %s", strerror(errno));
        close(aof->fd);
        aof->fd = -1;
    }
    if (aof->child_pid > 0) {
        log_notice("Killing running AOF rewrite child: %ld", (long)aof->child_pid);
        aof_rewrite_kill(aof);
    }
    if (aof->state == AOF_WAIT_REWRITE) {
        char *tmp = aof_name_temp_incr(aof->fname);
        char *path = aof_path(aof->dir, tmp);
        unlink(path);
        mem_free(tmp);
        mem_free(path);
    }
    aof->state = AOF_OFF;
    aof->rewrite_scheduled = 0;
    aof->buf_len = 0;
    aof->write_error = 0;
    aof->in_multi = 0;
}

int aof_shutdown(aof_t *aof, int force, uint64_t now_ms)
{
    if (aof->state == AOF_WAIT_REWRITE && !force) {
        /* No base yet: exiting now would leave an AOF without this data. */
        log_warning(aof->child_pid > 0 ? "Writing initial AOF, can't exit."
                                        : "The initial AOF rewrite has not succeeded yet "
                                          "(retrying), can't exit.");
        aof->rewrite_scheduled = aof->child_pid <= 0;
        return -1;
    }
    if (aof->child_pid > 0) {
        log_warning("There is a child rewriting the AOF. Killing it!");
        aof_rewrite_kill(aof);
    }
    if (aof->state == AOF_OFF || aof->fd < 0)
        return 0;
    aof_flush(aof, 1, now_ms);
    if (aof->buf_len > 0 && !force) {
        log_warning("Error writing the AOF buffer on shutdown (%zu bytes pending): %s",
                    aof->buf_len, strerror(aof->write_errno));
        return -1;
    }
    log_notice("Calling fsync() on the AOF file.");
    if (fdatasync(aof->fd) == -1 && errno != EINVAL)
        log_warning("Fail to fsync the AOF file: %s", strerror(errno));
    aof_bio_drain(aof->bio);
    return 0;
}

/* ---- INFO --------------------------------------------------------------------- */

/* Append a formatted piece at *len, never past cap - 1 (NUL-terminated). */
static void info_add(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void info_add(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    if (cap == 0 || *len >= cap - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len += (size_t)n < cap - *len ? (size_t)n : cap - *len - 1;
}

size_t aof_info(const aof_t *aof, uint64_t now_ms, char *buf, size_t cap)
{
    long long cur = aof->child_pid > 0 ? (long long)((now_ms - aof->rewrite_start_ms) / 1000) : -1;
    int status_ok = !aof->write_error && aof_bio_fsync_errno(aof->bio) == 0;
    size_t len = 0;
    if (cap > 0)
        buf[0] = '\0';
    info_add(buf, cap, &len,
             "aof_enabled:%d\r\n"
             "aof_rewrite_in_progress:%d\r\n"
             "aof_rewrite_scheduled:%d\r\n"
             "aof_last_rewrite_time_sec:%lld\r\n"
             "aof_current_rewrite_time_sec:%lld\r\n"
             "aof_last_bgrewrite_status:%s\r\n"
             "aof_rewrites:%lld\r\n"
             "aof_rewrites_consecutive_failures:%lld\r\n"
             "aof_last_write_status:%s\r\n"
             "aof_last_cow_size:%zu\r\n"
             "module_fork_in_progress:0\r\n"
             "module_fork_last_cow_size:0\r\n",
             aof->state != AOF_OFF, aof->child_pid > 0, aof->rewrite_scheduled,
             aof->last_rewrite_time_s, cur, aof->last_bgrewrite_ok ? "ok" : "err", aof->rewrites,
             aof->rewrites_consecutive_failures, status_ok ? "ok" : "err", aof->last_cow_size);
    if (aof->state != AOF_OFF)
        info_add(buf, cap, &len,
                 "aof_current_size:%lld\r\n"
                 "aof_base_size:%lld\r\n"
                 "aof_pending_rewrite:%d\r\n"
                 "aof_buffer_length:%zu\r\n"
                 "aof_pending_bio_fsync:%lu\r\n"
                 "aof_delayed_fsync:%lu\r\n",
                 aof->current_size, aof->rewrite_base_size, aof->rewrite_scheduled, aof->buf_len,
                 aof_bio_pending_fsync(aof->bio), aof->delayed_fsync);
    return len;
}
