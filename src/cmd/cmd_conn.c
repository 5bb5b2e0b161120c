/*
 * cmd_conn.c — connection commands: PING ECHO QUIT HELLO AUTH SELECT RESET
 * MONITOR and CLIENT (a table of subcommands), plus the session lifecycle
 * helpers.
 *
 * Must not: reach into the loop room except through env->host.
 * Invariant: a session's resp version and its reply buffer's resp always agree.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "../conf/config.h"
#include "../ks/ks.h"
#include "../lib/mem.h"
#include "../lib/util.h"
#include "cmd_hooks.h"
#include "cmd_repl.h"

/* ---- session lifecycle ---------------------------------------------------- */

void session_release(cmd_env_t *env, session_t *s)
{
    multi_session_release(env, s);
    pubsub_session_release(env, s);
    blocking_session_release(env, s);
    cmd_repl_session_release(env, s);
    mem_free(s->name);
    s->name = NULL;
}



static void session_set_resp(session_t *s, int resp)
{
    s->resp = resp;
    s->r->resp = resp;
}

static int password_set(const cmd_env_t *env)
{
    return env->cfg->requirepass != NULL && env->cfg->requirepass[0] != '\0';
}

/* 1 if user/pass are valid for the default user (the only user for now). */
static int check_auth(const cmd_env_t *env, slice_t user, slice_t pass)
{
    if (!slice_eq_ci(user, "default"))
        return 0;
    if (!password_set(env))
        return 1; /* nopass user accepts any password */
    const char *pw = env->cfg->requirepass;
    return pass.len == strlen(pw) && memcmp(pass.p, pw, pass.len) == 0;
}

/* ---- simple commands ------------------------------------------------------ */

static void cmd_ping(cmd_ctx_t *ctx)
{
    if (ctx->argc > 2) {
        reply_wrong_arity(ctx->r, ctx->cmd);
        return;
    }
    if ((ctx->s->flags & SESS_PUBSUB) && ctx->s->resp == 2) {
        reply_array(ctx->r, 2);
        reply_bulk_cstr(ctx->r, "pong");
        reply_bulk(ctx->r, ctx->argc == 2 ? ctx->argv[1].p : "", ctx->argc == 2 ? ctx->argv[1].len : 0);
    } else if (ctx->argc == 2)
        reply_bulk(ctx->r, ctx->argv[1].p, ctx->argv[1].len);
    else
        reply_status(ctx->r, "PONG");
}

static void cmd_echo(cmd_ctx_t *ctx) { reply_bulk(ctx->r, ctx->argv[1].p, ctx->argv[1].len); }

static void cmd_quit(cmd_ctx_t *ctx)
{
    reply_ok(ctx->r);
    ctx->s->flags |= SESS_CLOSE_AFTER_REPLY;
}

static void cmd_select(cmd_ctx_t *ctx)
{
    long long id;
    if (arg_ll_msg(ctx, ctx->argv[1], &id, "ERR value is not an integer or out of range") != 0)
        return;
    if (ctx->env->cluster_mode && id != 0) {
        reply_error(ctx->r, "ERR SELECT is not allowed in cluster mode");
        return;
    }
    if (id < 0 || id >= ks_ndbs(ctx->env->ks)) {
        reply_error(ctx->r, "ERR DB index is out of range");
        return;
    }
    ctx->s->db = (int)id;
    reply_ok(ctx->r);
}

static void cmd_auth(cmd_ctx_t *ctx)
{
    if (ctx->argc > 3) {
        reply_syntax_error(ctx->r);
        return;
    }
    slice_t user = ctx->argc == 3 ? ctx->argv[1] : SLICE_LIT("default");
    slice_t pass = ctx->argv[ctx->argc - 1];
    if (ctx->argc == 2 && !password_set(ctx->env)) {
        reply_error(ctx->r, "ERR AUTH <password> called without any password configured for the "
                            "default user. Are you sure your configuration is correct?");
        return;
    }
    if (!check_auth(ctx->env, user, pass)) {
        reply_error(ctx->r, "WRONGPASS invalid username-password pair or user is disabled.");
        return;
    }
    ctx->s->authenticated = 1;
    reply_ok(ctx->r);
}

