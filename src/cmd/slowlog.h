/*
 * slowlog.h — the slow log (SLOWLOG GET/LEN/RESET): the most recent commands
 * that ran longer than slowlog-log-slower-than microseconds, at most
 * slowlog-max-len of them, newest first.
 *
 * Owns: the entries and copies of their (shortened) arguments.
 * Must not: read clocks (the entry time is env->now_ms), or touch sockets
 * (the client's address comes through env->host->client_addr).
 */
#ifndef TESSERA_SLOWLOG_H
#define TESSERA_SLOWLOG_H

#include <stdint.h>

#include "cmd.h"

#define SLOWLOG_MAX_ARGC 32    /* arguments kept per entry (the last says how many more) */
#define SLOWLOG_MAX_ARGLEN 128 /* bytes kept per argument */

/*
 * Record a command that took duration_us, if the config says so: nothing
 * when slowlog-log-slower-than < 0 or slowlog-max-len is 0, or the command
 * was faster than the threshold. Trims the log to slowlog-max-len. The
 * dispatcher calls it after every command whose row lacks CMD_SKIP_SLOWLOG.
 */
void slowlog_push(cmd_env_t *env, const session_t *s, int argc, const slice_t *argv,
                  uint64_t duration_us);
uint64_t slowlog_len(void);
/* Drop every entry (ids keep counting up, as in Redis). */
void slowlog_reset(void);
/* SLOWLOG GET: the newest count entries (count < 0: all) as Redis replies them:
 * [id, unix time, duration us, [args...], "ip:port", client name]. */
void slowlog_reply(reply_t *r, long long count);

#endif
