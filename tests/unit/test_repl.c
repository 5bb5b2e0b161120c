/*
 * test_repl.c — unit tests for the replication core's pure parts: the
 * backlog ring (src/repl/repl_backlog.c), the replica handshake state machine
 * (src/repl/repl_hs.c) and the core (src/repl/repl.c, repl_link.c) driven
 * through fake I/O hooks with injected time and randomness.
 *
 * The byte sequences a replica sends and the replies it accepts are the ones
 * seen between Debian's redis-server 7.0.15 master and replica.
 */
/* clang-format off */
/* SOURCES: src/repl/repl.c src/repl/repl_link.c src/repl/repl_hs.c src/repl/repl_backlog.c src/lib/mem.c src/lib/util.c src/lib/log.c */
/* clang-format on */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/config.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "repl/repl.h"
#include "repl/repl_backlog.h"
#include "repl/repl_hs.h"

/* ---- backlog ------------------------------------------------------------------------------- */

static size_t range_bytes(const repl_backlog_t *b, long long from, char *out)
{
    const char *p[2];
    size_t n[2], total = 0;
    int k = repl_backlog_range(b, from, p, n);
    for (int i = 0; i < k; i++) {
        memcpy(out + total, p[i], n[i]);
        total += n[i];
    }
    out[total] = '\0';
    return total;
}

static void test_backlog_wrap(void **st)
{
    (void)st;
    repl_backlog_t b;
    char out[64];
    repl_backlog_init(&b, 8, 100); /* next byte is offset 101 */
    assert_int_equal(repl_backlog_first(&b), 101);
    assert_true(repl_backlog_covers(&b, 101));  /* nothing to send */
    assert_false(repl_backlog_covers(&b, 100)); /* before the history */
    assert_false(repl_backlog_covers(&b, 102)); /* in the future */
    repl_backlog_append(&b, "abcde", 5);        /* 101..105 */
    assert_int_equal(b.end, 105);
    assert_int_equal(range_bytes(&b, 103, out), 3);
    assert_string_equal(out, "cde");
    repl_backlog_append(&b, "fghij", 5); /* wraps: holds 103..110 = "cdefghij" */
    assert_int_equal(b.histlen, 8);
    assert_int_equal(repl_backlog_first(&b), 103);
    assert_false(repl_backlog_covers(&b, 102));
    assert_true(repl_backlog_covers(&b, 103));
    assert_int_equal(range_bytes(&b, 103, out), 8);
    assert_string_equal(out, "cdefghij");
    assert_int_equal(range_bytes(&b, 109, out), 2);
    assert_string_equal(out, "ij");
    assert_int_equal(range_bytes(&b, 111, out), 0);
    /* an append bigger than the ring keeps its tail */
    repl_backlog_append(&b, "0123456789AB", 12);
    assert_int_equal(b.end, 122);
    assert_int_equal(range_bytes(&b, repl_backlog_first(&b), out), 8);
    assert_string_equal(out, "456789AB");
    repl_backlog_deinit(&b);
    assert_false(repl_backlog_active(&b));
    assert_false(repl_backlog_covers(&b, 1));
}

static void test_backlog_resize(void **st)
{
    (void)st;
    repl_backlog_t b;
    char out[64];
    repl_backlog_init(&b, 6, 0);
    repl_backlog_append(&b, "abcdefgh", 8); /* holds 3..8 = "cdefgh" */
    repl_backlog_resize(&b, 4);             /* keeps the newest 4 */
    assert_int_equal(repl_backlog_first(&b), 5);
    assert_int_equal(range_bytes(&b, 5, out), 4);
    assert_string_equal(out, "efgh");
    repl_backlog_resize(&b, 10); /* grows; history stays */
    repl_backlog_append(&b, "XYZ", 3);
    assert_int_equal(range_bytes(&b, 5, out), 7);
    assert_string_equal(out, "efghXYZ");
    assert_int_equal(b.end, 11);
    repl_backlog_deinit(&b);
}

/* ---- handshake state machine --------------------------------------------------------------------
 */

static int hs_line(repl_hs_t *hs, const char *line, uint64_t now)
{
    return repl_hs_on_line(hs, line, strlen(line), now);
}

static void expect_out(repl_hs_t *hs, const char *bytes)
{
    assert_int_equal(hs->out.len, strlen(bytes));
    assert_memory_equal(hs->out.p, bytes, hs->out.len);
    repl_hs_out_clear(hs);
}

