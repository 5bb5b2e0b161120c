/*
 * config.c — the config's life cycle and its Redis 7.0 front doors: defaults,
 * the redis.conf tokenizer, loading a file / text / command line (with
 * include), the FATAL CONFIG FILE ERROR report, CONFIG GET and atomic
 * CONFIG SET.
 *
 * Owns: the conversion of a redis-server command line into config text, the
 * per-line rules (trim, comments, lower-case directive names, argument counts),
 * CONFIG GET matching and CONFIG SET's all-or-nothing sequence.
 * Must not: know particular directives beyond "include" (rows do), write to a
 * socket, or exit the process (callers decide; loading returns -1 with an error).
 * Invariants: a failed config_set_ex() leaves every option as it was; a line
 * error leaves *err describing exactly one line.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../lib/mem.h"
#include "../lib/util.h"
#include "config_table.h"

/* The version in the fatal error banner; the build may define the real one. */
#ifndef TESSERA_VERSION
#define TESSERA_VERSION "0.1.0"
#endif

/* Nested include levels before loading gives up (Redis would recurse forever). */
#define CONFIG_MAX_INCLUDE_DEPTH 16

/* ---- life cycle ------------------------------------------------------------- */

void config_init(config_t *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < conf_table_len; i++)
        conf_row_init(c, &conf_table[i]);
}

void config_deinit(config_t *c)
{
    for (size_t i = 0; i < conf_table_len; i++)
        conf_row_deinit(c, &conf_table[i]);
}

/* ---- tokenizer ---------------------------------------------------------------- */

static int hex_val(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static int escape_char(int ch)
{
    switch (ch) {
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'b':
        return '\b';
    case 'a':
        return '\a';
    default:
        return ch;
    }
}

/* One argument starting at *pos (not a blank). Returns 1, or 0 on unbalanced
 * quotes. at(i) reads '\0' past the end, like the C string Redis scans. */
static int split_one(const char *s, size_t len, size_t *pos, conf_buf_t *tok)
{
#define AT(i) ((i) < len ? s[(i)] : '\0')
    size_t p = *pos;
    int inq = 0, insq = 0;
    conf_buf_cat(tok, "", 0);
    for (;;) {
        char ch = AT(p);
        if (inq) {
            if (ch == '\\' && AT(p + 1) == 'x' && hex_val(AT(p + 2)) >= 0 &&
                hex_val(AT(p + 3)) >= 0) {
                char byte = (char)(hex_val(AT(p + 2)) * 16 + hex_val(AT(p + 3)));
                conf_buf_cat(tok, &byte, 1);
                p += 3;
            } else if (ch == '\\' && AT(p + 1) != '\0') {
                p++;
                char e = (char)escape_char(AT(p));
                conf_buf_cat(tok, &e, 1);
            } else if (ch == '"') {
                if (AT(p + 1) != '\0' && !isspace((unsigned char)AT(p + 1)))
                    return 0;
                p++;
                break;
            } else if (ch == '\0') {
                return 0;
            } else {
                conf_buf_cat(tok, &ch, 1);
            }
        } else if (insq) {
            if (ch == '\\' && AT(p + 1) == '\'') {
                p++;
                conf_buf_cat(tok, "'", 1);
            } else if (ch == '\'') {
                if (AT(p + 1) != '\0' && !isspace((unsigned char)AT(p + 1)))
                    return 0;
                p++;
                break;
            } else if (ch == '\0') {
                return 0;
            } else {
                conf_buf_cat(tok, &ch, 1);
            }
        } else if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t' || ch == '\0') {
            break;
        } else if (ch == '"') {
            inq = 1;
        } else if (ch == '\'') {
            insq = 1;
        } else {
            conf_buf_cat(tok, &ch, 1);
        }
        p++;
    }
    *pos = p;
    return 1;
#undef AT
}

