/*
 * cmd_blocking.c — clients blocked on keys: BLPOP BRPOP BLMOVE BRPOPLPUSH
 * BLMPOP BZPOPMIN BZPOPMAX BZMPOP, the registry of blocked clients, serving
 * them when keys become ready, timeouts, and CLIENT UNBLOCK.
 *
 * Redis 7.0 semantics: with data the command answers at once and propagates
 * its non-blocking twin (BLPOP → LPOP key, BLMOVE → LMOVE ..., BLMPOP → LPOP
 * key n, BZPOPMIN → ZPOPMIN key, BZMPOP → ZPOPMIN key n). Without data, and
 * outside MULTI/EXEC, the session gets SESS_BLOCKED and no reply; the loop
 * stops running its input. Any change of a key (the ks touch hook, through
 * blocking_key_touched) marks it ready when someone waits on it; ready keys
 * are served right after the command that made them ready (after EXEC for
 * a transaction, blocking_after_call) and in before_sleep. Waiters of one
 * key are served first-blocked first; a waiter whose type does not match
 * the key's (BZPOPMIN on a list) stays blocked. A served client gets its
 * reply in its own buffer and is resumed (its pipelined input runs) from
 * blocking_before_sleep, like Redis's unblocked-clients queue.
 *
 * Must not: touch sockets or libuv (the loop is reached through env->host),
 * keep pointers into a client's query buffer (keys are copied at block time),
 * or modify the keyspace from the touch hook (it only records).
 *
 * Invariants:
 *  - s->blocked != NULL iff (s->flags & SESS_BLOCKED) iff the session's
 *    state is in the `blocked` list; stats->blocked_clients == its length.
 *  - Every waiter of a bkey belongs to a blocked state, and a bkey with no
 *    waiters is freed (except while it is being served, then right after).
 *  - A bkey is on the ready list iff its ready flag is set.
 */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "../lib/dict.h"
#include "../lib/mem.h"
#include "../lib/util.h"
#include "cmd_hooks.h"
#include "cmd_types.h"

/* What a blocked client waits for (the type of the key, and how it pops). */
enum { BK_LPOP, BK_LMPOP, BK_LMOVE, BK_ZPOP, BK_ZMPOP };

#define BK_MAX_SERVE_ROUNDS 100000 /* bound of the before_sleep loops */

typedef struct bkey_s bkey_t;
typedef struct bstate_s bstate_t;

/* One (client, key) link in a key's FIFO of waiters. */
typedef struct bwait_s {
    struct bwait_s *prev, *next;
    bkey_t *key;
    bstate_t *st;
} bwait_t;

/* A key somebody waits on (one per db and key). */
struct bkey_s {
    dict_node_t node; /* in reg.dbs[db]; must be first */
    int db;
    int ready;
    int serving;
    bkey_t *ready_next;
    bwait_t *head, *tail;
    size_t klen;
    char key[];
};

/* The blocking state of a session (s->blocked). */
struct bstate_s {
    session_t *s;
    const cmd_def_t *cmd;
    bstate_t *prev, *next; /* in reg.blocked, in blocking order */
    int kind;              /* BK_* */
    int where;             /* LIST_HEAD/LIST_TAIL, or 0 min / 1 max */
    int whereto;           /* BLMOVE */
    char from_tok[6];      /* BLMOVE's LEFT|RIGHT words for propagation */
    char to_tok[6];
    int rpoplpush; /* BRPOPLPUSH (propagated as RPOPLPUSH) */
    long count;    /* BLMPOP / BZMPOP */
    int db;
    uint64_t deadline_ms; /* 0: forever */
    char *dst;            /* BLMOVE destination (heap copy) */
    size_t dstlen;
    int nkeys;
    bwait_t waits[];
};

typedef struct registry_s {
    dict_t *dbs; /* per db: bkey_t by key */
    int ndbs;
    bstate_t *head, *tail; /* blocked sessions */
    bkey_t *ready_head, *ready_tail;
    session_t **resume; /* served, waiting to run their pipelined input */
    size_t nresume, resume_cap;
    uint64_t next_deadline; /* earliest deadline, 0: none (may be stale-early) */
    int serving;
} registry_t;

