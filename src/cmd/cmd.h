/*
 * cmd.h — the command room's public face: the command table row, the context a
 * handler runs in, the per-connection session state, and the shared
 * environment (keyspace, config, stats, hooks into the loop room).
 *
 * Owns: command lookup, arity/auth/state checks, dispatch, per-command stats.
 * Must not: touch sockets or libuv (handlers write replies into ctx->r), include
 * net/ or server headers. The loop room reaches back only through cmd_host_t.
 *
 * Handler contract: void cmd_<name>(cmd_ctx_t *ctx). Arity has already been
 * checked against the row (arity > 0: exact, < 0: at least -arity). A handler
 * writes exactly one reply (possibly an aggregate) to ctx->r, and calls
 * cmd_dirty(ctx, n) for each key it changed (drives propagation/AOF, WATCH, INFO).
 */
#ifndef TESSERA_CMD_H
#define TESSERA_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/slice.h"
#include "../proto/reply.h"

struct ks_s;
struct config_s;

/* Command flags (the subset COMMAND INFO reports uses Redis's names). */
enum {
    CMD_WRITE = 1u << 0,
    CMD_READONLY = 1u << 1,
    CMD_DENYOOM = 1u << 2,
    CMD_ADMIN = 1u << 3,
    CMD_PUBSUB = 1u << 4,
    CMD_NOSCRIPT = 1u << 5,
    CMD_BLOCKING = 1u << 6,
    CMD_LOADING = 1u << 7,   /* allowed while loading */
    CMD_STALE = 1u << 8,     /* allowed on a stale replica */
    CMD_SKIP_MONITOR = 1u << 9,
    CMD_SKIP_SLOWLOG = 1u << 10,
    CMD_ASKING = 1u << 11,
    CMD_FAST = 1u << 12,
    CMD_NO_AUTH = 1u << 13,
    CMD_MAY_REPLICATE = 1u << 14,
    CMD_SENTINEL = 1u << 15,
    CMD_ONLY_SENTINEL = 1u << 16,
    CMD_NO_MANDATORY_KEYS = 1u << 17,
    CMD_PROTECTED = 1u << 18,
    CMD_MODULE = 1u << 19,
    CMD_NO_ASYNC_LOADING = 1u << 20,
    CMD_NO_MULTI = 1u << 21,
    CMD_MOVABLE_KEYS = 1u << 22,
    CMD_ALLOW_BUSY = 1u << 23,
    CMD_NO_PROPAGATE_ARGV = 1u << 24, /* the command propagates itself (EXEC ...) */
};

typedef struct cmd_ctx_s cmd_ctx_t;
typedef void (*cmd_proc_t)(cmd_ctx_t *ctx);
/* For commands with movable keys (CMD_MOVABLE_KEYS): fill key argument indexes,
 * return their count (at most max). */
typedef int (*cmd_getkeys_t)(int argc, const slice_t *argv, int *keys, int max);

typedef struct cmd_stats_s {
    uint64_t calls;
    uint64_t usec;
    uint64_t rejected_calls;
    uint64_t failed_calls;
} cmd_stats_t;

typedef struct cmd_def_s {
    const char *name;   /* lower case, e.g. "get"; subcommands: "get" under "config" */
    cmd_proc_t proc;
    int arity;
    uint32_t flags;
    struct {
        int first, last, step; /* legacy key range, as COMMAND INFO reports it */
    } key;
    cmd_getkeys_t getkeys;          /* NULL unless keys move */
    const struct cmd_def_s *subs;   /* subcommand table (CONFIG, CLIENT ...), NULL-name terminated */
    /* filled at start-up / run time */
    struct cmd_def_s *parent;
    cmd_stats_t *stats;
} cmd_def_t;

/* Session flags. */
enum {
    SESS_CLOSE_AFTER_REPLY = 1u << 0,
    SESS_MONITOR = 1u << 1,
    SESS_READONLY = 1u << 2,  /* cluster READONLY */
    SESS_ASKING = 1u << 3,
    SESS_NO_EVICT = 1u << 4,
    SESS_MULTI = 1u << 5,
    SESS_DIRTY_CAS = 1u << 6,
    SESS_DIRTY_EXEC = 1u << 7,
    SESS_PUBSUB = 1u << 8,
    SESS_BLOCKED = 1u << 9,
    SESS_MASTER = 1u << 10,  /* the connection to our master (replica side) */
    SESS_REPLICA = 1u << 11, /* a replica connected to us */
    SESS_REPLY_OFF = 1u << 12,
    SESS_REPLY_SKIP_NEXT = 1u << 13,
    SESS_REPLY_SKIP = 1u << 14,
    SESS_CLOSE_ASAP = 1u << 15,
    SESS_UNIX = 1u << 16,
    SESS_NO_TOUCH = 1u << 17,
    SESS_TRACKING = 1u << 18,
};

/*
 * Per-connection command state. The loop room embeds one in each client and
 * keeps the I/O part (socket, buffers) to itself.
 */
