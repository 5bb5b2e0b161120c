/*
 * rdb_save.c — RDB files on disk (see rdb_save.h): writing a snapshot through
 * a temp file, the BGSAVE child (fork, reap, kill), loading a file at start,
 * and the snapshot state behind LASTSAVE / INFO persistence / MISCONF.
 *
 * Must not: include <uv.h> or server.h; wait for a child other than its own;
 * run anything in the child but the save itself (the child only walks memory,
 * writes one file and leaves with _exit).
 * The child resets SIGTERM/SIGINT/SIGUSR1 to their defaults at once: the
 * loop's handlers write into a pipe shared with the parent, so a signal meant
 * for the child would otherwise be taken as one for the server.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ks/db.h"
#include "ks/ks.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/util.h"
#include "persist/rdb_save.h"

#define AUTOSYNC_BYTES (4u << 20) /* rdb-save-incremental-fsync step (Redis's) */

static rdb_status_t state = {.last_bgsave_ok = 1, .last_bgsave_time_sec = -1};

rdb_status_t *rdb_status(void)
{
    return &state;
}

/* ---- writing a file -------------------------------------------------------------- */

typedef struct fd_sink_s {
    int fd;
    int autosync;
    uint64_t unsynced;
} fd_sink_t;

static int fd_write(void *arg, const void *p, size_t n)
{
    fd_sink_t *s = arg;
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(s->fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            return -1;
        }
        c += w;
        n -= (size_t)w;
        s->unsynced += (uint64_t)w;
    }
    if (s->autosync && s->unsynced >= AUTOSYNC_BYTES) {
        if (fdatasync(s->fd) != 0)
            return -1;
        s->unsynced = 0;
    }
    return 0;
}

static void fsync_dir_of(const char *filename)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(filename, '/');
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - filename + (slash == filename)), filename);
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int rdb_write_sink(rdb_write_fn fn, void *arg, struct ks_s *ks, const rdb_file_opts_t *o)
{
    rdb_writer_t w;
    rdb_save_info_t info = {.ctime_s = (long long)(o->now_ms / 1000),
                            .used_mem = mem_used(),
                            .policy = o->policy,
                            .now_ms = o->now_ms,
                            .repl_id = o->repl_id,
                            .repl_offset = o->repl_offset,
                            .repl_stream_db = o->repl_stream_db,
                            .aof_base = o->aof_base};
    unsigned flags = (o->compress ? RDB_W_COMPRESS : 0) | (o->checksum ? RDB_W_CHECKSUM : 0);
    rdb_writer_init(&w, fn, arg, flags);
    int rc = ks != NULL ? rdb_save_ks(&w, ks, &info)
                        : (rdb_write_header(&w, &info) != 0 ? -1 : rdb_write_footer(&w));
    int saved = errno;
    rdb_writer_deinit(&w);
    errno = saved;
    return rc;
}

int rdb_write_fd(int fd, struct ks_s *ks, const rdb_file_opts_t *o)
{
    fd_sink_t sink = {fd, o->incremental_fsync, 0};
    return rdb_write_sink(fd_write, &sink, ks, o);
}

void rdb_child_setup(void)
{
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGUSR1, SIG_DFL);
    log_set_role('C');
}

