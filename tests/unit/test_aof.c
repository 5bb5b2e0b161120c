/*
 * test_aof.c — unit tests for the pure AOF modules: the manifest codec
 * (src/persist/aof_manifest.c) and the command reader (src/persist/aof_reader.c).
 *
 * Golden inputs come from Debian's redis-server 7.0.15 run with
 * --appendonly yes --aof-use-rdb-preamble no: its appendonlydir/ manifest and
 * incr file bytes, and the error texts it logs for broken manifests.
 */
/* SOURCES: src/persist/aof_manifest.c src/persist/aof_reader.c src/proto/resp.c src/lib/mem.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/mem.h"
#include "persist/aof_manifest.h"
#include "persist/aof_reader.h"

/* ---- manifest ------------------------------------------------------------- */

static const char GOLDEN_MANIFEST[] = "file appendonly.aof.2.base.aof seq 2 type b\n"
                                      "file appendonly.aof.2.incr.aof seq 2 type i\n";

static void test_manifest_golden_roundtrip(void **st)
{
    (void)st;
    aof_manifest_t m;
    aof_manifest_err_t err;
    assert_int_equal(aof_manifest_parse(GOLDEN_MANIFEST, strlen(GOLDEN_MANIFEST), &m, &err), 0);
    assert_non_null(m.base);
    assert_string_equal(m.base->name, "appendonly.aof.2.base.aof");
    assert_int_equal(m.base->seq, 2);
    assert_int_equal(m.nincr, 1);
    assert_string_equal(m.incr[0].name, "appendonly.aof.2.incr.aof");
    assert_int_equal(m.base_seq, 2);
    assert_int_equal(m.incr_seq, 2);
    size_t len;
    char *txt = aof_manifest_encode(&m, &len);
    assert_int_equal(len, strlen(GOLDEN_MANIFEST));
    assert_memory_equal(txt, GOLDEN_MANIFEST, len);
    mem_free(txt);
    aof_manifest_deinit(&m);
}

static void test_manifest_order_and_history(void **st)
{
    (void)st;
    aof_manifest_t m;
    aof_manifest_init(&m);
    aof_manifest_add_incr(&m, "appendonly.aof.1.incr.aof", 1);
    aof_manifest_set_base(&m, "appendonly.aof.1.base.aof", 1);
    aof_manifest_add_incr(&m, "appendonly.aof.2.incr.aof", 2);
    aof_manifest_base_to_history(&m);
    aof_manifest_set_base(&m, "appendonly.aof.2.base.aof", 2);
    aof_manifest_incr_to_history(&m, 1);
    size_t len;
    char *txt = aof_manifest_encode(&m, &len);
    assert_string_equal(txt, "file appendonly.aof.2.base.aof seq 2 type b\n"
                             "file appendonly.aof.1.base.aof seq 1 type h\n"
                             "file appendonly.aof.1.incr.aof seq 1 type h\n"
                             "file appendonly.aof.2.incr.aof seq 2 type i\n");
    /* a copy encodes the same, and parsing gives it back */
    aof_manifest_t c;
    aof_manifest_copy(&c, &m);
    size_t len2;
    char *txt2 = aof_manifest_encode(&c, &len2);
    assert_string_equal(txt, txt2);
    aof_manifest_t p;
    aof_manifest_err_t err;
    assert_int_equal(aof_manifest_parse(txt, len, &p, &err), 0);
    assert_int_equal(p.nhist, 2);
    assert_int_equal(p.nincr, 1);
    assert_int_equal(p.incr_seq, 2);
    aof_manifest_clear_history(&m);
    mem_free(txt);
    txt = aof_manifest_encode(&m, &len);
    assert_string_equal(txt, "file appendonly.aof.2.base.aof seq 2 type b\n"
                             "file appendonly.aof.2.incr.aof seq 2 type i\n");
    mem_free(txt);
    mem_free(txt2);
    aof_manifest_deinit(&m);
    aof_manifest_deinit(&c);
    aof_manifest_deinit(&p);
}

