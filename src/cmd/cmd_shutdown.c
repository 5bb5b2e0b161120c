/*
 * cmd_shutdown.c — SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT].
 *
 * The loop room does the work (flush persistence, remove the pidfile, stop):
 * this file parses the options with Redis 7.0's rules and asks the host.
 * On success nothing is replied: the connection closes as the process exits.
 */
#include "cmd.h"

static int parse_shutdown_flags(cmd_ctx_t *ctx, int *flags, int *abort)
{
    *flags = SHUTDOWN_NOFLAGS;
    *abort = 0;
    for (int i = 1; i < ctx->argc; i++) {
        slice_t a = ctx->argv[i];
        if (slice_eq_ci(a, "nosave"))
            *flags |= SHUTDOWN_NOSAVE;
        else if (slice_eq_ci(a, "save"))
            *flags |= SHUTDOWN_SAVE;
        else if (slice_eq_ci(a, "now"))
            *flags |= SHUTDOWN_NOW;
        else if (slice_eq_ci(a, "force"))
            *flags |= SHUTDOWN_FORCE;
        else if (slice_eq_ci(a, "abort"))
            *abort = 1;
        else
            return -1;
    }
    if ((*abort && *flags != SHUTDOWN_NOFLAGS) ||
        ((*flags & SHUTDOWN_NOSAVE) && (*flags & SHUTDOWN_SAVE)))
        return -1;
    return 0;
}

static void cmd_shutdown(cmd_ctx_t *ctx)
{
    int flags, abort;
    if (parse_shutdown_flags(ctx, &flags, &abort) != 0) {
        reply_syntax_error(ctx->r);
        return;
    }
    if (abort) {
        /* Not supported: a shutdown waiting for lagging replicas (server.c,
         * up to 10 s) cannot be cancelled, cmd_host_t has no hook for it. */
        reply_error(ctx->r, "ERR No shutdown in progress.");
        return;
    }
    const char *msg = NULL;
    const cmd_host_t *h = ctx->env->host;
    if (h == NULL || h->shutdown(h->self, flags, &msg) != 0)
        reply_error(ctx->r, msg ? msg : "ERR Errors trying to SHUTDOWN. Check logs.");
}

cmd_def_t cmd_table_shutdown[] = {
    {.name = "shutdown",
     .proc = cmd_shutdown,
     .arity = -1,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NO_MULTI | CMD_ALLOW_BUSY},
    {0},
};
