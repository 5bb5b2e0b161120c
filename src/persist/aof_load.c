/*
 * aof_load.c — loading the AOF at start: the manifest (or the migration of an
 * old-style single appendonly.aof into the AOF directory, as Redis 7.0 does),
 * then the base and incr files in order, command by command through the
 * caller's exec callback, in steps so the loop can keep answering -LOADING.
 *
 * Faults (texts after Redis 7.0.15, plus file and offset):
 *  - malformed manifest, a listed file missing: refuse before executing
 *    anything, disk untouched;
 *  - a file that starts with an RDB (a .base.rdb written with
 *    aof-use-rdb-preamble yes, or an old-style appendonly.aof with a
 *    preamble): the RDB is loaded through the caller's rdb callback, then any
 *    commands after it; a damaged RDB refuses (file, and the decoder's reason
 *    with its offset), as does a truncated one (aof-load-truncated covers
 *    commands only, as in Redis);
 *  - corruption inside a file: refuse (file, offset, line), disk untouched;
 *  - a truncated tail: only allowed in the last file; aof-load-truncated yes
 *    loads every complete command, logs the bytes dropped and truncates the
 *    file there; no: refuse naming file and offset;
 *  - a MULTI without EXEC at the end of the last file is a truncated tail at
 *    the MULTI (its commands are never applied).
 *
 * Must not: know commands (the callback runs them), include <uv.h>.
 * Invariant: commands inside MULTI ... EXEC are executed only once the EXEC
 * was read, all together.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../lib/mem.h"
#include "aof_int.h"
#include "aof_reader.h"

#define RDB_ERRCAP 256

typedef struct load_file_s {
    char *name;
    int is_base;
    int is_rdb; /* starts with "REDIS" */
    long long size;
} load_file_t;

struct aof_load_s {
    aof_t *aof;
    uint64_t (*now_us)(void);
    aof_rdb_fn rdb;
    void *rdb_arg;
    uint64_t t_start, t_file;
    load_file_t *files;
    size_t nfiles, cur;
    uint64_t total_bytes, done_bytes;
    /* the file being read */
    int open;
    char *map;
    size_t map_len;
    aof_reader_t rd;
    int in_multi;
    size_t multi_start;   /* offset of the MULTI (truncation point) */
    size_t multi_body;    /* first byte after it */
};

/* ---- preparation ------------------------------------------------------------ */

static int read_whole(const char *path, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return -1;
    }
    size_t cap = (size_t)st.st_size, n = 0;
    char *buf = mem_alloc(cap + 1);
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n == cap)
            break;
    }
    close(fd);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

static int path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Read and parse the manifest if there is one. 1: read, 0: none, -1: bad (logged). */
int aof_load_manifest(aof_t *aof)
{
    char *name = aof_name_manifest(aof->fname);
    char *path = aof_path(aof->dir, name);
    char *txt = NULL;
    size_t len = 0;
    int rc = 0;
    if (read_whole(path, &txt, &len) != 0) {
        if (errno != ENOENT) {
            log_warning("Can't open the AOF manifest %s for reading: %s", path, strerror(errno));
            rc = -1;
        }
    } else {
        aof_manifest_err_t err;
        aof_manifest_deinit(&aof->man);
        if (aof_manifest_parse(txt, len, &aof->man, &err) != 0) {
            log_warning("\n*** FATAL AOF MANIFEST FILE ERROR ***\n");
            if (err.line > 0) {
                log_warning("Reading the manifest file %s, at line %d", path, err.line);
                log_warning(">>> '%s'", err.text);
            } else {
                log_warning("Reading the manifest file %s", path);
            }
            log_warning("%s", err.reason);
            rc = -1;
        } else {
            rc = 1;
        }
    }
    mem_free(txt);
    mem_free(name);
    mem_free(path);
    return rc;
}

/* Redis 7.0's upgrade of an old-style appendonly.aof (in dir) into the AOF
 * directory. 0 (done or not needed) or -1 (logged). */
