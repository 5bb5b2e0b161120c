/*
 * test_bus_msg.c — unit tests for the cluster bus codec (src/cluster/bus_msg.c).
 *
 * The golden packets under tests/unit/golden/bus/ were captured from four real
 * redis-server 7.0.15 nodes (see the README there): each one is decoded and its
 * fields checked against the node ids and slot ranges of that capture, then
 * rebuilt with the encoders from the decoded struct and compared byte for byte.
 * Then: every truncation, corrupt lengths, random byte flips (run under ASan from
 * exact-size heap copies so any overread is caught), and the encoders on their own.
 * Run from the repository root (the Makefile does); TESSERA_GOLDEN overrides the
 * golden directory.
 */
/* SOURCES: src/cluster/bus_msg.c src/lib/mem.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/bus_msg.h"
#include "lib/mem.h"

/* The capture's nodes: 1..3 masters (1 has hostname node-one.example), 4 a
 * replica of 1. Client ports 21431..21434, announced bus ports 21441..21444. */
#define N1 "639c3b5029455a184b781a1cb0a8bc2cb07a46ea"
#define N2 "b9e0dbe7a8c81479ffc464cf49a59ea6fe26095e"
#define N3 "5a680c86aadecab1f826f7719ec2fb4a5004b2c1"
#define N4 "8e3b955e2fceb986c7ab640b943a3b84afc534c9"

static const char *golden_files[] = {
    "meet.bin",
    "pong_hostname.bin",
    "ping_gossip_hostname.bin",
    "ping_from_replica.bin",
    "ping_gossip_pfail.bin",
    "pong_gossip_fail_statefail.bin",
    "ping_paused.bin",
    "auth_request_forceack.bin",
    "auth_ack.bin",
    "mfstart.bin",
    "fail.bin",
    "publish.bin",
    "publishshard.bin",
    "update.bin",
};
#define N_GOLDEN (sizeof golden_files / sizeof golden_files[0])

static uint8_t *load_golden(const char *name, size_t *len)
{
    const char *dir = getenv("TESSERA_GOLDEN");
    char path[512];
    snprintf(path, sizeof path, "%s/bus/%s", dir ? dir : "tests/unit/golden", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open golden file %s (run from the repository root)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)n);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static void decode_ok(const uint8_t *buf, size_t len, bus_msg_t *m)
{
    char err[128];
    int rc = bus_msg_decode(buf, len, m, err, sizeof err);
    if (rc != BUS_OK)
        fail_msg("decode failed: %s", err);
}

/* 1 if bm holds exactly the slots [lo, hi]. */
static int slots_are(const uint8_t *bm, unsigned lo, unsigned hi)
{
    for (unsigned s = 0; s < BUS_SLOTS; s++)
        if (bus_slot_test(bm, s) != (s >= lo && s <= hi))
            return 0;
    return 1;
}

static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* Rebuilds m with the public encoders into b. */
static size_t reencode(bus_buf_t *b, const bus_msg_t *m)
{
    const bus_hdr_t *h = &m->hdr;
    switch (h->type) {
    case BUS_TYPE_PING:
    case BUS_TYPE_PONG:
    case BUS_TYPE_MEET: {
        bus_gossip_t g[16];
        bus_ext_t e[16];
        assert_true(h->count <= 16 && m->u.ping.ext_count <= 16);
        for (uint16_t i = 0; i < h->count; i++)
            bus_msg_gossip(m, i, &g[i]);
        bus_ext_iter_t it;
        uint16_t ne = 0;
        bus_msg_ext_first(m, &it);
        while (bus_msg_ext_next(&it, &e[ne]))
            ne++;
        assert_int_equal(ne, m->u.ping.ext_count);
        return bus_msg_build_ping(b, h, h->type, g, h->count, e, ne);
    }
    case BUS_TYPE_FAIL:
        return bus_msg_build_fail(b, h, m->u.fail.nodename);
    case BUS_TYPE_PUBLISH:
    case BUS_TYPE_PUBLISHSHARD:
        return bus_msg_build_publish(b, h, h->type, m->u.publish.channel, m->u.publish.channel_len,
                                     m->u.publish.message, m->u.publish.message_len);
    case BUS_TYPE_FAILOVER_AUTH_REQUEST:
        return bus_msg_build_auth_request(b, h);
    case BUS_TYPE_FAILOVER_AUTH_ACK:
        return bus_msg_build_auth_ack(b, h);
    case BUS_TYPE_MFSTART:
        return bus_msg_build_mfstart(b, h);
    case BUS_TYPE_UPDATE:
        return bus_msg_build_update(b, h, m->u.update.config_epoch, m->u.update.nodename,
                                    m->u.update.slots);
    case BUS_TYPE_MODULE:
        return bus_msg_build_module(b, h, m->u.module.module_id, m->u.module.type, m->u.module.data,
                                    m->u.module.len);
    default:
        fail_msg("unexpected type %u", h->type);
    }
    return 0;
}

