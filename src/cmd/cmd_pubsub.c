/*
 * cmd_pubsub.c — Pub/Sub: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH
 * SSUBSCRIBE SUNSUBSCRIBE SPUBLISH PUBSUB, the subscriber registry, message
 * delivery (RESP3 push / RESP2 arrays), and the RESP2 subscribed-state rule.
 *
 * Owns: the process registry (channel → subscribers, one dict for channels and
 * one for shard channels, plus the pattern list) and each session's own list
 * of what it subscribed to.
 * Must not: write to sockets (messages go into the subscriber's reply buffer;
 * env->host->wakeup queues the flush).
 *
 * Invariants: session s is in chan(c)->subs iff c is in s's own list of that
 * kind; SESS_PUBSUB is set iff s has at least one subscription of any kind; a
 * channel entry exists iff it has a subscriber.
 */
#include <string.h>

#include "../lib/dict.h"
#include "../lib/mem.h"
#include "../lib/util.h"
#include "cmd_hooks.h"

enum { PS_CHANNEL = 0, PS_PATTERN = 1, PS_SHARD = 2, PS_KINDS = 3 };

typedef struct chan_s {
    dict_node_t node;
    session_t **subs;
    int nsubs, cap;
    uint32_t len;
    char name[];
} chan_t;

typedef struct sublist_s { /* one session's subscriptions of one kind */
    chan_t **items;
    int n, cap;
} sublist_t;

typedef struct sess_ps_s {
    sublist_t kinds[PS_KINDS];
} sess_ps_t;

struct pubsub_s {
    dict_t dicts[PS_KINDS]; /* patterns are kept in a dict too, for PUNSUBSCRIBE */
};

static void chan_key(const dict_node_t *n, const char **k, size_t *len)
{
    const chan_t *c = (const chan_t *)n;
    *k = c->name;
    *len = c->len;
}

static const dict_type_t chan_type = {.key = chan_key};

static struct pubsub_s *ps_registry(cmd_env_t *env)
{
    if (env->pubsub == NULL) {
        env->pubsub = mem_calloc(sizeof(struct pubsub_s));
        for (int k = 0; k < PS_KINDS; k++)
            dict_init(&env->pubsub->dicts[k], &chan_type);
    }
    return env->pubsub;
}

int session_sub_count(const session_t *s, int kind)
{
    const sess_ps_t *ps = s->pubsub;
    return ps ? ps->kinds[kind].n : 0;
}

static int sub_total(const session_t *s)
{
    return session_sub_count(s, PS_CHANNEL) + session_sub_count(s, PS_PATTERN);
}

static void update_flag(session_t *s)
{
    const sess_ps_t *ps = s->pubsub;
    int any = ps && (ps->kinds[0].n + ps->kinds[1].n + ps->kinds[2].n) > 0;
    if (any)
        s->flags |= SESS_PUBSUB;
    else
        s->flags &= ~SESS_PUBSUB;
}

static const char *const kind_sub[PS_KINDS] = {"subscribe", "psubscribe", "ssubscribe"};
static const char *const kind_unsub[PS_KINDS] = {"unsubscribe", "punsubscribe", "sunsubscribe"};

/* ["subscribe", channel, count] as a push (RESP3) or an array (RESP2). */
static void reply_sub_event(reply_t *r, const char *what, const char *ch, size_t len, long long n)
{
    reply_push(r, 3);
    reply_bulk_cstr(r, what);
    if (ch != NULL)
        reply_bulk(r, ch, len);
    else
        reply_null(r);
    reply_int(r, n);
}

static int sub_count_for(const session_t *s, int kind)
{
    return kind == PS_SHARD ? session_sub_count(s, PS_SHARD) : sub_total(s);
}

static int subscribe(cmd_env_t *env, session_t *s, int kind, slice_t name)
{
    struct pubsub_s *reg = ps_registry(env);
    if (s->pubsub == NULL)
        s->pubsub = mem_calloc(sizeof(sess_ps_t));
    sublist_t *l = &((sess_ps_t *)s->pubsub)->kinds[kind];
    for (int i = 0; i < l->n; i++)
        if (l->items[i]->len == name.len && memcmp(l->items[i]->name, name.p, name.len) == 0)
            return 0;
    chan_t *c = (chan_t *)dict_find(&reg->dicts[kind], name.p, name.len);
    if (c == NULL) {
        c = mem_calloc(sizeof(chan_t) + name.len);
        c->len = (uint32_t)name.len;
        memcpy(c->name, name.p, name.len);
        dict_add(&reg->dicts[kind], &c->node);
    }
    if (c->nsubs == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 4;
        c->subs = mem_realloc(c->subs, sizeof(session_t *) * (size_t)c->cap);
    }
    c->subs[c->nsubs++] = s;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->items = mem_realloc(l->items, sizeof(chan_t *) * (size_t)l->cap);
    }
    l->items[l->n++] = c;
    update_flag(s);
    return 1;
}

