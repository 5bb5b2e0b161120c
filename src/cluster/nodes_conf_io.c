/*
 * nodes_conf_io.c — lock, atomic save and read of the cluster config file.
 *
 * Owns: the POSIX calls around nodes.conf (open, flock, write, fsync, rename).
 * Must not: parse or format (nodes_conf.c does), log (callers log err), touch
 * libuv. Blocking I/O: called at start-up and from the cluster's save step.
 * Invariants: a failed save leaves the previous file and the previous lock in
 * place and removes its temp file; every fd opened here is O_CLOEXEC.
 */
#include "cluster/nodes_conf_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h> /* rename, renameat2 */
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/mem.h"

static int io_err(char *err, size_t cap, const char *fmt, ...)
{
    if (err && cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int nodes_conf_lock(const char *path, int *fd_out, char *err, size_t cap)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd == -1)
        return io_err(err, cap, "Can't open %s in order to acquire a lock: %s", path,
                      strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return io_err(err, cap,
                          "Sorry, the cluster configuration file %s is already used by a "
                          "different Redis Cluster node. Please make sure that different nodes "
                          "use different cluster configuration files.",
                          path);
        return io_err(err, cap, "Impossible to lock %s: %s", path, strerror(e));
    }
    *fd_out = fd;
    return 0;
}

/* dir and base of path into the caller's buffers. */
static void split_path(const char *path, char *dir, size_t dcap, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, dcap, ".");
        *base = path;
    } else if (slash == path) {
        snprintf(dir, dcap, "/");
        *base = slash + 1;
    } else {
        snprintf(dir, dcap, "%.*s", (int)(slash - path), path);
        *base = slash + 1;
    }
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Puts the complete file at tmp in place at path. With exchange, the two
 * names swap inodes (renameat2 RENAME_EXCHANGE) so the previous file stays
 * linked at tmp: closing its fd later frees nothing, and the next save
 * rewrites that inode instead of creating one. File systems without exchange
 * (or a missing path) fall back to rename, which is atomic too. */
static int put_in_place(const char *tmp, const char *path, int exchange)
{
    if (exchange && renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == 0)
        return 0;
    return rename(tmp, path);
}

/* The shared save: temp file (locked when want_lock), fsync, into place, fsync
 * dir (the two fsyncs only when do_fsync). The locked save uses one fixed temp
 * name, safe because only the lock holder saves; the unlocked one a per-pid
 * name. On success *tmp_fd_out (if not NULL) keeps the new file's fd open. */
static int save(const char *path, const char *data, size_t len, int want_lock, int do_fsync,
                int *tmp_fd_out, char *err, size_t cap)
{
    char dir[4096], tmp[4200];
    const char *base;
    split_path(path, dir, sizeof dir, &base);
    if (want_lock)
        snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, base);
    else
        snprintf(tmp, sizeof tmp, "%s/.%s.tmp-%ld", dir, base, (long)getpid());
    /* No O_TRUNC: the reused temp is overwritten from offset 0 and then cut to
     * length, which on ext4 avoids the block release and the forced delayed
     * allocation that truncating to zero costs on every save. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd == -1)
        return io_err(err, cap, "Could not open temp cluster config file %s: %s", tmp,
                      strerror(errno));
    const char *step = NULL;
    if (want_lock && flock(fd, LOCK_EX | LOCK_NB) == -1)
        step = "lock";
    else if (write_all(fd, data, len) != 0)
        step = "write";
    else if (ftruncate(fd, (off_t)len) != 0)
        step = "truncate";
    else if (do_fsync && fsync(fd) != 0)
        step = "fsync";
    else if (put_in_place(tmp, path, want_lock) != 0)
        step = "rename";
    if (step) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return io_err(err, cap, "Could not save cluster config file %s (%s): %s", path, step,
                      strerror(e));
    }
    if (do_fsync && fsync_dir(dir) != 0) {
        int e = errno;
        close(fd);
        return io_err(err, cap, "Could not fsync directory %s: %s", dir, strerror(e));
    }
    if (tmp_fd_out)
        *tmp_fd_out = fd;
    else
        close(fd);
    return 0;
}

int nodes_conf_write_atomic(const char *path, const char *data, size_t len, char *err, size_t cap)
{
    return save(path, data, len, 0, 1, NULL, err, cap);
}

int nodes_conf_save_locked(const char *path, const char *data, size_t len, int do_fsync,
                           int *lock_fd, char *err, size_t cap)
{
    int nfd = -1;
    if (save(path, data, len, 1, do_fsync, &nfd, err, cap) != 0)
        return -1;
    if (*lock_fd >= 0)
        close(*lock_fd);
    *lock_fd = nfd;
    return 0;
}

int nodes_conf_read_file(const char *path, char **buf_out, size_t *len_out, char *err, size_t cap)
{
    *buf_out = NULL;
    *len_out = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        if (errno == ENOENT)
            return 1;
        return io_err(err, cap, "Can't open %s: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return io_err(err, cap, "Can't stat %s: %s", path, strerror(e));
    }
    size_t want = (size_t)st.st_size, got = 0;
    char *buf = mem_alloc(want + 1);
    while (1) {
        if (got == want) { /* the file may have grown since fstat */
            want = want * 2 + 4096;
            buf = mem_realloc(buf, want + 1);
        }
        ssize_t n = read(fd, buf + got, want - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            mem_free(buf);
            close(fd);
            return io_err(err, cap, "Can't read %s: %s", path, strerror(e));
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *buf_out = buf;
    *len_out = got;
    return 0;
}
