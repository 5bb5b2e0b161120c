/*
 * test_nodes_conf.c — unit tests for the nodes.conf codec (nodes_conf.c) and its
 * file helpers (nodes_conf_io.c).
 *
 * The golden files under tests/unit/golden/nodes_conf/ were written by real
 * redis-server 7.0.15 nodes (see the README there): each parses, its fields match
 * the capture, and formatting it again gives back the same bytes. The error cases
 * mirror what Redis 7.0.15 refuses to load ("Unrecoverable error: corrupted
 * cluster config file."), checked by starting it on hand-made files; a few are
 * stricter than Redis and say so. Run from the repository root.
 */
/* SOURCES: src/cluster/nodes_conf.c src/cluster/nodes_conf_io.c src/lib/mem.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/nodes_conf.h"
#include "cluster/nodes_conf_io.h"
#include "lib/mem.h"

#define N1 "639c3b5029455a184b781a1cb0a8bc2cb07a46ea"
#define N2 "b9e0dbe7a8c81479ffc464cf49a59ea6fe26095e"
#define N3 "5a680c86aadecab1f826f7719ec2fb4a5004b2c1"
#define N4 "8e3b955e2fceb986c7ab640b943a3b84afc534c9"

static const char *golden_confs[] = {
    "fresh.conf",      "master_hostname.conf",     "replica.conf",
    "migrating.conf",  "migrating_importing.conf", "after_failover.conf",
    "with_fail.conf",  "nofailover.conf",          "disconnected.conf",
    "slot_holes.conf",
};
#define N_CONFS (sizeof golden_confs / sizeof golden_confs[0])

static char *load(const char *name, size_t *len)
{
    const char *dir = getenv("TESSERA_GOLDEN");
    char path[512], err[256];
    char *buf;
    snprintf(path, sizeof path, "%s/nodes_conf/%s", dir ? dir : "tests/unit/golden", name);
    if (nodes_conf_read_file(path, &buf, len, err, sizeof err) != 0)
        fail_msg("cannot read %s (run from the repository root): %s", path, err);
    return buf;
}

static void parse_ok(const char *buf, size_t len, nodes_conf_t *c)
{
    nodes_conf_err_t e;
    if (nodes_conf_parse(buf, len, c, &e) != NODES_CONF_OK)
        fail_msg("parse failed at line %u: %s", e.line, e.msg);
}

static const nodes_conf_node_t *find(const nodes_conf_t *c, const char *id)
{
    for (size_t i = 0; i < c->n_nodes; i++)
        if (strcmp(c->nodes[i].id, id) == 0)
            return &c->nodes[i];
    fail_msg("node %s not found", id);
    return NULL;
}

static int slots_are(const uint8_t *bm, unsigned lo, unsigned hi)
{
    for (unsigned s = 0; s < BUS_SLOTS; s++)
        if (bus_slot_test(bm, s) != (s >= lo && s <= hi))
            return 0;
    return 1;
}

/* ---- golden files --------------------------------------------------------- */

static void test_golden_roundtrip(void **st)
{
    (void)st;
    for (size_t i = 0; i < N_CONFS; i++) {
        size_t len, olen;
        char *buf = load(golden_confs[i], &len);
        nodes_conf_t c;
        parse_ok(buf, len, &c);
        assert_true(c.has_vars);
        char *out = nodes_conf_format_file(&c, &olen);
        if (olen != len || memcmp(out, buf, len) != 0)
            fail_msg("%s: formatted file differs:\n%s---\n%s", golden_confs[i], out, buf);
        mem_free(out);
        nodes_conf_free(&c);
        mem_free(buf);
    }
}

