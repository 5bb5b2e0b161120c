/*
 * cmd_hooks.h — the points where the dispatcher (cmd.c) calls into features
 * that live in other files of the command room: error and slow-command
 * accounting, and the per-call hooks that later features extend (MULTI
 * queueing, cluster routing, propagation to AOF and replicas).
 */
#ifndef TESSERA_CMD_HOOKS_H
#define TESSERA_CMD_HOOKS_H

#include "cmd.h"

/* INFO errorstats: count one error reply with this code ("ERR", "WRONGTYPE"). */
void errorstats_count(const char *code);
/* SLOWLOG: record the call if it was slower than slowlog-log-slower-than. */
void slowlog_push(cmd_env_t *env, const session_t *s, int argc, const slice_t *argv,
                  uint64_t duration_us);

/*
 * Before a checked command runs: returns 0 to run it, -1 after writing an
 * error (refused), 1 after writing the reply itself (queued inside MULTI).
 */
int cmd_precheck_hook(cmd_env_t *env, session_t *s, reply_t *r, const cmd_def_t *cmd, int argc,
                      const slice_t *argv);
/* After a command ran and changed `dirty` keys. */
void cmd_after_call_hook(cmd_env_t *env, session_t *s, const cmd_def_t *cmd, int argc,
                         const slice_t *argv, long long dirty);

/* ks expired hook (arg = cmd_env_t *): propagate DEL for an expired key. */
void cmd_propagate_expired(void *arg, int db, slice_t key);

/* Transactions (cmd_multi.c). */
int multi_precheck(cmd_env_t *env, session_t *s, reply_t *r, const cmd_def_t *cmd, int argc,
                   const slice_t *argv);
void multi_session_release(cmd_env_t *env, session_t *s);
/* Queued command i (0-based) of a session in MULTI, for cluster routing of EXEC:
 * returns 1 and fills the outputs, 0 when i is past the queue (or no MULTI). */
int multi_queued_at(const session_t *s, int i, const cmd_def_t **cmd, int *argc,
                    const slice_t **argv);
/* ks touch hook (arg = cmd_env_t *): WATCH invalidation. */
void cmd_touch_key(void *arg, int db, slice_t key);
/* Pub/Sub (cmd_pubsub.c). */
int pubsub_precheck(session_t *s, reply_t *r, const cmd_def_t *cmd);
void pubsub_session_release(cmd_env_t *env, session_t *s);
/* Deliver a message to local subscribers (also used for messages from the bus). */
long long pubsub_publish(cmd_env_t *env, slice_t ch, slice_t msg, int shard);
/* Blocking commands (cmd_blocking.c): serve ready keys (before_sleep step 2),
 * time out blocked clients (cron), forget a closing session. */
void blocking_before_sleep(cmd_env_t *env);
void blocking_cron(cmd_env_t *env, uint64_t now_ms);
void blocking_session_release(cmd_env_t *env, session_t *s);
/* A key changed (called from the ks touch hook; key.p == NULL: the whole db):
 * mark it ready if clients wait on it. Only records. */
void blocking_key_touched(cmd_env_t *env, int db, slice_t key);
/* After a top-level command (not inside EXEC): serve the keys it made ready. */
void blocking_after_call(cmd_env_t *env);
/* CLIENT UNBLOCK client-id [TIMEOUT|ERROR] (a CLIENT subcommand row). */
void cmd_client_unblock(cmd_ctx_t *ctx);
extern cmd_def_t cmd_table_blocking[];
/* Maxmemory (cmd_evict.c): before a command runs, evict if used memory is
 * over maxmemory; returns 0 to run it, -1 after writing the OOM error. */
int evict_precheck(cmd_env_t *env, session_t *s, reply_t *r, const cmd_def_t *cmd);
/* Redis's eviction time proc: when the last run stopped on its time budget
 * (used memory still over maxmemory), run another; returns 1 while more runs
 * are needed (the loop should call again soon, without sleeping), else 0. */
int evict_continue(cmd_env_t *env);
/* Apply maxmemory-policy / lfu-* to the keyspace (start-up, CONFIG SET). */
void evict_apply_config(cmd_env_t *env);
/* INFO stats total_eviction_exceeded_time / current_eviction_exceeded_time
 * (ms), and their reset by CONFIG RESETSTAT (the current period restarts). */
void evict_exceeded_ms(uint64_t *total_ms, uint64_t *current_ms);
void evict_stats_reset(void);
/* INFO clients clients_in_timeout_table: blocked clients with a timeout. */
uint64_t blocking_clients_in_timeout_table(void);
/* Send a command to the AOF / replicas in db, wrapped in MULTI/EXEC when it
 * runs inside EXEC (what the after-call hook does for a command's argv). */
void cmd_propagate(cmd_env_t *env, int db, int argc, const slice_t *argv);
/* EXEC wraps what its commands propagate in MULTI ... EXEC. */
void propagate_begin_exec(cmd_env_t *env);
void propagate_end_exec(cmd_env_t *env);

#endif