static void cmd_reset(cmd_ctx_t *ctx)
{
    session_t *s = ctx->s;
    session_release(ctx->env, s);
    s->db = 0;
    session_set_resp(s, 2);
    s->flags &= ~(SESS_READONLY | SESS_ASKING | SESS_NO_EVICT | SESS_REPLY_OFF |
                  SESS_REPLY_SKIP | SESS_REPLY_SKIP_NEXT | SESS_MONITOR);
    s->authenticated = !password_set(ctx->env);
    reply_status(ctx->r, "RESET");
}

static void cmd_monitor(cmd_ctx_t *ctx)
{
    if (ctx->s->flags & SESS_MONITOR)
        return; /* Redis ignores a second MONITOR silently */
    reply_ok(ctx->r);
    if (ctx->env->host && ctx->env->host->monitor_start)
        ctx->env->host->monitor_start(ctx->env->host->self, ctx->s);
}

/* ---- CLIENT ---------------------------------------------------------------- */

static int client_set_name(cmd_ctx_t *ctx, slice_t name)
{
    for (size_t i = 0; i < name.len; i++) {
        unsigned char ch = (unsigned char)name.p[i];
        if (ch < '!' || ch > '~') {
            reply_error(ctx->r, "ERR Client names cannot contain spaces, newlines or special "
                                "characters.");
            return -1;
        }
    }
    mem_free(ctx->s->name);
    ctx->s->name = name.len ? mem_strndup(name.p, name.len) : NULL;
    return 0;
}

static void cmd_client_id(cmd_ctx_t *ctx) { reply_int(ctx->r, (long long)ctx->s->id); }

static void cmd_client_setname(cmd_ctx_t *ctx)
{
    if (client_set_name(ctx, ctx->argv[2]) == 0)
        reply_ok(ctx->r);
}

static void cmd_client_getname(cmd_ctx_t *ctx) { reply_bulk_cstr(ctx->r, ctx->s->name); }

static void cmd_client_info(cmd_ctx_t *ctx)
{
    char line[1024];
    size_t n = ctx->env->host->client_line(ctx->env->host->self, ctx->s, line, sizeof(line) - 1);
    line[n++] = '\n';
    reply_verbatim(ctx->r, line, n, "txt");
}

/* Which sessions CLIENT LIST / KILL select. type: -1 any, 0 normal, 1 master,
 * 2 replica, 3 pubsub. */
typedef struct client_filter_s {
    int type;
    long long *ids;
    int nids;
    slice_t addr, laddr, user;
    int has_addr, has_laddr, has_user, skipme;
    const session_t *me;
    cmd_ctx_t *ctx;
    char *out; /* CLIENT LIST text */
    size_t len, cap;
    long long matched;
    session_t *victims[64];
    int nvictims;
} client_filter_t;

static int parse_client_type(slice_t t)
{
    if (slice_eq_ci(t, "normal"))
        return 0;
    if (slice_eq_ci(t, "master"))
        return 1;
    if (slice_eq_ci(t, "replica") || slice_eq_ci(t, "slave"))
        return 2;
    if (slice_eq_ci(t, "pubsub"))
        return 3;
    return -2;
}

static int session_type(const session_t *s)
{
    if (s->flags & SESS_MASTER)
        return 1;
    if ((s->flags & SESS_REPLICA) && !(s->flags & SESS_MONITOR))
        return 2;
    if (s->flags & SESS_PUBSUB)
        return 3;
    return 0;
}

static int filter_match(client_filter_t *f, session_t *s)
{
    const cmd_host_t *h = f->ctx->env->host;
    if (f->type >= 0 && session_type(s) != f->type)
        return 0;
    if (f->nids > 0) {
        int hit = 0;
        for (int i = 0; i < f->nids && !hit; i++)
            hit = (uint64_t)f->ids[i] == s->id;
        if (!hit)
            return 0;
    }
    if (f->has_addr) {
        const char *a = h->client_addr(h->self, s);
        if (f->addr.len != strlen(a) || memcmp(f->addr.p, a, f->addr.len) != 0)
            return 0;
    }
    if (f->has_laddr) {
        char line[1024];
        h->client_line(h->self, s, line, sizeof(line));
        char *p = strstr(line, " laddr="), *e = p ? strchr(p + 7, ' ') : NULL;
        if (!p || !e || (size_t)(e - p - 7) != f->laddr.len || memcmp(p + 7, f->laddr.p, f->laddr.len))
            return 0;
    }
    if (f->has_user && !slice_eq_ci(f->user, "default"))
        return 0;
    if (f->skipme && s == f->me)
        return 0;
    return 1;
}