static void test_golden_fields(void **st)
{
    (void)st;
    size_t len;
    nodes_conf_t c;
    char *buf = load("fresh.conf", &len);
    parse_ok(buf, len, &c);
    assert_int_equal(c.n_nodes, 1);
    assert_string_equal(c.nodes[0].id, N1);
    assert_string_equal(c.nodes[0].ip, "");
    assert_int_equal(c.nodes[0].port, 0);
    assert_int_equal(c.nodes[0].cport, 0);
    assert_int_equal(c.nodes[0].flags, BUS_NODE_MYSELF | BUS_NODE_MASTER);
    assert_int_equal(c.nodes[0].num_slots, 0);
    assert_int_equal(c.current_epoch, 0);
    nodes_conf_free(&c);
    mem_free(buf);

    buf = load("master_hostname.conf", &len);
    parse_ok(buf, len, &c);
    assert_int_equal(c.n_nodes, 4);
    assert_int_equal(c.myself, 3);
    const nodes_conf_node_t *me = &c.nodes[c.myself];
    assert_string_equal(me->id, N1);
    assert_string_equal(me->ip, "127.0.0.1");
    assert_int_equal(me->port, 21431);
    assert_int_equal(me->cport, 21441);
    assert_string_equal(me->hostname, "node-one.example");
    assert_int_equal(me->num_slots, 5461);
    assert_true(slots_are(me->slots, 0, 5460));
    assert_int_equal(me->config_epoch, 1);
    assert_true(me->connected);
    const nodes_conf_node_t *r = find(&c, N4);
    assert_int_equal(r->flags, BUS_NODE_SLAVE);
    assert_string_equal(r->master, N1);
    assert_null(r->hostname);
    assert_int_equal(r->pong_recv, 1795604577339ull);
    assert_true(slots_are(find(&c, N3)->slots, 10923, 16383));
    assert_int_equal(c.current_epoch, 3);
    assert_int_equal(c.last_vote_epoch, 0);
    nodes_conf_free(&c);
    mem_free(buf);

    buf = load("migrating.conf", &len);
    parse_ok(buf, len, &c);
    me = &c.nodes[c.myself];
    assert_int_equal(me->n_migrating, 2);
    assert_int_equal(me->migrating[0].slot, 100);
    assert_string_equal(me->migrating[0].node, N2);
    assert_int_equal(me->migrating[1].slot, 101);
    assert_string_equal(me->migrating[1].node, N3);
    assert_int_equal(me->n_importing, 1);
    assert_int_equal(me->importing[0].slot, 5461);
    assert_string_equal(me->importing[0].node, N2);
    nodes_conf_free(&c);
    mem_free(buf);

    buf = load("disconnected.conf", &len);
    parse_ok(buf, len, &c);
    const nodes_conf_node_t *dead = find(&c, N3);
    assert_int_equal(dead->flags, BUS_NODE_MASTER | BUS_NODE_FAIL);
    assert_false(dead->connected);
    assert_int_equal(dead->ping_sent, 1795604656641ull);
    assert_int_equal(find(&c, N4)->flags, BUS_NODE_SLAVE | BUS_NODE_NOFAILOVER);
    assert_int_equal(c.last_vote_epoch, 4);
    nodes_conf_free(&c);
    mem_free(buf);

    buf = load("slot_holes.conf", &len);
    parse_ok(buf, len, &c);
    me = &c.nodes[c.myself];
    assert_int_equal(me->num_slots, 5458);
    assert_false(bus_slot_test(me->slots, 100));
    assert_true(bus_slot_test(me->slots, 101));
    assert_false(bus_slot_test(me->slots, 102));
    assert_false(bus_slot_test(me->slots, 5460));
    nodes_conf_free(&c);
    mem_free(buf);
}

/* CLUSTER NODES output (with a node in handshake, which the file omits, and
 * migration markers) is the same line format; no vars line there. */
static void test_cluster_nodes_lines(void **st)
{
    (void)st;
    const char *names[] = {"cluster_nodes_handshake.txt", "cluster_nodes_migrating.txt"};
    for (size_t i = 0; i < 2; i++) {
        size_t len;
        char *buf = load(names[i], &len);
        nodes_conf_t c;
        parse_ok(buf, len, &c);
        assert_false(c.has_vars);
        char *out = mem_alloc(len + 1);
        size_t off = 0;
        for (size_t j = 0; j < c.n_nodes; j++)
            off += nodes_conf_format_node(out + off, len + 1 - off, &c.nodes[j], 0);
        assert_int_equal(off, len);
        assert_memory_equal(out, buf, len);
        if (i == 0) {
            assert_int_equal(c.nodes[0].flags, BUS_NODE_HANDSHAKE);
            assert_false(c.nodes[0].connected);
        }
        mem_free(out);
        nodes_conf_free(&c);
        mem_free(buf);
    }
}