/* ---- golden packets ------------------------------------------------------- */

static void check_common(const bus_msg_t *m, const char *sender, uint16_t port)
{
    assert_memory_equal(m->hdr.sender, sender, BUS_NAMELEN);
    assert_int_equal(m->hdr.ver, 1);
    assert_int_equal(m->hdr.port, port);
    assert_int_equal(m->hdr.cport, port + 10);
    assert_int_equal(m->hdr.pport, 0);
    assert_true(all_zero(m->hdr.myip, BUS_IPLEN)); /* no cluster-announce-ip */
    assert_true(all_zero(m->hdr.notused1, sizeof m->hdr.notused1));
    assert_int_equal(m->hdr.mflags[1], 0);
    assert_int_equal(m->hdr.mflags[2], 0);
}

static void check_gossip(const bus_msg_t *m, uint16_t i, const char *name, uint16_t port,
                         uint16_t flags)
{
    bus_gossip_t g;
    bus_msg_gossip(m, i, &g);
    assert_memory_equal(g.name, name, BUS_NAMELEN);
    assert_string_equal(g.ip, "127.0.0.1");
    assert_true(all_zero(g.ip + 9, BUS_IPLEN - 9));
    assert_int_equal(g.port, port);
    assert_int_equal(g.cport, port + 10);
    assert_int_equal(g.flags, flags);
    assert_int_equal(g.pport, 0);
    assert_int_equal(g.notused1, 0);
    assert_true(g.pong_received > 1700000000u); /* seconds, not ms */
}

static void check_hostname(const bus_msg_t *m)
{
    assert_int_equal(m->u.ping.ext_count, 1);
    assert_int_equal(m->hdr.extensions, 1);
    assert_true(m->hdr.mflags[0] & BUS_MF_EXT_DATA);
    assert_int_equal(m->u.ping.hostname_len, 16);
    assert_memory_equal(m->u.ping.hostname, "node-one.example", 16);
    assert_int_equal(m->u.ping.ext_bytes, 32); /* 8 + align8(16 + 1) */
    bus_ext_iter_t it;
    bus_ext_t e;
    bus_msg_ext_first(m, &it);
    assert_true(bus_msg_ext_next(&it, &e));
    assert_int_equal(e.type, BUS_EXT_HOSTNAME);
    assert_int_equal(e.length, 32);
    assert_false(bus_msg_ext_next(&it, &e));
}

static void test_golden_meet(void **st)
{
    (void)st;
    size_t n;
    uint8_t *p = load_golden("meet.bin", &n);
    bus_msg_t m;
    decode_ok(p, n, &m);
    assert_int_equal(m.hdr.type, BUS_TYPE_MEET);
    assert_int_equal(m.hdr.totlen, BUS_HDR_LEN);
    check_common(&m, N2, 21432);
    assert_int_equal(m.hdr.count, 0);
    assert_int_equal(m.hdr.flags, BUS_NODE_MYSELF | BUS_NODE_MASTER);
    assert_int_equal(m.hdr.state, BUS_STATE_FAIL); /* not yet joined */
    assert_int_equal(m.hdr.current_epoch, 2);
    assert_int_equal(m.hdr.config_epoch, 2);
    assert_true(all_zero(m.hdr.slaveof, BUS_NAMELEN));
    assert_true(slots_are(m.hdr.myslots, 5461, 10922));
    assert_null(m.u.ping.hostname);
    free(p);
}

static void test_golden_pong_hostname(void **st)
{
    (void)st;
    size_t n;
    uint8_t *p = load_golden("pong_hostname.bin", &n);
    bus_msg_t m;
    decode_ok(p, n, &m);
    assert_int_equal(m.hdr.type, BUS_TYPE_PONG);
    assert_int_equal(m.hdr.totlen, 2288);
    check_common(&m, N1, 21431);
    assert_int_equal(m.hdr.count, 0);
    assert_true(slots_are(m.hdr.myslots, 0, 5460));
    check_hostname(&m);
    free(p);
}

static void test_golden_ping_gossip(void **st)
{
    (void)st;
    size_t n;
    uint8_t *p = load_golden("ping_gossip_hostname.bin", &n);
    bus_msg_t m;
    decode_ok(p, n, &m);
    assert_int_equal(m.hdr.type, BUS_TYPE_PING);
    check_common(&m, N1, 21431);
    assert_int_equal(m.hdr.flags, BUS_NODE_MYSELF | BUS_NODE_MASTER | BUS_NODE_MIGRATE_TO);
    assert_int_equal(m.hdr.state, BUS_STATE_OK);
    assert_int_equal(m.hdr.count, 2);
    assert_int_equal(m.hdr.current_epoch, 3);
    assert_int_equal(m.hdr.config_epoch, 1);
    check_gossip(&m, 0, N4, 21434, BUS_NODE_SLAVE);
    check_gossip(&m, 1, N3, 21433, BUS_NODE_MASTER);
    check_hostname(&m);
    free(p);
}

