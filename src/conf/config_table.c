/*
 * config_table.c — the option table: one row per directive, with Redis 7.0's
 * names, aliases, defaults, bounds and mutability (checked against a real
 * redis-server 7.0.15 with CONFIG SET/GET and by loading bad files).
 *
 * Owns: conf_table[] and the enum value lists; name lookup.
 * Must not: hold behaviour beyond data (handlers live in config_types.c and
 * config_special.c) or defaults anywhere else.
 * Invariants: names are lower case and unique across names and aliases; every
 * row's .off points at a field of the row's type.
 */
#include "config_table.h"

#include <limits.h>
#include <stddef.h>
#include <strings.h>

#include "../lib/log.h"

#define OFF(f) offsetof(config_t, f)
#define MUT CONF_MUTABLE
#define IGN CONF_IGNORED
#define MB (1024LL * 1024)
#define GB (1024LL * 1024 * 1024)

static const conf_enum_t loglevel_enum[] = {
    {"debug", LOG_DEBUG},
    {"verbose", LOG_VERBOSE},
    {"notice", LOG_NOTICE},
    {"warning", LOG_WARNING},
    {NULL, 0},
};

/* Listed in Redis's order (it is the order of the error message). */
static const conf_enum_t maxmemory_policy_enum[] = {
    {"volatile-lru", MAXMEMORY_VOLATILE_LRU},
    {"volatile-lfu", MAXMEMORY_VOLATILE_LFU},
    {"volatile-random", MAXMEMORY_VOLATILE_RANDOM},
    {"volatile-ttl", MAXMEMORY_VOLATILE_TTL},
    {"allkeys-lru", MAXMEMORY_ALLKEYS_LRU},
    {"allkeys-lfu", MAXMEMORY_ALLKEYS_LFU},
    {"allkeys-random", MAXMEMORY_ALLKEYS_RANDOM},
    {"noeviction", MAXMEMORY_NOEVICTION},
    {NULL, 0},
};

static const conf_enum_t allow_enum[] = {
    {"no", CONFIG_ALLOW_NO},
    {"yes", CONFIG_ALLOW_YES},
    {"local", CONFIG_ALLOW_LOCAL},
    {NULL, 0},
};

static const conf_enum_t appendfsync_enum[] = {
    {"everysec", APPENDFSYNC_EVERYSEC},
    {"always", APPENDFSYNC_ALWAYS},
    {"no", APPENDFSYNC_NO},
    {NULL, 0},
};

static const conf_enum_t diskless_load_enum[] = {
    {"disabled", REPL_DISKLESS_LOAD_DISABLED},
    {"on-empty-db", REPL_DISKLESS_LOAD_ON_EMPTY_DB},
    {"swapdb", REPL_DISKLESS_LOAD_SWAPDB},
    {NULL, 0},
};

static const conf_enum_t supervised_enum[] = {
    {"upstart", SUPERVISED_UPSTART},
    {"systemd", SUPERVISED_SYSTEMD},
    {"auto", SUPERVISED_AUTODETECT},
    {"no", SUPERVISED_NONE},
    {NULL, 0},
};

static const conf_enum_t endpoint_type_enum[] = {
    {"ip", 0},
    {"hostname", 1},
    {"unknown-endpoint", 2},
    {NULL, 0},
};

static const conf_enum_t oom_score_adj_enum[] = {
    {"no", OOM_SCORE_ADJ_NO},
    {"yes", OOM_SCORE_RELATIVE},
    {"relative", OOM_SCORE_RELATIVE},
    {"absolute", OOM_SCORE_ABSOLUTE},
    {NULL, 0},
};