static void test_hs_full_sequence(void **st)
{
    (void)st;
    repl_hs_t hs;
    repl_hs_init(&hs);
    assert_string_equal(repl_hs_role_state(&hs), "none");
    repl_hs_fail(&hs);
    assert_string_equal(repl_hs_role_state(&hs), "connect");
    repl_hs_conf_t conf = {
        .user = "u", .pass = "secret", .port = 6380, .ip = "10.0.0.9", .replid = NULL, .offset = 0};
    repl_hs_begin(&hs, &conf, 1000);
    assert_int_equal(hs.state, REPL_STATE_CONNECTING);
    assert_int_equal(hs.out.len, 0); /* nothing before the connection is up */
    repl_hs_connected(&hs, 1001);
    expect_out(&hs, "*1\r\n$4\r\nPING\r\n");
    assert_string_equal(repl_hs_role_state(&hs), "handshake");
    /* -NOAUTH to PING is fine: AUTH comes next */
    assert_int_equal(hs_line(&hs, "-NOAUTH Authentication required.", 1002), REPL_HS_AGAIN);
    expect_out(&hs,
               "*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$6\r\nsecret\r\n"
               "*3\r\n$8\r\nREPLCONF\r\n$14\r\nlistening-port\r\n$4\r\n6380\r\n"
               "*3\r\n$8\r\nREPLCONF\r\n$10\r\nip-address\r\n$8\r\n10.0.0.9\r\n"
               "*5\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$3\r\neof\r\n$4\r\ncapa\r\n$6\r\npsync2\r\n");
    assert_int_equal(hs.state, REPL_STATE_RECEIVE_AUTH_REPLY);
    assert_int_equal(hs_line(&hs, "+OK", 1003), REPL_HS_AGAIN);
    assert_int_equal(hs.state, REPL_STATE_RECEIVE_PORT_REPLY);
    assert_int_equal(hs_line(&hs, "-ERR unknown", 1004), REPL_HS_AGAIN); /* non critical */
    assert_non_null(strstr(hs.note, "Master does not understand REPLCONF listening-port"));
    assert_int_equal(hs_line(&hs, "+OK", 1005), REPL_HS_AGAIN);
    assert_int_equal(hs.state, REPL_STATE_RECEIVE_CAPA_REPLY);
    assert_int_equal(hs_line(&hs, "+OK", 1006), REPL_HS_AGAIN);
    expect_out(&hs, "*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n");
    assert_int_equal(hs.state, REPL_STATE_RECEIVE_PSYNC_REPLY);
    /* the master's keepalive newlines while it delays the snapshot */
    assert_int_equal(hs_line(&hs, "", 1007), REPL_HS_AGAIN);
    assert_int_equal(hs_line(&hs, "+FULLRESYNC 22543c722e922e05ee920f634c830ba63cabbea4 166", 1008),
                     REPL_HS_FULL);
    assert_string_equal(hs.master_replid, "22543c722e922e05ee920f634c830ba63cabbea4");
    assert_int_equal(hs.master_offset, 166);
    assert_string_equal(repl_hs_role_state(&hs), "sync");
    assert_int_equal(hs_line(&hs, "", 1009), REPL_HS_AGAIN);
    assert_int_equal(hs_line(&hs, "$10", 1010), REPL_HS_PAYLOAD);
    size_t used;
    assert_int_equal(repl_hs_xfer_feed(&hs, "REDIS0", 6, &used, 1011), 0);
    assert_int_equal(used, 6);
    /* the sized payload ends inside this read: the rest is the stream */
    assert_int_equal(repl_hs_xfer_feed(&hs, "0010*1\r\n", 8, &used, 1012), 1);
    assert_int_equal(used, 4);
    assert_int_equal(repl_hs_rdb_len(&hs), 10);
    assert_int_equal(repl_hs_check(&hs), 0);
    repl_hs_synced(&hs, 1013);
    assert_string_equal(repl_hs_role_state(&hs), "connected");
    assert_int_equal(repl_hs_check(&hs), 0);
    repl_hs_deinit(&hs);
}

static void test_hs_eof_payload(void **st)
{
    (void)st;
    repl_hs_t hs;
    repl_hs_init(&hs);
    repl_hs_conf_t conf = {
        .port = 7000, .replid = "0123456789012345678901234567890123456789", .offset = 41};
    repl_hs_begin(&hs, &conf, 0);
    repl_hs_connected(&hs, 0);
    repl_hs_out_clear(&hs);
    assert_int_equal(hs_line(&hs, "+PONG", 1), REPL_HS_AGAIN);
    /* no masterauth: straight to the port reply */
    assert_int_equal(hs.state, REPL_STATE_RECEIVE_PORT_REPLY);
    repl_hs_out_clear(&hs);
    hs_line(&hs, "+OK", 1);
    hs_line(&hs, "+OK", 1);
    expect_out(&hs, "*3\r\n$5\r\nPSYNC\r\n$40\r\n0123456789012345678901234567890123456789\r\n"
                    "$2\r\n42\r\n");
    assert_non_null(strstr(hs.note, "Trying a partial resynchronization"));
    hs_line(&hs, "+FULLRESYNC aaaaaaaaaabbbbbbbbbbccccccccccdddddddddd 5", 2);
    const char *mark = "3b5c8663e254b7f950c6c698ad07e407160d4df2";
    char hdr[64];
    snprintf(hdr, sizeof(hdr), "$EOF:%s", mark);
    assert_int_equal(hs_line(&hs, hdr, 3), REPL_HS_PAYLOAD);
    /* the mark arrives split over two reads */
    char data[128];
    snprintf(data, sizeof(data), "PAYLOAD%s", mark);
    size_t used, total = strlen(data);
    assert_int_equal(repl_hs_xfer_feed(&hs, data, 20, &used, 4), 0);
    assert_int_equal(used, 20);
    assert_int_equal(repl_hs_xfer_feed(&hs, data + 20, total - 20, &used, 5), 1);
    assert_int_equal(repl_hs_rdb_len(&hs), 7);
    repl_hs_deinit(&hs);
}

