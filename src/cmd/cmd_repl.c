/*
 * cmd_repl.c — the replication commands: REPLICAOF / SLAVEOF, REPLCONF,
 * PSYNC, SYNC, WAIT, ROLE; the dispatcher's replication checks (-READONLY,
 * -NOREPLICAS, -MASTERDOWN); the WAIT registry.
 *
 * Owns: argument parsing and Redis 7.0's replies and error texts (checked
 * against redis-server 7.0.15), the SESS_REPLICA flag of replicas, the list
 * of clients blocked in WAIT.
 * Must not: touch sockets (bytes for replicas go through the replication
 * core, src/repl/repl.h, and its loop-room hooks); keep a session pointer
 * past cmd_repl_session_release.
 * Invariants: a session is in `waiters` iff it is blocked in WAIT (it then
 * has SESS_BLOCKED and counts in stats->blocked_clients).
 */
#include "cmd_repl.h"

#include <stdio.h>
#include <string.h>

#include "../conf/config.h"
#include "../lib/log.h"
#include "../lib/mem.h"
#include "../lib/util.h"
#include "../repl/repl.h"

typedef struct waiter_s {
    struct waiter_s *next;
    session_t *s;
    long long target;     /* replication offset to be acknowledged */
    long long num;        /* replicas wanted */
    uint64_t deadline_ms; /* 0: no timeout */
} waiter_t;

static waiter_t *waiters;

/* The peer IP of a session ("ip:port" → "ip"). */
static void peer_ip(const cmd_env_t *env, const session_t *s, char *buf, size_t cap)
{
    const char *a =
        env->host && env->host->client_addr ? env->host->client_addr(env->host->self, s) : NULL;
    snprintf(buf, cap, "%s", a ? a : "?");
    char *colon = strrchr(buf, ':');
    if (colon != NULL && colon != buf)
        *colon = '\0';
}

/* The CLIENT LIST line of s, for "... (user request from '...')" logs. */
static const char *client_desc(const cmd_env_t *env, const session_t *s, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (env->host != NULL && env->host->client_line != NULL)
        env->host->client_line(env->host->self, s, buf, cap);
    return buf;
}

static void set_cfg_master(cmd_env_t *env, const char *host, int port)
{
    mem_free(env->cfg->replicaof_host);
    env->cfg->replicaof_host = host ? mem_strdup(host) : NULL;
    env->cfg->replicaof_port = port;
}

/* ---- WAIT registry ------------------------------------------------------------------------ */

static void unblock(cmd_env_t *env, waiter_t *w)
{
    w->s->flags &= ~SESS_BLOCKED;
    if (env->stats->blocked_clients > 0)
        env->stats->blocked_clients--;
    if (env->host != NULL && env->host->resume != NULL)
        env->host->resume(env->host->self, w->s);
    mem_free(w);
}

void cmd_repl_wait_serve(cmd_env_t *env, uint64_t now_ms)
{
    repl_t *r = repl_get();
    waiter_t *ready = NULL, **pp = &waiters;
    while (*pp != NULL) {
        waiter_t *w = *pp;
        int acked = r ? repl_count_acked(r, w->target) : 0;
        if (acked >= w->num || (w->deadline_ms && now_ms >= w->deadline_ms)) {
            *pp = w->next;
            reply_int(w->s->r, acked);
            w->next = ready;
            ready = w;
        } else {
            pp = &w->next;
        }
    }
    /* resume after the list is consistent: a resumed client may WAIT again */
    while (ready != NULL) {
        waiter_t *w = ready;
        ready = w->next;
        unblock(env, w);
    }
}

/* REPLICAOF while clients wait: they get Redis's UNBLOCKED error. */
static void unblock_all_waiters(cmd_env_t *env)
{
    while (waiters != NULL) {
        waiter_t *w = waiters;
        waiters = w->next;
        reply_error(w->s->r, "UNBLOCKED force unblock from blocking operation, instance state "
                             "changed (master -> replica?)");
        unblock(env, w);
    }
}