static void test_golden_ping_from_replica(void **st)
{
    (void)st;
    size_t n;
    uint8_t *p = load_golden("ping_from_replica.bin", &n);
    bus_msg_t m;
    decode_ok(p, n, &m);
    assert_int_equal(m.hdr.type, BUS_TYPE_PING);
    check_common(&m, N4, 21434);
    assert_int_equal(m.hdr.flags, BUS_NODE_MYSELF | BUS_NODE_SLAVE);
    assert_memory_equal(m.hdr.slaveof, N1, BUS_NAMELEN);
    assert_true(slots_are(m.hdr.myslots, 0, 5460)); /* the master's slots */
    assert_int_equal(m.hdr.config_epoch, 1);        /* the master's epoch */
    assert_int_equal(m.hdr.count, 2);
    check_gossip(&m, 0, N1, 21431, BUS_NODE_MASTER | BUS_NODE_MIGRATE_TO);
    check_gossip(&m, 1, N3, 21433, BUS_NODE_MASTER);
    assert_int_equal(m.u.ping.ext_count, 0);
    assert_false(m.hdr.mflags[0] & BUS_MF_EXT_DATA);
    free(p);
}

static void test_golden_failure_flags(void **st)
{
    (void)st;
    size_t n;
    uint8_t *p = load_golden("ping_gossip_pfail.bin", &n);
    bus_msg_t m;
    decode_ok(p, n, &m);
    check_common(&m, N2, 21432);
    assert_int_equal(m.hdr.count, 3);
    check_gossip(&m, 2, N3, 21433, BUS_NODE_MASTER | BUS_NODE_PFAIL);
    free(p);

    p = load_golden("pong_gossip_fail_statefail.bin", &n);
    decode_ok(p, n, &m);
    assert_int_equal(m.hdr.type, BUS_TYPE_PONG);
    check_common(&m, N1, 21431);
    assert_int_equal(m.hdr.state, BUS_STATE_FAIL);
    check_gossip(&m, 0, N3, 21433, BUS_NODE_MASTER | BUS_NODE_FAIL);
    check_hostname(&m);
    free(p);

    p = load_golden("fail.bin", &n);
    decode_ok(p, n, &m);
    assert_int_equal(m.hdr.type, BUS_TYPE_FAIL);
    assert_int_equal(m.hdr.totlen, BUS_FAIL_LEN);
    check_common(&m, N2, 21432);
    assert_memory_equal(m.u.fail.nodename, N3, BUS_NAMELEN);
    free(p);
}

static void test_golden_manual_failover(void **st)
{
    (void)st;
    size_t n;
    bus_msg_t m;
    uint8_t *p = load_golden("ping_paused.bin", &n);
    decode_ok(p, n, &m);
    check_common(&m, N1, 21431);
    assert_int_equal(m.hdr.mflags[0], BUS_MF_PAUSED | BUS_MF_EXT_DATA);
    assert_int_equal(m.hdr.offset, 28);
    free(p);

    p = load_golden("mfstart.bin", &n);
    decode_ok(p, n, &m);
    assert_int_equal(m.hdr.type, BUS_TYPE_MFSTART);
    check_common(&m, N4, 21434);
    assert_memory_equal(m.hdr.slaveof, N1, BUS_NAMELEN);
    free(p);

    p = load_golden("auth_request_forceack.bin", &n);
    decode_ok(p, n, &m);
    assert_int_equal(m.hdr.type, BUS_TYPE_FAILOVER_AUTH_REQUEST);
    check_common(&m, N4, 21434);
    assert_int_equal(m.hdr.mflags[0], BUS_MF_FORCEACK);
    assert_int_equal(m.hdr.current_epoch, 4);
    assert_true(slots_are(m.hdr.myslots, 0, 5460));
    free(p);

    p = load_golden("auth_ack.bin", &n);
    decode_ok(p, n, &m);
    assert_int_equal(m.hdr.type, BUS_TYPE_FAILOVER_AUTH_ACK);
    check_common(&m, N2, 21432);
    assert_int_equal(m.hdr.current_epoch, 4);
    free(p);
}

static void test_golden_publish_update(void **st)
{
    (void)st;
    size_t n;
    bus_msg_t m;
    uint8_t *p = load_golden("publish.bin", &n);
    decode_ok(p, n, &m);
    assert_int_equal(m.hdr.type, BUS_TYPE_PUBLISH);
    check_common(&m, N2, 21432);
    assert_int_equal(m.u.publish.channel_len, 4);
    assert_memory_equal(m.u.publish.channel, "chan", 4);
    assert_int_equal(m.u.publish.message_len, 11);
    assert_memory_equal(m.u.publish.message, "hello-world", 11);
    free(p);

    p = load_golden("publishshard.bin", &n);
    decode_ok(p, n, &m);
    assert_int_equal(m.hdr.type, BUS_TYPE_PUBLISHSHARD);
    check_common(&m, N1, 21431);
    assert_int_equal(m.u.publish.channel_len, 1);
    assert_memory_equal(m.u.publish.channel, "b", 1);
    assert_int_equal(m.u.publish.message_len, 9);
    assert_memory_equal(m.u.publish.message, "shard-msg", 9);
    free(p);

    p = load_golden("update.bin", &n);
    decode_ok(p, n, &m);
    assert_int_equal(m.hdr.type, BUS_TYPE_UPDATE);
    assert_int_equal(m.hdr.totlen, BUS_UPDATE_LEN);
    check_common(&m, N3, 21433);
    assert_int_equal(m.u.update.config_epoch, 3);
    assert_memory_equal(m.u.update.nodename, N3, BUS_NAMELEN);
    assert_true(slots_are(m.u.update.slots, 10923, 16383));
    free(p);
}

