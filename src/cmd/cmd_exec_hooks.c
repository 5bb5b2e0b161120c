/*
 * cmd_exec_hooks.c — the per-call hooks of the dispatcher (see cmd_hooks.h):
 * what may refuse a command before it runs, and what a write command becomes
 * in the AOF / replication stream after it ran.
 *
 * Propagation follows Redis 7.0: relative expiry becomes absolute so a replay
 * never extends a TTL (SET .. EX/PX/EXAT → SET .. PXAT ms; SETEX/PSETEX →
 * SET k v PXAT ms; EXPIRE/PEXPIRE/EXPIREAT → PEXPIREAT k ms, or DEL when the
 * key is gone; GETEX → PEXPIREAT/PERSIST; INCRBYFLOAT → SET k v KEEPTTL), and a
 * key removed by expiry is propagated as DEL. The rewrite reads the key's state
 * after the call, so it is exactly what the keyspace now holds.
 *
 * Must not: write replies here except when refusing; allocate per call.
 */
#include <string.h>

#include "../ks/db.h"
#include "../ks/kv.h"
#include "../lib/mem.h"
#include "../lib/util.h"
#include "cmd_cluster.h"
#include "../conf/config.h"
#include "../persist/persist.h"
#include "../persist/rdb_save.h"
#include "cmd_hooks.h"
#include "cmd_repl.h"

int cmd_precheck_hook(cmd_env_t *env, session_t *s, reply_t *r, const cmd_def_t *cmd, int argc,
                      const slice_t *argv)
{
    if (env->cluster != NULL && cluster_route(env, s, r, cmd, argc, argv) != 0)
        return -1;
    if (evict_precheck(env, s, r, cmd) != 0)
        return -1;
    if (repl_precheck(env, s, r, cmd) != 0)
        return -1;
    const char *misconf;
    if (((cmd->flags & CMD_WRITE) || strcmp(cmd->name, "ping") == 0) &&
        (persist_writes_refused(&misconf) ||
         rdb_writes_refused(env->cfg->stop_writes_on_bgsave_error, env->cfg->nsave, &misconf))) {
        reply_error(r, misconf);
        return -1;
    }
    if (pubsub_precheck(s, r, cmd) != 0)
        return -1;
    return multi_precheck(env, s, r, cmd, argc, argv);
}

typedef struct prop_s {
    slice_t argv[8];
    int argc;
    char num[32];
} prop_t;

/*
 * Inside EXEC, Redis 7.0 wraps the propagated commands in MULTI ... EXEC only
 * when there are at least two of them: the first one is held (copied) until a
 * second one arrives or EXEC ends.
 */
typedef struct held_s {
    int db;
    int argc;
    slice_t *argv; /* argv and bytes in one block */
} held_t;

static held_t held;

static void hold(int db, int argc, const slice_t *argv)
{
    held.argv = cmd_argv_copy(argc, argv);
    held.db = db;
    held.argc = argc;
}

static void release_held(cmd_env_t *env)
{
    if (held.argv == NULL)
        return;
    env->host->propagate(env->host->self, held.db, held.argc, held.argv);
    mem_free(held.argv);
    held.argv = NULL;
}

static void emit(cmd_env_t *env, int db, int argc, const slice_t *argv)
{
    if (env->exec_depth > 0 && !env->prop_multi) {
        if (held.argv == NULL) {
            hold(db, argc, argv);
            return;
        }
        slice_t multi = SLICE_LIT("MULTI");
        env->prop_multi = 1;
        env->host->propagate(env->host->self, held.db, 1, &multi);
        release_held(env);
    }
    env->host->propagate(env->host->self, db, argc, argv);
}

void propagate_begin_exec(cmd_env_t *env)
{
    env->exec_depth++;
}

void propagate_end_exec(cmd_env_t *env)
{
    if (--env->exec_depth > 0)
        return;
    if (env->prop_multi) {
        slice_t exec = SLICE_LIT("EXEC");
        env->prop_multi = 0;
        env->host->propagate(env->host->self, -1, 1, &exec);
    } else {
        release_held(env);
    }
}

/* The key's current expire as PEXPIREAT, or DEL if it no longer exists;
 * PERSIST when it has no TTL and persist_ok. */
static void emit_expire_state(cmd_env_t *env, int dbi, slice_t key, int persist_ok)
{
    prop_t p = {.argc = 3};
    long long when = db_get_expire(ks_db(env->ks, dbi), key);
    if (when == -2) {
        p.argv[0] = SLICE_LIT("DEL"), p.argv[1] = key, p.argc = 2;
    } else if (when == -1) {
        if (!persist_ok)
            return;
        p.argv[0] = SLICE_LIT("PERSIST"), p.argv[1] = key, p.argc = 2;
    } else {
        p.argv[0] = SLICE_LIT("PEXPIREAT"), p.argv[1] = key;
        p.argv[2] = slice_make(p.num, ll_to_str(p.num, when));
    }
    emit(env, dbi, p.argc, p.argv);
}

