/*
 * cmd_debug.h — the protected-command gate (enable-debug-command), shared by
 * DEBUG itself and, if the dispatcher wants rejections counted as Redis
 * counts them (rejected_calls), by the dispatcher's pre-call checks.
 */
#ifndef TESSERA_CMD_DEBUG_H
#define TESSERA_CMD_DEBUG_H

#include "cmd.h"

/*
 * Returns 0 when cmd (or its container) is not CMD_PROTECTED, or when
 * enable-debug-command allows it for s ("yes", or "local" and s is a unix
 * socket or 127.0.0.1 / ::1 client). Otherwise writes Redis 7.0's error
 * ("ERR DEBUG command not allowed. If the enable-debug-command option is set
 * to \"local\", ...") to r and returns -1.
 */
int debug_protected_check(const cmd_env_t *env, const session_t *s, reply_t *r,
                          const cmd_def_t *cmd);

#endif
