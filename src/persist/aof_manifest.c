/*
 * aof_manifest.c — codec of the Redis 7.0 AOF manifest, file naming, and the
 * atomic replacement of the manifest file (see aof_manifest.h).
 *
 * Owns: the manifest's text format and error texts (Redis 7.0.15's, checked
 * on a real server), the line tokenizer (sdssplitargs rules), the names of
 * every AOF file.
 * Must not: read the AOF files themselves, keep global state, log.
 * Invariants: m->incr is in strictly increasing seq order; m->base_seq and
 * m->incr_seq are the highest sequence numbers ever recorded in m.
 */
#include "aof_manifest.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/mem.h"

/* ---- lifecycle and editing --------------------------------------------- */

void aof_manifest_init(aof_manifest_t *m) { memset(m, 0, sizeof(*m)); }

static void file_free(aof_file_t *f)
{
    if (f != NULL)
        mem_free(f->name);
}

void aof_manifest_deinit(aof_manifest_t *m)
{
    if (m->base != NULL) {
        file_free(m->base);
        mem_free(m->base);
    }
    for (size_t i = 0; i < m->nincr; i++)
        file_free(&m->incr[i]);
    for (size_t i = 0; i < m->nhist; i++)
        file_free(&m->hist[i]);
    mem_free(m->incr);
    mem_free(m->hist);
    memset(m, 0, sizeof(*m));
}

static void list_push(aof_file_t **arr, size_t *n, size_t *cap, const char *name, long long seq,
                      int type)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        *arr = mem_realloc(*arr, *cap * sizeof(**arr));
    }
    (*arr)[*n] = (aof_file_t){.name = mem_strdup(name), .seq = seq, .type = type};
    (*n)++;
}

void aof_manifest_copy(aof_manifest_t *dst, const aof_manifest_t *src)
{
    aof_manifest_init(dst);
    if (src->base != NULL)
        aof_manifest_set_base(dst, src->base->name, src->base->seq);
    for (size_t i = 0; i < src->nhist; i++)
        list_push(&dst->hist, &dst->nhist, &dst->hist_cap, src->hist[i].name, src->hist[i].seq,
                  AOF_FILE_HIST);
    for (size_t i = 0; i < src->nincr; i++)
        list_push(&dst->incr, &dst->nincr, &dst->incr_cap, src->incr[i].name, src->incr[i].seq,
                  AOF_FILE_INCR);
    dst->base_seq = src->base_seq;
    dst->incr_seq = src->incr_seq;
}

void aof_manifest_set_base(aof_manifest_t *m, const char *name, long long seq)
{
    if (m->base == NULL)
        m->base = mem_calloc(sizeof(*m->base));
    else
        mem_free(m->base->name);
    *m->base = (aof_file_t){.name = mem_strdup(name), .seq = seq, .type = AOF_FILE_BASE};
    if (seq > m->base_seq)
        m->base_seq = seq;
}

void aof_manifest_add_incr(aof_manifest_t *m, const char *name, long long seq)
{
    list_push(&m->incr, &m->nincr, &m->incr_cap, name, seq, AOF_FILE_INCR);
    if (seq > m->incr_seq)
        m->incr_seq = seq;
}

void aof_manifest_base_to_history(aof_manifest_t *m)
{
    if (m->base == NULL)
        return;
    list_push(&m->hist, &m->nhist, &m->hist_cap, m->base->name, m->base->seq, AOF_FILE_HIST);
    file_free(m->base);
    mem_free(m->base);
    m->base = NULL;
}

void aof_manifest_incr_to_history(aof_manifest_t *m, size_t keep)
{
    if (m->nincr <= keep)
        return;
    size_t move = m->nincr - keep;
    for (size_t i = 0; i < move; i++) {
        list_push(&m->hist, &m->nhist, &m->hist_cap, m->incr[i].name, m->incr[i].seq,
                  AOF_FILE_HIST);
        file_free(&m->incr[i]);
    }
    memmove(m->incr, m->incr + move, keep * sizeof(*m->incr));
    m->nincr = keep;
}

