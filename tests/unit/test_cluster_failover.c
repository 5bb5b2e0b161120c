/*
 * test_cluster_failover.c — elections, promotion, the old master rejoining,
 * manual failover (default / FORCE / TAKEOVER), the SHUTDOWN hand-over, replica
 * migration and cluster-replica-no-failover, on the multi-node simulator
 * (cluster_sim.h: injected clock, fixed-seed randomness, real encoded bytes, a
 * disk model that checks that votes and election epochs are saved before the
 * messages announcing them leave, and a replication model for offsets and the
 * master link). Node timeout 2000 ms.
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
#include "lib/log.h"
#include "lib/mem.h"

#include "cluster_sim.h"

static int is_master(int i)
{
    return cnode_is_master(cluster_myself(S.c[i]));
}

/* Steps until node i is a master; returns the ms it took (fails after max_ms). */
static uint64_t run_until_master(int i, uint64_t max_ms)
{
    uint64_t t0 = S.now;
    while (!is_master(i) && S.now - t0 < max_ms)
        sim_step();
    assert_true(is_master(i));
    return S.now - t0;
}

/* Every running node agrees that `owner` serves old_master's former range
 * [a, b], that `owner` is a master and that `replica` replicates it. */
static void assert_agreed(int owner, int a, int b, int replica)
{
    uint64_t e = cluster_myself(S.c[owner])->config_epoch;
    for (int i = 0; i < S.n; i++) {
        if (!sim_running(i))
            continue;
        assert_ptr_equal(cluster_slot_owner(S.c[i], a), view(i, owner));
        assert_ptr_equal(cluster_slot_owner(S.c[i], b), view(i, owner));
        assert_true(cnode_is_master(view(i, owner)));
        assert_int_equal(view(i, owner)->config_epoch, e);
        assert_true(cluster_current_epoch(S.c[i]) >= e);
        if (replica >= 0)
            assert_ptr_equal(view(i, replica)->master, view(i, owner));
        assert_true(cluster_state_ok(S.c[i]));
    }
}

/* The masters' configEpochs, as node `at` sees them, are pairwise distinct. */
static void assert_unique_epochs(int at)
{
    for (size_t i = 0; i < cluster_node_count(S.c[at]); i++) {
        cnode_t *a = cluster_node_at(S.c[at], i);
        for (size_t j = i + 1; j < cluster_node_count(S.c[at]); j++) {
            cnode_t *b = cluster_node_at(S.c[at], j);
            if (cnode_is_master(a) && cnode_is_master(b) && a->num_slots && b->num_slots)
                assert_int_not_equal(a->config_epoch, b->config_epoch);
        }
    }
}

/* 7 nodes: masters 0,1,2; replicas 3 and 4 of master 0, 5 of 1, 6 of 2. The
 * replica with the higher offset (best) wins; the other (worse, rank 1) never
 * asks for votes and ends up replicating the winner. */
static void run_best_replica_wins(int best, int worse)
{
    static const int m[] = {-1, -1, -1, 0, 0, 1, 2};
    sim_cluster(7, m);
    S.repl = 1;
    S.off[0] = 3000;
    S.off[best] = 3000;
    S.off[worse] = 1000;
    sim_run_ms(2000); /* offsets travel in the PING headers */
    assert_int_equal(view(worse, best)->repl_offset, 3000);
    sim_kill(0);
    uint64_t took = run_until_master(best, 10000);
    /* PFAIL after node_timeout, FAIL, then at most 66 + 500 ms of delay */
    assert_true(took > TIMEOUT && took <= TIMEOUT + 2500);
    sim_run_ms(2000);
    assert_agreed(best, 0, 5460, worse);
    assert_false(is_master(worse));
    uint64_t e = cluster_myself(S.c[best])->config_epoch;
    assert_true(e > 7); /* greater than every epoch set at creation */
    assert_unique_epochs(1);
    assert_unique_epochs(worse);
    assert_true(cluster_stats_sent(S.c[best], BUS_TYPE_FAILOVER_AUTH_REQUEST) >= 1);
    assert_int_equal(cluster_stats_sent(S.c[worse], BUS_TYPE_FAILOVER_AUTH_REQUEST), 0);
    /* one vote per voter, persisted: lastVoteEpoch is the winner's epoch */
    for (int v = 1; v <= 2; v++) {
        assert_int_equal(cluster_stats_sent(S.c[v], BUS_TYPE_FAILOVER_AUTH_ACK), 1);
        assert_int_equal(cluster_last_vote_epoch(S.c[v]), e);
        assert_int_equal(S.disk_vote[v], e);
    }
    /* the server was told: the winner is a master, the loser follows it */
    assert_int_equal(S.role_master[best], -1);
    assert_int_equal(S.role_master[worse], best);
    assert_int_equal(cluster_election_phase(S.c[best]), CLUSTER_ELECTION_NONE);
    assert_int_equal(cluster_election_phase(S.c[worse]), CLUSTER_ELECTION_NONE);
    sim_free();
}

