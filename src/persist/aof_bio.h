/*
 * aof_bio.h — the AOF's background thread: fsync, close and unlink jobs run
 * in order, off the event loop (Redis's bio for the AOF).
 *
 * Owns: one pthread, a FIFO of jobs, the count of pending fsyncs and the
 * status of the last background fsync.
 * Must not: log, allocate through anything but mem.h, or touch anything of the
 * server: jobs carry a file descriptor or a path and nothing else.
 * Invariants: jobs run in submission order (a close queued after an fsync of
 * the same fd runs after it); pending_fsync counts fsync jobs queued or
 * running.
 */
#ifndef TESSERA_AOF_BIO_H
#define TESSERA_AOF_BIO_H

typedef struct aof_bio_s aof_bio_t;

/* Start the thread. Never fails (aborts if the thread can't be created). */
aof_bio_t *aof_bio_new(void);
/* Finish queued jobs, stop the thread and free it. */
void aof_bio_free(aof_bio_t *b);

/* fdatasync(fd) in the background. */
void aof_bio_fsync(aof_bio_t *b, int fd);
/* fdatasync(fd) then close(fd). */
void aof_bio_fsync_close(aof_bio_t *b, int fd);
/* unlink(path); path is copied. */
void aof_bio_unlink(aof_bio_t *b, const char *path);

/* fsync jobs queued or running (INFO aof_pending_bio_fsync). */
unsigned long aof_bio_pending_fsync(aof_bio_t *b);
/* 0 if the last background fsync succeeded, else its errno. */
int aof_bio_fsync_errno(aof_bio_t *b);
/* Wait until every queued job is done (shutdown, tests). */
void aof_bio_drain(aof_bio_t *b);

#endif