static void client_list_one(session_t *s, void *arg)
{
    client_filter_t *f = arg;
    if (!filter_match(f, s))
        return;
    if (f->cap - f->len < 1100) {
        f->cap = f->cap * 2 + 2048;
        f->out = mem_realloc(f->out, f->cap);
    }
    const cmd_host_t *h = f->ctx->env->host;
    f->len += h->client_line(h->self, s, f->out + f->len, f->cap - f->len - 1);
    f->out[f->len++] = '\n';
}

static void cmd_client_list(cmd_ctx_t *ctx)
{
    client_filter_t f = {.type = -1, .ctx = ctx, .me = ctx->s};
    long long ids[64];
    for (int i = 2; i < ctx->argc; i++) {
        if (slice_eq_ci(ctx->argv[i], "type") && i + 1 < ctx->argc) {
            f.type = parse_client_type(ctx->argv[++i]);
            if (f.type == -2) {
                reply_errorf(ctx->r, "ERR Unknown client type '%.*s'", (int)ctx->argv[i].len,
                             ctx->argv[i].p);
                return;
            }
        } else if (slice_eq_ci(ctx->argv[i], "id") && i + 1 < ctx->argc) {
            for (i++; i < ctx->argc && f.nids < 64; i++) {
                if (!str_to_ll(ctx->argv[i].p, ctx->argv[i].len, &ids[f.nids]) || ids[f.nids] <= 0) {
                    reply_error(ctx->r, "ERR Invalid client ID");
                    return;
                }
                f.nids++;
            }
            f.ids = ids;
        } else {
            reply_syntax_error(ctx->r);
            return;
        }
    }
    ctx->env->host->each_client(ctx->env->host->self, client_list_one, &f);
    reply_verbatim(ctx->r, f.out ? f.out : "", f.len, "txt");
    mem_free(f.out);
}

static void client_kill_one(session_t *s, void *arg)
{
    client_filter_t *f = arg;
    if (filter_match(f, s) && f->nvictims < 64)
        f->victims[f->nvictims++] = s;
}

static int parse_kill_filters(cmd_ctx_t *ctx, client_filter_t *f, long long *id)
{
    for (int i = 2; i < ctx->argc; i += 2) {
        if (i + 1 >= ctx->argc) {
            reply_syntax_error(ctx->r);
            return -1;
        }
        slice_t opt = ctx->argv[i], val = ctx->argv[i + 1];
        if (slice_eq_ci(opt, "id")) {
            if (!str_to_ll(val.p, val.len, id) || *id <= 0) {
                reply_error(ctx->r, "ERR client-id should be greater than 0");
                return -1;
            }
            f->ids = id, f->nids = 1;
        } else if (slice_eq_ci(opt, "type")) {
            if ((f->type = parse_client_type(val)) == -2) {
                reply_errorf(ctx->r, "ERR Unknown client type '%.*s'", (int)val.len, val.p);
                return -1;
            }
        } else if (slice_eq_ci(opt, "addr")) {
            f->addr = val, f->has_addr = 1;
        } else if (slice_eq_ci(opt, "laddr")) {
            f->laddr = val, f->has_laddr = 1;
        } else if (slice_eq_ci(opt, "user")) {
            if (!slice_eq_ci(val, "default")) {
                reply_errorf(ctx->r, "ERR No such user '%.*s'", (int)val.len, val.p);
                return -1;
            }
            f->user = val, f->has_user = 1;
        } else if (slice_eq_ci(opt, "skipme")) {
            if (slice_eq_ci(val, "yes"))
                f->skipme = 1;
            else if (slice_eq_ci(val, "no"))
                f->skipme = 0;
            else {
                reply_syntax_error(ctx->r);
                return -1;
            }
        } else {
            reply_syntax_error(ctx->r);
            return -1;
        }
    }
    return 0;
}

