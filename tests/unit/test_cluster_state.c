/*
 * test_cluster_state.c — unit tests for the cluster state machine (cluster_*.c).
 *
 * The multi-node simulator (cluster_sim.h) runs N in-memory nodes with an
 * injected clock and fixed-seed randomness, delivering the real encoded bytes.
 * Elections, manual failover and replica migration: test_cluster_failover.c.
 * Error texts were checked against a real redis-server 7.0.15 in cluster mode.
 */
/* SOURCES: src/cluster/cluster_state.c src/cluster/cluster_msg.c src/cluster/cluster_gossip.c src/cluster/cluster_fail.c src/cluster/cluster_cmd.c src/cluster/cluster_conf.c src/cluster/cluster_failover.c src/cluster/cluster_election.c src/cluster/cluster_mf.c src/cluster/bus_msg.c src/cluster/nodes_conf.c src/lib/dict.c src/lib/mem.c src/lib/log.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/bus_msg.h"
#include "cluster/cluster.h"
#include "cluster/nodes_conf.h"
#include "lib/log.h"
#include "lib/mem.h"

#include "cluster_sim.h"

/* ---- tests ------------------------------------------------------------------------ */

static void test_fresh_node(void **st)
{
    (void)st;
    sim_init(1);
    cnode_t *me = cluster_myself(S.c[0]);
    assert_int_equal(strlen(me->name), 40);
    assert_true(nodes_conf_valid_id(me->name, 40));
    assert_int_equal(me->flags, BUS_NODE_MYSELF | BUS_NODE_MASTER);
    assert_true(cluster_todo_take(S.c[0]) & CLUSTER_TODO_SAVE);
    char *info;
    size_t len = cluster_info_text(S.c[0], &info);
    const char *want = "cluster_state:fail\r\ncluster_slots_assigned:0\r\ncluster_slots_ok:0\r\n"
                       "cluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:1\r\n"
                       "cluster_size:1\r\ncluster_current_epoch:0\r\ncluster_my_epoch:0\r\n"
                       "cluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\n"
                       "total_cluster_links_buffer_limit_exceeded:0\r\n";
    assert_int_equal(len, strlen(want));
    assert_string_equal(info, want);
    mem_free(info);
    char *nodes;
    len = cluster_nodes_text(S.c[0], &nodes, S.now, 0);
    char line[256];
    snprintf(line, sizeof line, "%s :7000@17000 myself,master - 0 0 0 connected\n", me->name);
    assert_string_equal(nodes, line);
    mem_free(nodes);
    sim_free();
}

static void test_meet_join_converges(void **st)
{
    (void)st;
    sim_init(6);
    uint64_t took = sim_join();
    assert_true(took <= 10000);
    for (int i = 0; i < 6; i++) {
        assert_string_equal(cluster_myself(S.c[i])->ip, "127.0.0.1");
        for (int j = 0; j < 6; j++) {
            cnode_t *n = view(i, j);
            assert_int_equal(n->port, 7000 + j);
            assert_int_equal(n->cport, 17000 + j);
            assert_true(cnode_is_master(n));
            assert_false(n->flags & (BUS_NODE_PFAIL | BUS_NODE_FAIL | BUS_NODE_MEET));
        }
    }
    /* everyone keeps talking: no node ever times out in a healthy cluster */
    sim_run_ms(3 * TIMEOUT);
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)
            assert_false(view(i, j)->flags & (BUS_NODE_PFAIL | BUS_NODE_FAIL));
    assert_true(cluster_stats_sent(S.c[0], BUS_TYPE_MEET) >= 5);
    assert_true(cluster_stats_received(S.c[1], BUS_TYPE_MEET) >= 1);
    sim_free();
}

static void test_slots_propagate_and_state_ok(void **st)
{
    (void)st;
    sim_cluster_3x2();
    for (int i = 0; i < 6; i++) {
        cluster_t *c = S.c[i];
        assert_ptr_equal(cluster_slot_owner(c, 0), view(i, 0));
        assert_ptr_equal(cluster_slot_owner(c, 5461), view(i, 1));
        assert_ptr_equal(cluster_slot_owner(c, 16383), view(i, 2));
        assert_int_equal(view(i, 0)->num_slots, 5461);
        for (int r = 3; r < 6; r++) {
            assert_true(cnode_is_replica(view(i, r)));
            assert_ptr_equal(view(i, r)->master, view(i, r - 3));
        }
        assert_true(cluster_state_ok(c));
        assert_int_equal(cluster_size(c), 3);
    }
    /* CLUSTER NODES of a replica prints its master's epoch and no slots */
    char *line;
    cluster_node_line(S.c[0], view(0, 3), &line);
    char want[256];
    snprintf(want, sizeof want, "%s 127.0.0.1:7003@17003 slave %s ", myname(3), myname(0));
    assert_memory_equal(line, want, strlen(want));
    assert_non_null(strstr(line, " 1 connected\n"));
    mem_free(line);
    sim_free();
}

