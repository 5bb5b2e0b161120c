/*
 * server_rdb.c — glue between the loop and RDB snapshots: loading dbfilename
 * at start, the RDB part of cron (reaping the BGSAVE child, save points,
 * scheduled BGSAVEs) and the snapshot at shutdown.
 *
 * Must not: encode or decode RDB itself (src/persist/rdb*.c do), block the loop
 * except for the shutdown save (as Redis), or reap children it did not fork.
 * Called from server.c at fixed points:
 *   server_init:            server_rdb_load(srv) after server_persist_init()
 *   server_on_cron:         server_rdb_cron(srv, now)
 *   server_finish_shutdown: server_rdb_shutdown(srv, flags) (refuses on error)
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd_save.h"
#include "cmd/cmd_types.h"
#include "ks/db.h"
#include "lib/log.h"
#include "lib/util.h"
#include "persist/persist.h"
#include "persist/rdb_save.h"
#include "server.h"

#define BGSAVE_RETRY_DELAY_S 5 /* Redis's CONFIG_BGSAVE_RETRY_DELAY */

/* Start-up: Redis loads the AOF instead when appendonly is yes. */
int server_rdb_load(server_t *srv)
{
    rdb_status_t *st = rdb_status();
    st->lastsave_s = (long long)srv->stats.lastsave_s;
    if (srv->cfg.appendonly)
        return 0;
    uint64_t now = time_ms();
    rdb_load_stats_t ls;
    int rc = rdb_load_file(srv->ks, srv->cfg.dbfilename, now, !srv->env.is_replica,
                           srv->cfg.list_max_listpack_size, &ls);
    if (rc < 0)
        return -1;
    if (rc == 1 && ls.repl_id[0] != '\0' && ls.repl_offset >= 0 && ls.repl_stream_db >= 0)
        server_repl_restore(srv, ls.repl_id, ls.repl_offset, ls.repl_stream_db);
    /* Loading is not a change to save again. */
    srv->stats.dirty = 0;
    return 0;
}

static int other_child_active(const server_t *srv)
{
    return srv->aof != NULL && aof_rewrite_in_progress(srv->aof);
}

static void start_bgsave(server_t *srv, uint64_t now_ms)
{
    rdb_file_opts_t o;
    save_file_opts(&srv->env, now_ms, &o);
    rdb_bgsave_start(srv->ks, srv->cfg.dbfilename, &o, srv->stats.dirty);
}

/* A save point is due (Redis's serverCron rule). */
static const save_param_t *due_save_point(const server_t *srv, long long now_s)
{
    const rdb_status_t *st = rdb_status();
    int retry_ok = now_s - st->last_bgsave_try_s > BGSAVE_RETRY_DELAY_S || st->last_bgsave_ok;
    for (int i = 0; i < srv->cfg.nsave; i++) {
        const save_param_t *sp = &srv->cfg.save[i];
        if ((long long)srv->stats.dirty >= sp->changes && now_s - st->lastsave_s > sp->seconds &&
            retry_ok)
            return sp;
    }
    return NULL;
}

void server_rdb_cron(server_t *srv, uint64_t now_ms)
{
    uint64_t dirty_then;
    if (rdb_bgsave_poll(now_ms, &dirty_then) == 1) {
        srv->stats.dirty = srv->stats.dirty > dirty_then ? srv->stats.dirty - dirty_then : 0;
        srv->stats.lastsave_s = (uint64_t)rdb_status()->lastsave_s;
    }
    if (srv->env.loading || rdb_bgsave_in_progress() || other_child_active(srv))
        return;
    long long now_s = (long long)(now_ms / 1000);
    const save_param_t *sp = due_save_point(srv, now_s);
    if (sp != NULL) {
        log_notice("%lld changes in %lld seconds. Saving...", sp->changes, sp->seconds);
        start_bgsave(srv, now_ms);
        return;
    }
    rdb_status_t *st = rdb_status();
    if (st->scheduled &&
        (now_s - st->last_bgsave_try_s > BGSAVE_RETRY_DELAY_S || st->last_bgsave_ok))
        start_bgsave(srv, now_ms);
}

int server_rdb_shutdown(server_t *srv, int flags)
{
    if (rdb_bgsave_in_progress()) {
        log_warning("There is a child saving an .rdb. Killing it!");
        rdb_bgsave_kill();
    }
    if (srv->env.loading ||
        !((srv->cfg.nsave > 0 && !(flags & SHUTDOWN_NOSAVE)) || (flags & SHUTDOWN_SAVE)))
        return 0;
    log_notice("Saving the final RDB snapshot before exiting.");
    uint64_t now = time_ms();
    rdb_file_opts_t o;
    save_file_opts(&srv->env, now, &o);
    if (rdb_save_now(srv->ks, srv->cfg.dbfilename, &o) != 0) {
        if (flags & SHUTDOWN_FORCE) {
            log_warning("Error trying to save the DB. Exit anyway.");
            return 0;
        }
        log_warning("Error trying to save the DB, can't exit.");
        return -1;
    }
    srv->stats.dirty = 0;
    srv->stats.lastsave_s = now / 1000;
    return 0;
}