int config_split_line(const char *line, size_t len, char ***argvp, size_t **lensp)
{
    len = strnlen(line, len);
    char **argv = NULL;
    size_t *lens = NULL;
    int argc = 0;
    size_t p = 0;
    for (;;) {
        while (p < len && isspace((unsigned char)line[p]))
            p++;
        if (p >= len)
            break;
        conf_buf_t tok = {0};
        if (!split_one(line, len, &p, &tok)) {
            conf_buf_free(&tok);
            config_free_args(argc, argv, lens);
            *argvp = NULL;
            if (lensp)
                *lensp = NULL;
            return -1;
        }
        argv = mem_realloc(argv, sizeof(*argv) * (size_t)(argc + 1));
        lens = mem_realloc(lens, sizeof(*lens) * (size_t)(argc + 1));
        argv[argc] = tok.p;
        lens[argc] = tok.len;
        argc++;
    }
    *argvp = argv;
    if (lensp)
        *lensp = lens;
    else
        mem_free(lens);
    return argc;
}

void config_free_args(int argc, char **argv, size_t *lens)
{
    for (int i = 0; i < argc; i++)
        mem_free(argv[i]);
    mem_free(argv);
    mem_free(lens);
}

/* ---- loading ------------------------------------------------------------------ */

static void err_line(config_err_t *err, const char *file, int line, const char *text,
                     size_t text_len, const char *reason)
{
    memset(err, 0, sizeof(*err));
    err->kind = CONFIG_ERR_LINE;
    snprintf(err->file, sizeof(err->file), "%s", file ? file : "");
    err->line = line;
    snprintf(err->text, sizeof(err->text), "%.*s", (int)text_len, text);
    snprintf(err->reason, sizeof(err->reason), "%s", reason);
}

static void err_open(config_err_t *err, const char *file, int errnum)
{
    memset(err, 0, sizeof(*err));
    err->kind = CONFIG_ERR_OPEN;
    snprintf(err->file, sizeof(err->file), "%s", file);
    snprintf(err->reason, sizeof(err->reason), "%s", strerror(errnum));
}

/* The whole of fd into b; returns 0 or -1 (errno set). */
static int read_fd(int fd, conf_buf_t *b)
{
    char chunk[16384];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        conf_buf_cat(b, chunk, (size_t)n);
    }
}

static int read_path(const char *path, conf_buf_t *b, config_err_t *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read_fd(fd, b) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        err_open(err, path, e);
        return -1;
    }
    close(fd);
    return 0;
}

static int load_text(config_t *c, const char *text, size_t len, const char *file, int depth,
                     config_err_t *err);

/* A path, or every match of a glob pattern in order (no match loads nothing). */
static int load_path(config_t *c, const char *path, int depth, config_err_t *err)
{
    if (strpbrk(path, "*?[") == NULL) {
        conf_buf_t b = {0};
        int rc = read_path(path, &b, err);
        if (rc == 0)
            rc = load_text(c, conf_buf_str(&b), b.len, path, depth, err);
        conf_buf_free(&b);
        return rc;
    }
    glob_t g;
    int rc = 0;
    if (glob(path, 0, NULL, &g) != 0)
        return 0;
    for (size_t i = 0; i < g.gl_pathc && rc == 0; i++) {
        conf_buf_t b = {0};
        rc = read_path(g.gl_pathv[i], &b, err);
        if (rc == 0)
            rc = load_text(c, conf_buf_str(&b), b.len, g.gl_pathv[i], depth, err);
        conf_buf_free(&b);
    }
    globfree(&g);
    return rc;
}

