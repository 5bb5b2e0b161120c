/*
 * check_aof.c — tessera-check-aof [--fix] <file.manifest|file.aof>, like
 * redis-check-aof 7.0: checks a multi-part AOF (through its manifest) or a
 * single AOF file, reports where it stops being valid, and with --fix (after
 * asking) truncates the last file to its last complete command.
 *
 * Uses the server's own pure modules (manifest codec, AOF reader on top of
 * the RESP parser): a file this tool calls valid is a file the server loads.
 * Output lines follow redis-check-aof's ("AOF analyzed: filename=..., size=...,
 * ok_up_to=..., ok_up_to_line=..., diff=...").
 * A file that starts with an RDB (a .base.rdb of aof-use-rdb-preamble yes,
 * or an old-style appendonly.aof with a preamble) has its RDB decoded with
 * the server's codec first (aux fields, keys, checksum; output lines after
 * redis-check-rdb's), then the AOF commands after it, if any, are checked.
 * A damaged RDB can't be fixed by truncation: it is reported, never cut.
 * Exit status: 0 valid (or fixed), 1 invalid or error.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/mem.h"
#include "persist/rdb.h"
#include "persist/aof_manifest.h"
#include "persist/aof_reader.h"

typedef struct check_s {
    int fix;
    size_t line;    /* running line counter (across the files of a manifest) */
} check_t;

static char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return NULL;
    }
    size_t cap = (size_t)st.st_size, n = 0;
    char *buf = mem_alloc(cap + 1);
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static size_t count_nl(const char *p, size_t n)
{
    size_t c = 0;
    for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
        c++;
    return c;
}

/* Scan buf: returns the valid prefix length; prints the first problem. */
static size_t scan(char *buf, size_t len, int *ok)
{
    aof_reader_t r;
    aof_cmd_t c;
    int rc, in_multi = 0;
    size_t multi_off = 0, valid = 0;
    aof_reader_init(&r, buf, len);
    *ok = 1;
    while ((rc = aof_reader_next(&r, &c)) == AOF_READ_OK) {
        if (slice_eq_ci(c.argv[0], "multi")) {
            if (in_multi) {
                printf("0x%16zx: Unexpected MULTI\n", c.off);
                *ok = 0;
                break;
            }
            in_multi = 1;
            multi_off = c.off;
        } else if (slice_eq_ci(c.argv[0], "exec")) {
            if (!in_multi) {
                printf("0x%16zx: Unexpected EXEC\n", c.off);
                *ok = 0;
                break;
            }
            in_multi = 0;
        }
        if (!in_multi)
            valid = c.end;
    }
    if (*ok && rc == AOF_READ_ERR) {
        printf("0x%16zx: %s\n", r.err_off, r.err);
        *ok = 0;
    } else if (*ok && rc == AOF_READ_TRUNC) {
        printf("0x%16zx: Unexpected end of file (incomplete command)\n", r.off);
        *ok = 0;
    } else if (*ok && in_multi) {
        printf("0x%16zx: Reached EOF before reading EXEC for MULTI\n", multi_off);
        *ok = 0;
    }
    aof_reader_deinit(&r);
    return *ok ? len : valid;
}

static int confirm(void)
{
    printf("Continue? [y/N]: ");
    fflush(stdout);
    char ans[16];
    return fgets(ans, sizeof(ans), stdin) != NULL && (ans[0] == 'y' || ans[0] == 'Y');
}

/* ---- the RDB at the start of a file --------------------------------------------- */

typedef struct rdb_check_s {
    rdb_reader_t *r;
    uint64_t now_ms;
    unsigned long long keys, expires, expired;
} rdb_check_t;

static void on_aux(void *arg, slice_t name, slice_t value)
{
    rdb_check_t *c = arg;
    printf("[offset %llu] AUX FIELD %.*s = '%.*s'\n", (unsigned long long)rdb_reader_offset(c->r),
           (int)name.len, name.p, (int)value.len, value.p);
}

static int on_select(void *arg, int db)
{
    rdb_check_t *c = arg;
    printf("[offset %llu] Selecting DB ID %d\n", (unsigned long long)rdb_reader_offset(c->r), db);
    return 0;
}

static int on_key(void *arg, rdb_key_t *k)
{
    rdb_check_t *c = arg;
    c->keys++;
    if (k->expire >= 0) {
        c->expires++;
        if ((uint64_t)k->expire < c->now_ms)
            c->expired++;
    }
    rdb_val_free(&k->val);
    return 0;
}

static void on_empty_key(void *arg, int db, slice_t key)
{
    ((rdb_check_t *)arg)->keys++;
}

/* Decode the RDB at buf. Returns its length, or 0 if it is damaged (reported). */
static size_t check_rdb(const char *buf, size_t len, const char *shown)
{
    rdb_reader_t r;
    rdb_check_t c = {.r = &r, .now_ms = (uint64_t)time(NULL) * 1000};
    rdb_load_cb_t cb = {.aux = on_aux, .select_db = on_select, .key = on_key,
                        .empty_key = on_empty_key};
    rdb_reader_init_mem(&r, buf, len);
    printf("[offset 0] Checking RDB file %s\n", shown);
    int rc = rdb_load(&r, &cb, &c, NULL);
    unsigned long long end = rdb_reader_offset(&r);
    if (rc == RDB_OK) {
        int summed = end >= 8 && memcmp(buf + end - 8, "\0\0\0\0\0\0\0\0", 8) != 0;
        if (summed)
            printf("[offset %llu] Checksum OK\n", end);
        else
            printf("[offset %llu] RDB file was saved with checksum disabled: no check performed.\n",
                   end);
        printf("[offset %llu] \\o/ RDB looks OK! \\o/\n", end);
    } else {
        const char *why = rdb_reader_error(&r), *at = strstr(why, " at offset ");
        int n = at != NULL ? (int)(at - why) : (int)strlen(why); /* the offset is in front */
        printf("--- RDB ERROR DETECTED ---\n[offset %llu] %.*s\n", (unsigned long long)r.err_off,
               n, why);
    }
    printf("[info] %llu keys read\n[info] %llu expires\n[info] %llu already expired\n", c.keys,
           c.expires, c.expired);
    rdb_reader_deinit(&r);
    if (rc != RDB_OK) {
        printf("RDB preamble of AOF file is not sane, aborting.\n");
        return 0;
    }
    printf("RDB preamble is OK, proceeding with AOF tail...\n");
    return (size_t)end;
}