/* A master that stops answering: PFAIL after node_timeout, FAIL on majority,
 * cleared 2 x node_timeout after FAIL when it answers again with its slots. */
static void test_pfail_fail_and_clear(void **st)
{
    (void)st;
    sim_cluster_3x2();
    S.frozen[2] = 1;
    uint64_t t0 = S.now;
    int pfail_seen = 0;
    for (int k = 0; k < 100 && !(view(0, 2)->flags & BUS_NODE_FAIL); k++) {
        sim_step();
        if (view(0, 2)->flags & BUS_NODE_PFAIL) {
            if (!pfail_seen)
                assert_true(S.now - t0 > TIMEOUT);
            pfail_seen = 1;
        }
    }
    assert_true(pfail_seen);
    assert_true(view(0, 2)->flags & BUS_NODE_FAIL);
    assert_true(S.now - t0 <= 3 * TIMEOUT);
    sim_run_ms(1000); /* the FAIL broadcast reaches everyone */
    for (int i = 0; i < 6; i++) {
        if (i == 2)
            continue;
        assert_true(view(i, 2)->flags & BUS_NODE_FAIL);
        assert_false(view(i, 2)->flags & BUS_NODE_PFAIL);
        assert_false(cluster_state_ok(S.c[i]));
    }
    char *info;
    cluster_info_text(S.c[0], &info);
    assert_non_null(strstr(info, "cluster_slots_fail:5461\r\n"));
    mem_free(info);
    S.frozen[2] = 0;
    sim_run_ms(2 * TIMEOUT + 2000);
    for (int i = 0; i < 6; i++) {
        assert_false(view(i, 2)->flags & (BUS_NODE_FAIL | BUS_NODE_PFAIL));
        assert_true(cluster_state_ok(S.c[i]));
    }
    sim_free();
}

/* A replica killed and restarted (same id, same address): FAIL clears at once. */
static void test_replica_fail_cleared_on_return(void **st)
{
    (void)st;
    sim_cluster_3x2();
    size_t len;
    char *conf = cluster_serialize(S.c[4], &len);
    sim_kill(4);
    sim_run_ms(3 * TIMEOUT);
    for (int i = 0; i < 6; i++)
        if (i != 4)
            assert_true(view(i, 4)->flags & BUS_NODE_FAIL);
    /* restart from its nodes.conf */
    cluster_free(S.c[4]);
    cluster_cfg_t g = sim_cfg(4);
    S.c[4] = cluster_new(&g, test_rnd, S.now);
    char err[256];
    assert_int_equal(cluster_load(S.c[4], conf, len, S.now, err, sizeof err), 0);
    mem_free(conf);
    S.dead[4] = 0;
    sim_run_ms(2000);
    for (int i = 0; i < 6; i++) {
        assert_false(view(i, 4)->flags & (BUS_NODE_FAIL | BUS_NODE_PFAIL));
        assert_ptr_equal(view(i, 4)->master, view(i, 1));
    }
    sim_free();
}

