/*
 * test_resp.c — unit tests for src/proto/resp.c, the RESP request parser.
 *
 * The expected outcomes (error texts, what counts as an empty request, the
 * unchecked bytes after a CR and after a payload, inline quoting) were taken
 * from Debian's redis-server 7.0.15 by sending the same raw bytes over a
 * loopback socket. Every valid stream is also fed split at every byte
 * boundary and byte by byte, into a buffer that moves on every call, and must
 * give the same outcome as when fed whole.
 */
/* SOURCES: src/proto/resp.c src/lib/mem.c src/lib/util.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/mem.h"
#include "proto/resp.h"

#define MAX_BULK (512LL * 1024 * 1024)
#define OUT_MAX (256 * 1024)

/* ---- a simulated connection ------------------------------------------- */

typedef struct conn_s {
    resp_parser_t p;
    char *buf; /* unconsumed bytes; reallocated (moved) on every arrival */
    size_t len;
    char out[OUT_MAX]; /* textual log of outcomes */
    size_t out_len;
    int done; /* an error was reported */
} conn_t;

static void out_add(conn_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_add(conn_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->out + c->out_len, OUT_MAX - c->out_len, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < OUT_MAX - c->out_len);
    c->out_len += (size_t)n;
}

static void out_arg(conn_t *c, slice_t a)
{
    out_add(c, "[");
    for (size_t i = 0; i < a.len; i++) {
        unsigned char ch = (unsigned char)a.p[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '[' && ch != ']' && ch != '\\')
            out_add(c, "%c", ch);
        else
            out_add(c, "\\%02x", ch);
    }
    out_add(c, "]");
}

static void conn_init(conn_t *c, int unauth, long long max_bulk)
{
    memset(c, 0, sizeof(*c));
    resp_init(&c->p, max_bulk);
    c->p.unauth = unauth;
}

static void conn_deinit(conn_t *c)
{
    resp_deinit(&c->p);
    free(c->buf);
    c->buf = NULL;
}

/* Parses every complete request in the buffer; logs each outcome. */
static void conn_drain(conn_t *c)
{
    for (int guard = 0; guard < 100000 && !c->done; guard++) {
        size_t used = 12345;
        resp_req_t req = {0};
        int rc = resp_parse(&c->p, c->buf, c->len, &used, &req);
        if (rc == RESP_AGAIN) {
            assert_int_equal(used, 0);
            return;
        }
        if (rc == RESP_ERR) {
            assert_int_equal(used, 0);
            out_add(c, "ERR(%s)", c->p.err);
            c->done = 1;
            return;
        }
        assert_int_equal(rc, RESP_OK);
        assert_true(used > 0 && used <= c->len);
        out_add(c, "OK%d/%zu:", req.argc, used);
        for (int i = 0; i < req.argc; i++) {
            assert_true(req.argv[i].p >= c->buf);
            assert_true(req.argv[i].p + req.argv[i].len <= c->buf + used);
            out_arg(c, req.argv[i]);
        }
        out_add(c, ";");
        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;
    }
}

/* New bytes arrive: the buffer moves to a fresh allocation first. */
static void conn_feed(conn_t *c, const char *data, size_t n)
{
    char *nb = malloc(c->len + n + 1);
    assert_non_null(nb);
    if (c->len)
        memcpy(nb, c->buf, c->len);
    if (n)
        memcpy(nb + c->len, data, n);
    free(c->buf);
    c->buf = nb;
    c->len += n;
    conn_drain(c);
}

static void conn_finish(conn_t *c)
{
    if (!c->done)
        out_add(c, "AGAIN(%zu)", c->len);
    c->out[c->out_len] = '\0';
}

/* Outcome of feeding data whole. Caller frees. */
static char *run_whole(const char *data, size_t n, int unauth, long long max_bulk)
{
    conn_t *c = malloc(sizeof(*c));
    conn_init(c, unauth, max_bulk);
    conn_feed(c, data, n);
    conn_finish(c);
    char *s = strdup(c->out);
    conn_deinit(c);
    free(c);
    return s;
}