void cmd_repl_session_release(cmd_env_t *env, session_t *s)
{
    for (waiter_t **pp = &waiters; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->s == s) {
            waiter_t *w = *pp;
            *pp = w->next;
            if (env->stats->blocked_clients > 0)
                env->stats->blocked_clients--;
            mem_free(w);
            break;
        }
    }
    repl_t *r = repl_get();
    if (r != NULL)
        repl_forget(r, s, env->now_ms);
}

/* WAIT numreplicas timeout */
static void cmd_wait(cmd_ctx_t *ctx)
{
    repl_t *r = repl_get();
    long long timeout, num;
    if (r != NULL && repl_master_host(r) != NULL) {
        reply_error(ctx->r, "ERR WAIT cannot be used with replica instances. Please also note that "
                            "since Redis 4.0 if a replica is configured to be writable (which is "
                            "not the default) writes to replicas are just local and are not "
                            "propagated.");
        return;
    }
    if (arg_ll_msg(ctx, ctx->argv[2], &timeout, "ERR timeout is not an integer or out of range"))
        return;
    if (timeout < 0) {
        reply_error(ctx->r, "ERR timeout is negative");
        return;
    }
    if (arg_ll(ctx, ctx->argv[1], &num))
        return;
    long long target = r ? repl_wait_offset(r) : 0;
    int acked = r ? repl_count_acked(r, target) : 0;
    if (acked >= num || ctx->env->exec_depth > 0 || (ctx->s->flags & SESS_MULTI)) {
        reply_int(ctx->r, acked);
        return;
    }
    waiter_t *w = mem_calloc(sizeof(*w));
    w->s = ctx->s;
    w->target = target;
    w->num = num;
    w->deadline_ms = timeout ? ctx->env->now_ms + (uint64_t)timeout : 0;
    w->next = waiters;
    waiters = w;
    ctx->s->flags |= SESS_BLOCKED;
    ctx->env->stats->blocked_clients++;
    repl_request_acks(r);
}

/* ---- REPLICAOF / SLAVEOF ----------------------------------------------------------------------
 */

static void cmd_replicaof(cmd_ctx_t *ctx)
{
    cmd_env_t *env = ctx->env;
    repl_t *r = repl_get();
    char desc[1024];
    if (env->cluster_mode) {
        reply_error(ctx->r, "ERR REPLICAOF not allowed in cluster mode.");
        return;
    }
    if (slice_eq_ci(ctx->argv[1], "no") && slice_eq_ci(ctx->argv[2], "one")) {
        if (r != NULL && repl_master_host(r) != NULL) {
            repl_set_master_none(r, env->now_ms);
            set_cfg_master(env, NULL, 0);
            log_notice("MASTER MODE enabled (user request from '%s')",
                       client_desc(env, ctx->s, desc, sizeof(desc)));
        }
        reply_ok(ctx->r);
        return;
    }
    if (ctx->s->flags & SESS_REPLICA) {
        reply_error(ctx->r, "ERR Command is not valid when client is a replica.");
        return;
    }
    long long port;
    if (arg_ll_msg(ctx, ctx->argv[2], &port, "ERR Invalid master port"))
        return;
    if (port < 0 || port > 65535) {
        reply_error(ctx->r, "ERR Invalid master port");
        return;
    }
    char *host = mem_strndup(ctx->argv[1].p, ctx->argv[1].len);
    if (r != NULL && repl_set_master(r, host, (int)port, env->now_ms) == 1) {
        log_notice("REPLICAOF would result into synchronization with the master we are already "
                   "connected with. No operation performed.");
        reply_status(ctx->r, "OK Already connected to specified master");
    } else {
        set_cfg_master(env, host, (int)port);
        unblock_all_waiters(env);
        log_notice("REPLICAOF %s:%d enabled (user request from '%s')", host, (int)port,
                   client_desc(env, ctx->s, desc, sizeof(desc)));
        reply_ok(ctx->r);
    }
    mem_free(host);
}

/* ---- REPLCONF
 * ------------------------------------------------------------------------------------ */

