/*
 * test_cmd_server.c — unit tests for the server-command family's pure parts:
 * the COMMAND metadata walker and key-spec evaluator (cmd_command.c over the
 * generated cmd_meta.c), the slow log, the latency monitor and errorstats.
 *
 * Golden bytes were captured from Debian's redis-server 7.0.15 (`COMMAND INFO
 * get`, `COMMAND DOCS get`, `COMMAND INFO dbsize` in RESP2 and under HELLO 3).
 * The command table is a small fake defined here (the dispatcher's lookup
 * functions are stubbed), so only the family's own code is under test.
 */
/* clang-format off */
/* SOURCES: src/cmd/cmd_command.c src/cmd/cmd_meta.c src/cmd/slowlog.c src/cmd/latency.c src/cmd/errorstats.c src/proto/reply.c src/lib/mem.c src/lib/util.c src/lib/log.c */
/* clang-format on */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmd/cmd_meta.h"
#include "cmd/cmd_server_int.h"
#include "cmd/errorstats.h"
#include "cmd/latency.h"
#include "cmd/slowlog.h"
#include "conf/config.h"
#include "lib/mem.h"

/* ---- a fake command table and the dispatcher functions cmd_command.c uses ---- */

static cmd_def_t rows[] = {
    {.name = "get", .arity = 2, .flags = CMD_READONLY | CMD_FAST, .key = {1, 1, 1}},
    {.name = "dbsize", .arity = 1, .flags = CMD_READONLY | CMD_FAST},
    {.name = "mycmd", .arity = -2, .flags = CMD_WRITE, .key = {1, -1, 2}},
    {0},
};
#define NROWS 3

const cmd_def_t *cmd_lookup(slice_t name)
{
    for (int i = 0; i < NROWS; i++)
        if (slice_eq_ci(name, rows[i].name))
            return &rows[i];
    return NULL;
}

const cmd_def_t *cmd_lookup_sub(const cmd_def_t *parent, slice_t name)
{
    for (const cmd_def_t *s = parent->subs; s != NULL && s->name != NULL; s++)
        if (slice_eq_ci(name, s->name))
            return s;
    return NULL;
}

size_t cmd_count(void)
{
    return NROWS;
}
const cmd_def_t *cmd_at(size_t i)
{
    return i < NROWS ? &rows[i] : NULL;
}
void reply_syntax_error(reply_t *r)
{
    reply_error(r, "ERR syntax error");
}
void srv_reply_help(reply_t *r, const char *name, const char *const *lines)
{
    (void)name, (void)lines;
    reply_array(r, 0);
}

/* ---- helpers --------------------------------------------------------------- */

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