/* Check one file; is_last allows --fix. Returns 0 valid/fixed, 1 invalid. */
static int check_file(check_t *ck, const char *path, const char *shown, int is_last)
{
    size_t len;
    char *buf = read_file(path, &len);
    if (buf == NULL) {
        printf("Cannot open file %s: %s, aborting...\n", shown, strerror(errno));
        return 1;
    }
    size_t start = 0; /* where the AOF commands start (after an RDB) */
    if (len >= 5 && memcmp(buf, "REDIS", 5) == 0 && (start = check_rdb(buf, len, shown)) == 0) {
        mem_free(buf);
        return 1;
    }
    int ok;
    size_t valid = start + scan(buf + start, len - start, &ok);
    size_t line = ck->line + count_nl(buf + start, (ok ? len : (valid < len ? len : valid)) - start);
    printf("AOF analyzed: filename=%s, size=%zu, ok_up_to=%zu, ok_up_to_line=%zu, diff=%zu\n",
           shown, len, valid, line, len - valid);
    ck->line = line;
    mem_free(buf);
    if (ok)
        return 0;
    if (!ck->fix) {
        printf("AOF %s is not valid. Use the --fix option to try fixing it.\n", shown);
        return 1;
    }
    if (!is_last) {
        printf("AOF %s is not valid and is not the last file of the AOF: it can't be fixed by "
               "truncation. Restore it from a backup.\n", shown);
        return 1;
    }
    printf("This will shrink the AOF %s from %zu bytes, with %zu bytes, to %zu bytes\n", shown,
           len, len - valid, valid);
    if (!confirm()) {
        printf("Aborting...\n");
        return 1;
    }
    if (truncate(path, (off_t)valid) != 0) {
        printf("Failed to truncate AOF %s: %s\n", shown, strerror(errno));
        return 1;
    }
    printf("Successfully truncated AOF %s\n", shown);
    return 0;
}

static int is_rdb(const char *path)
{
    char magic[5] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, magic, sizeof(magic));
    close(fd);
    return n == 5 && memcmp(magic, "REDIS", 5) == 0;
}

static int check_manifest(check_t *ck, const char *mpath)
{
    size_t len;
    char *txt = read_file(mpath, &len);
    if (txt == NULL) {
        printf("Cannot open file %s: %s, aborting...\n", mpath, strerror(errno));
        return 1;
    }
    aof_manifest_t m;
    aof_manifest_err_t err;
    int rc = aof_manifest_parse(txt, len, &m, &err);
    mem_free(txt);
    if (rc != 0) {
        char msg[1400];
        aof_manifest_err_format(&err, msg, sizeof(msg));
        printf("Invalid AOF manifest file %s:\n%s\n", mpath, msg);
        return 1;
    }
    char *copy = mem_strdup(mpath);
    char *dir = dirname(copy);
    printf("Start checking Multi Part AOF\n");
    int bad = 0;
    if (m.base != NULL) {
        char *p = aof_path(dir, m.base->name);
        printf("Start to check BASE AOF (%s format).\n", is_rdb(p) ? "RDB" : "RESP");
        bad = check_file(ck, p, m.base->name, m.nincr == 0);
        if (!bad)
            printf("BASE AOF %s is valid\n", m.base->name);
        mem_free(p);
    }
    if (!bad && m.nincr > 0)
        printf("Start to check INCR files.\n");
    for (size_t i = 0; !bad && i < m.nincr; i++) {
        char *p = aof_path(dir, m.incr[i].name);
        bad = check_file(ck, p, m.incr[i].name, i + 1 == m.nincr);
        if (!bad)
            printf("INCR AOF %s is valid\n", m.incr[i].name);
        mem_free(p);
    }
    if (!bad)
        printf("All AOF files and manifest are valid\n");
    mem_free(copy);
    aof_manifest_deinit(&m);
    return bad;
}

/* A manifest starts with "file " or a comment (but not an AOF #TS: annotation). */
static int looks_like_manifest(const char *path)
{
    char head[8] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, head, sizeof(head) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    return strncmp(head, "file ", 5) == 0 || (head[0] == '#' && strncmp(head, "#TS:", 4) != 0);
}

int main(int argc, char **argv)
{
    check_t ck = {.fix = 0, .line = 1};
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--fix") == 0)
            ck.fix = 1;
        else if (path == NULL && argv[i][0] != '-')
            path = argv[i];
        else
            path = NULL, i = argc;
    }
    if (path == NULL) {
        printf("Usage: %s [--fix] <file.manifest|file.aof>\n", argv[0]);
        return 1;
    }
    if (looks_like_manifest(path))
        return check_manifest(&ck, path);
    printf(is_rdb(path) ? "Start checking RDB-preamble AOF\n" : "Start checking Old-Style AOF\n");
    int bad = check_file(&ck, path, path, 1);
    if (!bad)
        printf("AOF %s is valid\n", path);
    return bad;
}