static registry_t reg;

static void bkey_dict_key(const dict_node_t *n, const char **k, size_t *len)
{
    const bkey_t *b = (const bkey_t *)n;
    *k = b->key;
    *len = b->klen;
}

static const dict_type_t bkey_dict_type = {.key = bkey_dict_key};

static void reg_init(cmd_env_t *env)
{
    if (reg.dbs != NULL)
        return;
    reg.ndbs = ks_ndbs(env->ks);
    reg.dbs = mem_alloc(sizeof(dict_t) * (size_t)reg.ndbs);
    for (int i = 0; i < reg.ndbs; i++)
        dict_init(&reg.dbs[i], &bkey_dict_type);
}

/* ---- keys and the ready list ------------------------------------------------ */

static bkey_t *bkey_get(int db, slice_t key)
{
    bkey_t *b = (bkey_t *)dict_find(&reg.dbs[db], key.p, key.len);
    if (b != NULL)
        return b;
    b = mem_calloc(sizeof(*b) + key.len);
    b->db = db;
    b->klen = key.len;
    memcpy(b->key, key.p, key.len);
    dict_add(&reg.dbs[db], &b->node);
    return b;
}

static void bkey_mark_ready(bkey_t *b)
{
    if (b->ready)
        return;
    b->ready = 1;
    b->ready_next = NULL;
    if (reg.ready_tail)
        reg.ready_tail->ready_next = b;
    else
        reg.ready_head = b;
    reg.ready_tail = b;
}

/* Free b if nobody waits on it and it is neither being served nor ready. */
static void bkey_maybe_free(bkey_t *b)
{
    if (b->head != NULL || b->serving || b->ready)
        return;
    dict_remove_node(&reg.dbs[b->db], &b->node);
    mem_free(b);
}

static bkey_t *ready_pop(void)
{
    bkey_t *b = reg.ready_head;
    if (b == NULL)
        return NULL;
    reg.ready_head = b->ready_next;
    if (reg.ready_head == NULL)
        reg.ready_tail = NULL;
    b->ready = 0;
    b->ready_next = NULL;
    return b;
}

void blocking_key_touched(cmd_env_t *env, int db, slice_t key)
{
    (void)env;
    if (reg.head == NULL || db < 0 || db >= reg.ndbs)
        return;
    dict_t *d = &reg.dbs[db];
    if (dict_size(d) == 0)
        return;
    if (key.p != NULL) {
        bkey_t *b = (bkey_t *)dict_find(d, key.p, key.len);
        if (b != NULL)
            bkey_mark_ready(b);
        return;
    }
    /* FLUSHDB / SWAPDB: any waited key of this db may have changed. */
    dict_iter_t it;
    dict_iter_init(&it, d);
    for (dict_node_t *n; (n = dict_iter_next(&it)) != NULL;)
        bkey_mark_ready((bkey_t *)n);
    dict_iter_deinit(&it);
}

/* ---- blocking and unblocking ------------------------------------------------ */

static void resume_push(session_t *s)
{
    if (reg.nresume == reg.resume_cap) {
        reg.resume_cap = reg.resume_cap ? reg.resume_cap * 2 : 16;
        reg.resume = mem_realloc(reg.resume, reg.resume_cap * sizeof(*reg.resume));
    }
    reg.resume[reg.nresume++] = s;
}

static void resume_forget(session_t *s)
{
    for (size_t i = 0; i < reg.nresume; i++)
        if (reg.resume[i] == s)
            reg.resume[i] = NULL;
}

/* Take st out of every key's FIFO and of the registry, free it, clear the
 * session's blocked state. Queues the session for resume when `resume`. */
