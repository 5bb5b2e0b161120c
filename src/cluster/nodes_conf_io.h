/*
 * nodes_conf_io.h — the two file operations nodes.conf needs: an exclusive lock
 * and an atomic, durable save. Plain POSIX, no libuv, no logging, no parsing.
 *
 * Invariants: a save either leaves the old file or the complete new one at path
 * (temp file in the same directory, write, fsync, rename, fsync of the
 * directory); the lock is a flock(LOCK_EX|LOCK_NB) held as long as its fd is open.
 * Because rename replaces the inode, nodes_conf_save_locked moves the lock to the
 * new file before it becomes visible, so another process can never lock the path
 * between saves.
 */
#ifndef TESSERA_NODES_CONF_IO_H
#define TESSERA_NODES_CONF_IO_H

#include <stddef.h>

/*
 * Opens (creating it empty if missing, mode 0644) and locks path. On success
 * returns 0 and *fd_out holds the lock (keep it open; close it at exit; it is
 * O_CLOEXEC). On failure returns -1 with err set to Redis 7.0's log text:
 *   "Sorry, the cluster configuration file <path> is already used by a different
 *    Redis Cluster node. Please make sure that different nodes use different
 *    cluster configuration files."     (another process holds the lock)
 *   "Can't open <path> in order to acquire a lock: <strerror>"
 *   "Impossible to lock <path>: <strerror>"
 */
int nodes_conf_lock(const char *path, int *fd_out, char *err, size_t cap);

/*
 * Replaces path with data[0, len) atomically and durably: writes
 * "<dir>/.<name>.tmp-<pid>" (mode 0644), fsyncs it, renames it over path and
 * fsyncs the directory. Returns 0, or -1 with err naming the failed step and
 * strerror (the temp file is removed on failure).
 */
int nodes_conf_write_atomic(const char *path, const char *data, size_t len, char *err, size_t cap);

/*
 * Same as nodes_conf_write_atomic for a process that holds the lock in *lock_fd
 * (from nodes_conf_lock): the temp file "<dir>/.<name>.tmp" is locked before it
 * goes in place, then the old lock fd is closed and *lock_fd becomes the new
 * file's fd. Where the file system can, the temp and the old file swap names
 * (RENAME_EXCHANGE): the old content stays at the temp name and its inode is
 * reused by the next save, so a save creates and frees no inode. On failure
 * the old lock is kept and -1 is returned.
 */
/* do_fsync: fsync the file and its directory (Redis's clusterSaveConfig
 * do_fsync; the state machine asks for it where votes and epochs must be on
 * disk before a message leaves). The rename is atomic either way. */
int nodes_conf_save_locked(const char *path, const char *data, size_t len, int do_fsync,
                           int *lock_fd, char *err, size_t cap);

/*
 * Reads the whole file into a mem_alloc'd buffer (NUL-terminated; *len_out
 * bytes). Returns 0; 1 if the file does not exist (no config: *buf_out = NULL);
 * -1 with err on another error.
 */
int nodes_conf_read_file(const char *path, char **buf_out, size_t *len_out, char *err, size_t cap);

#endif