void aof_manifest_clear_history(aof_manifest_t *m)
{
    for (size_t i = 0; i < m->nhist; i++)
        file_free(&m->hist[i]);
    m->nhist = 0;
}

/* ---- tokenizer (sdssplitargs rules) --------------------------------------- */

#define MAX_TOKENS 32

typedef struct tok_s {
    char *p; /* NUL-terminated, into the caller's scratch */
} tok_t;

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Double-quoted token starting after the opening quote; *r advances past the
 * closing quote. Returns 0 or -1 (unbalanced). */
static int tok_dquoted(const char *s, size_t n, size_t *r, char *out, size_t *w)
{
    size_t i = *r;
    while (i < n) {
        char c = s[i];
        if (c == '\\' && i + 3 < n && s[i + 1] == 'x' && hexval((unsigned char)s[i + 2]) >= 0 &&
            hexval((unsigned char)s[i + 3]) >= 0) {
            out[(*w)++] = (char)(hexval((unsigned char)s[i + 2]) * 16 + hexval((unsigned char)s[i + 3]));
            i += 4;
        } else if (c == '\\' && i + 1 < n) {
            char e = s[i + 1];
            out[(*w)++] = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e == 'b' ? '\b'
                        : e == 'a' ? '\a' : e;
            i += 2;
        } else if (c == '"') {
            if (i + 1 < n && !isspace((unsigned char)s[i + 1]))
                return -1;
            *r = i + 1;
            return 0;
        } else {
            out[(*w)++] = c;
            i++;
        }
    }
    return -1;
}

static int tok_squoted(const char *s, size_t n, size_t *r, char *out, size_t *w)
{
    size_t i = *r;
    while (i < n) {
        char c = s[i];
        if (c == '\\' && i + 1 < n && s[i + 1] == '\'') {
            out[(*w)++] = '\'';
            i += 2;
        } else if (c == '\'') {
            if (i + 1 < n && !isspace((unsigned char)s[i + 1]))
                return -1;
            *r = i + 1;
            return 0;
        } else {
            out[(*w)++] = c;
            i++;
        }
    }
    return -1;
}

/* Split s[0..n) into at most MAX_TOKENS tokens written into scratch (>= n + MAX_TOKENS
 * bytes). Returns the count, or -1 on unbalanced quotes / too many tokens. */
static int tokenize(const char *s, size_t n, char *scratch, tok_t *toks)
{
    size_t i = 0, w = 0;
    int argc = 0;
    for (;;) {
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        if (i >= n)
            return argc;
        if (argc == MAX_TOKENS)
            return -1;
        toks[argc].p = scratch + w;
        if (s[i] == '"' || s[i] == '\'') {
            size_t r = i + 1;
            int rc = s[i] == '"' ? tok_dquoted(s, n, &r, scratch, &w)
                                 : tok_squoted(s, n, &r, scratch, &w);
            if (rc != 0)
                return -1;
            i = r;
        } else {
            while (i < n && !isspace((unsigned char)s[i]))
                scratch[w++] = s[i++];
        }
        scratch[w++] = '\0';
        argc++;
    }
}

/* ---- parse ---------------------------------------------------------------- */

static int fail(aof_manifest_err_t *err, int line, const char *text, size_t tlen,
                const char *reason)
{
    err->line = line;
    if (tlen > AOF_MANIFEST_MAX_LINE)
        tlen = AOF_MANIFEST_MAX_LINE;
    memcpy(err->text, text, tlen);
    err->text[tlen] = '\0';
    snprintf(err->reason, sizeof(err->reason), "%s", reason);
    return -1;
}

