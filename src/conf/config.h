/*
 * config.h — the server's configuration: the values (config_t), the option
 * table behind them (one row per directive, see config_table.c), redis.conf
 * tokenizing, and CONFIG GET/SET/REWRITE semantics, all as Redis 7.0 does them.
 *
 * Pure: no sockets, no libuv. File reading happens only in config_load_file(),
 * config_load_argv() (and include) and config_rewrite(); the tokenizer
 * (config_split_line) takes bytes. The one side effect on the process is the
 * "dir" directive, which changes the working directory (chdir) like Redis.
 *
 * Invariant: every field of config_t that a directive sets is described by one
 * row of the option table; defaults come from that row, never from code
 * elsewhere. Fields under "accepted, no effect yet" are stored and reported by
 * CONFIG GET but nothing reads them until their room takes them over (remove
 * CONF_IGNORED from the row when it does).
 *
 * Ownership: strings in config_t are owned by the config (heap, mem.h) and
 * freed by config_deinit(); readers borrow them and must not keep a pointer
 * across a CONFIG SET.
 */
#ifndef TESSERA_CONFIG_H
#define TESSERA_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_BIND 16

enum { OBUF_NORMAL = 0, OBUF_REPLICA = 1, OBUF_PUBSUB = 2, OBUF_CLASSES = 3 };

/* maxmemory-policy values (0 is the default, noeviction). */
enum {
    MAXMEMORY_NOEVICTION = 0,
    MAXMEMORY_VOLATILE_LRU = 1,
    MAXMEMORY_VOLATILE_LFU = 2,
    MAXMEMORY_VOLATILE_RANDOM = 3,
    MAXMEMORY_VOLATILE_TTL = 4,
    MAXMEMORY_ALLKEYS_LRU = 5,
    MAXMEMORY_ALLKEYS_LFU = 6,
    MAXMEMORY_ALLKEYS_RANDOM = 7,
};

/* enable-debug-command, enable-protected-configs, enable-module-command. */
enum { CONFIG_ALLOW_NO = 0, CONFIG_ALLOW_YES = 1, CONFIG_ALLOW_LOCAL = 2 };

/* appendfsync (Redis's AOF_FSYNC_* numbering). */
enum { APPENDFSYNC_NO = 0, APPENDFSYNC_ALWAYS = 1, APPENDFSYNC_EVERYSEC = 2 };

/* repl-diskless-load. */
enum {
    REPL_DISKLESS_LOAD_DISABLED = 0,
    REPL_DISKLESS_LOAD_ON_EMPTY_DB = 1,
    REPL_DISKLESS_LOAD_SWAPDB = 2
};

/* supervised. */
enum {
    SUPERVISED_NONE = 0,
    SUPERVISED_AUTODETECT = 1,
    SUPERVISED_SYSTEMD = 2,
    SUPERVISED_UPSTART = 3
};

/* oom-score-adj ("yes" is "relative"). */
enum { OOM_SCORE_ADJ_NO = 0, OOM_SCORE_RELATIVE = 1, OOM_SCORE_ABSOLUTE = 2 };

/* notify-keyspace-events bits (Redis's NOTIFY_* values). */
enum {
    NOTIFY_KEYSPACE = 1 << 0,  /* K */
    NOTIFY_KEYEVENT = 1 << 1,  /* E */
    NOTIFY_GENERIC = 1 << 2,   /* g */
    NOTIFY_STRING = 1 << 3,    /* $ */
    NOTIFY_LIST = 1 << 4,      /* l */
    NOTIFY_SET = 1 << 5,       /* s */
    NOTIFY_HASH = 1 << 6,      /* h */
    NOTIFY_ZSET = 1 << 7,      /* z */
    NOTIFY_EXPIRED = 1 << 8,   /* x */
    NOTIFY_EVICTED = 1 << 9,   /* e */
    NOTIFY_STREAM = 1 << 10,   /* t */
    NOTIFY_KEY_MISS = 1 << 11, /* m (not part of A) */
    NOTIFY_LOADED = 1 << 12,   /* module only */
    NOTIFY_MODULE = 1 << 13,   /* d */
    NOTIFY_NEW = 1 << 14,      /* n (not part of A) */
    NOTIFY_ALL = NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH |
                 NOTIFY_ZSET | NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE,
};

