/*
 * aof_manifest.h — the Redis 7.0 multi-part AOF manifest: its codec, the file
 * naming scheme, and the atomic replacement of the manifest on disk.
 *
 * Format (checked against redis-server 7.0.15): one line per file,
 *   file appendonly.aof.1.base.aof seq 1 type b\n
 *   file appendonly.aof.1.incr.aof seq 1 type i\n
 * written base first, then history ('h'), then incr ('i') files in sequence
 * order. Reading follows Redis: every line must end with '\n' and be at most
 * AOF_MANIFEST_MAX_LINE bytes; lines starting with '#' are comments; a line is
 * split like sdssplitargs (quotes allowed) into key/value pairs in any order
 * (unknown keys ignored, a repeated key wins), "file", "seq" (atoll, > 0) and
 * "type" (its first byte) are required; a file name may not contain '/'; one
 * base at most; incr sequence numbers strictly increase; an empty manifest is
 * an error.
 *
 * Pure except aof_manifest_write_atomic() and aof_fsync_dir() (file I/O,
 * plain syscalls). No allocation failure paths (mem.h aborts).
 * Ownership: a manifest owns its file names (heap copies).
 */
#ifndef TESSERA_AOF_MANIFEST_H
#define TESSERA_AOF_MANIFEST_H

#include <stddef.h>

#define AOF_MANIFEST_MAX_LINE 1024

enum { AOF_FILE_BASE = 'b', AOF_FILE_HIST = 'h', AOF_FILE_INCR = 'i' };

typedef struct aof_file_s {
    char *name;     /* file name inside the AOF directory */
    long long seq;
    int type;       /* AOF_FILE_* */
} aof_file_t;

typedef struct aof_manifest_s {
    aof_file_t *base;        /* NULL when there is none */
    aof_file_t *incr;        /* in sequence order, the last one is written to */
    size_t nincr, incr_cap;
    aof_file_t *hist;        /* files to delete */
    size_t nhist, hist_cap;
    long long base_seq;      /* sequence of the latest base (0: none yet) */
    long long incr_seq;      /* sequence of the latest incr (0: none yet) */
} aof_manifest_t;

/* A parse error: line 0 when the error is about the whole file. */
typedef struct aof_manifest_err_s {
    int line;
    char text[AOF_MANIFEST_MAX_LINE + 1]; /* the offending line, without '\n' */
    char reason[128];                     /* Redis's reason text */
} aof_manifest_err_t;

void aof_manifest_init(aof_manifest_t *m);
void aof_manifest_deinit(aof_manifest_t *m);
/* Deep copy of src into an uninitialised dst. */
void aof_manifest_copy(aof_manifest_t *dst, const aof_manifest_t *src);

/* Parse buf[0..len). 0, or -1 with err filled (and m left empty). */
int aof_manifest_parse(const char *buf, size_t len, aof_manifest_t *m, aof_manifest_err_t *err);
/* The manifest text (heap, NUL-terminated, *len set); free with mem_free. */
char *aof_manifest_encode(const aof_manifest_t *m, size_t *len);

/* Editing. Names are copied. */
void aof_manifest_set_base(aof_manifest_t *m, const char *name, long long seq);
void aof_manifest_add_incr(aof_manifest_t *m, const char *name, long long seq);
/* Move the base to history (if any). */
void aof_manifest_base_to_history(aof_manifest_t *m);
/* Move every incr file except the last `keep` ones to history. */
void aof_manifest_incr_to_history(aof_manifest_t *m, size_t keep);
/* Forget the history list (after its files were deleted). */
void aof_manifest_clear_history(aof_manifest_t *m);

/* File names (heap, NUL-terminated; free with mem_free):
 *   <fname>.<seq>.base.aof | .base.rdb, <fname>.<seq>.incr.aof,
 *   <fname>.manifest, temp-<fname>.manifest, temp-<fname>.incr,
 *   temp-rewriteaof-bg-<pid>.aof */
char *aof_name_base(const char *fname, long long seq, int rdb);
char *aof_name_incr(const char *fname, long long seq);
char *aof_name_manifest(const char *fname);
char *aof_name_temp_manifest(const char *fname);
char *aof_name_temp_incr(const char *fname);
char *aof_name_temp_rewrite(int pid);
/* dir + "/" + name (heap). */
char *aof_path(const char *dir, const char *name);

/* Redis's error report for a manifest, lines joined with '\n' (no trailing
 * newline) into buf: "Reading the manifest file, at line N\n>>> '...'\n<reason>". */
void aof_manifest_err_format(const aof_manifest_err_t *err, char *buf, size_t cap);

/*
 * Replace dir/<name> atomically with data: write dir/<tmpname>, fsync it,
 * rename over the target, fsync the directory. 0, or -1 with errno set (the
 * temp file is removed; the old manifest is untouched).
 */
int aof_manifest_write_atomic(const char *dir, const char *name, const char *tmpname,
                              const char *data, size_t len);
/* fsync a directory so renames/creations in it are durable. 0 or -1. */
int aof_fsync_dir(const char *dir);

#endif