static void test_config_epoch_collision(void **st)
{
    (void)st;
    char err[256];
    sim_init(3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(cluster_set_config_epoch(S.c[i], 5, err, sizeof err), 0);
    sim_join();
    sim_run_ms(3000);
    uint64_t e[3];
    for (int i = 0; i < 3; i++) {
        e[i] = cluster_myself(S.c[i])->config_epoch;
        for (int j = 0; j < 3; j++)
            assert_int_equal(view(j, i)->config_epoch, e[i]);
    }
    assert_true(e[0] != e[1] && e[1] != e[2] && e[0] != e[2]);
    /* the node with the greatest id never had to move */
    int maxi = 0;
    for (int i = 1; i < 3; i++)
        if (strcmp(myname(i), myname(maxi)) > 0)
            maxi = i;
    assert_int_equal(e[maxi], 5);
    sim_free();
}

/* A master partitioned away while its slot moves elsewhere gets an UPDATE when
 * it comes back with its stale claim, and gives the slot up. */
static void test_update_fixes_stale_claim(void **st)
{
    (void)st;
    char err[256];
    sim_cluster_3x2();
    S.frozen[0] = 1;
    assert_int_equal(cluster_setslot(S.c[1], 0, CLUSTER_SETSLOT_NODE, myname(1), CLUSTER_NAMELEN,
                                     0, err, sizeof err),
                     0);
    int bumped = 0;
    cluster_bump_epoch(S.c[1], &bumped);
    assert_true(bumped);
    uint64_t e1 = cluster_myself(S.c[1])->config_epoch;
    assert_true(e1 > view(1, 0)->config_epoch);
    sim_run_ms(1000);
    for (int i = 1; i < 6; i++)
        assert_ptr_equal(cluster_slot_owner(S.c[i], 0), view(i, 1));
    assert_ptr_equal(cluster_slot_owner(S.c[0], 0), cluster_myself(S.c[0]));
    uint64_t updates = cluster_stats_received(S.c[0], BUS_TYPE_UPDATE);
    S.frozen[0] = 0;
    sim_run_ms(2000);
    assert_true(cluster_stats_received(S.c[0], BUS_TYPE_UPDATE) > updates);
    assert_ptr_equal(cluster_slot_owner(S.c[0], 0), view(0, 1));
    assert_ptr_equal(cluster_slot_owner(S.c[0], 1), cluster_myself(S.c[0]));
    assert_int_equal(view(0, 1)->config_epoch, e1);
    assert_int_equal(cluster_myself(S.c[0])->num_slots, 5460);
    for (int i = 0; i < 6; i++)
        assert_int_equal(view(i, 0)->num_slots, 5460);
    sim_free();
}

static void test_handshake_timeout(void **st)
{
    (void)st;
    char err[256];
    sim_init(1);
    assert_int_equal(cluster_meet(S.c[0], "127.0.0.1", 7099, 17099, err, sizeof err, S.now), 0);
    /* a second MEET to the same address while the handshake runs is a no-op */
    assert_int_equal(cluster_meet(S.c[0], "127.0.0.1", 7099, 0, err, sizeof err, S.now), 0);
    assert_int_equal(cluster_node_count(S.c[0]), 2);
    char *nodes;
    cluster_nodes_text(S.c[0], &nodes, S.now, 0);
    assert_non_null(strstr(nodes, " 127.0.0.1:7099@17099 handshake - 0 0 0 disconnected\n"));
    mem_free(nodes);
    size_t len;
    char *conf = cluster_serialize(S.c[0], &len);
    assert_null(strstr(conf, "handshake")); /* never saved */
    mem_free(conf);
    sim_run_ms(TIMEOUT - 100);
    assert_int_equal(cluster_node_count(S.c[0]), 2);
    sim_run_ms(300);
    assert_int_equal(cluster_node_count(S.c[0]), 1);
    sim_free();
}

static int conf_node_cmp(const void *a, const void *b)
{
    return strcmp(((const nodes_conf_node_t *)a)->id, ((const nodes_conf_node_t *)b)->id);
}

/* Normalizes nodes.conf text for comparison: ping/pong stamps, link state, and
 * the order of the lines (Redis writes them in hash table order). */
static char *conf_norm(const char *text, size_t len)
{
    nodes_conf_t conf;
    nodes_conf_err_t e;
    assert_int_equal(nodes_conf_parse(text, len, &conf, &e), NODES_CONF_OK);
    for (size_t i = 0; i < conf.n_nodes; i++) {
        conf.nodes[i].ping_sent = conf.nodes[i].pong_recv = 0;
        conf.nodes[i].connected = 1; /* links come back after a load */
    }
    qsort(conf.nodes, conf.n_nodes, sizeof *conf.nodes, conf_node_cmp);
    size_t n;
    char *out = nodes_conf_format_file(&conf, &n);
    nodes_conf_free(&conf);
    return out;
}

static void test_nodes_conf_round_trip(void **st)
{
    (void)st;
    char err[256];
    sim_cluster_3x2();
    assert_int_equal(cluster_setslot(S.c[0], 7, CLUSTER_SETSLOT_MIGRATING, myname(1), 40, 0, err,
                                     sizeof err),
                     0);
    assert_int_equal(cluster_setslot(S.c[0], 6000, CLUSTER_SETSLOT_IMPORTING, myname(1), 40, 0,
                                     err, sizeof err),
                     0);
    size_t len, len2;
    char *conf = cluster_serialize(S.c[0], &len);
    assert_non_null(strstr(conf, "[7->-"));
    assert_non_null(strstr(conf, "[6000-<-"));
    cluster_cfg_t g = sim_cfg(0);
    cluster_t *c = cluster_new(&g, test_rnd, S.now + 5000);
    assert_int_equal(cluster_load(c, conf, len, S.now + 5000, err, sizeof err), 0);
    cluster_validate(c);
    char *conf2 = cluster_serialize(c, &len2);
    char *a = conf_norm(conf, len), *b = conf_norm(conf2, len2);
    assert_string_equal(a, b);
    assert_string_equal(cluster_myself(c)->name, myname(0));
    assert_int_equal(cluster_current_epoch(c), cluster_current_epoch(S.c[0]));
    assert_ptr_equal(cluster_slot_migrating(c, 7), cluster_lookup(c, myname(1), 40));
    assert_ptr_equal(cluster_slot_importing(c, 6000), cluster_lookup(c, myname(1), 40));
    mem_free(a);
    mem_free(b);
    mem_free(conf);
    mem_free(conf2);
    cluster_free(c);
    sim_free();
}

/* nodes.conf files written by redis-server 7.0.15 load and save back identically
 * (but for the ping/pong stamps, which Redis also resets on load). */
static void test_load_golden_confs(void **st)
{
    (void)st;
    static const char *files[] = {"migrating_importing.conf", "replica.conf", "with_fail.conf",
                                  "after_failover.conf", "nofailover.conf", "fresh.conf"};
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        char path[256];
        snprintf(path, sizeof path, "tests/unit/golden/nodes_conf/%s", files[f]);
        FILE *fp = fopen(path, "rb");
        assert_non_null(fp);
        char buf[8192];
        size_t len = fread(buf, 1, sizeof buf, fp);
        fclose(fp);
        /* myself's ports, hostname and nofailover flag follow the configuration,
         * as in Redis: use the file's */
        nodes_conf_t pc;
        nodes_conf_err_t pe;
        assert_int_equal(nodes_conf_parse(buf, len, &pc, &pe), NODES_CONF_OK);
        cluster_cfg_t g = sim_cfg(0);
        g.port = pc.nodes[pc.myself].port;
        g.cport = pc.nodes[pc.myself].cport;
        g.replica_no_failover = (pc.nodes[pc.myself].flags & BUS_NODE_NOFAILOVER) != 0;
        if (pc.nodes[pc.myself].hostname)
            snprintf(g.announce_hostname, sizeof g.announce_hostname, "%s",
                     pc.nodes[pc.myself].hostname);
        nodes_conf_free(&pc);
        cluster_t *c = cluster_new(&g, test_rnd, T0);
        char err[256];
        assert_int_equal(cluster_load(c, buf, len, T0, err, sizeof err), 0);
        cluster_validate(c);
        size_t len2;
        char *out = cluster_serialize(c, &len2);
        char *a = conf_norm(buf, len), *b = conf_norm(out, len2);
        assert_string_equal(a, b);
        mem_free(a);
        mem_free(b);
        mem_free(out);
        cluster_free(c);
    }
}