static void test_best_replica_wins(void **st)
{
    (void)st;
    run_best_replica_wins(4, 3);
    run_best_replica_wins(3, 4);
}

/* A replica whose data is too old (cluster-replica-validity-factor) does not
 * ask for votes; with the factor 0 it does. */
static void test_stale_data_no_election(void **st)
{
    (void)st;
    sim_cluster_3x2();
    S.repl = 1;
    sim_run_ms(1000);
    S.link_frozen[3] = 1;
    cluster_set_master_link(S.c[3], 0, S.now - 60000); /* lost a minute ago */
    sim_kill(0);
    sim_run_ms(4 * TIMEOUT);
    assert_true(view(3, 0)->flags & BUS_NODE_FAIL);
    assert_false(is_master(3));
    assert_int_equal(cluster_cant_failover_reason(S.c[3]), CLUSTER_CANT_FAILOVER_DATA_AGE);
    assert_int_equal(cluster_stats_sent(S.c[3], BUS_TYPE_FAILOVER_AUTH_REQUEST), 0);
    assert_false(cluster_state_ok(S.c[1]));
    /* allowed: 10 x 2000 + 10 s ping period, after node_timeout: 32 s is too old */
    cluster_set_master_link(S.c[3], 0, S.now - 32100);
    sim_run_ms(1000);
    assert_false(is_master(3));
    assert_int_equal(cluster_cant_failover_reason(S.c[3]), CLUSTER_CANT_FAILOVER_DATA_AGE);
    cluster_cfg_t g = sim_cfg(3);
    g.replica_validity_factor = 0;
    cluster_set_cfg(S.c[3], &g);
    run_until_master(3, 2000);
    sim_run_ms(1000);
    assert_agreed(3, 0, 5460, -1);
    sim_free();
}

/* The old master comes back with its stale nodes.conf: it sees its slots
 * owned with a greater configEpoch and becomes a replica of the winner. */
static void test_old_master_rejoins_as_replica(void **st)
{
    (void)st;
    sim_cluster_3x2();
    S.repl = 1;
    sim_run_ms(1000);
    size_t len;
    char *conf = cluster_serialize(S.c[0], &len);
    sim_kill(0);
    run_until_master(3, 10000);
    sim_run_ms(2000);
    sim_restart(0, conf, len);
    mem_free(conf);
    assert_true(is_master(0));
    assert_int_equal(cluster_myself(S.c[0])->num_slots, 5461);
    sim_run_ms(3000);
    cnode_t *me0 = cluster_myself(S.c[0]);
    assert_true(cnode_is_replica(me0));
    assert_ptr_equal(me0->master, view(0, 3));
    assert_int_equal(me0->num_slots, 0);
    assert_int_equal(S.role_master[0], 3);
    assert_agreed(3, 0, 5460, 0);
    for (int i = 1; i < 6; i++)
        assert_false(view(i, 0)->flags & (BUS_NODE_FAIL | BUS_NODE_PFAIL));
    sim_free();
}

