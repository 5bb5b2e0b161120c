/*
 * cmd_types.c — what the data-type families share (see cmd_types.h): type
 * registration and limits, typed lookups, the H/S/ZSCAN engine, the
 * LMPOP/ZMPOP argument parser, propagation of rewritten commands and the
 * COMMAND GETKEYS helpers of the numkeys commands.
 *
 * Must not: hold per-client state or write replies outside the calls that
 * say so. Invariant: limits only change through types_init.
 */
#include "cmd_hooks.h"
#include "cmd_types.h"

#include <limits.h>

#include "../conf/config.h"
#include "../ks/quicklist.h"
#include "../ks/thash.h"
#include "../ks/tset.h"
#include "../ks/zset.h"
#include "../lib/mem.h"
#include "../lib/util.h"

static int list_fill = QUICKLIST_FILL_DEFAULT;

static size_t clamp_size(long long v)
{
    return v < 0 ? 0 : (size_t)v;
}

void types_init(const struct config_s *cfg)
{
    kv_register_type(OBJ_LIST, &quicklist_kv_ops);
    kv_register_type(OBJ_SET, &tset_kv_ops);
    kv_register_type(OBJ_ZSET, &zset_kv_ops);
    kv_register_type(OBJ_HASH, &thash_kv_ops);
    if (cfg == NULL) {
        thash_set_limits(512, 64);
        zset_set_limits(128, 64);
        tset_set_limits(512);
        list_fill = QUICKLIST_FILL_DEFAULT;
        return;
    }
    thash_set_limits(clamp_size(cfg->hash_max_listpack_entries),
                     clamp_size(cfg->hash_max_listpack_value));
    zset_set_limits(clamp_size(cfg->zset_max_listpack_entries),
                    clamp_size(cfg->zset_max_listpack_value));
    tset_set_limits(clamp_size(cfg->set_max_intset_entries));
    list_fill = cfg->list_max_listpack_size;
}

int types_list_fill(void)
{
    return list_fill;
}

db_t *types_db(cmd_ctx_t *ctx)
{
    return ks_db(ctx->env->ks, ctx->s->db);
}

static kv_t *typed(cmd_ctx_t *ctx, kv_t *kv, int type, int *wrong)
{
    *wrong = 0;
    if (kv != NULL && kv->type != (unsigned)type) {
        reply_wrongtype(ctx->r);
        *wrong = 1;
        return NULL;
    }
    return kv;
}

kv_t *types_lookup_read(cmd_ctx_t *ctx, db_t *db, slice_t key, int type, int *wrong)
{
    return typed(ctx, db_lookup(db, key, ctx->env->now_ms), type, wrong);
}

kv_t *types_lookup_write(cmd_ctx_t *ctx, db_t *db, slice_t key, int type, int *wrong)
{
    return typed(ctx, db_lookup_write(db, key, ctx->env->now_ms), type, wrong);
}

void types_reply_val(reply_t *r, const listpack_val_t *v)
{
    if (v->s == NULL)
        reply_bulk_ll(r, v->v);
    else
        reply_bulk(r, v->s, v->len);
}

void types_propagate(cmd_ctx_t *ctx, int argc, const slice_t *argv)
{
    cmd_propagate(ctx->env, ctx->s->db, argc, argv); /* MULTI/EXEC wrapping inside EXEC */
}

int types_rand_count(cmd_ctx_t *ctx, slice_t a, long long *out)
{
    if (arg_ll(ctx, a, out) != 0)
        return -1;
    if (*out == LLONG_MIN) {
        reply_error(ctx->r, "ERR value is out of range, value must between "
                            "-9223372036854775807 and 9223372036854775807");
        return -1;
    }
    return 0;
}

/* ---- SCAN engine ------------------------------------------------------------ */

/* Collected items: copies in one growing byte buffer, addressed by offsets
 * (the buffer may move while it grows). */