static void check_splits(const char *data, size_t n, int unauth, const char *whole)
{
    conn_t *c = malloc(sizeof(*c));

    for (size_t k = 0; k <= n; k++) {
        conn_init(c, unauth, MAX_BULK);
        conn_feed(c, data, k);
        conn_feed(c, data + k, n - k);
        conn_finish(c);
        if (strcmp(c->out, whole) != 0)
            fail_msg("split at %zu: got %s, want %s", k, c->out, whole);
        conn_deinit(c);
    }
    conn_init(c, unauth, MAX_BULK);
    for (size_t k = 0; k < n; k++)
        conn_feed(c, data + k, 1);
    conn_finish(c);
    if (strcmp(c->out, whole) != 0)
        fail_msg("byte by byte: got %s, want %s", c->out, whole);
    conn_deinit(c);
    free(c);
}

/* Feeds data whole, compares with want, then checks every split. */
static void expect_n(const char *data, size_t n, int unauth, const char *want)
{
    char *got = run_whole(data, n, unauth, MAX_BULK);
    if (strcmp(got, want) != 0)
        fail_msg("input %.*s: got %s, want %s", (int)(n > 60 ? 60 : n), data, got, want);
    check_splits(data, n, unauth, want);
    free(got);
}

#define EXPECT(lit, want) expect_n(lit, sizeof(lit) - 1, 0, want)
#define EXPECT_UNAUTH(lit, want) expect_n(lit, sizeof(lit) - 1, 1, want)

/* ---- error paths -------------------------------------------------------- */

#define E_MB "ERR(Protocol error: invalid multibulk length)"
#define E_BULK "ERR(Protocol error: invalid bulk length)"

static void test_invalid_multibulk_length(void **state)
{
    (void)state;
    EXPECT("*3000000000\r\n", E_MB);
    EXPECT("*2147483648\r\n", E_MB);
    EXPECT("*9223372036854775808\r\n", E_MB);
    EXPECT("*99999999999999999999999\r\n", E_MB);
    EXPECT("*1x\r\n", E_MB);
    EXPECT("*x\r\n", E_MB);
    EXPECT("*\r\n", E_MB);
    EXPECT("*+1\r\n", E_MB);
    EXPECT("*01\r\n$4\r\nPING\r\n", E_MB);
    EXPECT("*-0\r\nPING\r\n", E_MB);
    EXPECT("*1 \r\n$4\r\nPING\r\n", E_MB);
    EXPECT("* 1\r\n$4\r\nPING\r\n", E_MB);
    EXPECT("*-\r\n", E_MB);
    /* The header ends at the first CR: "1\n$4" is not a number. */
    EXPECT("*1\n$4\r\nPING\r\n", E_MB);
    /* A valid request first, then the bad one. */
    EXPECT("*1\r\n$4\r\nPING\r\n*1x\r\n", "OK1/14:[PING];" E_MB);
}

static void test_invalid_bulk_length(void **state)
{
    (void)state;
    EXPECT("*2\r\n$4\r\nECHO\r\n$-1\r\n", E_BULK);
    EXPECT("*1\r\n$2147483648\r\n", E_BULK);
    EXPECT("*1\r\n$536870913\r\n", E_BULK);
    EXPECT("*1\r\n$1x\r\n", E_BULK);
    EXPECT("*1\r\n$\r\n", E_BULK);
    EXPECT("*1\r\n$+4\r\nPING\r\n", E_BULK);
    EXPECT("*1\r\n$04\r\nPING\r\n", E_BULK);
    EXPECT("*1\r\n$-0\r\n", E_BULK);
    EXPECT("*1\r\n$-2\r\n", E_BULK);
    EXPECT("*1\r\n$9223372036854775808\r\n", E_BULK);
    EXPECT("*1\r\n$4\nPING\r\n", E_BULK);
    EXPECT("*1\r\n$ 4\r\nPING\r\n", E_BULK);
}

static void test_expected_dollar(void **state)
{
    (void)state;
    EXPECT("*1\r\nPING\r\n", "ERR(Protocol error: expected '$', got 'P')");
    EXPECT("*1\r\n:4\r\nPING\r\n", "ERR(Protocol error: expected '$', got ':')");
    EXPECT("*2\r\n$1\r\na\r\n*1\r\n", "ERR(Protocol error: expected '$', got '*')");
    /* The raw CR is in the text; reply_error turns it into a space. */
    EXPECT("*1\r\n\r\n", "ERR(Protocol error: expected '$', got '\r')");
    /* Bytes after the CR are only needed to exist, not to be LF. */
    EXPECT("*1\r\nPING\r", "AGAIN(9)");
}

