/*
 * config_table.h — private to src/conf: the option table row, the value
 * handlers every row type shares, and the rewrite-state calls that special
 * options use. Nothing outside src/conf includes this file.
 *
 * A row describes one directive completely: name (and an optional alias), the
 * type of its value and where it lives in config_t, its default and bounds,
 * its flags (mutable, protected, ...), and what CONFIG SET must re-apply.
 * Adding a directive is adding one row to conf_table[] (config_table.c), plus a
 * field in config_t.
 */
#ifndef TESSERA_CONFIG_TABLE_H
#define TESSERA_CONFIG_TABLE_H

#include <stddef.h>

#include "config.h"

typedef enum conf_type_e {
    CONF_BOOL,    /* int: yes/no */
    CONF_INT,     /* int */
    CONF_LL,      /* long long */
    CONF_ULL,     /* unsigned long long (bounds min..umax) */
    CONF_ENUM,    /* int, one of .enums */
    CONF_STR,     /* char * (heap), NULL allowed */
    CONF_SPECIAL, /* handled by .special */
} conf_type_t;

enum {
    CONF_MUTABLE = 1u << 0,    /* CONFIG SET may change it */
    CONF_PROTECTED = 1u << 1,  /* CONFIG SET only if enable-protected-configs allows */
    CONF_SENSITIVE = 1u << 2,  /* a secret (requirepass) */
    CONF_MULTI_ARG = 1u << 3,  /* several arguments (bind, save, ...) */
    CONF_MEMORY = 1u << 4,     /* numeric with memory units; rewritten with units */
    CONF_OCTAL = 1u << 5,      /* numeric in octal (unixsocketperm) */
    CONF_EMPTY_NULL = 1u << 6, /* string: "" is stored as NULL */
    CONF_HIDDEN = 1u << 7,     /* CONFIG GET patterns skip it (exact name only) */
    CONF_IGNORED = 1u << 8,    /* accepted and stored, nothing acts on it yet */
};

typedef struct conf_enum_s {
    const char *name; /* NULL ends the list */
    int value;
} conf_enum_t;

/* A growable text buffer (heap through mem.h). */
typedef struct conf_buf_s {
    char *p;
    size_t len, cap;
} conf_buf_t;

void conf_buf_cat(conf_buf_t *b, const char *s, size_t n);
void conf_buf_cats(conf_buf_t *b, const char *s);
void conf_buf_printf(conf_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s quoted the way Redis's sdscatrepr does ("..." with escapes). */
void conf_buf_repr(conf_buf_t *b, const char *s, size_t n);
void conf_buf_free(conf_buf_t *b);
/* The bytes so far as a NUL-terminated string (never NULL). */
const char *conf_buf_str(conf_buf_t *b);

/* State of one set operation (loading, CONFIG SET, restore). */
typedef struct conf_setctx_s {
    int loading;      /* 1 while reading a config file / command line */
    char errbuf[256]; /* storage for formatted error reasons */
} conf_setctx_t;

typedef struct conf_rw_s conf_rw_t;
typedef struct conf_row_s conf_row_t;

/* Handlers of a CONF_SPECIAL row. */
typedef struct conf_special_s {
    void (*init)(config_t *c);
    void (*deinit)(config_t *c);
    /* argc arguments (split already for CONF_MULTI_ARG). 1 ok, 0 error (*err set). */
    int (*set)(config_t *c, conf_setctx_t *ctx, int argc, char **argv, const char **err);
    void (*get)(const config_t *c, conf_buf_t *out);
    void (*rewrite)(const config_t *c, const conf_row_t *row, conf_rw_t *rw);
} conf_special_t;

struct conf_row_s {
    const char *name;
    const char *alias; /* old name still accepted (slave-*, *-ziplist-*) */
    conf_type_t type;
    unsigned flags;           /* CONF_* */
    int apply;                /* CONFIG_APPLY_* run after CONFIG SET changes it, 0 none */
    size_t off;               /* offsetof(config_t, field) */
    long long dflt_ll;        /* default of BOOL/INT/LL/ULL/ENUM */
    const char *dflt_str;     /* default of STR (NULL allowed) */
    long long min, max;       /* bounds of INT/LL (and min of ULL) */
    unsigned long long umax;  /* upper bound of ULL */
    const conf_enum_t *enums; /* values of ENUM */
    /* STR: extra check, 1 ok, 0 bad (*err set). */
    int (*validate)(const char *value, const char **err);
    /* after a successful set (hz clamps itself into 1..500) */
    void (*post_set)(config_t *c);
    const conf_special_t *special;
};

extern const conf_row_t conf_table[];
extern const size_t conf_table_len;

/* Case-insensitive lookup by name or alias; NULL when unknown. */
const conf_row_t *conf_lookup(const char *name);

void conf_row_init(config_t *c, const conf_row_t *row);
void conf_row_deinit(config_t *c, const conf_row_t *row);
/* Set from argc arguments (exactly 1 unless CONF_MULTI_ARG). 1 ok, 0 error. */
int conf_row_set(config_t *c, const conf_row_t *row, conf_setctx_t *ctx, int argc, char **argv,
                 const char **err);
/* The CONFIG GET text of the row's value, appended to out. */
void conf_row_get(const config_t *c, const conf_row_t *row, conf_buf_t *out);
/* Add the row's line(s) to a rewrite in progress. */
void conf_row_rewrite(const config_t *c, const conf_row_t *row, conf_rw_t *rw);

/* Rewrite state calls (config_rewrite.c). line is consumed (heap, mem.h).
 * force: write it even if the file has no line for the option yet. */
void conf_rw_line(conf_rw_t *rw, const conf_row_t *row, char *line, int force);
/* The option was handled: its remaining old lines are dropped. */
void conf_rw_mark(conf_rw_t *rw, const conf_row_t *row);

/* Memory value as the rewrite writes it: "1gb", "512mb", "64kb", or plain. */
void conf_format_memory(conf_buf_t *b, long long bytes);

/* The special handlers (config_special.c). */
extern const conf_special_t conf_special_bind;
extern const conf_special_t conf_special_save;
extern const conf_special_t conf_special_obuf;
extern const conf_special_t conf_special_dir;
extern const conf_special_t conf_special_requirepass;
extern const conf_special_t conf_special_notify;
extern const conf_special_t conf_special_oom_values;
/* replicaof / slaveof (config_repl.c). */
extern const conf_special_t conf_special_replicaof;

/* String validators (config_special.c). */
int conf_validate_dbfilename(const char *v, const char **err);
int conf_validate_appendfilename(const char *v, const char **err);
int conf_validate_appenddirname(const char *v, const char **err);
int conf_validate_proc_title(const char *v, const char **err);
/* cluster-announce-hostname / -human-nodename (cluster rows). */
int conf_validate_hostname(const char *v, const char **err);
int conf_validate_human_nodename(const char *v, const char **err);
void conf_hz_clamp(config_t *c);

#endif