static int maybe_upgrade(aof_t *aof, int have_manifest)
{
    char *old = aof_path(aof->workdir, aof->fname);
    char *in_dir = aof_path(aof->dir, aof->fname);
    int rc = 0;
    const aof_manifest_t *m = &aof->man;
    int needed = path_exists(old) &&
                 (!have_manifest || (m->base == NULL && m->nincr == 0) ||
                  (m->base != NULL && m->nincr == 0 && strcmp(m->base->name, aof->fname) == 0 &&
                   !path_exists(in_dir)));
    if (needed) {
        aof_manifest_t nm;
        aof_manifest_init(&nm);
        aof_manifest_set_base(&nm, aof->fname, 1);
        if (aof_ensure_dir(aof) != 0 || aof_persist_manifest(aof, &nm) != 0) {
            rc = -1;
        } else if (rename(old, in_dir) != 0) {
            log_warning("Error trying to rename the old AOF file %s into dir %s: %s", aof->fname,
                        aof->dname, strerror(errno));
            rc = -1;
        } else {
            aof_fsync_dir(aof->dir);
            aof_manifest_deinit(&aof->man);
            aof->man = nm;
            aof_manifest_init(&nm);
            log_notice("Successfully migrated an old-style AOF file (%s) into the AOF directory "
                       "(%s).", aof->fname, aof->dname);
        }
        aof_manifest_deinit(&nm);
    }
    mem_free(old);
    mem_free(in_dir);
    return rc;
}

static void add_file(aof_load_t *ld, const char *name, int is_base)
{
    ld->files = mem_realloc(ld->files, (ld->nfiles + 1) * sizeof(*ld->files));
    ld->files[ld->nfiles++] = (load_file_t){.name = mem_strdup(name), .is_base = is_base};
}

/* Every listed file must exist; one that starts with an RDB needs ld->rdb. */
static int check_files(aof_load_t *ld)
{
    for (size_t i = 0; i < ld->nfiles; i++) {
        load_file_t *f = &ld->files[i];
        char *path = aof_path(ld->aof->dir, f->name);
        struct stat st;
        int rc = stat(path, &st);
        int e = errno;
        char magic[5] = {0};
        if (rc == 0 && st.st_size >= 5) {
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd >= 0) {
                ssize_t r = read(fd, magic, sizeof(magic));
                (void)r;
                close(fd);
            }
        }
        mem_free(path);
        if (rc != 0) {
            log_warning("Unable to obtain the AOF file %s length. stat: %s", f->name, strerror(e));
            return -1;
        }
        f->is_rdb = memcmp(magic, "REDIS", 5) == 0;
        if (f->is_rdb && ld->rdb == NULL) {
            log_warning("The AOF file %s starts with an RDB, which this loader can't read",
                        f->name);
            return -1;
        }
        f->size = (long long)st.st_size;
        ld->total_bytes += (uint64_t)st.st_size;
    }
    return 0;
}

void aof_load_end(aof_load_t *ld, int ok);

aof_load_t *aof_load_begin(aof_t *aof, uint64_t (*now_us)(void), aof_rdb_fn rdb, void *rdb_arg)
{
    int have = aof_load_manifest(aof);
    if (have < 0 || maybe_upgrade(aof, have > 0) != 0)
        return NULL;
    aof_load_t *ld = mem_calloc(sizeof(*ld));
    ld->aof = aof;
    ld->now_us = now_us;
    ld->rdb = rdb;
    ld->rdb_arg = rdb_arg;
    ld->t_start = now_us();
    if (aof->man.base != NULL)
        add_file(ld, aof->man.base->name, 1);
    for (size_t i = 0; i < aof->man.nincr; i++)
        add_file(ld, aof->man.incr[i].name, 0);
    if (check_files(ld) != 0) {
        aof_load_end(ld, 0);
        return NULL;
    }
    return ld;
}

/* ---- reading one file ----------------------------------------------------------- */