static void unblock(cmd_env_t *env, bstate_t *st, int resume)
{
    session_t *s = st->s;
    for (int i = 0; i < st->nkeys; i++) {
        bwait_t *w = &st->waits[i];
        bkey_t *b = w->key;
        if (w->prev)
            w->prev->next = w->next;
        else
            b->head = w->next;
        if (w->next)
            w->next->prev = w->prev;
        else
            b->tail = w->prev;
        bkey_maybe_free(b);
    }
    if (st->prev)
        st->prev->next = st->next;
    else
        reg.head = st->next;
    if (st->next)
        st->next->prev = st->prev;
    else
        reg.tail = st->prev;
    mem_free(st->dst);
    mem_free(st);
    s->blocked = NULL;
    s->flags &= ~SESS_BLOCKED;
    if (env->stats->blocked_clients > 0)
        env->stats->blocked_clients--;
    if (resume) {
        resume_push(s);
        if (env->host != NULL && env->host->wakeup != NULL)
            env->host->wakeup(env->host->self, s);
    }
}

/* Block the session on keys [0, nkeys) with the parameters in tmpl. */
static void block_on(cmd_ctx_t *ctx, const slice_t *keys, int nkeys, const bstate_t *tmpl,
                     slice_t dst)
{
    cmd_env_t *env = ctx->env;
    reg_init(env);
    bstate_t *st = mem_calloc(sizeof(*st) + sizeof(bwait_t) * (size_t)nkeys);
    *st = *tmpl;
    st->s = ctx->s;
    st->cmd = ctx->cmd;
    st->db = ctx->s->db;
    st->nkeys = 0;
    /* Served later, BLMOVE propagates Redis's own lower-case words. */
    strcpy(st->from_tok, st->where == LIST_HEAD ? "left" : "right");
    strcpy(st->to_tok, st->whereto == LIST_HEAD ? "left" : "right");
    if (dst.p != NULL) {
        st->dst = mem_alloc(dst.len ? dst.len : 1);
        memcpy(st->dst, dst.p, dst.len);
        st->dstlen = dst.len;
    }
    for (int i = 0; i < nkeys; i++) {
        bkey_t *b = bkey_get(st->db, keys[i]);
        int dup = 0;
        for (int j = 0; j < st->nkeys; j++)
            dup |= st->waits[j].key == b;
        if (dup)
            continue; /* BLPOP k k 0 waits once on k */
        bwait_t *w = &st->waits[st->nkeys++];
        w->key = b;
        w->st = st;
        w->prev = b->tail;
        if (b->tail)
            b->tail->next = w;
        else
            b->head = w;
        b->tail = w;
    }
    st->prev = reg.tail;
    if (reg.tail)
        reg.tail->next = st;
    else
        reg.head = st;
    reg.tail = st;
    if (st->deadline_ms && (reg.next_deadline == 0 || st->deadline_ms < reg.next_deadline))
        reg.next_deadline = st->deadline_ms;
    ctx->s->blocked = st;
    ctx->s->flags |= SESS_BLOCKED;
    env->stats->blocked_clients++;
}

/* ---- the timeout argument ------------------------------------------------------ */

/*
 * Redis 7.0's rule: seconds as a long double, times 1000 rounded up, converted
 * to a long long (a value out of range becomes negative); 0 is forever.
 * Writes the error and returns -1, else fills *deadline (absolute ms or 0).
 */
static int parse_timeout(cmd_ctx_t *ctx, slice_t a, uint64_t *deadline)
{
    long double v;
    if (!str_to_ld(a.p, a.len, &v)) {
        reply_error(ctx->r, "ERR timeout is not a float or out of range");
        return -1;
    }
    long double ms = ceill(v * 1000.0L);
    long long t = LLONG_MIN;
    if (ms >= -9223372036854775808.0L && ms < 9223372036854775808.0L)
        t = (long long)ms;
    if (t < 0) {
        reply_error(ctx->r, "ERR timeout is negative");
        return -1;
    }
    uint64_t now = ctx->env->now_ms;
    *deadline = t == 0 ? 0 : ((uint64_t)t > UINT64_MAX - now ? UINT64_MAX : now + (uint64_t)t);
    return 0;
}

/* A blocking command may not block inside MULTI/EXEC or on a replication
 * link: it answers the timeout reply at once. */
static int may_block(const cmd_ctx_t *ctx)
{
    return ctx->env->exec_depth == 0 && !(ctx->s->flags & (SESS_MULTI | SESS_MASTER));
}

