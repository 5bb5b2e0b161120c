/*
 * cmd_config.c — the CONFIG container command: GET, SET, RESETSTAT, REWRITE,
 * HELP, with Redis 7.0's replies and error texts.
 *
 * Owns: turning request arguments into calls on src/conf (config_get,
 * config_set_ex, config_rewrite) and their results into replies.
 * Must not: know any directive (the option table in src/conf does), touch
 * sockets or the loop; the loop learns about a changed config only through
 * ctx->env->host->reconfigure().
 * Invariants: every handler writes exactly one reply; arguments are copied to
 * NUL-terminated strings before they reach src/conf (which takes C strings).
 */
#include <string.h>

#include "../conf/config.h"
#include "../lib/log.h"
#include "../lib/mem.h"
#include "cmd.h"
#include "cmd_info.h"

/* NUL-terminated heap copies of argv[from..argc); free with free_strings. */
static char **copy_strings(const cmd_ctx_t *ctx, int from)
{
    int n = ctx->argc - from;
    char **out = mem_alloc(sizeof(*out) * (size_t)(n > 0 ? n : 1));
    for (int i = 0; i < n; i++)
        out[i] = mem_strndup(ctx->argv[from + i].p, ctx->argv[from + i].len);
    return out;
}

static void free_strings(char **s, int n)
{
    for (int i = 0; i < n; i++)
        mem_free(s[i]);
    mem_free(s);
}

/* Redis's islocalClient: a unix socket, or 127.0.0.1 / ::1. */
static int client_is_local(const cmd_ctx_t *ctx)
{
    const session_t *s = ctx->s;
    if (s == NULL)
        return 0;
    if (s->flags & SESS_UNIX)
        return 1;
    const cmd_host_t *h = ctx->env->host;
    const char *a = (h != NULL && h->client_addr != NULL) ? h->client_addr(h->self, s) : NULL;
    return a != NULL && (strncmp(a, "127.0.0.1:", 10) == 0 || strncmp(a, "[::1]:", 6) == 0 ||
                         strncmp(a, "::1:", 4) == 0);
}

/* ---- GET ---------------------------------------------------------------------- */

typedef struct get_acc_s {
    reply_t *r;
    long long n;
} get_acc_t;

static void get_emit(void *arg, const char *name, const char *value)
{
    get_acc_t *acc = arg;
    reply_bulk_cstr(acc->r, name);
    reply_bulk_cstr(acc->r, value);
    acc->n++;
}

/* CONFIG GET parameter [parameter ...]: a map (RESP3) / flat array (RESP2). */
static void cmd_config_get(cmd_ctx_t *ctx)
{
    int n = ctx->argc - 2;
    char **pats = copy_strings(ctx, 2);
    get_acc_t acc = {ctx->r, 0};
    reply_defer_t d = reply_defer(ctx->r);
    config_get(ctx->env->cfg, (const char *const *)pats, n, get_emit, &acc);
    reply_defer_map(ctx->r, d, acc.n);
    free_strings(pats, n);
}

/* ---- SET ---------------------------------------------------------------------- */

/* CONFIG SET parameter value [parameter value ...]: all or nothing. */
static void cmd_config_set(cmd_ctx_t *ctx)
{
    if (ctx->argc & 1) {
        reply_syntax_error(ctx->r);
        return;
    }
    int npairs = (ctx->argc - 2) / 2;
    char **args = copy_strings(ctx, 2);
    const char **names = mem_alloc(sizeof(*names) * (size_t)npairs);
    const char **values = mem_alloc(sizeof(*values) * (size_t)npairs);
    for (int i = 0; i < npairs; i++) {
        names[i] = args[2 * i];
        values[i] = args[2 * i + 1];
    }
    char err[512];
    const cmd_host_t *host = ctx->env->host;
    int rc = config_set_ex(ctx->env->cfg, npairs, names, values, client_is_local(ctx),
                           host ? host->config_apply : NULL, host ? host->self : NULL, err,
                           sizeof(err));
    mem_free(names);
    mem_free(values);
    free_strings(args, ctx->argc - 2);
    if (rc != 0) {
        reply_errorf(ctx->r, "ERR %s", err);
        return;
    }
    const cmd_host_t *h = ctx->env->host;
    if (h != NULL && h->reconfigure != NULL)
        h->reconfigure(h->self);
    reply_ok(ctx->r);
}

/* ---- RESETSTAT, REWRITE, HELP --------------------------------------------------- */

static void cmd_config_resetstat(cmd_ctx_t *ctx)
{
    info_resetstat(ctx->env);
    reply_ok(ctx->r);
}

static const char *config_file_of(const cmd_ctx_t *ctx)
{
    const cmd_host_t *h = ctx->env->host;
    if (ctx->env->config_file != NULL)
        return ctx->env->config_file;
    return (h != NULL && h->config_file != NULL) ? h->config_file(h->self) : NULL;
}

static void cmd_config_rewrite(cmd_ctx_t *ctx)
{
    const char *path = config_file_of(ctx);
    if (path == NULL) {
        reply_error(ctx->r, "ERR The server is running without a config file");
        return;
    }
    char err[512];
    if (config_rewrite(ctx->env->cfg, path, err, sizeof(err)) != 0) {
        /* err is "Rewriting config file: <reason>" */
        log_warning("CONFIG REWRITE failed: %s", err + strlen("Rewriting config file: "));
        reply_errorf(ctx->r, "ERR %s", err);
        return;
    }
    log_warning("CONFIG REWRITE executed with success.");
    reply_ok(ctx->r);
}

static const char *const config_help[] = {
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
};

static void cmd_config_help(cmd_ctx_t *ctx)
{
    reply_help_lines(ctx->r, config_help, sizeof(config_help) / sizeof(config_help[0]));
}

/* ---- the table ------------------------------------------------------------------ */

#define CONFIG_ADMIN (CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)

static cmd_def_t config_subs[] = {
    {.name = "get", .proc = cmd_config_get, .arity = -3, .flags = CONFIG_ADMIN},
    {.name = "set", .proc = cmd_config_set, .arity = -4, .flags = CONFIG_ADMIN},
    {.name = "resetstat", .proc = cmd_config_resetstat, .arity = 2, .flags = CONFIG_ADMIN},
    {.name = "rewrite", .proc = cmd_config_rewrite, .arity = 2, .flags = CONFIG_ADMIN},
    {.name = "help", .proc = cmd_config_help, .arity = 2, .flags = CMD_LOADING | CMD_STALE},
    {0},
};

cmd_def_t cmd_table_config[] = {
    {.name = "config", .arity = -2, .flags = 0, .subs = config_subs},
    {0},
};
