/*
 * cmd_list.c — the list family: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN
 * LRANGE LINDEX LSET LINSERT LREM LTRIM LPOS LMOVE RPOPLPUSH LMPOP, and the
 * pop/move cores (list_pop_reply, list_move_reply) that the blocking
 * commands reuse (see cmd_types.h).
 *
 * Owns: the rows of this family and their handlers over quicklist.h.
 * Must not: keep a borrowed element across a write to its list (LMOVE on one
 * key copies first), or leave an empty list in the keyspace.
 * Invariant: a list entry is always OBJ_LIST / ENC_QUICKLIST (Redis 7.0 has
 * no other list encoding); the quicklist pointer never changes.
 */
#include <limits.h>

#include "../ks/quicklist.h"
#include "../lib/mem.h"
#include "../lib/util.h"
#include "cmd_types.h"

static kv_t *list_read(cmd_ctx_t *ctx, int *wrong)
{
    return types_lookup_read(ctx, types_db(ctx), ctx->argv[1], OBJ_LIST, wrong);
}

static kv_t *list_create(cmd_ctx_t *ctx, db_t *db, slice_t key)
{
    kv_val_t v = kv_val_ptr(OBJ_LIST, ENC_QUICKLIST, quicklist_new(types_list_fill()));
    return db_add(db, key, &v, -1, ctx->env->now_ms);
}

/* After removing elements: delete the key if the list is empty, else tell
 * listeners it changed. */
static void list_after_remove(db_t *db, slice_t key, const quicklist_t *ql)
{
    if (quicklist_count(ql) == 0)
        db_delete(db, key);
    else
        db_modified(db, key);
}

/* LEFT / RIGHT → LIST_HEAD / LIST_TAIL; -1 after a syntax error reply. */
static int list_where(cmd_ctx_t *ctx, slice_t a)
{
    if (slice_eq_ci(a, "left"))
        return LIST_HEAD;
    if (slice_eq_ci(a, "right"))
        return LIST_TAIL;
    reply_syntax_error(ctx->r);
    return -1;
}

/* ---- push ---------------------------------------------------------------------- */

static void list_push(cmd_ctx_t *ctx, int where, int only_existing)
{
    db_t *db = types_db(ctx);
    int wrong, created = 0;
    kv_t *kv = types_lookup_write(ctx, db, ctx->argv[1], OBJ_LIST, &wrong);
    if (wrong)
        return;
    if (kv == NULL) {
        if (only_existing) {
            reply_int(ctx->r, 0);
            return;
        }
        kv = list_create(ctx, db, ctx->argv[1]);
        created = 1;
    }
    quicklist_t *ql = kv_ptr(kv);
    for (int i = 2; i < ctx->argc; i++)
        quicklist_push(ql, where, ctx->argv[i].p, ctx->argv[i].len);
    if (!created)
        db_modified(db, ctx->argv[1]);
    cmd_dirty(ctx, ctx->argc - 2);
    reply_int(ctx->r, (long long)quicklist_count(ql));
}

static void cmd_lpush(cmd_ctx_t *ctx) { list_push(ctx, LIST_HEAD, 0); }
static void cmd_rpush(cmd_ctx_t *ctx) { list_push(ctx, LIST_TAIL, 0); }
static void cmd_lpushx(cmd_ctx_t *ctx) { list_push(ctx, LIST_HEAD, 1); }
static void cmd_rpushx(cmd_ctx_t *ctx) { list_push(ctx, LIST_TAIL, 1); }

/* ---- pop cores ----------------------------------------------------------------- */

long list_pop_reply(cmd_ctx_t *ctx, db_t *db, slice_t key, int where, long count, int mode)
{
    int wrong;
    kv_t *kv = types_lookup_write(ctx, db, key, OBJ_LIST, &wrong);
    if (wrong)
        return -1;
    if (kv == NULL)
        return 0;
    quicklist_t *ql = kv_ptr(kv);
    size_t llen = quicklist_count(ql);
    long n = count < 1 ? 1 : ((size_t)count > llen ? (long)llen : count);
    if (mode == LIST_POP_ARRAY) {
        reply_array(ctx->r, n);
    } else if (mode == LIST_POP_KEY_ELEM || mode == LIST_POP_KEY_ARRAY) {
        reply_array(ctx->r, 2);
        reply_bulk(ctx->r, key.p, key.len);
        if (mode == LIST_POP_KEY_ARRAY)
            reply_array(ctx->r, n);
    }
    for (long i = 0; i < n; i++) {
        listpack_val_t v;
        quicklist_peek(ql, where, &v);
        types_reply_val(ctx->r, &v);
        quicklist_pop(ql, where);
    }
    list_after_remove(db, key, ql);
    cmd_dirty(ctx, n);
    return n;
}

