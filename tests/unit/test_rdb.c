/*
 * test_rdb.c — the RDB codec (src/persist/rdb_*.c): LZF, every type and
 * encoding written and read back, golden files and DUMP payloads produced by
 * a real redis-server 7.0.15 (tests/unit/golden/rdb, see its README), the
 * legacy encodings 7.0 still reads, IDLE/FREQ, DUMP trailer checks, and
 * robustness: truncation at every offset and byte flips never crash and
 * always report an offset.
 */
/* clang-format off */
/* SOURCES: src/persist/rdb_enc.c src/persist/rdb_dec.c src/persist/rdb_load.c src/persist/rdb_obj.c src/persist/rdb_zl.c src/persist/rdb_lzf.c src/ks/kv.c src/ks/db.c src/ks/ks.c src/ks/listpack.c src/ks/intset.c src/ks/quicklist.c src/ks/tset.c src/ks/thash.c src/ks/zset.c src/lib/dict.c src/lib/util.c src/lib/mem.c src/lib/crc16.c src/lib/crc64.c */
/* clang-format on */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ks/db.h"
#include "ks/intset.h"
#include "ks/ks.h"
#include "ks/kv.h"
#include "ks/listpack.h"
#include "ks/quicklist.h"
#include "ks/thash.h"
#include "ks/tset.h"
#include "ks/zset.h"
#include "lib/crc64.h"
#include "lib/mem.h"
#include "lib/util.h"
#include "persist/rdb.h"
#include "persist/rdb_int.h"

#define NOW_MS 1700000000000ULL

static slice_t S(const char *s)
{
    return slice_make(s, strlen(s));
}

/* ---- files ---------------------------------------------------------------------- */

