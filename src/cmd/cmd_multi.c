/*
 * cmd_multi.c — transactions: MULTI EXEC DISCARD WATCH UNWATCH, the queue of a
 * session in MULTI, and the registry of watched keys.
 *
 * Owns: struct multi_s (the queued commands, each with its own copy of the
 * arguments) and the watch registry (per db: key → sessions watching it).
 * Must not: execute queued commands anywhere but EXEC; keep pointers into a
 * client's query buffer past the call that queued them.
 *
 * Invariants: a session is in MULTI iff SESS_MULTI is set iff s->multi != NULL.
 * A wkey is in its db's dict iff it has at least one watcher; every session in
 * a wkey's list has that wkey in its own watch list.
 */
#include <string.h>

#include "../ks/db.h"
#include "../ks/kv.h"
#include "../lib/dict.h"
#include "../lib/mem.h"
#include "cmd_hooks.h"

typedef struct queued_s {
    const cmd_def_t *cmd;
    int argc;
    slice_t *argv; /* argv and the bytes live in one block */
} queued_t;

struct multi_s {
    queued_t *q;
    int n, cap;
};

typedef struct wkey_s {
    dict_node_t node;
    int db;
    uint32_t klen;
    session_t **sess;
    int nsess, cap;
    char key[];
} wkey_t;

typedef struct wlist_s {
    wkey_t **keys;
    int n, cap;
} wlist_t;

struct watch_reg_s {
    dict_t *dbs; /* one dict per db, created on first WATCH */
    int ndbs;
    uint64_t total;
};

static void wkey_key(const dict_node_t *n, const char **k, size_t *len)
{
    const wkey_t *w = (const wkey_t *)n;
    *k = w->key;
    *len = w->klen;
}

static const dict_type_t wkey_type = {.key = wkey_key};

static struct watch_reg_s *registry(cmd_env_t *env)
{
    if (env->watch == NULL) {
        struct watch_reg_s *w = mem_calloc(sizeof(*w));
        w->ndbs = ks_ndbs(env->ks);
        w->dbs = mem_calloc(sizeof(dict_t) * (size_t)w->ndbs);
        for (int i = 0; i < w->ndbs; i++)
            dict_init(&w->dbs[i], &wkey_type);
        env->watch = w;
    }
    return env->watch;
}

/* ---- queue ----------------------------------------------------------------- */

static void multi_free(struct multi_s *m)
{
    if (m == NULL)
        return;
    for (int i = 0; i < m->n; i++)
        mem_free(m->q[i].argv);
    mem_free(m->q);
    mem_free(m);
}

int session_multi_count(const session_t *s) { return s->multi ? s->multi->n : -1; }

int multi_queued_at(const session_t *s, int i, const cmd_def_t **cmd, int *argc,
                    const slice_t **argv)
{
    if (s->multi == NULL || i < 0 || i >= s->multi->n)
        return 0;
    *cmd = s->multi->q[i].cmd;
    *argc = s->multi->q[i].argc;
    *argv = s->multi->q[i].argv;
    return 1;
}

static void multi_queue(session_t *s, const cmd_def_t *cmd, int argc, const slice_t *argv)
{
    struct multi_s *m = s->multi;
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 8;
        m->q = mem_realloc(m->q, sizeof(queued_t) * (size_t)m->cap);
    }
    m->q[m->n++] = (queued_t){.cmd = cmd, .argc = argc, .argv = cmd_argv_copy(argc, argv)};
}

/* ---- watch registry -------------------------------------------------------- */