/* A master stopped (SIGSTOP) for 3 x node_timeout is failed over; when it
 * runs again it steps down at its first exchange with the new master. */
static void test_stopped_master_steps_down(void **st)
{
    (void)st;
    sim_cluster_3x2();
    S.repl = 1;
    sim_run_ms(1000);
    S.frozen[0] = 1;
    sim_run_ms(3 * TIMEOUT);
    assert_true(is_master(3));
    assert_true(is_master(0)); /* it does not know yet */
    S.frozen[0] = 0;
    sim_step();
    assert_false(is_master(0));
    assert_ptr_equal(cluster_myself(S.c[0])->master, view(0, 3));
    assert_ptr_equal(cluster_slot_owner(S.c[0], 0), view(0, 3));
    assert_int_equal(S.role_master[0], 3);
    sim_run_ms(2000);
    assert_agreed(3, 0, 5460, 0);
    sim_free();
}

/* CLUSTER FAILOVER: the master pauses writes and announces its offset, the
 * replica catches up, then wins an election granted with FORCEACK although its
 * master never failed; the old master resumes its clients as a replica. */
static void test_manual_failover_default(void **st)
{
    (void)st;
    char err[256];
    sim_cluster_3x2();
    S.repl = 1;
    S.off[0] = 5000;
    S.off[3] = 4000;
    sim_run_ms(1000);
    assert_int_equal(cluster_failover_start(S.c[3], CLUSTER_FAILOVER_DEFAULT, err, sizeof err,
                                            S.now),
                     0);
    assert_int_equal(cluster_mf_phase(S.c[3]), CLUSTER_MF_WAIT_OFFSET);
    assert_int_equal(cluster_out_pending(S.c[3]), 1); /* the MFSTART */
    sim_deliver();
    assert_int_equal(S.pause_calls[0], 1);
    assert_int_equal(S.paused_until[0], S.now + 2 * CLUSTER_MF_TIMEOUT);
    assert_int_equal(cluster_mf_phase(S.c[0]), CLUSTER_MF_PAUSED);
    assert_int_equal(cluster_mf_phase(S.c[3]), CLUSTER_MF_CATCH_UP);
    sim_run_ms(1000); /* behind: nothing happens */
    assert_false(is_master(3));
    assert_true(is_master(0));
    assert_int_equal(cluster_stats_sent(S.c[3], BUS_TYPE_FAILOVER_AUTH_REQUEST), 0);
    S.off[3] = 5000; /* the replica has processed everything */
    uint64_t took = run_until_master(3, 1000);
    assert_true(took <= 200);
    sim_run_ms(2000); /* the demoted node's new role travels with its PINGs */
    assert_agreed(3, 0, 5460, 0);
    assert_false(view(1, 0)->flags & BUS_NODE_FAIL);
    assert_int_equal(S.role_master[0], 3);
    assert_int_equal(S.paused_until[0], 0); /* resumed */
    assert_int_equal(S.pause_calls[0], 2);
    assert_int_equal(cluster_mf_phase(S.c[0]), CLUSTER_MF_NONE);
    assert_int_equal(cluster_mf_phase(S.c[3]), CLUSTER_MF_NONE);
    /* and back: CLUSTER FAILOVER on the old master restores the roles */
    S.off[0] = 5000;
    assert_int_equal(cluster_failover_start(S.c[0], CLUSTER_FAILOVER_DEFAULT, err, sizeof err,
                                            S.now),
                     0);
    run_until_master(0, 2000);
    sim_run_ms(2000); /* the demoted node's new role travels with its PINGs */
    assert_agreed(0, 0, 5460, 3);
    assert_int_equal(S.paused_until[3], 0);
    sim_free();
}

/* A replica that never catches up: the manual failover times out after
 * CLUSTER_MF_TIMEOUT and the master resumes its clients; roles unchanged. */