static void test_manifest_quoted_names(void **st)
{
    (void)st;
    aof_manifest_t m;
    aof_manifest_init(&m);
    aof_manifest_set_base(&m, "my file\".1.base.aof", 1);
    size_t len;
    char *txt = aof_manifest_encode(&m, &len);
    assert_string_equal(txt, "file \"my file\\\".1.base.aof\" seq 1 type b\n");
    aof_manifest_t p;
    aof_manifest_err_t err;
    assert_int_equal(aof_manifest_parse(txt, len, &p, &err), 0);
    assert_string_equal(p.base->name, "my file\".1.base.aof");
    mem_free(txt);
    aof_manifest_deinit(&m);
    aof_manifest_deinit(&p);
}

/* Inputs accepted by redis-server 7.0.15. */
static void test_manifest_accepts_like_redis(void **st)
{
    (void)st;
    static const char *ok[] = {
        "file appendonly.aof.1.base.aof seq 1 type b extra x\n",
        "file  appendonly.aof.1.base.aof   seq 1 type b\n",
        "file \"appendonly.aof.1.base.aof\" seq 1 type b\n",
        "seq 1 file appendonly.aof.1.base.aof type b\n",
        "# comment\nfile a seq 1 type i\n",
        "file a seq 1 type i seq 2\n",
        "file b seq 1 type b\nfile a seq 1 type i\nfile c seq 1 type h\n",
        "file appendonly.aof.1.base.aof seq 1 type b\r\n",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        aof_manifest_t m;
        aof_manifest_err_t err;
        int rc = aof_manifest_parse(ok[i], strlen(ok[i]), &m, &err);
        if (rc != 0)
            fail_msg("rejected %s: %s", ok[i], err.reason);
        aof_manifest_deinit(&m);
    }
    aof_manifest_t m;
    aof_manifest_err_t err;
    const char *s = "file a seq 1 type i seq 2\n";
    assert_int_equal(aof_manifest_parse(s, strlen(s), &m, &err), 0);
    assert_int_equal(m.incr[0].seq, 2);
    aof_manifest_deinit(&m);
}

/* Inputs refused by redis-server 7.0.15, with its reason and line. */
static void test_manifest_errors_like_redis(void **st)
{
    (void)st;
    static const struct {
        const char *in;
        int line;
        const char *reason;
    } bad[] = {
        {"", 0, "Found an empty AOF manifest"},
        {"file appendonly.aof.1.base.aof seq 1 type b", 0, "The AOF manifest file contains too long line"},
        {"file appendonly.aof.1.base.aof type b\n", 1, "Invalid AOF manifest file format"},
        {"file appendonly.aof.1.base.aof seq 0 type b\n", 1, "Invalid AOF manifest file format"},
        {"file appendonly.aof.1.base.aof seq x type b\n", 1, "Invalid AOF manifest file format"},
        {"file a seq 1 type i\nfile b seq 1 type i\n", 2, "Found a non-monotonic sequence number"},
        {"file a seq 2 type i\nfile b seq 1 type i\n", 2, "Found a non-monotonic sequence number"},
        {"file a seq -1 type i\n", 1, "Found a non-monotonic sequence number"},
        {"file x/y seq 1 type b\n", 1, "File can't be a path, just a filename"},
        {"\n", 1, "Invalid AOF manifest file format"},
        {"file a b seq 1 type i\n", 1, "Invalid AOF manifest file format"},
        {"file a seq 1 type x\n", 1, "Unknown AOF file type"},
        {"file a seq 1 type b\nfile b seq 1 type b\n", 2, "Found duplicate base file information"},
        {"file a seq 1 typ i\n", 1, "Invalid AOF manifest file format"},
        {"file \"a seq 1 type i\n", 1, "Invalid AOF manifest file format"},
        {"file \"\" seq 1 type i\n", 1, "Invalid AOF manifest file format"}, /* fuzz find */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        aof_manifest_t m;
        aof_manifest_err_t err;
        int rc = aof_manifest_parse(bad[i].in, strlen(bad[i].in), &m, &err);
        if (rc != -1)
            fail_msg("accepted %s", bad[i].in);
        assert_string_equal(err.reason, bad[i].reason);
        assert_int_equal(err.line, bad[i].line);
        assert_null(m.base);
        assert_int_equal(m.nincr, 0);
    }
    /* the formatted report names the line and quotes it */
    aof_manifest_t m;
    aof_manifest_err_t err;
    const char *s = "file a seq 1 type i\nfile b seq 1 type i\n";
    assert_int_equal(aof_manifest_parse(s, strlen(s), &m, &err), -1);
    char buf[512];
    aof_manifest_err_format(&err, buf, sizeof(buf));
    assert_string_equal(buf, "Reading the manifest file, at line 2\n>>> 'file b seq 1 type i'\n"
                             "Found a non-monotonic sequence number");
}

