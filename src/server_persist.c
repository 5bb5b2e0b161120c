/*
 * server_persist.c — glue between the loop and persistence (AOF now; RDB and
 * replication feed later): start-up loading, the AOF step of before_sleep,
 * the persistence part of cron, shutdown flushing, and the propagation feed
 * of executed write commands.
 *
 * Loading is incremental: server_persist_init() reads the manifest (refusing
 * to start on a bad one before anything listens), then a uv_idle handle runs
 * the commands in slices of LOAD_SLICE_US while env->loading makes every
 * client get -LOADING. Commands are run with a private session through the
 * command table's handlers directly (like Redis's fake client): no stats,
 * slowlog, MONITOR feed or propagation; nothing expires while loading.
 *
 * Must not: parse or encode file formats itself (src/persist/ does); block the
 * loop on fsync except where appendfsync always demands it.
 * State: one server per process, so the loader's handle and session live in a
 * file-level struct (glue); srv->aof always exists after init (state OFF
 * when appendonly no) and is registered in persist.h for the command room.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ks/db.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/util.h"
#include "persist/persist.h"
#include "persist/rdb_save.h"
#include "server.h"

#define LOAD_SLICE_US 10000 /* work per idle callback while loading */
#define LOAD_BATCH 256      /* commands between clock reads */

static struct {
    server_t *srv;
    uv_idle_t idle;
    int idle_on;
    aof_load_t *ld;
    session_t sess;
    reply_t *reply;
    int expire_mode;
    uint64_t dirty_before;
} glue;

static void conf_from_cfg(const config_t *c, aof_conf_t *a)
{
    *a = (aof_conf_t){
        .appendonly = c->appendonly,
        .appendfilename = c->appendfilename,
        .appenddirname = c->appenddirname,
        .appendfsync = c->appendfsync == APPENDFSYNC_ALWAYS     ? AOF_FSYNC_ALWAYS
                       : c->appendfsync == APPENDFSYNC_EVERYSEC ? AOF_FSYNC_EVERYSEC
                                                                : AOF_FSYNC_NO,
        .no_appendfsync_on_rewrite = c->no_appendfsync_on_rewrite,
        .auto_rewrite_perc = c->auto_aof_rewrite_percentage,
        .auto_rewrite_min_size = c->auto_aof_rewrite_min_size,
        .load_truncated = c->aof_load_truncated,
        .use_rdb_preamble = c->aof_use_rdb_preamble,
        .rdb_compression = c->rdbcompression,
        .rdb_checksum = c->rdbchecksum,
        .rewrite_incremental_fsync = c->aof_rewrite_incremental_fsync,
        .timestamp_enabled = c->aof_timestamp_enabled,
    };
}

/* ---- loading -------------------------------------------------------------- */

static int arity_ok(const cmd_def_t *cmd, int argc)
{
    return cmd->arity > 0 ? argc == cmd->arity : argc >= -cmd->arity;
}

/* aof_exec_fn: run one command of the AOF with the loader's session. */
static int load_exec(void *arg, int argc, slice_t *argv, char *err, size_t errcap)
{
    server_t *srv = arg;
    const cmd_def_t *cmd = cmd_lookup(argv[0]);
    int nl = (int)(argv[0].len > 128 ? 128 : argv[0].len);
    if (cmd == NULL) {
        snprintf(err, errcap, "Unknown command '%.*s'", nl, argv[0].p);
        return -1;
    }
    if (cmd->subs != NULL && argc >= 2) {
        const cmd_def_t *sub = cmd_lookup_sub(cmd, argv[1]);
        if (sub == NULL) {
            snprintf(err, errcap, "Unknown subcommand '%.*s' of '%.*s'",
                     (int)(argv[1].len > 128 ? 128 : argv[1].len), argv[1].p, nl, argv[0].p);
            return -1;
        }
        cmd = sub;
    }
    if (!arity_ok(cmd, argc)) {
        snprintf(err, errcap, "Bad arguments for command '%.*s'", nl, argv[0].p);
        return -1;
    }
    cmd_ctx_t ctx = {.env = &srv->env, .s = &glue.sess, .r = glue.reply, .cmd = cmd,
                     .argc = argc, .argv = argv};
    cmd->proc(&ctx);
    reply_clear(glue.reply);
    return 0;
}

/* aof_rdb_fn: an RDB base (or preamble) goes straight into the keyspace. */
static int load_rdb(void *arg, const void *p, size_t len, size_t *used, char *err, size_t errcap)
{
    server_t *srv = arg;
    return rdb_load_preamble(srv->ks, p, len, srv->env.now_ms, srv->cfg.list_max_listpack_size,
                             used, err, errcap);
}

static void load_finish(server_t *srv, int ok)
{
    if (glue.idle_on) {
        uv_idle_stop(&glue.idle);
        uv_close((uv_handle_t *)&glue.idle, NULL);
        glue.idle_on = 0;
    }
    persist_set_loading(NULL, 0);
    aof_load_end(glue.ld, ok);
    glue.ld = NULL;
    session_release(&srv->env, &glue.sess);
    reply_deinit(glue.reply);
    mem_free(glue.reply);
    glue.reply = NULL;
    if (!ok) {
        log_warning("Fatal error loading the DB, check server logs. Exiting.");
        exit(1);
    }
    if (aof_open_on_start(srv->aof, time_ms()) != 0) {
        log_warning("Can't open the append-only file after loading. Exiting.");
        exit(1);
    }
    ks_set_expire_mode(srv->ks, glue.expire_mode);
    srv->stats.dirty = glue.dirty_before;
    srv->env.loading = 0;
}