static void test_manual_failover_timeout(void **st)
{
    (void)st;
    char err[256];
    sim_cluster_3x2();
    S.repl = 1;
    S.off[0] = 5000;
    S.off[3] = 4000;
    sim_run_ms(1000);
    assert_int_equal(cluster_failover_start(S.c[3], CLUSTER_FAILOVER_DEFAULT, err, sizeof err,
                                            S.now),
                     0);
    sim_run_ms(CLUSTER_MF_TIMEOUT - 200);
    assert_int_equal(cluster_mf_phase(S.c[0]), CLUSTER_MF_PAUSED);
    assert_int_not_equal(S.paused_until[0], 0);
    sim_run_ms(500);
    assert_int_equal(cluster_mf_phase(S.c[0]), CLUSTER_MF_NONE);
    assert_int_equal(cluster_mf_phase(S.c[3]), CLUSTER_MF_NONE);
    assert_int_equal(S.paused_until[0], 0);
    assert_true(is_master(0));
    assert_false(is_master(3));
    sim_run_ms(2000);
    assert_false(is_master(3));
    sim_free();
}

static void test_failover_errors(void **st)
{
    (void)st;
    char err[256];
    sim_cluster_3x2();
    assert_int_equal(cluster_failover_start(S.c[0], CLUSTER_FAILOVER_DEFAULT, err, sizeof err,
                                            S.now),
                     -1);
    assert_string_equal(err, "ERR You should send CLUSTER FAILOVER to a replica");
    assert_int_equal(cluster_failover_start(S.c[0], CLUSTER_FAILOVER_TAKEOVER, err, sizeof err,
                                            S.now),
                     -1);
    assert_string_equal(err, "ERR You should send CLUSTER FAILOVER to a replica");
    assert_int_equal(cluster_failover_start(S.c[3], 7, err, sizeof err, S.now), -1);
    assert_string_equal(err, "ERR syntax error");
    sim_kill(0);
    sim_run_ms(200); /* the link to the master is down */
    assert_int_equal(cluster_failover_start(S.c[3], CLUSTER_FAILOVER_DEFAULT, err, sizeof err,
                                            S.now),
                     -1);
    assert_string_equal(err, "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE");
    assert_int_equal(cluster_mf_phase(S.c[3]), CLUSTER_MF_NONE);
    /* a replica has nothing to hand over at SHUTDOWN */
    assert_null(cluster_shutdown_handoff(S.c[4], S.now));
    sim_free();
}

/* FORCE: no handshake with the master (here: just killed, not even PFAIL):
 * an election at once, granted with FORCEACK. */
static void test_failover_force(void **st)
{
    (void)st;
    char err[256];
    sim_cluster_3x2();
    S.repl = 1;
    sim_run_ms(1000);
    sim_kill(0);
    sim_step();
    assert_false(view(1, 0)->flags & (BUS_NODE_PFAIL | BUS_NODE_FAIL));
    assert_int_equal(cluster_failover_start(S.c[3], CLUSTER_FAILOVER_FORCE, err, sizeof err,
                                            S.now),
                     0);
    assert_int_equal(cluster_election_phase(S.c[3]), CLUSTER_ELECTION_VOTING);
    uint64_t took = run_until_master(3, 1000);
    assert_true(took <= 100);
    sim_run_ms(1000);
    assert_agreed(3, 0, 5460, -1);
    sim_free();
}

/* TAKEOVER: no election at all; the master is unreachable (frozen) and comes
 * back to find itself a replica. */