/* Remove subscription i of the session's list of that kind. */
static void unsubscribe_at(cmd_env_t *env, session_t *s, int kind, int i)
{
    sublist_t *l = &((sess_ps_t *)s->pubsub)->kinds[kind];
    chan_t *c = l->items[i];
    l->items[i] = l->items[--l->n];
    for (int j = 0; j < c->nsubs; j++) {
        if (c->subs[j] == s) {
            memmove(&c->subs[j], &c->subs[j + 1], sizeof(session_t *) * (size_t)(c->nsubs - j - 1));
            c->nsubs--;
            break;
        }
    }
    if (c->nsubs == 0) {
        dict_remove_node(&ps_registry(env)->dicts[kind], &c->node);
        mem_free(c->subs);
        mem_free(c);
    }
    update_flag(s);
}

static int find_sub(const session_t *s, int kind, slice_t name)
{
    const sess_ps_t *ps = s->pubsub;
    if (ps == NULL)
        return -1;
    const sublist_t *l = &ps->kinds[kind];
    for (int i = 0; i < l->n; i++)
        if (l->items[i]->len == name.len && memcmp(l->items[i]->name, name.p, name.len) == 0)
            return i;
    return -1;
}

void pubsub_session_release(cmd_env_t *env, session_t *s)
{
    sess_ps_t *ps = s->pubsub;
    if (ps == NULL)
        return;
    for (int k = 0; k < PS_KINDS; k++) {
        while (ps->kinds[k].n > 0)
            unsubscribe_at(env, s, k, ps->kinds[k].n - 1);
        mem_free(ps->kinds[k].items);
    }
    mem_free(ps);
    s->pubsub = NULL;
    s->flags &= ~SESS_PUBSUB;
}

/* ---- delivery -------------------------------------------------------------- */

static void deliver(cmd_env_t *env, session_t *to, const char *kind, const chan_t *pat, slice_t ch,
                    slice_t msg)
{
    reply_t *r = to->r;
    reply_push(r, pat ? 4 : 3);
    reply_bulk_cstr(r, kind);
    if (pat)
        reply_bulk(r, pat->name, pat->len);
    reply_bulk(r, ch.p, ch.len);
    reply_bulk(r, msg.p, msg.len);
    if (env->host && env->host->wakeup)
        env->host->wakeup(env->host->self, to);
}

/* Deliver to local subscribers; returns receivers. shard: SPUBLISH. */
long long pubsub_publish(cmd_env_t *env, slice_t ch, slice_t msg, int shard)
{
    if (env->pubsub == NULL)
        return 0;
    struct pubsub_s *reg = env->pubsub;
    long long n = 0;
    chan_t *c = (chan_t *)dict_find(&reg->dicts[shard ? PS_SHARD : PS_CHANNEL], ch.p, ch.len);
    if (c != NULL) {
        for (int i = 0; i < c->nsubs; i++, n++)
            deliver(env, c->subs[i], shard ? "smessage" : "message", NULL, ch, msg);
    }
    if (shard || dict_size(&reg->dicts[PS_PATTERN]) == 0)
        return n;
    dict_iter_t it;
    dict_iter_init(&it, &reg->dicts[PS_PATTERN]);
    for (dict_node_t *nd; (nd = dict_iter_next(&it)) != NULL;) {
        chan_t *p = (chan_t *)nd;
        if (!glob_match(p->name, p->len, ch.p, ch.len, 0))
            continue;
        for (int i = 0; i < p->nsubs; i++, n++)
            deliver(env, p->subs[i], "pmessage", p, ch, msg);
    }
    dict_iter_deinit(&it);
    return n;
}

/* ---- commands -------------------------------------------------------------- */

static void do_subscribe(cmd_ctx_t *ctx, int kind)
{
    for (int i = 1; i < ctx->argc; i++) {
        subscribe(ctx->env, ctx->s, kind, ctx->argv[i]);
        reply_sub_event(ctx->r, kind_sub[kind], ctx->argv[i].p, ctx->argv[i].len,
                        sub_count_for(ctx->s, kind));
    }
}

