/*
 * config_special.c — directives whose values are not a single scalar: bind,
 * save, client-output-buffer-limit, dir, requirepass, notify-keyspace-events,
 * oom-score-adj-values; and the string validators (dbfilename, appendfilename,
 * appenddirname, proc-title-template) and the hz clamp.
 *
 * Owns: their parsing, their CONFIG GET text and their rewrite lines, with
 * Redis 7.0's exact texts (checked against redis-server 7.0.15).
 * Must not: touch anything but the config_t fields of its directives; the one
 * process side effect is chdir() for "dir", as in Redis.
 * Invariants: a failed set leaves the value unchanged (everything is checked
 * before anything is replaced).
 */
#include "config_table.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../lib/mem.h"

/* ---- bind ----------------------------------------------------------------- */

static const char *const bind_default[] = {"*", "-::*"};

static void bind_deinit(config_t *c)
{
    for (int i = 0; i < c->nbind; i++) {
        mem_free(c->bind[i]);
        c->bind[i] = NULL;
    }
    c->nbind = 0;
}

static void bind_init(config_t *c)
{
    c->nbind = 0;
    for (int i = 0; i < 2; i++)
        c->bind[c->nbind++] = mem_strdup(bind_default[i]);
}

static int bind_set(config_t *c, conf_setctx_t *ctx, int argc, char **argv, const char **err)
{
    (void)ctx;
    if (argc > CONFIG_MAX_BIND) {
        *err = "Too many bind addresses specified.";
        return 0;
    }
    if (argc == 1 && argv[0][0] == '\0')
        argc = 0;
    bind_deinit(c);
    for (int i = 0; i < argc; i++)
        c->bind[i] = mem_strdup(argv[i]);
    c->nbind = argc;
    return 1;
}

static void bind_get(const config_t *c, conf_buf_t *out)
{
    for (int i = 0; i < c->nbind; i++) {
        if (i)
            conf_buf_cat(out, " ", 1);
        conf_buf_cats(out, c->bind[i]);
    }
}

static void bind_rewrite(const config_t *c, const conf_row_t *row, conf_rw_t *rw)
{
    int is_default = c->nbind == 2;
    for (int i = 0; is_default && i < 2; i++)
        is_default = strcmp(c->bind[i], bind_default[i]) == 0;
    if (is_default) {
        conf_rw_mark(rw, row);
        return;
    }
    conf_buf_t b = {0};
    conf_buf_cats(&b, "bind ");
    if (c->nbind == 0)
        conf_buf_cats(&b, "\"\"");
    else
        bind_get(c, &b);
    conf_rw_line(rw, row, b.p, 1);
}

const conf_special_t conf_special_bind = {
    .init = bind_init,
    .deinit = bind_deinit,
    .set = bind_set,
    .get = bind_get,
    .rewrite = bind_rewrite,
};

/* ---- save ----------------------------------------------------------------- */

static void save_deinit(config_t *c)
{
    mem_free(c->save);
    c->save = NULL;
    c->nsave = 0;
}

static void save_append(config_t *c, long long seconds, long long changes)
{
    c->save = mem_realloc(c->save, sizeof(*c->save) * (size_t)(c->nsave + 1));
    c->save[c->nsave].seconds = seconds;
    c->save[c->nsave].changes = changes;
    c->nsave++;
}

static void save_init(config_t *c)
{
    c->save = NULL;
    c->nsave = 0;
    save_append(c, 3600, 1);
    save_append(c, 300, 100);
    save_append(c, 60, 10000);
}

/* Redis reads save numbers with strtoll (leading blanks and '+' pass, "" is 0);
 * the changes count is then kept in an int. */
static int save_number(const char *s, long long min, long long *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0' || v < min)
        return 0;
    *out = v;
    return 1;
}

