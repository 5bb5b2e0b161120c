/*
 * cmd_info.c — INFO: Redis 7.0's sections, field names and order, for the
 * figures Tessera can report truthfully.
 *
 * Owns: section selection (INFO, INFO default/all/everything, several
 * sections in one call), the text of each section, the instantaneous metric
 * samples, CONFIG RESETSTAT's counters.
 * Must not: invent figures. A Redis field is listed only if Tessera has the
 * fact behind it (fields of features we do not have, like forks or Lua, are
 * reported with the value that is true for us: nothing happened, 0 bytes).
 * Invariants: every line ends with "\r\n"; sections are separated by one
 * empty line; each section starts with "# Name"; the reply is a verbatim
 * string ("txt") in RESP3 and a bulk in RESP2.
 */
#include "../persist/persist.h"
#include "../persist/rdb_save.h"
#include "cmd_info.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../cluster/cluster.h"
#include "../conf/config.h"
#include "../ks/db.h"
#include "../lib/mem.h"
#include "../lib/util.h"
#include "../repl/repl.h"
#include "cmd_server_int.h"
#include "errorstats.h"
#include "latency.h"
#include "textbuf.h"

#define TESSERA_VERSION "0.1.0"
#define REDIS_COMPAT_VERSION "7.0.15"
#define METRIC_SAMPLES 16

enum { METRIC_COMMANDS, METRIC_NET_INPUT, METRIC_NET_OUTPUT, METRIC_COUNT };

static struct {
    uint64_t last_ms, last_reading;
    uint64_t samples[METRIC_SAMPLES];
    int idx;
} metrics[METRIC_COUNT];

/* ---- helpers ------------------------------------------------------------------ */

static void human(char *buf, size_t cap, uint64_t n)
{
    static const char units[] = "KMGTP";
    double d = (double)n;
    if (n < 1024) {
        snprintf(buf, cap, "%lluB", (unsigned long long)n);
        return;
    }
    for (int i = 0; i < 5; i++) {
        d /= 1024;
        if (d < 1024 || i == 4) {
            snprintf(buf, cap, "%.2f%c", d, units[i]);
            return;
        }
    }
}

static double metric_avg(int m)
{
    uint64_t sum = 0;
    for (int i = 0; i < METRIC_SAMPLES; i++)
        sum += metrics[m].samples[i];
    return (double)sum / METRIC_SAMPLES;
}

static void metric_track(int m, uint64_t reading, uint64_t now_ms)
{
    uint64_t dt = now_ms - metrics[m].last_ms;
    uint64_t delta = reading - metrics[m].last_reading;
    metrics[m].samples[metrics[m].idx] = dt > 0 ? delta * 1000 / dt : 0;
    metrics[m].idx = (metrics[m].idx + 1) % METRIC_SAMPLES;
    metrics[m].last_ms = now_ms;
    metrics[m].last_reading = reading;
}

void info_cron_sample(const cmd_env_t *env, uint64_t now_ms)
{
    metric_track(METRIC_COMMANDS, env->stats->total_commands, now_ms);
    metric_track(METRIC_NET_INPUT, env->stats->net_input_bytes, now_ms);
    metric_track(METRIC_NET_OUTPUT, env->stats->net_output_bytes, now_ms);
}

void info_update_peak(cmd_env_t *env)
{
    uint64_t used = mem_used();
    if (used > env->stats->peak_memory)
        env->stats->peak_memory = used;
}

static void config_value_cb(void *arg, const char *name, const char *value)
{
    (void)name;
    snprintf((char *)arg, 64, "%s", value);
}

/* The CONFIG GET text of one option, "" if unknown. */
static void config_text(const cmd_env_t *env, const char *option, char out[64])
{
    const char *pat[1] = {option};
    out[0] = '\0';
    if (env->cfg != NULL)
        config_get(env->cfg, pat, 1, config_value_cb, out);
}

/* A fixed id of this build (FNV-1a of the compile time), like redis_build_id. */
static unsigned long long build_id(void)
{
    static const char stamp[] = __DATE__ " " __TIME__ " " TESSERA_VERSION;
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < sizeof(stamp) - 1; i++)
        h = (h ^ (uint8_t)stamp[i]) * 1099511628211ull;
    return (unsigned long long)h;
}

static uint64_t now_ms_of(const cmd_env_t *env)
{
    return env->now_ms ? env->now_ms : time_ms();
}

/* ---- sections --------------------------------------------------------------------- */