static char *make_repeat(const char *prefix, char fill, size_t n, const char *suffix, size_t *len)
{
    size_t pl = strlen(prefix), sl = strlen(suffix);
    char *s = malloc(pl + n + sl + 1);
    memcpy(s, prefix, pl);
    memset(s + pl, fill, n);
    memcpy(s + pl + n, suffix, sl + 1);
    *len = pl + n + sl;
    return s;
}

static void expect_whole(const char *data, size_t n, const char *want)
{
    char *got = run_whole(data, n, 0, MAX_BULK);
    if (strcmp(got, want) != 0)
        fail_msg("got %s, want %s", got, want);
    free(got);
}

static void test_too_big(void **state)
{
    (void)state;
    size_t n;
    char *s;

    s = make_repeat("*", '1', 70000, "", &n);
    expect_whole(s, n, "ERR(Protocol error: too big mbulk count string)");
    free(s);
    s = make_repeat("*", '1', 70000, "\r\n", &n);
    expect_whole(s, n, "ERR(Protocol error: too big mbulk count string)");
    free(s);
    /* 65536 bytes without CR is still acceptable... */
    s = make_repeat("*", '1', 65535, "", &n);
    expect_whole(s, n, "AGAIN(65536)");
    free(s);
    /* ...and a CR at offset 65536 is found, so the count is judged. */
    s = make_repeat("*", '1', 65535, "\r\n", &n);
    expect_whole(s, n, E_MB);
    free(s);
    s = make_repeat("*1\r\n$", '1', 70000, "", &n);
    expect_whole(s, n, "ERR(Protocol error: too big bulk count string)");
    free(s);
    s = make_repeat("*1\r\nX", '1', 70000, "", &n);
    expect_whole(s, n, "ERR(Protocol error: too big bulk count string)");
    free(s);
    s = make_repeat("", 'x', 70000, "", &n);
    expect_whole(s, n, "ERR(Protocol error: too big inline request)");
    free(s);
    s = make_repeat("", 'x', 70000, "\n", &n);
    expect_whole(s, n, "ERR(Protocol error: too big inline request)");
    free(s);
    /* Redis accepts a 65536-byte inline line. */
    s = make_repeat("", 'x', 65536, "\n", &n);
    char *got = run_whole(s, n, 0, MAX_BULK);
    assert_memory_equal(got, "OK1/65537:[xxx", 14);
    free(got);
    free(s);
}

/* A NUL before the terminator hides it, as strchr() does for Redis. */
static void test_nul_hides_terminator(void **state)
{
    (void)state;
    size_t n;
    char *s;

    expect_n("*1\0\r\n$4\r\nPING\r\n", 15, 0, "AGAIN(15)");
    expect_n("*1\r\n$4\0\r\nPING\r\n", 15, 0, "AGAIN(15)");
    expect_n("ECHO a\0b\r\n", 10, 0, "AGAIN(10)");
    expect_n("ECHO \"a\0b\"\r\n", 12, 0, "AGAIN(12)");
    /* A NUL in a payload is just a byte. */
    expect_n("*1\r\n$3\r\na\0b\r\n", 13, 0, "OK1/13:[a\\00b];AGAIN(0)");
    /* Once 64 KiB are buffered, the line is too big. */
    s = make_repeat("*1\0\r\n", 'x', 70000, "", &n);
    expect_whole(s, n, "ERR(Protocol error: too big mbulk count string)");
    free(s);
    s = make_repeat("PING\0\n", 'x', 70000, "", &n);
    expect_whole(s, n, "ERR(Protocol error: too big inline request)");
    free(s);
}

#define E_QUOTES "ERR(Protocol error: unbalanced quotes in request)"

static void test_unbalanced_quotes(void **state)
{
    (void)state;
    EXPECT("ECHO \"abc\"x\r\n", E_QUOTES);
    EXPECT("ECHO \"abc\r\n", E_QUOTES);
    EXPECT("ECHO 'ab'x\r\n", E_QUOTES);
    EXPECT("ECHO \"a\\\"\r\n", E_QUOTES);
    EXPECT("ECHO 'a\\\\'\r\n", E_QUOTES);
    EXPECT("ECHO '\\'\r\n", E_QUOTES);
    EXPECT("ECHO \"\r\n", E_QUOTES);
    EXPECT("ECHO \"a\\\r\n", E_QUOTES);
    EXPECT("PING\r\nECHO 'x\n", "OK1/6:[PING];" E_QUOTES);
}

