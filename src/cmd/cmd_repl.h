/*
 * cmd_repl.h — what the replication commands (cmd_repl.c) give the rest of
 * the server: the dispatcher's replication checks, the session-release hook,
 * and the WAIT service the loop runs.
 *
 * Must not: include the libuv header or server headers (command room).
 */
#ifndef TESSERA_CMD_REPL_H
#define TESSERA_CMD_REPL_H

#include <stdint.h>

#include "cmd.h"

/*
 * Before a command runs (cmd_precheck_hook): -NOREPLICAS when
 * min-replicas-to-write is not met, -READONLY on a read-only replica,
 * -MASTERDOWN on a stale replica with replica-serve-stale-data no. Commands
 * from our master's link always pass. 0 to run, -1 after writing the error.
 */
int repl_precheck(cmd_env_t *env, session_t *s, reply_t *r, const cmd_def_t *cmd);
/* A session goes away: drop its WAIT and its replica / master-link role. */
void cmd_repl_session_release(cmd_env_t *env, session_t *s);
/* Answer WAIT clients whose replicas acknowledged or whose timeout passed
 * (before_sleep and cron). */
void cmd_repl_wait_serve(cmd_env_t *env, uint64_t now_ms);

#endif