static void section_server(textbuf_t *b, cmd_env_t *env)
{
    struct utsname u;
    uname(&u);
    uint64_t now = now_ms_of(env), up = (now - env->stats->start_ms) / 1000;
    const cmd_host_t *h = env->host;
    int port = h != NULL && h->tcp_port != NULL ? h->tcp_port(h->self) : env->cfg->port;
    const char *exe = h != NULL && h->executable != NULL ? h->executable(h->self) : env->executable;
    const char *conf =
        h != NULL && h->config_file != NULL ? h->config_file(h->self) : env->config_file;
    textbuf_printf(b,
                   "# Server\r\nredis_version:" REDIS_COMPAT_VERSION "\r\n"
                   "redis_git_sha1:00000000\r\nredis_git_dirty:0\r\n"
                   "redis_build_id:%llx\r\nredis_mode:%s\r\nos:%s %s %s\r\n"
                   "arch_bits:%d\r\nmonotonic_clock:POSIX clock_gettime\r\n"
                   "multiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\n"
                   "gcc_version:%d.%d.%d\r\nprocess_id:%ld\r\nprocess_supervised:no\r\n"
                   "run_id:%s\r\ntcp_port:%d\r\nserver_time_usec:%llu\r\n"
                   "uptime_in_seconds:%llu\r\nuptime_in_days:%llu\r\nhz:%d\r\n"
                   "configured_hz:%d\r\nlru_clock:%u\r\nexecutable:%s\r\nconfig_file:%s\r\n"
                   "io_threads_active:0\r\ntessera_version:" TESSERA_VERSION "\r\n",
                   build_id(), env->cluster_mode ? "cluster" : "standalone", u.sysname, u.release,
                   u.machine, (int)sizeof(long) * 8,
#ifdef __GNUC__
                   __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__,
#else
                   0, 0, 0,
#endif
                   (long)getpid(), env->run_id, port,
                   (unsigned long long)(env->now_us ? env->now_us : time_us()),
                   (unsigned long long)up, (unsigned long long)(up / 86400), env->cfg->hz,
                   env->cfg->hz, (unsigned)((now / 1000) & ((1u << 24) - 1)), exe ? exe : "",
                   conf ? conf : "");
}

static void section_clients(textbuf_t *b, cmd_env_t *env)
{
    const stats_t *st = env->stats;
    /* As Redis counts them: two bus sockets (in and out) per other known node. */
    size_t nodes = env->cluster != NULL ? cluster_node_count(env->cluster) : 1;
    textbuf_printf(b,
                   "# Clients\r\nconnected_clients:%llu\r\ncluster_connections:%zu\r\n"
                   "maxclients:%d\r\nblocked_clients:%llu\r\ntracking_clients:%llu\r\n",
                   (unsigned long long)st->connected_clients, (nodes - 1) * 2, env->cfg->maxclients,
                   (unsigned long long)st->blocked_clients,
                   (unsigned long long)st->tracking_clients);
}

static void section_memory(textbuf_t *b, cmd_env_t *env)
{
    info_update_peak(env);
    uint64_t used = mem_used(), rss = mem_rss(), peak = env->stats->peak_memory;
    uint64_t sys = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
    char hu[32], hr[32], hp[32], hs[32], hm[32], policy[64];
    human(hu, sizeof(hu), used);
    human(hr, sizeof(hr), rss);
    human(hp, sizeof(hp), peak);
    human(hs, sizeof(hs), sys);
    human(hm, sizeof(hm), env->cfg->maxmemory);
    config_text(env, "maxmemory-policy", policy);
    textbuf_printf(
        b,
        "# Memory\r\nused_memory:%llu\r\nused_memory_human:%s\r\nused_memory_rss:%llu\r\n"
        "used_memory_rss_human:%s\r\nused_memory_peak:%llu\r\nused_memory_peak_human:%s\r\n"
        "used_memory_peak_perc:%.2f%%\r\ntotal_system_memory:%llu\r\n"
        "total_system_memory_human:%s\r\nused_memory_lua:0\r\nused_memory_vm_eval:0\r\n"
        "used_memory_lua_human:0B\r\nused_memory_scripts_eval:0\r\nnumber_of_cached_scripts:0\r\n"
        "number_of_functions:0\r\nnumber_of_libraries:0\r\nused_memory_vm_functions:0\r\n"
        "used_memory_vm_total:0\r\nused_memory_vm_total_human:0B\r\nused_memory_functions:0\r\n"
        "used_memory_scripts:0\r\nused_memory_scripts_human:0B\r\nmaxmemory:%llu\r\n"
        "maxmemory_human:%s\r\nmaxmemory_policy:%s\r\nmem_fragmentation_ratio:%.2f\r\n"
        "mem_fragmentation_bytes:%lld\r\nmem_allocator:%s\r\nactive_defrag_running:0\r\n"
        "lazyfree_pending_objects:0\r\nlazyfreed_objects:0\r\n",
        (unsigned long long)used, hu, (unsigned long long)rss, hr, (unsigned long long)peak, hp,
        peak ? (double)used * 100 / (double)peak : 0.0, (unsigned long long)sys, hs,
        env->cfg->maxmemory, hm, policy[0] ? policy : "noeviction",
        used ? (double)rss / (double)used : 0.0, (long long)rss - (long long)used,
        mem_allocator_name());
}