/* One REPLCONF option; 1 handled (go on), 0 stop without a reply, -1 error written. */
static int replconf_opt(cmd_ctx_t *ctx, repl_t *r, slice_t key, slice_t val, const char *ip)
{
    void *h = ctx->s;
    long long n;
    if (slice_eq_ci(key, "listening-port")) {
        if (arg_ll(ctx, val, &n))
            return -1;
        repl_conf_port(r, h, ip, (int)n);
    } else if (slice_eq_ci(key, "ip-address")) {
        if (val.len >= 256) {
            reply_errorf(ctx->r,
                         "ERR REPLCONF ip-address provided by replica instance is too "
                         "long: %zu bytes",
                         val.len);
            return -1;
        }
        char announced[256];
        snprintf(announced, sizeof(announced), "%.*s", (int)val.len, val.p);
        repl_conf_ip(r, h, ip, announced);
    } else if (slice_eq_ci(key, "capa")) {
        repl_conf_capa(r, h, ip,
                       slice_eq_ci(val, "eof")      ? REPL_CAPA_EOF
                       : slice_eq_ci(val, "psync2") ? REPL_CAPA_PSYNC2
                                                    : 0);
    } else if (slice_eq_ci(key, "ack")) {
        /* no reply, ever: only replicas send it */
        if (str_to_ll(val.p, val.len, &n) && repl_ack(r, h, n, ctx->env->now_ms))
            cmd_repl_wait_serve(ctx->env, ctx->env->now_ms);
        return 0;
    } else if (slice_eq_ci(key, "getack")) {
        if (ctx->s->flags & SESS_MASTER)
            repl_link_send_ack(r);
        return 0;
    } else if (slice_eq_ci(key, "rdb-only")) {
        if (!str_to_ll(val.p, val.len, &n) || n < 0 || n > 1) {
            reply_not_integer(ctx->r);
            return -1;
        }
    } else {
        reply_errorf(ctx->r, "ERR Unrecognized REPLCONF option: %.*s",
                     (int)(key.len > 128 ? 128 : key.len), key.p);
        return -1;
    }
    return 1;
}

static void cmd_replconf(cmd_ctx_t *ctx)
{
    repl_t *r = repl_get();
    if ((ctx->argc % 2) == 0) {
        reply_syntax_error(ctx->r);
        return;
    }
    char ip[80];
    peer_ip(ctx->env, ctx->s, ip, sizeof(ip));
    for (int j = 1; j + 1 < ctx->argc; j += 2) {
        int rc = r ? replconf_opt(ctx, r, ctx->argv[j], ctx->argv[j + 1], ip) : 1;
        if (rc <= 0)
            return;
    }
    reply_ok(ctx->r);
}

/* ---- PSYNC / SYNC -------------------------------------------------------------------------------
 */

static void do_sync(cmd_ctx_t *ctx, int old_sync)
{
    repl_t *r = repl_get();
    session_t *s = ctx->s;
    if (s->flags & SESS_REPLICA)
        return; /* already a replica: ignored, as Redis */
    if (r == NULL || (repl_master_host(r) != NULL && repl_link_state(r) != REPL_STATE_CONNECTED)) {
        reply_error(ctx->r, "NOMASTERLINK Can't SYNC while not connected with my master");
        return;
    }
    if (reply_pending(ctx->r) > 0) {
        reply_error(ctx->r, "ERR SYNC and PSYNC are invalid with pending output");
        return;
    }
    long long offset = -1;
    char replid[48] = "?", ip[80];
    peer_ip(ctx->env, s, ip, sizeof(ip));
    if (!old_sync) {
        if (arg_ll(ctx, ctx->argv[2], &offset)) {
            log_warning("Replica %s asks for synchronization but with a wrong offset", ip);
            return;
        }
        snprintf(replid, sizeof(replid), "%.*s",
                 (int)(ctx->argv[1].len > 40 ? 40 : ctx->argv[1].len), ctx->argv[1].p);
    }
    if (repl_psync(r, s, ip, replid, offset, old_sync, ctx->env->now_ms) ==
        REPL_PSYNC_NOMASTERLINK) {
        reply_error(ctx->r, "NOMASTERLINK Can't SYNC while not connected with my master");
        return;
    }
    s->flags |= SESS_REPLICA;
}