static void test_hs_errors_and_timeouts(void **st)
{
    (void)st;
    repl_hs_t hs;
    repl_hs_init(&hs);
    repl_hs_conf_t conf = {.pass = "pw", .port = 1};
    repl_hs_begin(&hs, &conf, 10000);
    assert_false(repl_hs_timed_out(&hs, 69000, 60000));
    assert_true(repl_hs_timed_out(&hs, 70001, 60000)); /* connect never completed */
    repl_hs_connected(&hs, 10000);
    assert_int_equal(hs_line(&hs, "-ERR bad thing", 10001), REPL_HS_RETRY);
    assert_non_null(strstr(hs.err, "Error reply to PING from master: '-ERR bad thing'"));
    assert_int_equal(hs.state, REPL_STATE_CONNECT);
    assert_int_equal(hs.out.len, 0);
    assert_false(repl_hs_timed_out(&hs, 999999, 1)); /* idle states never time out */
    /* AUTH refused */
    repl_hs_begin(&hs, &conf, 0);
    repl_hs_connected(&hs, 0);
    hs_line(&hs, "+PONG", 0);
    assert_int_equal(hs_line(&hs, "-WRONGPASS invalid username-password pair", 0), REPL_HS_RETRY);
    assert_non_null(strstr(hs.err, "Unable to AUTH to MASTER"));
    /* malformed +FULLRESYNC, -NOMASTERLINK, and a bad bulk header */
    const char *bad[] = {"+FULLRESYNC short 5", "-NOMASTERLINK Can't SYNC while not connected",
                         "-ERR unknown command"};
    for (size_t i = 0; i < 3; i++) {
        conf.pass = NULL;
        repl_hs_begin(&hs, &conf, 0);
        repl_hs_connected(&hs, 0);
        hs_line(&hs, "+PONG", 0);
        hs_line(&hs, "+OK", 0);
        hs_line(&hs, "+OK", 0);
        assert_int_equal(hs_line(&hs, bad[i], 0), REPL_HS_RETRY);
        assert_int_equal(hs.state, REPL_STATE_CONNECT);
    }
    repl_hs_begin(&hs, &conf, 0);
    repl_hs_connected(&hs, 0);
    hs_line(&hs, "+PONG", 0);
    hs_line(&hs, "+OK", 0);
    hs_line(&hs, "+OK", 0);
    hs_line(&hs, "+FULLRESYNC aaaaaaaaaabbbbbbbbbbccccccccccdddddddddd 5", 0);
    assert_int_equal(hs_line(&hs, "hello", 0), REPL_HS_RETRY);
    assert_non_null(strstr(hs.err, "the first byte is not '$'"));
    /* transfer timeout counts from the last payload byte */
    repl_hs_begin(&hs, &conf, 0);
    repl_hs_connected(&hs, 0);
    hs_line(&hs, "+PONG", 0);
    hs_line(&hs, "+OK", 0);
    hs_line(&hs, "+OK", 0);
    hs_line(&hs, "+FULLRESYNC aaaaaaaaaabbbbbbbbbbccccccccccdddddddddd 5", 0);
    hs_line(&hs, "$100", 0);
    size_t used;
    repl_hs_xfer_feed(&hs, "abc", 3, &used, 50000);
    assert_false(repl_hs_timed_out(&hs, 100000, 60000));
    assert_true(repl_hs_timed_out(&hs, 110001, 60000));
    repl_hs_reset(&hs);
    assert_int_equal(hs.state, REPL_STATE_NONE);
    repl_hs_deinit(&hs);
}

static void test_hs_continue(void **st)
{
    (void)st;
    repl_hs_t hs;
    repl_hs_init(&hs);
    const char *id = "0123456789012345678901234567890123456789";
    repl_hs_conf_t conf = {.port = 1, .replid = id, .offset = 99};
    for (int with_id = 0; with_id < 2; with_id++) {
        repl_hs_begin(&hs, &conf, 0);
        repl_hs_connected(&hs, 0);
        hs_line(&hs, "+PONG", 0);
        hs_line(&hs, "+OK", 0);
        hs_line(&hs, "+OK", 0);
        int rc = hs_line(
            &hs, with_id ? "+CONTINUE ffffffffffffffffffffffffffffffffffffffff" : "+CONTINUE", 0);
        assert_int_equal(rc, REPL_HS_PARTIAL);
        assert_int_equal(hs.state, REPL_STATE_CONNECTED);
        assert_string_equal(hs.master_replid,
                            with_id ? "ffffffffffffffffffffffffffffffffffffffff" : id);
    }
    /* +CONTINUE to "PSYNC ? -1" makes no sense */
    conf.replid = NULL;
    repl_hs_begin(&hs, &conf, 0);
    repl_hs_connected(&hs, 0);
    hs_line(&hs, "+PONG", 0);
    hs_line(&hs, "+OK", 0);
    hs_line(&hs, "+OK", 0);
    assert_int_equal(hs_line(&hs, "+CONTINUE", 0), REPL_HS_RETRY);
    repl_hs_deinit(&hs);
}

/* ---- the core with fake I/O --------------------------------------------------------------------
 */

#define MAXH 4

typedef struct fake_s {
    char out[MAXH][8192]; /* bytes written to handles 0..3 */
    size_t outlen[MAXH];
    int closed[MAXH];
    char link_out[8192];
    size_t link_len;
    int link_open, link_connects, link_closes;
    char link_host[64];
    int link_port;
    int role; /* last role_changed value, -1 none */
    int snap_db;
    long long snap_off;
    int fail_connect;
    size_t pending; /* what replica_pending reports */
    int async;      /* f_snapshot answers REPL_SNAP_ASYNC and keeps the sink */
    repl_sink_fn sink;
    void *sink_arg;
} fake_t;