static void section_persistence(textbuf_t *b, cmd_env_t *env)
{
    textbuf_printf(b,
                   "# Persistence\r\nloading:%d\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\n"
                   "current_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\n"
                   "current_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\n",
                   env->loading ? 1 : 0);
    char tail[2048];
    size_t n = rdb_info(env->now_ms, env->stats->dirty, tail, sizeof(tail));
    textbuf_add(b, tail, n);
    n = persist_info_aof(env->now_ms, tail, sizeof(tail));
    textbuf_add(b, tail, n);
    n = persist_info_loading(env->now_ms, tail, sizeof(tail));
    textbuf_add(b, tail, n);
}

static void section_stats(textbuf_t *b, cmd_env_t *env)
{
    const stats_t *st = env->stats;
    repl_stats_t rs = {0};
    if (repl_get() != NULL)
        rs = *repl_stats(repl_get());
    const ks_stats_t *ks = ks_stats(env->ks);
    textbuf_printf(
        b,
        "# Stats\r\ntotal_connections_received:%llu\r\ntotal_commands_processed:%llu\r\n"
        "instantaneous_ops_per_sec:%llu\r\ntotal_net_input_bytes:%llu\r\n"
        "total_net_output_bytes:%llu\r\ntotal_net_repl_input_bytes:%llu\r\n"
        "total_net_repl_output_bytes:%llu\r\ninstantaneous_input_kbps:%.2f\r\n"
        "instantaneous_output_kbps:%.2f\r\ninstantaneous_input_repl_kbps:0.00\r\n"
        "instantaneous_output_repl_kbps:0.00\r\nrejected_connections:%llu\r\nsync_full:%llu\r\n"
        "sync_partial_ok:%llu\r\nsync_partial_err:%llu\r\nexpired_keys:%llu\r\n"
        "expired_stale_perc:%.2f\r\nexpired_time_cap_reached_count:%llu\r\n"
        "evicted_keys:%llu\r\nevicted_clients:0\r\nkeyspace_hits:%llu\r\n"
        "keyspace_misses:%llu\r\npubsub_channels:%llu\r\npubsub_patterns:%llu\r\n"
        "pubsubshard_channels:0\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\n"
        "migrate_cached_sockets:0\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\n"
        "active_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\n"
        "total_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\n"
        "tracking_total_keys:0\r\ntracking_total_items:0\r\ntracking_total_prefixes:0\r\n"
        "unexpected_error_replies:%llu\r\ntotal_error_replies:%llu\r\n"
        "dump_payload_sanitizations:0\r\nio_threaded_reads_processed:0\r\n"
        "io_threaded_writes_processed:0\r\n",
        (unsigned long long)st->total_connections, (unsigned long long)st->total_commands,
        (unsigned long long)metric_avg(METRIC_COMMANDS), (unsigned long long)st->net_input_bytes,
        (unsigned long long)st->net_output_bytes, (unsigned long long)rs.repl_input_bytes,
        (unsigned long long)rs.repl_output_bytes, metric_avg(METRIC_NET_INPUT) / 1024,
        metric_avg(METRIC_NET_OUTPUT) / 1024, (unsigned long long)st->rejected_connections,
        (unsigned long long)rs.sync_full, (unsigned long long)rs.sync_partial_ok,
        (unsigned long long)rs.sync_partial_err,
        (unsigned long long)ks->expired_keys, ks->expired_stale_perc * 100,
        (unsigned long long)ks->expired_time_cap_reached, (unsigned long long)st->evicted_keys,
        (unsigned long long)ks->keyspace_hits, (unsigned long long)ks->keyspace_misses,
        (unsigned long long)st->pubsub_channels, (unsigned long long)st->pubsub_patterns,
        (unsigned long long)st->unexpected_error_replies,
        (unsigned long long)st->total_error_replies);
}

