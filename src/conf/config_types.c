/*
 * config_types.c — the value handlers shared by every row type: parse a
 * directive's argument (with Redis 7.0's acceptance rules and error texts),
 * print it for CONFIG GET, write its rewrite line; plus memory units and the
 * small text buffer the config room formats into.
 *
 * Owns: the meaning of CONF_BOOL/INT/LL/ULL/ENUM/STR values and of the
 * CONF_MEMORY / CONF_OCTAL / CONF_EMPTY_NULL flags.
 * Must not: know any particular directive (that is the table's job), or read
 * files.
 * Invariants: a failed set leaves the field unchanged; error reasons are
 * static strings or live in the caller's conf_setctx_t.
 */
#include "config_table.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../lib/mem.h"
#include "../lib/util.h"

/* ---- text buffer ------------------------------------------------------------ */

static void buf_reserve(conf_buf_t *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + more + 1)
        cap *= 2;
    b->p = mem_realloc(b->p, cap);
    b->cap = cap;
}

void conf_buf_cat(conf_buf_t *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void conf_buf_cats(conf_buf_t *b, const char *s)
{
    conf_buf_cat(b, s, strlen(s));
}

void conf_buf_printf(conf_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(tmp)) {
        conf_buf_cat(b, tmp, (size_t)n);
        return;
    }
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void conf_buf_repr(conf_buf_t *b, const char *s, size_t n)
{
    conf_buf_cat(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        switch (ch) {
        case '\\':
            conf_buf_cat(b, "\\\\", 2);
            break;
        case '"':
            conf_buf_cat(b, "\\\"", 2);
            break;
        case '\n':
            conf_buf_cat(b, "\\n", 2);
            break;
        case '\r':
            conf_buf_cat(b, "\\r", 2);
            break;
        case '\t':
            conf_buf_cat(b, "\\t", 2);
            break;
        case '\a':
            conf_buf_cat(b, "\\a", 2);
            break;
        case '\b':
            conf_buf_cat(b, "\\b", 2);
            break;
        default:
            if (isprint(ch))
                conf_buf_cat(b, (const char *)&ch, 1);
            else
                conf_buf_printf(b, "\\x%02x", ch);
        }
    }
    conf_buf_cat(b, "\"", 1);
}

void conf_buf_free(conf_buf_t *b)
{
    mem_free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

const char *conf_buf_str(conf_buf_t *b)
{
    if (b->p == NULL)
        conf_buf_cat(b, "", 0);
    return b->p;
}

/* ---- memory units ------------------------------------------------------------- */

int config_parse_memory(const char *s, unsigned long long *out)
{
    if (s[0] == '-')
        return -1;
    const char *u = s;
    while (*u >= '0' && *u <= '9')
        u++;
    unsigned long long mul;
    if (*u == '\0' || strcasecmp(u, "b") == 0)
        mul = 1;
    else if (strcasecmp(u, "k") == 0)
        mul = 1000;
    else if (strcasecmp(u, "kb") == 0)
        mul = 1024;
    else if (strcasecmp(u, "m") == 0)
        mul = 1000ULL * 1000;
    else if (strcasecmp(u, "mb") == 0)
        mul = 1024ULL * 1024;
    else if (strcasecmp(u, "g") == 0)
        mul = 1000ULL * 1000 * 1000;
    else if (strcasecmp(u, "gb") == 0)
        mul = 1024ULL * 1024 * 1024;
    else
        return -1;
    size_t digits = (size_t)(u - s);
    if (digits >= 128)
        return -1;
    /* The digits saturate at ULLONG_MAX (strtoull's overflow) and the unit then
     * multiplies with wrap-around: both exactly what Redis does. */
    unsigned long long v = 0;
    for (size_t i = 0; i < digits; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (ULLONG_MAX - d) / 10) {
            v = ULLONG_MAX;
            break;
        }
        v = v * 10 + d;
    }
    *out = v * mul;
    return 0;
}

void conf_format_memory(conf_buf_t *b, long long bytes)
{
    const long long gb = 1024LL * 1024 * 1024, mb = 1024LL * 1024, kb = 1024;
    if (bytes && bytes % gb == 0)
        conf_buf_printf(b, "%lldgb", bytes / gb);
    else if (bytes && bytes % mb == 0)
        conf_buf_printf(b, "%lldmb", bytes / mb);
    else if (bytes && bytes % kb == 0)
        conf_buf_printf(b, "%lldkb", bytes / kb);
    else
        conf_buf_printf(b, "%lld", bytes);
}

/* ---- numbers ------------------------------------------------------------------ */

static void *field(config_t *c, const conf_row_t *row)
{
    return (char *)c + row->off;
}

static const void *cfield(const config_t *c, const conf_row_t *row)
{
    return (const char *)c + row->off;
}

/* The stored value of a numeric row widened to long long (ULL as its bits). */
static long long num_get(const config_t *c, const conf_row_t *row)
{
    switch (row->type) {
    case CONF_BOOL:
    case CONF_INT:
    case CONF_ENUM:
        return *(const int *)cfield(c, row);
    case CONF_LL:
        return *(const long long *)cfield(c, row);
    case CONF_ULL:
        return (long long)*(const unsigned long long *)cfield(c, row);
    default:
        return 0;
    }
}

static void num_put(config_t *c, const conf_row_t *row, long long v)
{
    switch (row->type) {
    case CONF_BOOL:
    case CONF_ENUM:
        *(int *)field(c, row) = (int)v;
        break;
    case CONF_INT:
        *(int *)field(c, row) = v > INT_MAX ? INT_MAX : (int)v;
        break;
    case CONF_LL:
        *(long long *)field(c, row) = v;
        break;
    case CONF_ULL:
        *(unsigned long long *)field(c, row) = (unsigned long long)v;
        break;
    default:
        break;
    }
}

/* The text of v as the row parses it: memory, octal, or a strict integer. */
static int num_parse(const conf_row_t *row, const char *v, long long *out, const char **err)
{
    if (row->flags & CONF_MEMORY) {
        unsigned long long u;
        if (config_parse_memory(v, &u) == 0) {
            *out = (long long)u;
            return 1;
        }
        *err = "argument must be a memory value";
        return 0;
    }
    if (row->flags & CONF_OCTAL) {
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 8);
        if (errno == 0 && *end == '\0') {
            *out = x;
            return 1;
        }
        *err = "argument couldn't be parsed as an octal number";
        return 0;
    }
    if (str_to_ll(v, strlen(v), out))
        return 1;
    *err = "argument couldn't be parsed into an integer";
    return 0;
}