/* An element copied out of a list (it must survive writes to that list). */
typedef struct elem_copy_s {
    listpack_val_t v;
    char small[128];
    char *heap;
} elem_copy_t;

static void elem_copy(elem_copy_t *c, const listpack_val_t *v)
{
    c->v = *v;
    c->heap = NULL;
    if (v->s == NULL)
        return;
    char *dst = c->small;
    if (v->len > sizeof(c->small))
        dst = c->heap = mem_alloc(v->len);
    if (v->len)
        memcpy(dst, v->s, v->len);
    c->v.s = (const unsigned char *)dst;
}

static void elem_push(quicklist_t *ql, int where, const elem_copy_t *c)
{
    if (c->v.s == NULL)
        quicklist_push_int(ql, where, c->v.v);
    else
        quicklist_push(ql, where, (const char *)c->v.s, c->v.len);
}

int list_move_reply(cmd_ctx_t *ctx, db_t *db, slice_t src, slice_t dst, int wherefrom,
                    int whereto)
{
    int wrong;
    kv_t *skv = types_lookup_write(ctx, db, src, OBJ_LIST, &wrong);
    if (wrong)
        return -1;
    if (skv == NULL)
        return 0;
    kv_t *dkv = types_lookup_write(ctx, db, dst, OBJ_LIST, &wrong);
    if (wrong)
        return -1;
    quicklist_t *sql = kv_ptr(skv);
    listpack_val_t v;
    elem_copy_t c;
    quicklist_peek(sql, wherefrom, &v);
    elem_copy(&c, &v);
    quicklist_pop(sql, wherefrom);
    int created = dkv == NULL;
    if (created)
        dkv = list_create(ctx, db, dst);
    elem_push(kv_ptr(dkv), whereto, &c);
    if (!created && !slice_eq(src, dst))
        db_modified(db, dst);
    list_after_remove(db, src, sql);
    cmd_dirty(ctx, 1);
    types_reply_val(ctx->r, &c.v);
    mem_free(c.heap);
    return 1;
}

/* ---- pop commands ---------------------------------------------------------------- */

static void list_pop_command(cmd_ctx_t *ctx, int where)
{
    long long count = 1;
    int hascount = ctx->argc == 3;
    if (ctx->argc > 3) {
        reply_wrong_arity(ctx->r, ctx->cmd);
        return;
    }
    if (hascount && (arg_ll_msg(ctx, ctx->argv[2], &count,
                                "ERR value is out of range, must be positive") != 0))
        return;
    if (count < 0) {
        reply_error(ctx->r, "ERR value is out of range, must be positive");
        return;
    }
    db_t *db = types_db(ctx);
    if (count == 0) {
        int wrong;
        kv_t *kv = types_lookup_write(ctx, db, ctx->argv[1], OBJ_LIST, &wrong);
        if (wrong)
            return;
        if (kv == NULL)
            reply_null_array(ctx->r);
        else
            reply_array(ctx->r, 0);
        return;
    }
    long n = list_pop_reply(ctx, db, ctx->argv[1], where, count > LONG_MAX ? LONG_MAX : (long)count,
                            hascount ? LIST_POP_ARRAY : LIST_POP_SINGLE);
    if (n == 0 && hascount)
        reply_null_array(ctx->r);
    else if (n == 0)
        reply_null(ctx->r);
}

static void cmd_lpop(cmd_ctx_t *ctx) { list_pop_command(ctx, LIST_HEAD); }
static void cmd_rpop(cmd_ctx_t *ctx) { list_pop_command(ctx, LIST_TAIL); }

static void cmd_lmove(cmd_ctx_t *ctx)
{
    int wf = list_where(ctx, ctx->argv[3]);
    if (wf < 0)
        return;
    int wt = list_where(ctx, ctx->argv[4]);
    if (wt < 0)
        return;
    if (list_move_reply(ctx, types_db(ctx), ctx->argv[1], ctx->argv[2], wf, wt) == 0)
        reply_null(ctx->r);
}

static void cmd_rpoplpush(cmd_ctx_t *ctx)
{
    if (list_move_reply(ctx, types_db(ctx), ctx->argv[1], ctx->argv[2], LIST_TAIL, LIST_HEAD) == 0)
        reply_null(ctx->r);
}