typedef struct scan_buf_s {
    char *bytes;
    size_t blen, bcap;
    size_t *item; /* (offset, length) pairs */
    size_t n, cap;
    int pairs;    /* items come as (name, value): MATCH tests the name only */
} scan_buf_t;

static void scan_put(scan_buf_t *b, const char *p, size_t len)
{
    if (b->blen + len > b->bcap) {
        b->bcap = (b->blen + len) * 2 + 64;
        b->bytes = mem_realloc(b->bytes, b->bcap);
    }
    if (b->n == b->cap) {
        b->cap = b->cap * 2 + 16;
        b->item = mem_realloc(b->item, b->cap * 2 * sizeof(size_t));
    }
    if (len)
        memcpy(b->bytes + b->blen, p, len);
    b->item[2 * b->n] = b->blen;
    b->item[2 * b->n + 1] = len;
    b->blen += len;
    b->n++;
}

static void scan_put_val(scan_buf_t *b, const listpack_val_t *v)
{
    char buf[LISTPACK_INTBUF];
    size_t len;
    const char *p = listpack_val_str(v, buf, &len);
    scan_put(b, p, len);
}

static void scan_set_cb(void *arg, const listpack_val_t *m)
{
    scan_put_val(arg, m);
}

static void scan_hash_cb(void *arg, const listpack_val_t *f, const listpack_val_t *v)
{
    scan_put_val(arg, f);
    scan_put_val(arg, v);
}

static void scan_zset_cb(void *arg, const zset_elem_t *e)
{
    char buf[D_STR_MAX];
    scan_put(arg, e->m, e->mlen);
    scan_put(arg, buf, d_to_str(buf, sizeof(buf), e->score));
}

static uint64_t scan_step(const kv_t *kv, uint64_t cursor, scan_buf_t *b)
{
    if (kv->type == OBJ_SET) {
        tset_t s = {kv->enc, kv_ptr(kv)};
        return tset_scan(&s, cursor, scan_set_cb, b);
    }
    if (kv->type == OBJ_HASH) {
        thash_t h = {kv->enc, kv_ptr(kv)};
        return thash_scan(&h, cursor, scan_hash_cb, b);
    }
    zset_t z = {kv->enc, kv_ptr(kv)};
    return zset_scan(&z, cursor, scan_zset_cb, b);
}

/* Options after the cursor: 0, or -1 after writing the error. */
static int scan_options(cmd_ctx_t *ctx, slice_t *pat, long long *count)
{
    for (int i = 3; i < ctx->argc; i += 2) {
        int left = ctx->argc - i;
        if (slice_eq_ci(ctx->argv[i], "count") && left >= 2) {
            if (arg_ll(ctx, ctx->argv[i + 1], count) != 0)
                return -1;
            if (*count < 1) {
                reply_syntax_error(ctx->r);
                return -1;
            }
        } else if (slice_eq_ci(ctx->argv[i], "match") && left >= 2) {
            *pat = ctx->argv[i + 1];
        } else {
            reply_syntax_error(ctx->r);
            return -1;
        }
    }
    return 0;
}

static void scan_reply(cmd_ctx_t *ctx, uint64_t cursor, scan_buf_t *b, slice_t pat)
{
    int use_pat = pat.p != NULL && !(pat.len == 1 && pat.p[0] == '*');
    size_t step = b->pairs ? 2 : 1, kept = 0;
    for (size_t i = 0; i < b->n; i += step) {
        const char *p = b->bytes + b->item[2 * i];
        if (use_pat && !glob_match(pat.p, pat.len, p, b->item[2 * i + 1], 0))
            b->item[2 * i + 1] = (size_t)-1; /* dropped */
        else
            kept += step;
    }
    char num[LL_STR_MAX];
    reply_array(ctx->r, 2);
    reply_bulk(ctx->r, num, ull_to_str(num, cursor));
    reply_array(ctx->r, (long long)kept);
    for (size_t i = 0; i < b->n; i += step) {
        if (b->item[2 * i + 1] == (size_t)-1)
            continue;
        for (size_t j = i; j < i + step; j++)
            reply_bulk(ctx->r, b->bytes + b->item[2 * j], b->item[2 * j + 1]);
    }
}

