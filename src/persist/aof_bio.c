/*
 * aof_bio.c — the AOF background thread (see aof_bio.h).
 *
 * A mutex-protected singly linked FIFO and one condition variable for work,
 * one for "queue drained". The pending fsync counter and the last fsync errno
 * are atomics so the loop reads them without taking the lock.
 */
#include "aof_bio.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../lib/mem.h"

enum { JOB_FSYNC = 0, JOB_FSYNC_CLOSE = 1, JOB_UNLINK = 2, JOB_STOP = 3 };

typedef struct job_s {
    struct job_s *next;
    int kind;
    int fd;
    char *path;
} job_t;

struct aof_bio_s {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t work, idle;
    job_t *head, *tail;
    int busy;                       /* a job is running */
    atomic_ulong pending_fsync;
    atomic_int fsync_errno;
};

static void run_job(aof_bio_t *b, job_t *j)
{
    switch (j->kind) {
    case JOB_FSYNC:
    case JOB_FSYNC_CLOSE: {
        int rc = fdatasync(j->fd);
        /* EBADF/EINVAL: the fd does not support syncing (a pipe in tests). */
        int e = (rc == 0 || errno == EBADF || errno == EINVAL) ? 0 : errno;
        atomic_store(&b->fsync_errno, e);
        if (j->kind == JOB_FSYNC_CLOSE)
            close(j->fd);
        atomic_fetch_sub(&b->pending_fsync, 1);
        break;
    }
    case JOB_UNLINK:
        unlink(j->path);
        break;
    default:
        break;
    }
}

static void *bio_main(void *arg)
{
    aof_bio_t *b = arg;
    for (;;) {
        pthread_mutex_lock(&b->lock);
        while (b->head == NULL) {
            b->busy = 0;
            pthread_cond_broadcast(&b->idle);
            pthread_cond_wait(&b->work, &b->lock);
        }
        job_t *j = b->head;
        b->head = j->next;
        if (b->head == NULL)
            b->tail = NULL;
        b->busy = 1;
        pthread_mutex_unlock(&b->lock);
        int stop = j->kind == JOB_STOP;
        run_job(b, j);
        mem_free(j->path);
        mem_free(j);
        if (stop) {
            pthread_mutex_lock(&b->lock);
            b->busy = 0;
            pthread_cond_broadcast(&b->idle);
            pthread_mutex_unlock(&b->lock);
            return NULL;
        }
    }
}

aof_bio_t *aof_bio_new(void)
{
    aof_bio_t *b = mem_calloc(sizeof(*b));
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->work, NULL);
    pthread_cond_init(&b->idle, NULL);
    atomic_init(&b->pending_fsync, 0);
    atomic_init(&b->fsync_errno, 0);
    if (pthread_create(&b->thread, NULL, bio_main, b) != 0) {
        fprintf(stderr, "aof_bio: can't create the background thread\n");
        abort();
    }
    return b;
}

static void submit(aof_bio_t *b, int kind, int fd, const char *path)
{
    job_t *j = mem_calloc(sizeof(*j));
    j->kind = kind;
    j->fd = fd;
    j->path = path ? mem_strdup(path) : NULL;
    if (kind == JOB_FSYNC || kind == JOB_FSYNC_CLOSE)
        atomic_fetch_add(&b->pending_fsync, 1);
    pthread_mutex_lock(&b->lock);
    if (b->tail)
        b->tail->next = j;
    else
        b->head = j;
    b->tail = j;
    pthread_cond_signal(&b->work);
    pthread_mutex_unlock(&b->lock);
}

void aof_bio_fsync(aof_bio_t *b, int fd) { submit(b, JOB_FSYNC, fd, NULL); }
void aof_bio_fsync_close(aof_bio_t *b, int fd) { submit(b, JOB_FSYNC_CLOSE, fd, NULL); }
void aof_bio_unlink(aof_bio_t *b, const char *path) { submit(b, JOB_UNLINK, -1, path); }

unsigned long aof_bio_pending_fsync(aof_bio_t *b) { return atomic_load(&b->pending_fsync); }
int aof_bio_fsync_errno(aof_bio_t *b) { return atomic_load(&b->fsync_errno); }

void aof_bio_drain(aof_bio_t *b)
{
    pthread_mutex_lock(&b->lock);
    while (b->head != NULL || b->busy)
        pthread_cond_wait(&b->idle, &b->lock);
    pthread_mutex_unlock(&b->lock);
}

void aof_bio_free(aof_bio_t *b)
{
    if (b == NULL)
        return;
    submit(b, JOB_STOP, -1, NULL);
    pthread_join(b->thread, NULL);
    pthread_mutex_destroy(&b->lock);
    pthread_cond_destroy(&b->work);
    pthread_cond_destroy(&b->idle);
    mem_free(b);
}