int rdb_save_file(struct ks_s *ks, const char *filename, const rdb_file_opts_t *o)
{
    char tmp[64], cwd[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "temp-%d.rdb", (int)getpid());
    if (getcwd(cwd, sizeof(cwd)) == NULL)
        snprintf(cwd, sizeof(cwd), "unknown");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        log_warning("Failed opening the temp RDB file %s (in server root dir %s) for saving: %s",
                    tmp, cwd, strerror(errno));
        return -1;
    }
    if (rdb_write_fd(fd, ks, o) != 0 || fsync(fd) != 0) {
        log_warning("Write error saving DB on disk: %s", strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (close(fd) != 0) {
        log_warning("Write error saving DB on disk: %s", strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, filename) != 0) {
        log_warning("Error moving temp DB file %s on the final destination %s (in server root "
                    "dir %s): %s",
                    tmp, filename, cwd, strerror(errno));
        unlink(tmp);
        return -1;
    }
    fsync_dir_of(filename);
    log_notice("DB saved on disk");
    return 0;
}

int rdb_save_now(struct ks_s *ks, const char *filename, const rdb_file_opts_t *o)
{
    state.saves++;
    if (rdb_save_file(ks, filename, o) != 0)
        return -1;
    state.lastsave_s = (long long)(o->now_ms / 1000);
    state.last_bgsave_ok = 1;
    return 0;
}

/* ---- the background child ------------------------------------------------------------ */

int rdb_bgsave_in_progress(void)
{
    return state.child_pid > 0;
}

int rdb_bgsave_start(struct ks_s *ks, const char *filename, const rdb_file_opts_t *o,
                     uint64_t dirty_now)
{
    if (state.child_pid > 0)
        return RDB_BG_IN_PROGRESS;
    state.last_bgsave_try_s = (long long)(o->now_ms / 1000);
    pid_t pid = fork();
    if (pid == 0) {
        rdb_child_setup();
        _exit(rdb_save_file(ks, filename, o) == 0 ? 0 : 1);
    }
    if (pid < 0) {
        state.last_bgsave_ok = 0;
        log_warning("Can't save in background: fork: %s", strerror(errno));
        return RDB_BG_FAILED;
    }
    state.saves++;
    state.child_pid = (int)pid;
    state.child_start_ms = o->now_ms;
    state.dirty_at_start = dirty_now;
    state.scheduled = 0;
    log_notice("Background saving started by pid %d", (int)pid);
    return RDB_BG_STARTED;
}

static void remove_temp_of(int pid)
{
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "temp-%d.rdb", pid);
    unlink(tmp);
}

/* Bookkeeping once the child is gone. 1 success, -1 failure. */
static int child_done(int status, uint64_t now_ms, uint64_t *dirty_at_start)
{
    int pid = state.child_pid;
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    state.child_pid = 0;
    state.last_bgsave_time_sec = (long long)((now_ms - state.child_start_ms) / 1000);
    if (ok) {
        log_notice("Background saving terminated with success");
        state.lastsave_s = (long long)(now_ms / 1000);
        state.last_bgsave_ok = 1;
        if (dirty_at_start != NULL)
            *dirty_at_start = state.dirty_at_start;
        return 1;
    }
    if (WIFSIGNALED(status)) {
        log_warning("Background saving terminated by signal %d", WTERMSIG(status));
        remove_temp_of(pid);
        if (WTERMSIG(status) != SIGUSR1) /* SIGUSR1: we killed it on purpose */
            state.last_bgsave_ok = 0;
    } else {
        log_warning("Background saving error");
        state.last_bgsave_ok = 0;
    }
    return -1;
}

int rdb_bgsave_poll(uint64_t now_ms, uint64_t *dirty_at_start)
{
    if (state.child_pid <= 0)
        return 0;
    int status;
    pid_t r = waitpid(state.child_pid, &status, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR))
        return 0;
    if (r < 0) {
        log_warning("waitpid() returned an error: %s. child_type: RDB, child_pid = %d",
                    strerror(errno), state.child_pid);
        status = 1 << 8; /* treat as a failed exit */
    }
    return child_done(status, now_ms, dirty_at_start);
}

void rdb_bgsave_kill(void)
{
    if (state.child_pid <= 0)
        return;
    int pid = state.child_pid, status;
    log_notice("Killing RDB child %d", pid);
    kill(pid, SIGUSR1);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    state.child_pid = 0;
    remove_temp_of(pid);
}

/* ---- loading a file ------------------------------------------------------------------ */

static size_t fd_read(void *arg, void *dst, size_t cap)
{
    int fd = *(int *)arg;
    for (;;) {
        ssize_t n = read(fd, dst, cap);
        if (n < 0 && errno == EINTR)
            continue;
        return n > 0 ? (size_t)n : 0;
    }
}

static void log_loaded(const rdb_load_stats_t *st, uint64_t now_ms, uint64_t t0_us)
{
    log_notice("Loading RDB produced by version %s", st->redis_ver[0] ? st->redis_ver : "unknown");
    if (st->ctime_s >= 0) {
        long long age = (long long)(now_ms / 1000) - st->ctime_s;
        log_notice("RDB age %lld seconds", age < 0 ? 0 : age);
    }
    if (st->used_mem >= 0)
        log_notice("RDB memory usage when created %.2f Mb", (double)st->used_mem / (1024 * 1024));
    if (st->empty_skipped > 0)
        log_warning("Done loading RDB, skipped %llu empty keys",
                    (unsigned long long)st->empty_skipped);
    log_notice("Done loading RDB, keys loaded: %llu, keys expired: %llu.",
               (unsigned long long)st->keys_loaded, (unsigned long long)st->keys_expired);
    log_notice("DB loaded from disk: %.3f seconds", (double)(time_mono_us() - t0_us) / 1e6);
}