/* ---- propagation ------------------------------------------------------------------ */

static void prop_pop(cmd_env_t *env, int db, const char *name, slice_t key, long n)
{
    char num[LL_STR_MAX];
    slice_t argv[3] = {slice_make(name, strlen(name)), key, {0}};
    int argc = 2;
    if (n > 0) {
        argv[2] = slice_make(num, ll_to_str(num, n));
        argc = 3;
    }
    cmd_propagate(env, db, argc, argv);
}

static const char *pop_name(int kind, int where)
{
    if (kind == BK_ZPOP || kind == BK_ZMPOP)
        return where ? "ZPOPMAX" : "ZPOPMIN";
    return where == LIST_HEAD ? "LPOP" : "RPOP";
}

/* LMOVE src dst <from> <to>, or RPOPLPUSH src dst. Like Redis, an
 * immediate BLMOVE propagates the LEFT/RIGHT words as the client wrote them,
 * a served one "left"/"right" (block_on sets them). */
static void prop_move(cmd_env_t *env, int db, slice_t src, slice_t dst, const bstate_t *p)
{
    slice_t argv[5] = {SLICE_LIT("LMOVE"), src, dst, slice_make(p->from_tok, strlen(p->from_tok)),
                       slice_make(p->to_tok, strlen(p->to_tok))};
    if (p->rpoplpush) {
        argv[0] = SLICE_LIT("RPOPLPUSH");
        cmd_propagate(env, db, 3, argv);
        return;
    }
    cmd_propagate(env, db, 5, argv);
}

/*
 * Try one key for a client of kind/where/count (and dst for BLMOVE): pop and
 * reply. Returns > 0 served, 0 nothing there, -1 error written (WRONGTYPE).
 */
static long try_key(cmd_ctx_t *ctx, db_t *db, slice_t key, const bstate_t *p, slice_t dst)
{
    long n;
    switch (p->kind) {
    case BK_LPOP:
        n = list_pop_reply(ctx, db, key, p->where, 1, LIST_POP_KEY_ELEM);
        break;
    case BK_LMPOP:
        n = list_pop_reply(ctx, db, key, p->where, p->count, LIST_POP_KEY_ARRAY);
        break;
    case BK_LMOVE:
        n = list_move_reply(ctx, db, key, dst, p->where, p->whereto);
        if (n > 0)
            prop_move(ctx->env, db->id, key, dst, p);
        return n;
    case BK_ZPOP:
        n = zset_pop_reply(ctx, db, key, p->where, 1, ZPOP_KEY_FLAT);
        break;
    default:
        n = zset_pop_reply(ctx, db, key, p->where, p->count, ZPOP_KEY_NESTED);
        break;
    }
    if (n > 0) {
        int counted = p->kind == BK_LMPOP || p->kind == BK_ZMPOP;
        prop_pop(ctx->env, db->id, pop_name(p->kind, p->where), key, counted ? n : 0);
    }
    return n;
}

/* ---- the commands ---------------------------------------------------------------- */

/* The shared body: try keys in order, else block (or answer the timeout
 * reply inside MULTI). */
static void blocking_generic(cmd_ctx_t *ctx, const slice_t *keys, int nkeys, bstate_t *p,
                             slice_t dst, slice_t timeout)
{
    if (parse_timeout(ctx, timeout, &p->deadline_ms) != 0)
        return;
    db_t *db = types_db(ctx);
    for (int i = 0; i < nkeys; i++) {
        long n = try_key(ctx, db, keys[i], p, dst);
        if (n != 0)
            return;
    }
    if (!may_block(ctx)) {
        if (p->kind == BK_LMOVE)
            reply_null(ctx->r);
        else
            reply_null_array(ctx->r);
        return;
    }
    block_on(ctx, keys, nkeys, p, dst);
}

static void bpop(cmd_ctx_t *ctx, int kind, int where)
{
    bstate_t p = {.kind = kind, .where = where, .count = 1};
    blocking_generic(ctx, ctx->argv + 1, ctx->argc - 2, &p, (slice_t){0}, ctx->argv[ctx->argc - 1]);
}