static int num_bounds(const conf_row_t *row, long long v, conf_setctx_t *ctx, const char **err)
{
    int octal = (row->flags & CONF_OCTAL) != 0;
    if (row->type == CONF_ULL) {
        unsigned long long u = (unsigned long long)v;
        if (u >= (unsigned long long)row->min && u <= row->umax)
            return 1;
        snprintf(ctx->errbuf, sizeof(ctx->errbuf),
                 "argument must be between %llu and %llu inclusive", (unsigned long long)row->min,
                 row->umax);
    } else {
        if (v >= row->min && v <= row->max)
            return 1;
        if (octal)
            snprintf(ctx->errbuf, sizeof(ctx->errbuf),
                     "argument must be between %llo and %llo inclusive",
                     (unsigned long long)row->min, (unsigned long long)row->max);
        else
            snprintf(ctx->errbuf, sizeof(ctx->errbuf),
                     "argument must be between %lld and %lld inclusive", row->min, row->max);
    }
    *err = ctx->errbuf;
    return 0;
}

/* ---- enums and booleans ------------------------------------------------------- */

static const char *enum_name(const conf_enum_t *e, int v)
{
    for (; e->name != NULL; e++)
        if (e->value == v)
            return e->name;
    return "unknown";
}

static int enum_set(config_t *c, const conf_row_t *row, conf_setctx_t *ctx, const char *v,
                    const char **err)
{
    for (const conf_enum_t *e = row->enums; e->name != NULL; e++) {
        if (strcasecmp(e->name, v) == 0) {
            num_put(c, row, e->value);
            return 1;
        }
    }
    size_t n = (size_t)snprintf(ctx->errbuf, sizeof(ctx->errbuf),
                                "argument(s) must be one of the following: ");
    for (const conf_enum_t *e = row->enums; e->name != NULL && n < sizeof(ctx->errbuf); e++)
        n += (size_t)snprintf(ctx->errbuf + n, sizeof(ctx->errbuf) - n, "%s%s",
                              e == row->enums ? "" : ", ", e->name);
    *err = ctx->errbuf;
    return 0;
}

static int bool_parse(const char *v)
{
    if (strcasecmp(v, "yes") == 0)
        return 1;
    if (strcasecmp(v, "no") == 0)
        return 0;
    return -1;
}

/* ---- strings ------------------------------------------------------------------ */

static int str_set(config_t *c, const conf_row_t *row, const char *v, const char **err)
{
    if (row->validate != NULL && !row->validate(v, err))
        return 0;
    char **slot = field(c, row);
    char *nv = (v[0] == '\0' && (row->flags & CONF_EMPTY_NULL)) ? NULL : mem_strdup(v);
    mem_free(*slot);
    *slot = nv;
    return 1;
}