static void test_unauthenticated(void **state)
{
    (void)state;
    EXPECT_UNAUTH("*11\r\n", "ERR(Protocol error: unauthenticated multibulk length)");
    EXPECT_UNAUTH("*10\r\n", "AGAIN(5)");
    EXPECT_UNAUTH("*1\r\n$16385\r\n", "ERR(Protocol error: unauthenticated bulk length)");
    EXPECT_UNAUTH("*1\r\n$16384\r\n", "AGAIN(12)");
    /* The validity checks come first. */
    EXPECT_UNAUTH("*3000000000\r\n", E_MB);
    EXPECT_UNAUTH("*1\r\n$-1\r\n", E_BULK);
    EXPECT_UNAUTH("*1\r\n$536870913\r\n", E_BULK);
    /* Inline requests have no such limit. */
    EXPECT_UNAUTH("AUTH a b c d e f g h i j k\r\n",
                  "OK12/28:[AUTH][a][b][c][d][e][f][g][h][i][j][k];AGAIN(0)");
    /* An authenticated client has no such limit either. */
    EXPECT("*11\r\n", "AGAIN(5)");
}

static void test_max_bulk(void **state)
{
    (void)state;
    char *got = run_whole("*1\r\n$1000\r\n", 11, 0, 999);
    assert_string_equal(got, E_BULK);
    free(got);
    got = run_whole("*1\r\n$999\r\n", 10, 0, 999);
    assert_string_equal(got, "AGAIN(10)");
    free(got);
    /* The master link is configured with no limit. */
    got = run_whole("*1\r\n$536870913\r\n", 16, 0, 0x7fffffffffffffffLL);
    assert_string_equal(got, "AGAIN(16)");
    free(got);
}

static void test_sticky_error_and_reset(void **state)
{
    (void)state;
    resp_parser_t p;
    char bad[] = "*x\r\n";
    char good[] = "*1\r\n$4\r\nPING\r\n";
    size_t used;
    resp_req_t req;

    resp_init(&p, MAX_BULK);
    assert_int_equal(resp_parse(&p, bad, 4, &used, &req), RESP_ERR);
    assert_int_equal(resp_parse(&p, good, 14, &used, &req), RESP_ERR);
    assert_string_equal(p.err, "Protocol error: invalid multibulk length");
    resp_reset(&p);
    assert_string_equal(p.err, "");
    assert_int_equal(resp_parse(&p, good, 14, &used, &req), RESP_OK);
    assert_int_equal(used, 14);
    assert_int_equal(req.argc, 1);
    resp_deinit(&p);
}

/* ---- valid requests ---------------------------------------------------- */

static void test_empty_multibulk(void **state)
{
    (void)state;
    EXPECT("*-1\r\n", "OK0/5:;AGAIN(0)");
    EXPECT("*0\r\n", "OK0/4:;AGAIN(0)");
    EXPECT("*-7\r\n", "OK0/5:;AGAIN(0)");
    EXPECT("*-1\r\nPING\r\n", "OK0/5:;OK1/6:[PING];AGAIN(0)");
    EXPECT("*0\r\n*1\r\n$4\r\nPING\r\n", "OK0/4:;OK1/14:[PING];AGAIN(0)");
}