static void section_replication(textbuf_t *b, cmd_env_t *env)
{
    const repl_t *r = repl_get();
    if (r == NULL)
        return;
    textbuf_reserve(b, 4096 + 128 * repl_replica_count(r));
    b->len += repl_info(r, env->now_ms, b->p + b->len, b->cap - b->len);
}

static void section_cpu(textbuf_t *b, cmd_env_t *env)
{
    struct rusage self, children, thread;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    getrusage(RUSAGE_THREAD, &thread);
#define TV(t) (long)(t).tv_sec, (long)(t).tv_usec
    textbuf_printf(b,
                   "# CPU\r\nused_cpu_sys:%ld.%06ld\r\nused_cpu_user:%ld.%06ld\r\n"
                   "used_cpu_sys_children:%ld.%06ld\r\nused_cpu_user_children:%ld.%06ld\r\n"
                   "used_cpu_sys_main_thread:%ld.%06ld\r\nused_cpu_user_main_thread:%ld.%06ld\r\n",
                   TV(self.ru_stime), TV(self.ru_utime), TV(children.ru_stime),
                   TV(children.ru_utime), TV(thread.ru_stime), TV(thread.ru_utime));
#undef TV
}

static void section_modules(textbuf_t *b, cmd_env_t *env)
{
    textbuf_cstr(b, "# Modules\r\n");
}

static void cmdstat_row(textbuf_t *b, const cmd_def_t *def)
{
    const cmd_stats_t *s = def->stats;
    if (s != NULL && (s->calls || s->failed_calls || s->rejected_calls)) {
        char name[128];
        srv_fullname(def, name, sizeof(name));
        textbuf_printf(b,
                       "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,rejected_calls=%llu,"
                       "failed_calls=%llu\r\n",
                       name, (unsigned long long)s->calls, (unsigned long long)s->usec,
                       s->calls ? (double)s->usec / (double)s->calls : 0.0,
                       (unsigned long long)s->rejected_calls, (unsigned long long)s->failed_calls);
    }
    for (const cmd_def_t *sub = def->subs; sub != NULL && sub->name != NULL; sub++)
        cmdstat_row(b, sub);
}

static void section_commandstats(textbuf_t *b, cmd_env_t *env)
{
    textbuf_cstr(b, "# Commandstats\r\n");
    for (size_t i = 0; i < cmd_count(); i++)
        cmdstat_row(b, cmd_at(i));
}

static void section_errorstats(textbuf_t *b, cmd_env_t *env)
{
    uint64_t n;
    const char *code;
    textbuf_cstr(b, "# Errorstats\r\n");
    for (size_t i = 0; (code = errorstats_at(i, &n)) != NULL; i++)
        textbuf_printf(b, "errorstat_%s:count=%llu\r\n", code, (unsigned long long)n);
}

static void latencystat_row(textbuf_t *b, const cmd_def_t *def)
{
    if (latency_has_histogram(def)) {
        char name[128];
        srv_fullname(def, name, sizeof(name));
        textbuf_printf(b, "latency_percentiles_usec_%s:p50=%.3f,p99=%.3f,p99.9=%.3f\r\n", name,
                       latency_percentile_us(def, 50), latency_percentile_us(def, 99),
                       latency_percentile_us(def, 99.9));
    }
    for (const cmd_def_t *sub = def->subs; sub != NULL && sub->name != NULL; sub++)
        latencystat_row(b, sub);
}

static void section_latencystats(textbuf_t *b, cmd_env_t *env)
{
    textbuf_cstr(b, "# Latencystats\r\n");
    for (size_t i = 0; i < cmd_count(); i++)
        latencystat_row(b, cmd_at(i));
}

static void section_cluster(textbuf_t *b, cmd_env_t *env)
{
    textbuf_printf(b, "# Cluster\r\ncluster_enabled:%d\r\n", env->cluster_mode ? 1 : 0);
}