static fake_t fk;
static int handles[MAXH]; /* their addresses are the handles */

static int hidx(void *h)
{
    return (int)((int *)h - handles);
}

static void f_write(void *arg, void *h, const void *p, size_t n)
{
    (void)arg;
    int i = hidx(h);
    assert_true(fk.outlen[i] + n < sizeof(fk.out[i]));
    memcpy(fk.out[i] + fk.outlen[i], p, n);
    fk.outlen[i] += n;
}

static void f_close(void *arg, void *h)
{
    (void)arg;
    fk.closed[hidx(h)] = 1;
}
static size_t f_pending(void *arg, void *h)
{
    (void)arg;
    (void)h;
    return fk.pending;
}

static int f_snapshot(void *arg, const repl_snap_t *snap, repl_sink_fn sink, void *sink_arg)
{
    (void)arg;
    fk.snap_db = snap->stream_db;
    fk.snap_off = snap->offset;
    if (fk.async) {
        fk.sink = sink;
        fk.sink_arg = sink_arg;
        return REPL_SNAP_ASYNC;
    }
    return sink(sink_arg, "RDBDATA", 7);
}

static void *f_link_connect(void *arg, const char *host, int port)
{
    (void)arg;
    if (fk.fail_connect)
        return NULL;
    snprintf(fk.link_host, sizeof(fk.link_host), "%s", host);
    fk.link_port = port;
    fk.link_open = 1;
    fk.link_connects++;
    fk.link_len = 0;
    return &handles[3];
}

static void f_link_write(void *arg, const void *p, size_t n)
{
    (void)arg;
    assert_true(fk.link_open);
    memcpy(fk.link_out + fk.link_len, p, n);
    fk.link_len += n;
    fk.link_out[fk.link_len] = '\0';
}

static void f_link_close(void *arg)
{
    (void)arg;
    fk.link_open = 0;
    fk.link_closes++;
}
static int f_link_db(void *arg)
{
    (void)arg;
    return 3;
}
static void f_role(void *arg, int is_replica)
{
    (void)arg;
    fk.role = is_replica;
}

static uint64_t rng_state;
static void det_rng(char *buf, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
        buf[i] = hex[(rng_state >> 33) & 15];
    }
}

static config_t cfg;

static repl_t *core_new(void)
{
    memset(&fk, 0, sizeof(fk));
    fk.role = -1;
    memset(&cfg, 0, sizeof(cfg));
    cfg.repl_backlog_size = 1024 * 1024;
    cfg.repl_backlog_ttl = 3600;
    cfg.repl_timeout = 60;
    cfg.repl_ping_replica_period = 10;
    cfg.repl_diskless_sync = 1;
    cfg.repl_diskless_sync_delay = 5;
    cfg.min_replicas_max_lag = 10;
    cfg.replica_priority = 100;
    cfg.replica_read_only = 1;
    cfg.replica_announced = 1;
    cfg.port = 6380;
    repl_io_t io = {.replica_write = f_write,
                    .replica_close = f_close,
                    .replica_pending = f_pending,
                    .snapshot = f_snapshot,
                    .link_connect = f_link_connect,
                    .link_write = f_link_write,
                    .link_close = f_link_close,
                    .link_db = f_link_db,
                    .role_changed = f_role};
    rng_state = 42;
    return repl_new(&cfg, &io, det_rng, 1000000);
}

static void feed(repl_t *r, int db, const char *a, const char *b, const char *c)
{
    slice_t argv[3] = {slice_make(a, strlen(a)), slice_make(b, strlen(b)),
                       slice_make(c, strlen(c))};
    repl_feed_command(r, db, 3, argv);
}

static void take(int i, char *out)
{
    memcpy(out, fk.out[i], fk.outlen[i]);
    out[fk.outlen[i]] = '\0';
    fk.outlen[i] = 0;
}