/* What CONFIG SET changed, for the apply callback of config_set_ex(). */
enum {
    CONFIG_APPLY_LISTEN = 1,     /* port, bind: re-listen ("Unable to listen on this port") */
    CONFIG_APPLY_MAXCLIENTS = 2, /* maxclients: file descriptor limit */
    CONFIG_APPLY_MAXMEMORY = 3,  /* maxmemory: start evicting */
    CONFIG_APPLY_LOGLEVEL = 4,   /* loglevel */
    CONFIG_APPLY_HZ = 5,         /* hz, dynamic-hz */
    CONFIG_APPLY_APPENDONLY = 6, /* appendonly: start/stop AOF */
};

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
    char *unixsocket; /* NULL when unset */
    int unixsocketperm;
    long long timeout; /* seconds, 0 = never */
    int tcp_keepalive; /* seconds */
    /* process */
    int daemonize;
    char *pidfile; /* NULL when unset */
    char *logfile; /* "" = stdout */
    int loglevel;  /* LOG_* from log.h */
    char *dir;     /* absolute path of the working directory */
    int databases;
    char *requirepass; /* NULL when unset */
    int maxclients;
    unsigned long long maxmemory;
    int maxmemory_policy; /* MAXMEMORY_* */
    int maxmemory_samples;
    int maxmemory_eviction_tenacity; /* 0..100 */
    int lfu_log_factor;
    int lfu_decay_time; /* minutes */
    long long proto_max_bulk_len;
    unsigned long long client_query_buffer_limit;
    obuf_limit_t obuf_limits[OBUF_CLASSES];
    int hz; /* always within 1..500 */
    int dynamic_hz;
    int enable_debug_command;     /* CONFIG_ALLOW_*: 0 no, 1 yes, 2 local */
    int enable_protected_configs; /* CONFIG_ALLOW_*: CONFIG SET dir/dbfilename */
    save_param_t *save;           /* nsave entries (heap), NULL when none */
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
    int notify_keyspace_events; /* NOTIFY_* bits */
    /* later issues add their fields here, each with its table row */

    /* ---- cluster (src/cluster, src/cmd/cmd_cluster*.c) ---- */
    int cluster_enabled;
    char *cluster_config_file; /* relative to dir */
    long long cluster_node_timeout; /* ms */
    int cluster_port;               /* 0 = port + 10000 */
    char *cluster_announce_ip;      /* NULL when unset */
    int cluster_announce_port;
    int cluster_announce_bus_port;
    int cluster_announce_tls_port;
    char *cluster_announce_hostname;       /* NULL when unset */
    char *cluster_announce_human_nodename; /* NULL when unset (7.2 directive, hidden) */
    int cluster_preferred_endpoint_type;   /* CLUSTER_ENDPOINT_* of cluster.h: ip 0, hostname 1, unknown 2 */
    int cluster_require_full_coverage;
    int cluster_allow_reads_when_down;
    int cluster_allow_pubsubshard_when_down;
    int cluster_replica_validity_factor;
    int cluster_migration_barrier;
    int cluster_allow_replica_migration;
    int cluster_replica_no_failover;
    unsigned long long cluster_link_sendbuf_limit; /* bytes, 0 = no limit */

    /* ---- replication (src/repl, src/server_repl.c, src/cmd/cmd_repl.c); also
     * replica_serve_stale_data, replica_read_only, replica_lazy_flush,
     * replica_priority, repl_diskless_* below ---- */
    char *replicaof_host; /* NULL: not a replica (replicaof / REPLICAOF keep it current) */
    int replicaof_port;
    char *masterauth; /* NULL when unset */
    char *masteruser; /* NULL when unset */
    long long repl_backlog_size;
    long long repl_backlog_ttl; /* seconds, 0 = never free */
    int repl_timeout;           /* seconds */
    int repl_ping_replica_period; /* seconds */
    int min_replicas_to_write;
    int min_replicas_max_lag; /* seconds */
    char *replica_announce_ip; /* NULL when unset */
    int replica_announce_port; /* 0: the listening port */
    int replica_announced;

    /* persistence (AOF, RDB) */
    int appendonly;
    int appendfsync; /* APPENDFSYNC_* */
    char *appendfilename;
    char *appenddirname;
    int no_appendfsync_on_rewrite;
    int auto_aof_rewrite_percentage;
    long long auto_aof_rewrite_min_size;
    int aof_load_truncated;
    int aof_use_rdb_preamble;
    int aof_rewrite_incremental_fsync;
    int aof_timestamp_enabled;
    int rdbcompression;
    int rdbchecksum;
    int rdb_del_sync_files;
    int rdb_save_incremental_fsync;
    int stop_writes_on_bgsave_error;
    int replica_serve_stale_data;
    int replica_read_only;
    int replica_lazy_flush;
    int replica_priority;
    int repl_diskless_sync;
    int repl_diskless_sync_delay;
    int repl_diskless_sync_max_replicas;
    int repl_diskless_load; /* REPL_DISKLESS_LOAD_* */
    int repl_disable_tcp_nodelay;
    long long hash_max_listpack_entries;
    long long hash_max_listpack_value;
    long long set_max_intset_entries;
    long long zset_max_listpack_entries;
    long long zset_max_listpack_value;
    int list_max_listpack_size;
    int list_compress_depth;
    long long hll_sparse_max_bytes;
    long long stream_node_max_bytes;
    long long stream_node_max_entries;
    long long acllog_max_len;
    int always_show_logo;
    int set_proc_title;
    char *proc_title_template;
    int supervised; /* SUPERVISED_* */
    int disable_thp;
    int jemalloc_bg_thread;
    int oom_score_adj; /* OOM_SCORE_* */
    int oom_score_adj_values[3];
    int enable_module_command;

    /* private to src/conf: a "save" line was read while loading (the first one
     * replaces the defaults, later ones add to it, as in Redis). */
    int load_save_seen;
} config_t;