/* Every golden packet rebuilt from its decoded form is the same bytes. Redis
 * 7.0.15 zeroes every unused byte (notused1, mflags[1..2], ip tails, extension
 * padding): the captures were checked for that, so the comparison is exact. */
static void test_golden_reencode(void **st)
{
    (void)st;
    for (size_t i = 0; i < N_GOLDEN; i++) {
        size_t n;
        uint8_t *p = load_golden(golden_files[i], &n);
        bus_msg_t m;
        decode_ok(p, n, &m);
        uint8_t stack[BUS_UPDATE_LEN];
        bus_buf_t b;
        bus_buf_init(&b, stack, sizeof stack);
        size_t w = reencode(&b, &m);
        assert_int_equal(w, n);
        assert_int_equal(b.len, n);
        assert_false(b.heap); /* every golden fits the stack buffer */
        if (memcmp(b.data, p, n) != 0)
            fail_msg("%s: re-encoding differs", golden_files[i]);
        bus_buf_deinit(&b);
        free(p);
    }
}

/* ---- framing and malformed input ---------------------------------------- */

static void test_peek(void **st)
{
    (void)st;
    uint8_t b[8] = {'R', 'C', 'm', 'b', 0, 0, 0x08, 0xd0}; /* 2256 */
    uint32_t t = 0;
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(bus_msg_peek(b, i, &t), BUS_AGAIN);
    assert_int_equal(bus_msg_peek(b, 8, &t), BUS_OK);
    assert_int_equal(t, 2256);
    b[7] = 0xcf; /* 2255 */
    assert_int_equal(bus_msg_peek(b, 8, &t), BUS_ERR);
    b[4] = 0x40; /* 1 GiB + 0x8cf: still under the cap */
    assert_int_equal(bus_msg_peek(b, 8, &t), BUS_OK);
    b[4] = 0x41; /* above BUS_MSG_MAX_LEN */
    assert_int_equal(bus_msg_peek(b, 8, &t), BUS_ERR);
    b[4] = 0;
    b[7] = 0xd0;
    b[3] = 'B';
    assert_int_equal(bus_msg_peek(b, 8, &t), BUS_ERR);
}