static void cmd_lmpop(cmd_ctx_t *ctx)
{
    int nkeys, where;
    long count;
    if (types_parse_mpop(ctx, 1, "left", "right", &nkeys, &where, &count) != 0)
        return;
    db_t *db = types_db(ctx);
    for (int i = 0; i < nkeys; i++) {
        slice_t key = ctx->argv[2 + i];
        long n = list_pop_reply(ctx, db, key, where, count, LIST_POP_KEY_ARRAY);
        if (n < 0)
            return;
        if (n > 0) {
            char num[LL_STR_MAX];
            slice_t prop[3] = {where == LIST_HEAD ? SLICE_LIT("LPOP") : SLICE_LIT("RPOP"), key,
                               slice_make(num, ll_to_str(num, n))};
            types_propagate(ctx, 3, prop);
            return;
        }
    }
    reply_null_array(ctx->r);
}

/* ---- reads ----------------------------------------------------------------------- */

static void cmd_llen(cmd_ctx_t *ctx)
{
    int wrong;
    kv_t *kv = list_read(ctx, &wrong);
    if (!wrong)
        reply_int(ctx->r, kv ? (long long)quicklist_count(kv_ptr(kv)) : 0);
}

static void cmd_lrange(cmd_ctx_t *ctx)
{
    long long start, end;
    if (arg_ll(ctx, ctx->argv[2], &start) != 0 || arg_ll(ctx, ctx->argv[3], &end) != 0)
        return;
    int wrong;
    kv_t *kv = list_read(ctx, &wrong);
    if (wrong)
        return;
    if (kv == NULL) {
        reply_array(ctx->r, 0);
        return;
    }
    quicklist_t *ql = kv_ptr(kv);
    long long llen = (long long)quicklist_count(ql);
    if (start < 0)
        start += llen;
    if (end < 0)
        end += llen;
    if (start < 0)
        start = 0;
    if (start > end || start >= llen) {
        reply_array(ctx->r, 0);
        return;
    }
    if (end >= llen)
        end = llen - 1;
    reply_array(ctx->r, end - start + 1);
    quicklist_iter_t it;
    listpack_val_t v;
    quicklist_iter_init_at(&it, ql, QUICKLIST_FORWARD, (long)start);
    for (long long i = start; i <= end && quicklist_iter_next(&it, &v); i++)
        types_reply_val(ctx->r, &v);
}

static void cmd_lindex(cmd_ctx_t *ctx)
{
    int wrong;
    kv_t *kv = list_read(ctx, &wrong);
    if (wrong)
        return;
    long long idx;
    if (kv != NULL && arg_ll(ctx, ctx->argv[2], &idx) != 0)
        return;
    listpack_val_t v;
    if (kv == NULL || idx < LONG_MIN || idx > LONG_MAX ||
        !quicklist_index(kv_ptr(kv), (long)idx, &v))
        reply_null(ctx->r);
    else
        types_reply_val(ctx->r, &v);
}

/* ---- in-place writes ---------------------------------------------------------------- */

static void cmd_lset(cmd_ctx_t *ctx)
{
    db_t *db = types_db(ctx);
    int wrong;
    kv_t *kv = types_lookup_write(ctx, db, ctx->argv[1], OBJ_LIST, &wrong);
    if (wrong)
        return;
    if (kv == NULL) {
        reply_error(ctx->r, "ERR no such key");
        return;
    }
    long long idx;
    if (arg_ll(ctx, ctx->argv[2], &idx) != 0)
        return;
    if (!quicklist_replace_at(kv_ptr(kv), (long)idx, ctx->argv[3].p, ctx->argv[3].len)) {
        reply_error(ctx->r, "ERR index out of range");
        return;
    }
    db_modified(db, ctx->argv[1]);
    cmd_dirty(ctx, 1);
    reply_ok(ctx->r);
}

static void cmd_linsert(cmd_ctx_t *ctx)
{
    int after;
    if (slice_eq_ci(ctx->argv[2], "after"))
        after = 1;
    else if (slice_eq_ci(ctx->argv[2], "before"))
        after = 0;
    else {
        reply_syntax_error(ctx->r);
        return;
    }
    db_t *db = types_db(ctx);
    int wrong;
    kv_t *kv = types_lookup_write(ctx, db, ctx->argv[1], OBJ_LIST, &wrong);
    if (wrong)
        return;
    if (kv == NULL) {
        reply_int(ctx->r, 0);
        return;
    }
    quicklist_t *ql = kv_ptr(kv);
    quicklist_iter_t it;
    listpack_val_t v;
    quicklist_iter_init(&it, ql, QUICKLIST_FORWARD);
    while (quicklist_iter_next(&it, &v)) {
        if (quicklist_iter_eq(&it, ctx->argv[3].p, ctx->argv[3].len)) {
            quicklist_iter_insert(&it, after, ctx->argv[4].p, ctx->argv[4].len);
            db_modified(db, ctx->argv[1]);
            cmd_dirty(ctx, 1);
            reply_int(ctx->r, (long long)quicklist_count(ql));
            return;
        }
    }
    reply_int(ctx->r, -1);
}