static void test_forget_and_ban(void **st)
{
    (void)st;
    char err[256];
    sim_init(3);
    sim_join();
    char victim[41];
    memcpy(victim, myname(2), 41);
    assert_int_equal(cluster_forget(S.c[0], victim, 40, err, sizeof err, S.now), 0);
    assert_null(cluster_lookup(S.c[0], victim, 40));
    sim_run_ms(30000); /* node 1 keeps gossiping about node 2: banned for 60 s */
    assert_null(cluster_lookup(S.c[0], victim, 40));
    sim_run_ms(35000);
    assert_non_null(cluster_lookup(S.c[0], victim, 40));
    assert_int_equal(cluster_forget(S.c[0], "abc", 3, err, sizeof err, S.now), -1);
    assert_string_equal(err, "ERR Unknown node abc");
    assert_int_equal(cluster_forget(S.c[0], myname(0), 40, err, sizeof err, S.now), -1);
    assert_string_equal(err, "ERR I tried hard but I can't forget myself...");
    assert_int_equal(cluster_replicate(S.c[1], myname(0), 40, 1, err, sizeof err, S.now), 0);
    assert_int_equal(cluster_forget(S.c[1], myname(0), 40, err, sizeof err, S.now), -1);
    assert_string_equal(err, "ERR Can't forget my master!");
    sim_free();
}

