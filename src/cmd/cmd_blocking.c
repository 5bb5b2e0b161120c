/*
 * cmd_blocking.c — clients blocked on keys (BLPOP and friends, BZPOPMIN ...):
 * the registry, serving them when keys become ready, timeouts.
 *
 * The loop calls blocking_before_sleep() in before_sleep step 2 and
 * blocking_cron() from cron; a served client is resumed through
 * env->host->resume so its pipelined input runs.
 */
#include "cmd_hooks.h"

void blocking_before_sleep(cmd_env_t *env) { (void)env; }

void blocking_cron(cmd_env_t *env, uint64_t now_ms)
{
    (void)env;
    (void)now_ms;
}

void blocking_session_release(cmd_env_t *env, session_t *s)
{
    (void)env;
    (void)s;
}
