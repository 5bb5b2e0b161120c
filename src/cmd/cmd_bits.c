/*
 * cmd_bits.c — bit operations on string values: SETBIT GETBIT BITCOUNT
 * (BYTE|BIT) BITPOS BITOP BITFIELD BITFIELD_RO.
 *
 * Owns: the rows of this family, bit addressing (bit 0 is the most
 * significant bit of byte 0, as in Redis), BITFIELD's overflow rules (WRAP,
 * SAT, FAIL; the result of value + increment is judged exactly, in 128-bit
 * arithmetic), and growing a string for a write.
 * Must not: read past a value's length (reads beyond it see zero bits) or
 * write into a value that is not ENC_RAW: a written string is made "raw"
 * first, as Redis does (OBJECT ENCODING reports "raw" after SETBIT).
 * Invariant: offsets are checked against proto-max-bulk-len before any
 * allocation.
 */
#include <limits.h>

#include "../conf/config.h"
#include "../lib/mem.h"
#include "../lib/util.h"
#include "cmd_types.h"

#define BIT_OFFSET_ERR "ERR bit offset is not an integer or out of range"
#define BITFIELD_TYPE_ERR                                                                      \
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but " \
    "i64 is."

/* An offset argument ("#n" multiplies by bits when hash is set). Returns 0,
 * or -1 after the error reply. */
