/*
 * cmd_persist.c — persistence commands: BGREWRITEAOF. (SAVE/BGSAVE/LASTSAVE
 * belong with RDB and are not here until RDB exists.)
 *
 * Must not: touch files or fork itself (src/persist/aof.h does), include
 * server headers; the AOF object comes from the persist.h registry.
 */
#include "../persist/persist.h"
#include "cmd.h"

/* BGREWRITEAOF — replies are Redis 7.0.15's. */
static void cmd_bgrewriteaof(cmd_ctx_t *ctx)
{
    aof_t *aof = persist_aof();
    int rc = aof ? aof_bgrewrite(aof, ctx->env->ks, ctx->env->now_ms,
                                        ctx->env->exec_depth > 0) : AOF_RW_FAILED;
    switch (rc) {
    case AOF_RW_STARTED:
        reply_status(ctx->r, "Background append only file rewriting started");
        break;
    case AOF_RW_SCHEDULED:
        reply_status(ctx->r, "Background append only file rewriting scheduled");
        break;
    case AOF_RW_IN_PROGRESS:
        reply_error(ctx->r, "ERR Background append only file rewriting already in progress");
        break;
    default:
        reply_error(ctx->r, "ERR Can't execute an AOF background rewriting. Please check the "
                            "server logs for more information.");
    }
}

cmd_def_t cmd_table_persist[] = {
    {.name = "bgrewriteaof", .proc = cmd_bgrewriteaof, .arity = 1,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_ASYNC_LOADING},
    {0},
};