/* ---- what Redis 7.0.15 accepts -------------------------------------------- */

#define ME N1 " 127.0.0.1:7000@17000 myself,master - 0 0 1 connected"

static void test_accepted_forms(void **st)
{
    (void)st;
    nodes_conf_t c;
    nodes_conf_err_t e;
    /* zero-length file: no config, start fresh */
    assert_int_equal(nodes_conf_parse("", 0, &c, &e), NODES_CONF_OK);
    assert_int_equal(c.n_nodes, 0);
    nodes_conf_free(&c);
    /* no vars line: epochs stay 0 (Redis loads it) */
    const char *s = ME " 0-10\n";
    parse_ok(s, strlen(s), &c);
    assert_false(c.has_vars);
    assert_int_equal(c.nodes[0].num_slots, 11);
    nodes_conf_free(&c);
    /* unknown vars are skipped; names are case-insensitive; last line w/o '\n' */
    s = "\n" ME "\n\nVARS currentepoch 7 foo 3 lastVoteEpoch 2";
    parse_ok(s, strlen(s), &c);
    assert_int_equal(c.current_epoch, 7);
    assert_int_equal(c.last_vote_epoch, 2);
    assert_int_equal(c.unknown_vars, 1);
    nodes_conf_free(&c);
    /* no "@cport": Redis assumes port + 10000 */
    s = N1 " 127.0.0.1:7000 myself,master - 0 0 1 connected\n";
    parse_ok(s, strlen(s), &c);
    assert_int_equal(c.nodes[0].cport, 17000);
    nodes_conf_free(&c);
    /* CRLF line ends and tabs, IPv6 addresses, noflags, empty hostname */
    s = N1 "\t::1:7000@17000, myself,master - 0 0 1 connected 5\r\n" N2
           " 2001:db8::1:7001@17001 noflags - 0 0 0 disconnected\r\n";
    parse_ok(s, strlen(s), &c);
    assert_string_equal(c.nodes[0].ip, "::1");
    assert_null(c.nodes[0].hostname);
    assert_string_equal(c.nodes[1].ip, "2001:db8::1");
    assert_int_equal(c.nodes[1].flags, 0);
    char line[256];
    nodes_conf_format_node(line, sizeof line, &c.nodes[1], 1);
    assert_string_equal(line, N2 " 2001:db8::1:7001@17001 noflags - 0 0 0 disconnected\n");
    nodes_conf_free(&c);
}

/* ---- what is refused, with the line ---------------------------------------- */

typedef struct bad_s {
    const char *text;
    unsigned line;
    const char *reason; /* substring of the message */
} bad_t;