static void unwatch_all(cmd_env_t *env, session_t *s)
{
    wlist_t *wl = s->watched;
    if (wl == NULL)
        return;
    struct watch_reg_s *reg = registry(env);
    for (int i = 0; i < wl->n; i++) {
        wkey_t *w = wl->keys[i];
        for (int j = 0; j < w->nsess; j++) {
            if (w->sess[j] == s) {
                w->sess[j] = w->sess[--w->nsess];
                break;
            }
        }
        if (w->nsess == 0) {
            dict_remove_node(&reg->dbs[w->db], &w->node);
            reg->total--;
            mem_free(w->sess);
            mem_free(w);
        }
    }
    mem_free(wl->keys);
    mem_free(wl);
    s->watched = NULL;
    s->flags &= ~SESS_DIRTY_CAS;
}

static void watch_key(cmd_env_t *env, session_t *s, slice_t key)
{
    struct watch_reg_s *reg = registry(env);
    wlist_t *wl = s->watched;
    if (wl == NULL)
        wl = s->watched = mem_calloc(sizeof(wlist_t));
    for (int i = 0; i < wl->n; i++)
        if (wl->keys[i]->db == s->db && wl->keys[i]->klen == key.len &&
            memcmp(wl->keys[i]->key, key.p, key.len) == 0)
            return;
    wkey_t *w = (wkey_t *)dict_find(&reg->dbs[s->db], key.p, key.len);
    if (w == NULL) {
        w = mem_calloc(sizeof(wkey_t) + key.len);
        w->db = s->db;
        w->klen = (uint32_t)key.len;
        memcpy(w->key, key.p, key.len);
        dict_add(&reg->dbs[s->db], &w->node);
        reg->total++;
    }
    if (w->nsess == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 2;
        w->sess = mem_realloc(w->sess, sizeof(session_t *) * (size_t)w->cap);
    }
    w->sess[w->nsess++] = s;
    if (wl->n == wl->cap) {
        wl->cap = wl->cap ? wl->cap * 2 : 4;
        wl->keys = mem_realloc(wl->keys, sizeof(wkey_t *) * (size_t)wl->cap);
    }
    wl->keys[wl->n++] = w;
}

static void wkey_dirty(wkey_t *w)
{
    for (int j = 0; j < w->nsess; j++)
        w->sess[j]->flags |= SESS_DIRTY_CAS;
}

/* ks touch hook: a key changed (or, key.p == NULL, a whole db is about to be
 * flushed or swapped: watchers of keys that exist now become dirty). */
void cmd_touch_key(void *arg, int db, slice_t key)
{
    cmd_env_t *env = arg;
    struct watch_reg_s *reg = env->watch;
    blocking_key_touched(env, db, key);
    if (reg == NULL || reg->total == 0 || db < 0 || db >= reg->ndbs)
        return;
    dict_t *d = &reg->dbs[db];
    if (key.p != NULL) {
        wkey_t *w = (wkey_t *)dict_find(d, key.p, key.len);
        if (w != NULL)
            wkey_dirty(w);
        return;
    }
    db_t *kdb = ks_db(env->ks, db);
    dict_iter_t it;
    dict_iter_init(&it, d);
    for (dict_node_t *n; (n = dict_iter_next(&it)) != NULL;) {
        wkey_t *w = (wkey_t *)n;
        if (db_find(kdb, slice_make(w->key, w->klen)) != NULL)
            wkey_dirty(w);
    }
    dict_iter_deinit(&it);
}

/* SWAPDB: watchers of a key in either db whose existence changes get dirty. */
void cmd_touch_swapdb(cmd_env_t *env, int a, int b)
{
    cmd_touch_key(env, a, slice_make(NULL, 0));
    cmd_touch_key(env, b, slice_make(NULL, 0));
}

void multi_session_release(cmd_env_t *env, session_t *s)
{
    unwatch_all(env, s);
    multi_free(s->multi);
    s->multi = NULL;
    s->flags &= ~(SESS_MULTI | SESS_DIRTY_EXEC | SESS_DIRTY_CAS);
}

/* ---- dispatcher hook ------------------------------------------------------- */