static void cmd_client_kill(cmd_ctx_t *ctx)
{
    client_filter_t f = {.type = -1, .ctx = ctx, .me = ctx->s, .skipme = 1};
    long long id = 0;
    int old_style = ctx->argc == 3;
    if (old_style) {
        f.addr = ctx->argv[2], f.has_addr = 1, f.skipme = 0;
    } else if (parse_kill_filters(ctx, &f, &id) != 0) {
        return;
    }
    const cmd_host_t *h = ctx->env->host;
    h->each_client(h->self, client_kill_one, &f);
    for (int i = 0; i < f.nvictims; i++)
        h->client_kill(h->self, f.victims[i]);
    if (!old_style)
        reply_int(ctx->r, f.nvictims);
    else if (f.nvictims == 0)
        reply_error(ctx->r, "ERR No such client");
    else
        reply_ok(ctx->r);
}

static void cmd_client_no_evict(cmd_ctx_t *ctx)
{
    if (slice_eq_ci(ctx->argv[2], "on"))
        ctx->s->flags |= SESS_NO_EVICT;
    else if (slice_eq_ci(ctx->argv[2], "off"))
        ctx->s->flags &= ~SESS_NO_EVICT;
    else {
        reply_syntax_error(ctx->r);
        return;
    }
    reply_ok(ctx->r);
}

static void cmd_client_reply(cmd_ctx_t *ctx)
{
    slice_t m = ctx->argv[2];
    if (slice_eq_ci(m, "on")) {
        ctx->s->flags &= ~(SESS_REPLY_OFF | SESS_REPLY_SKIP | SESS_REPLY_SKIP_NEXT);
        reply_ok(ctx->r);
    } else if (slice_eq_ci(m, "off")) {
        ctx->s->flags |= SESS_REPLY_OFF;
    } else if (slice_eq_ci(m, "skip")) {
        if (!(ctx->s->flags & SESS_REPLY_OFF))
            ctx->s->flags |= SESS_REPLY_SKIP_NEXT;
    } else {
        reply_syntax_error(ctx->r);
    }
}

static void cmd_client_getredir(cmd_ctx_t *ctx) { reply_int(ctx->r, -1); }

static const char *const client_help[] = {
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "HELP",
    "    Prints this help.",
};

void reply_help_lines(reply_t *r, const char *const *lines, size_t n)
{
    reply_array(r, (long long)n);
    for (size_t i = 0; i < n; i++)
        reply_status(r, lines[i]);
}

static void cmd_client_help(cmd_ctx_t *ctx)
{
    reply_help_lines(ctx->r, client_help, sizeof(client_help) / sizeof(client_help[0]));
}

#define CLIENT_FLAGS (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
static cmd_def_t cmd_client_subs[] = {
    {.name = "id", .proc = cmd_client_id, .arity = 2, .flags = CLIENT_FLAGS},
    {.name = "setname", .proc = cmd_client_setname, .arity = 3, .flags = CLIENT_FLAGS},
    {.name = "getname", .proc = cmd_client_getname, .arity = 2, .flags = CLIENT_FLAGS},
    {.name = "info", .proc = cmd_client_info, .arity = 2, .flags = CLIENT_FLAGS},
    {.name = "list", .proc = cmd_client_list, .arity = -2, .flags = CMD_ADMIN | CLIENT_FLAGS},
    {.name = "kill", .proc = cmd_client_kill, .arity = -3, .flags = CMD_ADMIN | CLIENT_FLAGS},
    {.name = "unblock", .proc = cmd_client_unblock, .arity = -3, .flags = CMD_ADMIN | CLIENT_FLAGS},
    {.name = "no-evict", .proc = cmd_client_no_evict, .arity = 3, .flags = CMD_ADMIN | CLIENT_FLAGS},
    {.name = "reply", .proc = cmd_client_reply, .arity = 3, .flags = CLIENT_FLAGS},
    {.name = "getredir", .proc = cmd_client_getredir, .arity = 2, .flags = CLIENT_FLAGS},
    {.name = "help", .proc = cmd_client_help, .arity = 2, .flags = CMD_LOADING | CMD_STALE},
    {0},
};