static void test_manifest_long_line(void **st)
{
    (void)st;
    char line[1100];
    memset(line, 'a', sizeof(line));
    /* 1023 bytes of content + '\n' is the longest line Redis accepts */
    memcpy(line, "file ", 5);
    memcpy(line + 1003, " seq 1 type i\n", 14);
    size_t n = 1003 + 14 - 1; /* content length */
    assert_int_equal(n, 1016);
    aof_manifest_t m;
    aof_manifest_err_t err;
    assert_int_equal(aof_manifest_parse(line, n + 1, &m, &err), 0);
    aof_manifest_deinit(&m);
    char big[1100];
    memset(big, 'a', sizeof(big));
    memcpy(big, "file ", 5);
    memcpy(big + 1010, " seq 1 type i\n", 14); /* 1023 + '\n' */
    assert_int_equal(aof_manifest_parse(big, 1024, &m, &err), 0);
    aof_manifest_deinit(&m);
    memcpy(big + 1011, " seq 1 type i\n", 14); /* 1024 + '\n' */
    assert_int_equal(aof_manifest_parse(big, 1025, &m, &err), -1);
    assert_string_equal(err.reason, "The AOF manifest file contains too long line");
}

static void test_names(void **st)
{
    (void)st;
    char *p;
    p = aof_name_base("appendonly.aof", 3, 0);
    assert_string_equal(p, "appendonly.aof.3.base.aof");
    mem_free(p);
    p = aof_name_base("appendonly.aof", 3, 1);
    assert_string_equal(p, "appendonly.aof.3.base.rdb");
    mem_free(p);
    p = aof_name_incr("x.aof", 12);
    assert_string_equal(p, "x.aof.12.incr.aof");
    mem_free(p);
    p = aof_name_manifest("appendonly.aof");
    assert_string_equal(p, "appendonly.aof.manifest");
    mem_free(p);
    p = aof_name_temp_manifest("appendonly.aof");
    assert_string_equal(p, "temp-appendonly.aof.manifest");
    mem_free(p);
    p = aof_name_temp_incr("appendonly.aof");
    assert_string_equal(p, "temp-appendonly.aof.incr");
    mem_free(p);
    p = aof_name_temp_rewrite(42);
    assert_string_equal(p, "temp-rewriteaof-bg-42.aof");
    mem_free(p);
    p = aof_path("/data/appendonlydir", "f");
    assert_string_equal(p, "/data/appendonlydir/f");
    mem_free(p);
}

static void test_manifest_write_atomic(void **st)
{
    (void)st;
    char dir[] = "/tmp/test_aof_XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(aof_manifest_write_atomic(dir, "m", "temp-m", "abc\n", 4), 0);
    char *path = aof_path(dir, "m");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char buf[16] = {0};
    assert_int_equal(fread(buf, 1, sizeof(buf), f), 4);
    fclose(f);
    assert_string_equal(buf, "abc\n");
    char *tmp = aof_path(dir, "temp-m");
    assert_int_not_equal(access(tmp, F_OK), 0);
    /* a failing write leaves the old file alone */
    assert_int_equal(aof_manifest_write_atomic("/nonexistent-dir-xyz", "m", "t", "x", 1), -1);
    unlink(path);
    rmdir(dir);
    mem_free(path);
    mem_free(tmp);
}