static void test_command_errors(void **st)
{
    (void)st;
    char err[256];
    sim_init(2);
    cluster_t *c = S.c[0];
    uint8_t seen[CLUSTER_SLOT_BYTES];
    memset(seen, 0, sizeof seen);
    assert_int_equal(cluster_slots_check(c, seen, 0, 5, 5, err, sizeof err), 0);
    assert_int_equal(cluster_slots_check(c, seen, 0, 5, 5, err, sizeof err), -1);
    assert_string_equal(err, "ERR Slot 5 specified multiple times");
    memset(seen, 0, sizeof seen);
    assert_int_equal(cluster_slots_check(c, seen, 1, 7, 7, err, sizeof err), -1);
    assert_string_equal(err, "ERR Slot 7 is already unassigned");
    add_range(0, 5, 6);
    memset(seen, 0, sizeof seen);
    assert_int_equal(cluster_slots_check(c, seen, 0, 6, 6, err, sizeof err), -1);
    assert_string_equal(err, "ERR Slot 6 is already busy");
    assert_int_equal(cluster_slots_check(c, seen, 0, 16384, 16384, err, sizeof err), -1);
    assert_string_equal(err, "ERR Invalid or out of range slot");
    assert_int_equal(cluster_set_config_epoch(c, -1, err, sizeof err), -1);
    assert_string_equal(err, "ERR Invalid config epoch specified: -1");
    assert_int_equal(cluster_set_config_epoch(c, 5, err, sizeof err), 0);
    assert_int_equal(cluster_set_config_epoch(c, 6, err, sizeof err), -1);
    assert_string_equal(err, "ERR Node config epoch is already non-zero");
    int bumped = 1;
    cluster_bump_epoch(c, &bumped);
    assert_false(bumped); /* STILL 5 */
    assert_int_equal(cluster_myself(c)->config_epoch, 5);
    assert_int_equal(cluster_replicate(c, myname(0), 40, 1, err, sizeof err, S.now), -1);
    assert_string_equal(err, "ERR Can't replicate myself");
    assert_int_equal(cluster_replicate(c, "abc", 3, 1, err, sizeof err, S.now), -1);
    assert_string_equal(err, "ERR Unknown node abc");
    assert_int_equal(cluster_setslot(c, 5, CLUSTER_SETSLOT_MIGRATING, "abc", 3, 0, err, sizeof err),
                     -1);
    assert_string_equal(err, "ERR I don't know about node abc");
    assert_int_equal(cluster_setslot(c, 100, CLUSTER_SETSLOT_MIGRATING, "abc", 3, 0, err,
                                     sizeof err),
                     -1);
    assert_string_equal(err, "ERR I'm not the owner of hash slot 100");
    assert_int_equal(cluster_setslot(c, 5, CLUSTER_SETSLOT_IMPORTING, "abc", 3, 0, err, sizeof err),
                     -1);
    assert_string_equal(err, "ERR I'm already the owner of hash slot 5");
    assert_int_equal(cluster_setslot(c, 5, CLUSTER_SETSLOT_NODE, "abc", 3, 0, err, sizeof err), -1);
    assert_string_equal(err, "ERR Unknown node abc");
    assert_int_equal(cluster_meet(c, "1.2.3", 7000, 0, err, sizeof err, S.now), -1);
    assert_string_equal(err, "ERR Invalid node address specified: 1.2.3:7000");
    assert_int_equal(cluster_meet(c, "127.0.0.1", 70000, 0, err, sizeof err, S.now), -1);
    assert_string_equal(err, "ERR Invalid node address specified: 127.0.0.1:70000");
    sim_join();
    assert_int_equal(cluster_set_config_epoch(S.c[1], 3, err, sizeof err), -1);
    assert_string_equal(err, "ERR The user can assign a config epoch only when the node does not "
                             "know any other node.");
    assert_int_equal(cluster_replicate(c, myname(1), 40, 1, err, sizeof err, S.now), -1);
    assert_string_equal(err, "ERR To set a master the node must be empty and without assigned "
                             "slots.");
    assert_int_equal(cluster_replicate(S.c[1], myname(0), 40, 1, err, sizeof err, S.now), 0);
    sim_run_ms(1000);
    assert_int_equal(cluster_replicate(c, myname(1), 40, 1, err, sizeof err, S.now), -1);
    assert_string_equal(err, "ERR I can only replicate a master, not a replica.");
    assert_int_equal(cluster_setslot(S.c[1], 5, CLUSTER_SETSLOT_STABLE, NULL, 0, 0, err, sizeof err),
                     -1);
    assert_string_equal(err, "ERR Please use SETSLOT only with masters.");
    sim_free();
}

/* ---- message-level trust rules ------------------------------------------------ */

#define NA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define NB "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define NC "cccccccccccccccccccccccccccccccccccccccc"

/* A PING/PONG/MEET from `sender` (a master on 10.0.0.9:7001) with one gossip
 * entry about NB, delivered to node 0. Returns cluster_on_msg's result. */
static int feed(uint16_t type, const char *sender, cnode_t *link_node, int *replied)
{
    bus_hdr_t h;
    memset(&h, 0, sizeof h);
    memcpy(h.sender, sender, 40);
    h.port = 7001;
    h.cport = 17001;
    h.flags = BUS_NODE_MASTER;
    bus_gossip_t g;
    memset(&g, 0, sizeof g);
    memcpy(g.name, NB, 40);
    strcpy(g.ip, "127.0.0.1");
    g.port = 7002;
    g.cport = 17002;
    g.flags = BUS_NODE_MASTER;
    bus_buf_t b, reply;
    bus_buf_init(&b, NULL, 0);
    bus_buf_init(&reply, NULL, 0);
    bus_msg_build_ping(&b, &h, type, &g, 1, NULL, 0);
    bus_msg_t m;
    sim_decode(b.data, b.len, &m);
    cluster_link_in_t in = {.node = link_node, .inbound = link_node == NULL,
                            .peer_ip = "10.0.0.9", .local_ip = "10.0.0.1", .reply = &reply};
    int rc = cluster_on_msg(S.c[0], &in, &m, S.now);
    *replied = 0;
    if (reply.len) {
        bus_msg_t r;
        sim_decode(reply.data, reply.len, &r);
        *replied = r.hdr.type == BUS_TYPE_PONG;
    }
    bus_buf_deinit(&b);
    bus_buf_deinit(&reply);
    return rc;
}