/* Apply one directive line already split; returns NULL or the error reason. */
static const char *apply_directive(config_t *c, int argc, char **argv, int depth,
                                   conf_setctx_t *ctx, config_err_t *err, int *nested_err)
{
    const conf_row_t *row = conf_lookup(argv[0]);
    const char *why = NULL;
    if (row == NULL) {
        if (strcasecmp(argv[0], "include") != 0 || argc != 2)
            return "Bad directive or wrong number of arguments";
        if (depth >= CONFIG_MAX_INCLUDE_DEPTH)
            return "Too many nested include directives";
        if (load_path(c, argv[1], depth + 1, err) != 0)
            *nested_err = 1;
        return NULL;
    }
    if (!(row->flags & CONF_MULTI_ARG) && argc != 2)
        return "wrong number of arguments";
    if ((row->flags & CONF_MULTI_ARG) && argc == 2 && argv[1][0] != '\0') {
        /* One argument holding several: `save "900 1 300 10"`, `--bind "a b"`. */
        char **sub;
        int n = config_split_line(argv[1], strlen(argv[1]), &sub, NULL);
        if (n < 0)
            n = 0;
        if (!conf_row_set(c, row, ctx, n, sub, &why))
            why = why ? why : "Invalid argument";
        config_free_args(n, sub, NULL);
        return why;
    }
    if (!conf_row_set(c, row, ctx, argc - 1, argv + 1, &why))
        return why ? why : "Invalid argument";
    return NULL;
}

static int load_text(config_t *c, const char *text, size_t len, const char *file, int depth,
                     config_err_t *err)
{
    conf_setctx_t ctx = {.loading = 1};
    size_t start = 0;
    for (int lineno = 1; start <= len; lineno++) {
        const char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - text) : len;
        const char *s = text + start;
        size_t n = end - start;
        start = end + 1;
        while (n > 0 && strchr(" \t\r\n", s[0]) != NULL)
            s++, n--;
        while (n > 0 && strchr(" \t\r\n", s[n - 1]) != NULL)
            n--;
        if (n == 0 || s[0] == '#')
            continue;
        char **argv;
        int argc = config_split_line(s, n, &argv, NULL);
        if (argc < 0) {
            err_line(err, file, lineno, s, n, "Unbalanced quotes in configuration line");
            return -1;
        }
        if (argc == 0) {
            config_free_args(argc, argv, NULL);
            continue;
        }
        int nested = 0;
        const char *why = apply_directive(c, argc, argv, depth, &ctx, err, &nested);
        config_free_args(argc, argv, NULL);
        if (nested)
            return -1;
        if (why != NULL) {
            err_line(err, file, lineno, s, n, why);
            return -1;
        }
    }
    return 0;
}

int config_load_text(config_t *c, const char *text, size_t len, const char *file, config_err_t *err)
{
    return load_text(c, text, len, file, 0, err);
}

int config_load_file(config_t *c, const char *path, config_err_t *err)
{
    return load_path(c, path, 0, err);
}

/* Redis's getAbsolutePath: trim blanks, then prefix the working directory,
 * folding leading "../" into it. */
static char *absolute_path(const char *path)
{
    while (*path && strchr(" \r\n\t", *path))
        path++;
    size_t n = strlen(path);
    while (n > 0 && strchr(" \r\n\t", path[n - 1]))
        n--;
    if (n > 0 && path[0] == '/')
        return mem_strndup(path, n);
    char cwd[4096];
    if (getcwd(cwd, sizeof(cwd)) == NULL)
        return mem_strndup(path, n);
    size_t cl = strlen(cwd);
    while (n >= 3 && memcmp(path, "../", 3) == 0) {
        while (cl > 1 && cwd[cl - 1] == '/')
            cl--;
        while (cl > 1 && cwd[cl - 1] != '/')
            cl--;
        path += 3, n -= 3;
    }
    conf_buf_t b = {0};
    conf_buf_cat(&b, cwd, cl);
    if (cl == 0 || cwd[cl - 1] != '/')
        conf_buf_cat(&b, "/", 1);
    conf_buf_cat(&b, path, n);
    return b.p;
}