static void test_errors(void **st)
{
    (void)st;
    static const bad_t bad[] = {
        /* Redis 7.0.15 refuses these too */
        {"\n\n", 0, "myself"},
        {N1 " 127.0.0.1:7000@17000 master - 0 0 1 connected\nvars currentEpoch 1 lastVoteEpoch 0\n",
         0, "myself"},
        {"vars currentEpoch 1 lastVoteEpoch 0\n", 0, "myself"},
        {ME "\nvars currentEpoch 1 lastVoteEpoch\n", 2, "pairs"},
        {N1 " 127.0.0.1:7000@17000 myself,master - 0 0 1\n", 1, "at least 8"},
        {"639c3 127.0.0.1:7000@17000 myself,master - 0 0 1 connected\n", 1, "node id"},
        {ME " 16384\n", 1, "bad slot"},
        {ME " 0-16384\n", 1, "bad slot"},
        {N1 " 127.0.0.1 myself,master - 0 0 1 connected\n", 1, "no ':'"},
        {N1 " 127.0.0.1:7000@17000 myself,master,bogus - 0 0 1 connected\n", 1,
         "unknown flag 'bogus'"},
        {ME "\n" N1 " 127.0.0.1:7001@17001 master - 0 0 1 connected\n", 2, "duplicate node"},
        {ME "\n" N2 " 127.0.0.1:7001@17001 myself,master - 0 0 1 connected\n", 2, "second"},
        {ME " [16384->-" N2 "]\n", 1, "migration marker"},
        /* stricter than Redis (which reads these with atoi or ignores them) */
        {ME " 1x\n", 1, "bad slot"},
        {ME " -1\n", 1, "bad slot"},
        {ME " 10-5\n", 1, "reversed"},
        {ME " 5-\n", 1, "bad slot"},
        {ME " [5->-" N2 "\n", 1, "malformed migration"},
        {ME " [5-=-" N2 "]\n", 1, "malformed migration"},
        {ME " [5->-" N2 "] [5->-" N3 "]\n", 1, "duplicate migration"},
        {ME " [x->-" N2 "]\n", 1, "bad slot in migration"},
        {N1 " 127.0.0.1:70000@17000 myself,master - 0 0 1 connected\n", 1, "bad port"},
        {N1 " 127.0.0.1:7000@x myself,master - 0 0 1 connected\n", 1, "bus port"},
        {N1 " 127.0.0.1:@17000 myself,master - 0 0 1 connected\n", 1, "bad port"},
        {N1 " 127.0.0.1:60000 myself,master - 0 0 1 connected\n", 1, "port + 10000"},
        {N1 " 127.0.0.1:7000@17000 myself,,master - 0 0 1 connected\n", 1, "unknown flag ''"},
        {N1 " 127.0.0.1:7000@17000 myself,master xyz 0 0 1 connected\n", 1, "master id"},
        {N1 " 127.0.0.1:7000@17000 myself,master - a 0 1 connected\n", 1, "ping/pong"},
        {N1 " 127.0.0.1:7000@17000 myself,master - 0 0 -1 connected\n", 1, "config epoch"},
        {N1 " 127.0.0.1:7000@17000 myself,master - 0 0 1 up\n", 1, "link state"},
        {ME "\n  \nvars currentEpoch 1 lastVoteEpoch 0\n", 2, "white space"},
        {ME "\nvars currentEpoch x lastVoteEpoch 0\n", 2, "currentEpoch"},
        {ME "\nvars currentEpoch 1 lastVoteEpoch 99999999999999999999\n", 2, "lastVoteEpoch"},
        {"\n\n" ME "\n" N2 " 127.0.0.1:7001@17001 master - 0 0 1\n", 4, "at least 8"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nodes_conf_t c;
        nodes_conf_err_t e;
        int rc = nodes_conf_parse(bad[i].text, strlen(bad[i].text), &c, &e);
        if (rc != NODES_CONF_ERR)
            fail_msg("case %zu accepted: %s", i, bad[i].text);
        if (e.line != bad[i].line || !strstr(e.msg, bad[i].reason))
            fail_msg("case %zu: got line %u '%s', want line %u '%s'", i, e.line, e.msg, bad[i].line,
                     bad[i].reason);
        assert_int_equal(c.n_nodes, 0);
        assert_null(c.nodes);
        nodes_conf_free(&c);
    }
}

/* Cutting a real file anywhere either still parses (the cut fell between
 * fields a line can end at) or names a line; never crashes. */
static void test_truncated_files(void **st)
{
    (void)st;
    size_t len;
    char *buf = load("migrating.conf", &len);
    unsigned errors = 0;
    for (size_t n = 1; n < len; n++) {
        char *c = malloc(n);
        memcpy(c, buf, n);
        nodes_conf_t conf;
        nodes_conf_err_t e;
        if (nodes_conf_parse(c, n, &conf, &e) == NODES_CONF_ERR) {
            errors++;
            assert_true(e.msg[0] != '\0');
        }
        nodes_conf_free(&conf);
        free(c);
    }
    assert_true(errors > len / 2);
    mem_free(buf);
}

/* ---- formatter ----------------------------------------------------------- */

static void test_format(void **st)
{
    (void)st;
    nodes_conf_node_t n;
    memset(&n, 0, sizeof n);
    strcpy(n.id, N1);
    strcpy(n.ip, "10.1.2.3");
    n.port = 6379;
    n.cport = 16379;
    n.flags = BUS_NODE_MYSELF | BUS_NODE_MASTER | BUS_NODE_PFAIL | BUS_NODE_NOADDR;
    n.config_epoch = 18446744073709551615ull;
    bus_slot_set(n.slots, 0);
    bus_slot_set(n.slots, 2);
    bus_slot_set(n.slots, 3);
    bus_slot_set(n.slots, 16383);
    nodes_conf_mig_t mig[2] = {{900, N3}, {7, N2}};
    nodes_conf_mig_t imp[2] = {{900, N4}, {3, N4}};
    n.migrating = mig;
    n.n_migrating = 2;
    n.importing = imp;
    n.n_importing = 2;
    char want[512];
    snprintf(want, sizeof want,
             "%s 10.1.2.3:6379@16379 myself,master,fail?,noaddr - 0 0 18446744073709551615 "
             "disconnected 0 2-3 16383 [3-<-%s] [7->-%s] [900->-%s]\n",
             N1, N4, N2, N3);
    char line[512];
    size_t full = nodes_conf_format_node(line, sizeof line, &n, 0);
    assert_string_equal(line, want);
    assert_int_equal(full, strlen(want));
    /* snprintf-style truncation */
    char small[20];
    assert_int_equal(nodes_conf_format_node(small, sizeof small, &n, 1), full);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_memory_equal(small, want, sizeof small - 1);
    assert_int_equal(nodes_conf_format_node(NULL, 0, &n, 1), full);
    /* flags */
    char f[64];
    assert_int_equal(nodes_conf_format_flags(f, sizeof f, 0), 7);
    assert_string_equal(f, "noflags");
    nodes_conf_format_flags(f, sizeof f,
                            BUS_NODE_SLAVE | BUS_NODE_FAIL | BUS_NODE_HANDSHAKE |
                                BUS_NODE_NOFAILOVER | BUS_NODE_MEET);
    assert_string_equal(f, "slave,fail,handshake,nofailover");
    char v[64];
    nodes_conf_format_vars(v, sizeof v, 12, 11);
    assert_string_equal(v, "vars currentEpoch 12 lastVoteEpoch 11\n");
    /* every slot: one range; every other slot: 8192 singles */
    nodes_conf_node_t m;
    memset(&m, 0, sizeof m);
    strcpy(m.id, N2);
    m.flags = BUS_NODE_MYSELF | BUS_NODE_MASTER;
    for (unsigned s = 0; s < BUS_SLOTS; s += 2)
        bus_slot_set(m.slots, s);
    size_t need = nodes_conf_format_node(NULL, 0, &m, 1);
    char *big = mem_alloc(need + 1);
    assert_int_equal(nodes_conf_format_node(big, need + 1, &m, 1), need);
    nodes_conf_t c;
    parse_ok(big, need, &c);
    assert_int_equal(c.nodes[0].num_slots, 8192);
    assert_memory_equal(c.nodes[0].slots, m.slots, BUS_SLOT_BYTES);
    nodes_conf_free(&c);
    mem_free(big);
    /* random runs of 1..40 slots, set or clear, crossing byte edges anywhere
     * (the formatter skips whole bytes): the file reads back the same bitmap */
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (int round = 0; round < 50; round++) {
        memset(m.slots, 0, sizeof m.slots);
        int count = 0;
        for (unsigned s = 0; s < BUS_SLOTS;) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            unsigned run = 1 + (unsigned)((seed >> 33) % 40), on = (unsigned)(seed >> 62) & 1;
            for (unsigned k = 0; k < run && s < BUS_SLOTS; k++, s++)
                if (on) {
                    bus_slot_set(m.slots, s);
                    count++;
                }
        }
        need = nodes_conf_format_node(NULL, 0, &m, 1);
        big = mem_alloc(need + 1);
        nodes_conf_format_node(big, need + 1, &m, 1);
        parse_ok(big, need, &c);
        assert_int_equal(c.nodes[0].num_slots, count);
        assert_memory_equal(c.nodes[0].slots, m.slots, BUS_SLOT_BYTES);
        nodes_conf_free(&c);
        mem_free(big);
    }
}