static void do_unsubscribe(cmd_ctx_t *ctx, int kind)
{
    session_t *s = ctx->s;
    if (ctx->argc == 1) {
        if (session_sub_count(s, kind) == 0) {
            reply_sub_event(ctx->r, kind_unsub[kind], NULL, 0, sub_count_for(s, kind));
            return;
        }
        sublist_t *l = &((sess_ps_t *)s->pubsub)->kinds[kind];
        while (l->n > 0) {
            chan_t *c = l->items[0];
            char name[256];
            size_t len = c->len < sizeof(name) ? c->len : sizeof(name);
            int big = c->len > sizeof(name);
            slice_t nm = big ? slice_make(mem_strndup(c->name, c->len), c->len)
                             : slice_make(memcpy(name, c->name, len), len);
            unsubscribe_at(ctx->env, s, kind, 0);
            reply_sub_event(ctx->r, kind_unsub[kind], nm.p, nm.len, sub_count_for(s, kind));
            if (big)
                mem_free((void *)nm.p);
        }
        return;
    }
    for (int i = 1; i < ctx->argc; i++) {
        int at = find_sub(s, kind, ctx->argv[i]);
        if (at >= 0)
            unsubscribe_at(ctx->env, s, kind, at);
        reply_sub_event(ctx->r, kind_unsub[kind], ctx->argv[i].p, ctx->argv[i].len,
                        sub_count_for(s, kind));
    }
}

static void cmd_subscribe(cmd_ctx_t *ctx) { do_subscribe(ctx, PS_CHANNEL); }
static void cmd_psubscribe(cmd_ctx_t *ctx) { do_subscribe(ctx, PS_PATTERN); }
static void cmd_ssubscribe(cmd_ctx_t *ctx) { do_subscribe(ctx, PS_SHARD); }
static void cmd_unsubscribe(cmd_ctx_t *ctx) { do_unsubscribe(ctx, PS_CHANNEL); }
static void cmd_punsubscribe(cmd_ctx_t *ctx) { do_unsubscribe(ctx, PS_PATTERN); }
static void cmd_sunsubscribe(cmd_ctx_t *ctx) { do_unsubscribe(ctx, PS_SHARD); }

static void cmd_publish(cmd_ctx_t *ctx)
{
    long long n = pubsub_publish(ctx->env, ctx->argv[1], ctx->argv[2], 0);
    if (ctx->env->host && ctx->env->host->cluster_publish)
        ctx->env->host->cluster_publish(ctx->env->host->self, ctx->argv[1], ctx->argv[2], 0);
    reply_int(ctx->r, n);
}

static void cmd_spublish(cmd_ctx_t *ctx)
{
    long long n = pubsub_publish(ctx->env, ctx->argv[1], ctx->argv[2], 1);
    if (ctx->env->host && ctx->env->host->cluster_publish)
        ctx->env->host->cluster_publish(ctx->env->host->self, ctx->argv[1], ctx->argv[2], 1);
    reply_int(ctx->r, n);
}

/* PUBSUB CHANNELS / SHARDCHANNELS [pattern] */
static void list_channels(cmd_ctx_t *ctx, int kind)
{
    slice_t pat = ctx->argc > 2 ? ctx->argv[2] : SLICE_LIT("*");
    reply_defer_t d = reply_defer(ctx->r);
    long long n = 0;
    if (ctx->env->pubsub != NULL) {
        dict_iter_t it;
        dict_iter_init(&it, &ctx->env->pubsub->dicts[kind]);
        for (dict_node_t *nd; (nd = dict_iter_next(&it)) != NULL;) {
            chan_t *c = (chan_t *)nd;
            if (glob_match(pat.p, pat.len, c->name, c->len, 0)) {
                reply_bulk(ctx->r, c->name, c->len);
                n++;
            }
        }
        dict_iter_deinit(&it);
    }
    reply_defer_array(ctx->r, d, n);
}

static void numsub(cmd_ctx_t *ctx, int kind)
{
    reply_map(ctx->r, ctx->argc - 2);
    for (int i = 2; i < ctx->argc; i++) {
        chan_t *c = ctx->env->pubsub
                        ? (chan_t *)dict_find(&ctx->env->pubsub->dicts[kind], ctx->argv[i].p,
                                              ctx->argv[i].len)
                        : NULL;
        reply_bulk(ctx->r, ctx->argv[i].p, ctx->argv[i].len);
        reply_int(ctx->r, c ? c->nsubs : 0);
    }
}