static void cmd_lrem(cmd_ctx_t *ctx)
{
    long long count;
    if (arg_ll(ctx, ctx->argv[2], &count) != 0)
        return;
    db_t *db = types_db(ctx);
    int wrong;
    kv_t *kv = types_lookup_write(ctx, db, ctx->argv[1], OBJ_LIST, &wrong);
    if (wrong)
        return;
    if (kv == NULL) {
        reply_int(ctx->r, 0);
        return;
    }
    quicklist_t *ql = kv_ptr(kv);
    quicklist_iter_t it;
    listpack_val_t v;
    long long removed = 0;
    unsigned long long limit = count < 0 ? 0ULL - (unsigned long long)count : (unsigned long long)count;
    quicklist_iter_init(&it, ql, count < 0 ? QUICKLIST_BACKWARD : QUICKLIST_FORWARD);
    while (quicklist_iter_next(&it, &v)) {
        if (!quicklist_iter_eq(&it, ctx->argv[3].p, ctx->argv[3].len))
            continue;
        quicklist_iter_delete(&it);
        removed++;
        if (limit && (unsigned long long)removed == limit)
            break;
    }
    if (removed) {
        list_after_remove(db, ctx->argv[1], ql);
        cmd_dirty(ctx, removed);
    }
    reply_int(ctx->r, removed);
}

static void cmd_ltrim(cmd_ctx_t *ctx)
{
    long long start, end;
    if (arg_ll(ctx, ctx->argv[2], &start) != 0 || arg_ll(ctx, ctx->argv[3], &end) != 0)
        return;
    db_t *db = types_db(ctx);
    int wrong;
    kv_t *kv = types_lookup_write(ctx, db, ctx->argv[1], OBJ_LIST, &wrong);
    if (wrong)
        return;
    if (kv == NULL) {
        reply_ok(ctx->r);
        return;
    }
    quicklist_t *ql = kv_ptr(kv);
    long long llen = (long long)quicklist_count(ql), ltrim, rtrim;
    if (start < 0)
        start += llen;
    if (end < 0)
        end += llen;
    if (start < 0)
        start = 0;
    if (start > end || start >= llen) {
        ltrim = llen;
        rtrim = 0;
    } else {
        if (end >= llen)
            end = llen - 1;
        ltrim = start;
        rtrim = llen - end - 1;
    }
    quicklist_del_range(ql, 0, (size_t)ltrim);
    if (rtrim)
        quicklist_del_range(ql, (long)-rtrim, (size_t)rtrim);
    list_after_remove(db, ctx->argv[1], ql);
    cmd_dirty(ctx, ltrim + rtrim);
    reply_ok(ctx->r);
}

/* ---- LPOS ------------------------------------------------------------------------------ */

typedef struct lpos_opts_s {
    long long rank, count, maxlen; /* count -1: not given */
} lpos_opts_t;

static int lpos_options(cmd_ctx_t *ctx, lpos_opts_t *o)
{
    o->rank = 1, o->count = -1, o->maxlen = 0;
    for (int j = 3; j < ctx->argc; j++) {
        int more = ctx->argc - 1 - j;
        slice_t opt = ctx->argv[j];
        if (slice_eq_ci(opt, "rank") && more) {
            if (arg_ll(ctx, ctx->argv[++j], &o->rank) != 0)
                return -1;
            if (o->rank == 0) {
                reply_error(ctx->r, "ERR RANK can't be zero: use 1 to start from the first "
                                    "match, 2 from the second ... or use negative to start "
                                    "from the end of the list");
                return -1;
            }
        } else if (slice_eq_ci(opt, "count") && more) {
            const char *msg = "ERR COUNT can't be negative";
            if (arg_ll_msg(ctx, ctx->argv[++j], &o->count, msg) != 0)
                return -1;
            if (o->count < 0)
                return reply_error(ctx->r, msg), -1;
        } else if (slice_eq_ci(opt, "maxlen") && more) {
            const char *msg = "ERR MAXLEN can't be negative";
            if (arg_ll_msg(ctx, ctx->argv[++j], &o->maxlen, msg) != 0)
                return -1;
            if (o->maxlen < 0)
                return reply_error(ctx->r, msg), -1;
        } else {
            reply_syntax_error(ctx->r);
            return -1;
        }
    }
    return 0;
}