void types_scan_command(cmd_ctx_t *ctx, int type)
{
    unsigned long long cursor;
    if (!str_to_scan_cursor(ctx->argv[2].p, ctx->argv[2].len, &cursor)) {
        reply_error(ctx->r, "ERR invalid cursor");
        return;
    }
    int wrong;
    kv_t *kv = types_lookup_read(ctx, types_db(ctx), ctx->argv[1], type, &wrong);
    if (wrong)
        return;
    if (kv == NULL) {
        reply_array(ctx->r, 2);
        reply_bulk(ctx->r, "0", 1);
        reply_array(ctx->r, 0);
        return;
    }
    slice_t pat = {NULL, 0};
    long long count = 10;
    if (scan_options(ctx, &pat, &count) != 0)
        return;
    scan_buf_t b = {.pairs = type != OBJ_SET};
    long long budget = count > LLONG_MAX / 10 ? LLONG_MAX : count * 10;
    do {
        cursor = scan_step(kv, cursor, &b);
    } while (cursor && budget-- > 0 && b.n < (unsigned long long)count);
    scan_reply(ctx, cursor, &b, pat);
    mem_free(b.bytes);
    mem_free(b.item);
}

/* ---- LMPOP / ZMPOP arguments ------------------------------------------------- */

int types_parse_mpop(cmd_ctx_t *ctx, int numkeys_idx, const char *w0, const char *w1, int *nkeys,
                     int *where, long *count)
{
    long long n;
    if (arg_ll_msg(ctx, ctx->argv[numkeys_idx], &n, "ERR numkeys should be greater than 0") != 0)
        return -1;
    if (n < 1) {
        reply_error(ctx->r, "ERR numkeys should be greater than 0");
        return -1;
    }
    if (n >= ctx->argc - numkeys_idx - 1) {
        reply_syntax_error(ctx->r);
        return -1;
    }
    int widx = numkeys_idx + (int)n + 1;
    if (slice_eq_ci(ctx->argv[widx], w0)) {
        *where = 0;
    } else if (slice_eq_ci(ctx->argv[widx], w1)) {
        *where = 1;
    } else {
        reply_syntax_error(ctx->r);
        return -1;
    }
    *count = -1;
    for (int j = widx + 1; j < ctx->argc; j++) {
        long long c;
        if (*count != -1 || !slice_eq_ci(ctx->argv[j], "count") || j + 1 >= ctx->argc) {
            reply_syntax_error(ctx->r);
            return -1;
        }
        j++;
        if (arg_ll_msg(ctx, ctx->argv[j], &c, "ERR count should be greater than 0") != 0)
            return -1;
        if (c < 1) {
            reply_error(ctx->r, "ERR count should be greater than 0");
            return -1;
        }
        *count = c > LONG_MAX ? LONG_MAX : (long)c;
    }
    if (*count == -1)
        *count = 1;
    *nkeys = (int)n;
    return 0;
}

/* ---- COMMAND GETKEYS ----------------------------------------------------------- */

static int numkeys_at(int argc, const slice_t *argv, int idx, int *keys, int max, int n0)
{
    long long n;
    if (idx >= argc || !str_to_ll(argv[idx].p, argv[idx].len, &n) || n < 1 ||
        n > argc - idx - 1)
        return n0;
    int got = n0;
    for (long long i = 0; i < n && got < max; i++)
        keys[got++] = idx + 1 + (int)i;
    return got;
}

int types_getkeys_numkeys1(int argc, const slice_t *argv, int *keys, int max)
{
    return numkeys_at(argc, argv, 1, keys, max, 0);
}

int types_getkeys_store(int argc, const slice_t *argv, int *keys, int max)
{
    if (max < 1 || argc < 2)
        return 0;
    keys[0] = 1;
    return numkeys_at(argc, argv, 2, keys, max, 1);
}