static void test_trust_rules(void **st)
{
    (void)st;
    char err[256];
    int replied;
    sim_init(1);
    cluster_t *c = S.c[0];
    (void)cluster_todo_take(c);
    assert_int_equal(feed(BUS_TYPE_PING, NA, NULL, &replied), 0);
    assert_true(replied); /* everyone gets a PONG ... */
    assert_int_equal(cluster_node_count(c), 1); /* ... but a PING does not introduce */
    assert_int_equal(feed(BUS_TYPE_MEET, NA, NULL, &replied), 0);
    assert_true(replied);
    assert_int_equal(cluster_node_count(c), 2); /* MEET adds the sender in handshake */
    assert_null(cluster_lookup(c, NB, 40));     /* not its gossip: it is not trusted yet */
    assert_string_equal(cluster_myself(c)->ip, "10.0.0.1");
    assert_true(cluster_todo_take(c) & CLUSTER_TODO_SAVE);
    cnode_t *h = cluster_node_at(c, 0) == cluster_myself(c) ? cluster_node_at(c, 1)
                                                             : cluster_node_at(c, 0);
    assert_true(h->flags & BUS_NODE_HANDSHAKE);
    assert_string_equal(h->ip, "10.0.0.9");
    assert_int_equal(h->port, 7001);
    cluster_link_connected(c, h, S.now);
    assert_int_equal(cluster_out_pending(c), 1);
    cluster_out_t o;
    assert_true(cluster_out_pop(c, &o));
    assert_false(o.meet);
    mem_free(o.data);
    /* its first PONG on our link gives it its real id */
    assert_int_equal(feed(BUS_TYPE_PONG, NA, h, &replied), 0);
    assert_ptr_equal(cluster_lookup(c, NA, 40), h);
    assert_int_equal(h->flags, BUS_NODE_MASTER);
    /* a known node's gossip introduces NB with its real id */
    assert_int_equal(feed(BUS_TYPE_PING, NA, NULL, &replied), 0);
    cnode_t *b = cluster_lookup(c, NB, 40);
    assert_non_null(b);
    assert_int_equal(b->flags, BUS_NODE_MASTER);
    assert_int_equal(b->cport, 17002);
    /* forgotten: banned from gossip for 60 s */
    assert_int_equal(cluster_forget(c, NB, 40, err, sizeof err, S.now), 0);
    assert_int_equal(feed(BUS_TYPE_PING, NA, NULL, &replied), 0);
    assert_null(cluster_lookup(c, NB, 40));
    S.now += 61000;
    assert_int_equal(feed(BUS_TYPE_PING, NA, NULL, &replied), 0);
    assert_non_null(cluster_lookup(c, NB, 40));
    /* a handshake that reaches a node we already know is dropped */
    size_t count = cluster_node_count(c);
    assert_int_equal(cluster_meet(c, "10.0.0.9", 7001, 17001, err, sizeof err, S.now), 0);
    cnode_t *h2 = NULL;
    for (size_t i = 0; i < cluster_node_count(c); i++)
        if (cluster_node_at(c, i)->flags & BUS_NODE_HANDSHAKE)
            h2 = cluster_node_at(c, i);
    assert_non_null(h2);
    assert_true(h2->flags & BUS_NODE_MEET);
    cluster_link_connected(c, h2, S.now);
    assert_true(cluster_out_pop(c, &o));
    assert_true(o.meet);
    mem_free(o.data);
    assert_int_equal(feed(BUS_TYPE_PONG, NA, h2, &replied), -1);
    assert_int_equal(cluster_node_count(c), count);
    /* a known node answering with another id loses its address */
    assert_int_equal(feed(BUS_TYPE_PONG, NC, h, &replied), -1);
    assert_true(h->flags & BUS_NODE_NOADDR);
    assert_string_equal(h->ip, "");
    cluster_validate(c);
    sim_free();
}

