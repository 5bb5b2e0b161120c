/*
 * test_reply.c — unit tests for src/proto/reply.c: exact bytes of every
 * encoder in RESP2 and RESP3, spilling from the inline area into chunks, the
 * iov/consume cycle, deferred lengths (also spanning chunks and set out of
 * order) and reply_move.
 *
 * Golden bytes come from Debian's redis-server 7.0.15 (started with
 * --enable-debug-command yes): `DEBUG PROTOCOL <type>` for string, integer,
 * double, bignum, null, array, set, map, push, verbatim, true and false, before
 * and after `HELLO 3`, plus ZSCORE of 1.5, inf, -inf, 1e20, 0.1 and
 * 123456789012345678 in both protocols.
 */
/* SOURCES: src/proto/reply.c src/lib/mem.c src/lib/util.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <limits.h>

#include <cmocka.h>

#include "lib/mem.h"
#include "proto/reply.h"

static reply_t *new_reply(int resp)
{
    reply_t *r = mem_alloc(sizeof(*r));
    reply_init(r, resp);
    return r;
}

static void free_reply(reply_t *r)
{
    reply_deinit(r);
    mem_free(r);
}

/* All pending bytes, in order, through reply_iov (malloc'd, *n = length). */
static char *flatten(const reply_t *r, size_t *n)
{
    struct iovec iov[4096];
    int cnt = reply_iov(r, iov, 4096);
    size_t total = 0;
    for (int i = 0; i < cnt; i++)
        total += iov[i].iov_len;
    assert_int_equal(total, reply_pending(r));
    char *s = malloc(total + 1);
    size_t off = 0;
    for (int i = 0; i < cnt; i++) {
        assert_true(iov[i].iov_len > 0);
        memcpy(s + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    s[total] = '\0';
    *n = total;
    return s;
}

static void expect_bytes(reply_t *r, const char *want, size_t wn)
{
    size_t n;
    char *got = flatten(r, &n);
    if (n != wn || memcmp(got, want, n) != 0)
        fail_msg("got %zu bytes \"%.*s\", want %zu bytes \"%.*s\"", n, (int)(n > 200 ? 200 : n),
                 got, wn, (int)(wn > 200 ? 200 : wn), want);
    free(got);
}

#define EXPECT(r, lit) expect_bytes((r), (lit), sizeof(lit) - 1)

/* Runs the encoder call `stmt` on fresh RESP2 and RESP3 replies. */
#define BOTH(stmt, want2, want3)                                                                   \
    do {                                                                                           \
        reply_t *r = new_reply(2);                                                                 \
        stmt;                                                                                      \
        EXPECT(r, want2);                                                                          \
        free_reply(r);                                                                             \
        r = new_reply(3);                                                                          \
        stmt;                                                                                      \
        EXPECT(r, want3);                                                                          \
        free_reply(r);                                                                             \
    } while (0)

/* ---- encoders ---------------------------------------------------------- */

static void test_simple_forms(void **state)
{
    (void)state;
    BOTH(reply_ok(r), "+OK\r\n", "+OK\r\n");
    BOTH(reply_status(r, "PONG"), "+PONG\r\n", "+PONG\r\n");
    BOTH(reply_status_len(r, "QUEUEDxx", 6), "+QUEUED\r\n", "+QUEUED\r\n");
    BOTH(reply_int(r, 0), ":0\r\n", ":0\r\n");
    BOTH(reply_int(r, 1), ":1\r\n", ":1\r\n");
    BOTH(reply_int(r, 12345), ":12345\r\n", ":12345\r\n");
    BOTH(reply_int(r, -1), ":-1\r\n", ":-1\r\n");
    BOTH(reply_int(r, 10), ":10\r\n", ":10\r\n");
    BOTH(reply_int(r, 99), ":99\r\n", ":99\r\n");
    BOTH(reply_int(r, 100), ":100\r\n", ":100\r\n");
    BOTH(reply_int(r, 1000000007), ":1000000007\r\n", ":1000000007\r\n");
    BOTH(reply_int(r, LLONG_MAX), ":9223372036854775807\r\n", ":9223372036854775807\r\n");
    BOTH(reply_int(r, LLONG_MIN), ":-9223372036854775808\r\n", ":-9223372036854775808\r\n");
    BOTH(reply_raw(r, "abc", 3), "abc", "abc");
}

static void test_bulk_forms(void **state)
{
    (void)state;
    BOTH(reply_bulk(r, "Hello World", 11), "$11\r\nHello World\r\n", "$11\r\nHello World\r\n");
    BOTH(reply_bulk(r, "", 0), "$0\r\n\r\n", "$0\r\n\r\n");
    BOTH(reply_bulk(r, "a\r\nb\0", 5), "$5\r\na\r\nb\0\r\n", "$5\r\na\r\nb\0\r\n");
    BOTH(reply_bulk_cstr(r, "xyz"), "$3\r\nxyz\r\n", "$3\r\nxyz\r\n");
    BOTH(reply_bulk_cstr(r, NULL), "$-1\r\n", "_\r\n");
    BOTH(reply_bulk_ll(r, -42), "$3\r\n-42\r\n", "$3\r\n-42\r\n");
    BOTH(reply_bulk_ll(r, 0), "$1\r\n0\r\n", "$1\r\n0\r\n");
    BOTH((reply_bulk_hdr(r, 3), reply_raw(r, "abc\r\n", 5)), "$3\r\nabc\r\n", "$3\r\nabc\r\n");
}

static void test_resp3_forms(void **state)
{
    (void)state;
    BOTH(reply_null(r), "$-1\r\n", "_\r\n");
    BOTH(reply_null_array(r), "*-1\r\n", "_\r\n");
    BOTH(reply_array(r, 3), "*3\r\n", "*3\r\n");
    BOTH(reply_array(r, 0), "*0\r\n", "*0\r\n");
    BOTH(reply_map(r, 3), "*6\r\n", "%3\r\n");
    BOTH(reply_set(r, 3), "*3\r\n", "~3\r\n");
    BOTH(reply_push(r, 2), "*2\r\n", ">2\r\n");
    BOTH(reply_bool(r, 1), ":1\r\n", "#t\r\n");
    BOTH(reply_bool(r, 0), ":0\r\n", "#f\r\n");
    BOTH(reply_verbatim(r, "This is a verbatim\nstring", 25, "txt"),
         "$25\r\nThis is a verbatim\nstring\r\n", "=29\r\ntxt:This is a verbatim\nstring\r\n");
    BOTH(reply_verbatim(r, "# x", 3, "mkd"), "$3\r\n# x\r\n", "=7\r\nmkd:# x\r\n");
    BOTH(reply_bignum(r, "1234567999999999999999999999999999999", 37),
         "$37\r\n1234567999999999999999999999999999999\r\n",
         "(1234567999999999999999999999999999999\r\n");
    /* DEBUG PROTOCOL map as a whole. */
    BOTH((reply_map(r, 3), reply_int(r, 0), reply_bool(r, 0), reply_int(r, 1), reply_bool(r, 1),
          reply_int(r, 2), reply_bool(r, 0)),
         "*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n",
         "%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n");
}

static void test_double_forms(void **state)
{
    (void)state;
    BOTH(reply_double(r, 3.141), "$5\r\n3.141\r\n", ",3.141\r\n");
    BOTH(reply_double(r, 1.5), "$3\r\n1.5\r\n", ",1.5\r\n");
    BOTH(reply_double(r, INFINITY), "$3\r\ninf\r\n", ",inf\r\n");
    BOTH(reply_double(r, -INFINITY), "$4\r\n-inf\r\n", ",-inf\r\n");
    BOTH(reply_double(r, 1e20), "$5\r\n1e+20\r\n", ",1e+20\r\n");
    BOTH(reply_double(r, 0.1), "$19\r\n0.10000000000000001\r\n", ",0.10000000000000001\r\n");
    BOTH(reply_double(r, 3), "$1\r\n3\r\n", ",3\r\n");
    BOTH(reply_double(r, 0), "$1\r\n0\r\n", ",0\r\n");
    BOTH(reply_double(r, 123456789012345678.0), "$22\r\n1.2345678901234568e+17\r\n",
         ",1.2345678901234568e+17\r\n");
}

static void test_errors(void **state)
{
    (void)state;
    reply_t *r = new_reply(2);

    reply_error(r, "ERR wrong number of arguments for 'get' command");
    EXPECT(r, "-ERR wrong number of arguments for 'get' command\r\n");
    assert_int_equal(r->errors, 1);
    assert_string_equal(r->last_err_code, "ERR");
    reply_clear(r);

    reply_error(r, "WRONGTYPE Operation against a key holding the wrong kind of value");
    EXPECT(r, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    assert_int_equal(r->errors, 2);
    assert_string_equal(r->last_err_code, "WRONGTYPE");
    reply_clear(r);

    /* CR and LF become spaces; a leading '-' is not doubled. */
    reply_error(r, "-ERR a\r\nb\nc\r");
    EXPECT(r, "-ERR a  b c \r\n");
    reply_clear(r);

    /* No space within the first 31 bytes: the code falls back to ERR. */
    reply_error(r, "NOSPACEHERE");
    assert_string_equal(r->last_err_code, "ERR");
    reply_error(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ01234 x");
    assert_string_equal(r->last_err_code, "ERR");
    reply_error(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123 x");
    assert_string_equal(r->last_err_code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123");
    reply_clear(r);

    reply_errorf(r, "MOVED %d %s:%d", 12706, "127.0.0.1", 6383);
    EXPECT(r, "-MOVED 12706 127.0.0.1:6383\r\n");
    assert_string_equal(r->last_err_code, "MOVED");
    assert_int_equal(r->errors, 7);
    reply_clear(r);

    /* A long formatted message (past the stack buffer). */
    char arg[2001];
    memset(arg, 'k', 2000);
    arg[2000] = '\0';
    reply_errorf(r, "ERR unknown command '%s'", arg);
    size_t n;
    char *got = flatten(r, &n);
    assert_int_equal(n, 1 + 21 + 2000 + 1 + 2);
    assert_memory_equal(got, "-ERR unknown command 'kkk", 25);
    assert_memory_equal(got + n - 5, "kk'\r\n", 5);
    free(got);
    /* Counters survive reply_clear. */
    reply_clear(r);
    assert_int_equal(r->errors, 8);
    free_reply(r);
}

/* ---- storage ----------------------------------------------------------- */

static void test_spill_to_chunks(void **state)
{
    (void)state;
    reply_t *r = new_reply(2);
    char *want = malloc(64 * 1024);
    size_t wn = 0;

    for (int i = 0; i < 3000; i++) {
        reply_int(r, i);
        wn += (size_t)sprintf(want + wn, ":%d\r\n", i);
    }
    assert_non_null(r->head);
    assert_true(r->inl_len > REPLY_INLINE - 16);
    assert_true(r->chunk_mem >= REPLY_CHUNK);
    expect_bytes(r, want, wn);
    struct iovec iov[8];
    assert_true(reply_iov(r, iov, 8) >= 2);
    assert_int_equal(reply_iov(r, iov, 1), 1);
    assert_ptr_equal(iov[0].iov_base, r->inl);
    free(want);
    free_reply(r);
}

static void test_big_bulk(void **state)
{
    (void)state;
    reply_t *r = new_reply(2);
    size_t big = 150 * 1024;
    char *data = malloc(big);
    for (size_t i = 0; i < big; i++)
        data[i] = (char)('a' + i % 23);

    reply_ok(r);
    reply_bulk(r, data, big);
    reply_int(r, 7);
    char *want = malloc(big + 64);
    size_t wn = (size_t)sprintf(want, "+OK\r\n$%zu\r\n", big);
    memcpy(want + wn, data, big);
    wn += big;
    memcpy(want + wn, "\r\n:7\r\n", 6);
    wn += 6;
    expect_bytes(r, want, wn);
    /* The part that did not fit inline went to one chunk sized for it. */
    assert_non_null(r->head);
    assert_ptr_equal(r->head, r->tail);
    assert_true(r->head->cap >= big - REPLY_INLINE);
    assert_int_equal(r->inl_len, REPLY_INLINE);
    free(want);
    free(data);
    free_reply(r);
}

/* Consumes the reply in odd steps, checking the rest each time. */
static void consume_in_steps(reply_t *r, const char *want, size_t wn, size_t step)
{
    size_t done = 0;
    while (done < wn) {
        size_t k = wn - done < step ? wn - done : step;
        reply_consume(r, k);
        done += k;
        expect_bytes(r, want + done, wn - done);
    }
    assert_int_equal(reply_pending(r), 0);
    assert_null(r->head);
    assert_int_equal(r->inl_len, 0);
    assert_int_equal(r->chunk_mem, 0);
}

static void test_iov_consume(void **state)
{
    (void)state;
    reply_t *r = new_reply(2);
    size_t big = 40000;
    char *data = malloc(big);
    memset(data, 'z', big);
    char *want = malloc(256 * 1024);
    size_t wn = 0;

    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 2000; i++) {
            reply_bulk(r, "value", 5);
            memcpy(want + wn, "$5\r\nvalue\r\n", 11);
            wn += 11;
        }
        reply_bulk(r, data, big);
        wn += (size_t)sprintf(want + wn, "$%zu\r\n", big);
        memcpy(want + wn, data, big);
        wn += big;
        memcpy(want + wn, "\r\n", 2);
        wn += 2;
    }
    expect_bytes(r, want, wn);
    consume_in_steps(r, want, wn, 7777);
    /* Empty again: the next reply lands in the inline area. */
    reply_ok(r);
    assert_null(r->head);
    EXPECT(r, "+OK\r\n");

    /* Interleave appends and partial consumption (a write in flight while
     * commands append behind it). */
    reply_clear(r);
    wn = 0;
    size_t sent = 0;
    for (int i = 0; i < 5000; i++) {
        reply_int(r, 1000 + i);
        wn += (size_t)sprintf(want + wn, ":%d\r\n", 1000 + i);
        if (i % 7 == 0) {
            size_t k = reply_pending(r) / 2;
            reply_consume(r, k);
            sent += k;
        }
    }
    expect_bytes(r, want + sent, wn - sent);
    consume_in_steps(r, want + sent, wn - sent, 1000);
    free(want);
    free(data);
    free_reply(r);
}

/* ---- deferred lengths -------------------------------------------------- */

static void test_defer_simple(void **state)
{
    (void)state;
    for (int resp = 2; resp <= 3; resp++) {
        reply_t *r = new_reply(resp);
        reply_ok(r);
        reply_defer_t d = reply_defer(r);
        reply_bulk(r, "a", 1);
        reply_bulk(r, "b", 1);
        reply_defer_array(r, d, 2);
        reply_int(r, 5);
        EXPECT(r, "+OK\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n:5\r\n");
        reply_clear(r);

        d = reply_defer(r);
        reply_defer_array(r, d, 0);
        EXPECT(r, "*0\r\n");
        reply_clear(r);

        d = reply_defer(r);
        reply_int(r, 1);
        reply_int(r, 2);
        reply_defer_map(r, d, 1);
        if (resp == 2)
            EXPECT(r, "*2\r\n:1\r\n:2\r\n");
        else
            EXPECT(r, "%1\r\n:1\r\n:2\r\n");
        reply_clear(r);

        d = reply_defer(r);
        reply_int(r, 1);
        reply_defer_set(r, d, 1);
        if (resp == 2)
            EXPECT(r, "*1\r\n:1\r\n");
        else
            EXPECT(r, "~1\r\n:1\r\n");
        reply_clear(r);

        /* Widest header: no gap at all. */
        d = reply_defer(r);
        reply_defer_array(r, d, LLONG_MIN);
        EXPECT(r, "*-9223372036854775808\r\n");
        free_reply(r);
    }
}

/* The deferred section starts in the inline area and runs over chunks. */
static void test_defer_spanning_chunks(void **state)
{
    (void)state;
    reply_t *r = new_reply(2);
    char *want = malloc(512 * 1024);
    size_t wn = 0;

    reply_ok(r);
    memcpy(want, "+OK\r\n", 5);
    wn = 5;
    reply_defer_t d = reply_defer(r);
    assert_null(d.chunk);
    size_t hdr_at = wn;
    int count = 20000;
    size_t body = 0;
    char *tmp = malloc(512 * 1024);
    for (int i = 0; i < count; i++) {
        reply_bulk_ll(r, i);
        char num[24];
        int nl = sprintf(num, "%d", i);
        body += (size_t)sprintf(tmp + body, "$%d\r\n%s\r\n", nl, num);
    }
    assert_non_null(r->head);
    reply_defer_array(r, d, count);
    wn += (size_t)sprintf(want + hdr_at, "*%d\r\n", count);
    memcpy(want + wn, tmp, body);
    wn += body;
    expect_bytes(r, want, wn);
    consume_in_steps(r, want, wn, 3001);

    /* A placeholder that does not fit in the inline area's last bytes. */
    reply_clear(r);
    char fill[REPLY_INLINE];
    memset(fill, '.', sizeof(fill));
    reply_raw(r, fill, REPLY_INLINE - 10);
    d = reply_defer(r);
    assert_non_null(d.chunk);
    reply_int(r, 9);
    reply_defer_array(r, d, 1);
    memcpy(want, fill, REPLY_INLINE - 10);
    memcpy(want + REPLY_INLINE - 10, "*1\r\n:9\r\n", 8);
    expect_bytes(r, want, REPLY_INLINE - 2);
    free(tmp);
    free(want);
    free_reply(r);
}

static void test_defer_nested_any_order(void **state)
{
    (void)state;
    for (int order = 0; order < 2; order++) {
        reply_t *r = new_reply(3);
        reply_defer_t outer = reply_defer(r);
        reply_status(r, "x");
        reply_defer_t inner = reply_defer(r);
        reply_int(r, 1);
        reply_int(r, 2);
        reply_defer_t inner2 = reply_defer(r);
        reply_bool(r, 1);
        if (order == 0) {
            reply_defer_set(r, inner2, 1);
            reply_defer_array(r, inner, 3);
            reply_defer_map(r, outer, 1);
        } else {
            reply_defer_map(r, outer, 1);
            reply_defer_array(r, inner, 3);
            reply_defer_set(r, inner2, 1);
        }
        reply_int(r, 7);
        EXPECT(r, "%1\r\n+x\r\n*3\r\n:1\r\n:2\r\n~1\r\n#t\r\n:7\r\n");
        size_t n;
        char *s = flatten(r, &n);
        consume_in_steps(r, s, n, 5);
        free(s);
        free_reply(r);
    }
}

/* Many sequential defers, each with contents larger than a chunk. */
static void test_defer_many(void **state)
{
    (void)state;
    reply_t *r = new_reply(2);
    char *want = malloc(4 * 1024 * 1024);
    size_t wn = 0;

    for (int k = 0; k < 40; k++) {
        reply_defer_t d = reply_defer(r);
        int n = (k * 397) % 3000;
        wn += (size_t)sprintf(want + wn, "*%d\r\n", n);
        for (int i = 0; i < n; i++) {
            reply_int(r, i * k);
            wn += (size_t)sprintf(want + wn, ":%d\r\n", i * k);
        }
        reply_defer_array(r, d, n);
    }
    expect_bytes(r, want, wn);
    consume_in_steps(r, want, wn, 65536);
    free(want);
    free_reply(r);
}

/* ---- reply_move -------------------------------------------------------- */

static void test_move(void **state)
{
    (void)state;
    reply_t *dst = new_reply(2), *src = new_reply(2);
    char *want = malloc(512 * 1024);
    size_t wn = 0;

    /* Small src into small dst: everything copied inline. */
    reply_ok(dst);
    reply_int(src, 42);
    reply_bulk(src, "v", 1);
    reply_move(dst, src);
    EXPECT(dst, "+OK\r\n:42\r\n$1\r\nv\r\n");
    assert_int_equal(reply_pending(src), 0);
    assert_null(src->head);
    assert_int_equal(src->inl_len, 0);
    reply_clear(dst);

    /* src with inline + chunks, partly consumed, into dst with data. */
    reply_status(dst, "first");
    wn = (size_t)sprintf(want, "+first\r\n");
    reply_status(src, "dropped");
    reply_consume(src, 10);
    for (int i = 0; i < 10000; i++) {
        reply_bulk_ll(src, i);
        char num[24];
        int nl = sprintf(num, "%d", i);
        wn += (size_t)sprintf(want + wn, "$%d\r\n%s\r\n", nl, num);
    }
    assert_non_null(src->head);
    size_t src_pending = reply_pending(src);
    size_t dst_pending = reply_pending(dst);
    reply_move(dst, src);
    assert_int_equal(reply_pending(dst), src_pending + dst_pending);
    assert_int_equal(reply_pending(src), 0);
    assert_null(src->head);
    assert_int_equal(src->chunk_mem, 0);
    reply_int(dst, -5);
    wn += (size_t)sprintf(want + wn, ":-5\r\n");
    expect_bytes(dst, want, wn);
    consume_in_steps(dst, want, wn, 4099);
    /* src is usable again. */
    reply_ok(src);
    EXPECT(src, "+OK\r\n");
    free(want);
    free_reply(dst);
    free_reply(src);
}

static void test_clear(void **state)
{
    (void)state;
    reply_t *r = new_reply(2);
    char fill[40000];
    memset(fill, 'q', sizeof(fill));
    reply_raw(r, fill, sizeof(fill));
    assert_non_null(r->head);
    reply_clear(r);
    assert_int_equal(reply_pending(r), 0);
    assert_int_equal(r->chunk_mem, 0);
    assert_null(r->head);
    reply_ok(r);
    EXPECT(r, "+OK\r\n");
    free_reply(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_forms),
        cmocka_unit_test(test_bulk_forms),
        cmocka_unit_test(test_resp3_forms),
        cmocka_unit_test(test_double_forms),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_spill_to_chunks),
        cmocka_unit_test(test_big_bulk),
        cmocka_unit_test(test_iov_consume),
        cmocka_unit_test(test_defer_simple),
        cmocka_unit_test(test_defer_spanning_chunks),
        cmocka_unit_test(test_defer_nested_any_order),
        cmocka_unit_test(test_defer_many),
        cmocka_unit_test(test_move),
        cmocka_unit_test(test_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