/* ---- reader ----------------------------------------------------------------- */

/* The incr file redis-server 7.0.15 wrote for: set foo bar; set k v EX 100;
 * (db 3) set a b; expire foo 1000; incr n. */
static const char GOLDEN_INCR[] =
    "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nset\r\n$3\r\nfoo\r\n$3\r\nbar\r\n"
    "*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$4\r\nPXAT\r\n$13\r\n1795604170451\r\n"
    "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\nb\r\n"
    "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$9\r\nPEXPIREAT\r\n$3\r\nfoo\r\n$13\r\n"
    "1795605070461\r\n*2\r\n$4\r\nincr\r\n$1\r\nn\r\n";

/* Reads all of buf; returns the final state, counts commands, records ends. */
static int read_all(const char *in, size_t len, int *ncmd, size_t *ends, size_t *last_off,
                    size_t *err_off)
{
    char *buf = mem_alloc(len + 1);
    memcpy(buf, in, len);
    aof_reader_t r;
    aof_reader_init(&r, buf, len);
    aof_cmd_t c;
    int rc, n = 0;
    while ((rc = aof_reader_next(&r, &c)) == AOF_READ_OK) {
        if (ends != NULL)
            ends[n] = c.end;
        n++;
    }
    assert_int_equal(aof_reader_next(&r, &c), rc); /* sticky */
    *ncmd = n;
    *last_off = r.off;
    if (err_off)
        *err_off = r.err_off;
    aof_reader_deinit(&r);
    mem_free(buf);
    return rc;
}

static void test_reader_golden(void **st)
{
    (void)st;
    size_t len = sizeof(GOLDEN_INCR) - 1;
    char *buf = mem_alloc(len);
    memcpy(buf, GOLDEN_INCR, len);
    aof_reader_t r;
    aof_reader_init(&r, buf, len);
    aof_cmd_t c;
    static const char *names[] = {"SELECT", "set", "SET", "SELECT", "set", "SELECT", "PEXPIREAT", "incr"};
    static const int argcs[] = {2, 3, 5, 2, 3, 2, 3, 2};
    size_t prev = 0;
    for (int i = 0; i < 8; i++) {
        assert_int_equal(aof_reader_next(&r, &c), AOF_READ_OK);
        assert_int_equal(c.argc, argcs[i]);
        assert_int_equal(c.argv[0].len, strlen(names[i]));
        assert_memory_equal(c.argv[0].p, names[i], c.argv[0].len);
        assert_int_equal(c.off, prev);
        prev = c.end;
    }
    assert_int_equal(prev, len);
    assert_int_equal(aof_reader_next(&r, &c), AOF_READ_EOF);
    aof_reader_deinit(&r);
    mem_free(buf);
}

/* Cutting the file at every byte: every cut inside a command is a truncated
 * tail whose valid part ends at the previous command boundary. */
static void test_reader_truncation_every_offset(void **st)
{
    (void)st;
    size_t len = sizeof(GOLDEN_INCR) - 1;
    size_t ends[16];
    int n;
    size_t off;
    assert_int_equal(read_all(GOLDEN_INCR, len, &n, ends, &off, NULL), AOF_READ_EOF);
    assert_int_equal(n, 8);
    for (size_t cut = 0; cut <= len; cut++) {
        size_t expect_off = 0;
        int expect_n = 0;
        for (int i = 0; i < n; i++)
            if (ends[i] <= cut) {
                expect_off = ends[i];
                expect_n = i + 1;
            }
        int got_n;
        size_t got_off;
        int rc = read_all(GOLDEN_INCR, cut, &got_n, NULL, &got_off, NULL);
        assert_int_equal(got_n, expect_n);
        assert_int_equal(got_off, expect_off);
        assert_int_equal(rc, expect_off == cut ? AOF_READ_EOF : AOF_READ_TRUNC);
    }
}