static void test_failover_takeover(void **st)
{
    (void)st;
    char err[256];
    sim_cluster_3x2();
    S.repl = 1;
    sim_run_ms(1000);
    S.frozen[0] = 1;
    uint64_t before = cluster_current_epoch(S.c[3]);
    assert_int_equal(cluster_failover_start(S.c[3], CLUSTER_FAILOVER_TAKEOVER, err, sizeof err,
                                            S.now),
                     0);
    cnode_t *me = cluster_myself(S.c[3]);
    assert_true(cnode_is_master(me));
    assert_int_equal(me->num_slots, 5461);
    assert_int_equal(me->config_epoch, before + 1);
    assert_int_equal(cluster_current_epoch(S.c[3]), before + 1);
    assert_int_equal(S.role_master[3], -1);
    assert_int_equal(cluster_stats_sent(S.c[3], BUS_TYPE_FAILOVER_AUTH_REQUEST), 0);
    assert_true(cluster_todo_take(S.c[3]) & CLUSTER_TODO_FSYNC);
    sim_run_ms(1000);
    S.frozen[0] = 0;
    sim_run_ms(3000);
    assert_agreed(3, 0, 5460, 0);
    assert_unique_epochs(0);
    sim_free();
}

/* cluster-replica-no-failover: no automatic election (and the flag is
 * gossiped), but a manual FORCE failover still works. */
static void test_replica_no_failover(void **st)
{
    (void)st;
    char err[256];
    sim_cluster_3x2();
    S.repl = 1;
    cluster_cfg_t g = sim_cfg(3);
    g.replica_no_failover = 1;
    cluster_set_cfg(S.c[3], &g);
    sim_run_ms(1000);
    assert_true(view(1, 3)->flags & BUS_NODE_NOFAILOVER);
    sim_kill(0);
    sim_run_ms(4 * TIMEOUT);
    assert_true(view(3, 0)->flags & BUS_NODE_FAIL);
    assert_false(is_master(3));
    assert_int_equal(cluster_election_phase(S.c[3]), CLUSTER_ELECTION_NONE);
    assert_int_equal(cluster_stats_sent(S.c[3], BUS_TYPE_FAILOVER_AUTH_REQUEST), 0);
    assert_int_equal(cluster_failover_start(S.c[3], CLUSTER_FAILOVER_FORCE, err, sizeof err,
                                            S.now),
                     0);
    run_until_master(3, 1000);
    sim_run_ms(1000);
    assert_agreed(3, 0, 5460, -1);
    sim_free();
}

/* No quorum (both other masters frozen): the election expires, and is retried
 * with a new epoch after the retry time, which then wins. */
static void test_election_expires_and_retries(void **st)
{
    (void)st;
    sim_cluster_3x2();
    S.repl = 1;
    sim_run_ms(1000);
    sim_kill(0);
    for (int k = 0; k < 100 && !(view(3, 0)->flags & BUS_NODE_FAIL); k++)
        sim_step();
    assert_true(view(3, 0)->flags & BUS_NODE_FAIL);
    S.frozen[1] = S.frozen[2] = 1;
    for (int k = 0; k < 20 && cluster_election_phase(S.c[3]) != CLUSTER_ELECTION_VOTING; k++)
        sim_step();
    assert_int_equal(cluster_election_phase(S.c[3]), CLUSTER_ELECTION_VOTING);
    uint64_t e1 = cluster_current_epoch(S.c[3]);
    sim_run_ms(2 * TIMEOUT + 200); /* the election timeout: max(2 x 2000, 2000) */
    assert_int_equal(cluster_election_phase(S.c[3]), CLUSTER_ELECTION_EXPIRED);
    assert_int_equal(cluster_cant_failover_reason(S.c[3]), CLUSTER_CANT_FAILOVER_EXPIRED);
    assert_false(is_master(3));
    uint64_t sent1 = cluster_stats_sent(S.c[3], BUS_TYPE_FAILOVER_AUTH_REQUEST);
    S.frozen[1] = S.frozen[2] = 0;
    sim_run_ms(2 * TIMEOUT - 1000); /* before the retry time (2 x timeout) */
    assert_false(is_master(3));
    assert_int_equal(cluster_stats_sent(S.c[3], BUS_TYPE_FAILOVER_AUTH_REQUEST), sent1);
    run_until_master(3, 4000);
    assert_true(cluster_stats_sent(S.c[3], BUS_TYPE_FAILOVER_AUTH_REQUEST) > sent1);
    assert_true(cluster_myself(S.c[3])->config_epoch > e1);
    /* a master that saw itself in a minority waits node_timeout before ok */
    sim_run_ms(TIMEOUT + 500);
    assert_agreed(3, 0, 5460, -1);
    sim_free();
}