/* HELLO [protover [AUTH username password] [SETNAME clientname]] */
static void cmd_hello(cmd_ctx_t *ctx)
{
    long long ver = ctx->s->resp;
    int i = 1;
    if (ctx->argc >= 2) {
        if (!str_to_ll(ctx->argv[1].p, ctx->argv[1].len, &ver)) {
            reply_error(ctx->r, "ERR Protocol version is not an integer or out of range");
            return;
        }
        i = 2;
        if (ver < 2 || ver > 3) {
            reply_error(ctx->r, "NOPROTO unsupported protocol version");
            return;
        }
    }
    slice_t user = {0}, pass = {0}, name = {0};
    int has_auth = 0, has_name = 0;
    for (; i < ctx->argc; i++) {
        int more = ctx->argc - i - 1;
        if (slice_eq_ci(ctx->argv[i], "auth") && more >= 2) {
            user = ctx->argv[i + 1], pass = ctx->argv[i + 2], has_auth = 1, i += 2;
        } else if (slice_eq_ci(ctx->argv[i], "setname") && more >= 1) {
            name = ctx->argv[i + 1], has_name = 1, i += 1;
        } else {
            reply_errorf(ctx->r, "ERR Syntax error in HELLO option '%.*s'", (int)ctx->argv[i].len,
                         ctx->argv[i].p);
            return;
        }
    }
    if (has_auth && !check_auth(ctx->env, user, pass)) {
        reply_error(ctx->r, "WRONGPASS invalid username-password pair or user is disabled.");
        return;
    }
    if (has_auth)
        ctx->s->authenticated = 1;
    if (!ctx->s->authenticated) {
        reply_error(ctx->r, "NOAUTH HELLO must be called with the client already authenticated, "
                            "otherwise the HELLO <proto> AUTH <user> <pass> option can be used to "
                            "authenticate the client and select the RESP protocol version at the "
                            "same time");
        return;
    }
    if (has_name && client_set_name(ctx, name) != 0)
        return;
    session_set_resp(ctx->s, (int)ver);
    reply_map(ctx->r, 7);
    reply_bulk_cstr(ctx->r, "server");
    reply_bulk_cstr(ctx->r, "redis");
    reply_bulk_cstr(ctx->r, "version");
    reply_bulk_cstr(ctx->r, "7.0.15");
    reply_bulk_cstr(ctx->r, "proto");
    reply_int(ctx->r, ver);
    reply_bulk_cstr(ctx->r, "id");
    reply_int(ctx->r, (long long)ctx->s->id);
    reply_bulk_cstr(ctx->r, "mode");
    reply_bulk_cstr(ctx->r, ctx->env->cluster_mode ? "cluster" : "standalone");
    reply_bulk_cstr(ctx->r, "role");
    reply_bulk_cstr(ctx->r, ctx->env->is_replica ? "replica" : "master");
    reply_bulk_cstr(ctx->r, "modules");
    reply_array(ctx->r, 0);
}

cmd_def_t cmd_table_conn[] = {
    {.name = "ping", .proc = cmd_ping, .arity = -1, .flags = CMD_FAST | CMD_SENTINEL},
    {.name = "echo", .proc = cmd_echo, .arity = 2, .flags = CMD_LOADING | CMD_STALE | CMD_FAST},
    {.name = "quit",
     .proc = cmd_quit,
     .arity = -1,
     .flags = CMD_ALLOW_BUSY | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH},
    {.name = "select", .proc = cmd_select, .arity = 2, .flags = CMD_LOADING | CMD_STALE | CMD_FAST},
    {.name = "auth",
     .proc = cmd_auth,
     .arity = -2,
     .flags = CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH | CMD_SENTINEL |
              CMD_ALLOW_BUSY},
    {.name = "hello",
     .proc = cmd_hello,
     .arity = -1,
     .flags = CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH | CMD_SENTINEL |
              CMD_ALLOW_BUSY},
    {.name = "reset",
     .proc = cmd_reset,
     .arity = 1,
     .flags = CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH | CMD_ALLOW_BUSY},
    {.name = "monitor",
     .proc = cmd_monitor,
     .arity = 1,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE},
    {.name = "client", .arity = -2, .flags = CMD_SENTINEL, .subs = cmd_client_subs},
    {0},
};