static unsigned char *load_golden(const char *name, size_t *len)
{
    const char *dir = getenv("TESSERA_GOLDEN");
    char path[512];
    snprintf(path, sizeof path, "%s/rdb/%s", dir ? dir : "tests/unit/golden", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open golden file %s (run from the repository root)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    p[n] = '\0';
    *len = (size_t)n;
    return p;
}

static unsigned char *unhex(const char *h, size_t hl, size_t *len)
{
    unsigned char *p = malloc(hl / 2 + 1);
    for (size_t i = 0; i < hl / 2; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        p[i] = (unsigned char)v;
    }
    *len = hl / 2;
    return p;
}

/* ---- describing values canonically ------------------------------------------------ */

typedef struct sbuf_s {
    char *p;
    size_t len, cap;
} sbuf_t;

static void sb_add(sbuf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_val(sbuf_t *b, const listpack_val_t *v)
{
    char tmp[LISTPACK_INTBUF];
    size_t n;
    const char *s = listpack_val_str(v, tmp, &n);
    char hdr[32];
    snprintf(hdr, sizeof hdr, "%zu:", n);
    sb_add(b, hdr, strlen(hdr));
    sb_add(b, s, n);
    sb_add(b, ",", 1);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Items collected as strings, sorted, then joined (sets, hashes). */
typedef struct items_s {
    char **v;
    size_t n, cap;
} items_t;

static void items_add(items_t *it, sbuf_t *b)
{
    if (it->n == it->cap) {
        it->cap = it->cap ? it->cap * 2 : 16;
        it->v = realloc(it->v, it->cap * sizeof(char *));
    }
    it->v[it->n++] = b->p;
    *b = (sbuf_t){0};
}

static void items_join(items_t *it, sbuf_t *out)
{
    qsort(it->v, it->n, sizeof(char *), cmp_str);
    for (size_t i = 0; i < it->n; i++) {
        sb_add(out, it->v[i], strlen(it->v[i]));
        sb_add(out, ";", 1);
        free(it->v[i]);
    }
    free(it->v);
}

static void describe_coll(sbuf_t *b, const kv_t *kv)
{
    items_t it = {0};
    sbuf_t one = {0};
    listpack_val_t f, v;
    if (kv->type == OBJ_LIST) {
        quicklist_iter_t qi;
        quicklist_iter_init(&qi, kv_ptr(kv), QUICKLIST_FORWARD);
        while (quicklist_iter_next(&qi, &v))
            sb_val(b, &v);
    } else if (kv->type == OBJ_SET) {
        tset_t s = {kv->enc, kv_ptr(kv)};
        tset_iter_t si;
        tset_iter_init(&si, &s);
        while (tset_iter_next(&si, &v)) {
            sb_val(&one, &v);
            items_add(&it, &one);
        }
        tset_iter_deinit(&si);
        items_join(&it, b);
    } else if (kv->type == OBJ_HASH) {
        thash_t h = {kv->enc, kv_ptr(kv)};
        thash_iter_t hi;
        thash_iter_init(&hi, &h);
        while (thash_iter_next(&hi, &f, &v)) {
            sb_val(&one, &f);
            sb_val(&one, &v);
            items_add(&it, &one);
        }
        thash_iter_deinit(&hi);
        items_join(&it, b);
    } else if (kv->type == OBJ_ZSET) {
        zset_t z = {kv->enc, kv_ptr(kv)};
        zset_iter_t zi;
        zset_elem_t e;
        char num[64];
        if (zset_iter_rank(&zi, &z, 0, 0))
            while (zset_iter_next(&zi, &e)) {
                sb_add(b, e.m, e.mlen);
                snprintf(num, sizeof num, "=%.17g,", e.score);
                sb_add(b, num, strlen(num));
            }
    }
}

/* "type/encoding/expire/value" — malloc'ed. */
static char *describe(const kv_t *kv)
{
    sbuf_t b = {0};
    char hdr[96];
    snprintf(hdr, sizeof hdr, "%s/%s/%lld/", kv_type_name(kv), kv_enc_name(kv), kv_expire(kv));
    sb_add(&b, hdr, strlen(hdr));
    if (kv->type == OBJ_STRING) {
        char tmp[32];
        slice_t s = kv_str(kv, tmp);
        sb_add(&b, s.p, s.len);
    } else {
        describe_coll(&b, kv);
    }
    return b.p;
}

static char *describe_val(const kv_val_t *v)
{
    kv_val_t copy = *v;
    kv_t *kv = kv_new(S("k"), &copy, -1, 0);
    char *d = describe(kv);
    kv_free(kv);
    return d;
}

/* ---- the data set of make_golden.py, built in C ---------------------------------------- */

static void put_list(db_t *db, const char *key, const char **vals, size_t n)
{
    quicklist_t *ql = quicklist_new(QUICKLIST_FILL_DEFAULT);
    for (size_t i = 0; i < n; i++)
        quicklist_push(ql, QUICKLIST_TAIL, vals[i], strlen(vals[i]));
    kv_val_t v = kv_val_ptr(OBJ_LIST, ENC_QUICKLIST, ql);
    db_set(db, S(key), &v, -1, 0, NOW_MS);
}

static void put_set(db_t *db, const char *key, const char **vals, size_t n)
{
    tset_t s;
    tset_init(&s, vals[0], strlen(vals[0]));
    for (size_t i = 0; i < n; i++)
        tset_add(&s, vals[i], strlen(vals[i]));
    kv_val_t v = kv_val_ptr(OBJ_SET, s.enc, s.ptr);
    db_set(db, S(key), &v, -1, 0, NOW_MS);
}

static void put_zset(db_t *db, const char *key, const char **m, const double *sc, size_t n)
{
    zset_t z;
    size_t maxlen = 0;
    int fl;
    for (size_t i = 0; i < n; i++)
        maxlen = strlen(m[i]) > maxlen ? strlen(m[i]) : maxlen;
    zset_init(&z, n, maxlen);
    for (size_t i = 0; i < n; i++)
        zset_add(&z, m[i], strlen(m[i]), sc[i], 0, &fl, NULL);
    kv_val_t v = kv_val_ptr(OBJ_ZSET, z.enc, z.ptr);
    db_set(db, S(key), &v, -1, 0, NOW_MS);
}

static void put_hash(db_t *db, const char *key, const char **fv, size_t npairs)
{
    thash_t h;
    thash_init(&h);
    for (size_t i = 0; i < npairs; i++)
        thash_set(&h, fv[2 * i], strlen(fv[2 * i]), fv[2 * i + 1], strlen(fv[2 * i + 1]), 0);
    kv_val_t v = kv_val_ptr(OBJ_HASH, h.enc, h.ptr);
    db_set(db, S(key), &v, -1, 0, NOW_MS);
}

/* A string array from a printf pattern: fmt % i for i in [0, n). */
static const char **gen(const char *fmt, size_t n, double mul)
{
    const char **v = malloc(n * sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        char buf[64];
        if (mul != 0)
            snprintf(buf, sizeof buf, fmt, (double)i * mul);
        else
            snprintf(buf, sizeof buf, fmt, (int)i);
        v[i] = strdup(buf);
    }
    return v;
}

static void gen_free(const char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((void *)v[i]);
    free(v);
}

/* Everything of db 0 of types.rdb except str:rand (random bytes). */
static void build_dataset(ks_t *ks)
{
    db_t *db = ks_db(ks, 0);
    static const char *strs[][2] = {{"str:int", "12345"},
                                    {"str:neg", "-7"},
                                    {"str:i64", "9223372036854775807"},
                                    {"str:notint", "12345678901234567890"},
                                    {"str:emb", "hello world"},
                                    {"str:empty", ""}};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        db_set_string(db, S(strs[i][0]), S(strs[i][1]), -1, 0, NOW_MS);
    char x100[101], y70[71], z60[61], bin[256];
    memset(x100, 'x', 100), x100[100] = 0;
    memset(y70, 'y', 70), y70[70] = 0;
    memset(z60, 'z', 60), z60[60] = 0;
    for (int i = 0; i < 256; i++)
        bin[i] = (char)i;
    db_set_string(db, S("str:raw"), S(x100), -1, 0, NOW_MS);
    db_set_string(db, S("str:bin"), slice_make(bin, 256), -1, 0, NOW_MS);
    const char *small[] = {"a", "b", "c", "1", "2", "-3", "4294967296", y70};
    put_list(db, "list:small", small, 8);
    const char **big = gen("elem-%d", 1000, 0);
    put_list(db, "list:big", big, 1000);
    gen_free(big, 1000);
    const char *ints[] = {
        "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "-5", "70000", "1099511627776"};
    put_set(db, "set:int", ints, 13);
    const char **m100 = gen("m%d", 100, 0);
    put_set(db, "set:ht", m100, 100);
    gen_free(m100, 100);
    const char **i600 = gen("%d", 600, 0);
    put_set(db, "set:bigint", i600, 600);
    gen_free(i600, 600);
    const char *zm[] = {"a", "b", "c", "d", "e", "f", "g"};
    const double zs[] = {1, 2.5, -3, 1e100, INFINITY, -INFINITY, 0.1};
    put_zset(db, "zset:lp", zm, zs, 7);
    const char **m200 = gen("m%d", 200, 0);
    double *s200 = malloc(200 * sizeof(double));
    for (int i = 0; i < 200; i++)
        s200[i] = i * 1.5;
    put_zset(db, "zset:sl", m200, s200, 200);
    gen_free(m200, 200);
    free(s200);
    const char *hl[] = {"f1", "v1", "f2", "2", "f3", z60, "n", "-100"};
    put_hash(db, "hash:lp", hl, 4);
    const char **hf = malloc(1200 * sizeof(char *));
    for (int i = 0; i < 600; i++) {
        char b1[32], b2[32];
        snprintf(b1, sizeof b1, "field%d", i);
        snprintf(b2, sizeof b2, "value%d", i);
        hf[2 * i] = strdup(b1);
        hf[2 * i + 1] = strdup(b2);
    }
    put_hash(db, "hash:ht", hf, 600);
    gen_free(hf, 1200);
    db_set_string(db, S("exp:key"), S("soon"), 4102444800000LL, 0, NOW_MS);
    const char *pq[] = {"p", "q"};
    put_list(db, "exp:list", pq, 2);
    db_set_expire(db, S("exp:list"), 4102444800123LL);
}

/* Every key of a (except skip) exists in b with the same description. */
static void assert_db_same(db_t *a, db_t *b, const char *skip)
{
    db_iter_t it;
    db_iter_init(&it, a);
    for (kv_t *kv; (kv = db_iter_next(&it)) != NULL;) {
        slice_t k = kv_key(kv);
        if (skip && slice_eq(k, S(skip)))
            continue;
        kv_t *o = db_find(b, k);
        if (o == NULL)
            fail_msg("key %.*s missing", (int)k.len, k.p);
        char *d1 = describe(kv), *d2 = describe(o);
        if (strcmp(d1, d2) != 0)
            fail_msg("key %.*s differs:\n  %.200s\n  %.200s", (int)k.len, k.p, d1, d2);
        free(d1);
        free(d2);
    }
    db_iter_deinit(&it);
}

static void setup_types(void)
{
    kv_register_type(OBJ_LIST, &quicklist_kv_ops);
    kv_register_type(OBJ_SET, &tset_kv_ops);
    kv_register_type(OBJ_ZSET, &zset_kv_ops);
    kv_register_type(OBJ_HASH, &thash_kv_ops);
    thash_set_limits(512, 64);
    tset_set_limits(512);
    zset_set_limits(128, 64);
}

/* ---- saving into memory ------------------------------------------------------------- */

static unsigned char *save_mem(ks_t *ks, unsigned flags, int policy, size_t *len)
{
    rdb_membuf_t m = {0};
    rdb_writer_t w;
    rdb_save_info_t info = {
        .ctime_s = 1700000000, .used_mem = 12345, .policy = policy, .now_ms = NOW_MS};
    rdb_writer_init(&w, rdb_membuf_write, &m, flags);
    assert_int_equal(rdb_save_ks(&w, ks, &info), 0);
    assert_int_equal(w.total, m.len);
    rdb_writer_deinit(&w);
    *len = m.len;
    return m.p;
}

static int load_mem(ks_t *ks, const unsigned char *p, size_t len, rdb_load_stats_t *st, char *err)
{
    rdb_reader_t r;
    rdb_reader_init_mem(&r, p, len);
    int rc = rdb_load_ks(&r, ks, NOW_MS, 1, st);
    if (err)
        snprintf(err, RDB_ERR_MAX, "%s", rdb_reader_error(&r));
    rdb_reader_deinit(&r);
    return rc;
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_lzf(void **state)
{
    (void)state;
    rdb_lzf_t *z = rdb_lzf_new();
    uint64_t seed = 7;
    for (size_t n = 1; n < 70000; n = n * 3 + 1) {
        unsigned char *in = malloc(n), *out = malloc(n + 64), *back = malloc(n);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            in[i] =
                (seed >> 60) < 12 ? (unsigned char)('a' + (i % 7)) : (unsigned char)(seed >> 33);
        }
        size_t c = rdb_lzf_compress(z, in, n, out, n + 64);
        assert_true(c > 0);
        assert_int_equal(rdb_lzf_decompress(out, c, back, n), 0);
        assert_memory_equal(in, back, n);
        if (n > 1)
            assert_int_equal(rdb_lzf_decompress(out, c, back, n - 1), -1);
        for (size_t cut = 0; cut < c && cut < 200; cut++)
            assert_int_equal(rdb_lzf_decompress(out, cut, back, n), -1);
        free(in), free(out), free(back);
    }
    unsigned char rep[1000], out[1000], back[1000];
    memset(rep, 'q', sizeof rep);
    size_t c = rdb_lzf_compress(z, rep, sizeof rep, out, sizeof out);
    assert_true(c > 0 && c < 30);
    assert_int_equal(rdb_lzf_decompress(out, c, back, sizeof back), 0);
    assert_memory_equal(rep, back, sizeof rep);
    /* A back reference before the start of the output is refused. */
    const unsigned char bad[] = {0x20, 0x05};
    assert_int_equal(rdb_lzf_decompress(bad, 2, back, 3), -1);
    assert_int_equal(rdb_lzf_compress(z, rep, sizeof rep, out, 5), 0);
    rdb_lzf_free(z);
}

/* DUMP payloads of redis-server 7.0.15: both load, give Redis's encoding,
 * and tessera's uncompressed DUMP of the value is byte-identical where the
 * encoding is ordered (not hashtables). */
static void test_dump_golden(void **state)
{
    (void)state;
    size_t flen;
    char *text = (char *)load_golden("dumps.txt", &flen);
    int lines = 0;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char *f[4];
        f[0] = line;
        for (int i = 1; i < 4; i++) {
            f[i] = strchr(f[i - 1], ' ');
            assert_non_null(f[i]);
            *f[i]++ = '\0';
        }
        size_t klen, clen, ulen;
        unsigned char *key = unhex(f[0], strlen(f[0]), &klen);
        unsigned char *cp = unhex(f[1], strlen(f[1]), &clen);
        unsigned char *up = unhex(f[2], strlen(f[2]), &ulen);
        assert_int_equal(rdb_dump_verify(cp, clen), 0);
        assert_int_equal(rdb_dump_verify(up, ulen), 0);
        rdb_reader_t r1, r2;
        kv_val_t v1, v2;
        assert_int_equal(rdb_dump_decode(&r1, cp, clen, -2, &v1), RDB_OK);
        assert_int_equal(rdb_dump_decode(&r2, up, ulen, -2, &v2), RDB_OK);
        kv_t *kv = kv_new(slice_make((char *)key, klen), &v1, -1, 0);
        char *d1 = describe(kv), *d2 = describe_val(&v2);
        assert_string_equal(d1, d2);
        if (strcmp(kv_enc_name(kv), f[3]) != 0)
            fail_msg("%.*s: encoding %s, redis %s", (int)klen, key, kv_enc_name(kv), f[3]);
        size_t tlen, t2len;
        unsigned char *mine = rdb_dump_payload(kv, 0, &tlen);
        if (kv->enc != ENC_HT && (tlen != ulen || memcmp(mine, up, ulen) != 0))
            fail_msg("%.*s: tessera's DUMP differs from redis's", (int)klen, key);
        unsigned char *mz = rdb_dump_payload(kv, 1, &t2len);
        rdb_reader_t r3;
        kv_val_t v3;
        assert_int_equal(rdb_dump_verify(mz, t2len), 0);
        assert_int_equal(rdb_dump_decode(&r3, mz, t2len, -2, &v3), RDB_OK);
        char *d3 = describe_val(&v3);
        assert_string_equal(d1, d3);
        rdb_reader_deinit(&r1), rdb_reader_deinit(&r2), rdb_reader_deinit(&r3);
        free(d1), free(d2), free(d3), mem_free(mine), mem_free(mz);
        kv_free(kv);
        free(key), free(cp), free(up);
        lines++;
    }
    assert_true(lines >= 20);
    free(text);
}

/* Expected values of legacy.txt (what redis-server 7.0.15 read from them). */
static const char *legacy_expect(const char *key)
{
    static const char *const exp[][2] = {
        {"legacy:hash_ziplist", "hash/listpack/-1/"},
        {"legacy:zset_ziplist", "zset/listpack/-1/a=1,b=2.5,c=3,d=1e+100,"},
        {"legacy:list_ziplist", "list/quicklist/-1/1:x,1:7,100:yyyy"},
        {"legacy:quicklist1", "list/quicklist/-1/2:n0,2:n1,"},
        {"legacy:zipmap", "hash/hashtable/-1/"},
        {"legacy:list_plain", "list/quicklist/-1/2:p1,2:12,2:p3,"},
        {"legacy:zset_text", "zset/listpack/-1/c=-inf,a=1.5,b=inf,"},
        {"legacy:quicklist2_plain", "list/quicklist/-1/10:plain node,1:z,"},
    };
    for (size_t i = 0; i < sizeof exp / sizeof exp[0]; i++)
        if (strcmp(exp[i][0], key) == 0)
            return exp[i][1];
    return NULL;
}

static void test_legacy_golden(void **state)
{
    (void)state;
    size_t flen;
    char *text = (char *)load_golden("legacy.txt", &flen);
    int n = 0;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        assert_non_null(sp2);
        *sp1 = *sp2 = '\0';
        size_t klen, plen;
        unsigned char *key = unhex(line, strlen(line), &klen);
        unsigned char *p = unhex(sp1 + 1, strlen(sp1 + 1), &plen);
        char kz[64];
        snprintf(kz, sizeof kz, "%.*s", (int)klen, key);
        assert_int_equal(rdb_dump_verify(p, plen), 0);
        rdb_reader_t r;
        kv_val_t v;
        int rc = rdb_dump_decode(&r, p, plen, -2, &v);
        if (rc != RDB_OK)
            fail_msg("%s: %s", kz, rdb_reader_error(&r));
        char *d = describe_val(&v);
        const char *want = legacy_expect(kz);
        assert_non_null(want);
        if (strncmp(d, want, strlen(want)) != 0)
            fail_msg("%s: got %.200s want %s", kz, d, want);
        if (strcmp(kz, "legacy:hash_ziplist") == 0) {
            assert_non_null(strstr(d, "3:i64,13:1099511627776,"));
            assert_non_null(strstr(d, "3:i24,7:1048576,"));
            assert_non_null(strstr(d, "3:neg,6:-70000,"));
            assert_non_null(strstr(d, "4:zero,1:0,"));
        }
        if (strcmp(kz, "legacy:quicklist1") == 0)
            assert_non_null(strstr(d, "2:n9,1:0,1:1,"));
        if (strcmp(kz, "legacy:zipmap") == 0) {
            assert_non_null(strstr(d, "2:k2,2:22,"));
            assert_non_null(strstr(d, "1:e,0:,"));
        }
        rdb_reader_deinit(&r);
        free(d), free(key), free(p);
        n++;
    }
    assert_int_equal(n, 8);
    free(text);
}

static void test_golden_file(void **state)
{
    (void)state;
    size_t len;
    unsigned char *p = load_golden("types.rdb", &len);
    ks_t *ks = ks_new(16, 0), *want = ks_new(16, 0);
    rdb_load_stats_t st;
    char err[RDB_ERR_MAX];
    int rc = load_mem(ks, p, len, &st, err);
    if (rc != RDB_OK)
        fail_msg("types.rdb: %s", err);
    assert_int_equal(st.version, 10);
    assert_string_equal(st.redis_ver, "7.0.15");
    assert_true(st.ctime_s > 1600000000);
    assert_int_equal(st.aof_base, 0);
    assert_int_equal(db_size(ks_db(ks, 0)), 20);
    assert_int_equal(db_size(ks_db(ks, 1)), 1);
    assert_int_equal(db_size(ks_db(ks, 2)), 300);
    assert_int_equal(db_size(ks_db(ks, 5)), 1);
    assert_int_equal(db_expires(ks_db(ks, 0)), 2);
    build_dataset(want);
    assert_db_same(ks_db(want, 0), ks_db(ks, 0), NULL);
    kv_t *kv = db_find(ks_db(ks, 2), S("key:299"));
    char tmp[32];
    assert_non_null(kv);
    slice_t v = kv_str(kv, tmp);
    assert_int_equal(v.len, 9);
    assert_memory_equal(v.p, "value:299", 9);
    assert_non_null(db_find(ks_db(ks, 1), S("db1:key")));
    assert_non_null(db_find(ks_db(ks, 0), S("str:rand")));
    assert_int_equal(kv_strlen(db_find(ks_db(ks, 0), S("str:rand"))), 200);
    /* Loading into a db that already has the keys: duplicate key error. */
    rc = load_mem(ks, p, len, &st, err);
    assert_int_equal(rc, RDB_ERR);
    assert_non_null(strstr(err, "duplicated key"));
    assert_non_null(strstr(err, "at offset"));
    ks_free(ks);
    ks_free(want);
    free(p);
}

static void test_lru_lfu(void **state)
{
    (void)state;
    size_t len;
    unsigned char *p = load_golden("lru.rdb", &len);
    ks_t *ks = ks_new(16, 0);
    rdb_load_stats_t st;
    ks_set_policy(ks, KS_POLICY_LRU, 1, 10, 1);
    assert_int_equal(load_mem(ks, p, len, &st, NULL), RDB_OK);
    kv_t *d = db_find(ks_db(ks, 0), S("d"));
    assert_non_null(d);
    uint64_t idle = kv_idle_ms(d, NOW_MS) / 1000;
    assert_true(idle >= 1000 && idle <= 1002);
    /* "c" was saved with IDLE 0 ("a" shares Redis's shared integer object
     * with "d", so it got d's IDLETIME too). */
    assert_true(kv_idle_ms(db_find(ks_db(ks, 0), S("c")), NOW_MS) / 1000 < 5);
    /* Saving under LRU writes IDLE again. */
    size_t slen;
    unsigned char *saved = save_mem(ks, RDB_W_CHECKSUM, KS_POLICY_LRU, &slen);
    ks_t *ks2 = ks_new(16, 0);
    ks_set_policy(ks2, KS_POLICY_LRU, 1, 10, 1);
    assert_int_equal(load_mem(ks2, saved, slen, &st, NULL), RDB_OK);
    idle = kv_idle_ms(db_find(ks_db(ks2, 0), S("d")), NOW_MS) / 1000;
    assert_true(idle >= 1000 && idle <= 1002);
    ks_free(ks2);
    mem_free(saved);
    ks_free(ks);
    free(p);

    p = load_golden("lfu.rdb", &len);
    ks = ks_new(16, 0);
    ks_set_policy(ks, KS_POLICY_LFU, 1, 10, 1);
    assert_int_equal(load_mem(ks, p, len, &st, NULL), RDB_OK);
    assert_int_equal(ks_lfu_freq(ks, db_find(ks_db(ks, 0), S("d")), NOW_MS), 77);
    saved = save_mem(ks, RDB_W_CHECKSUM, KS_POLICY_LFU, &slen);
    ks2 = ks_new(16, 0);
    ks_set_policy(ks2, KS_POLICY_LFU, 1, 10, 1);
    assert_int_equal(load_mem(ks2, saved, slen, &st, NULL), RDB_OK);
    assert_int_equal(ks_lfu_freq(ks2, db_find(ks_db(ks2, 0), S("d")), NOW_MS), 77);
    ks_free(ks2);
    mem_free(saved);
    ks_free(ks);
    free(p);
}

static void test_roundtrip(void **state)
{
    (void)state;
    static const unsigned flags[] = {0, RDB_W_CHECKSUM, RDB_W_COMPRESS | RDB_W_CHECKSUM};
    ks_t *src = ks_new(16, 0);
    build_dataset(src);
    db_set_string(ks_db(src, 3), S("other"), S("db three"), -1, 0, NOW_MS);
    db_set_string(ks_db(src, 3), S("gone"), S("expired"), (long long)NOW_MS - 10, 0, NOW_MS);
    for (size_t i = 0; i < 3; i++) {
        size_t len;
        unsigned char *p = save_mem(src, flags[i], KS_POLICY_OTHER, &len);
        assert_memory_equal(p, "REDIS0010", 9);
        ks_t *dst = ks_new(16, 0);
        rdb_load_stats_t st;
        char err[RDB_ERR_MAX];
        if (load_mem(dst, p, len, &st, err) != RDB_OK)
            fail_msg("roundtrip %zu: %s", i, err);
        assert_db_same(ks_db(src, 0), ks_db(dst, 0), NULL);
        assert_db_same(ks_db(dst, 0), ks_db(src, 0), NULL);
        assert_int_equal(db_size(ks_db(dst, 3)), 1); /* the expired key is dropped */
        assert_int_equal(st.keys_expired, 1);
        assert_int_equal(st.ctime_s, 1700000000);
        assert_int_equal(st.used_mem, 12345);
        ks_free(dst);
        mem_free(p);
    }
    ks_free(src);
}

/* Every prefix of a file fails cleanly with an offset; every single-byte
 * flip fails (the checksum catches what the structure does not); with the
 * checksum zeroed, flips may load but never crash or leak. */
static void test_truncation_and_flips(void **state)
{
    (void)state;
    ks_t *src = ks_new(16, 0);
    db_t *db = ks_db(src, 0);
    const char *l[] = {"a", "bb", "123", "x"};
    put_list(db, "l", l, 4);
    put_set(db, "s", l, 4);
    const char *ints[] = {"1", "5", "-3"};
    put_set(db, "i", ints, 3);
    const double sc[] = {1, 2, 3, 4};
    put_zset(db, "z", l, sc, 4);
    const char *hv[] = {"f", "v", "g", "12"};
    put_hash(db, "h", hv, 2);
    db_set_string(db, S("str"), S("some string value that is long enough to compress"),
                  99999999999999LL, 0, NOW_MS);
    db_set_int(db, S("n"), 70000, -1, 0, NOW_MS);
    size_t len;
    unsigned char *p = save_mem(src, RDB_W_CHECKSUM | RDB_W_COMPRESS, KS_POLICY_OTHER, &len);
    for (size_t cut = 0; cut < len; cut++) {
        unsigned char *c = malloc(cut ? cut : 1);
        memcpy(c, p, cut);
        ks_t *ks = ks_new(16, 0);
        rdb_load_stats_t st;
        char err[RDB_ERR_MAX];
        assert_int_equal(load_mem(ks, c, cut, &st, err), RDB_ERR);
        assert_non_null(strstr(err, "at offset"));
        ks_free(ks);
        free(c);
    }
    for (int zero_crc = 0; zero_crc < 2; zero_crc++) {
        unsigned char *c = malloc(len);
        for (size_t off = 0; off < len - 8; off++) {
            for (int bit = 0; bit < 8; bit += zero_crc ? 1 : 3) {
                memcpy(c, p, len);
                if (zero_crc)
                    memset(c + len - 8, 0, 8);
                c[off] ^= (unsigned char)(1u << bit);
                ks_t *ks = ks_new(16, 0);
                rdb_load_stats_t st;
                char err[RDB_ERR_MAX];
                int rc = load_mem(ks, c, len, &st, err);
                if (!zero_crc && rc == RDB_OK)
                    fail_msg("flip at %zu bit %d went unnoticed", off, bit);
                if (rc != RDB_OK)
                    assert_non_null(strstr(err, "at offset"));
                ks_free(ks);
            }
        }
        free(c);
    }
    mem_free(p);
    ks_free(src);
}

/* Payload bodies: every truncation and flip of every value decodes or
 * fails without crashing (the checksum is not consulted here). */
static void test_payload_mutations(void **state)
{
    (void)state;
    size_t flen;
    char *text = (char *)load_golden("dumps.txt", &flen);
    int done = 0;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char *f1 = strchr(line, ' ');
        char *f2 = strchr(f1 + 1, ' ');
        size_t plen;
        unsigned char *p = unhex(f1 + 1, (size_t)(f2 - f1 - 1), &plen);
        size_t step = plen > 4000 ? plen / 400 : 1;
        for (size_t cut = 10; cut < plen; cut += step) {
            rdb_reader_t r;
            kv_val_t v;
            unsigned char *c = malloc(cut);
            memcpy(c, p, cut);
            if (rdb_dump_decode(&r, c, cut, -2, &v) == RDB_OK)
                rdb_val_free(&v);
            rdb_reader_deinit(&r);
            free(c);
        }
        for (size_t off = 0; off + 10 < plen; off += step) {
            for (int bit = 0; bit < 8; bit++) {
                rdb_reader_t r;
                kv_val_t v;
                unsigned char *c = malloc(plen);
                memcpy(c, p, plen);
                c[off] ^= (unsigned char)(1u << bit);
                int rc = rdb_dump_decode(&r, c, plen, -2, &v);
                if (rc == RDB_OK) {
                    char *d = describe_val(&v); /* walk what was accepted */
                    free(d);
                } else if (rc == RDB_ERR) {
                    assert_non_null(strstr(rdb_reader_error(&r), "at offset"));
                }
                rdb_reader_deinit(&r);
                free(c);
            }
        }
        free(p);
        done++;
    }
    assert_true(done >= 20);
    free(text);
}

static unsigned char *mk_payload(const unsigned char *body, size_t n, unsigned ver, size_t *len)
{
    unsigned char *p = malloc(n + 10);
    memcpy(p, body, n);
    p[n] = (unsigned char)ver;
    p[n + 1] = (unsigned char)(ver >> 8);
    uint64_t crc = crc64_jones(0, p, n + 2);
    for (int i = 0; i < 8; i++)
        p[n + 2 + i] = (unsigned char)(crc >> (8 * i));
    *len = n + 10;
    return p;
}

static void test_dump_checks(void **state)
{
    (void)state;
    const unsigned char hello[] = {0x00, 0x05, 'h', 'e', 'l', 'l', 'o'};
    const unsigned char redis_hello[] = {0x00, 0x05, 'h',  'e', 'l', 'l', 'o', 0x0a, 0x00,
                                         'c',  'r',  0xdf, 'v', 'e', '4', ' ', 0x0a};
    size_t len;
    unsigned char *p = mk_payload(hello, sizeof hello, 10, &len);
    assert_int_equal(len, sizeof redis_hello);
    assert_memory_equal(p, redis_hello, len);
    assert_int_equal(rdb_dump_verify(p, len), 0);
    p[len - 1] ^= 1;
    assert_int_equal(rdb_dump_verify(p, len), -1);
    free(p);
    p = mk_payload(hello, sizeof hello, 11, &len);
    assert_int_equal(rdb_dump_verify(p, len), -1);
    free(p);
    p = mk_payload(hello, sizeof hello, 9, &len);
    assert_int_equal(rdb_dump_verify(p, len), 0);
    free(p);
    assert_int_equal(rdb_dump_verify(redis_hello, 9), -1);
    /* Our DUMP of the same value is Redis's. */
    kv_val_t v = kv_val_string(S("hello"));
    kv_t *kv = kv_new(S("k"), &v, -1, 0);
    unsigned char *mine = rdb_dump_payload(kv, 1, &len);
    assert_int_equal(len, sizeof redis_hello);
    assert_memory_equal(mine, redis_hello, len);
    mem_free(mine);
    kv_free(kv);
    /* Empty collections are RDB_EMPTY; duplicates and NaN are errors. */
    const unsigned char empty_list[] = {RDB_TYPE_LIST_QUICKLIST_2, 0x00};
    const unsigned char dup_set[] = {RDB_TYPE_SET, 0x02, 0x01, 'a', 0x01, 'a'};
    const unsigned char nan_zset[] = {RDB_TYPE_ZSET, 0x01, 0x01, 'a', 253};
    const unsigned char dup_hash[] = {RDB_TYPE_HASH, 0x02, 1, 'f', 1, 'v', 1, 'f', 1, 'w'};
    const unsigned char stream[] = {RDB_TYPE_STREAM_LISTPACKS, 0x00};
    const struct {
        const unsigned char *b;
        size_t n;
        int rc;
        const char *msg;
    } cases[] = {
        {empty_list, sizeof empty_list, RDB_EMPTY, ""},
        {dup_set, sizeof dup_set, RDB_ERR, "Duplicate set"},
        {nan_zset, sizeof nan_zset, RDB_ERR, "NAN"},
        {dup_hash, sizeof dup_hash, RDB_ERR, "Duplicate hash"},
        {stream, sizeof stream, RDB_ERR, "Stream"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        p = mk_payload(cases[i].b, cases[i].n, 10, &len);
        rdb_reader_t r;
        kv_val_t val;
        assert_int_equal(rdb_dump_decode(&r, p, len, -2, &val), cases[i].rc);
        assert_non_null(strstr(rdb_reader_error(&r), cases[i].msg));
        rdb_reader_deinit(&r);
        free(p);
    }
}

/* An empty collection in a file is skipped; the rest loads. */
static void test_empty_key_skipped(void **state)
{
    (void)state;
    unsigned char f[64];
    size_t n = 0;
    memcpy(f, "REDIS0010", 9), n = 9;
    const unsigned char body[] = {RDB_OPCODE_SELECTDB,
                                  0,
                                  RDB_TYPE_LIST_QUICKLIST_2,
                                  1,
                                  'e',
                                  0,
                                  RDB_TYPE_STRING,
                                  1,
                                  'k',
                                  1,
                                  'v',
                                  RDB_OPCODE_EOF};
    memcpy(f + n, body, sizeof body), n += sizeof body;
    uint64_t crc = crc64_jones(0, f, n);
    for (int i = 0; i < 8; i++)
        f[n++] = (unsigned char)(crc >> (8 * i));
    ks_t *ks = ks_new(16, 0);
    rdb_load_stats_t st;
    assert_int_equal(load_mem(ks, f, n, &st, NULL), RDB_OK);
    assert_int_equal(st.empty_skipped, 1);
    assert_int_equal(st.keys_loaded, 1);
    assert_int_equal(db_size(ks_db(ks, 0)), 1);
    ks_free(ks);
    /* A db beyond the configured count is refused. */
    f[10] = 20;
    crc = crc64_jones(0, f, n - 8);
    for (int i = 0; i < 8; i++)
        f[n - 8 + i] = (unsigned char)(crc >> (8 * i));
    ks = ks_new(16, 0);
    char err[RDB_ERR_MAX];
    assert_int_equal(load_mem(ks, f, n, &st, err), RDB_ERR);
    assert_non_null(strstr(err, "databases"));
    ks_free(ks);
}

/* Strings: the integer forms and the encodings chosen on load. */
static void test_string_forms(void **state)
{
    (void)state;
    static const char *vals[] = {"0",
                                 "-1",
                                 "127",
                                 "-128",
                                 "128",
                                 "32767",
                                 "32768",
                                 "-2147483648",
                                 "2147483647",
                                 "2147483648",
                                 "-9223372036854775808",
                                 "007",
                                 "1.5",
                                 "",
                                 "+1",
                                 "123456789012345678901234567890123456789012345"};
    static const char *encs[] = {"int",    "int",    "int",    "int", "int", "int",
                                 "int",    "int",    "int",    "int", "int", "embstr",
                                 "embstr", "embstr", "embstr", "raw"};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        kv_val_t v = kv_val_string(S(vals[i]));
        kv_t *kv = kv_new(S("k"), &v, -1, 0);
        for (int z = 0; z < 2; z++) {
            size_t len;
            unsigned char *p = rdb_dump_payload(kv, z, &len);
            rdb_reader_t r;
            kv_val_t back;
            assert_int_equal(rdb_dump_decode(&r, p, len, -2, &back), RDB_OK);
            kv_t *kv2 = kv_new(S("k"), &back, -1, 0);
            char tmp[32];
            slice_t s = kv_str(kv2, tmp);
            assert_int_equal(s.len, strlen(vals[i]));
            assert_memory_equal(s.p, vals[i], s.len);
            assert_string_equal(kv_enc_name(kv2), encs[i]);
            kv_free(kv2);
            rdb_reader_deinit(&r);
            mem_free(p);
        }
        kv_free(kv);
    }
}

int main(void)
{
    setup_types();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lzf),
        cmocka_unit_test(test_dump_checks),
        cmocka_unit_test(test_string_forms),
        cmocka_unit_test(test_dump_golden),
        cmocka_unit_test(test_legacy_golden),
        cmocka_unit_test(test_golden_file),
        cmocka_unit_test(test_lru_lfu),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_empty_key_skipped),
        cmocka_unit_test(test_truncation_and_flips),
        cmocka_unit_test(test_payload_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