int rdb_load_file(struct ks_s *ks, const char *filename, uint64_t now_ms, int drop_expired,
                  int list_fill, rdb_load_stats_t *out)
{
    rdb_load_stats_t local, *st = out ? out : &local;
    int fd = open(filename, O_RDONLY);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        log_warning("Fatal error loading the DB: %s. Exiting.", strerror(errno));
        return -1;
    }
    struct stat sb;
    uint64_t size = fstat(fd, &sb) == 0 ? (uint64_t)sb.st_size : UINT64_MAX;
    uint64_t t0 = time_mono_us();
    rdb_reader_t r;
    rdb_reader_init_fn(&r, fd_read, &fd, size);
    r.list_fill = list_fill;
    int rc = rdb_load_ks(&r, ks, now_ms, drop_expired, st);
    if (rc != RDB_OK) {
        log_warning("Internal error in RDB reading offset %llu -> %s",
                    (unsigned long long)r.err_off, rdb_reader_error(&r));
        log_warning("Terminating server after rdb file reading failure.");
    }
    rdb_reader_deinit(&r);
    close(fd);
    if (rc != RDB_OK)
        return -1;
    state.last_load_keys_loaded = st->keys_loaded;
    state.last_load_keys_expired = st->keys_expired;
    log_loaded(st, now_ms, t0);
    return 1;
}

int rdb_load_preamble(struct ks_s *ks, const void *p, size_t len, uint64_t now_ms, int list_fill,
                      size_t *used, char *err, size_t errcap)
{
    rdb_load_stats_t st;
    uint64_t t0 = time_mono_us();
    rdb_reader_t r;
    rdb_reader_init_mem(&r, p, len);
    r.list_fill = list_fill;
    int rc = rdb_load_ks(&r, ks, now_ms, 0, &st);
    if (rc == RDB_OK)
        *used = (size_t)rdb_reader_offset(&r);
    else
        snprintf(err, errcap, "%s", rdb_reader_error(&r));
    rdb_reader_deinit(&r);
    if (rc != RDB_OK)
        return -1;
    log_loaded(&st, now_ms, t0);
    return 0;
}

/* ---- INFO and MISCONF ---------------------------------------------------------------------- */

size_t rdb_info(uint64_t now_ms, uint64_t dirty, char *buf, size_t cap)
{
    long long cur = state.child_pid > 0 ? (long long)((now_ms - state.child_start_ms) / 1000) : -1;
    int n =
        snprintf(buf, cap,
                 "rdb_changes_since_last_save:%llu\r\n"
                 "rdb_bgsave_in_progress:%d\r\n"
                 "rdb_last_save_time:%lld\r\n"
                 "rdb_last_bgsave_status:%s\r\n"
                 "rdb_last_bgsave_time_sec:%lld\r\n"
                 "rdb_current_bgsave_time_sec:%lld\r\n"
                 "rdb_saves:%llu\r\n"
                 "rdb_last_cow_size:0\r\n"
                 "rdb_last_load_keys_expired:%llu\r\n"
                 "rdb_last_load_keys_loaded:%llu\r\n",
                 (unsigned long long)dirty, state.child_pid > 0, state.lastsave_s,
                 state.last_bgsave_ok ? "ok" : "err", state.last_bgsave_time_sec, cur,
                 (unsigned long long)state.saves, (unsigned long long)state.last_load_keys_expired,
                 (unsigned long long)state.last_load_keys_loaded);
    if (n < 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

int rdb_writes_refused(int stop_writes_on_bgsave_error, int nsave, const char **msg)
{
    if (!stop_writes_on_bgsave_error || nsave <= 0 || state.last_bgsave_ok)
        return 0;
    *msg = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to "
           "persist to disk. Commands that may modify the data set are disabled, because this "
           "instance is configured to report errors during writes if RDB snapshotting fails "
           "(stop-writes-on-bgsave-error option). Please check the Redis logs for details "
           "about the RDB error.";
    return 1;
}
