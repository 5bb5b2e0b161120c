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
/* EXEC wraps what its commands propagate in MULTI ... EXEC. */
void propagate_begin_exec(cmd_env_t *env);
void propagate_end_exec(cmd_env_t *env);

#endif