static void cmd_blpop(cmd_ctx_t *ctx)
{
    bpop(ctx, BK_LPOP, LIST_HEAD);
}
static void cmd_brpop(cmd_ctx_t *ctx)
{
    bpop(ctx, BK_LPOP, LIST_TAIL);
}
static void cmd_bzpopmin(cmd_ctx_t *ctx)
{
    bpop(ctx, BK_ZPOP, 0);
}
static void cmd_bzpopmax(cmd_ctx_t *ctx)
{
    bpop(ctx, BK_ZPOP, 1);
}

static int list_side(cmd_ctx_t *ctx, slice_t a)
{
    if (slice_eq_ci(a, "left"))
        return LIST_HEAD;
    if (slice_eq_ci(a, "right"))
        return LIST_TAIL;
    reply_syntax_error(ctx->r);
    return -1;
}

/* BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout */
static void cmd_blmove(cmd_ctx_t *ctx)
{
    int from = list_side(ctx, ctx->argv[3]);
    if (from < 0)
        return;
    int to = list_side(ctx, ctx->argv[4]);
    if (to < 0)
        return;
    bstate_t p = {.kind = BK_LMOVE, .where = from, .whereto = to, .count = 1};
    memcpy(p.from_tok, ctx->argv[3].p, ctx->argv[3].len); /* "left" or "right", any case */
    memcpy(p.to_tok, ctx->argv[4].p, ctx->argv[4].len);
    blocking_generic(ctx, ctx->argv + 1, 1, &p, ctx->argv[2], ctx->argv[5]);
}

/* BRPOPLPUSH source destination timeout */
static void cmd_brpoplpush(cmd_ctx_t *ctx)
{
    bstate_t p = {.kind = BK_LMOVE, .where = LIST_TAIL, .whereto = LIST_HEAD, .rpoplpush = 1};
    blocking_generic(ctx, ctx->argv + 1, 1, &p, ctx->argv[2], ctx->argv[3]);
}

/* BLMPOP / BZMPOP timeout numkeys key [key ...] w0|w1 [COUNT count] */
static void bmpop(cmd_ctx_t *ctx, int kind, const char *w0, const char *w1)
{
    int nkeys, where;
    long count;
    if (types_parse_mpop(ctx, 2, w0, w1, &nkeys, &where, &count) != 0)
        return;
    if (kind == BK_LMPOP)
        where = where ? LIST_TAIL : LIST_HEAD;
    bstate_t p = {.kind = kind, .where = where, .count = count};
    blocking_generic(ctx, ctx->argv + 3, nkeys, &p, (slice_t){0}, ctx->argv[1]);
}

static void cmd_blmpop(cmd_ctx_t *ctx)
{
    bmpop(ctx, BK_LMPOP, "left", "right");
}
static void cmd_bzmpop(cmd_ctx_t *ctx)
{
    bmpop(ctx, BK_ZMPOP, "min", "max");
}

/* COMMAND GETKEYS of BLMPOP / BZMPOP: numkeys at argv[2]. */
static int getkeys_numkeys2(int argc, const slice_t *argv, int *keys, int max)
{
    long long n;
    if (argc < 3 || !str_to_ll(argv[2].p, argv[2].len, &n) || n < 1 || n > argc - 3)
        return 0;
    int got = 0;
    for (long long i = 0; i < n && got < max; i++)
        keys[got++] = 3 + (int)i;
    return got;
}

/* ---- serving ready keys ------------------------------------------------------------ */

static reply_t *quiet_reply(int resp)
{
    static reply_t scratch;
    static int init;
    if (!init) {
        reply_init(&scratch, resp);
        init = 1;
    }
    reply_clear(&scratch);
    scratch.resp = resp;
    return &scratch;
}

/* Count error replies written to r since `before` (INFO errorstats). */
static void note_errors(cmd_env_t *env, reply_t *r, uint64_t before)
{
    if (r->errors != before) {
        env->stats->total_error_replies += r->errors - before;
        errorstats_count(r->last_err_code);
    }
}