static int open_file(aof_load_t *ld)
{
    load_file_t *f = &ld->files[ld->cur];
    ld->t_file = ld->now_us();
    ld->in_multi = 0;
    ld->map = NULL;
    ld->map_len = (size_t)f->size;
    if (f->size > 0) {
        char *path = aof_path(ld->aof->dir, f->name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        mem_free(path);
        if (fd < 0) {
            log_warning("Fatal error: can't open the append log file %s for reading: %s", f->name,
                        strerror(errno));
            return -1;
        }
        void *p = mmap(NULL, ld->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        int e = errno;
        close(fd);
        if (p == MAP_FAILED) {
            log_warning("Fatal error: can't map the append log file %s: %s", f->name, strerror(e));
            return -1;
        }
        madvise(p, ld->map_len, MADV_SEQUENTIAL);
        ld->map = p;
    }
    aof_reader_init(&ld->rd, ld->map, ld->map_len);
    ld->open = 1;
    if (f->is_rdb) {
        char err[RDB_ERRCAP] = "";
        size_t used = 0;
        log_notice("Reading RDB %s file on AOF loading...", f->is_base ? "base" : "preamble");
        if (ld->rdb(ld->rdb_arg, ld->map, ld->map_len, &used, err, sizeof(err)) != 0) {
            log_warning("Internal error in RDB reading the AOF file %s: %s", f->name, err);
            if (f->is_base)
                log_warning("Error reading the RDB base file %s, AOF loading aborted", f->name);
            else
                log_warning("Error reading the RDB preamble of the AOF file %s, AOF loading "
                            "aborted", f->name);
            return -1;
        }
        if (used < ld->map_len)
            log_notice("Reading the remaining AOF tail...");
        ld->rd.off = used; /* the commands (if any) follow the RDB */
    }
    return 0;
}

static void close_file(aof_load_t *ld)
{
    if (!ld->open)
        return;
    aof_reader_deinit(&ld->rd);
    if (ld->map != NULL)
        munmap(ld->map, ld->map_len);
    ld->map = NULL;
    ld->open = 0;
}

/* Run one command; -1 (logged) stops loading. */
static int run(aof_load_t *ld, const aof_cmd_t *c, aof_exec_fn fn, void *arg)
{
    char err[256] = "";
    if (fn(arg, c->argc, c->argv, err, sizeof(err)) == 0)
        return 0;
    log_warning("%s reading the append only file %s at offset %zu", err,
                ld->files[ld->cur].name, c->off);
    return -1;
}

/* The commands between MULTI and EXEC, read again from the mapped file. */
static int run_multi(aof_load_t *ld, size_t from, size_t to, aof_exec_fn fn, void *arg)
{
    aof_reader_t sub;
    aof_cmd_t c;
    int rc = 0;
    aof_reader_init(&sub, ld->map + from, to - from);
    while (rc == 0 && aof_reader_next(&sub, &c) == AOF_READ_OK) {
        c.off += from;
        c.end += from;
        rc = run(ld, &c, fn, arg);
    }
    aof_reader_deinit(&sub);
    return rc;
}

/* Handle one command of the file, MULTI/EXEC included. */
static int feed(aof_load_t *ld, const aof_cmd_t *c, aof_exec_fn fn, void *arg)
{
    if (slice_eq_ci(c->argv[0], "multi")) {
        ld->in_multi = 1;
        ld->multi_start = c->off;
        ld->multi_body = c->end;
        return 0;
    }
    if (ld->in_multi) {
        if (!slice_eq_ci(c->argv[0], "exec"))
            return 0;
        ld->in_multi = 0;
        return run_multi(ld, ld->multi_body, c->off, fn, arg);
    }
    return run(ld, c, fn, arg);
}

/* A truncated tail ending at `valid`. 0 (truncated and accepted) or -1. */
static int truncated(aof_load_t *ld, size_t valid)
{
    load_file_t *f = &ld->files[ld->cur];
    if (ld->cur + 1 != ld->nfiles) {
        log_warning("Fatal error: the truncated file is not the last file (%s, offset %zu)",
                    f->name, valid);
        return -1;
    }
    if (!ld->aof->conf.load_truncated) {
        log_warning("Unexpected end of file reading the append only file %s at offset %zu. You "
                    "can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix "
                    "<filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' "
                    "configuration option to yes and restart the server.", f->name, valid);
        return -1;
    }
    log_warning("!!! Warning: short read while loading the AOF file %s!!!", f->name);
    log_warning("!!! Truncating the AOF %s at offset %zu (%lld bytes dropped) !!!", f->name, valid,
                f->size - (long long)valid);
    char *path = aof_path(ld->aof->dir, f->name);
    int rc = truncate(path, (off_t)valid);
    int e = errno;
    mem_free(path);
    if (rc != 0) {
        log_warning("Error truncating the AOF file %s: %s", f->name, strerror(e));
        return -1;
    }
    f->size = (long long)valid;
    log_warning("AOF %s loaded anyway because aof-load-truncated is enabled", f->name);
    return 0;
}

/* The reader stopped (EOF/TRUNC/ERR): finish the file. 0 or -1. */
static int end_of_file(aof_load_t *ld, int rc)
{
    load_file_t *f = &ld->files[ld->cur];
    if (rc == AOF_READ_ERR) {
        log_warning("Bad file format reading the append only file %s at offset %zu (line %zu): "
                    "%s: make a backup of your AOF file, then use ./redis-check-aof --fix "
                    "<filename.manifest>", f->name, ld->rd.err_off,
                    aof_line_of(ld->map, ld->rd.err_off), ld->rd.err);
        return -1;
    }
    size_t valid = ld->rd.off;
    if (ld->in_multi) {
        log_warning("Revert incomplete MULTI/EXEC transaction in AOF file %s", f->name);
        valid = ld->multi_start;
        rc = AOF_READ_TRUNC;
    }
    if (rc == AOF_READ_TRUNC && truncated(ld, valid) != 0)
        return -1;
    log_notice("DB loaded from %s file %s: %.3f seconds", f->is_base ? "base" : "incr", f->name,
               (double)(ld->now_us() - ld->t_file) / 1e6);
    return 0;
}

int aof_load_step(aof_load_t *ld, size_t max_cmds, aof_exec_fn fn, void *arg)
{
    size_t n = 0;
    while (ld->cur < ld->nfiles) {
        if (!ld->open && open_file(ld) != 0)
            return AOF_LOAD_FAIL;
        aof_cmd_t c;
        int rc;
        while ((rc = aof_reader_next(&ld->rd, &c)) == AOF_READ_OK) {
            if (feed(ld, &c, fn, arg) != 0)
                return AOF_LOAD_FAIL;
            if (++n >= max_cmds)
                return AOF_LOAD_MORE;
        }
        if (end_of_file(ld, rc) != 0)
            return AOF_LOAD_FAIL;
        ld->done_bytes += ld->map_len;
        close_file(ld);
        ld->cur++;
    }
    if (ld->nfiles > 0)
        log_notice("DB loaded from append only file: %.3f seconds",
                   (double)(ld->now_us() - ld->t_start) / 1e6);
    return AOF_LOAD_DONE;
}

void aof_load_progress(const aof_load_t *ld, uint64_t *loaded, uint64_t *total)
{
    *loaded = ld->done_bytes + (ld->open ? ld->rd.off : 0);
    *total = ld->total_bytes;
}

void aof_load_end(aof_load_t *ld, int ok)
{
    if (ld == NULL)
        return;
    close_file(ld);
    if (ok) {
        long long total = 0, base = 0;
        for (size_t i = 0; i < ld->nfiles; i++) {
            total += ld->files[i].size;
            if (ld->files[i].is_base)
                base = ld->files[i].size;
        }
        ld->aof->current_size = total;
        ld->aof->rewrite_base_size = base;
        ld->aof->fsync_offset = total;
    }
    for (size_t i = 0; i < ld->nfiles; i++)
        mem_free(ld->files[i].name);
    mem_free(ld->files);
    mem_free(ld);
}