/* Sticky error for loading: file, line and reason, formatted like Redis. */
enum { CONFIG_ERR_LINE = 0, CONFIG_ERR_OPEN = 1 };
typedef struct config_err_s {
    int kind;         /* CONFIG_ERR_LINE: a bad line; CONFIG_ERR_OPEN: can't open file */
    char file[256];   /* the file being read ("" for text without a file) */
    int line;         /* 1-based line of the text being read; 0 when not about a line */
    char text[512];   /* the offending line, trimmed */
    char reason[256]; /* "Bad directive or wrong number of arguments", strerror ... */
} config_err_t;

/* Defaults from the table (dir = the current working directory). */
void config_init(config_t *c);
void config_deinit(config_t *c);

/*
 * Split one redis.conf line into arguments the way Redis does (double quotes
 * with \n \r \t \b \a \\ \" \xHH escapes, single quotes with \' only, a closing
 * quote must be followed by a space or the end). Returns argc >= 0, or -1 for
 * unbalanced quotes. argv entries are heap copies, NUL-terminated (they may
 * also contain NUL bytes from \x00: use lens); lens may be NULL. Free with
 * config_free_args (also when argc is 0). A NUL byte in line ends the input.
 */
int config_split_line(const char *line, size_t len, char ***argv, size_t **lens);
void config_free_args(int argc, char **argv, size_t *lens);

/*
 * Apply the text of a whole config (as from a file; lines separated by \n).
 * file is only used for error messages. "include" paths are used as given
 * (relative ones resolve against the working directory, as in Redis). Lines
 * apply in order, so later lines override earlier ones. Returns 0, or -1 with
 * *err filled; options already applied stay applied (the caller exits).
 */
int config_load_text(config_t *c, const char *text, size_t len, const char *file,
                     config_err_t *err);