static int save_set(config_t *c, conf_setctx_t *ctx, int argc, char **argv, const char **err)
{
    int cleared = 0;
    if (argc == 1 && argv[0][0] == '\0') {
        argc = 0;
        cleared = 1;
    }
    if (argc & 1) {
        *err = "Invalid save parameters";
        return 0;
    }
    long long v;
    for (int i = 0; i < argc; i++) {
        if (!save_number(argv[i], (i & 1) ? 0 : 1, &v)) {
            *err = "Invalid save parameters";
            return 0;
        }
    }
    /* While loading, the first save line replaces the defaults and later lines
     * add to it; CONFIG SET always replaces. `save ""` always clears. */
    if (cleared || !ctx->loading || !c->load_save_seen)
        save_deinit(c);
    if (ctx->loading)
        c->load_save_seen = 1;
    for (int i = 0; i < argc; i += 2) {
        long long secs = 0, changes = 0;
        save_number(argv[i], 1, &secs);
        save_number(argv[i + 1], 0, &changes);
        save_append(c, secs, (long long)(int)changes);
    }
    return 1;
}

static void save_get(const config_t *c, conf_buf_t *out)
{
    for (int i = 0; i < c->nsave; i++)
        conf_buf_printf(out, "%s%lld %lld", i ? " " : "", c->save[i].seconds, c->save[i].changes);
}

static void save_rewrite(const config_t *c, const conf_row_t *row, conf_rw_t *rw)
{
    if (c->nsave == 0) {
        conf_rw_line(rw, row, mem_strdup("save \"\""), 1);
        return;
    }
    for (int i = 0; i < c->nsave; i++) {
        conf_buf_t b = {0};
        conf_buf_printf(&b, "save %lld %lld", c->save[i].seconds, c->save[i].changes);
        conf_rw_line(rw, row, b.p, 1);
    }
    conf_rw_mark(rw, row);
}

const conf_special_t conf_special_save = {
    .init = save_init,
    .deinit = save_deinit,
    .set = save_set,
    .get = save_get,
    .rewrite = save_rewrite,
};

/* ---- client-output-buffer-limit ---------------------------------------------- */

static const obuf_limit_t obuf_default[OBUF_CLASSES] = {
    {0, 0, 0},
    {256ULL * 1024 * 1024, 64ULL * 1024 * 1024, 60},
    {32ULL * 1024 * 1024, 8ULL * 1024 * 1024, 60},
};
static const char *const obuf_names[OBUF_CLASSES] = {"normal", "slave", "pubsub"};

static int obuf_class(const char *name)
{
    if (strcasecmp(name, "normal") == 0)
        return OBUF_NORMAL;
    if (strcasecmp(name, "slave") == 0 || strcasecmp(name, "replica") == 0)
        return OBUF_REPLICA;
    if (strcasecmp(name, "pubsub") == 0)
        return OBUF_PUBSUB;
    return -1; /* "master" is a client type too, but has no limits */
}

static void obuf_init(config_t *c)
{
    memcpy(c->obuf_limits, obuf_default, sizeof(obuf_default));
}

static int obuf_set(config_t *c, conf_setctx_t *ctx, int argc, char **argv, const char **err)
{
    (void)ctx;
    obuf_limit_t v[OBUF_CLASSES];
    int seen[OBUF_CLASSES] = {0};
    if (argc % 4) {
        *err = "Wrong number of arguments in buffer limit configuration.";
        return 0;
    }
    for (int i = 0; i < argc; i += 4) {
        int cls = obuf_class(argv[i]);
        if (cls < 0) {
            *err = "Invalid client class specified in buffer limit configuration.";
            return 0;
        }
        unsigned long long hard, soft;
        char *end;
        long long secs = strtoll(argv[i + 3], &end, 10);
        int isecs = (int)secs; /* Redis keeps the seconds in an int */
        if (config_parse_memory(argv[i + 1], &hard) != 0 ||
            config_parse_memory(argv[i + 2], &soft) != 0 || isecs < 0 || *end != '\0') {
            *err = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
            return 0;
        }
        v[cls] = (obuf_limit_t){hard, soft, isecs};
        seen[cls] = 1;
    }
    for (int k = 0; k < OBUF_CLASSES; k++)
        if (seen[k])
            c->obuf_limits[k] = v[k];
    return 1;
}