static void test_reader_corruption(void **st)
{
    (void)st;
    static const struct {
        const char *in;
        int ncmd;
        size_t err_off;
    } bad[] = {
        {"*1\r\n$4\r\nPING\r\nXYZ\r\n", 1, 14},                       /* not a multibulk */
        {"*1\r\n$4\r\nPING\r\n*0\r\n*1\r\n$4\r\nPING\r\n", 1, 14},    /* empty command */
        {"*1\r\n!4\r\nPING\r\n", 0, 4},                               /* bad bulk prefix */
        {"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n", 0, 12},            /* payload without CRLF */
        {"*1\r\n$4\rxPING\r\n", 0, 6},                                /* header CR without LF */
        {"*x\r\n$4\r\nPING\r\n", 0, 0},                               /* bad count */
        {"*1\r\n$-4\r\nPING\r\n", 0, 4},                              /* negative length */
        {"*1\r\n$4\r\nPING\r\n*2\r\n$1\r\na\r\n:1\r\n", 1, 25},          /* 2nd bulk bad */
        {"\r\n", 0, 0},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int n;
        size_t off, err_off;
        int rc = read_all(bad[i].in, strlen(bad[i].in), &n, NULL, &off, &err_off);
        if (rc != AOF_READ_ERR)
            fail_msg("case %zu: rc %d", i, rc);
        assert_int_equal(n, bad[i].ncmd);
        if (err_off != bad[i].err_off)
            fail_msg("case %zu: err_off %zu, want %zu", i, err_off, bad[i].err_off);
    }
}

static void test_reader_annotations(void **st)
{
    (void)st;
    const char *in = "#TS:1700000000\r\n*1\r\n$4\r\nPING\r\n#TS:1700000001\r\n";
    int n;
    size_t off;
    assert_int_equal(read_all(in, strlen(in), &n, NULL, &off, NULL), AOF_READ_EOF);
    assert_int_equal(n, 1);
    const char *cut = "*1\r\n$4\r\nPING\r\n#TS:17000";
    assert_int_equal(read_all(cut, strlen(cut), &n, NULL, &off, NULL), AOF_READ_TRUNC);
    assert_int_equal(off, 14);
}

static void test_reader_binary_and_big(void **st)
{
    (void)st;
    size_t vlen = 1 << 20;
    size_t cap = vlen + 64;
    char *in = mem_alloc(cap);
    /* a NUL key and a 1 MiB value made of newlines */
    size_t p = 0;
    memcpy(in + p, "*3\r\n$3\r\nset\r\n$1\r\n", 17);
    p += 17;
    in[p++] = '\0';
    memcpy(in + p, "\r\n", 2);
    p += 2;
    p += (size_t)sprintf(in + p, "$%zu\r\n", vlen);
    memset(in + p, '\n', vlen);
    p += vlen;
    memcpy(in + p, "\r\n", 2);
    p += 2;
    int n;
    size_t off;
    assert_int_equal(read_all(in, p, &n, NULL, &off, NULL), AOF_READ_EOF);
    assert_int_equal(n, 1);
    assert_int_equal(off, p);
    mem_free(in);
}

static void test_line_of(void **st)
{
    (void)st;
    const char *s = "a\nb\nc";
    assert_int_equal(aof_line_of(s, 0), 1);
    assert_int_equal(aof_line_of(s, 2), 2);
    assert_int_equal(aof_line_of(s, 5), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manifest_golden_roundtrip),
        cmocka_unit_test(test_manifest_order_and_history),
        cmocka_unit_test(test_manifest_quoted_names),
        cmocka_unit_test(test_manifest_accepts_like_redis),
        cmocka_unit_test(test_manifest_errors_like_redis),
        cmocka_unit_test(test_manifest_long_line),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_manifest_write_atomic),
        cmocka_unit_test(test_reader_golden),
        cmocka_unit_test(test_reader_truncation_every_offset),
        cmocka_unit_test(test_reader_corruption),
        cmocka_unit_test(test_reader_annotations),
        cmocka_unit_test(test_reader_binary_and_big),
        cmocka_unit_test(test_line_of),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