static void test_core_full_sync_eof(void **st)
{
    (void)st;
    repl_t *r = core_new();
    char buf[8192], want[512];
    feed(r, 0, "SET", "k", "v"); /* no replica, no backlog: nobody listens */
    assert_int_equal(repl_offset(r), 0);
    char oldid[41];
    strcpy(oldid, repl_replid(r));
    repl_conf_port(r, &handles[0], "127.0.0.1", 7001);
    repl_conf_capa(r, &handles[0], "127.0.0.1", REPL_CAPA_EOF);
    repl_conf_capa(r, &handles[0], "127.0.0.1", REPL_CAPA_PSYNC2);
    assert_false(repl_is_replica(r, &handles[0]));
    assert_int_equal(repl_psync(r, &handles[0], "127.0.0.1", "?", -1, 0, 1000000), REPL_PSYNC_FULL);
    assert_true(repl_is_replica(r, &handles[0]));
    assert_string_not_equal(repl_replid(r), oldid); /* the backlog starts a new history */
    /* diskless with a 5 s delay: nothing before it expires */
    repl_before_sleep(r, 1004999);
    assert_int_equal(fk.outlen[0], 0);
    feed(r, 2, "SET", "a", "1"); /* covered by the coming snapshot */
    long long snap_off = repl_offset(r);
    assert_true(snap_off > 0);
    repl_before_sleep(r, 1005000);
    take(0, buf);
    snprintf(want, sizeof(want), "+FULLRESYNC %s %lld\r\n$EOF:", repl_replid(r), snap_off);
    assert_memory_equal(buf, want, strlen(want));
    assert_int_equal(fk.snap_off, snap_off);
    assert_int_equal(fk.snap_db, 2);
    const char *mark = buf + strlen(want);
    assert_memory_equal(mark + 42, "RDBDATA", 7);
    assert_memory_equal(mark + 49, mark, 40); /* the same mark closes the payload */
    assert_int_equal(strlen(buf), strlen(want) + 40 + 2 + 7 + 40);
    /* the stream is held until the replica's first ACK, and starts with SELECT */
    feed(r, 2, "SET", "b", "2");
    assert_int_equal(fk.outlen[0], 0);
    assert_int_equal(repl_ack(r, &handles[0], snap_off, 1005100), 1);
    take(0, buf);
    assert_string_equal(
        buf, "*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n");
    /* same db: no SELECT; db -1: none either */
    feed(r, 2, "SET", "c", "3");
    feed(r, -1, "X", "y", "z");
    take(0, buf);
    assert_string_equal(
        buf, "*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1\r\n3\r\n*3\r\n$1\r\nX\r\n$1\r\ny\r\n$1\r\nz\r\n");
    /* WAIT accounting */
    long long off = repl_offset(r);
    assert_int_equal(repl_count_acked(r, off), 0);
    repl_request_acks(r);
    repl_before_sleep(r, 1005200);
    take(0, buf);
    assert_string_equal(buf, "*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n");
    repl_ack(r, &handles[0], repl_offset(r), 1005300);
    assert_int_equal(repl_count_acked(r, off), 1);
    /* ROLE / INFO view */
    repl_replica_info_t ri;
    assert_int_equal(repl_replica_get(r, 0, 1007300, &ri), 0);
    assert_string_equal(ri.state, "online");
    assert_int_equal(ri.port, 7001);
    assert_int_equal(ri.lag_s, 2);
    char info[4096];
    repl_info(r, 1007300, info, sizeof(info));
    assert_non_null(strstr(info, "# Replication\r\nrole:master\r\nconnected_slaves:1\r\n"));
    snprintf(want, sizeof(want), "slave0:ip=127.0.0.1,port=7001,state=online,offset=%lld,lag=2\r\n",
             repl_offset(r));
    assert_non_null(strstr(info, want));
    assert_non_null(strstr(info, "repl_backlog_active:1\r\nrepl_backlog_size:1048576\r\n"
                                 "repl_backlog_first_byte_offset:1\r\n"));
    assert_int_equal(repl_stats(r)->sync_full, 1);
    repl_forget(r, &handles[0], 1008000);
    assert_false(repl_is_replica(r, &handles[0]));
    repl_free(r);
}

/* A snapshot made by a child (io answers REPL_SNAP_ASYNC): EOF-framed replicas
 * get its bytes as they arrive, $<len>-framed ones all of it at the end, a
 * replica asking meanwhile waits for the next snapshot, a failed one closes
 * its replicas without sending them the rest. */
static void test_core_async_snapshot(void **st)
{
    (void)st;
    repl_t *r = core_new();
    char buf[8192], want[512];
    fk.async = 1;
    cfg.repl_diskless_sync_delay = 0;
    repl_conf_capa(r, &handles[0], "127.0.0.1", REPL_CAPA_EOF);
    assert_int_equal(repl_psync(r, &handles[0], "127.0.0.1", "?", -1, 0, 1000000), REPL_PSYNC_FULL);
    repl_before_sleep(r, 1000001);
    take(0, buf);
    snprintf(want, sizeof(want), "+FULLRESYNC %s %lld\r\n$EOF:", repl_replid(r), repl_offset(r));
    assert_memory_equal(buf, want, strlen(want));
    char mark[41];
    memcpy(mark, buf + strlen(want), 40);
    mark[40] = '\0';
    assert_int_equal(strlen(buf), strlen(want) + 40 + 2); /* no payload yet */
    fk.sink(fk.sink_arg, "RDB", 3);
    repl_before_sleep(r, 1000002);
    take(0, buf);
    assert_string_equal(buf, "RDB"); /* streamed as it comes */
    /* a second replica (no EOF capa) asks meanwhile: it waits for the next one */
    void *first_sink_arg = fk.sink_arg;
    assert_int_equal(repl_psync(r, &handles[1], "127.0.0.1", "?", -1, 0, 1000003), REPL_PSYNC_FULL);
    repl_before_sleep(r, 1000004);
    assert_int_equal(fk.outlen[1], 0);
    assert_ptr_equal(fk.sink_arg, first_sink_arg);
    fk.sink(fk.sink_arg, "DATA", 4);
    repl_snapshot_done(r, 1, 1000005);
    take(0, buf);
    snprintf(want, sizeof(want), "DATA%s", mark);
    assert_string_equal(buf, want);
    repl_replica_info_t ri;
    assert_int_equal(repl_replica_get(r, 0, 1000005, &ri), 0);
    assert_string_equal(ri.state, "online");
    /* the next snapshot, $<len> framing: the length comes with the end */
    repl_before_sleep(r, 1000006);
    take(1, buf);
    snprintf(want, sizeof(want), "+FULLRESYNC %s %lld\r\n", repl_replid(r), repl_offset(r));
    assert_string_equal(buf, want);
    fk.sink(fk.sink_arg, "RDB", 3);
    repl_before_sleep(r, 1000007);
    assert_int_equal(fk.outlen[1], 0);
    fk.sink(fk.sink_arg, "DATA", 4);
    repl_snapshot_done(r, 1, 1000008);
    take(1, buf);
    assert_string_equal(buf, "$7\r\nRDBDATA");
    /* a failed snapshot closes its replica and sends it nothing more */
    repl_forget(r, &handles[1], 1000009);
    assert_int_equal(repl_psync(r, &handles[2], "127.0.0.1", "?", -1, 0, 1000010), REPL_PSYNC_FULL);
    repl_before_sleep(r, 1000011);
    fk.outlen[2] = 0;
    fk.sink(fk.sink_arg, "RDB", 3);
    repl_snapshot_done(r, 0, 1000012);
    repl_before_sleep(r, 1000013);
    assert_true(fk.closed[2]);
    assert_int_equal(fk.outlen[2], 0);
    repl_forget(r, &handles[2], 1000014);
    repl_free(r);
}