/* The command line after the config file, as config text (Redis's rules). */
static void argv_to_text(int argc, char **argv, int j, int *from_stdin, conf_buf_t *opts)
{
    int handled_last = 1; /* the previous option already has an argument */
    for (; j < argc; j++) {
        const char *a = argv[j];
        if (a[0] == '-' && a[1] == '\0' && (j == 0 || j == argc - 1)) {
            *from_stdin = 1;
        } else if (handled_last && a[0] == '-' && a[1] == '-') {
            if (opts->len)
                conf_buf_cat(opts, "\n", 1);
            conf_buf_cats(opts, a + 2);
            conf_buf_cat(opts, " ", 1);
            char **words;
            int nw = config_split_line(a, strlen(a), &words, NULL);
            config_free_args(nw < 0 ? 0 : nw, words, NULL);
            handled_last = nw != 1; /* "--port 6380" in one word is complete */
            if (nw == 1 && strcasecmp(a, "--save") == 0) {
                int next_opt = j != argc - 1 && argv[j + 1][0] == '-' && argv[j + 1][1] == '-';
                /* A bare --save (last, or before another --option) means save "". */
                if (next_opt || j == argc - 1)
                    conf_buf_cats(opts, "\"\"");
                handled_last = next_opt;
            }
        } else {
            conf_buf_repr(opts, a, strlen(a));
            conf_buf_cat(opts, " ", 1);
            handled_last = 1;
        }
    }
}

int config_load_argv(config_t *c, int argc, char **argv, char **config_file, config_err_t *err)
{
    *config_file = NULL;
    int j = 0, from_stdin = 0;
    if (argc > 0 && argv[0][0] != '-') {
        *config_file = absolute_path(argv[0]);
        j = 1;
    }
    conf_buf_t opts = {0}, text = {0};
    argv_to_text(argc, argv, j, &from_stdin, &opts);
    int rc = 0;
    if (*config_file != NULL)
        rc = read_path(*config_file, &text, err);
    if (rc == 0 && from_stdin) {
        log_warning("Reading config from stdin");
        if (read_fd(STDIN_FILENO, &text) != 0) {
            err_open(err, "stdin", errno);
            rc = -1;
        }
    }
    if (rc == 0) {
        conf_buf_cat(&text, "\n", 1);
        conf_buf_cat(&text, conf_buf_str(&opts), opts.len);
        rc = load_text(c, text.p, text.len, *config_file ? *config_file : "", 0, err);
    }
    conf_buf_free(&opts);
    conf_buf_free(&text);
    return rc;
}

void config_err_print(const config_err_t *err)
{
    if (err->kind == CONFIG_ERR_OPEN) {
        log_warning("Fatal error, can't open config file '%s': %s", err->file, err->reason);
        return;
    }
    fprintf(stderr, "\n*** FATAL CONFIG FILE ERROR (Tessera %s) ***\n", TESSERA_VERSION);
    if (err->line > 0) {
        /* Redis's wording, plus the file name (Redis leaves it out, which makes
         * errors in included files hard to find). */
        if (err->file[0] != '\0')
            fprintf(stderr, "Reading the configuration file %s, at line %d\n", err->file,
                    err->line);
        else
            fprintf(stderr, "Reading the configuration file, at line %d\n", err->line);
        fprintf(stderr, ">>> '%s'\n", err->text);
    }
    fprintf(stderr, "%s\n", err->reason);
    fflush(stderr);
}

/* ---- CONFIG GET ------------------------------------------------------------- */

typedef struct match_s {
    const char *name; /* as reported: the caller's spelling for exact names */
    const conf_row_t *row;
} match_t;

static int match_has(const match_t *m, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(m[i].name, name) == 0)
            return 1;
    return 0;
}

/* Add every table name (and alias) matching pat; returns the new count. */
static size_t match_glob(const char *pat, match_t *m, size_t n)
{
    for (size_t i = 0; i < conf_table_len; i++) {
        const conf_row_t *row = &conf_table[i];
        if (row->flags & CONF_HIDDEN)
            continue;
        const char *names[2] = {row->name, row->alias};
        for (int k = 0; k < 2; k++) {
            if (names[k] == NULL || match_has(m, n, names[k]))
                continue;
            if (glob_match(pat, strlen(pat), names[k], strlen(names[k]), 1))
                m[n++] = (match_t){names[k], row};
        }
    }
    return n;
}

