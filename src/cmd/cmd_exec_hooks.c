/*
 * cmd_exec_hooks.c — the per-call hooks of the dispatcher (see cmd_hooks.h).
 *
 * Today: nothing is refused beyond the dispatcher's own checks and nothing is
 * propagated. MULTI, cluster routing and AOF/replication feed plug in here, so
 * cmd.c keeps one fixed order of checks.
 */
#include "cmd_hooks.h"

int cmd_precheck_hook(cmd_env_t *env, session_t *s, reply_t *r, const cmd_def_t *cmd, int argc)
{
    (void)env, (void)s, (void)r, (void)cmd, (void)argc;
    return 0;
}

void cmd_after_call_hook(cmd_env_t *env, session_t *s, const cmd_def_t *cmd, int argc,
                         const slice_t *argv, long long dirty)
{
    (void)env, (void)s, (void)cmd, (void)argc, (void)argv, (void)dirty;
}