static int runs_inside_multi(const cmd_def_t *cmd)
{
    const char *n = cmd->parent ? cmd->parent->name : cmd->name;
    return !strcmp(n, "exec") || !strcmp(n, "discard") || !strcmp(n, "multi") ||
           !strcmp(n, "watch") || !strcmp(n, "quit") || !strcmp(n, "reset");
}

int multi_precheck(cmd_env_t *env, session_t *s, reply_t *r, const cmd_def_t *cmd, int argc,
                   const slice_t *argv)
{
    (void)env;
    if (!(s->flags & SESS_MULTI) || runs_inside_multi(cmd))
        return 0;
    if (cmd->flags & CMD_NO_MULTI) {
        reply_error(r, "ERR Command not allowed inside a transaction");
        s->flags |= SESS_DIRTY_EXEC;
        return -1;
    }
    multi_queue(s, cmd, argc, argv);
    reply_status(r, "QUEUED");
    return 1;
}

/* ---- commands -------------------------------------------------------------- */

static void cmd_multi(cmd_ctx_t *ctx)
{
    if (ctx->s->flags & SESS_MULTI) {
        reply_error(ctx->r, "ERR MULTI calls can not be nested");
        return;
    }
    ctx->s->multi = mem_calloc(sizeof(struct multi_s));
    ctx->s->flags |= SESS_MULTI;
    reply_ok(ctx->r);
}

static void cmd_discard(cmd_ctx_t *ctx)
{
    if (!(ctx->s->flags & SESS_MULTI)) {
        reply_error(ctx->r, "ERR DISCARD without MULTI");
        return;
    }
    multi_session_release(ctx->env, ctx->s);
    reply_ok(ctx->r);
}

static void cmd_exec(cmd_ctx_t *ctx)
{
    session_t *s = ctx->s;
    if (!(s->flags & SESS_MULTI)) {
        reply_error(ctx->r, "ERR EXEC without MULTI");
        return;
    }
    if (s->flags & (SESS_DIRTY_EXEC | SESS_DIRTY_CAS)) {
        if (s->flags & SESS_DIRTY_EXEC)
            reply_error(ctx->r, "EXECABORT Transaction discarded because of previous errors.");
        else
            reply_null_array(ctx->r);
        multi_session_release(ctx->env, s);
        return;
    }
    struct multi_s *m = s->multi;
    s->multi = NULL;
    s->flags &= ~SESS_MULTI;
    unwatch_all(ctx->env, s);
    reply_array(ctx->r, m->n);
    propagate_begin_exec(ctx->env);
    for (int i = 0; i < m->n; i++)
        cmd_call(ctx->env, s, m->q[i].cmd, m->q[i].argc, m->q[i].argv);
    propagate_end_exec(ctx->env);
    multi_free(m);
}

static void cmd_watch(cmd_ctx_t *ctx)
{
    if (ctx->s->flags & SESS_MULTI) {
        reply_error(ctx->r, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    for (int i = 1; i < ctx->argc; i++)
        watch_key(ctx->env, ctx->s, ctx->argv[i]);
    reply_ok(ctx->r);
}

static void cmd_unwatch(cmd_ctx_t *ctx)
{
    unwatch_all(ctx->env, ctx->s);
    reply_ok(ctx->r);
}

#define TX_FLAGS (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_ALLOW_BUSY)
cmd_def_t cmd_table_multi[] = {
    {.name = "multi", .proc = cmd_multi, .arity = 1, .flags = TX_FLAGS},
    {.name = "exec",
     .proc = cmd_exec,
     .arity = 1,
     .flags = CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_SKIP_SLOWLOG | CMD_NO_PROPAGATE_ARGV},
    {.name = "discard", .proc = cmd_discard, .arity = 1, .flags = TX_FLAGS},
    {.name = "watch", .proc = cmd_watch, .arity = -2, .flags = TX_FLAGS, .key = {1, -1, 1}},
    {.name = "unwatch", .proc = cmd_unwatch, .arity = 1, .flags = TX_FLAGS},
    {0},
};