/* SHUTDOWN of a master: its in-sync replica takes over well before
 * node_timeout; a replica behind waits until it has processed the offset. */
static void run_handoff(uint64_t replica_off)
{
    sim_cluster_3x2();
    S.repl = 1;
    S.off[0] = 7000;
    S.off[3] = replica_off;
    sim_run_ms(1000);
    cnode_t *to = cluster_shutdown_handoff(S.c[0], S.now);
    assert_ptr_equal(to, view(0, 3));
    /* the transport flushes the MFSTART, then the process exits */
    cluster_out_t o;
    sim_save(0);
    assert_true(cluster_out_pop(S.c[0], &o));
    assert_int_equal(cluster_out_pending(S.c[0]), 0);
    sim_deliver_one(0, o.to, o.data, o.len);
    mem_free(o.data);
    sim_kill(0);
    if (replica_off == 7000) {
        assert_int_equal(cluster_mf_phase(S.c[3]), CLUSTER_MF_ELECTION);
        assert_int_equal(cluster_election_phase(S.c[3]), CLUSTER_ELECTION_VOTING);
    } else {
        assert_int_equal(cluster_mf_phase(S.c[3]), CLUSTER_MF_CATCH_UP);
        sim_run_ms(500);
        assert_false(is_master(3));
        S.off[3] = 7000;
    }
    uint64_t took = run_until_master(3, TIMEOUT);
    assert_true(took <= 200);
    sim_run_ms(1000);
    assert_agreed(3, 0, 5460, -1);
    sim_free();
}

static void test_shutdown_handoff(void **st)
{
    (void)st;
    run_handoff(7000);
    run_handoff(6500);
}

/* Every node stopped at once: master 0 hands over at its exit, but a replica
 * that is shutting down too ignores the hand-over, and masters that are
 * shutting down grant no vote, so roles stay as they were. */
static void run_handoff_while_all_stop(int replica_stopping)
{
    sim_cluster_3x2();
    S.repl = 1;
    S.off[0] = S.off[3] = 7000;
    sim_run_ms(1000);
    cluster_set_shutting_down(S.c[replica_stopping ? 3 : 1], 1);
    cluster_set_shutting_down(S.c[2], 1);
    assert_ptr_equal(cluster_shutdown_handoff(S.c[0], S.now), view(0, 3));
    cluster_out_t o;
    sim_save(0);
    assert_true(cluster_out_pop(S.c[0], &o));
    sim_deliver_one(0, o.to, o.data, o.len);
    mem_free(o.data);
    sim_kill(0);
    assert_int_equal(cluster_mf_phase(S.c[3]),
                     replica_stopping ? CLUSTER_MF_NONE : CLUSTER_MF_ELECTION);
    sim_run_ms(TIMEOUT / 2);
    assert_false(is_master(3));
    for (int v = 1; v <= 2; v++)
        assert_int_equal(cluster_stats_sent(S.c[v], BUS_TYPE_FAILOVER_AUTH_ACK), 0);
    sim_free();
}

static void test_handoff_while_all_stop(void **st)
{
    (void)st;
    run_handoff_while_all_stop(1);
    run_handoff_while_all_stop(0);
}

/* A Redis 7.0-style node ignores MFSTART from anyone but its own replica: a
 * master receiving one from another master (or a FORCEACK one) does nothing. */