/* SET k v [opts]: replace EX/PX/EXAT/PXAT n by PXAT <abs ms>. */
static int prop_set(cmd_env_t *env, int dbi, int argc, const slice_t *argv)
{
    slice_t out[16];
    char num[32];
    int n = 0;
    if (argc > 16)
        return 0;
    for (int i = 0; i < argc; i++) {
        const slice_t a = argv[i];
        int ttl = i >= 3 && (slice_eq_ci(a, "ex") || slice_eq_ci(a, "px") ||
                             slice_eq_ci(a, "exat") || slice_eq_ci(a, "pxat"));
        if (ttl && i + 1 < argc) {
            long long when = db_get_expire(ks_db(env->ks, dbi), argv[1]);
            if (when < 0)
                return 0;
            out[n++] = SLICE_LIT("PXAT");
            out[n++] = slice_make(num, ll_to_str(num, when));
            i++;
        } else {
            out[n++] = a;
        }
    }
    emit(env, dbi, n, out);
    return 1;
}

/* SETEX/PSETEX k t v → SET k v PXAT <abs ms>. */
static int prop_setex(cmd_env_t *env, int dbi, int argc, const slice_t *argv)
{
    long long when = db_get_expire(ks_db(env->ks, dbi), argv[1]);
    if (argc != 4 || when < 0)
        return 0;
    prop_t p = {.argc = 5};
    p.argv[0] = SLICE_LIT("SET"), p.argv[1] = argv[1], p.argv[2] = argv[3];
    p.argv[3] = SLICE_LIT("PXAT"), p.argv[4] = slice_make(p.num, ll_to_str(p.num, when));
    emit(env, dbi, p.argc, p.argv);
    return 1;
}

static int prop_expire(cmd_env_t *env, int dbi, int argc, const slice_t *argv)
{
    (void)argc;
    emit_expire_state(env, dbi, argv[1], 0);
    return 1;
}

static int prop_getex(cmd_env_t *env, int dbi, int argc, const slice_t *argv)
{
    (void)argc;
    emit_expire_state(env, dbi, argv[1], 1);
    return 1;
}

/* INCRBYFLOAT k n → SET k <new value> KEEPTTL. */
static int prop_incrbyfloat(cmd_env_t *env, int dbi, int argc, const slice_t *argv)
{
    (void)argc;
    kv_t *kv = db_find(ks_db(env->ks, dbi), argv[1]);
    if (kv == NULL)
        return 0;
    char tmp[32];
    slice_t out[4] = {SLICE_LIT("SET"), argv[1], kv_str(kv, tmp), SLICE_LIT("KEEPTTL")};
    emit(env, dbi, 4, out);
    return 1;
}

typedef struct prop_rule_s {
    const char *name;
    int (*fn)(cmd_env_t *env, int dbi, int argc, const slice_t *argv);
} prop_rule_t;

static const prop_rule_t prop_rules[] = {
    {"set", prop_set},       {"setex", prop_setex},         {"psetex", prop_setex},
    {"expire", prop_expire}, {"pexpire", prop_expire},      {"expireat", prop_expire},
    {"pexpireat", prop_expire}, {"getex", prop_getex},      {"incrbyfloat", prop_incrbyfloat},
};

static void propagate_call(cmd_env_t *env, session_t *s, const cmd_def_t *cmd, int argc,
                           const slice_t *argv, long long dirty)
{
    if (dirty <= 0 || env->host == NULL || env->host->propagate == NULL ||
        (cmd->flags & CMD_NO_PROPAGATE_ARGV))
        return;
    const char *name = cmd->parent ? cmd->parent->name : cmd->name;
    for (size_t i = 0; i < sizeof(prop_rules) / sizeof(prop_rules[0]); i++)
        if (strcmp(prop_rules[i].name, name) == 0 && prop_rules[i].fn(env, s->db, argc, argv))
            return;
    emit(env, s->db, argc, argv);
}

/* Propagate the call, then serve clients blocked on keys it made ready. */
void cmd_after_call_hook(cmd_env_t *env, session_t *s, const cmd_def_t *cmd, int argc,
                         const slice_t *argv, long long dirty)
{
    propagate_call(env, s, cmd, argc, argv, dirty);
    blocking_after_call(env);
}

void cmd_propagate(cmd_env_t *env, int db, int argc, const slice_t *argv)
{
    if (env->host != NULL && env->host->propagate != NULL)
        emit(env, db, argc, argv);
}

/* The keyspace expired a key (lazily or actively): replicas and the AOF get a DEL. */
void cmd_propagate_expired(void *arg, int db, slice_t key)
{
    cmd_env_t *env = arg;
    if (env->host == NULL || env->host->propagate == NULL)
        return;
    slice_t out[2] = {SLICE_LIT("DEL"), key};
    emit(env, db, 2, out);
}