static void section_keyspace(textbuf_t *b, cmd_env_t *env)
{
    textbuf_cstr(b, "# Keyspace\r\n");
    for (int i = 0; i < ks_ndbs(env->ks); i++) {
        const db_t *db = ks_db(env->ks, i);
        if (db_size(db) == 0)
            continue;
        textbuf_printf(b, "db%d:keys=%llu,expires=%llu,avg_ttl=%lld\r\n", i,
                       (unsigned long long)db_size(db), (unsigned long long)db_expires(db),
                       (long long)db->avg_ttl);
    }
}

/* ---- selection and the command ------------------------------------------------ */

enum { IN_DEFAULT = 1, IN_ALL = 2 };

static const struct {
    const char *name;
    void (*fn)(textbuf_t *b, cmd_env_t *env);
    int in;
} sections[] = {
    {"server", section_server, IN_DEFAULT | IN_ALL},
    {"clients", section_clients, IN_DEFAULT | IN_ALL},
    {"memory", section_memory, IN_DEFAULT | IN_ALL},
    {"persistence", section_persistence, IN_DEFAULT | IN_ALL},
    {"stats", section_stats, IN_DEFAULT | IN_ALL},
    {"replication", section_replication, IN_DEFAULT | IN_ALL},
    {"cpu", section_cpu, IN_DEFAULT | IN_ALL},
    {"modules", section_modules, IN_DEFAULT | IN_ALL},
    {"commandstats", section_commandstats, IN_ALL},
    {"errorstats", section_errorstats, IN_DEFAULT | IN_ALL},
    {"latencystats", section_latencystats, IN_ALL},
    {"cluster", section_cluster, IN_DEFAULT | IN_ALL},
    {"keyspace", section_keyspace, IN_DEFAULT | IN_ALL},
};
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

static uint32_t section_mask(int argc, const slice_t *argv)
{
    uint32_t mask = 0;
    for (size_t i = 0; argc == 0 && i < NSECTIONS; i++)
        if (sections[i].in & IN_DEFAULT)
            mask |= 1u << i;
    for (int a = 0; a < argc; a++) {
        int all = slice_eq_ci(argv[a], "all") || slice_eq_ci(argv[a], "everything");
        int dflt = slice_eq_ci(argv[a], "default");
        int mods = slice_eq_ci(argv[a], "module_list");
        for (size_t i = 0; i < NSECTIONS; i++)
            if ((all && (sections[i].in & IN_ALL)) || (dflt && (sections[i].in & IN_DEFAULT)) ||
                (mods && sections[i].fn == section_modules) ||
                slice_eq_ci(argv[a], sections[i].name))
                mask |= 1u << i;
    }
    return mask;
}

void cmd_info(cmd_ctx_t *ctx)
{
    uint32_t mask = section_mask(ctx->argc - 1, ctx->argv + 1);
    textbuf_t b;
    textbuf_init(&b);
    int emitted = 0;
    for (size_t i = 0; i < NSECTIONS; i++) {
        if (!(mask & (1u << i)))
            continue;
        if (emitted++)
            textbuf_add(&b, "\r\n", 2);
        sections[i].fn(&b, ctx->env);
    }
    reply_verbatim(ctx->r, b.p, b.len, "txt");
    textbuf_deinit(&b);
}

/* ---- CONFIG RESETSTAT ------------------------------------------------------------ */

static void reset_row(const cmd_def_t *def)
{
    if (def->stats != NULL)
        memset(def->stats, 0, sizeof(*def->stats));
    for (const cmd_def_t *s = def->subs; s != NULL && s->name != NULL; s++)
        reset_row(s);
}

void info_resetstat(cmd_env_t *env)
{
    stats_t *st = env->stats;
    st->total_connections = st->rejected_connections = st->total_commands = 0;
    st->expired_keys = st->expired_stale_perc = st->expired_time_cap_reached = 0;
    st->evicted_keys = st->keyspace_hits = st->keyspace_misses = 0;
    st->net_input_bytes = st->net_output_bytes = 0;
    st->total_error_replies = st->unexpected_error_replies = 0;
    st->client_qbuf_limit_disconnections = st->client_outbuf_limit_disconnections = 0;
    st->peak_memory = mem_used();
    ks_stats_t *ks = ks_stats(env->ks);
    memset(ks, 0, sizeof(*ks));
    memset(metrics, 0, sizeof(metrics));
    errorstats_reset();
    latency_histograms_reset();
    if (repl_get() != NULL)
        repl_stats_reset(repl_get());
    for (size_t i = 0; i < cmd_count(); i++)
        reset_row(cmd_at(i));
}
