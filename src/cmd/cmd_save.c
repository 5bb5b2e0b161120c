/*
 * cmd_save.c — SAVE and BGSAVE [SCHEDULE], with Redis 7.0.15's replies, and
 * the snapshot helpers of cmd_save.h (FLUSHALL, DEBUG RELOAD, the loop glue).
 *
 * Must not: fork, open files or encode RDB here (persist/rdb_save.h does);
 * include server headers. The change counter (stats->dirty) and LASTSAVE's
 * time (stats->lastsave_s) are kept in step with the snapshot state here.
 */
#include "cmd_save.h"

#include "../conf/config.h"
#include "../ks/db.h"
#include "../ks/ks.h"
#include "../persist/persist.h"
#include "../repl/repl.h"

void save_file_opts(const cmd_env_t *env, uint64_t now_ms, rdb_file_opts_t *o)
{
    *o = (rdb_file_opts_t){.compress = env->cfg->rdbcompression,
                           .checksum = env->cfg->rdbchecksum,
                           .incremental_fsync = env->cfg->rdb_save_incremental_fsync,
                           .policy = ks_policy(env->ks),
                           .now_ms = now_ms};
    repl_t *r = repl_get(); /* the replication history, so PSYNC survives a restart */
    if (r != NULL)
        repl_save_info(r, &o->repl_id, &o->repl_offset, &o->repl_stream_db);
}

int save_other_child_active(void)
{
    aof_t *aof = persist_aof();
    return aof != NULL && aof_rewrite_in_progress(aof);
}

/* A foreground save with the configured options; updates dirty/lastsave. */
static int save_foreground(cmd_env_t *env)
{
    rdb_file_opts_t o;
    save_file_opts(env, env->now_ms, &o);
    if (rdb_save_now(env->ks, env->cfg->dbfilename, &o) != 0)
        return -1;
    env->stats->dirty = 0;
    env->stats->lastsave_s = (uint64_t)rdb_status()->lastsave_s;
    return 0;
}

static void cmd_save(cmd_ctx_t *ctx)
{
    if (rdb_bgsave_in_progress()) {
        reply_error(ctx->r, "ERR Background save already in progress");
        return;
    }
    if (save_foreground(ctx->env) == 0)
        reply_status(ctx->r, "OK");
    else
        reply_error(ctx->r, "ERR");
}

static void cmd_bgsave(cmd_ctx_t *ctx)
{
    int schedule = 0;
    if (ctx->argc > 1) {
        if (ctx->argc != 2 || !slice_eq_ci(ctx->argv[1], "schedule")) {
            reply_syntax_error(ctx->r);
            return;
        }
        schedule = 1;
    }
    if (rdb_bgsave_in_progress()) {
        reply_error(ctx->r, "ERR Background save already in progress");
    } else if (save_other_child_active() || ctx->env->exec_depth > 0) {
        if (schedule || ctx->env->exec_depth > 0) {
            rdb_status()->scheduled = 1;
            reply_status(ctx->r, "Background saving scheduled");
        } else {
            reply_error(ctx->r, "ERR Another child process is active (AOF?): can't BGSAVE right "
                                "now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever "
                                "possible.");
        }
    } else {
        rdb_file_opts_t o;
        save_file_opts(ctx->env, ctx->env->now_ms, &o);
        if (rdb_bgsave_start(ctx->env->ks, ctx->env->cfg->dbfilename, &o, ctx->env->stats->dirty) ==
            RDB_BG_STARTED)
            reply_status(ctx->r, "Background saving started");
        else
            reply_error(ctx->r, "ERR");
    }
}

void save_after_flushall(cmd_env_t *env)
{
    rdb_bgsave_kill();
    if (env->cfg->nsave > 0) {
        uint64_t dirty = env->stats->dirty; /* FLUSHALL itself still counts as a change */
        save_foreground(env);
        env->stats->dirty = dirty;
    }
}

int save_debug_reload(cmd_env_t *env, const char **err)
{
    if (save_foreground(env) != 0) {
        *err = "Error trying to save the DB";
        return -1;
    }
    ks_flushall(env->ks);
    rdb_load_stats_t st;
    int rc = rdb_load_file(env->ks, env->cfg->dbfilename, env->now_ms, !env->is_replica,
                           env->cfg->list_max_listpack_size, &st);
    if (rc != 1) {
        *err = "Error trying to load the RDB dump, check server logs.";
        return -1;
    }
    return 0;
}

cmd_def_t cmd_table_save[] = {
    {.name = "save",
     .proc = cmd_save,
     .arity = 1,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_ASYNC_LOADING | CMD_NO_MULTI},
    {.name = "bgsave",
     .proc = cmd_bgsave,
     .arity = -1,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_ASYNC_LOADING},
    {0},
};