static int bit_offset(cmd_ctx_t *ctx, slice_t a, int hash, int bits, uint64_t *out)
{
    long long v;
    int usehash = hash && a.len > 1 && a.p[0] == '#';
    if (!str_to_ll(a.p + usehash, a.len - (size_t)usehash, &v) ||
        (usehash && (v > LLONG_MAX / bits || v < LLONG_MIN / bits))) {
        reply_error(ctx->r, BIT_OFFSET_ERR);
        return -1;
    }
    if (usehash)
        v *= bits;
    if (v < 0 || (unsigned long long)(v >> 3) >= (unsigned long long)ctx->env->cfg->proto_max_bulk_len) {
        reply_error(ctx->r, BIT_OFFSET_ERR);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

/* A writer's string of at least `need` bytes (zero padded), ENC_RAW. Creates
 * the key when missing. NULL after WRONGTYPE. *grown: created or lengthened. */
static kv_t *bits_writable(cmd_ctx_t *ctx, db_t *db, slice_t key, size_t need, int *grown)
{
    int wrong;
    kv_t *kv = types_lookup_write(ctx, db, key, OBJ_STRING, &wrong);
    *grown = 0;
    if (wrong)
        return NULL;
    if (kv == NULL || kv->enc != ENC_RAW) {
        char tmp[32];
        slice_t old = kv ? kv_str(kv, tmp) : (slice_t){"", 0};
        size_t len = old.len > need ? old.len : need;
        str_t *s = str_new(old.p, old.len, len);
        memset(s->data + old.len, 0, len - old.len);
        s->len = (uint32_t)len;
        kv_val_t v = {.type = OBJ_STRING, .enc = ENC_RAW, .ptr = s};
        *grown = kv == NULL || len != old.len;
        return kv ? db_replace(db, kv, &v, ctx->env->now_ms)
                  : db_add(db, key, &v, -1, ctx->env->now_ms);
    }
    str_t *s = kv_raw(kv);
    if (s->len < need) {
        size_t old = s->len;
        s = str_reserve(s, need);
        memset(s->data + old, 0, need - old);
        s->len = (uint32_t)need;
        kv_set_ptr(kv, ENC_RAW, s);
        *grown = 1;
    }
    return kv;
}

static int bit_get(const unsigned char *p, size_t len, uint64_t bit)
{
    uint64_t byte = bit >> 3;
    return byte < len && (p[byte] >> (7 - (bit & 7))) & 1;
}

static void bit_put(unsigned char *p, uint64_t bit, int v)
{
    unsigned char m = (unsigned char)(1u << (7 - (bit & 7)));
    p[bit >> 3] = (unsigned char)(v ? p[bit >> 3] | m : p[bit >> 3] & ~m);
}

/* ---- SETBIT / GETBIT ------------------------------------------------------------- */

static void cmd_setbit(cmd_ctx_t *ctx)
{
    uint64_t off;
    long long on;
    const char *err = "ERR bit is not an integer or out of range";
    if (bit_offset(ctx, ctx->argv[2], 0, 1, &off) != 0 || arg_ll_msg(ctx, ctx->argv[3], &on, err) != 0)
        return;
    if (on & ~1LL) {
        reply_error(ctx->r, err);
        return;
    }
    db_t *db = types_db(ctx);
    int grown;
    kv_t *kv = bits_writable(ctx, db, ctx->argv[1], (size_t)(off >> 3) + 1, &grown);
    if (kv == NULL)
        return;
    str_t *s = kv_raw(kv);
    int old = bit_get((unsigned char *)s->data, s->len, off);
    if (grown || old != on) {
        bit_put((unsigned char *)s->data, off, (int)on);
        db_modified(db, ctx->argv[1]);
        cmd_dirty(ctx, 1);
    }
    reply_int(ctx->r, old);
}

static void cmd_getbit(cmd_ctx_t *ctx)
{
    uint64_t off;
    if (bit_offset(ctx, ctx->argv[2], 0, 1, &off) != 0)
        return;
    int wrong;
    kv_t *kv = types_lookup_read(ctx, types_db(ctx), ctx->argv[1], OBJ_STRING, &wrong);
    if (wrong)
        return;
    char tmp[32];
    slice_t v = kv ? kv_str(kv, tmp) : (slice_t){"", 0};
    reply_int(ctx->r, bit_get((const unsigned char *)v.p, v.len, off));
}

/* ---- BITCOUNT / BITPOS --------------------------------------------------------------- */

/* A [start, end] range in bits over a value of len bytes, normalised like
 * Redis (negative indexes, clamping); isbit: the indexes are bits. Returns
 * 0 when the range is empty. */
static int bit_range(long long start, long long end, size_t len, int isbit, uint64_t *sbit,
                     uint64_t *ebit)
{
    long long tot = (long long)len * (isbit ? 8 : 1);
    start += start < 0 ? tot : 0;
    end += end < 0 ? tot : 0;
    start = start < 0 ? 0 : start;
    end = end < 0 ? 0 : end;
    end = end >= tot ? tot - 1 : end;
    if (start > end)
        return 0;
    *sbit = isbit ? (uint64_t)start : (uint64_t)start * 8;
    *ebit = isbit ? (uint64_t)end : (uint64_t)end * 8 + 7;
    return 1;
}

static long long popcount_bits(const unsigned char *p, uint64_t sbit, uint64_t ebit)
{
    long long n = 0;
    for (; sbit <= ebit && (sbit & 7); sbit++)
        n += bit_get(p, SIZE_MAX, sbit);
    for (; sbit + 63 <= ebit; sbit += 64) {
        uint64_t w;
        memcpy(&w, p + (sbit >> 3), 8);
        n += __builtin_popcountll(w);
    }
    for (; sbit + 7 <= ebit; sbit += 8)
        n += __builtin_popcount(p[sbit >> 3]);
    for (; sbit <= ebit; sbit++)
        n += bit_get(p, SIZE_MAX, sbit);
    return n;
}

/* BYTE / BIT at argv[i]: 0 byte, 1 bit, -1 after a syntax error. */
static int bit_unit(cmd_ctx_t *ctx, int i)
{
    if (i >= ctx->argc || slice_eq_ci(ctx->argv[i], "byte"))
        return 0;
    if (slice_eq_ci(ctx->argv[i], "bit"))
        return 1;
    reply_syntax_error(ctx->r);
    return -1;
}

static void cmd_bitcount(cmd_ctx_t *ctx)
{
    int wrong;
    kv_t *kv = types_lookup_read(ctx, types_db(ctx), ctx->argv[1], OBJ_STRING, &wrong);
    if (wrong)
        return;
    if (kv == NULL) {
        reply_int(ctx->r, 0);
        return;
    }
    char tmp[32];
    slice_t v = kv_str(kv, tmp);
    long long start = 0, end = -1;
    int isbit = 0;
    if (ctx->argc == 4 || ctx->argc == 5) {
        if (arg_ll(ctx, ctx->argv[2], &start) != 0 || arg_ll(ctx, ctx->argv[3], &end) != 0)
            return;
        if (start < 0 && end < 0 && start > end) {
            reply_int(ctx->r, 0);
            return;
        }
        if ((isbit = bit_unit(ctx, 4)) < 0)
            return;
    } else if (ctx->argc != 2) {
        reply_syntax_error(ctx->r);
        return;
    }
    uint64_t sb, eb;
    if (!bit_range(start, end, v.len, isbit, &sb, &eb))
        reply_int(ctx->r, 0);
    else
        reply_int(ctx->r, popcount_bits((const unsigned char *)v.p, sb, eb));
}

/* First bit equal to `bit` in [sbit, ebit], or -1. */
static long long find_bit(const unsigned char *p, uint64_t sbit, uint64_t ebit, int bit)
{
    unsigned char skip = bit ? 0x00 : 0xff;
    while (sbit <= ebit) {
        if (!(sbit & 7) && sbit + 7 <= ebit && p[sbit >> 3] == skip) {
            sbit += 8;
            continue;
        }
        if (bit_get(p, SIZE_MAX, sbit) == bit)
            return (long long)sbit;
        sbit++;
    }
    return -1;
}

static void bitpos_range(cmd_ctx_t *ctx, slice_t v, int bit)
{
    long long start = 0, end = -1;
    int isbit = 0, end_given = ctx->argc >= 5;
    if (ctx->argc >= 4 && arg_ll(ctx, ctx->argv[3], &start) != 0)
        return;
    if (ctx->argc == 6 && (isbit = bit_unit(ctx, 5)) < 0)
        return;
    if (end_given && arg_ll(ctx, ctx->argv[4], &end) != 0)
        return;
    uint64_t sb, eb;
    if (!bit_range(start, end, v.len, isbit, &sb, &eb)) {
        reply_int(ctx->r, -1);
        return;
    }
    long long pos = find_bit((const unsigned char *)v.p, sb, eb, bit);
    if (pos < 0 && bit == 0 && !end_given)
        pos = (long long)((eb >> 3) + 1) * 8;
    reply_int(ctx->r, pos);
}

static void cmd_bitpos(cmd_ctx_t *ctx)
{
    long long bit;
    if (arg_ll(ctx, ctx->argv[2], &bit) != 0)
        return;
    if (bit != 0 && bit != 1) {
        reply_error(ctx->r, "ERR The bit argument must be 1 or 0.");
        return;
    }
    int wrong;
    kv_t *kv = types_lookup_read(ctx, types_db(ctx), ctx->argv[1], OBJ_STRING, &wrong);
    if (wrong)
        return;
    if (kv == NULL) {
        reply_int(ctx->r, bit ? -1 : 0);
        return;
    }
    if (ctx->argc > 6) {
        reply_syntax_error(ctx->r);
        return;
    }
    char tmp[32];
    bitpos_range(ctx, kv_str(kv, tmp), (int)bit);
}

/* ---- BITOP ------------------------------------------------------------------------------ */

enum { BITOP_AND = 0, BITOP_OR, BITOP_XOR, BITOP_NOT };

static unsigned char *bitop_compute(int op, int n, const slice_t *src, size_t maxlen)
{
    unsigned char *res = mem_alloc(maxlen ? maxlen : 1);
    for (size_t j = 0; j < maxlen; j++) {
        unsigned char out = j < src[0].len ? (unsigned char)src[0].p[j] : 0;
        if (op == BITOP_NOT)
            out = (unsigned char)~out;
        for (int i = 1; i < n; i++) {
            unsigned char b = j < src[i].len ? (unsigned char)src[i].p[j] : 0;
            out = op == BITOP_AND ? out & b : op == BITOP_OR ? out | b : out ^ b;
        }
        res[j] = out;
    }
    return res;
}

/* The source values (ints formatted into tmp); 0, or -1 after WRONGTYPE. */
static int bitop_sources(cmd_ctx_t *ctx, int n, slice_t *src, char (*tmp)[32], size_t *maxlen)
{
    db_t *db = types_db(ctx);
    *maxlen = 0;
    for (int i = 0; i < n; i++) {
        int wrong;
        kv_t *kv = types_lookup_read(ctx, db, ctx->argv[3 + i], OBJ_STRING, &wrong);
        if (wrong)
            return -1;
        src[i] = kv ? kv_str(kv, tmp[i]) : (slice_t){"", 0};
        *maxlen = src[i].len > *maxlen ? src[i].len : *maxlen;
    }
    return 0;
}

static void cmd_bitop(cmd_ctx_t *ctx)
{
    static const char *const names[] = {"and", "or", "xor", "not"};
    int op = 0;
    while (op < 4 && !slice_eq_ci(ctx->argv[1], names[op]))
        op++;
    if (op == 4) {
        reply_syntax_error(ctx->r);
        return;
    }
    if (op == BITOP_NOT && ctx->argc != 4) {
        reply_error(ctx->r, "ERR BITOP NOT must be called with a single source key.");
        return;
    }
    int n = ctx->argc - 3;
    slice_t *src = mem_alloc((size_t)n * sizeof(*src));
    char (*tmp)[32] = mem_alloc((size_t)n * 32);
    size_t maxlen;
    if (bitop_sources(ctx, n, src, tmp, &maxlen) == 0) {
        db_t *db = types_db(ctx);
        if (maxlen) {
            unsigned char *res = bitop_compute(op, n, src, maxlen);
            kv_val_t v = {.type = OBJ_STRING, .enc = ENC_RAW, .ptr = str_new((char *)res, maxlen, maxlen)};
            mem_free(res);
            db_set(db, ctx->argv[2], &v, -1, 0, ctx->env->now_ms);
            cmd_dirty(ctx, 1);
        } else if (db_delete(db, ctx->argv[2])) {
            cmd_dirty(ctx, 1);
        }
        reply_int(ctx->r, (long long)maxlen);
    }
    mem_free(src);
    mem_free(tmp);
}

/* ---- BITFIELD ------------------------------------------------------------------------------ */

enum { BF_GET = 0, BF_SET, BF_INCRBY };
enum { BF_WRAP = 0, BF_SAT, BF_FAIL };

typedef struct bf_op_s {
    uint64_t offset;
    long long arg;
    int opcode, overflow, bits, sign;
} bf_op_t;

static uint64_t bf_read(const unsigned char *p, size_t len, uint64_t off, int bits)
{
    uint64_t v = 0;
    for (int i = 0; i < bits; i++)
        v = v << 1 | (uint64_t)bit_get(p, len, off + (uint64_t)i);
    return v;
}

static void bf_write(unsigned char *p, uint64_t off, int bits, uint64_t v)
{
    for (int i = 0; i < bits; i++)
        bit_put(p, off + (uint64_t)i, (int)((v >> (bits - 1 - i)) & 1));
}

static int64_t bf_signed(uint64_t v, int bits)
{
    if (bits < 64 && (v >> (bits - 1)) & 1)
        v |= ~(uint64_t)0 << bits;
    return (int64_t)v;
}

/* value + incr judged exactly. Returns 1 on overflow and puts the value to
 * store (wrapped / saturated) in *out; 0 otherwise with the exact sum. */
static int bf_apply(const bf_op_t *op, __int128 value, long long incr, uint64_t *out)
{
    __int128 max = op->sign ? (((__int128)1 << (op->bits - 1)) - 1) : (((__int128)1 << op->bits) - 1);
    __int128 min = op->sign ? -max - 1 : 0, sum = value + incr;
    if (sum >= min && sum <= max) {
        *out = (uint64_t)sum;
        return 0;
    }
    if (op->overflow == BF_SAT) {
        *out = (uint64_t)(sum > max ? max : min);
    } else {
        uint64_t low = (uint64_t)sum;
        *out = op->bits < 64 ? low & ~(~(uint64_t)0 << op->bits) : low;
    }
    return 1;
}

/* Parse one GET/SET/INCRBY at argv[j]; returns the next index, or -1. */
static int bf_parse_op(cmd_ctx_t *ctx, int j, int opcode, bf_op_t *op)
{
    slice_t t = ctx->argv[j + 1];
    long long bits;
    op->opcode = opcode;
    op->sign = t.len > 0 && (t.p[0] == 'i' || t.p[0] == 'I');
    if (t.len < 2 || (!op->sign && t.p[0] != 'u' && t.p[0] != 'U') ||
        !str_to_ll(t.p + 1, t.len - 1, &bits) || bits < 1 || bits > (op->sign ? 64 : 63)) {
        reply_error(ctx->r, BITFIELD_TYPE_ERR);
        return -1;
    }
    op->bits = (int)bits;
    if (bit_offset(ctx, ctx->argv[j + 2], 1, op->bits, &op->offset) != 0)
        return -1;
    if (opcode != BF_GET && arg_ll(ctx, ctx->argv[j + 3], &op->arg) != 0)
        return -1;
    return j + (opcode == BF_GET ? 3 : 4);
}

/* All operations of the command; returns their count, or -1 after an error. */
static int bf_parse(cmd_ctx_t *ctx, bf_op_t *ops, int *readonly)
{
    int n = 0, ow = BF_WRAP;
    *readonly = 1;
    for (int j = 2; j < ctx->argc;) {
        int rem = ctx->argc - j - 1, opcode;
        slice_t a = ctx->argv[j];
        if (slice_eq_ci(a, "overflow") && rem >= 1) {
            slice_t t = ctx->argv[j + 1];
            ow = slice_eq_ci(t, "wrap") ? BF_WRAP : slice_eq_ci(t, "sat") ? BF_SAT
                 : slice_eq_ci(t, "fail") ? BF_FAIL : -1;
            if (ow < 0)
                return reply_error(ctx->r, "ERR Invalid OVERFLOW type specified"), -1;
            j += 2;
            continue;
        }
        if (slice_eq_ci(a, "get") && rem >= 2)
            opcode = BF_GET;
        else if (slice_eq_ci(a, "set") && rem >= 3)
            opcode = BF_SET;
        else if (slice_eq_ci(a, "incrby") && rem >= 3)
            opcode = BF_INCRBY;
        else
            return reply_syntax_error(ctx->r), -1;
        ops[n].overflow = ow;
        if ((j = bf_parse_op(ctx, j, opcode, &ops[n])) < 0)
            return -1;
        *readonly &= opcode == BF_GET;
        n++;
    }
    return n;
}

/* Run one SET/INCRBY on s; replies; returns 1 if the value changed. */
static int bf_run_write(cmd_ctx_t *ctx, str_t *s, const bf_op_t *op, int grown)
{
    unsigned char *p = (unsigned char *)s->data;
    uint64_t raw = bf_read(p, s->len, op->offset, op->bits), nv;
    __int128 old = op->sign ? (__int128)bf_signed(raw, op->bits) : (__int128)raw;
    /* An unsigned SET takes the argument as a 64-bit unsigned (-5 is 2^64-5). */
    __int128 set_value = op->sign ? (__int128)op->arg : (__int128)(uint64_t)op->arg;
    int ovf = op->opcode == BF_INCRBY ? bf_apply(op, old, op->arg, &nv)
                                      : bf_apply(op, set_value, 0, &nv);
    if (ovf && op->overflow == BF_FAIL) {
        reply_null(ctx->r);
        return 0;
    }
    uint64_t shown = op->opcode == BF_INCRBY ? nv : raw;
    reply_int(ctx->r, op->sign ? (long long)bf_signed(shown, op->bits) : (long long)shown);
    bf_write(p, op->offset, op->bits, nv);
    return grown || (nv & (op->bits < 64 ? ~(~(uint64_t)0 << op->bits) : ~(uint64_t)0)) != raw;
}

static void bitfield_generic(cmd_ctx_t *ctx, int ro_command)
{
    bf_op_t *ops = mem_alloc((size_t)ctx->argc * sizeof(*ops));
    int readonly, n = bf_parse(ctx, ops, &readonly), wrong, grown = 0;
    db_t *db = types_db(ctx);
    kv_t *kv = NULL;
    uint64_t maxbit = 0;
    if (n < 0)
        goto done;
    for (int i = 0; i < n; i++)
        if (ops[i].opcode != BF_GET && ops[i].offset + (uint64_t)ops[i].bits - 1 > maxbit)
            maxbit = ops[i].offset + (uint64_t)ops[i].bits - 1;
    if (readonly) {
        if ((kv = types_lookup_read(ctx, db, ctx->argv[1], OBJ_STRING, &wrong)) == NULL && wrong)
            goto done;
    } else if (ro_command) {
        reply_error(ctx->r, "ERR BITFIELD_RO only supports the GET subcommand");
        goto done;
    } else if ((kv = bits_writable(ctx, db, ctx->argv[1], (size_t)(maxbit >> 3) + 1, &grown)) == NULL) {
        goto done;
    }
    long long changes = 0;
    reply_array(ctx->r, n);
    for (int i = 0; i < n; i++) {
        if (ops[i].opcode != BF_GET) {
            changes += bf_run_write(ctx, kv_raw(kv), &ops[i], grown);
            continue;
        }
        char tmp[32];
        slice_t v = kv ? kv_str(kv, tmp) : (slice_t){"", 0};
        uint64_t raw = bf_read((const unsigned char *)v.p, v.len, ops[i].offset, ops[i].bits);
        reply_int(ctx->r, ops[i].sign ? (long long)bf_signed(raw, ops[i].bits) : (long long)raw);
    }
    if (changes) {
        db_modified(db, ctx->argv[1]);
        cmd_dirty(ctx, changes);
    }
done:
    mem_free(ops);
}

static void cmd_bitfield(cmd_ctx_t *ctx) { bitfield_generic(ctx, 0); }
static void cmd_bitfield_ro(cmd_ctx_t *ctx) { bitfield_generic(ctx, 1); }

cmd_def_t cmd_table_bits[] = {
    {.name = "setbit", .proc = cmd_setbit, .arity = 4, .flags = CMD_WRITE | CMD_DENYOOM, .key = {1, 1, 1}},
    {.name = "getbit", .proc = cmd_getbit, .arity = 3, .flags = CMD_READONLY | CMD_FAST, .key = {1, 1, 1}},
    {.name = "bitcount", .proc = cmd_bitcount, .arity = -2, .flags = CMD_READONLY, .key = {1, 1, 1}},
    {.name = "bitpos", .proc = cmd_bitpos, .arity = -3, .flags = CMD_READONLY, .key = {1, 1, 1}},
    {.name = "bitop", .proc = cmd_bitop, .arity = -4, .flags = CMD_WRITE | CMD_DENYOOM, .key = {2, -1, 1}},
    {.name = "bitfield", .proc = cmd_bitfield, .arity = -2, .flags = CMD_WRITE | CMD_DENYOOM, .key = {1, 1, 1}},
    {.name = "bitfield_ro",
     .proc = cmd_bitfield_ro,
     .arity = -2,
     .flags = CMD_READONLY | CMD_FAST,
     .key = {1, 1, 1}},
    {0},
};