/* ---- the row interface -------------------------------------------------------- */

void conf_row_init(config_t *c, const conf_row_t *row)
{
    switch (row->type) {
    case CONF_STR:
        *(char **)field(c, row) = row->dflt_str ? mem_strdup(row->dflt_str) : NULL;
        break;
    case CONF_SPECIAL:
        row->special->init(c);
        break;
    default:
        num_put(c, row, row->dflt_ll);
        break;
    }
    if (row->post_set != NULL)
        row->post_set(c);
}

void conf_row_deinit(config_t *c, const conf_row_t *row)
{
    if (row->type == CONF_STR) {
        char **slot = field(c, row);
        mem_free(*slot);
        *slot = NULL;
    } else if (row->type == CONF_SPECIAL && row->special->deinit != NULL) {
        row->special->deinit(c);
    }
}

int conf_row_set(config_t *c, const conf_row_t *row, conf_setctx_t *ctx, int argc, char **argv,
                 const char **err)
{
    if (row->type == CONF_SPECIAL) {
        if (!row->special->set(c, ctx, argc, argv, err))
            return 0;
    } else if (argc != 1) {
        *err = "wrong number of arguments";
        return 0;
    } else if (row->type == CONF_BOOL) {
        int b = bool_parse(argv[0]);
        if (b < 0) {
            *err = "argument must be 'yes' or 'no'";
            return 0;
        }
        num_put(c, row, b);
    } else if (row->type == CONF_ENUM) {
        if (!enum_set(c, row, ctx, argv[0], err))
            return 0;
    } else if (row->type == CONF_STR) {
        if (!str_set(c, row, argv[0], err))
            return 0;
    } else {
        long long v;
        if (!num_parse(row, argv[0], &v, err) || !num_bounds(row, v, ctx, err))
            return 0;
        num_put(c, row, v);
    }
    if (row->post_set != NULL)
        row->post_set(c);
    return 1;
}

void conf_row_get(const config_t *c, const conf_row_t *row, conf_buf_t *out)
{
    long long v = num_get(c, row);
    switch (row->type) {
    case CONF_BOOL:
        conf_buf_cats(out, v ? "yes" : "no");
        break;
    case CONF_ENUM:
        conf_buf_cats(out, enum_name(row->enums, (int)v));
        break;
    case CONF_INT:
        if (row->flags & CONF_OCTAL)
            conf_buf_printf(out, "%o", (unsigned)v);
        else
            conf_buf_printf(out, "%lld", v);
        break;
    case CONF_LL:
        conf_buf_printf(out, "%lld", v);
        break;
    case CONF_ULL:
        conf_buf_printf(out, "%llu", (unsigned long long)v);
        break;
    case CONF_STR: {
        const char *s = *(char *const *)cfield(c, row);
        conf_buf_cats(out, s ? s : "");
        break;
    }
    case CONF_SPECIAL:
        row->special->get(c, out);
        break;
    }
}

/* "name value" for a numeric row, with units for memory rows. */
static void num_line(const config_t *c, const conf_row_t *row, conf_buf_t *b)
{
    long long v = num_get(c, row);
    if ((row->flags & CONF_MEMORY) && !(row->type == CONF_ULL && v < 0))
        conf_format_memory(b, v);
    else if (row->flags & CONF_OCTAL)
        conf_buf_printf(b, "%o", (unsigned)v);
    else if (row->type == CONF_ULL)
        conf_buf_printf(b, "%llu", (unsigned long long)v);
    else
        conf_buf_printf(b, "%lld", v);
}

void conf_row_rewrite(const config_t *c, const conf_row_t *row, conf_rw_t *rw)
{
    if (row->type == CONF_SPECIAL) {
        row->special->rewrite(c, row, rw);
        return;
    }
    conf_buf_t b = {0};
    int force;
    conf_buf_cats(&b, row->name);
    conf_buf_cat(&b, " ", 1);
    if (row->type == CONF_STR) {
        const char *s = *(char *const *)cfield(c, row);
        if (s == NULL) {
            /* Absent from the file is how NULL survives a restart. */
            conf_buf_free(&b);
            conf_rw_mark(rw, row);
            return;
        }
        force = !(row->dflt_str != NULL && strcmp(s, row->dflt_str) == 0);
        conf_buf_repr(&b, s, strlen(s));
    } else {
        long long v = num_get(c, row);
        force = v != row->dflt_ll;
        if (row->type == CONF_BOOL || row->type == CONF_ENUM)
            conf_row_get(c, row, &b);
        else
            num_line(c, row, &b);
    }
    conf_rw_line(rw, row, b.p, force);
}