static void obuf_get(const config_t *c, conf_buf_t *out)
{
    for (int k = 0; k < OBUF_CLASSES; k++)
        conf_buf_printf(out, "%s%s %llu %llu %lld", k ? " " : "", obuf_names[k],
                        c->obuf_limits[k].hard, c->obuf_limits[k].soft,
                        c->obuf_limits[k].soft_seconds);
}

static void obuf_rewrite(const config_t *c, const conf_row_t *row, conf_rw_t *rw)
{
    for (int k = 0; k < OBUF_CLASSES; k++) {
        const obuf_limit_t *l = &c->obuf_limits[k];
        int force = l->hard != obuf_default[k].hard || l->soft != obuf_default[k].soft ||
                    l->soft_seconds != obuf_default[k].soft_seconds;
        conf_buf_t b = {0};
        /* The rewrite spells the replica class "replica"; CONFIG GET says "slave". */
        conf_buf_printf(&b, "client-output-buffer-limit %s ",
                        k == OBUF_REPLICA ? "replica" : obuf_names[k]);
        conf_format_memory(&b, (long long)l->hard);
        conf_buf_cat(&b, " ", 1);
        conf_format_memory(&b, (long long)l->soft);
        conf_buf_printf(&b, " %lld", l->soft_seconds);
        conf_rw_line(rw, row, b.p, force);
    }
}

const conf_special_t conf_special_obuf = {
    .init = obuf_init,
    .set = obuf_set,
    .get = obuf_get,
    .rewrite = obuf_rewrite,
};

/* ---- dir -------------------------------------------------------------------- */

static char *cwd_dup(void)
{
    char buf[4096];
    return mem_strdup(getcwd(buf, sizeof(buf)) ? buf : "");
}

static void dir_init(config_t *c)
{
    c->dir = cwd_dup();
}

static void dir_deinit(config_t *c)
{
    mem_free(c->dir);
    c->dir = NULL;
}

static int dir_set(config_t *c, conf_setctx_t *ctx, int argc, char **argv, const char **err)
{
    (void)ctx;
    if (argc != 1) {
        *err = "wrong number of arguments";
        return 0;
    }
    if (chdir(argv[0]) == -1) {
        *err = strerror(errno);
        return 0;
    }
    mem_free(c->dir);
    c->dir = cwd_dup();
    return 1;
}

static void dir_get(const config_t *c, conf_buf_t *out)
{
    conf_buf_cats(out, c->dir ? c->dir : "");
}

static void dir_rewrite(const config_t *c, const conf_row_t *row, conf_rw_t *rw)
{
    conf_buf_t b = {0};
    conf_buf_cats(&b, "dir ");
    conf_buf_repr(&b, c->dir ? c->dir : "", c->dir ? strlen(c->dir) : 0);
    conf_rw_line(rw, row, b.p, 1);
}

const conf_special_t conf_special_dir = {
    .init = dir_init,
    .deinit = dir_deinit,
    .set = dir_set,
    .get = dir_get,
    .rewrite = dir_rewrite,
};

/* ---- requirepass ------------------------------------------------------------ */

static void pass_init(config_t *c)
{
    c->requirepass = NULL;
}

static void pass_deinit(config_t *c)
{
    mem_free(c->requirepass);
    c->requirepass = NULL;
}

static int pass_set(config_t *c, conf_setctx_t *ctx, int argc, char **argv, const char **err)
{
    (void)ctx;
    if (argc != 1) {
        *err = "wrong number of arguments";
        return 0;
    }
    mem_free(c->requirepass);
    c->requirepass = argv[0][0] ? mem_strdup(argv[0]) : NULL;
    return 1;
}

static void pass_get(const config_t *c, conf_buf_t *out)
{
    conf_buf_cats(out, c->requirepass ? c->requirepass : "");
}

static void pass_rewrite(const config_t *c, const conf_row_t *row, conf_rw_t *rw)
{
    if (c->requirepass == NULL) {
        conf_rw_mark(rw, row);
        return;
    }
    conf_buf_t b = {0};
    conf_buf_cats(&b, "requirepass ");
    conf_buf_repr(&b, c->requirepass, strlen(c->requirepass));
    conf_rw_line(rw, row, b.p, 1);
}

