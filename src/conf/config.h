/*
 * config.h — the server's configuration: the values (config_t), the option
 * table behind them (one row per directive, see config.c), redis.conf
 * tokenizing, and CONFIG GET/SET/REWRITE semantics.
 *
 * Pure: no sockets, no libuv. File reading happens only in config_load_file()
 * (and include), which reports errors with file, line and reason; the tokenizer
 * itself (config_split_line) takes bytes.
 *
 * Invariant: every field of config_t that a directive sets is described by one
 * row of the option table; defaults come from that row, never from code
 * elsewhere.
 */
#ifndef TESSERA_CONFIG_H
#define TESSERA_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_BIND 16
#define CONFIG_MAX_SAVE 16

enum { OBUF_NORMAL = 0, OBUF_REPLICA = 1, OBUF_PUBSUB = 2, OBUF_CLASSES = 3 };

typedef struct obuf_limit_s {
    unsigned long long hard;
    unsigned long long soft;
    long long soft_seconds;
} obuf_limit_t;

typedef struct save_param_s {
    long long seconds;
    long long changes;
} save_param_t;

typedef struct config_s {
    /* network */
    int port;
    char *bind[CONFIG_MAX_BIND];
    int nbind;
    int protected_mode;
    int tcp_backlog;
    char *unixsocket;
    int unixsocketperm;
    long long timeout;       /* seconds, 0 = never */
    int tcp_keepalive;       /* seconds */
    /* process */
    int daemonize;
    char *pidfile;
    char *logfile;
    int loglevel;            /* LOG_* from log.h */
    char *dir;
    int databases;
    char *requirepass;       /* NULL when unset */
    int maxclients;
    unsigned long long maxmemory;
    int maxmemory_policy;    /* data-types issue; 0 = noeviction */
    int maxmemory_samples;
    long long proto_max_bulk_len;
    unsigned long long client_query_buffer_limit;
    obuf_limit_t obuf_limits[OBUF_CLASSES];
    int hz;
    int dynamic_hz;
    int enable_debug_command; /* 0 no, 1 yes, 2 local */
    save_param_t save[CONFIG_MAX_SAVE];
    int nsave;
    char *dbfilename;
    int lazyfree_lazy_eviction;
    int lazyfree_lazy_expire;
    int lazyfree_lazy_server_del;
    int lazyfree_lazy_user_del;
    int lazyfree_lazy_user_flush;
    long long slowlog_log_slower_than;
    unsigned long long slowlog_max_len;
    long long latency_monitor_threshold;
    int activerehashing;
    int active_expire_effort;
    /* later issues add their fields here, each with its table row */
} config_t;

/* Sticky error for loading: file, line and reason, formatted like Redis. */
typedef struct config_err_s {
    char file[256];
    int line;          /* 0 for the command line */
    char text[512];    /* the offending line */
    char reason[256];  /* "Bad directive or wrong number of arguments" ... */
} config_err_t;

/* Defaults from the table. */
void config_init(config_t *c);
void config_deinit(config_t *c);

/*
 * Split one redis.conf line into arguments the way Redis does (double quotes
 * with \n \r \t \b \a \\ \" \xHH escapes, single quotes with \' only, a closing
 * quote must be followed by a space or the end). Returns argc >= 0, or -1 for
 * unbalanced quotes. argv entries are heap copies (config_free_args).
 */
int config_split_line(const char *line, size_t len, char ***argv, size_t **lens);
void config_free_args(int argc, char **argv, size_t *lens);

/* Apply the text of a whole config (as from a file; lines separated by \n).
 * file is only used for error messages and for resolving include. */
int config_load_text(config_t *c, const char *text, size_t len, const char *file, config_err_t *err);
int config_load_file(config_t *c, const char *path, config_err_t *err);
/*
 * Parse a redis-server style command line after argv[0]: an optional config
 * file path first, then "--directive value ..." (also "-" to read the config
 * from stdin). Fills *config_file with the file path (heap copy) or NULL.
 */
int config_load_argv(config_t *c, int argc, char **argv, char **config_file, config_err_t *err);
/* Print the error the way Redis does ("*** FATAL CONFIG FILE ERROR ***" ...). */
void config_err_print(const config_err_t *err);

/* CONFIG GET: calls fn(name, value) for every option matching any pattern (glob, case-insensitive). */
void config_get(const config_t *c, const char *const *patterns, int npatterns,
                void (*fn)(void *arg, const char *name, const char *value), void *arg);
/*
 * CONFIG SET with several name/value pairs, atomic: all applied or none.
 * On error returns -1 and writes Redis's error text (without "ERR ") to errbuf,
 * e.g. "CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port".
 */
int config_set(config_t *c, int npairs, const char *const *names, const char *const *values,
               char *errbuf, size_t errcap);
/* CONFIG REWRITE: rewrite the file keeping comments and unknown lines' order. */
int config_rewrite(const config_t *c, const char *path, char *errbuf, size_t errcap);

/* Parse a memory size like Redis ("1gb", "100mb", "1k"); returns 0 on success. */
int config_parse_memory(const char *s, unsigned long long *out);

#endif