/* One non-comment line. Returns 0 or -1 with the reason in *reason. */
static int parse_line(aof_manifest_t *m, const char *s, size_t n, long long *maxseq,
                      const char **reason)
{
    char scratch[AOF_MANIFEST_MAX_LINE + MAX_TOKENS + 2];
    tok_t toks[MAX_TOKENS];
    int argc = tokenize(s, n, scratch, toks);
    if (argc < 6 || argc % 2 != 0) {
        *reason = "Invalid AOF manifest file format";
        return -1;
    }
    const char *name = NULL;
    long long seq = 0;
    int type = 0;
    for (int i = 0; i < argc; i += 2) {
        if (strcasecmp(toks[i].p, "file") == 0) {
            name = toks[i + 1].p;
            if (strchr(name, '/') != NULL) {
                *reason = "File can't be a path, just a filename";
                return -1;
            }
        } else if (strcasecmp(toks[i].p, "seq") == 0) {
            seq = strtoll(toks[i + 1].p, NULL, 10);
        } else if (strcasecmp(toks[i].p, "type") == 0) {
            type = (unsigned char)toks[i + 1].p[0];
        }
    }
    if (name == NULL || name[0] == '\0' || seq == 0 || type == 0) {
        *reason = "Invalid AOF manifest file format";
        return -1;
    }
    if (type == AOF_FILE_BASE) {
        if (m->base != NULL) {
            *reason = "Found duplicate base file information";
            return -1;
        }
        aof_manifest_set_base(m, name, seq);
        m->base_seq = seq;
    } else if (type == AOF_FILE_HIST) {
        list_push(&m->hist, &m->nhist, &m->hist_cap, name, seq, AOF_FILE_HIST);
    } else if (type == AOF_FILE_INCR) {
        if (seq <= *maxseq) {
            *reason = "Found a non-monotonic sequence number";
            return -1;
        }
        aof_manifest_add_incr(m, name, seq);
        m->incr_seq = seq;
        *maxseq = seq;
    } else {
        *reason = "Unknown AOF file type";
        return -1;
    }
    return 0;
}

int aof_manifest_parse(const char *buf, size_t len, aof_manifest_t *m, aof_manifest_err_t *err)
{
    aof_manifest_init(m);
    memset(err, 0, sizeof(*err));
    if (len == 0)
        return fail(err, 0, "", 0, "Found an empty AOF manifest");
    long long maxseq = 0;
    int line = 0;
    for (size_t pos = 0; pos < len;) {
        const char *s = buf + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        line++;
        if (nl == NULL || n >= AOF_MANIFEST_MAX_LINE) {
            aof_manifest_deinit(m);
            return fail(err, 0, "", 0, "The AOF manifest file contains too long line");
        }
        pos += n + 1;
        if (n > 0 && s[0] == '#')
            continue;
        const char *reason = NULL;
        if (memchr(s, '\0', n) != NULL) {
            reason = "Invalid AOF manifest file format";
        } else if (parse_line(m, s, n, &maxseq, &reason) == 0) {
            continue;
        }
        aof_manifest_deinit(m);
        size_t tl = n;
        while (tl > 0 && (s[tl - 1] == '\r' || s[tl - 1] == ' ' || s[tl - 1] == '\t'))
            tl--;
        return fail(err, line, s, tl, reason);
    }
    return 0;
}

void aof_manifest_err_format(const aof_manifest_err_t *err, char *buf, size_t cap)
{
    if (err->line == 0)
        snprintf(buf, cap, "%s", err->reason);
    else
        snprintf(buf, cap, "Reading the manifest file, at line %d\n>>> '%s'\n%s", err->line,
                 err->text, err->reason);
}

/* ---- encode --------------------------------------------------------------- */

typedef struct sbuf_s {
    char *p;
    size_t len, cap;
} sbuf_t;

static void sb_put(sbuf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = mem_realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static int needs_repr(const char *s)
{
    if (*s == '\0')
        return 1; /* "" must stay a token */
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\\' || c == '"' || c == '\'' || isspace(c) || !isprint(c))
            return 1;
    }
    return 0;
}