void config_get(const config_t *c, const char *const *patterns, int npatterns,
                void (*fn)(void *arg, const char *name, const char *value), void *arg)
{
    size_t cap = conf_table_len * 2, n = 0;
    match_t *m = mem_alloc(sizeof(*m) * cap);
    for (int i = 0; i < npatterns; i++) {
        const char *pat = patterns[i];
        if (strpbrk(pat, "[*?") != NULL) {
            n = match_glob(pat, m, n);
            continue;
        }
        const conf_row_t *row = conf_lookup(pat);
        if (row != NULL && !match_has(m, n, pat) && n < cap)
            m[n++] = (match_t){pat, row};
    }
    for (size_t i = 0; i < n; i++) {
        conf_buf_t v = {0};
        conf_row_get(c, m[i].row, &v);
        fn(arg, m[i].name, conf_buf_str(&v));
        conf_buf_free(&v);
    }
    mem_free(m);
}

int config_get_value(const config_t *c, const char *name, char *buf, size_t cap)
{
    const conf_row_t *row = conf_lookup(name);
    if (row == NULL)
        return -1;
    conf_buf_t v = {0};
    conf_row_get(c, row, &v);
    if (cap > 0)
        snprintf(buf, cap, "%s", conf_buf_str(&v));
    conf_buf_free(&v);
    return 0;
}

int config_is_sensitive(const char *name)
{
    const conf_row_t *row = conf_lookup(name);
    return row != NULL && (row->flags & CONF_SENSITIVE) != 0;
}

/* ---- CONFIG SET ------------------------------------------------------------- */

/* Set one row from CONFIG SET text: several-argument options split on single
 * spaces (so "a  b" has an empty middle argument, and "" has none). */
static int set_from_text(config_t *c, const conf_row_t *row, const char *value, conf_setctx_t *ctx,
                         const char **why)
{
    char *one[1] = {(char *)value};
    if (!(row->flags & CONF_MULTI_ARG))
        return conf_row_set(c, row, ctx, 1, one, why);
    char *copy = mem_strdup(value);
    size_t len = strlen(copy);
    int argc = 0;
    char **argv = mem_alloc(sizeof(*argv) * (len / 2 + 2));
    for (char *p = copy; len > 0;) {
        argv[argc++] = p;
        char *sp = strchr(p, ' ');
        if (sp == NULL)
            break;
        *sp = '\0';
        p = sp + 1;
    }
    int ok = conf_row_set(c, row, ctx, argc, argv, why);
    mem_free(argv);
    mem_free(copy);
    return ok;
}

static char *row_text(const config_t *c, const conf_row_t *row)
{
    conf_buf_t b = {0};
    conf_row_get(c, row, &b);
    conf_buf_str(&b);
    return b.p;
}

static void restore(config_t *c, const conf_row_t **rows, char **old, int n)
{
    for (int i = 0; i < n; i++) {
        conf_setctx_t ctx = {.loading = 0};
        const char *why = NULL;
        set_from_text(c, rows[i], old[i], &ctx, &why);
    }
}

/* Checks before any change: unknown, immutable, protected, duplicate.
 * Returns -1 with errbuf set on the first problem (Redis's precedence). */
static int set_check(const config_t *c, int npairs, const char *const *names, int local_client,
                     const conf_row_t **rows, char *errbuf, size_t errcap)
{
    for (int i = 0; i < npairs; i++) {
        const conf_row_t *row = conf_lookup(names[i]);
        const char *why = NULL;
        if (row == NULL) {
            snprintf(errbuf, errcap, "Unknown option or number of arguments for CONFIG SET - '%s'",
                     names[i]);
            return -1;
        }
        if (!(row->flags & CONF_MUTABLE))
            why = "can't set immutable config";
        else if ((row->flags & CONF_PROTECTED) &&
                 !(c->enable_protected_configs == CONFIG_ALLOW_YES ||
                   (c->enable_protected_configs == CONFIG_ALLOW_LOCAL && local_client)))
            why = "can't set protected config";
        for (int j = 0; why == NULL && j < i; j++)
            if (rows[j] == row)
                why = "duplicate parameter";
        if (why != NULL) {
            snprintf(errbuf, errcap, "CONFIG SET failed (possibly related to argument '%s') - %s",
                     names[i], why);
            return -1;
        }
        rows[i] = row;
    }
    return 0;
}