/* clang-format off */
const conf_row_t conf_table[] = {
    /* ---- network ---- */
    { .name = "port", .type = CONF_INT, .off = OFF(port), .dflt_ll = 6379, .min = 0, .max = 65535, .flags = MUT, .apply = CONFIG_APPLY_LISTEN },
    { .name = "bind", .type = CONF_SPECIAL, .special = &conf_special_bind, .flags = MUT | CONF_MULTI_ARG, .apply = CONFIG_APPLY_LISTEN },
    { .name = "protected-mode", .type = CONF_BOOL, .off = OFF(protected_mode), .dflt_ll = 1, .flags = MUT },
    { .name = "tcp-backlog", .type = CONF_INT, .off = OFF(tcp_backlog), .dflt_ll = 511, .min = 0, .max = INT_MAX },
    { .name = "unixsocket", .type = CONF_STR, .off = OFF(unixsocket), .dflt_str = NULL, .flags = CONF_EMPTY_NULL },
    { .name = "unixsocketperm", .type = CONF_INT, .off = OFF(unixsocketperm), .dflt_ll = 0, .min = 0, .max = 0777, .flags = CONF_OCTAL },
    { .name = "timeout", .type = CONF_LL, .off = OFF(timeout), .dflt_ll = 0, .min = 0, .max = INT_MAX, .flags = MUT },
    { .name = "tcp-keepalive", .type = CONF_INT, .off = OFF(tcp_keepalive), .dflt_ll = 300, .min = 0, .max = INT_MAX, .flags = MUT },
    /* ---- process ---- */
    { .name = "daemonize", .type = CONF_BOOL, .off = OFF(daemonize), .dflt_ll = 0 },
    { .name = "pidfile", .type = CONF_STR, .off = OFF(pidfile), .dflt_str = NULL, .flags = CONF_EMPTY_NULL },
    { .name = "logfile", .type = CONF_STR, .off = OFF(logfile), .dflt_str = "" },
    { .name = "loglevel", .type = CONF_ENUM, .off = OFF(loglevel), .dflt_ll = LOG_NOTICE, .enums = loglevel_enum, .flags = MUT, .apply = CONFIG_APPLY_LOGLEVEL },
    { .name = "dir", .type = CONF_SPECIAL, .special = &conf_special_dir, .flags = MUT | CONF_PROTECTED },
    { .name = "databases", .type = CONF_INT, .off = OFF(databases), .dflt_ll = 16, .min = 1, .max = INT_MAX },
    { .name = "requirepass", .type = CONF_SPECIAL, .special = &conf_special_requirepass, .flags = MUT | CONF_SENSITIVE },
    { .name = "maxclients", .type = CONF_INT, .off = OFF(maxclients), .dflt_ll = 10000, .min = 1, .max = UINT_MAX, .flags = MUT, .apply = CONFIG_APPLY_MAXCLIENTS },
    { .name = "enable-debug-command", .type = CONF_ENUM, .off = OFF(enable_debug_command), .dflt_ll = CONFIG_ALLOW_NO, .enums = allow_enum },
    { .name = "enable-protected-configs", .type = CONF_ENUM, .off = OFF(enable_protected_configs), .dflt_ll = CONFIG_ALLOW_NO, .enums = allow_enum },
    { .name = "hz", .type = CONF_INT, .off = OFF(hz), .dflt_ll = 10, .min = 0, .max = INT_MAX, .post_set = conf_hz_clamp, .flags = MUT, .apply = CONFIG_APPLY_HZ },
    { .name = "dynamic-hz", .type = CONF_BOOL, .off = OFF(dynamic_hz), .dflt_ll = 1, .flags = MUT, .apply = CONFIG_APPLY_HZ },
    /* ---- memory and limits ---- */
    { .name = "maxmemory", .type = CONF_ULL, .off = OFF(maxmemory), .dflt_ll = 0, .min = 0, .umax = ULLONG_MAX, .flags = MUT | CONF_MEMORY, .apply = CONFIG_APPLY_MAXMEMORY },
    { .name = "maxmemory-policy", .type = CONF_ENUM, .off = OFF(maxmemory_policy), .dflt_ll = MAXMEMORY_NOEVICTION, .enums = maxmemory_policy_enum, .flags = MUT },
    { .name = "maxmemory-samples", .type = CONF_INT, .off = OFF(maxmemory_samples), .dflt_ll = 5, .min = 1, .max = INT_MAX, .flags = MUT },
    { .name = "maxmemory-eviction-tenacity", .type = CONF_INT, .off = OFF(maxmemory_eviction_tenacity), .dflt_ll = 10, .min = 0, .max = 100, .flags = MUT },
    { .name = "lfu-log-factor", .type = CONF_INT, .off = OFF(lfu_log_factor), .dflt_ll = 10, .min = 0, .max = INT_MAX, .flags = MUT },
    { .name = "lfu-decay-time", .type = CONF_INT, .off = OFF(lfu_decay_time), .dflt_ll = 1, .min = 0, .max = INT_MAX, .flags = MUT },
    { .name = "proto-max-bulk-len", .type = CONF_LL, .off = OFF(proto_max_bulk_len), .dflt_ll = 512 * MB, .min = MB, .max = LLONG_MAX, .flags = MUT | CONF_MEMORY },
    { .name = "client-query-buffer-limit", .type = CONF_ULL, .off = OFF(client_query_buffer_limit), .dflt_ll = GB, .min = MB, .umax = LLONG_MAX, .flags = MUT | CONF_MEMORY },
    { .name = "client-output-buffer-limit", .type = CONF_SPECIAL, .special = &conf_special_obuf, .flags = MUT | CONF_MULTI_ARG },
    { .name = "lazyfree-lazy-eviction", .type = CONF_BOOL, .off = OFF(lazyfree_lazy_eviction), .dflt_ll = 0, .flags = MUT },
    { .name = "lazyfree-lazy-expire", .type = CONF_BOOL, .off = OFF(lazyfree_lazy_expire), .dflt_ll = 0, .flags = MUT },
    { .name = "lazyfree-lazy-server-del", .type = CONF_BOOL, .off = OFF(lazyfree_lazy_server_del), .dflt_ll = 0, .flags = MUT },
    { .name = "lazyfree-lazy-user-del", .type = CONF_BOOL, .off = OFF(lazyfree_lazy_user_del), .dflt_ll = 0, .flags = MUT },
    { .name = "lazyfree-lazy-user-flush", .type = CONF_BOOL, .off = OFF(lazyfree_lazy_user_flush), .dflt_ll = 0, .flags = MUT },
    { .name = "activerehashing", .type = CONF_BOOL, .off = OFF(activerehashing), .dflt_ll = 1, .flags = MUT },
    { .name = "active-expire-effort", .type = CONF_INT, .off = OFF(active_expire_effort), .dflt_ll = 1, .min = 1, .max = 10, .flags = MUT },
    /* ---- snapshotting ---- */
    { .name = "save", .type = CONF_SPECIAL, .special = &conf_special_save, .flags = MUT | CONF_MULTI_ARG },
    { .name = "dbfilename", .type = CONF_STR, .off = OFF(dbfilename), .dflt_str = "dump.rdb", .validate = conf_validate_dbfilename, .flags = MUT | CONF_PROTECTED },
    /* ---- diagnostics ---- */
    { .name = "slowlog-log-slower-than", .type = CONF_LL, .off = OFF(slowlog_log_slower_than), .dflt_ll = 10000, .min = -1, .max = LLONG_MAX, .flags = MUT },
    { .name = "slowlog-max-len", .type = CONF_ULL, .off = OFF(slowlog_max_len), .dflt_ll = 128, .min = 0, .umax = LLONG_MAX, .flags = MUT },
    { .name = "latency-monitor-threshold", .type = CONF_LL, .off = OFF(latency_monitor_threshold), .dflt_ll = 0, .min = 0, .max = LLONG_MAX, .flags = MUT },
    { .name = "notify-keyspace-events", .type = CONF_SPECIAL, .special = &conf_special_notify, .flags = MUT },

    /* ---- cluster (src/cluster/cluster_bus.c copies these into cluster_cfg_t) ---- */
    { .name = "cluster-enabled", .type = CONF_BOOL, .off = OFF(cluster_enabled), .dflt_ll = 0 },
    { .name = "cluster-config-file", .type = CONF_STR, .off = OFF(cluster_config_file), .dflt_str = "nodes.conf" },
    { .name = "cluster-node-timeout", .type = CONF_LL, .off = OFF(cluster_node_timeout), .dflt_ll = 15000, .min = 0, .max = LLONG_MAX, .flags = MUT },
    { .name = "cluster-port", .type = CONF_INT, .off = OFF(cluster_port), .dflt_ll = 0, .min = 0, .max = 65535 },
    { .name = "cluster-announce-ip", .type = CONF_STR, .off = OFF(cluster_announce_ip), .dflt_str = NULL, .flags = MUT | CONF_EMPTY_NULL },
    { .name = "cluster-announce-port", .type = CONF_INT, .off = OFF(cluster_announce_port), .dflt_ll = 0, .min = 0, .max = 65535, .flags = MUT },
    { .name = "cluster-announce-bus-port", .type = CONF_INT, .off = OFF(cluster_announce_bus_port), .dflt_ll = 0, .min = 0, .max = 65535, .flags = MUT },
    { .name = "cluster-announce-tls-port", .type = CONF_INT, .off = OFF(cluster_announce_tls_port), .dflt_ll = 0, .min = 0, .max = 65535, .flags = MUT },
    { .name = "cluster-announce-hostname", .type = CONF_STR, .off = OFF(cluster_announce_hostname), .dflt_str = NULL, .validate = conf_validate_hostname, .flags = MUT | CONF_EMPTY_NULL },
    { .name = "cluster-announce-human-nodename", .type = CONF_STR, .off = OFF(cluster_announce_human_nodename), .dflt_str = NULL, .validate = conf_validate_human_nodename, .flags = MUT | CONF_EMPTY_NULL | CONF_HIDDEN }, /* 7.2; hidden from CONFIG GET patterns as 7.0 has none */
    { .name = "cluster-preferred-endpoint-type", .type = CONF_ENUM, .off = OFF(cluster_preferred_endpoint_type), .dflt_ll = 0, .enums = endpoint_type_enum, .flags = MUT },
    { .name = "cluster-require-full-coverage", .type = CONF_BOOL, .off = OFF(cluster_require_full_coverage), .dflt_ll = 1, .flags = MUT },
    { .name = "cluster-allow-reads-when-down", .type = CONF_BOOL, .off = OFF(cluster_allow_reads_when_down), .dflt_ll = 0, .flags = MUT },
    { .name = "cluster-allow-pubsubshard-when-down", .type = CONF_BOOL, .off = OFF(cluster_allow_pubsubshard_when_down), .dflt_ll = 1, .flags = MUT },
    { .name = "cluster-replica-validity-factor", .alias = "cluster-slave-validity-factor", .type = CONF_INT, .off = OFF(cluster_replica_validity_factor), .dflt_ll = 10, .min = 0, .max = INT_MAX, .flags = MUT },
    { .name = "cluster-migration-barrier", .type = CONF_INT, .off = OFF(cluster_migration_barrier), .dflt_ll = 1, .min = 0, .max = INT_MAX, .flags = MUT },
    { .name = "cluster-allow-replica-migration", .type = CONF_BOOL, .off = OFF(cluster_allow_replica_migration), .dflt_ll = 1, .flags = MUT },
    { .name = "cluster-replica-no-failover", .alias = "cluster-slave-no-failover", .type = CONF_BOOL, .off = OFF(cluster_replica_no_failover), .dflt_ll = 0, .flags = MUT },
    { .name = "cluster-link-sendbuf-limit", .type = CONF_ULL, .off = OFF(cluster_link_sendbuf_limit), .dflt_ll = 0, .min = 0, .umax = ULONG_MAX, .flags = MUT | CONF_MEMORY },

    /* ---- persistence: AOF (src/persist/aof.h reads these) ---- */
    { .name = "appendonly", .type = CONF_BOOL, .off = OFF(appendonly), .dflt_ll = 0, .flags = MUT, .apply = CONFIG_APPLY_APPENDONLY },
    { .name = "appendfsync", .type = CONF_ENUM, .off = OFF(appendfsync), .dflt_ll = APPENDFSYNC_EVERYSEC, .enums = appendfsync_enum, .flags = MUT },
    { .name = "appendfilename", .type = CONF_STR, .off = OFF(appendfilename), .dflt_str = "appendonly.aof", .validate = conf_validate_appendfilename, .flags = 0 },
    { .name = "appenddirname", .type = CONF_STR, .off = OFF(appenddirname), .dflt_str = "appendonlydir", .validate = conf_validate_appenddirname, .flags = 0 },
    { .name = "no-appendfsync-on-rewrite", .type = CONF_BOOL, .off = OFF(no_appendfsync_on_rewrite), .dflt_ll = 0, .flags = MUT },
    { .name = "auto-aof-rewrite-percentage", .type = CONF_INT, .off = OFF(auto_aof_rewrite_percentage), .dflt_ll = 100, .min = 0, .max = INT_MAX, .flags = MUT },
    { .name = "auto-aof-rewrite-min-size", .type = CONF_LL, .off = OFF(auto_aof_rewrite_min_size), .dflt_ll = 64 * MB, .min = 0, .max = LLONG_MAX, .flags = MUT | CONF_MEMORY },
    { .name = "aof-load-truncated", .type = CONF_BOOL, .off = OFF(aof_load_truncated), .dflt_ll = 1, .flags = MUT },
    { .name = "aof-use-rdb-preamble", .type = CONF_BOOL, .off = OFF(aof_use_rdb_preamble), .dflt_ll = 1, .flags = MUT },
    { .name = "aof-rewrite-incremental-fsync", .type = CONF_BOOL, .off = OFF(aof_rewrite_incremental_fsync), .dflt_ll = 1, .flags = MUT },
    { .name = "aof-timestamp-enabled", .type = CONF_BOOL, .off = OFF(aof_timestamp_enabled), .dflt_ll = 0, .flags = MUT },
    /* ---- accepted, no effect yet: persistence ---- */
    { .name = "rdbcompression", .type = CONF_BOOL, .off = OFF(rdbcompression), .dflt_ll = 1, .flags = MUT },
    { .name = "rdbchecksum", .type = CONF_BOOL, .off = OFF(rdbchecksum), .dflt_ll = 1, .flags = 0 },
    { .name = "rdb-del-sync-files", .type = CONF_BOOL, .off = OFF(rdb_del_sync_files), .dflt_ll = 0, .flags = MUT | IGN },
    { .name = "rdb-save-incremental-fsync", .type = CONF_BOOL, .off = OFF(rdb_save_incremental_fsync), .dflt_ll = 1, .flags = MUT },
    { .name = "stop-writes-on-bgsave-error", .type = CONF_BOOL, .off = OFF(stop_writes_on_bgsave_error), .dflt_ll = 1, .flags = MUT },
    /* ---- replication (src/repl, src/server_repl.c, src/cmd/cmd_repl.c) ---- */
    { .name = "replicaof", .alias = "slaveof", .type = CONF_SPECIAL, .special = &conf_special_replicaof, .flags = CONF_MULTI_ARG },
    { .name = "masterauth", .type = CONF_STR, .off = OFF(masterauth), .dflt_str = NULL, .flags = MUT | CONF_SENSITIVE | CONF_EMPTY_NULL },
    { .name = "masteruser", .type = CONF_STR, .off = OFF(masteruser), .dflt_str = NULL, .flags = MUT | CONF_EMPTY_NULL },
    { .name = "replica-serve-stale-data", .alias = "slave-serve-stale-data", .type = CONF_BOOL, .off = OFF(replica_serve_stale_data), .dflt_ll = 1, .flags = MUT },
    { .name = "replica-read-only", .alias = "slave-read-only", .type = CONF_BOOL, .off = OFF(replica_read_only), .dflt_ll = 1, .flags = MUT },
    { .name = "replica-lazy-flush", .alias = "slave-lazy-flush", .type = CONF_BOOL, .off = OFF(replica_lazy_flush), .dflt_ll = 0, .flags = MUT }, /* the flush before loading is synchronous either way */
    { .name = "replica-priority", .alias = "slave-priority", .type = CONF_INT, .off = OFF(replica_priority), .dflt_ll = 100, .min = 0, .max = INT_MAX, .flags = MUT },
    { .name = "replica-announced", .type = CONF_BOOL, .off = OFF(replica_announced), .dflt_ll = 1, .flags = MUT },
    { .name = "replica-announce-ip", .alias = "slave-announce-ip", .type = CONF_STR, .off = OFF(replica_announce_ip), .dflt_str = NULL, .flags = MUT | CONF_EMPTY_NULL },
    { .name = "replica-announce-port", .alias = "slave-announce-port", .type = CONF_INT, .off = OFF(replica_announce_port), .dflt_ll = 0, .min = 0, .max = 65535, .flags = MUT },
    { .name = "repl-diskless-sync", .type = CONF_BOOL, .off = OFF(repl_diskless_sync), .dflt_ll = 1, .flags = MUT },
    { .name = "repl-diskless-sync-delay", .type = CONF_INT, .off = OFF(repl_diskless_sync_delay), .dflt_ll = 5, .min = 0, .max = INT_MAX, .flags = MUT },
    { .name = "repl-diskless-sync-max-replicas", .type = CONF_INT, .off = OFF(repl_diskless_sync_max_replicas), .dflt_ll = 0, .min = 0, .max = INT_MAX, .flags = MUT },
    { .name = "repl-diskless-load", .type = CONF_ENUM, .off = OFF(repl_diskless_load), .dflt_ll = REPL_DISKLESS_LOAD_DISABLED, .enums = diskless_load_enum, .flags = MUT }, /* every value loads the payload from memory */
    { .name = "repl-disable-tcp-nodelay", .type = CONF_BOOL, .off = OFF(repl_disable_tcp_nodelay), .dflt_ll = 0, .flags = MUT | IGN }, /* replica sockets keep TCP_NODELAY */
    { .name = "repl-backlog-size", .type = CONF_LL, .off = OFF(repl_backlog_size), .dflt_ll = MB, .min = 1, .max = LLONG_MAX, .flags = MUT | CONF_MEMORY },
    { .name = "repl-backlog-ttl", .type = CONF_LL, .off = OFF(repl_backlog_ttl), .dflt_ll = 3600, .min = 0, .max = LONG_MAX, .flags = MUT },
    { .name = "repl-timeout", .type = CONF_INT, .off = OFF(repl_timeout), .dflt_ll = 60, .min = 1, .max = INT_MAX, .flags = MUT },
    { .name = "repl-ping-replica-period", .alias = "repl-ping-slave-period", .type = CONF_INT, .off = OFF(repl_ping_replica_period), .dflt_ll = 10, .min = 1, .max = INT_MAX, .flags = MUT },
    { .name = "min-replicas-to-write", .alias = "min-slaves-to-write", .type = CONF_INT, .off = OFF(min_replicas_to_write), .dflt_ll = 0, .min = 0, .max = INT_MAX, .flags = MUT },
    { .name = "min-replicas-max-lag", .alias = "min-slaves-max-lag", .type = CONF_INT, .off = OFF(min_replicas_max_lag), .dflt_ll = 10, .min = 0, .max = INT_MAX, .flags = MUT },
    /* ---- accepted, no effect yet: encodings and tuning ---- */
    { .name = "hash-max-listpack-entries", .alias = "hash-max-ziplist-entries", .type = CONF_LL, .off = OFF(hash_max_listpack_entries), .dflt_ll = 512, .min = 0, .max = LLONG_MAX, .flags = MUT },
    { .name = "hash-max-listpack-value", .alias = "hash-max-ziplist-value", .type = CONF_LL, .off = OFF(hash_max_listpack_value), .dflt_ll = 64, .min = 0, .max = LLONG_MAX, .flags = MUT | CONF_MEMORY },
    { .name = "set-max-intset-entries", .type = CONF_LL, .off = OFF(set_max_intset_entries), .dflt_ll = 512, .min = 0, .max = LLONG_MAX, .flags = MUT },
    { .name = "zset-max-listpack-entries", .alias = "zset-max-ziplist-entries", .type = CONF_LL, .off = OFF(zset_max_listpack_entries), .dflt_ll = 128, .min = 0, .max = LLONG_MAX, .flags = MUT },
    { .name = "zset-max-listpack-value", .alias = "zset-max-ziplist-value", .type = CONF_LL, .off = OFF(zset_max_listpack_value), .dflt_ll = 64, .min = 0, .max = LLONG_MAX, .flags = MUT | CONF_MEMORY },
    { .name = "list-max-listpack-size", .alias = "list-max-ziplist-size", .type = CONF_INT, .off = OFF(list_max_listpack_size), .dflt_ll = -2, .min = INT_MIN, .max = INT_MAX, .flags = MUT },
    { .name = "list-compress-depth", .type = CONF_INT, .off = OFF(list_compress_depth), .dflt_ll = 0, .min = 0, .max = INT_MAX, .flags = MUT | IGN },
    { .name = "hll-sparse-max-bytes", .type = CONF_LL, .off = OFF(hll_sparse_max_bytes), .dflt_ll = 3000, .min = 0, .max = LLONG_MAX, .flags = MUT | IGN | CONF_MEMORY },
    { .name = "stream-node-max-bytes", .type = CONF_LL, .off = OFF(stream_node_max_bytes), .dflt_ll = 4096, .min = 0, .max = LLONG_MAX, .flags = MUT | IGN | CONF_MEMORY },
    { .name = "stream-node-max-entries", .type = CONF_LL, .off = OFF(stream_node_max_entries), .dflt_ll = 100, .min = 0, .max = LLONG_MAX, .flags = MUT | IGN },
    { .name = "acllog-max-len", .type = CONF_LL, .off = OFF(acllog_max_len), .dflt_ll = 128, .min = 0, .max = LLONG_MAX, .flags = MUT | IGN },
    /* ---- accepted, no effect yet: process ---- */
    { .name = "always-show-logo", .type = CONF_BOOL, .off = OFF(always_show_logo), .dflt_ll = 0, .flags = IGN },
    { .name = "set-proc-title", .type = CONF_BOOL, .off = OFF(set_proc_title), .dflt_ll = 1, .flags = IGN },
    { .name = "proc-title-template", .type = CONF_STR, .off = OFF(proc_title_template), .dflt_str = "{title} {listen-addr} {server-mode}", .validate = conf_validate_proc_title, .flags = MUT | IGN },
    { .name = "supervised", .type = CONF_ENUM, .off = OFF(supervised), .dflt_ll = SUPERVISED_NONE, .enums = supervised_enum, .flags = IGN },
    { .name = "disable-thp", .type = CONF_BOOL, .off = OFF(disable_thp), .dflt_ll = 1, .flags = IGN },
    { .name = "jemalloc-bg-thread", .type = CONF_BOOL, .off = OFF(jemalloc_bg_thread), .dflt_ll = 1, .flags = MUT | IGN },
    { .name = "oom-score-adj", .type = CONF_ENUM, .off = OFF(oom_score_adj), .dflt_ll = OOM_SCORE_ADJ_NO, .enums = oom_score_adj_enum, .flags = MUT | IGN },
    { .name = "oom-score-adj-values", .type = CONF_SPECIAL, .special = &conf_special_oom_values, .flags = MUT | IGN | CONF_MULTI_ARG },
    { .name = "enable-module-command", .type = CONF_ENUM, .off = OFF(enable_module_command), .dflt_ll = CONFIG_ALLOW_NO, .enums = allow_enum, .flags = IGN },
};
/* clang-format on */

const size_t conf_table_len = sizeof(conf_table) / sizeof(conf_table[0]);

const conf_row_t *conf_lookup(const char *name)
{
    for (size_t i = 0; i < conf_table_len; i++) {
        const conf_row_t *row = &conf_table[i];
        if (strcasecmp(row->name, name) == 0 ||
            (row->alias != NULL && strcasecmp(row->alias, name) == 0))
            return row;
    }
    return NULL;
}