static void test_reset(void **st)
{
    (void)st;
    char err[256];
    sim_init(3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(cluster_set_config_epoch(S.c[i], i + 1, err, sizeof err), 0);
    sim_join();
    add_range(0, 0, 100);
    assert_int_equal(cluster_replicate(S.c[1], myname(0), 40, 1, err, sizeof err, S.now), 0);
    sim_run_ms(1000);
    char name1[41];
    memcpy(name1, myname(1), 41);
    uint64_t cur = cluster_current_epoch(S.c[1]);
    assert_int_equal(cluster_reset(S.c[1], 0, S.now, err, sizeof err), 0);
    cnode_t *me = cluster_myself(S.c[1]);
    assert_int_equal(cluster_node_count(S.c[1]), 1);
    assert_true(cnode_is_master(me));
    assert_null(me->master);
    assert_string_equal(me->name, name1);
    assert_int_equal(cluster_current_epoch(S.c[1]), cur);
    assert_true(cluster_todo_take(S.c[1]) & CLUSTER_TODO_FSYNC);
    assert_int_equal(cluster_reset(S.c[0], 1, S.now, err, sizeof err), 0);
    me = cluster_myself(S.c[0]);
    assert_int_equal(cluster_node_count(S.c[0]), 1);
    assert_string_not_equal(me->name, name1);
    assert_int_equal(me->num_slots, 0);
    assert_null(cluster_slot_owner(S.c[0], 0));
    assert_int_equal(cluster_current_epoch(S.c[0]), 0);
    assert_int_equal(me->config_epoch, 0);
    cluster_validate(S.c[0]);
    cluster_validate(S.c[1]);
    sim_free();
}

/* A manual migration: IMPORTING/MIGRATING, then NODE on the importing side bumps
 * its configEpoch so the whole cluster adopts the move. */
static void test_setslot_migration(void **st)
{
    (void)st;
    char err[256];
    sim_init(3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(cluster_set_config_epoch(S.c[i], i + 1, err, sizeof err), 0);
    sim_join();
    add_range(0, 0, 16383);
    sim_run_ms(1000);
    assert_int_equal(cluster_setslot(S.c[1], 100, CLUSTER_SETSLOT_IMPORTING, myname(0), 40, 0,
                                     err, sizeof err), 0);
    assert_int_equal(cluster_setslot(S.c[0], 100, CLUSTER_SETSLOT_MIGRATING, myname(1), 40, 0,
                                     err, sizeof err), 0);
    assert_ptr_equal(cluster_slot_importing(S.c[1], 100), view(1, 0));
    assert_ptr_equal(cluster_slot_migrating(S.c[0], 100), view(0, 1));
    char *nodes;
    cluster_nodes_text(S.c[0], &nodes, S.now, 0);
    char want[128];
    snprintf(want, sizeof want, " 0-16383 [100->-%s]\n", myname(1));
    assert_non_null(strstr(nodes, want));
    mem_free(nodes);
    assert_int_equal(cluster_setslot(S.c[0], 100, CLUSTER_SETSLOT_NODE, myname(1), 40, 3, err,
                                     sizeof err), -1);
    assert_string_equal(err, "ERR Can't assign hashslot 100 to a different node while I still "
                             "hold keys for this hash slot.");
    (void)cluster_todo_take(S.c[1]);
    assert_int_equal(cluster_setslot(S.c[1], 100, CLUSTER_SETSLOT_NODE, myname(1), 40, 0, err,
                                     sizeof err), 0);
    assert_int_equal(cluster_myself(S.c[1])->config_epoch, 4);
    assert_null(cluster_slot_importing(S.c[1], 100));
    assert_int_equal(cluster_todo_take(S.c[1]) & (CLUSTER_TODO_SAVE | CLUSTER_TODO_FSYNC),
                     CLUSTER_TODO_SAVE | CLUSTER_TODO_FSYNC);
    assert_true(cluster_out_pending(S.c[1]) >= 2); /* PONG to everyone */
    sim_run_ms(500);
    for (int i = 0; i < 3; i++)
        assert_ptr_equal(cluster_slot_owner(S.c[i], 100), view(i, 1));
    /* the source closes its side: no keys left, the migrating state goes */
    assert_int_equal(cluster_setslot(S.c[0], 100, CLUSTER_SETSLOT_NODE, myname(1), 40, 0, err,
                                     sizeof err), 0);
    assert_null(cluster_slot_migrating(S.c[0], 100));
    assert_int_equal(cluster_myself(S.c[0])->num_slots, 16383);
    sim_free();
}

static int pub_count[MAXN];
static int pub_shard[MAXN];
static void on_publish(void *ctx, int shard, const uint8_t *ch, size_t chlen, const uint8_t *msg,
                       size_t mlen)
{
    int i = (int)(intptr_t)ctx;
    assert_memory_equal(ch, "news", chlen);
    assert_memory_equal(msg, "hello", mlen);
    pub_count[i]++;
    pub_shard[i] += shard;
}

static void test_publish(void **st)
{
    (void)st;
    sim_cluster_3x2();
    memset(pub_count, 0, sizeof pub_count);
    memset(pub_shard, 0, sizeof pub_shard);
    for (int i = 0; i < 6; i++) {
        cluster_hooks_t h = {.ctx = (void *)(intptr_t)i, .publish = on_publish};
        cluster_set_hooks(S.c[i], &h);
    }
    cluster_publish(S.c[0], 0, "news", 4, "hello", 5);
    sim_deliver();
    for (int i = 1; i < 6; i++)
        assert_int_equal(pub_count[i], 1);
    assert_int_equal(pub_count[0], 0);
    cluster_publish(S.c[1], 1, "news", 4, "hello", 5); /* shard: only its replica (4) */
    sim_deliver();
    assert_int_equal(pub_shard[4], 1);
    for (int i = 0; i < 6; i++)
        if (i != 4)
            assert_int_equal(pub_shard[i], 0);
    sim_free();
}

/* A replica of a failed master asks for votes: a master grants one per epoch,
 * persisted before the ACK, and refuses while the master is up. */
static int send_auth_request(int from, int to, uint64_t epoch)
{
    cnode_t *me = cluster_myself(S.c[from]);
    cnode_t *m = me->master;
    bus_hdr_t h;
    memset(&h, 0, sizeof h);
    memcpy(h.sender, me->name, 40);
    memcpy(h.slaveof, m->name, 40);
    memcpy(h.myslots, m->slots, CLUSTER_SLOT_BYTES);
    h.current_epoch = epoch;
    h.config_epoch = m->config_epoch;
    h.flags = BUS_NODE_SLAVE;
    h.port = (uint16_t)me->port;
    h.cport = (uint16_t)me->cport;
    uint8_t buf[BUS_HDR_LEN];
    bus_buf_t b;
    bus_buf_init(&b, buf, sizeof buf);
    bus_msg_build_auth_request(&b, &h);
    bus_msg_t msg;
    sim_decode(b.data, b.len, &msg);
    cluster_link_in_t in = {.inbound = 1, .peer_ip = "127.0.0.1", .local_ip = "127.0.0.1"};
    (void)cluster_todo_take(S.c[to]);
    cluster_on_msg(S.c[to], &in, &msg, S.now);
    int acks = 0;
    cluster_out_t o;
    while (cluster_out_pop(S.c[to], &o)) {
        bus_msg_t r;
        sim_decode(o.data, o.len, &r);
        if (r.hdr.type == BUS_TYPE_FAILOVER_AUTH_ACK && o.to == view(to, from))
            acks++;
        mem_free(o.data);
    }
    return acks;
}

static void test_vote(void **st)
{
    (void)st;
    sim_cluster_3x2();
    uint64_t e = cluster_current_epoch(S.c[1]);
    assert_int_equal(send_auth_request(3, 1, e + 1), 0); /* master 0 is up */
    S.frozen[0] = 1;
    for (int k = 0; k < 100 && !(view(1, 0)->flags & BUS_NODE_FAIL); k++)
        sim_step();
    assert_true(view(1, 0)->flags & BUS_NODE_FAIL);
    e = cluster_current_epoch(S.c[1]);
    assert_int_equal(send_auth_request(3, 1, e + 1), 1);
    assert_int_equal(cluster_last_vote_epoch(S.c[1]), e + 1);
    assert_int_equal(cluster_todo_take(S.c[1]) & CLUSTER_TODO_FSYNC, CLUSTER_TODO_FSYNC);
    assert_int_equal(send_auth_request(3, 1, e + 1), 0); /* one vote per epoch */
    assert_int_equal(send_auth_request(3, 1, e + 2), 0); /* same master within 2 x timeout */
    assert_int_equal(send_auth_request(3, 2, e + 1), 1); /* another master votes too */
    assert_int_equal(send_auth_request(4, 5, e + 3), 0); /* replicas never vote */
    size_t len;
    char *conf = cluster_serialize(S.c[1], &len);
    char want[64];
    snprintf(want, sizeof want, "lastVoteEpoch %llu\n", (unsigned long long)(e + 1));
    assert_non_null(strstr(conf, want));
    mem_free(conf);
    sim_free();
}

int main(void)
{
    log_set_level(LOG_WARNING + 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_node),
        cmocka_unit_test(test_meet_join_converges),
        cmocka_unit_test(test_slots_propagate_and_state_ok),
        cmocka_unit_test(test_pfail_fail_and_clear),
        cmocka_unit_test(test_replica_fail_cleared_on_return),
        cmocka_unit_test(test_config_epoch_collision),
        cmocka_unit_test(test_update_fixes_stale_claim),
        cmocka_unit_test(test_handshake_timeout),
        cmocka_unit_test(test_nodes_conf_round_trip),
        cmocka_unit_test(test_load_golden_confs),
        cmocka_unit_test(test_forget_and_ban),
        cmocka_unit_test(test_command_errors),
        cmocka_unit_test(test_trust_rules),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_setslot_migration),
        cmocka_unit_test(test_publish),
        cmocka_unit_test(test_vote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