/* ---- file helpers ---------------------------------------------------------- */

static void test_lock_and_save(void **st)
{
    (void)st;
    char dir[] = "/tmp/test_nodes_conf_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], err[512];
    snprintf(path, sizeof path, "%s/nodes.conf", dir);
    char *buf;
    size_t len;
    assert_int_equal(nodes_conf_read_file(path, &buf, &len, err, sizeof err), 1);
    assert_null(buf);
    int fd = -1, fd2 = -1;
    assert_int_equal(nodes_conf_lock(path, &fd, err, sizeof err), 0);
    /* the lock creates an empty file: a fresh node */
    assert_int_equal(nodes_conf_read_file(path, &buf, &len, err, sizeof err), 0);
    assert_int_equal(len, 0);
    mem_free(buf);
    /* a second locker (another open file description) is refused, Redis's text */
    assert_int_equal(nodes_conf_lock(path, &fd2, err, sizeof err), -1);
    char want[512];
    snprintf(want, sizeof want,
             "Sorry, the cluster configuration file %s is already used by a different Redis "
             "Cluster node. Please make sure that different nodes use different cluster "
             "configuration files.",
             path);
    assert_string_equal(err, want);
    /* saving moves the lock to the new inode: the path stays locked */
    const char *data = ME "\nvars currentEpoch 1 lastVoteEpoch 0\n";
    struct stat before, after;
    assert_int_equal(stat(path, &before), 0);
    assert_int_equal(nodes_conf_save_locked(path, data, strlen(data), 1, &fd, err, sizeof err), 0);
    assert_int_equal(stat(path, &after), 0);
    assert_true(before.st_ino != after.st_ino);
    assert_int_equal(nodes_conf_lock(path, &fd2, err, sizeof err), -1);
    assert_non_null(strstr(err, "already used"));
    assert_int_equal(nodes_conf_read_file(path, &buf, &len, err, sizeof err), 0);
    assert_int_equal(len, strlen(data));
    assert_memory_equal(buf, data, len);
    mem_free(buf);
    /* a shorter second save: exact content (the reused temp is cut to length),
     * the first file's inode is back in place, the path is still locked */
    const char *shorter = ME "\n";
    assert_int_equal(
        nodes_conf_save_locked(path, shorter, strlen(shorter), 0, &fd, err, sizeof err), 0);
    assert_int_equal(nodes_conf_read_file(path, &buf, &len, err, sizeof err), 0);
    assert_int_equal(len, strlen(shorter));
    assert_memory_equal(buf, shorter, len);
    mem_free(buf);
    struct stat again;
    assert_int_equal(stat(path, &again), 0);
    assert_true(again.st_ino == before.st_ino);
    assert_int_equal(nodes_conf_lock(path, &fd2, err, sizeof err), -1);
    char fixed_tmp[160];
    snprintf(fixed_tmp, sizeof fixed_tmp, "%s/.nodes.conf.tmp", dir);
    assert_int_equal(nodes_conf_read_file(fixed_tmp, &buf, &len, err, sizeof err), 0);
    assert_int_equal(len, strlen(data)); /* the previous content, kept at the temp name */
    mem_free(buf);
    /* plain atomic write; then, with the lock released, locking works again */
    assert_int_equal(nodes_conf_write_atomic(path, "x\n", 2, err, sizeof err), 0);
    assert_int_equal(nodes_conf_read_file(path, &buf, &len, err, sizeof err), 0);
    assert_int_equal(len, 2);
    mem_free(buf);
    close(fd);
    assert_int_equal(nodes_conf_lock(path, &fd2, err, sizeof err), 0);
    close(fd2);
    /* failures name the step and leave no temp file behind */
    assert_int_equal(
        nodes_conf_write_atomic("/nonexistent-dir-xyz/nodes.conf", "x", 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "temp"));
    char sub[160];
    snprintf(sub, sizeof sub, "%s/adir", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(nodes_conf_write_atomic(sub, "x", 1, err, sizeof err), -1); /* rename */
    assert_non_null(strstr(err, "rename"));
    char tmp[200];
    snprintf(tmp, sizeof tmp, "%s/.adir.tmp-%ld", dir, (long)getpid());
    assert_int_not_equal(access(tmp, F_OK), 0);
    assert_int_equal(nodes_conf_lock(sub, &fd2, err, sizeof err), -1);
    assert_non_null(strstr(err, "in order to acquire a lock"));
    rmdir(sub);
    unlink(path);
    unlink(fixed_tmp);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_roundtrip),
        cmocka_unit_test(test_golden_fields),
        cmocka_unit_test(test_cluster_nodes_lines),
        cmocka_unit_test(test_accepted_forms),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_truncated_files),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_lock_and_save),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
