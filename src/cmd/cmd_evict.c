/*
 * cmd_evict.c — maxmemory on the command side: before a command runs, evict
 * keys (src/ks/evict.h) while used memory is over maxmemory, and refuse
 * commands that may grow memory with Redis's OOM error when that fails;
 * propagate each eviction as DEL (UNLINK with lazyfree-lazy-eviction) and
 * count it in INFO evicted_keys; apply maxmemory-policy / lfu-log-factor /
 * lfu-decay-time to the keyspace's LRU/LFU bookkeeping.
 *
 * Redis 7.0's rules (processCommand / performEvictions): eviction runs before
 * every command when maxmemory is set, not while loading and not on a replica
 * (replica-ignore-maxmemory); a run is bounded in time by
 * maxmemory-eviction-tenacity, and a run cut short by time does not refuse
 * the command. When eviction cannot free enough, commands flagged denyoom,
 * EXEC of a transaction that queued one, and any command queued inside MULTI
 * (except EXEC, DISCARD, QUIT, RESET) are refused.
 *
 * Must not: touch sockets or the loop; write anything but the OOM error.
 */
#include <assert.h>
#include <string.h>

#include "../conf/config.h"
#include "../ks/evict.h"
#include "../lib/mem.h"
#include "../lib/util.h"
#include "cmd_hooks.h"

#define SAME(a, b) ((int)(a) == (int)(b))
static_assert(SAME(KS_EVICT_NOEVICTION, MAXMEMORY_NOEVICTION) &&
                  SAME(KS_EVICT_VOLATILE_LRU, MAXMEMORY_VOLATILE_LRU) &&
                  SAME(KS_EVICT_VOLATILE_LFU, MAXMEMORY_VOLATILE_LFU) &&
                  SAME(KS_EVICT_VOLATILE_RANDOM, MAXMEMORY_VOLATILE_RANDOM) &&
                  SAME(KS_EVICT_VOLATILE_TTL, MAXMEMORY_VOLATILE_TTL) &&
                  SAME(KS_EVICT_ALLKEYS_LRU, MAXMEMORY_ALLKEYS_LRU) &&
                  SAME(KS_EVICT_ALLKEYS_LFU, MAXMEMORY_ALLKEYS_LFU) &&
                  SAME(KS_EVICT_ALLKEYS_RANDOM, MAXMEMORY_ALLKEYS_RANDOM),
              "evict.h policy numbers follow config.h");

/* The victim is about to be deleted: replicas and the AOF get a DEL. */
static void evict_on_key(void *arg, int db, slice_t key)
{
    cmd_env_t *env = arg;
    slice_t argv[2] = {env->cfg->lazyfree_lazy_eviction ? SLICE_LIT("UNLINK") : SLICE_LIT("DEL"),
                       key};
    cmd_propagate(env, db, 2, argv);
}

/* INFO total/current_eviction_exceeded_time: how long used memory stayed
 * over maxmemory (from the first run that could not get under the limit to
 * the first run that found it under), in monotonic microseconds. */
static uint64_t exceeded_since_us, exceeded_total_us;

static void note_result(int status)
{
    if (status != KS_EVICT_OK) {
        if (exceeded_since_us == 0)
            exceeded_since_us = time_mono_us();
    } else if (exceeded_since_us != 0) {
        exceeded_total_us += time_mono_us() - exceeded_since_us;
        exceeded_since_us = 0;
    }
}

void evict_exceeded_ms(uint64_t *total_ms, uint64_t *current_ms)
{
    uint64_t cur = exceeded_since_us ? time_mono_us() - exceeded_since_us : 0;
    *current_ms = cur / 1000;
    *total_ms = (exceeded_total_us + cur) / 1000;
}

void evict_stats_reset(void)
{
    exceeded_total_us = 0;
    if (exceeded_since_us != 0)
        exceeded_since_us = time_mono_us();
}

/* One eviction run; returns KS_EVICT_*. */
static int evict_run(cmd_env_t *env)
{
    const config_t *cfg = env->cfg;
    size_t used = mem_used();
    if (used <= cfg->maxmemory) {
        note_result(KS_EVICT_OK);
        return KS_EVICT_OK;
    }
    ks_evict_req_t req = {
        .policy = cfg->maxmemory_policy,
        .samples = cfg->maxmemory_samples,
        .now_ms = env->now_ms,
        .mem_used = mem_used,
        .now_us = time_mono_us,
        .budget_us = ks_evict_time_limit_us(cfg->maxmemory_eviction_tenacity),
        .on_evict = evict_on_key,
        .arg = env,
    };
    int status;
    size_t n = ks_evict(env->ks, used - (size_t)cfg->maxmemory, &req, &status);
    env->stats->evicted_keys += n;
    note_result(status);
    return status;
}

static int name_is(const cmd_def_t *cmd, const char *name)
{
    const cmd_def_t *top = cmd->parent ? cmd->parent : cmd;
    return strcmp(top->name, name) == 0;
}

/* EXEC of a transaction that queued a denyoom command. */
static int exec_denyoom(const session_t *s)
{
    const cmd_def_t *q;
    int argc;
    const slice_t *argv;
    for (int i = 0; multi_queued_at(s, i, &q, &argc, &argv); i++)
        if (q->flags & CMD_DENYOOM)
            return 1;
    return 0;
}

static int refused_on_oom(const session_t *s, const cmd_def_t *cmd)
{
    if (cmd->flags & CMD_DENYOOM)
        return 1;
    if (name_is(cmd, "exec"))
        return (s->flags & SESS_MULTI) && exec_denyoom(s);
    if (!(s->flags & SESS_MULTI))
        return 0;
    return !name_is(cmd, "discard") && !name_is(cmd, "quit") && !name_is(cmd, "reset");
}

static int last_status = KS_EVICT_OK;

int evict_continue(cmd_env_t *env)
{
    if (last_status != KS_EVICT_RUNNING || env->cfg->maxmemory == 0 || env->loading ||
        env->is_replica) {
        last_status = KS_EVICT_OK;
        return 0;
    }
    last_status = evict_run(env);
    return last_status == KS_EVICT_RUNNING;
}

int evict_precheck(cmd_env_t *env, session_t *s, reply_t *r, const cmd_def_t *cmd)
{
    if (env->cfg->maxmemory == 0 || env->loading || env->is_replica)
        return 0;
    last_status = evict_run(env);
    if (last_status != KS_EVICT_FAIL || !refused_on_oom(s, cmd))
        return 0;
    reply_error(r, "OOM command not allowed when used memory > 'maxmemory'.");
    return -1;
}

void evict_apply_config(cmd_env_t *env)
{
    const config_t *cfg = env->cfg;
    int p = cfg->maxmemory_policy, kind = KS_POLICY_OTHER;
    if (p == MAXMEMORY_VOLATILE_LRU || p == MAXMEMORY_ALLKEYS_LRU)
        kind = KS_POLICY_LRU;
    else if (p == MAXMEMORY_VOLATILE_LFU || p == MAXMEMORY_ALLKEYS_LFU)
        kind = KS_POLICY_LFU;
    if (kind != ks_policy(env->ks))
        ks_evict_pool_reset(); /* the candidates' scores meant something else */
    ks_set_policy(env->ks, kind, cfg->maxmemory != 0, cfg->lfu_log_factor, cfg->lfu_decay_time);
}