/* Serve waiter st on key b: returns 1 if it was served (and unblocked). */
static int serve_one(cmd_env_t *env, bkey_t *b, bstate_t *st)
{
    session_t *s = st->s;
    reply_t *r = (s->flags & SESS_REPLY_OFF) ? quiet_reply(s->resp) : s->r;
    uint64_t errs = r->errors;
    cmd_ctx_t ctx = {.env = env, .s = s, .r = r, .cmd = st->cmd};
    db_t *db = ks_db(env->ks, b->db);
    long n = try_key(&ctx, db, slice_make(b->key, b->klen), st,
                     slice_make(st->dst ? st->dst : "", st->dstlen));
    if (n == 0)
        return 0;
    note_errors(env, r, errs);
    unblock(env, st, 1);
    return 1;
}

/* 1 if the key's type fits what st waits for. */
static int type_fits(const bstate_t *st, const kv_t *kv)
{
    int zset = st->kind == BK_ZPOP || st->kind == BK_ZMPOP;
    return kv->type == (unsigned)(zset ? OBJ_ZSET : OBJ_LIST);
}

/* Serve b's waiters in FIFO order while the key holds data. */
static void serve_key(cmd_env_t *env, bkey_t *b)
{
    db_t *db = ks_db(env->ks, b->db);
    slice_t key = slice_make(b->key, b->klen);
    b->serving = 1;
    for (bwait_t *w = b->head, *next; w != NULL; w = next) {
        next = w->next;
        kv_t *kv = db_lookup_flags(db, key, env->now_ms, DB_LOOKUP_WRITE | DB_LOOKUP_NOTOUCH);
        if (kv == NULL)
            break;
        if (!type_fits(w->st, kv))
            continue;
        if (!serve_one(env, b, w->st))
            break;
    }
    b->serving = 0;
    bkey_maybe_free(b);
}

static void serve_ready(cmd_env_t *env)
{
    if (reg.serving || reg.ready_head == NULL)
        return;
    reg.serving = 1;
    for (int rounds = 0; rounds < BK_MAX_SERVE_ROUNDS; rounds++) {
        bkey_t *b = ready_pop();
        if (b == NULL)
            break;
        if (b->head == NULL)
            bkey_maybe_free(b);
        else
            serve_key(env, b);
    }
    reg.serving = 0;
}

void blocking_after_call(cmd_env_t *env)
{
    if (env->exec_depth == 0 && reg.ready_head != NULL)
        serve_ready(env);
}

/* ---- timeouts, CLIENT UNBLOCK ------------------------------------------------------ */

/* Answer the timeout reply (null array; BLMOVE's is a null array too when it
 * had blocked) or the UNBLOCKED error, and unblock. */