static void test_multibulk(void **state)
{
    (void)state;
    EXPECT("*1\r\n$4\r\nPING\r\n", "OK1/14:[PING];AGAIN(0)");
    EXPECT("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n", "OK3/33:[SET][key][value];AGAIN(0)");
    EXPECT("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", "OK2/20:[ECHO][];AGAIN(0)");
    /* Binary-safe: CR, LF, NUL and high bytes inside payloads. */
    EXPECT("*3\r\n$3\r\nSET\r\n$5\r\nk\r\n\0y\r\n$4\r\n\r\n\r\n\r\n",
           "OK3/34:[SET][k\\0d\\0a\\00y][\\0d\\0a\\0d\\0a];AGAIN(0)");
    EXPECT("*1\r\n$3\r\n\xff\x80\x7f\r\n", "OK1/13:[\\ff\\80\\7f];AGAIN(0)");
    /* The two bytes after a payload and the byte after a CR are not checked. */
    EXPECT("*1\r\n$4\r\nPINGxx", "OK1/14:[PING];AGAIN(0)");
    EXPECT("*1\r\n$4\r\nPINGxxPING\r\n", "OK1/14:[PING];OK1/6:[PING];AGAIN(0)");
    EXPECT("*1\rX$4\r\nPING\r\n", "OK1/14:[PING];AGAIN(0)");
    EXPECT("*1\r\n$4\rXPING\r\n", "OK1/14:[PING];AGAIN(0)");
    /* Incomplete requests wait. */
    EXPECT("*1\r\n$4\r\nPING", "AGAIN(12)");
    EXPECT("*1\r\n$4\r\nPING\r", "AGAIN(13)");
    EXPECT("*2\r\n$3\r\nGET\r\n", "AGAIN(13)");
    EXPECT("*2147483647\r\n", "AGAIN(13)");
    EXPECT("*1\r\n$536870912\r\n", "AGAIN(16)");
}

static void test_inline(void **state)
{
    (void)state;
    EXPECT("PING\n", "OK1/5:[PING];AGAIN(0)");
    EXPECT("PING\r\n", "OK1/6:[PING];AGAIN(0)");
    EXPECT("  PING   \r\n", "OK1/11:[PING];AGAIN(0)");
    EXPECT("\r\n\r\nPING\r\n", "OK0/2:;OK0/2:;OK1/6:[PING];AGAIN(0)");
    EXPECT("\nPING\n", "OK0/1:;OK1/5:[PING];AGAIN(0)");
    EXPECT("SET a b\r\n", "OK3/9:[SET][a][b];AGAIN(0)");
    EXPECT("$4\r\nPING\r\n", "OK1/4:[$4];OK1/6:[PING];AGAIN(0)");
    EXPECT(" *1\r\n", "OK1/5:[*1];AGAIN(0)");
    EXPECT("PING", "AGAIN(4)");
    EXPECT("PING\r", "AGAIN(5)");
}

static void test_inline_quotes(void **state)
{
    (void)state;
    EXPECT("ECHO \"a\\x41b\\n\"\r\n", "OK2/17:[ECHO][aAb\\0a];AGAIN(0)");
    EXPECT("ECHO 'a\\'b'\r\n", "OK2/13:[ECHO][a'b];AGAIN(0)");
    EXPECT("ECHO 'a\\nb'\r\n", "OK2/13:[ECHO][a\\5cnb];AGAIN(0)");
    EXPECT("ECHO \"\\xZZ\"\r\n", "OK2/13:[ECHO][xZZ];AGAIN(0)");
    EXPECT("ECHO \"\\x4a\\X41\"\r\n", "OK2/17:[ECHO][JX41];AGAIN(0)");
    EXPECT("ECHO \"\\x4\"\r\n", "OK2/12:[ECHO][x4];AGAIN(0)");
    EXPECT("ECHO \"\\q\"\r\n", "OK2/11:[ECHO][q];AGAIN(0)");
    EXPECT("ECHO \"a\\\\\"\r\n", "OK2/12:[ECHO][a\\5c];AGAIN(0)");
    EXPECT("ECHO \"\\b\\a\\t\\r\"\r\n", "OK2/17:[ECHO][\\08\\07\\09\\0d];AGAIN(0)");
    EXPECT("ECHO \"\\\"\"\r\n", "OK2/11:[ECHO][\"];AGAIN(0)");
    EXPECT("ECHO a\"b\"\r\n", "OK2/11:[ECHO][ab];AGAIN(0)");
    EXPECT("ECHO a'b c'd e\r\n", E_QUOTES);
    EXPECT("ECHO a'b c' e\r\n", "OK3/15:[ECHO][ab c][e];AGAIN(0)");
    EXPECT("ECHO \"\"\r\n", "OK2/9:[ECHO][];AGAIN(0)");
    EXPECT("ECHO \"\" ''\r\n", "OK3/12:[ECHO][][];AGAIN(0)");
    EXPECT("ECHO \"a b\"\r\n", "OK2/12:[ECHO][a b];AGAIN(0)");
    EXPECT("ECHO \"a\rb\"\r\n", "OK2/12:[ECHO][a\\0db];AGAIN(0)");
    EXPECT("ECHO \"x\"\r\n", "OK2/10:[ECHO][x];AGAIN(0)");
    /* Separators: space, tab, CR, LF end a token; \v and \f do not, but
     * leading white space of any kind is skipped. */
    EXPECT("ECHO\t\"x\"\tb\r\n", "OK3/12:[ECHO][x][b];AGAIN(0)");
    EXPECT("ECHO a\rb\r\n", "OK3/10:[ECHO][a][b];AGAIN(0)");
    EXPECT("ECHO a\r\r\n", "OK2/9:[ECHO][a];AGAIN(0)");
    EXPECT("ECHO a\vb\r\n", "OK2/10:[ECHO][a\\0bb];AGAIN(0)");
    EXPECT("\vECHO\fa\r\n", "OK1/9:[ECHO\\0ca];AGAIN(0)");
    EXPECT("ECHO \"a\"\vb\r\n", "OK3/12:[ECHO][a][b];AGAIN(0)");
    EXPECT("ECHO 'a'\fb\r\n", "OK3/12:[ECHO][a][b];AGAIN(0)");
}