static void cmd_lpos(cmd_ctx_t *ctx)
{
    lpos_opts_t o;
    if (lpos_options(ctx, &o) != 0)
        return;
    int backward = o.rank < 0;
    long long rank = backward ? (long long)(0ULL - (unsigned long long)o.rank) : o.rank;
    int wrong;
    kv_t *kv = list_read(ctx, &wrong);
    if (wrong)
        return;
    if (kv == NULL) {
        if (o.count != -1)
            reply_array(ctx->r, 0);
        else
            reply_null(ctx->r);
        return;
    }
    quicklist_t *ql = kv_ptr(kv);
    long long llen = (long long)quicklist_count(ql), index = 0, matches = 0, found = -1, n = 0;
    reply_defer_t d;
    if (o.count != -1)
        d = reply_defer(ctx->r);
    quicklist_iter_t it;
    listpack_val_t v;
    quicklist_iter_init(&it, ql, backward ? QUICKLIST_BACKWARD : QUICKLIST_FORWARD);
    for (; quicklist_iter_next(&it, &v) && (o.maxlen == 0 || index < o.maxlen); index++) {
        if (!quicklist_iter_eq(&it, ctx->argv[2].p, ctx->argv[2].len) || ++matches < rank)
            continue;
        found = backward ? llen - index - 1 : index;
        if (o.count == -1)
            break;
        n++;
        reply_int(ctx->r, found);
        if (o.count && matches - rank + 1 >= o.count)
            break;
    }
    if (o.count != -1)
        reply_defer_array(ctx->r, d, n);
    else if (found != -1)
        reply_int(ctx->r, found);
    else
        reply_null(ctx->r);
}

#define W_DF (CMD_WRITE | CMD_DENYOOM | CMD_FAST)
#define W_D (CMD_WRITE | CMD_DENYOOM)

cmd_def_t cmd_table_list[] = {
    {.name = "lpush", .proc = cmd_lpush, .arity = -3, .flags = W_DF, .key = {1, 1, 1}},
    {.name = "rpush", .proc = cmd_rpush, .arity = -3, .flags = W_DF, .key = {1, 1, 1}},
    {.name = "lpushx", .proc = cmd_lpushx, .arity = -3, .flags = W_DF, .key = {1, 1, 1}},
    {.name = "rpushx", .proc = cmd_rpushx, .arity = -3, .flags = W_DF, .key = {1, 1, 1}},
    {.name = "lpop", .proc = cmd_lpop, .arity = -2, .flags = CMD_WRITE | CMD_FAST, .key = {1, 1, 1}},
    {.name = "rpop", .proc = cmd_rpop, .arity = -2, .flags = CMD_WRITE | CMD_FAST, .key = {1, 1, 1}},
    {.name = "llen", .proc = cmd_llen, .arity = 2, .flags = CMD_READONLY | CMD_FAST, .key = {1, 1, 1}},
    {.name = "lrange", .proc = cmd_lrange, .arity = 4, .flags = CMD_READONLY, .key = {1, 1, 1}},
    {.name = "lindex", .proc = cmd_lindex, .arity = 3, .flags = CMD_READONLY, .key = {1, 1, 1}},
    {.name = "lset", .proc = cmd_lset, .arity = 4, .flags = W_D, .key = {1, 1, 1}},
    {.name = "linsert", .proc = cmd_linsert, .arity = 5, .flags = W_D, .key = {1, 1, 1}},
    {.name = "lrem", .proc = cmd_lrem, .arity = 4, .flags = CMD_WRITE, .key = {1, 1, 1}},
    {.name = "ltrim", .proc = cmd_ltrim, .arity = 4, .flags = CMD_WRITE, .key = {1, 1, 1}},
    {.name = "lpos", .proc = cmd_lpos, .arity = -3, .flags = CMD_READONLY, .key = {1, 1, 1}},
    {.name = "lmove", .proc = cmd_lmove, .arity = 5, .flags = W_D, .key = {1, 2, 1}},
    {.name = "rpoplpush", .proc = cmd_rpoplpush, .arity = 3, .flags = W_D, .key = {1, 2, 1}},
    {.name = "lmpop",
     .proc = cmd_lmpop,
     .arity = -4,
     .flags = CMD_WRITE | CMD_MOVABLE_KEYS | CMD_NO_PROPAGATE_ARGV,
     .key = {0, 0, 0},
     .getkeys = types_getkeys_numkeys1},
    {0},
};