static void unblock_with(cmd_env_t *env, bstate_t *st, int error)
{
    session_t *s = st->s;
    reply_t *r = (s->flags & SESS_REPLY_OFF) ? quiet_reply(s->resp) : s->r;
    uint64_t errs = r->errors;
    if (error)
        reply_error(r, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
    else
        reply_null_array(r);
    note_errors(env, r, errs);
    unblock(env, st, 1);
}

static void expire_blocked(cmd_env_t *env, uint64_t now_ms)
{
    if (reg.next_deadline == 0 || reg.next_deadline > now_ms)
        return;
    uint64_t next = 0;
    for (bstate_t *st = reg.head, *nx; st != NULL; st = nx) {
        nx = st->next;
        if (st->deadline_ms == 0)
            continue;
        if (st->deadline_ms <= now_ms)
            unblock_with(env, st, 0);
        else if (next == 0 || st->deadline_ms < next)
            next = st->deadline_ms;
    }
    reg.next_deadline = next;
}

/* CLIENT UNBLOCK client-id [TIMEOUT|ERROR] */
void cmd_client_unblock(cmd_ctx_t *ctx)
{
    int error = 0;
    if (ctx->argc > 4) {
        reply_errorf(ctx->r,
                     "ERR unknown subcommand or wrong number of arguments for '%.*s'. "
                     "Try CLIENT HELP.",
                     (int)(ctx->argv[1].len > 128 ? 128 : ctx->argv[1].len), ctx->argv[1].p);
        return;
    }
    if (ctx->argc == 4) {
        if (slice_eq_ci(ctx->argv[3], "error")) {
            error = 1;
        } else if (!slice_eq_ci(ctx->argv[3], "timeout")) {
            reply_error(ctx->r, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    }
    long long id;
    if (arg_ll(ctx, ctx->argv[2], &id) != 0)
        return;
    for (bstate_t *st = reg.head; st != NULL; st = st->next) {
        if ((long long)st->s->id == id) {
            unblock_with(ctx->env, st, error);
            reply_int(ctx->r, 1);
            return;
        }
    }
    reply_int(ctx->r, 0);
}

uint64_t blocking_clients_in_timeout_table(void)
{
    uint64_t n = 0;
    for (const bstate_t *st = reg.head; st != NULL; st = st->next)
        n += st->deadline_ms != 0;
    return n;
}

/* ---- loop entry points -------------------------------------------------------------- */

static void resume_all(cmd_env_t *env)
{
    const cmd_host_t *h = env->host;
    size_t i;
    for (i = 0; i < reg.nresume && i < BK_MAX_SERVE_ROUNDS; i++) {
        session_t *s = reg.resume[i];
        reg.resume[i] = NULL;
        if (s != NULL && h != NULL && h->resume != NULL && !(s->flags & SESS_BLOCKED))
            h->resume(h->self, s);
        serve_ready(env);
    }
    if (i > 0) {
        memmove(reg.resume, reg.resume + i, (reg.nresume - i) * sizeof(*reg.resume));
        reg.nresume -= i;
    }
}

void blocking_before_sleep(cmd_env_t *env)
{
    serve_ready(env);
    expire_blocked(env, env->now_ms);
    resume_all(env);
}

void blocking_cron(cmd_env_t *env, uint64_t now_ms)
{
    serve_ready(env);
    expire_blocked(env, now_ms);
    resume_all(env);
}

void blocking_session_release(cmd_env_t *env, session_t *s)
{
    resume_forget(s);
    if (s->blocked != NULL)
        unblock(env, s->blocked, 0);
}

/* ---- the table ------------------------------------------------------------------------ */

#define BLK (CMD_WRITE | CMD_BLOCKING | CMD_NO_PROPAGATE_ARGV)

cmd_def_t cmd_table_blocking[] = {
    {.name = "blpop",
     .proc = cmd_blpop,
     .arity = -3,
     .flags = BLK | CMD_NOSCRIPT,
     .key = {1, -2, 1}},
    {.name = "brpop",
     .proc = cmd_brpop,
     .arity = -3,
     .flags = BLK | CMD_NOSCRIPT,
     .key = {1, -2, 1}},
    {.name = "blmove",
     .proc = cmd_blmove,
     .arity = 6,
     .flags = BLK | CMD_DENYOOM | CMD_NOSCRIPT,
     .key = {1, 2, 1}},
    {.name = "brpoplpush",
     .proc = cmd_brpoplpush,
     .arity = 4,
     .flags = BLK | CMD_DENYOOM | CMD_NOSCRIPT,
     .key = {1, 2, 1}},
    {.name = "blmpop",
     .proc = cmd_blmpop,
     .arity = -5,
     .flags = BLK | CMD_MOVABLE_KEYS,
     .key = {0, 0, 0},
     .getkeys = getkeys_numkeys2},
    {.name = "bzpopmin",
     .proc = cmd_bzpopmin,
     .arity = -3,
     .flags = BLK | CMD_NOSCRIPT | CMD_FAST,
     .key = {1, -2, 1}},
    {.name = "bzpopmax",
     .proc = cmd_bzpopmax,
     .arity = -3,
     .flags = BLK | CMD_NOSCRIPT | CMD_FAST,
     .key = {1, -2, 1}},
    {.name = "bzmpop",
     .proc = cmd_bzmpop,
     .arity = -5,
     .flags = BLK | CMD_MOVABLE_KEYS,
     .key = {0, 0, 0},
     .getkeys = getkeys_numkeys2},
    {0},
};