static void test_mfstart_from_non_replica_ignored(void **st)
{
    (void)st;
    sim_cluster_3x2();
    cluster_shutdown_handoff(S.c[1], S.now); /* to 4, its replica */
    cluster_out_t o;
    assert_true(cluster_out_pop(S.c[1], &o));
    bus_msg_t m;
    sim_decode(o.data, o.len, &m);
    assert_int_equal(m.hdr.type, BUS_TYPE_MFSTART);
    assert_true(m.hdr.mflags[0] & BUS_MF_FORCEACK);
    cluster_link_in_t in = {.inbound = 1, .peer_ip = "127.0.0.1", .local_ip = "127.0.0.1"};
    cluster_on_msg(S.c[0], &in, &m, S.now); /* master 0: not from its replica */
    cluster_on_msg(S.c[5], &in, &m, S.now); /* replica of 2: not from its master */
    assert_int_equal(cluster_mf_phase(S.c[0]), CLUSTER_MF_NONE);
    assert_int_equal(cluster_mf_phase(S.c[5]), CLUSTER_MF_NONE);
    assert_int_equal(S.pause_calls[0], 0);
    mem_free(o.data);
    sim_free();
}

/* Replica migration: master 2 loses its only replica; after
 * CLUSTER_SLAVE_MIGRATION_DELAY the replica with the smallest id among those of
 * master 0 (two replicas) moves to it, if allowed and above the barrier.
 * Returns the index of the replica that migrated, or -1. */
static int run_migration(int allow, int barrier)
{
    static const int m[] = {-1, -1, -1, 0, 1, 2, 0};
    sim_cluster(7, m);
    S.repl = 1;
    for (int i = 0; i < 7; i++) {
        cluster_cfg_t g = sim_cfg(i);
        g.allow_replica_migration = allow;
        g.migration_barrier = barrier;
        cluster_set_cfg(S.c[i], &g);
    }
    sim_run_ms(1000);
    sim_kill(5);
    for (int k = 0; k < 100 && !((view(3, 5)->flags & view(6, 5)->flags) & BUS_NODE_FAIL); k++)
        sim_step();
    assert_true(view(3, 5)->flags & view(6, 5)->flags & BUS_NODE_FAIL);
    sim_run_ms(CLUSTER_SLAVE_MIGRATION_DELAY - 300);
    for (int r = 3; r <= 6; r += 3)
        assert_ptr_equal(cluster_myself(S.c[r])->master, view(r, 0));
    sim_run_ms(1000);
    int moved = -1;
    for (int r = 3; r <= 6; r += 3)
        if (cluster_myself(S.c[r])->master == view(r, 2))
            moved = r;
    if (moved >= 0) {
        int stay = moved == 3 ? 6 : 3;
        assert_true(strcmp(myname(moved), myname(stay)) < 0);
        assert_ptr_equal(cluster_myself(S.c[stay])->master, view(stay, 0));
        assert_int_equal(S.role_master[moved], 2);
        sim_run_ms(2000); /* its new role travels with its PINGs */
        for (int i = 0; i < 7; i++)
            if (sim_running(i))
                assert_ptr_equal(view(i, moved)->master, view(i, 2));
    }
    sim_free();
    return moved;
}

static void test_replica_migration(void **st)
{
    (void)st;
    assert_true(run_migration(1, 1) >= 0);
    assert_int_equal(run_migration(0, 1), -1); /* cluster-allow-replica-migration no */
    assert_int_equal(run_migration(1, 2), -1); /* master 0 would keep only 1 < 2 */
}

int main(void)
{
    log_set_level(LOG_WARNING + 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_best_replica_wins),
        cmocka_unit_test(test_stale_data_no_election),
        cmocka_unit_test(test_old_master_rejoins_as_replica),
        cmocka_unit_test(test_stopped_master_steps_down),
        cmocka_unit_test(test_manual_failover_default),
        cmocka_unit_test(test_manual_failover_timeout),
        cmocka_unit_test(test_failover_errors),
        cmocka_unit_test(test_failover_force),
        cmocka_unit_test(test_failover_takeover),
        cmocka_unit_test(test_replica_no_failover),
        cmocka_unit_test(test_election_expires_and_retries),
        cmocka_unit_test(test_shutdown_handoff),
        cmocka_unit_test(test_handoff_while_all_stop),
        cmocka_unit_test(test_mfstart_from_non_replica_ignored),
        cmocka_unit_test(test_replica_migration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