/* One slice of loading; 1 while more remains. */
static int load_slice(server_t *srv)
{
    uint64_t t0 = time_mono_us();
    srv->env.now_ms = time_ms();
    srv->env.now_us = time_us();
    for (;;) {
        int rc = aof_load_step(glue.ld, LOAD_BATCH, load_exec, srv);
        if (rc != AOF_LOAD_MORE) {
            load_finish(srv, rc == AOF_LOAD_DONE);
            return 0;
        }
        if (time_mono_us() - t0 >= LOAD_SLICE_US)
            return 1;
    }
}

static void load_on_idle(uv_idle_t *h)
{
    load_slice(h->data);
}

/* ---- the glue points -------------------------------------------------------- */

int server_persist_init(server_t *srv)
{
    /* A file size limit (RLIMIT_FSIZE) must be a write error, not a kill. */
    signal(SIGXFSZ, SIG_IGN);
    glue.srv = srv;
    aof_conf_t conf;
    conf_from_cfg(&srv->cfg, &conf);
    char cwd[4096];
    srv->aof = aof_new(&conf, getcwd(cwd, sizeof(cwd)) ? cwd : ".");
    persist_register(srv->aof);
    if (!srv->cfg.appendonly) {
        if (aof_load_manifest(srv->aof) >= 0)
            return 0;
        log_warning("Fatal error loading the DB, check server logs. Exiting.");
        return -1;
    }
    glue.ld = aof_load_begin(srv->aof, time_mono_us, load_rdb, srv);
    if (glue.ld == NULL) {
        log_warning("Fatal error loading the DB, check server logs. Exiting.");
        return -1;
    }
    glue.reply = mem_alloc(sizeof(reply_t));
    reply_init(glue.reply, 2);
    memset(&glue.sess, 0, sizeof(glue.sess));
    glue.sess.authenticated = 1;
    glue.sess.resp = 2;
    glue.sess.r = glue.reply;
    glue.expire_mode = ks_expire_mode(srv->ks);
    glue.dirty_before = srv->stats.dirty;
    ks_set_expire_mode(srv->ks, KS_EXPIRE_NEVER);
    srv->env.loading = 1;
    persist_set_loading(glue.ld, time_ms());
    /* Small files load before listening; big ones continue from the loop. */
    if (!load_slice(srv))
        return 0;
    uv_idle_init(srv->loop, &glue.idle);
    glue.idle.data = srv;
    uv_idle_start(&glue.idle, load_on_idle);
    glue.idle_on = 1;
    return 0;
}

/* before_sleep step 3: write the AOF buffer, fsync when appendfsync always. */
void server_persist_before_sleep(server_t *srv)
{
    if (srv->aof != NULL)
        aof_flush(srv->aof, 0, time_ms());
}

/* cron: config changes, everysec fsync scheduling, rewrite triggers, child reaping. */
void server_persist_cron(server_t *srv, uint64_t now_ms)
{
    aof_t *aof = srv->aof;
    if (aof == NULL || srv->env.loading)
        return;
    aof_conf_t conf;
    conf_from_cfg(&srv->cfg, &conf);
    aof_set_conf(aof, &conf);
    if (srv->cfg.appendonly && aof_state(aof) == AOF_OFF) {
        if (aof_enable(aof, srv->ks, now_ms) != 0)
            srv->cfg.appendonly = 0; /* as Redis: CONFIG SET appendonly yes failed */
    } else if (!srv->cfg.appendonly && aof_state(aof) != AOF_OFF) {
        aof_disable(aof);
    }
    aof_cron(aof, srv->ks, now_ms);
}

/* CONFIG SET appendonly: start (first rewrite) or stop the AOF now, as Redis
 * does inside CONFIG SET. 0, or -1 with Redis's reason in *why. */
int server_persist_set_appendonly(server_t *srv, const char **why)
{
    aof_t *aof = srv->aof;
    if (aof == NULL || srv->env.loading)
        return 0; /* cron applies it once loading is over */
    if (srv->cfg.appendonly && aof_state(aof) == AOF_OFF) {
        aof_conf_t conf;
        conf_from_cfg(&srv->cfg, &conf);
        aof_set_conf(aof, &conf);
        if (aof_enable(aof, srv->ks, time_ms()) != 0) {
            *why = "Unable to turn on AOF. Check server logs.";
            return -1;
        }
    } else if (!srv->cfg.appendonly && aof_state(aof) != AOF_OFF) {
        aof_disable(aof);
    }
    return 0;
}

/* Shutdown: flush and fsync what is buffered. Returns 0 or -1 (refuse). */
int server_persist_shutdown(server_t *srv, int flags)
{
    if (srv->aof == NULL || srv->env.loading)
        return 0;
    return aof_shutdown(srv->aof, (flags & SHUTDOWN_FORCE) != 0, time_ms());
}

/* A write command ran in db: feed it to the AOF (and later the replicas). */
void server_propagate(server_t *srv, int db, int argc, const slice_t *argv)
{
    if (srv->aof != NULL && !srv->env.loading)
        aof_feed(srv->aof, db, argc, argv, srv->env.now_ms);
    repl_feed(srv, db, argc, argv);
}

/* ---- entry points for the dispatcher and INFO (persist.h) -------------------- */

int persist_write_refused(const server_t *srv, const char **msg)
{
    return srv->aof != NULL && aof_write_refused(srv->aof, msg);
}

size_t persist_info(const server_t *srv, char *buf, size_t cap)
{
    if (srv->aof == NULL) {
        if (cap > 0)
            buf[0] = '\0';
        return 0;
    }
    return aof_info(srv->aof, srv->env.now_ms ? srv->env.now_ms : time_ms(), buf, cap);
}