/* Quoted form with escapes, as Redis's sdscatrepr writes it. */
static void sb_repr(sbuf_t *b, const char *s)
{
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char e[8];
        switch (c) {
        case '\\': sb_put(b, "\\\\", 2); break;
        case '"': sb_put(b, "\\\"", 2); break;
        case '\n': sb_put(b, "\\n", 2); break;
        case '\r': sb_put(b, "\\r", 2); break;
        case '\t': sb_put(b, "\\t", 2); break;
        case '\a': sb_put(b, "\\a", 2); break;
        case '\b': sb_put(b, "\\b", 2); break;
        default:
            if (isprint(c)) {
                sb_put(b, (const char *)&c, 1);
            } else {
                snprintf(e, sizeof(e), "\\x%02x", c);
                sb_put(b, e, 4);
            }
        }
    }
    sb_put(b, "\"", 1);
}

static void sb_file(sbuf_t *b, const aof_file_t *f)
{
    char tail[64];
    sb_put(b, "file ", 5);
    if (needs_repr(f->name))
        sb_repr(b, f->name);
    else
        sb_put(b, f->name, strlen(f->name));
    int n = snprintf(tail, sizeof(tail), " seq %lld type %c\n", f->seq, f->type);
    sb_put(b, tail, (size_t)n);
}

char *aof_manifest_encode(const aof_manifest_t *m, size_t *len)
{
    sbuf_t b = {mem_alloc(256), 0, 256};
    b.p[0] = '\0';
    if (m->base != NULL)
        sb_file(&b, m->base);
    for (size_t i = 0; i < m->nhist; i++)
        sb_file(&b, &m->hist[i]);
    for (size_t i = 0; i < m->nincr; i++)
        sb_file(&b, &m->incr[i]);
    *len = b.len;
    return b.p;
}

/* ---- names ---------------------------------------------------------------- */

static char *fmt_name(const char *fmt, const char *s, long long n)
{
    int need = snprintf(NULL, 0, fmt, s, n);
    char *p = mem_alloc((size_t)need + 1);
    snprintf(p, (size_t)need + 1, fmt, s, n);
    return p;
}

static char *cat3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *p = mem_alloc(la + lb + lc + 1);
    memcpy(p, a, la);
    memcpy(p + la, b, lb);
    memcpy(p + la + lb, c, lc + 1);
    return p;
}

char *aof_name_base(const char *fname, long long seq, int rdb)
{
    return fmt_name(rdb ? "%s.%lld.base.rdb" : "%s.%lld.base.aof", fname, seq);
}
char *aof_name_incr(const char *fname, long long seq) { return fmt_name("%s.%lld.incr.aof", fname, seq); }
char *aof_name_manifest(const char *fname) { return cat3("", fname, ".manifest"); }
char *aof_name_temp_manifest(const char *fname) { return cat3("temp-", fname, ".manifest"); }
char *aof_name_temp_incr(const char *fname) { return cat3("temp-", fname, ".incr"); }
char *aof_name_temp_rewrite(int pid) { return fmt_name("%stemp-rewriteaof-bg-%lld.aof", "", pid); }

char *aof_path(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    char *p = mem_alloc(dl + nl + 2);
    memcpy(p, dir, dl);
    p[dl] = '/';
    memcpy(p + dl + 1, name, nl + 1);
    return p;
}

/* ---- atomic write ------------------------------------------------------- */

int aof_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int aof_manifest_write_atomic(const char *dir, const char *name, const char *tmpname,
                              const char *data, size_t len)
{
    char *tmp = aof_path(dir, tmpname), *dst = aof_path(dir, name);
    int rc = -1, e = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        if (write_all(fd, data, len) == 0 && fsync(fd) == 0) {
            if (close(fd) == 0 && rename(tmp, dst) == 0)
                rc = aof_fsync_dir(dir);
            fd = -1;
        }
        e = errno;
        if (fd >= 0)
            close(fd);
        if (rc != 0)
            unlink(tmp);
    } else {
        e = errno;
    }
    mem_free(tmp);
    mem_free(dst);
    errno = e;
    return rc;
}