typedef struct session_s {
    uint64_t id;
    int db;                 /* selected database */
    int resp;               /* 2 or 3 */
    uint32_t flags;         /* SESS_* */
    int authenticated;
    char *name;             /* CLIENT SETNAME; NULL when unset */
    uint64_t ctime_ms;      /* connection time */
    uint64_t last_ms;       /* last interaction */
    const cmd_def_t *last_cmd;
    reply_t *r;             /* the client's reply buffer */
    void *net;              /* the loop room's client (opaque here) */
    struct multi_s *multi;  /* queued commands while in MULTI (data-types issue) */
    void *pubsub;           /* subscriptions (data-types issue) */
    void *blocked;          /* blocking state (data-types issue) */
    void *watched;          /* WATCHed keys (data-types issue) */
} session_t;

typedef struct stats_s {
    uint64_t start_ms;
    uint64_t total_connections;
    uint64_t rejected_connections;
    uint64_t total_commands;
    uint64_t expired_keys;
    uint64_t expired_stale_perc;
    uint64_t expired_time_cap_reached;
    uint64_t evicted_keys;
    uint64_t keyspace_hits;
    uint64_t keyspace_misses;
    uint64_t net_input_bytes;
    uint64_t net_output_bytes;
    uint64_t total_error_replies;
    uint64_t unexpected_error_replies;
    uint64_t dirty;                /* changes since the last save */
    uint64_t client_qbuf_limit_disconnections;
    uint64_t client_outbuf_limit_disconnections;
    uint64_t connected_clients;
    uint64_t blocked_clients;
    uint64_t tracking_clients;
    uint64_t pubsub_channels;
    uint64_t pubsub_patterns;
    uint64_t lastsave_s;
    uint64_t peak_memory;
} stats_t;

/* Hooks the loop room gives the command room (nothing else points up). */
typedef struct cmd_host_s {
    void *self;
    /* Call fn for every connected client's session. */
    void (*each_client)(void *self, void (*fn)(session_t *s, void *arg), void *arg);
    /* The whole CLIENT LIST / CLIENT INFO line for s (no trailing newline). */
    size_t (*client_line)(void *self, const session_t *s, char *buf, size_t cap);
    /* Close s once its pending reply is written (CLIENT KILL, QUIT). */
    void (*client_kill)(void *self, session_t *s);
    /* Stop the server after this loop iteration; flags SHUTDOWN_*. Returns 0,
     * or -1 with msg set when it refuses (e.g. SAVE failed). */
    int (*shutdown)(void *self, int flags, const char **msg);
    /* Facts for INFO server/clients. */
    int (*tcp_port)(void *self);
    const char *(*executable)(void *self);
    const char *(*config_file)(void *self);
    /* s got output from another client's command (pub/sub, unblocking): flush it. */
    void (*wakeup)(void *self, session_t *s);
    /* s was unblocked: run its pending input (pipelined commands after BLPOP). */
    void (*resume)(void *self, session_t *s);
    /* PUBLISH/SPUBLISH in cluster mode: send the message over the bus. */
    void (*cluster_publish)(void *self, slice_t channel, slice_t msg, int shard);
    /* Make s a MONITOR client. */
    void (*monitor_start)(void *self, session_t *s);
    /* Feed a command to MONITOR clients. */
    void (*monitor_feed)(void *self, const session_t *s, int argc, const slice_t *argv);
    /* "ip:port" (or "path:0" for a unix socket) of the client. */
    const char *(*client_addr)(void *self, const session_t *s);
    /* A write command ran in db: append it to the AOF / replication stream. */
    void (*propagate)(void *self, int db, int argc, const slice_t *argv);
    /* CONFIG SET side effects that may fail (config_apply_fn of config.h). */
    int (*config_apply)(void *self, int what, const struct config_s *c, const char **err);
    /* Config changed (CONFIG SET): re-read limits, hz, log level, listeners. */
    void (*reconfigure)(void *self);
} cmd_host_t;

enum { SHUTDOWN_NOFLAGS = 0, SHUTDOWN_SAVE = 1, SHUTDOWN_NOSAVE = 2, SHUTDOWN_NOW = 4, SHUTDOWN_FORCE = 8 };

/* State shared by all commands; one per process, built by the server. */
typedef struct cmd_env_s {
    struct ks_s *ks;
    struct config_s *cfg;
    stats_t *stats;
    const cmd_host_t *host;
    uint64_t now_ms;   /* cached clock of this loop iteration (commands see one time) */
    uint64_t now_us;
    /* While call_batch is set (net/client.c, around one client's parsed
     * input), call_clock_us is the monotonic end of the previous command of
     * the batch (0 before the first): the next command's duration starts
     * there, so a pipelined batch reads the clock once per command, not twice. */
    int call_batch;
    uint64_t call_clock_us;
    int loading;       /* reply -LOADING to most commands */
    int active_expire; /* DEBUG SET-ACTIVE-EXPIRE */
    int cluster_mode;  /* cluster-enabled yes */
    struct cluster_s *cluster;         /* cluster mode: the state machine (cluster/cluster.h), else NULL */
    struct cluster_bus_s *cluster_bus; /* cluster mode: its transport (cluster/cluster_bus.h), else NULL */
    int is_replica;    /* we replicate from a master */
    struct watch_reg_s *watch; /* WATCHed keys (cmd_multi.c) */
    struct pubsub_s *pubsub;   /* subscriptions (cmd_pubsub.c) */
    int exec_depth;    /* > 0 while EXEC runs its queue */
    int prop_multi;    /* MULTI already propagated for the running EXEC */
    char run_id[41];
    const char *executable;
    const char *config_file;
} cmd_env_t;