/* Values are in place: run each distinct apply class once, first-come order. */
static int set_apply(config_t *c, const conf_row_t **rows, char **old, const int *changed,
                     int npairs, config_apply_fn apply, void *arg, char *errbuf, size_t errcap)
{
    for (int i = 0; apply != NULL && i < npairs; i++) {
        int what = rows[i]->apply, first = 1;
        for (int j = 0; j < i && first; j++)
            first = !(changed[j] && rows[j]->apply == what);
        if (!changed[i] || what == 0 || !first)
            continue;
        const char *why = NULL;
        if (apply(arg, what, c, &why) == 0)
            continue;
        log_warning("Failed applying new configuration. Possibly related to new %s setting. "
                    "Restoring previous settings.",
                    rows[i]->name);
        restore(c, rows, old, npairs);
        for (int k = 0; k < npairs; k++) {
            const char *ignored = NULL;
            int seen = 0;
            for (int j = 0; j < k && !seen; j++)
                seen = changed[j] && rows[j]->apply == rows[k]->apply;
            if (changed[k] && rows[k]->apply != 0 && !seen)
                apply(arg, rows[k]->apply, c, &ignored);
        }
        snprintf(errbuf, errcap, "CONFIG SET failed (possibly related to argument '%s') - %s",
                 rows[i]->name, why ? why : "");
        return -1;
    }
    return 0;
}

int config_set_ex(config_t *c, int npairs, const char *const *names, const char *const *values,
                  int local_client, config_apply_fn apply, void *apply_arg, char *errbuf,
                  size_t errcap)
{
    if (npairs <= 0)
        return 0;
    const conf_row_t **rows = mem_calloc(sizeof(*rows) * (size_t)npairs);
    char **old = mem_calloc(sizeof(*old) * (size_t)npairs);
    int *changed = mem_calloc(sizeof(*changed) * (size_t)npairs);
    int rc = set_check(c, npairs, names, local_client, rows, errbuf, errcap);
    for (int i = 0; rc == 0 && i < npairs; i++)
        old[i] = row_text(c, rows[i]);
    for (int i = 0; rc == 0 && i < npairs; i++) {
        conf_setctx_t ctx = {.loading = 0};
        const char *why = NULL;
        if (!set_from_text(c, rows[i], values[i], &ctx, &why)) {
            /* Copy the reason first: restoring reuses nothing of ctx, but strerror may. */
            char reason[256];
            snprintf(reason, sizeof(reason), "%s", why ? why : "");
            restore(c, rows, old, i + 1);
            snprintf(errbuf, errcap, "CONFIG SET failed (possibly related to argument '%s') - %s",
                     rows[i]->name, reason);
            rc = -1;
            break;
        }
        char *now = row_text(c, rows[i]);
        changed[i] = strcmp(now, old[i]) != 0;
        mem_free(now);
    }
    if (rc == 0)
        rc = set_apply(c, rows, old, changed, npairs, apply, apply_arg, errbuf, errcap);
    for (int i = 0; i < npairs; i++)
        mem_free(old[i]);
    mem_free(old);
    mem_free(rows);
    mem_free(changed);
    return rc;
}

int config_set(config_t *c, int npairs, const char *const *names, const char *const *values,
               char *errbuf, size_t errcap)
{
    return config_set_ex(c, npairs, names, values, 0, NULL, NULL, errbuf, errcap);
}
