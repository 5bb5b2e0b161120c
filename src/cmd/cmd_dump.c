/*
 * cmd_dump.c — DUMP, RESTORE and RESTORE-ASKING with Redis 7.0's payloads
 * (type byte, RDB object encoding, RDB version 10 little-endian, CRC-64),
 * options, checks in Redis's order and error texts.
 *
 * Must not: encode or decode RDB itself (persist/rdb.h does), read clocks
 * (env->now_ms), or trust the payload (it is verified, then decoded by the
 * validating decoder).
 * Propagation (Redis 7.0): RESTORE with a relative TTL is sent on as
 * "RESTORE key <absolute ms> payload ... ABSTTL" so a replay never extends
 * it; a RESTORE REPLACE whose TTL is already past deletes the old key and is
 * sent on as DEL; otherwise the original arguments.
 */
#include <limits.h>
#include <string.h>

#include "../conf/config.h"
#include "../ks/db.h"
#include "../lib/mem.h"
#include "../lib/util.h"
#include "../persist/rdb.h"
#include "cmd_hooks.h"
#include "cmd_types.h"

static void cmd_dump(cmd_ctx_t *ctx)
{
    db_t *db = ks_db(ctx->env->ks, ctx->s->db);
    kv_t *kv = db_lookup(db, ctx->argv[1], ctx->env->now_ms);
    if (kv == NULL) {
        reply_null(ctx->r);
        return;
    }
    size_t len;
    unsigned char *p = rdb_dump_payload(kv, ctx->env->cfg->rdbcompression, &len);
    reply_bulk(ctx->r, p, len);
    mem_free(p);
}

typedef struct restore_opts_s {
    int replace, absttl;
    long long idle, freq; /* -1: not given */
} restore_opts_t;

/* The options after the payload. 0, or -1 after the error reply. */
static int restore_parse(cmd_ctx_t *ctx, restore_opts_t *o)
{
    *o = (restore_opts_t){0, 0, -1, -1};
    for (int j = 4; j < ctx->argc; j++) {
        slice_t a = ctx->argv[j];
        int more = ctx->argc - j - 1;
        if (slice_eq_ci(a, "replace")) {
            o->replace = 1;
        } else if (slice_eq_ci(a, "absttl")) {
            o->absttl = 1;
        } else if (slice_eq_ci(a, "idletime") && more >= 1 && o->freq == -1) {
            if (arg_ll(ctx, ctx->argv[++j], &o->idle) != 0)
                return -1;
            if (o->idle < 0) {
                reply_error(ctx->r, "ERR Invalid IDLETIME value, must be >= 0");
                return -1;
            }
        } else if (slice_eq_ci(a, "freq") && more >= 1 && o->idle == -1) {
            if (arg_ll(ctx, ctx->argv[++j], &o->freq) != 0)
                return -1;
            if (o->freq < 0 || o->freq > 255) {
                reply_error(ctx->r, "ERR Invalid FREQ value, must be >= 0 and <= 255");
                return -1;
            }
        } else {
            reply_syntax_error(ctx->r);
            return -1;
        }
    }
    return 0;
}

/* Send argv on with the TTL made absolute (argv[2] = when, ABSTTL appended). */
static void propagate_absttl(cmd_ctx_t *ctx, long long when)
{
    slice_t *v = mem_alloc(sizeof(slice_t) * (size_t)(ctx->argc + 1));
    char num[LL_STR_MAX];
    memcpy(v, ctx->argv, sizeof(slice_t) * (size_t)ctx->argc);
    v[2] = slice_make(num, ll_to_str(num, when));
    v[ctx->argc] = SLICE_LIT("ABSTTL");
    cmd_propagate(ctx->env, ctx->s->db, ctx->argc + 1, v);
    mem_free(v);
}

/* The TTL was already past: the old key (if REPLACE removed one) goes as DEL. */
static void restore_expired(cmd_ctx_t *ctx, int deleted)
{
    if (deleted) {
        slice_t v[2] = {ctx->env->cfg->lazyfree_lazy_server_del ? SLICE_LIT("UNLINK")
                                                                : SLICE_LIT("DEL"),
                        ctx->argv[1]};
        cmd_propagate(ctx->env, ctx->s->db, 2, v);
        cmd_dirty(ctx, 1);
    }
    reply_status(ctx->r, "OK");
}

/* Decode the payload into *v; replies "Bad data format" when it can't. */
static int restore_decode(cmd_ctx_t *ctx, rdb_reader_t *r, kv_val_t *v)
{
    slice_t p = ctx->argv[3];
    if (rdb_dump_verify((const unsigned char *)p.p, p.len) != 0) {
        reply_error(ctx->r, "ERR DUMP payload version or checksum are wrong");
        return -1;
    }
    int rc = rdb_dump_decode(r, (const unsigned char *)p.p, p.len, types_list_fill(), v);
    if (rc != RDB_OK) {
        rdb_reader_deinit(r);
        reply_error(ctx->r, "ERR Bad data format");
        return -1;
    }
    return 0;
}

static void cmd_restore(cmd_ctx_t *ctx)
{
    restore_opts_t o;
    long long ttl;
    uint64_t now = ctx->env->now_ms;
    db_t *db = ks_db(ctx->env->ks, ctx->s->db);
    if (restore_parse(ctx, &o) != 0)
        return;
    if (!o.replace && db_lookup_write(db, ctx->argv[1], now) != NULL) {
        reply_error(ctx->r, "BUSYKEY Target key name already exists.");
        return;
    }
    if (arg_ll(ctx, ctx->argv[2], &ttl) != 0)
        return;
    if (ttl < 0) {
        reply_error(ctx->r, "ERR Invalid TTL value, must be >= 0");
        return;
    }
    rdb_reader_t r;
    kv_val_t v;
    if (restore_decode(ctx, &r, &v) != 0)
        return;
    int deleted = o.replace && db_delete(db, ctx->argv[1]);
    if (ttl > 0 && !o.absttl)
        ttl = ttl > LLONG_MAX - (long long)now ? LLONG_MAX : ttl + (long long)now;
    if (ttl > 0 && ttl <= (long long)now && !ctx->env->loading && !ctx->env->is_replica) {
        rdb_val_free(&v);
        rdb_reader_deinit(&r);
        restore_expired(ctx, deleted);
        return;
    }
    kv_t *kv = db_add(db, ctx->argv[1], &v, ttl > 0 ? ttl : -1, now);
    rdb_reader_deinit(&r);
    uint32_t lru;
    if (rdb_lru_value(ks_policy(ctx->env->ks), o.idle, (int)o.freq, now, &lru))
        kv->lru = lru & KV_LRU_MAX;
    if (ttl > 0 && !o.absttl)
        propagate_absttl(ctx, ttl);
    else
        cmd_propagate(ctx->env, ctx->s->db, ctx->argc, ctx->argv);
    cmd_dirty(ctx, 1);
    reply_status(ctx->r, "OK");
}

cmd_def_t cmd_table_dump[] = {
    {.name = "dump", .proc = cmd_dump, .arity = 2, .flags = CMD_READONLY, .key = {1, 1, 1}},
    {.name = "restore",
     .proc = cmd_restore,
     .arity = -4,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_NO_PROPAGATE_ARGV,
     .key = {1, 1, 1}},
    {.name = "restore-asking",
     .proc = cmd_restore,
     .arity = -4,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_ASKING | CMD_NO_PROPAGATE_ARGV,
     .key = {1, 1, 1}},
    {0},
};