/* Everything pending in r as a NUL-terminated heap string; r is emptied. */
static char *take(reply_t *r, size_t *len)
{
    struct iovec iov[64];
    int n = reply_iov(r, iov, 64);
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    char *out = mem_alloc(total + 1);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        memcpy(out + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    out[total] = '\0';
    reply_consume(r, total);
    if (len)
        *len = total;
    return out;
}

static void expect_reply(reply_t *r, const char *want)
{
    size_t len;
    char *got = take(r, &len);
    if (len != strlen(want) || memcmp(got, want, len) != 0)
        fail_msg("reply mismatch\n got: %s\nwant: %s", got, want);
    mem_free(got);
}

/* Run a COMMAND subcommand handler with the given words (after "command"). */
static void run(reply_t *r, void (*proc)(cmd_ctx_t *), int argc, const char **words)
{
    slice_t argv[64];
    for (int i = 0; i < argc; i++)
        argv[i] = slice_make(words[i], strlen(words[i]));
    cmd_ctx_t ctx = {.r = r, .argc = argc, .argv = argv};
    proc(&ctx);
}

/* ---- COMMAND INFO / DOCS against redis-server 7.0.15's bytes ------------------- */

static const char info_get2[] =
    "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n"
    "+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\n"
    "begin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n"
    "$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n"
    ":0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n";
static const char info_get3[] =
    "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n~3\r\n+@read\r\n"
    "+@string\r\n+@fast\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n$12\r\n"
    "begin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n"
    "$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n"
    ":0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n";
static const char docs_get2[] =
    "*2\r\n$3\r\nget\r\n*10\r\n$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n$5\r\nsince\r\n"
    "$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\n"
    "arguments\r\n*1\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\n"
    "key_spec_index\r\n:0\r\n";
static const char docs_get3[] =
    "%1\r\n$3\r\nget\r\n%5\r\n$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n$5\r\nsince\r\n"
    "$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\n"
    "arguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\n"
    "key_spec_index\r\n:0\r\n";
static const char info_dbsize2[] =
    "*1\r\n*10\r\n$6\r\ndbsize\r\n:1\r\n*2\r\n+readonly\r\n+fast\r\n:0\r\n:0\r\n:0\r\n*3\r\n"
    "+@keyspace\r\n+@read\r\n+@fast\r\n*2\r\n$25\r\nrequest_policy:all_shards\r\n$23\r\n"
    "response_policy:agg_sum\r\n*0\r\n*0\r\n";
static const char info_dbsize3[] =
    "*1\r\n*10\r\n$6\r\ndbsize\r\n:1\r\n~2\r\n+readonly\r\n+fast\r\n:0\r\n:0\r\n:0\r\n~3\r\n"
    "+@keyspace\r\n+@read\r\n+@fast\r\n~2\r\n$25\r\nrequest_policy:all_shards\r\n$23\r\n"
    "response_policy:agg_sum\r\n~0\r\n~0\r\n";

static void test_info_matches_redis(void **state)
{
    (void)state;
    const char *words[] = {"command", "info", "get"};
    const char *wdb[] = {"command", "info", "dbsize"};
    for (int resp = 2; resp <= 3; resp++) {
        reply_t *r = new_reply(resp);
        run(r, cmd_command_info, 3, words);
        expect_reply(r, resp == 2 ? info_get2 : info_get3);
        run(r, cmd_command_info, 3, wdb);
        expect_reply(r, resp == 2 ? info_dbsize2 : info_dbsize3);
        free_reply(r);
    }
}

static void test_docs_matches_redis(void **state)
{
    (void)state;
    const char *words[] = {"command", "docs", "GET", "nosuch"};
    for (int resp = 2; resp <= 3; resp++) {
        reply_t *r = new_reply(resp);
        run(r, cmd_command_docs, 4, words);
        expect_reply(r, resp == 2 ? docs_get2 : docs_get3);
        free_reply(r);
    }
}

static void test_info_unknown_and_row_built(void **state)
{
    (void)state;
    const char *words[] = {"command", "info", "nosuch", "mycmd"};
    reply_t *r = new_reply(2);
    run(r, cmd_command_info, 4, words);
    expect_reply(r, "*2\r\n$-1\r\n*10\r\n$5\r\nmycmd\r\n:-2\r\n*1\r\n+write\r\n:1\r\n:-1\r\n:2\r\n"
                    "*2\r\n+@write\r\n+@slow\r\n*0\r\n*0\r\n*0\r\n");
    free_reply(r);
    r = new_reply(3);
    run(r, cmd_command_info, 4, words);
    expect_reply(r, "*2\r\n_\r\n*10\r\n$5\r\nmycmd\r\n:-2\r\n~1\r\n+write\r\n:1\r\n:-1\r\n:2\r\n"
                    "~2\r\n+@write\r\n+@slow\r\n~0\r\n~0\r\n~0\r\n");
    free_reply(r);
}

static void test_count_and_list(void **state)
{
    (void)state;
    reply_t *r = new_reply(2);
    const char *count[] = {"command", "count"};
    run(r, cmd_command_count, 2, count);
    expect_reply(r, ":3\r\n");
    const char *pat[] = {"command", "list", "filterby", "pattern", "*S*"};
    run(r, cmd_command_list, 5, pat);
    expect_reply(r, "*1\r\n$6\r\ndbsize\r\n");
    const char *cat[] = {"command", "list", "FILTERBY", "aclcat", "read"};
    run(r, cmd_command_list, 5, cat);
    expect_reply(r, "*2\r\n$3\r\nget\r\n$6\r\ndbsize\r\n");
    const char *mod[] = {"command", "list", "filterby", "module", "x"};
    run(r, cmd_command_list, 5, mod);
    expect_reply(r, "*0\r\n");
    const char *bad[] = {"command", "list", "filterby", "bogus", "x"};
    run(r, cmd_command_list, 5, bad);
    expect_reply(r, "-ERR syntax error\r\n");
    free_reply(r);
}

static void test_getkeys(void **state)
{
    (void)state;
    reply_t *r = new_reply(2);
    const char *a[] = {"command", "getkeys", "get", "k1"};
    run(r, cmd_command_getkeys, 4, a);
    expect_reply(r, "*1\r\n$2\r\nk1\r\n");
    const char *b[] = {"command", "getkeys", "mycmd", "a", "1", "b", "2"};
    run(r, cmd_command_getkeys, 7, b);
    expect_reply(r, "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    const char *c[] = {"command", "getkeys", "get", "a", "b"};
    run(r, cmd_command_getkeys, 5, c);
    expect_reply(r, "-ERR Invalid number of arguments specified for command\r\n");
    const char *d[] = {"command", "getkeys", "nosuch", "a"};
    run(r, cmd_command_getkeys, 4, d);
    expect_reply(r, "-ERR Invalid command specified\r\n");
    const char *e[] = {"command", "getkeys", "dbsize", "a"};
    run(r, cmd_command_getkeys, 4, e);
    expect_reply(r, "-ERR The command has no key arguments\r\n");
    run(r, cmd_command_getkeysandflags, 4, a);
    expect_reply(r, "*1\r\n*2\r\n$2\r\nk1\r\n*2\r\n+RO\r\n+access\r\n");
    free_reply(r);
    r = new_reply(3);
    run(r, cmd_command_getkeysandflags, 4, a);
    expect_reply(r, "*1\r\n*2\r\n$2\r\nk1\r\n~2\r\n+RO\r\n+access\r\n");
    free_reply(r);
}

static void test_verify(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(cmd_meta_verify(&rows[0], err, sizeof(err)), 0);
    assert_int_equal(cmd_meta_verify(&rows[2], err, sizeof(err)), 0); /* no meta */
    cmd_def_t bad = rows[0];
    bad.arity = 3;
    assert_int_equal(cmd_meta_verify(&bad, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "get: arity"));
    bad = rows[0];
    bad.flags = CMD_READONLY;
    assert_int_equal(cmd_meta_verify(&bad, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'fast'"));
    bad.flags = CMD_READONLY | CMD_FAST | CMD_WRITE;
    assert_int_equal(cmd_meta_verify(&bad, err, sizeof(err)), -1);
}

static void test_meta_table_sorted(void **state)
{
    (void)state;
    for (size_t i = 1; i < cmd_meta_count; i++)
        assert_true(strcmp(cmd_meta_table[i - 1].name, cmd_meta_table[i].name) < 0);
    assert_non_null(cmd_meta_find("GET", 3));
    assert_null(cmd_meta_find("nosuch", 6));
}

/* ---- slow log ---------------------------------------------------------------- */

static void test_slowlog(void **state)
{
    (void)state;
    config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.slowlog_log_slower_than = 100;
    cfg.slowlog_max_len = 2;
    cmd_env_t env = {.cfg = &cfg, .now_ms = 1700000000123ull};
    session_t s = {.name = NULL};
    slice_t argv[40];
    char big[200];
    memset(big, 'k', sizeof(big));
    for (int i = 0; i < 40; i++)
        argv[i] = SLICE_LIT("x");
    argv[1] = slice_make(big, sizeof(big));
    slowlog_reset();
    slowlog_push(&env, &s, 2, argv, 99);
    assert_int_equal(slowlog_len(), 0);
    slowlog_push(&env, &s, 2, argv, 100);
    slowlog_push(&env, &s, 40, argv, 150);
    slowlog_push(&env, &s, 1, argv, 300);
    assert_int_equal(slowlog_len(), 2);
    reply_t *r = new_reply(2);
    slowlog_reply(r, 1);
    expect_reply(r,
                 "*1\r\n*6\r\n:2\r\n:1700000000\r\n:300\r\n*1\r\n$1\r\nx\r\n$0\r\n\r\n$0\r\n\r\n");
    slowlog_reply(r, -1);
    size_t len;
    char *all = take(r, &len);
    assert_non_null(strstr(all, "*32\r\n"));
    assert_non_null(strstr(all, "$22\r\n... (9 more arguments)\r\n"));
    assert_non_null(strstr(all, "$147\r\n"));
    assert_non_null(strstr(all, "kkk... (72 more bytes)\r\n"));
    mem_free(all);
    cfg.slowlog_log_slower_than = -1;
    slowlog_push(&env, &s, 1, argv, 1000000);
    assert_int_equal(slowlog_len(), 2);
    slowlog_reset();
    assert_int_equal(slowlog_len(), 0);
    free_reply(r);
}

/* ---- latency monitor ------------------------------------------------------------ */

static void test_latency(void **state)
{
    (void)state;
    latency_reset(0, NULL);
    latency_add("command", 120, 1000);
    latency_add("command", 60, 1000);
    latency_add("command", 30, 1001);
    reply_t *r = new_reply(2);
    latency_reply_latest(r);
    expect_reply(r, "*1\r\n*4\r\n$7\r\ncommand\r\n:1001\r\n:30\r\n:120\r\n");
    latency_reply_history(r, "COMMAND", 7);
    expect_reply(r, "*2\r\n*2\r\n:1000\r\n:120\r\n*2\r\n:1001\r\n:30\r\n");
    latency_reply_history(r, "nosuch", 6);
    expect_reply(r, "*0\r\n");
    config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    latency_add_if_needed(&cfg, "fast-command", 500, 1002);
    cfg.latency_monitor_threshold = 100;
    latency_add_if_needed(&cfg, "fast-command", 99, 1002);
    latency_add_if_needed(&cfg, "fast-command", 100, 1002);
    latency_reply_latest(r);
    mem_free(take(r, NULL));
    textbuf_t t;
    textbuf_init(&t);
    latency_doctor(&t, 1004, 100);
    assert_non_null(strstr(t.p, "1. command: 2 latency spikes (average 75ms, mean deviation 45ms, "
                                "period 2.00 sec). Worst all time event 120ms.\n"));
    textbuf_deinit(&t);
    slice_t names[2] = {SLICE_LIT("command"), SLICE_LIT("nosuch")};
    assert_int_equal(latency_reset(2, names), 1);
    assert_int_equal(latency_reset(0, NULL), 1);
    textbuf_init(&t);
    latency_doctor(&t, 1004, 0);
    assert_non_null(strstr(t.p, "I'm sorry, Dave, I can't do that."));
    textbuf_deinit(&t);
    free_reply(r);
}

/* Figures Redis 7.0.15 printed for the same durations (INFO latencystats,
 * LATENCY HISTOGRAM): 2 us → 2.007, 4 us → 4.015, 10 us → 10.047; 0 us
 * counts in the 1 us bucket; bucket labels 1 2 4 8 16 33 66 ... 1073741;
 * a call over 1 s counts as 1 s, whose percentile shows as 1002438.655. */
static void test_latency_histogram(void **state)
{
    (void)state;
    cmd_def_t *c = &rows[0];
    latency_histograms_reset();
    assert_false(latency_has_histogram(c));
    latency_track(c, 4);
    assert_true(latency_has_histogram(c));
    assert_true(latency_percentile_us(c, 50) == 4.015);
    latency_track(c, 10);
    latency_track(c, 10);
    latency_track(c, 0);
    latency_track(c, 33);
    latency_track(c, 34);
    latency_track(c, 5000000); /* clamped to 1 s */
    assert_true(latency_percentile_us(c, 50) == 10.047);
    assert_true(latency_percentile_us(c, 99.9) == 1002438.655);
    latency_track(&rows[1], 2);
    assert_true(latency_percentile_us(&rows[1], 99) == 2.007);
    reply_t *r = new_reply(2);
    latency_reply_cdf(r, c);
    expect_reply(r, "*4\r\n$5\r\ncalls\r\n:7\r\n$14\r\nhistogram_usec\r\n*12\r\n"
                    ":1\r\n:1\r\n:4\r\n:2\r\n:16\r\n:4\r\n:33\r\n:5\r\n:66\r\n:6\r\n"
                    ":1073741\r\n:7\r\n");
    latency_histograms_reset();
    assert_false(latency_has_histogram(c));
    free_reply(r);
}

/* ---- errorstats ------------------------------------------------------------------ */

static void test_errorstats(void **state)
{
    (void)state;
    uint64_t n;
    errorstats_reset();
    errorstats_count("WRONGTYPE");
    errorstats_count("ERR");
    errorstats_count("ERR");
    errorstats_count("");
    errorstats_count(NULL);
    assert_string_equal(errorstats_at(0, &n), "ERR");
    assert_int_equal(n, 2);
    assert_string_equal(errorstats_at(1, &n), "WRONGTYPE");
    assert_int_equal(n, 1);
    assert_null(errorstats_at(2, &n));
    char code[16];
    for (int i = 0; i < ERRORSTATS_MAX + 10; i++) {
        snprintf(code, sizeof(code), "E%03d", i);
        errorstats_count(code);
    }
    assert_non_null(errorstats_at(ERRORSTATS_MAX - 1, &n));
    assert_null(errorstats_at(ERRORSTATS_MAX, &n));
    errorstats_reset();
    assert_null(errorstats_at(0, &n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_info_matches_redis),
        cmocka_unit_test(test_docs_matches_redis),
        cmocka_unit_test(test_info_unknown_and_row_built),
        cmocka_unit_test(test_count_and_list),
        cmocka_unit_test(test_getkeys),
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_meta_table_sorted),
        cmocka_unit_test(test_slowlog),
        cmocka_unit_test(test_latency),
        cmocka_unit_test(test_latency_histogram),
        cmocka_unit_test(test_errorstats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