const conf_special_t conf_special_requirepass = {
    .init = pass_init,
    .deinit = pass_deinit,
    .set = pass_set,
    .get = pass_get,
    .rewrite = pass_rewrite,
};

/* ---- notify-keyspace-events ----------------------------------------------------- */

/* Class characters in the order Redis prints them (after 'A' handling). */
static const struct {
    char ch;
    int flag;
} notify_chars[] = {
    {'g', NOTIFY_GENERIC}, {'$', NOTIFY_STRING}, {'l', NOTIFY_LIST},    {'s', NOTIFY_SET},
    {'h', NOTIFY_HASH},    {'z', NOTIFY_ZSET},   {'x', NOTIFY_EXPIRED}, {'e', NOTIFY_EVICTED},
    {'t', NOTIFY_STREAM},  {'d', NOTIFY_MODULE}, {'n', NOTIFY_NEW},
};
#define NOTIFY_NCHARS (sizeof(notify_chars) / sizeof(notify_chars[0]))

static int notify_parse(const char *s)
{
    int flags = 0;
    for (; *s; s++) {
        int f = 0;
        if (*s == 'A')
            f = NOTIFY_ALL;
        else if (*s == 'K')
            f = NOTIFY_KEYSPACE;
        else if (*s == 'E')
            f = NOTIFY_KEYEVENT;
        else if (*s == 'm')
            f = NOTIFY_KEY_MISS;
        for (size_t i = 0; f == 0 && i < NOTIFY_NCHARS; i++)
            if (notify_chars[i].ch == *s)
                f = notify_chars[i].flag;
        if (f == 0)
            return -1;
        flags |= f;
    }
    return flags;
}

static void notify_init(config_t *c)
{
    c->notify_keyspace_events = 0;
}

static int notify_set(config_t *c, conf_setctx_t *ctx, int argc, char **argv, const char **err)
{
    (void)ctx;
    int flags = argc == 1 ? notify_parse(argv[0]) : -1;
    if (flags < 0) {
        *err = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
        return 0;
    }
    c->notify_keyspace_events = flags;
    return 1;
}

static void notify_get(const config_t *c, conf_buf_t *out)
{
    int flags = c->notify_keyspace_events;
    if ((flags & NOTIFY_ALL) == NOTIFY_ALL) {
        conf_buf_cat(out, "A", 1);
    } else {
        for (size_t i = 0; i < NOTIFY_NCHARS; i++)
            if (flags & notify_chars[i].flag)
                conf_buf_cat(out, &notify_chars[i].ch, 1);
    }
    if (flags & NOTIFY_KEYSPACE)
        conf_buf_cat(out, "K", 1);
    if (flags & NOTIFY_KEYEVENT)
        conf_buf_cat(out, "E", 1);
    if (flags & NOTIFY_KEY_MISS)
        conf_buf_cat(out, "m", 1);
}

static void notify_rewrite(const config_t *c, const conf_row_t *row, conf_rw_t *rw)
{
    conf_buf_t v = {0}, b = {0};
    notify_get(c, &v);
    conf_buf_cats(&b, "notify-keyspace-events ");
    conf_buf_repr(&b, conf_buf_str(&v), v.len);
    conf_buf_free(&v);
    conf_rw_line(rw, row, b.p, c->notify_keyspace_events != 0);
}

const conf_special_t conf_special_notify = {
    .init = notify_init,
    .set = notify_set,
    .get = notify_get,
    .rewrite = notify_rewrite,
};

/* ---- oom-score-adj-values ------------------------------------------------------- */

static const int oom_default[3] = {0, 200, 800};

static void oom_init(config_t *c)
{
    memcpy(c->oom_score_adj_values, oom_default, sizeof(oom_default));
}

static int oom_set(config_t *c, conf_setctx_t *ctx, int argc, char **argv, const char **err)
{
    (void)ctx;
    int v[3];
    if (argc != 3) {
        *err = "wrong number of arguments";
        return 0;
    }
    for (int i = 0; i < 3; i++) {
        char *end;
        long long x = strtoll(argv[i], &end, 10);
        if (*end != '\0' || x < -2000 || x > 2000) {
            *err = "Invalid oom-score-adj-values, elements must be between -2000 and 2000.";
            return 0;
        }
        v[i] = (int)x;
    }
    memcpy(c->oom_score_adj_values, v, sizeof(v));
    return 1;
}