struct cmd_ctx_s {
    cmd_env_t *env;
    session_t *s;
    reply_t *r;          /* where the reply goes (s->r, or a scratch buffer) */
    const cmd_def_t *cmd;
    int argc;
    slice_t *argv;
    long long dirty;     /* keys changed by this call */
};

/* The command table: built once from the family tables, case-insensitive lookup. */
void cmd_table_init(void);
const cmd_def_t *cmd_lookup(slice_t name);
/* Subcommand lookup in a container command (CONFIG GET ...). */
const cmd_def_t *cmd_lookup_sub(const cmd_def_t *parent, slice_t name);
/* Every top-level command, for COMMAND / COMMAND LIST / COUNT. */
size_t cmd_count(void);
const cmd_def_t *cmd_at(size_t i);

/*
 * Run one request for session s: lookup, checks (arity, auth, MULTI, loading),
 * call, stats, slowlog. Writes exactly one reply. Returns 0, or -1 if the
 * connection must close after the reply (QUIT, protocol-level refusal).
 */
int cmd_execute(cmd_env_t *env, session_t *s, int argc, slice_t *argv);
/* Run an already checked command (EXEC, replication stream): call, stats,
 * slowlog, monitors, after-call hook. Same return as cmd_execute. */
int cmd_call(cmd_env_t *env, session_t *s, const cmd_def_t *cmd, int argc, slice_t *argv);
/* "config|get" for a subcommand, "get" otherwise; returns the length. */
size_t cmd_fullname(const cmd_def_t *cmd, char *buf, size_t cap);

/* Session lifecycle, extended by features that keep per-session state
 * (MULTI, WATCH, pub/sub, blocking): release all of it when a client goes. */
void session_release(cmd_env_t *env, session_t *s);
/* Subscriptions of kind 0 channels, 1 patterns, 2 shard channels. */
int session_sub_count(const session_t *s, int kind);
/* Queued commands in MULTI, -1 when not in MULTI. */
int session_multi_count(const session_t *s);

/* A heap copy of argv and its bytes in one block (mem_free it); for commands
 * kept past the call that parsed them (MULTI queue, held propagation). */
slice_t *cmd_argv_copy(int argc, const slice_t *argv);

/* Helpers every handler uses. */
void cmd_dirty(cmd_ctx_t *ctx, long long n);
void reply_wrong_arity(reply_t *r, const cmd_def_t *cmd);  /* ERR wrong number of arguments for '%s' command */
void reply_syntax_error(reply_t *r);                        /* ERR syntax error */
void reply_wrongtype(reply_t *r);                           /* WRONGTYPE Operation against a key ... */
void reply_not_integer(reply_t *r);                         /* ERR value is not an integer or out of range */
void reply_not_float(reply_t *r);                           /* ERR value is not a valid float */
/* Parse helpers that write Redis's error reply and return -1 on failure. */
int arg_ll(cmd_ctx_t *ctx, slice_t a, long long *out);      /* "value is not an integer or out of range" */
int arg_ll_msg(cmd_ctx_t *ctx, slice_t a, long long *out, const char *msg);
int arg_ld(cmd_ctx_t *ctx, slice_t a, long double *out);    /* "value is not a valid float" */
int arg_d(cmd_ctx_t *ctx, slice_t a, double *out);

/* A HELP reply: an array of status lines. */
void reply_help_lines(reply_t *r, const char *const *lines, size_t n);

/* Family tables, each terminated by a row with name == NULL. */
extern cmd_def_t cmd_table_conn[];
extern cmd_def_t cmd_table_string[];
extern cmd_def_t cmd_table_keys[];
extern cmd_def_t cmd_table_server[];
extern cmd_def_t cmd_table_config[];
extern cmd_def_t cmd_table_multi[];
extern cmd_def_t cmd_table_pubsub[];
extern cmd_def_t cmd_table_cluster[];
extern cmd_def_t cmd_table_shutdown[];
extern cmd_def_t cmd_table_persist[];
extern cmd_def_t cmd_table_hash[];
extern cmd_def_t cmd_table_list[];
extern cmd_def_t cmd_table_set[];
extern cmd_def_t cmd_table_zset[];
extern cmd_def_t cmd_table_bits[];
extern cmd_def_t cmd_table_dump[]; /* DUMP RESTORE RESTORE-ASKING (cmd_dump.c) */
extern cmd_def_t cmd_table_save[]; /* SAVE BGSAVE (cmd_save.c) */
extern cmd_def_t cmd_table_migrate[]; /* MIGRATE (cmd_migrate.c) */
extern cmd_def_t cmd_table_repl[]; /* REPLICAOF SLAVEOF REPLCONF PSYNC SYNC WAIT ROLE (cmd_repl.c) */

#endif