/* Every prefix of every golden packet is rejected without reading past it. */
static void test_truncation(void **st)
{
    (void)st;
    for (size_t i = 0; i < N_GOLDEN; i++) {
        size_t n;
        uint8_t *p = load_golden(golden_files[i], &n);
        for (size_t len = 0; len < n; len++) {
            uint8_t *c = malloc(len ? len : 1);
            memcpy(c, p, len);
            bus_msg_t m;
            char err[128];
            assert_int_equal(bus_msg_decode(c, len, &m, err, sizeof err), BUS_ERR);
            assert_true(err[0] != '\0');
            free(c);
        }
        /* bytes after totlen belong to the next message and are ignored */
        uint8_t *c = malloc(n + 5);
        memcpy(c, p, n);
        memset(c + n, 0xab, 5);
        bus_msg_t m;
        assert_int_equal(bus_msg_decode(c, n + 5, &m, NULL, 0), BUS_OK);
        free(c);
        free(p);
    }
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A totlen that claims more or less than the type's layout is an error, even
 * when the buffer holds that many bytes. */
static void test_length_rules(void **st)
{
    (void)st;
    for (size_t i = 0; i < N_GOLDEN; i++) {
        size_t n;
        uint8_t *p = load_golden(golden_files[i], &n);
        uint8_t *c = calloc(1, n + 64);
        memcpy(c, p, n);
        bus_msg_t m;
        char err[128];
        put_be32(c + 4, (uint32_t)n + 8);
        assert_int_equal(bus_msg_decode(c, n + 64, &m, err, sizeof err), BUS_ERR);
        assert_non_null(strstr(err, "expected length"));
        put_be32(c + 4, (uint32_t)n - 8);
        if (n - 8 >= BUS_HDR_LEN)
            assert_int_equal(bus_msg_decode(c, n + 64, &m, err, sizeof err), BUS_ERR);
        put_be32(c + 4, (uint32_t)n);
        c[9] = 2; /* version 2 */
        assert_int_equal(bus_msg_decode(c, n, &m, err, sizeof err), BUS_ERR);
        assert_non_null(strstr(err, "version"));
        free(c);
        free(p);
    }
}

static bus_hdr_t sample_hdr(void)
{
    bus_hdr_t h;
    memset(&h, 0, sizeof h);
    memcpy(h.sender, N1, BUS_NAMELEN);
    h.port = 7001;
    h.cport = 17001;
    h.flags = BUS_NODE_MASTER | BUS_NODE_MYSELF;
    h.current_epoch = 0x0102030405060708ull;
    h.config_epoch = 7;
    h.offset = 123456789;
    for (unsigned s = 100; s < 200; s++)
        bus_slot_set(h.myslots, s);
    strcpy(h.myip, "10.0.0.1");
    return h;
}

static void test_publish_overflow(void **st)
{
    (void)st;
    bus_hdr_t h = sample_hdr();
    bus_buf_t b;
    bus_buf_init(&b, NULL, 0);
    size_t n = bus_msg_build_publish(&b, &h, BUS_TYPE_PUBLISH, "ch", 2, "msg", 3);
    assert_int_equal(n, BUS_HDR_LEN + 8 + 5);
    bus_msg_t m;
    decode_ok(b.data, b.len, &m);
    assert_memory_equal(m.u.publish.channel, "ch", 2);
    assert_memory_equal(m.u.publish.message, "msg", 3);
    /* lengths whose 32-bit sum would wrap around to the real size */
    put_be32(b.data + BUS_HDR_LEN, 0xFFFFFFFFu);
    put_be32(b.data + BUS_HDR_LEN + 4, 6);
    assert_int_equal(bus_msg_decode(b.data, b.len, &m, NULL, 0), BUS_ERR);
    put_be32(b.data + BUS_HDR_LEN, 6);
    put_be32(b.data + BUS_HDR_LEN + 4, 0);
    assert_int_equal(bus_msg_decode(b.data, b.len, &m, NULL, 0), BUS_ERR);
    put_be32(b.data + BUS_HDR_LEN, 5);
    assert_int_equal(bus_msg_decode(b.data, b.len, &m, NULL, 0), BUS_OK);
    /* shorter than the fixed publish fields */
    bus_buf_reset(&b);
    bus_msg_build_auth_ack(&b, &h);
    b.data[13] = BUS_TYPE_PUBLISH;
    assert_int_equal(bus_msg_decode(b.data, b.len, &m, NULL, 0), BUS_ERR);
    bus_buf_deinit(&b);
}

/* Builds a PING whose extension area is `ext` (raw bytes) with the given count. */
static size_t raw_ping(uint8_t *out, const uint8_t *ext, size_t ext_len, uint16_t next,
                       int ext_flag)
{
    bus_hdr_t h = sample_hdr();
    h.totlen = (uint32_t)(BUS_HDR_LEN + ext_len);
    h.extensions = next;
    h.mflags[0] = ext_flag ? BUS_MF_EXT_DATA : 0;
    bus_msg_encode_header(out, &h, BUS_TYPE_PING);
    memcpy(out + BUS_HDR_LEN, ext, ext_len);
    return BUS_HDR_LEN + ext_len;
}

static void test_extension_rules(void **st)
{
    (void)st;
    uint8_t *buf = malloc(BUS_HDR_LEN + 64);
    uint8_t ext[64];
    bus_msg_t m;
    char err[128];
    memset(ext, 0, sizeof ext);
    /* a valid hostname extension */
    put_be32(ext, 16);
    memcpy(ext + 8, "abc", 3);
    size_t n = raw_ping(buf, ext, 16, 1, 1);
    assert_int_equal(bus_msg_decode(buf, n, &m, err, sizeof err), BUS_OK);
    assert_int_equal(m.u.ping.hostname_len, 3);
    /* length not a multiple of 8 */
    put_be32(ext, 12);
    n = raw_ping(buf, ext, 16, 1, 1);
    assert_int_equal(bus_msg_decode(buf, n, &m, err, sizeof err), BUS_ERR);
    /* zero length would loop in place */
    put_be32(ext, 0);
    n = raw_ping(buf, ext, 16, 1, 1);
    assert_int_equal(bus_msg_decode(buf, n, &m, err, sizeof err), BUS_ERR);
    /* longer than what is left */
    put_be32(ext, 24);
    n = raw_ping(buf, ext, 16, 1, 1);
    assert_int_equal(bus_msg_decode(buf, n, &m, err, sizeof err), BUS_ERR);
    assert_non_null(strstr(err, "exceeds"));
    /* more extensions announced than present */
    put_be32(ext, 16);
    n = raw_ping(buf, ext, 16, 2, 1);
    assert_int_equal(bus_msg_decode(buf, n, &m, err, sizeof err), BUS_ERR);
    /* bytes left after the last extension */
    n = raw_ping(buf, ext, 24, 1, 1);
    assert_int_equal(bus_msg_decode(buf, n, &m, err, sizeof err), BUS_ERR);
    /* without EXT_DATA the extension count is not walked (Redis 7.0) ... */
    n = raw_ping(buf, ext, 0, 1, 0);
    assert_int_equal(bus_msg_decode(buf, n, &m, err, sizeof err), BUS_OK);
    assert_int_equal(m.u.ping.ext_count, 0);
    /* ... so extension bytes without the flag are trailing garbage */
    n = raw_ping(buf, ext, 16, 1, 0);
    assert_int_equal(bus_msg_decode(buf, n, &m, err, sizeof err), BUS_ERR);
    /* a forgotten-node extension too short for name + ttl */
    memset(ext, 0, sizeof ext);
    put_be32(ext, 40);
    ext[5] = BUS_EXT_FORGOTTEN_NODE;
    n = raw_ping(buf, ext, 40, 1, 1);
    assert_int_equal(bus_msg_decode(buf, n, &m, err, sizeof err), BUS_ERR);
    /* a shard-id extension too short */
    ext[5] = BUS_EXT_SHARDID;
    put_be32(ext, 40); /* payload 32 < 40 */
    n = raw_ping(buf, ext, 40, 1, 1);
    assert_int_equal(bus_msg_decode(buf, n, &m, err, sizeof err), BUS_ERR);
    assert_non_null(strstr(err, "too short"));
    put_be32(ext, 48);
    n = raw_ping(buf, ext, 48, 1, 1);
    assert_int_equal(bus_msg_decode(buf, n, &m, err, sizeof err), BUS_OK);
    assert_non_null(m.u.ping.shard_id);
    put_be32(ext, 32);
    /* an unknown extension type is kept and skipped */
    ext[5] = 77;
    n = raw_ping(buf, ext, 32, 1, 1);
    assert_int_equal(bus_msg_decode(buf, n, &m, err, sizeof err), BUS_OK);
    /* a hostname without NUL is the whole payload */
    memset(ext, 'x', sizeof ext);
    put_be32(ext, 16);
    ext[4] = ext[5] = ext[6] = ext[7] = 0;
    n = raw_ping(buf, ext, 16, 1, 1);
    assert_int_equal(bus_msg_decode(buf, n, &m, err, sizeof err), BUS_OK);
    assert_int_equal(m.u.ping.hostname_len, 8);
    /* gossip count larger than the packet */
    bus_hdr_t h = sample_hdr();
    h.totlen = BUS_HDR_LEN;
    h.count = 1;
    bus_msg_encode_header(buf, &h, BUS_TYPE_PONG);
    assert_int_equal(bus_msg_decode(buf, BUS_HDR_LEN, &m, err, sizeof err), BUS_ERR);
    free(buf);
}

static void test_other_types(void **st)
{
    (void)st;
    bus_hdr_t h = sample_hdr();
    bus_buf_t b;
    bus_msg_t m;
    bus_buf_init(&b, NULL, 0);
    /* unknown types are accepted as they are, any length */
    h.totlen = BUS_HDR_LEN + 10;
    uint8_t *p = bus_buf_reserve(&b, BUS_HDR_LEN + 10);
    bus_msg_encode_header(p, &h, 42);
    memset(p + BUS_HDR_LEN, 0xee, 10);
    decode_ok(p, BUS_HDR_LEN + 10, &m);
    assert_int_equal(m.hdr.type, 42);
    assert_string_equal(bus_type_name(42), "unknown");
    /* module */
    bus_buf_reset(&b);
    size_t n = bus_msg_build_module(&b, &h, 0x1122334455667788ull, 9, "hello", 5);
    assert_int_equal(n, BUS_HDR_LEN + 13 + 5);
    decode_ok(b.data, b.len, &m);
    assert_int_equal(m.u.module.module_id, 0x1122334455667788ull);
    assert_int_equal(m.u.module.type, 9);
    assert_int_equal(m.u.module.len, 5);
    assert_memory_equal(m.u.module.data, "hello", 5);
    assert_int_equal(b.data[BUS_HDR_LEN + 8 + 3], 5); /* len u32 before type u8 */
    assert_int_equal(b.data[BUS_HDR_LEN + 12], 9);
    put_be32(b.data + BUS_HDR_LEN + 8, 6);
    assert_int_equal(bus_msg_decode(b.data, b.len, &m, NULL, 0), BUS_ERR);
    /* header-only types with a body are rejected */
    bus_buf_reset(&b);
    bus_msg_build_fail(&b, &h, N2);
    b.data[13] = BUS_TYPE_MFSTART;
    assert_int_equal(bus_msg_decode(b.data, b.len, &m, NULL, 0), BUS_ERR);
    b.data[13] = BUS_TYPE_UPDATE;
    assert_int_equal(bus_msg_decode(b.data, b.len, &m, NULL, 0), BUS_ERR);
    bus_buf_deinit(&b);
    assert_string_equal(bus_type_name(BUS_TYPE_FAILOVER_AUTH_REQUEST), "auth-req");
    assert_string_equal(bus_type_name(BUS_TYPE_FAILOVER_AUTH_ACK), "auth-ack");
    assert_string_equal(bus_type_name(BUS_TYPE_PUBLISHSHARD), "publishshard");
}

/* ---- encoders ------------------------------------------------------------ */

static void test_build_ping_all_extensions(void **st)
{
    (void)st;
    bus_hdr_t h = sample_hdr();
    h.mflags[0] = BUS_MF_PAUSED;
    bus_gossip_t g[3];
    memset(g, 0, sizeof g);
    const char *names[3] = {N2, N3, N4};
    for (int i = 0; i < 3; i++) {
        memcpy(g[i].name, names[i], BUS_NAMELEN);
        g[i].ping_sent = 1000u + (uint32_t)i;
        g[i].pong_received = 2000u + (uint32_t)i;
        strcpy(g[i].ip, "192.168.1.1");
        g[i].port = (uint16_t)(7002 + i);
        g[i].cport = (uint16_t)(17002 + i);
        g[i].flags = BUS_NODE_MASTER | (i == 2 ? BUS_NODE_PFAIL : 0);
        g[i].pport = 6379;
    }
    static const uint8_t odd[5] = {1, 2, 3, 4, 5};
    bus_ext_t e[5] = {
        bus_ext_hostname("host-a", 6),
        bus_ext_human_nodename("12345678", 8), /* 8 chars + NUL: 16-byte payload */
        bus_ext_forgotten_node(N3, 60),
        bus_ext_shardid(N4),
        {.type = 9, .payload = odd, .payload_len = 5},
    };
    bus_buf_t b;
    bus_buf_init(&b, NULL, 0);
    size_t n = bus_msg_build_ping(&b, &h, BUS_TYPE_MEET, g, 3, e, 5);
    size_t want = BUS_HDR_LEN + 3 * BUS_GOSSIP_LEN + 16 + 24 + 56 + 48 + 16;
    assert_int_equal(n, want);
    bus_msg_t m;
    decode_ok(b.data, b.len, &m);
    assert_int_equal(m.hdr.type, BUS_TYPE_MEET);
    assert_int_equal(m.hdr.mflags[0], BUS_MF_PAUSED | BUS_MF_EXT_DATA);
    assert_int_equal(m.hdr.current_epoch, 0x0102030405060708ull);
    assert_int_equal(m.hdr.offset, 123456789);
    assert_string_equal(m.hdr.myip, "10.0.0.1");
    assert_true(slots_are(m.hdr.myslots, 100, 199));
    for (uint16_t i = 0; i < 3; i++) {
        bus_gossip_t x;
        bus_msg_gossip(&m, i, &x);
        assert_memory_equal(&x, &g[i], sizeof x);
    }
    assert_memory_equal(m.u.ping.hostname, "host-a", 6);
    assert_int_equal(m.u.ping.human_nodename_len, 8);
    assert_memory_equal(m.u.ping.shard_id, N4, BUS_NAMELEN);
    assert_int_equal(m.u.ping.forgotten_count, 1);
    bus_ext_iter_t it;
    bus_ext_t x;
    bus_msg_ext_first(&m, &it);
    int k = 0;
    while (bus_msg_ext_next(&it, &x)) {
        assert_int_equal(x.type, e[k].type);
        assert_int_equal(x.length % 8, 0);
        if (x.type == BUS_EXT_FORGOTTEN_NODE) {
            assert_memory_equal(x.name, N3, BUS_NAMELEN);
            assert_int_equal(x.ttl, 60);
        }
        if (x.type == 9)
            assert_memory_equal(x.payload, odd, 5);
        k++;
    }
    assert_int_equal(k, 5);
    /* the gossip wire form, field by field */
    const uint8_t *q = b.data + BUS_HDR_LEN;
    assert_memory_equal(q, N2, 40);
    assert_int_equal(q[43], 1000 & 0xff);
    assert_int_equal(q[94] << 8 | q[95], 7002);
    assert_int_equal(q[100] << 8 | q[101], 6379);
    bus_buf_deinit(&b);
}

static void test_header_wire_offsets(void **st)
{
    (void)st;
    bus_hdr_t h = sample_hdr();
    h.totlen = 0x11223344;
    h.count = 0x0506;
    h.extensions = 0x0708;
    h.pport = 0x090a;
    h.state = 1;
    h.mflags[0] = 4;
    memcpy(h.slaveof, N2, BUS_NAMELEN);
    uint8_t b[BUS_HDR_LEN];
    assert_int_equal(bus_msg_encode_header(b, &h, 0x0b0c), BUS_HDR_LEN);
    assert_memory_equal(b, "RCmb\x11\x22\x33\x44\x00\x01", 10);
    assert_int_equal(b[10] << 8 | b[11], 7001);
    assert_int_equal(b[12] << 8 | b[13], 0x0b0c);
    assert_int_equal(b[14] << 8 | b[15], 0x0506);
    assert_memory_equal(b + 16, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    assert_int_equal(b[31], 7);
    assert_memory_equal(b + 40, N1, 40);
    assert_int_equal(b[80 + 100 / 8], 0xf0); /* slots 100..103 are bits 4..7 */
    assert_memory_equal(b + 2128, N2, 40);
    assert_memory_equal(b + 2168, "10.0.0.1", 9);
    assert_int_equal(b[2214] << 8 | b[2215], 0x0708);
    assert_int_equal(b[2246] << 8 | b[2247], 0x090a);
    assert_int_equal(b[2248] << 8 | b[2249], 17001);
    assert_int_equal(b[2250] << 8 | b[2251], 17);
    assert_int_equal(b[2252], 1);
    assert_int_equal(b[2253], 4);
}

static void test_buf_growth(void **st)
{
    (void)st;
    uint8_t small[100];
    bus_buf_t b;
    bus_hdr_t h = sample_hdr();
    bus_buf_init(&b, small, sizeof small);
    assert_ptr_equal(bus_buf_reserve(&b, 50), small);
    assert_false(b.heap);
    bus_msg_build_fail(&b, &h, N2);
    assert_true(b.heap);
    bus_msg_build_update(&b, &h, 9, N3, h.myslots);
    static uint8_t big[100000];
    bus_msg_build_publish(&b, &h, BUS_TYPE_PUBLISH, "c", 1, big, sizeof big);
    assert_int_equal(b.len, BUS_FAIL_LEN + BUS_UPDATE_LEN + BUS_PUBLISH_MIN_LEN + 1 + sizeof big);
    /* the appended messages frame and decode one after another */
    size_t off = 0;
    int k = 0;
    while (off < b.len) {
        uint32_t t;
        bus_msg_t m;
        assert_int_equal(bus_msg_peek(b.data + off, b.len - off, &t), BUS_OK);
        decode_ok(b.data + off, t, &m);
        off += t;
        k++;
    }
    assert_int_equal(k, 3);
    bus_buf_deinit(&b);
    assert_null(b.data);
}

/* ---- random corruption --------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Flipped bytes never crash or overread (ASan): the result is BUS_ERR or a
 * decode whose gossip and extensions can all be walked and re-encoded. */
static void test_random_flips(void **st)
{
    (void)st;
    for (size_t i = 0; i < N_GOLDEN; i++) {
        size_t n;
        uint8_t *p = load_golden(golden_files[i], &n);
        int ok = 0;
        for (int iter = 0; iter < 3000; iter++) {
            uint8_t *c = malloc(n);
            memcpy(c, p, n);
            int flips = 1 + (int)(rnd() % 4);
            for (int f = 0; f < flips; f++) {
                /* bias towards the length/count/type fields and the data part */
                size_t pos = (rnd() & 1) ? rnd() % 16 : rnd() % n;
                if (rnd() % 3 == 0 && n > BUS_HDR_LEN)
                    pos = BUS_HDR_LEN + rnd() % (n - BUS_HDR_LEN);
                if (rnd() % 5 == 0)
                    pos = 2214 + rnd() % 42; /* extensions .. mflags */
                c[pos] ^= (uint8_t)(1u << (rnd() % 8));
            }
            bus_msg_t m;
            char err[128];
            int rc = bus_msg_decode(c, n, &m, err, sizeof err);
            assert_true(rc == BUS_OK || rc == BUS_ERR);
            if (rc == BUS_OK) {
                ok++;
                if (m.hdr.type < BUS_TYPE_COUNT) {
                    bus_buf_t b;
                    bus_buf_init(&b, NULL, 0);
                    size_t w = reencode(&b, &m);
                    if (m.hdr.type <= BUS_TYPE_MEET) /* strings are re-padded */
                        assert_true(w <= m.hdr.totlen + 8 * (size_t)m.u.ping.ext_count);
                    else
                        assert_int_equal(w, m.hdr.totlen);
                    bus_buf_deinit(&b);
                }
            }
            free(c);
        }
        assert_true(ok > 0);
        free(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_meet),
        cmocka_unit_test(test_golden_pong_hostname),
        cmocka_unit_test(test_golden_ping_gossip),
        cmocka_unit_test(test_golden_ping_from_replica),
        cmocka_unit_test(test_golden_failure_flags),
        cmocka_unit_test(test_golden_manual_failover),
        cmocka_unit_test(test_golden_publish_update),
        cmocka_unit_test(test_golden_reencode),
        cmocka_unit_test(test_peek),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_length_rules),
        cmocka_unit_test(test_publish_overflow),
        cmocka_unit_test(test_extension_rules),
        cmocka_unit_test(test_other_types),
        cmocka_unit_test(test_build_ping_all_extensions),
        cmocka_unit_test(test_header_wire_offsets),
        cmocka_unit_test(test_buf_growth),
        cmocka_unit_test(test_random_flips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