/* Read path (a glob pattern loads every match in order) and apply it. */
int config_load_file(config_t *c, const char *path, config_err_t *err);
/*
 * Parse a redis-server style command line after argv[0]: an optional config
 * file path first, then "--directive value ..." (also "-" to read the config
 * from stdin). The command line is converted to config text like Redis does
 * (each --name starts a new line, later arguments are quoted onto it; a bare
 * "--save" becomes `save ""`) and applied after the file and stdin. Fills
 * *config_file with the file's absolute path (heap copy, mem_free) or NULL.
 */
int config_load_argv(config_t *c, int argc, char **argv, char **config_file, config_err_t *err);
/* Print the error the way Redis does: line errors as the "*** FATAL CONFIG FILE
 * ERROR (Tessera x.y.z) ***" block on stderr, open errors as a log line. */
void config_err_print(const config_err_t *err);

/*
 * CONFIG GET: calls fn(name, value) once for every option matching any of the
 * patterns (glob, case-insensitive). A pattern without glob characters is an
 * exact lookup (aliases included) and reports the name as the caller spelled
 * it; an option matched twice is reported once. Order: table order.
 */
void config_get(const config_t *c, const char *const *patterns, int npatterns,
                void (*fn)(void *arg, const char *name, const char *value), void *arg);
/* The CONFIG GET text of one option (exact name or alias) into buf; returns 0,
 * or -1 if there is no such option. Truncates to cap (always NUL-terminated). */
int config_get_value(const config_t *c, const char *name, char *buf, size_t cap);

/* 1 if name (or alias) is a secret whose value must not be shown in the
 * slowlog or MONITOR (requirepass), else 0. */
int config_is_sensitive(const char *name);

/*
 * CONFIG SET with several name/value pairs, atomic: all applied or none.
 * On error returns -1 and writes Redis's error text (without "ERR ") to errbuf,
 * e.g. "CONFIG SET failed (possibly related to argument 'maxmemory') - argument
 * must be a memory value" or "Unknown option or number of arguments for CONFIG
 * SET - 'foo'". Protected options (dir, dbfilename) are refused unless
 * enable-protected-configs is yes. Returns 0 on success.
 */
int config_set(config_t *c, int npairs, const char *const *names, const char *const *values,
               char *errbuf, size_t errcap);

/*
 * Called once per distinct CONFIG_APPLY_* class whose options changed, after
 * all new values are in place. Return 0, or -1 with *err set to a static reason
 * (e.g. "Unable to listen on this port"): then every option of the call is
 * restored, apply is called again for the restored values, and config_set_ex
 * fails with "CONFIG SET failed (possibly related to argument 'port') - <err>".
 */
typedef int (*config_apply_fn)(void *arg, int what, const config_t *c, const char **err);
/* config_set with the client's locality (enable-protected-configs local) and an
 * optional apply callback (NULL: nothing to apply). */
int config_set_ex(config_t *c, int npairs, const char *const *names, const char *const *values,
                  int local_client, config_apply_fn apply, void *apply_arg, char *errbuf,
                  size_t errcap);

/*
 * CONFIG REWRITE: rewrite the file at path in place like Redis: comments and
 * unknown lines keep their place (unknown directives are commented "# ??? "),
 * each option replaces its old line(s), options not in the file that differ
 * from their default are appended under "# Generated by CONFIG REWRITE", and
 * lines of options back at a "not present" default are dropped. Written to a
 * temporary file, fsynced, renamed over path. Returns 0, or -1 with errbuf set
 * to "Rewriting config file: <reason>".
 */
int config_rewrite(const config_t *c, const char *path, char *errbuf, size_t errcap);

/* Parse a memory size like Redis ("1gb", "100mb", "1k" = 1000, "5kb" = 5120,
 * case-insensitive, digits only before the unit); returns 0 on success, -1 on
 * a bad value. Overflow wraps as in Redis. */
int config_parse_memory(const char *s, unsigned long long *out);

#endif