static void test_pipeline(void **state)
{
    (void)state;
    static const char one[] = "*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000042\r\n$3\r\nxxx\r\n";
    size_t ol = sizeof(one) - 1, n = 0;
    char stream[4096];
    char want[8192];
    size_t wl = 0;

    for (int i = 0; i < 16; i++) {
        memcpy(stream + n, one, ol);
        n += ol;
        wl += (size_t)snprintf(want + wl, sizeof(want) - wl,
                               "OK3/%zu:[SET][key:000000000042][xxx];", ol);
    }
    static const char tail[] = "PING\r\n*1\r\n$4\r\nPING\r\n\r\n";
    memcpy(stream + n, tail, sizeof(tail) - 1);
    n += sizeof(tail) - 1;
    wl += (size_t)snprintf(want + wl, sizeof(want) - wl,
                           "OK1/6:[PING];OK1/14:[PING];OK0/2:;AGAIN(0)");
    expect_n(stream, n, 0, want);
}

static void test_no_allocation_from_header(void **state)
{
    (void)state;
    resp_parser_t p;
    char hdr[] = "*2147483647\r\n$1\r\na\r\n";
    size_t used;
    resp_req_t req;

    resp_init(&p, MAX_BULK);
    size_t before = mem_used();
    assert_int_equal(resp_parse(&p, hdr, 13, &used, &req), RESP_AGAIN);
    assert_int_equal(p.argv_cap, 0);
    assert_int_equal(mem_used(), before);
    assert_true(resp_in_progress(&p));
    assert_int_equal(resp_parse(&p, hdr, sizeof(hdr) - 1, &used, &req), RESP_AGAIN);
    assert_int_equal(p.argc, 1);
    assert_true(p.argv_cap >= 1 && p.argv_cap <= 16);
    /* A huge bulk header allocates nothing either. */
    resp_reset(&p);
    char big[] = "*1\r\n$536870912\r\n";
    before = mem_used();
    assert_int_equal(resp_parse(&p, big, sizeof(big) - 1, &used, &req), RESP_AGAIN);
    assert_int_equal(mem_used(), before);
    resp_deinit(&p);
}

static void test_need_and_progress(void **state)
{
    (void)state;
    resp_parser_t p;
    char req_bytes[] = "*2\r\n$3\r\nSET\r\n$40000\r\nabc";
    char small[] = "*2\r\n$3\r\nSET\r\n$400\r\nabc";
    size_t used;
    resp_req_t req;

    resp_init(&p, MAX_BULK);
    assert_false(resp_in_progress(&p));
    assert_int_equal(resp_parse(&p, req_bytes, sizeof(req_bytes) - 1, &used, &req), RESP_AGAIN);
    assert_int_equal(resp_need(&p), 21 + 40000 + 2);
    assert_true(resp_in_progress(&p));
    resp_reset(&p);
    assert_int_equal(resp_parse(&p, small, sizeof(small) - 1, &used, &req), RESP_AGAIN);
    assert_int_equal(resp_need(&p), 0);
    resp_reset(&p);
    char pin[] = "PIN";
    assert_int_equal(resp_parse(&p, pin, 3, &used, &req), RESP_AGAIN);
    assert_false(resp_in_progress(&p));
    assert_int_equal(resp_need(&p), 0);
    resp_deinit(&p);
}