static void oom_get(const config_t *c, conf_buf_t *out)
{
    conf_buf_printf(out, "%d %d %d", c->oom_score_adj_values[0], c->oom_score_adj_values[1],
                    c->oom_score_adj_values[2]);
}

static void oom_rewrite(const config_t *c, const conf_row_t *row, conf_rw_t *rw)
{
    conf_buf_t b = {0};
    conf_buf_cats(&b, "oom-score-adj-values ");
    oom_get(c, &b);
    int force = memcmp(c->oom_score_adj_values, oom_default, sizeof(oom_default)) != 0;
    conf_rw_line(rw, row, b.p, force);
}

const conf_special_t conf_special_oom_values = {
    .init = oom_init,
    .set = oom_set,
    .get = oom_get,
    .rewrite = oom_rewrite,
};

/* ---- validators ----------------------------------------------------------------- */

static int is_base_name(const char *v)
{
    return strchr(v, '/') == NULL && strchr(v, '\\') == NULL;
}

int conf_validate_dbfilename(const char *v, const char **err)
{
    if (is_base_name(v))
        return 1;
    *err = "dbfilename can't be a path, just a filename";
    return 0;
}

/* Redis 7.0: a hostname is alphanumerics, '-' and '.' only ("" = none). */
int conf_validate_hostname(const char *v, const char **err)
{
    for (const char *p = v; *p; p++) {
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.') {
            *err = "Hostnames may only contain alphanumeric characters, hyphens or dots";
            return 0;
        }
    }
    return 1;
}

/* Redis 7.2: a human node name also allows '_'. */
int conf_validate_human_nodename(const char *v, const char **err)
{
    for (const char *p = v; *p; p++) {
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_') {
            *err = "Announced human node name may only contain alphanumeric characters, "
                   "hyphens, dots or underscores";
            return 0;
        }
    }
    return 1;
}

int conf_validate_appendfilename(const char *v, const char **err)
{
    if (is_base_name(v))
        return 1;
    *err = "appendfilename can't be a path, just a filename";
    return 0;
}

int conf_validate_appenddirname(const char *v, const char **err)
{
    if (is_base_name(v))
        return 1;
    *err = "appenddirname can't be a path, just a dirname";
    return 0;
}

/* Length a proc-title variable expands to while validating (Redis expands the
 * template with an empty title; server-mode and unixsocket are empty on a
 * plain node), or -1 for an unknown variable. */
static int proc_title_var(const char *name, size_t n)
{
    static const struct {
        const char *name;
        int len;
    } vars[] = {
        {"title", 0},    {"listen-addr", 1}, {"server-mode", 0}, {"port", 1},
        {"tls-port", 1}, {"unixsocket", 0},  {"config-file", 1},
    };
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        if (strlen(vars[i].name) == n && memcmp(vars[i].name, name, n) == 0)
            return vars[i].len;
    return -1;
}

int conf_validate_proc_title(const char *v, const char **err)
{
    /* Expand "{name}" variables ("{{" is a literal brace) and require a
     * non-blank result. */
    size_t visible = 0;
    const char *p = v;
    int ok = 1;
    while (*p && ok) {
        if (*p != '{') {
            visible += *p != ' ';
            p++;
            continue;
        }
        if (p[1] == '\0') {
            ok = 0;
        } else if (p[1] == '{') {
            visible++;
            p += 2;
        } else {
            const char *end = strchr(p + 1, '}');
            int len = end ? proc_title_var(p + 1, (size_t)(end - p - 1)) : -1;
            if (len < 0)
                ok = 0;
            else
                visible += (size_t)len, p = end + 1;
        }
    }
    if (ok && visible > 0)
        return 1;
    *err = "template format is invalid or contains unknown variables";
    return 0;
}

void conf_hz_clamp(config_t *c)
{
    if (c->hz < 1)
        c->hz = 1;
    if (c->hz > 500)
        c->hz = 500;
}