static void cmd_psync(cmd_ctx_t *ctx)
{
    do_sync(ctx, 0);
}
static void cmd_sync(cmd_ctx_t *ctx)
{
    do_sync(ctx, 1);
}

/* ---- ROLE
 * ---------------------------------------------------------------------------------------- */

static void cmd_role(cmd_ctx_t *ctx)
{
    repl_t *r = repl_get();
    reply_t *out = ctx->r;
    if (r != NULL && repl_master_host(r) != NULL) {
        reply_array(out, 5);
        reply_bulk_cstr(out, "slave");
        reply_bulk_cstr(out, repl_master_host(r));
        reply_int(out, repl_master_port(r));
        reply_bulk_cstr(out, repl_role_state(r));
        reply_int(out, repl_link_state(r) == REPL_STATE_CONNECTED ? repl_offset(r) : -1);
        return;
    }
    reply_array(out, 3);
    reply_bulk_cstr(out, "master");
    reply_int(out, r ? repl_offset(r) : 0);
    reply_defer_t d = reply_defer(out);
    long long n = 0;
    repl_replica_info_t ri;
    for (size_t i = 0; r != NULL && repl_replica_get(r, i, ctx->env->now_ms, &ri) == 0; i++) {
        if (strcmp(ri.state, "online") != 0)
            continue;
        reply_array(out, 3);
        reply_bulk_cstr(out, ri.ip);
        reply_bulk_ll(out, ri.port);
        reply_bulk_ll(out, ri.ack_off);
        n++;
    }
    reply_defer_array(out, d, n);
}

/* ---- the dispatcher's checks
 * ---------------------------------------------------------------------- */

int repl_precheck(cmd_env_t *env, session_t *s, reply_t *r, const cmd_def_t *cmd)
{
    repl_t *rp = repl_get();
    if (rp == NULL || (s->flags & SESS_MASTER))
        return 0;
    int is_write = (cmd->flags & CMD_WRITE) != 0;
    if (is_write && !repl_writes_allowed(rp, env->now_ms)) {
        reply_error(r, "NOREPLICAS Not enough good replicas to write.");
        return -1;
    }
    if (repl_master_host(rp) == NULL)
        return 0;
    if (is_write && env->cfg->replica_read_only) {
        reply_error(r, "READONLY You can't write against a read only replica.");
        return -1;
    }
    if (!env->cfg->replica_serve_stale_data && repl_link_state(rp) != REPL_STATE_CONNECTED &&
        !(cmd->flags & CMD_STALE)) {
        reply_error(r, "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set "
                       "to 'no'.");
        return -1;
    }
    return 0;
}

/* ---- the table
 * ------------------------------------------------------------------------------------ */

#define ADM (CMD_ADMIN | CMD_NOSCRIPT)

cmd_def_t cmd_table_repl[] = {
    {.name = "replicaof",
     .proc = cmd_replicaof,
     .arity = 3,
     .flags = ADM | CMD_STALE | CMD_NO_ASYNC_LOADING},
    {.name = "slaveof",
     .proc = cmd_replicaof,
     .arity = 3,
     .flags = ADM | CMD_STALE | CMD_NO_ASYNC_LOADING},
    {.name = "replconf",
     .proc = cmd_replconf,
     .arity = -1,
     .flags = ADM | CMD_LOADING | CMD_STALE | CMD_ALLOW_BUSY},
    {.name = "psync",
     .proc = cmd_psync,
     .arity = -3,
     .flags = ADM | CMD_NO_ASYNC_LOADING | CMD_NO_MULTI},
    {.name = "sync",
     .proc = cmd_sync,
     .arity = 1,
     .flags = ADM | CMD_NO_ASYNC_LOADING | CMD_NO_MULTI},
    {.name = "wait", .proc = cmd_wait, .arity = 3, .flags = CMD_NOSCRIPT},
    {.name = "role",
     .proc = cmd_role,
     .arity = 1,
     .flags = CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST},
    {0},
};