/* A big bulk delivered in pieces completes once its bytes are there. */
static void test_big_bulk(void **state)
{
    (void)state;
    size_t n = 100000, hl;
    char hdr[64];
    hl = (size_t)snprintf(hdr, sizeof(hdr), "*2\r\n$3\r\nSET\r\n$%zu\r\n", n);
    char *s = malloc(hl + n + 2);
    memcpy(s, hdr, hl);
    for (size_t i = 0; i < n; i++)
        s[hl + i] = (char)('a' + i % 26);
    memcpy(s + hl + n, "\r\n", 2);

    conn_t *c = malloc(sizeof(*c));
    conn_init(c, 0, MAX_BULK);
    for (size_t off = 0; off < hl + n + 2; off += 4093) {
        size_t k = hl + n + 2 - off < 4093 ? hl + n + 2 - off : 4093;
        conn_feed(c, s + off, k);
        if (off + k < hl + n + 2 && off + k >= hl)
            assert_int_equal(resp_need(&c->p), hl + n + 2);
    }
    conn_finish(c);
    assert_memory_equal(c->out, "OK2/", 4);
    assert_non_null(strstr(c->out, "[SET][abcdefghij"));
    conn_deinit(c);
    free(c);
    free(s);
}

/* Resuming must not rescan: a 64 KiB header fed one byte per call is linear. */
static void test_resume_is_linear(void **state)
{
    (void)state;
    resp_parser_t p;
    size_t n = 65536;
    char *s = malloc(n + 2);
    size_t used;
    resp_req_t req;

    s[0] = '*';
    memset(s + 1, '1', n - 1);
    memcpy(s + n, "\r\n", 2);
    resp_init(&p, MAX_BULK);
    for (size_t k = 1; k <= n + 1; k++)
        assert_int_equal(resp_parse(&p, s, k, &used, &req), RESP_AGAIN);
    assert_int_equal(p.scan, n);
    assert_int_equal(resp_parse(&p, s, n + 2, &used, &req), RESP_ERR);
    assert_string_equal(p.err, "Protocol error: invalid multibulk length");
    resp_deinit(&p);
    free(s);
}

/* Arrays grow with the elements and shrink back after a very wide request. */
static void test_argv_growth_and_shrink(void **state)
{
    (void)state;
    resp_parser_t p;
    size_t cap = 64 + 5000 * 8, n = 0, used;
    char *s = malloc(cap);
    resp_req_t req;

    n += (size_t)sprintf(s, "*5000\r\n");
    for (int i = 0; i < 5000; i++)
        n += (size_t)sprintf(s + n, "$1\r\n%c\r\n", 'a' + i % 26);
    resp_init(&p, MAX_BULK);
    assert_int_equal(resp_parse(&p, s, n, &used, &req), RESP_OK);
    assert_int_equal(req.argc, 5000);
    assert_int_equal(used, n);
    assert_true(req.argv[4999].len == 1 && req.argv[4999].p[0] == 'a' + 4999 % 26);
    assert_true(p.argv_cap >= 5000);
    char ping[] = "*1\r\n$4\r\nPING\r\n";
    assert_int_equal(resp_parse(&p, ping, 14, &used, &req), RESP_OK);
    assert_true(p.argv_cap <= 16);
    assert_true(slice_eq_ci(req.argv[0], "ping"));
    resp_deinit(&p);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_multibulk_length),
        cmocka_unit_test(test_invalid_bulk_length),
        cmocka_unit_test(test_expected_dollar),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_nul_hides_terminator),
        cmocka_unit_test(test_unbalanced_quotes),
        cmocka_unit_test(test_unauthenticated),
        cmocka_unit_test(test_max_bulk),
        cmocka_unit_test(test_sticky_error_and_reset),
        cmocka_unit_test(test_empty_multibulk),
        cmocka_unit_test(test_multibulk),
        cmocka_unit_test(test_inline),
        cmocka_unit_test(test_inline_quotes),
        cmocka_unit_test(test_pipeline),
        cmocka_unit_test(test_no_allocation_from_header),
        cmocka_unit_test(test_need_and_progress),
        cmocka_unit_test(test_big_bulk),
        cmocka_unit_test(test_resume_is_linear),
        cmocka_unit_test(test_argv_growth_and_shrink),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