static void cmd_pubsub_channels(cmd_ctx_t *ctx) { list_channels(ctx, PS_CHANNEL); }
static void cmd_pubsub_shardchannels(cmd_ctx_t *ctx) { list_channels(ctx, PS_SHARD); }
static void cmd_pubsub_numsub(cmd_ctx_t *ctx) { numsub(ctx, PS_CHANNEL); }
static void cmd_pubsub_shardnumsub(cmd_ctx_t *ctx) { numsub(ctx, PS_SHARD); }

static void cmd_pubsub_numpat(cmd_ctx_t *ctx)
{
    reply_int(ctx->r, ctx->env->pubsub ? (long long)dict_size(&ctx->env->pubsub->dicts[PS_PATTERN]) : 0);
}

static const char *const pubsub_help[] = {
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
};

static void cmd_pubsub_help(cmd_ctx_t *ctx)
{
    reply_help_lines(ctx->r, pubsub_help, sizeof(pubsub_help) / sizeof(pubsub_help[0]));
}

/* RESP2 clients with subscriptions may only run these (Redis's rule). */
int pubsub_precheck(session_t *s, reply_t *r, const cmd_def_t *cmd)
{
    if (!(s->flags & SESS_PUBSUB) || s->resp != 2)
        return 0;
    const char *n = cmd->parent ? cmd->parent->name : cmd->name;
    static const char *const ok[] = {"subscribe", "ssubscribe", "unsubscribe", "sunsubscribe",
                                     "psubscribe", "punsubscribe", "ping", "quit", "reset"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (strcmp(n, ok[i]) == 0)
            return 0;
    char full[128];
    cmd_fullname(cmd, full, sizeof(full));
    reply_errorf(r, "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
                    "RESET are allowed in this context",
                 full);
    return -1;
}

#define PS_FLAGS (CMD_PUBSUB | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define PSQ_FLAGS (CMD_PUBSUB | CMD_LOADING | CMD_STALE)
static cmd_def_t pubsub_subs[] = {
    {.name = "channels", .proc = cmd_pubsub_channels, .arity = -2, .flags = PSQ_FLAGS},
    {.name = "numsub", .proc = cmd_pubsub_numsub, .arity = -2, .flags = PSQ_FLAGS},
    {.name = "numpat", .proc = cmd_pubsub_numpat, .arity = 2, .flags = PSQ_FLAGS},
    {.name = "shardchannels", .proc = cmd_pubsub_shardchannels, .arity = -2, .flags = PSQ_FLAGS},
    {.name = "shardnumsub", .proc = cmd_pubsub_shardnumsub, .arity = -2, .flags = PSQ_FLAGS},
    {.name = "help", .proc = cmd_pubsub_help, .arity = 2, .flags = CMD_LOADING | CMD_STALE},
    {0},
};

cmd_def_t cmd_table_pubsub[] = {
    {.name = "subscribe", .proc = cmd_subscribe, .arity = -2, .flags = PS_FLAGS},
    {.name = "unsubscribe", .proc = cmd_unsubscribe, .arity = -1, .flags = PS_FLAGS},
    {.name = "psubscribe", .proc = cmd_psubscribe, .arity = -2, .flags = PS_FLAGS},
    {.name = "punsubscribe", .proc = cmd_punsubscribe, .arity = -1, .flags = PS_FLAGS},
    {.name = "ssubscribe", .proc = cmd_ssubscribe, .arity = -2, .flags = PS_FLAGS, .key = {1, -1, 1}},
    {.name = "sunsubscribe",
     .proc = cmd_sunsubscribe,
     .arity = -1,
     .flags = PS_FLAGS,
     .key = {1, -1, 1}},
    {.name = "publish",
     .proc = cmd_publish,
     .arity = 3,
     .flags = CMD_PUBSUB | CMD_LOADING | CMD_STALE | CMD_FAST},
    {.name = "spublish",
     .proc = cmd_spublish,
     .arity = 3,
     .flags = CMD_PUBSUB | CMD_LOADING | CMD_STALE | CMD_FAST,
     .key = {1, 1, 1}},
    {.name = "pubsub", .arity = -2, .subs = pubsub_subs},
    {0},
};