static void test_core_partial_and_disk(void **st)
{
    (void)st;
    repl_t *r = core_new();
    char buf[8192], want[256];
    cfg.repl_diskless_sync = 0; /* "$<len>" framing, no delay */
    repl_psync(r, &handles[0], "10.0.0.1", "?", -1, 0, 1000000);
    repl_before_sleep(r, 1000000);
    take(0, buf);
    snprintf(want, sizeof(want), "+FULLRESYNC %s 0\r\n$7\r\nRDBDATA", repl_replid(r));
    assert_string_equal(buf, want);
    feed(r, 0, "SET", "k", "v"); /* straight to the replica: no ACK needed */
    take(0, buf);
    assert_string_equal(
        buf, "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
    long long mid = repl_offset(r);
    feed(r, 0, "SET", "k2", "v2");
    /* a second replica continues from the middle of the history */
    repl_conf_capa(r, &handles[1], "10.0.0.2", REPL_CAPA_PSYNC2);
    assert_int_equal(repl_psync(r, &handles[1], "10.0.0.2", repl_replid(r), mid + 1, 0, 1000001),
                     REPL_PSYNC_CONTINUE);
    take(1, buf);
    snprintf(want, sizeof(want), "+CONTINUE %s\r\n*3\r\n$3\r\nSET\r\n$2\r\nk2\r\n$2\r\nv2\r\n",
             repl_replid(r));
    assert_string_equal(buf, want);
    assert_int_equal(repl_stats(r)->sync_partial_ok, 1);
    /* without psync2 capa: a bare +CONTINUE */
    repl_psync(r, &handles[2], "10.0.0.3", repl_replid(r), repl_offset(r) + 1, 0, 1000001);
    take(2, buf);
    assert_string_equal(buf, "+CONTINUE\r\n");
    /* a wrong id or an offset past the end: full resync, counted as partial_err */
    assert_int_equal(repl_psync(r, &handles[3], "10.0.0.4",
                                "ffffffffffffffffffffffffffffffffffffffff", 5, 0, 1000002),
                     REPL_PSYNC_FULL);
    assert_int_equal(repl_stats(r)->sync_partial_err, 1);
    repl_forget(r, &handles[3], 1000003);
    repl_free(r);
}

static void test_core_payload_paced(void **st)
{
    (void)st;
    repl_t *r = core_new();
    char buf[8192], want[256];
    cfg.repl_diskless_sync = 0;
    fk.pending = 64u << 20; /* the replica's output is full */
    repl_psync(r, &handles[0], "10.0.0.1", "?", -1, 0, 1000000);
    repl_before_sleep(r, 1000000);
    take(0, buf);
    snprintf(want, sizeof(want), "+FULLRESYNC %s 0\r\n$7\r\n", repl_replid(r));
    assert_string_equal(buf, want); /* the header only: the payload waits */
    char info[4096];
    repl_info(r, 1000000, info, sizeof(info));
    assert_non_null(strstr(info, "state=send_bulk"));
    feed(r, 0, "SET", "k", "v"); /* held behind the payload */
    assert_int_equal(fk.outlen[0], 0);
    fk.pending = 0;
    repl_before_sleep(r, 1000001);
    take(0, buf);
    assert_string_equal(buf,
                        "RDBDATA*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n"
                        "$1\r\nv\r\n");
    repl_info(r, 1000001, info, sizeof(info));
    assert_non_null(strstr(info, "state=online"));
    repl_free(r);
}

static void test_core_promotion_psync2(void **st)
{
    (void)st;
    repl_t *r = core_new();
    char buf[8192];
    /* become a replica of M */
    assert_int_equal(repl_set_master(r, "10.1.1.1", 6379, 1000000), 0);
    assert_int_equal(fk.role, 1);
    assert_int_equal(fk.link_connects, 1);
    assert_string_equal(repl_role_state(r), "connecting");
    assert_int_equal(repl_set_master(r, "10.1.1.1", 6379, 1000000), 1); /* already */
    repl_link_connected(r, 1000001);
    assert_string_equal(fk.link_out, "*1\r\n$4\r\nPING\r\n");
    fk.link_len = 0;
    assert_int_equal(repl_link_line(r, "+PONG", 5, 1000002), REPL_HS_AGAIN);
    assert_non_null(strstr(fk.link_out, "listening-port\r\n$4\r\n6380"));
    repl_link_line(r, "+OK", 3, 1000003);
    fk.link_len = 0;
    repl_link_line(r, "+OK", 3, 1000004);
    /* a former master names its own history as the cached master */
    assert_non_null(strstr(fk.link_out, "PSYNC"));
    assert_null(strstr(fk.link_out, "$1\r\n?\r\n"));
    const char *mid = "m000000000000000000000000000000000000000";
    char line[128];
    snprintf(line, sizeof(line), "+FULLRESYNC %s 1000", mid);
    assert_int_equal(repl_link_line(r, line, strlen(line), 1000005), REPL_HS_AGAIN);
    assert_int_equal(repl_link_line(r, "$3", 2, 1000006), REPL_HS_PAYLOAD);
    size_t used;
    assert_int_equal(repl_link_payload(r, "abcdef", 6, &used, 1000007), 1);
    assert_int_equal(used, 3);
    repl_link_loading(r);
    fk.link_len = 0;
    repl_link_synced(r, 1, 1000008);
    assert_string_equal(repl_replid(r), mid);
    assert_int_equal(repl_offset(r), 1000);
    assert_string_equal(fk.link_out, "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$4\r\n1000\r\n");
    /* the applied stream is proxied to our own replica and counted */
    repl_psync(r, &handles[0], "10.0.0.5", mid, 1001, 0, 1000009);
    take(0, buf);
    assert_string_equal(buf, "+CONTINUE\r\n");
    repl_link_applied(r, "*1\r\n$4\r\nPING\r\n", 14);
    assert_int_equal(repl_offset(r), 1014);
    take(0, buf);
    assert_string_equal(buf, "*1\r\n$4\r\nPING\r\n");
    /* feeds from local commands are not ours to send as a replica */
    feed(r, 0, "SET", "x", "y");
    assert_int_equal(repl_offset(r), 1014);
    /* promotion: new id, the old one valid up to offset + 1 */
    repl_set_master_none(r, 1000010);
    assert_int_equal(fk.role, 0);
    assert_true(fk.closed[0]); /* replicas must learn the new id */
    repl_forget(r, &handles[0], 1000011);
    assert_string_not_equal(repl_replid(r), mid);
    char info[4096];
    repl_info(r, 1000011, info, sizeof(info));
    assert_non_null(strstr(info, "master_replid2:m000000000000000000000000000000000000000\r\n"
                                 "master_repl_offset:1014\r\nsecond_repl_offset:1015\r\n"));
    /* a sibling that reached 1014 under the old id continues */
    repl_conf_capa(r, &handles[1], "10.0.0.6", REPL_CAPA_PSYNC2);
    assert_int_equal(repl_psync(r, &handles[1], "10.0.0.6", mid, 1015, 0, 1000012),
                     REPL_PSYNC_CONTINUE);
    /* one that asks past the switch point cannot */
    assert_int_equal(repl_psync(r, &handles[2], "10.0.0.7", mid, 1016, 0, 1000012),
                     REPL_PSYNC_FULL);
    repl_free(r);
}

static void test_core_link_loss_and_reconnect(void **st)
{
    (void)st;
    repl_t *r = core_new();
    const uint64_t T = 1000000;
    repl_set_master(r, "h", 1, T);
    repl_link_connected(r, T);
    repl_link_line(r, "+PONG", 5, T + 0);
    repl_link_line(r, "+OK", 3, T + 0);
    repl_link_line(r, "+OK", 3, T + 0);
    assert_int_equal(
        repl_link_line(r, "+CONTINUE aaaaaaaaaabbbbbbbbbbccccccccccdddddddddd", 50, T + 0),
        REPL_HS_PARTIAL);
    assert_string_equal(repl_role_state(r), "connected");
    assert_true(repl_is_link(r, &handles[3]));
    repl_link_applied(r, "0123456789", 10);
    long long off = repl_offset(r);
    /* CLIENT KILL TYPE master: the link session goes away */
    repl_forget(r, &handles[3], T + 5000);
    assert_false(repl_is_link(r, &handles[3]));
    assert_string_equal(repl_role_state(r), "connect");
    char info[4096];
    repl_info(r, T + 6000, info, sizeof(info));
    assert_non_null(strstr(info, "master_link_status:down\r\n"));
    assert_non_null(strstr(info, "master_link_down_since_seconds:1\r\n"));
    /* reconnect at the next before_sleep, naming the cached history */
    repl_before_sleep(r, T + 6000);
    assert_int_equal(fk.link_connects, 2);
    repl_link_connected(r, T + 6001);
    repl_link_line(r, "+PONG", 5, T + 6002);
    repl_link_line(r, "+OK", 3, T + 6002);
    fk.link_len = 0;
    repl_link_line(r, "+OK", 3, T + 6002);
    char want[128];
    snprintf(want, sizeof(want),
             "$40\r\naaaaaaaaaabbbbbbbbbbccccccccccdddddddddd\r\n$%d\r\n%lld\r\n",
             off + 1 >= 10 ? 2 : 1, off + 1);
    assert_non_null(strstr(fk.link_out, want));
    /* a handshake that stalls times out in cron and is retried */
    repl_cron(r, T + 6002 + 61000);
    assert_true(fk.link_closes >= 1);
    assert_int_equal(fk.link_connects, 3); /* cron reconnects right away */
    /* a connected link with a silent master times out too */
    repl_link_connected(r, T + 70000);
    repl_link_line(r, "+PONG", 5, T + 70000);
    repl_link_line(r, "+OK", 3, T + 70000);
    repl_link_line(r, "+OK", 3, T + 70000);
    repl_link_line(r, "+CONTINUE", 9, T + 70000);
    fk.link_len = 0;
    repl_cron(r, T + 71000); /* ACK once per second */
    assert_non_null(strstr(fk.link_out, "REPLCONF\r\n$3\r\nACK"));
    int closes = fk.link_closes;
    repl_cron(r, T + 71000 + 61000);
    assert_int_equal(fk.link_closes, closes + 1);
    repl_set_master_none(r, T + 200000);
    assert_null(repl_master_host(r));
    repl_free(r);
}

static void test_core_cron_pings_ttl_minreplicas(void **st)
{
    (void)st;
    repl_t *r = core_new();
    char buf[8192];
    cfg.repl_diskless_sync_delay = 0;
    repl_psync(r, &handles[0], "ip", "?", -1, 1 /* SYNC */, 1000000);
    repl_before_sleep(r, 1000000);
    take(0, buf);
    assert_string_equal(buf, "$7\r\nRDBDATA"); /* SYNC: no +FULLRESYNC, no EOF capa */
    repl_ack(r, &handles[0], 0, 1000000);
    /* a PING every repl-ping-replica-period seconds */
    repl_cron(r, 1001000);
    take(0, buf);
    assert_string_equal(buf, "*1\r\n$4\r\nping\r\n");
    repl_cron(r, 1002000);
    assert_int_equal(fk.outlen[0], 0);
    /* min-replicas-to-write with lag */
    cfg.min_replicas_to_write = 1;
    assert_true(repl_writes_allowed(r, 1005000));
    assert_false(repl_writes_allowed(r, 1011000)); /* last ACK 11 s ago */
    cfg.min_replicas_to_write = 2;
    assert_false(repl_writes_allowed(r, 1000000));
    cfg.min_replicas_to_write = 0;
    /* SYNC replicas are not timed out for lack of ACKs */
    repl_cron(r, 1100000);
    assert_false(fk.closed[0]);
    repl_forget(r, &handles[0], 1100000);
    /* the backlog outlives its last replica for repl-backlog-ttl seconds */
    char id[41];
    strcpy(id, repl_replid(r));
    repl_cron(r, 1100000 + 3600 * 1000);
    assert_string_equal(repl_replid(r), id);
    repl_cron(r, 1100000 + 3601 * 1000);
    assert_string_not_equal(repl_replid(r), id);
    char info[4096];
    repl_info(r, 1100000 + 3601 * 1000, info, sizeof(info));
    assert_non_null(strstr(info, "repl_backlog_active:0\r\n"));
    repl_free(r);
}

static void test_core_restore(void **st)
{
    (void)st;
    repl_t *r = core_new();
    const char *id = "abcdefabcdefabcdefabcdefabcdefabcdefabcd";
    repl_restore(r, id, 500, 0);
    /* a restarted master: its replicas continue from 501 */
    repl_conf_capa(r, &handles[0], "ip", REPL_CAPA_PSYNC2);
    assert_int_equal(repl_psync(r, &handles[0], "ip", id, 501, 0, 1000000), REPL_PSYNC_CONTINUE);
    const char *sid;
    long long soff;
    int sdb;
    assert_int_equal(repl_save_info(r, &sid, &soff, &sdb), 1);
    assert_int_equal(soff, 500);
    repl_forget(r, &handles[0], 1000000);
    /* made a replica before any write: PSYNC names the restored history,
     * which the promoted sibling knows as its replid2 */
    repl_set_master(r, "h", 1, 1000001);
    repl_link_connected(r, 1000001);
    repl_link_line(r, "+PONG", 5, 1000001);
    repl_link_line(r, "+OK", 3, 1000001);
    fk.link_len = 0;
    repl_link_line(r, "+OK", 3, 1000001);
    assert_non_null(
        strstr(fk.link_out, "$40\r\nabcdefabcdefabcdefabcdefabcdefabcdefabcd\r\n$3\r\n501\r\n"));
    assert_int_equal(
        repl_link_line(r, "+CONTINUE bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 50, 1000002),
        REPL_HS_PARTIAL);
    assert_string_equal(repl_replid(r), "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    char info[4096];
    repl_info(r, 1000002, info, sizeof(info));
    assert_non_null(strstr(info, "master_replid2:abcdefabcdefabcdefabcdefabcdefabcdefabcd\r\n"
                                 "master_repl_offset:500\r\nsecond_repl_offset:501\r\n"));
    repl_free(r);
    /* nothing to save without a history */
    r = core_new();
    assert_int_equal(repl_save_info(r, &sid, &soff, &sdb), 0);
    repl_free(r);
}

int main(void)
{
    log_open("/dev/null");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backlog_wrap),
        cmocka_unit_test(test_backlog_resize),
        cmocka_unit_test(test_hs_full_sequence),
        cmocka_unit_test(test_hs_eof_payload),
        cmocka_unit_test(test_hs_errors_and_timeouts),
        cmocka_unit_test(test_hs_continue),
        cmocka_unit_test(test_core_full_sync_eof),
        cmocka_unit_test(test_core_async_snapshot),
        cmocka_unit_test(test_core_partial_and_disk),
        cmocka_unit_test(test_core_payload_paced),
        cmocka_unit_test(test_core_promotion_psync2),
        cmocka_unit_test(test_core_link_loss_and_reconnect),
        cmocka_unit_test(test_core_cron_pings_ttl_minreplicas),
        cmocka_unit_test(test_core_restore),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
