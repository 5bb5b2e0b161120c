/*
 * cluster_sim.h — the multi-node simulator shared by the cluster state machine
 * tests (test_cluster_state.c, test_cluster_failover.c). Include it after
 * <cmocka.h>.
 *
 * N in-memory nodes: node i listens on 127.0.0.1:7000+i (bus 17000+i). Each step
 * advances the injected clock by 100 ms, feeds every running node its
 * replication facts (when S.repl is set), ticks it, "saves" nodes.conf when the
 * node asks (the disk model below), connects the links the nodes want
 * (cluster_link_connected, or cluster_link_down when the target is dead), and
 * delivers every outbox entry by decoding the real bytes with bus_msg_decode and
 * handing them to the target as an inbound message; PONG/PING replies travel
 * back on the sender's outbound link. A node can be killed (connections
 * refused) or frozen (silently drops traffic, like SIGSTOP). Randomness is a
 * fixed-seed xorshift, so every run is the same.
 *
 * Disk model: before a node's outbox is drained, its todo flags are taken and a
 * SAVE records the currentEpoch and lastVoteEpoch "on disk"; every
 * FAILOVER_AUTH_ACK / FAILOVER_AUTH_REQUEST that leaves a node is checked
 * against that record (the vote, the election epoch are persisted before anyone
 * hears about them), as the server's before_sleep does.
 *
 * Replication model (S.repl = 1): S.off[i] is node i's replication offset
 * (cluster_set_repl_offset every step); a replica whose master runs reports its
 * master link up (cluster_set_master_link(1, now)); when the master dies or
 * freezes the link is reported down once, at that time.
 */
#ifndef TESSERA_TEST_CLUSTER_SIM_H
#define TESSERA_TEST_CLUSTER_SIM_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/bus_msg.h"
#include "cluster/cluster.h"
#include "lib/mem.h"

#define SIM static __attribute__((unused))

#define MAXN 8
#define T0 1795600000000ull
#define TIMEOUT 2000

static uint64_t rnd_state;
SIM uint64_t test_rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

typedef struct sim_s {
    int n;
    cluster_t *c[MAXN];
    int dead[MAXN];   /* refuses connections, drops traffic */
    int frozen[MAXN]; /* keeps links, drops traffic, does not tick */
    uint64_t now;
    /* replication model */
    int repl;
    uint64_t off[MAXN];
    int link_down[MAXN];   /* the master link was reported down */
    int link_frozen[MAXN]; /* the test drives cluster_set_master_link itself */
    /* disk model */
    uint64_t disk_epoch[MAXN], disk_vote[MAXN];
    int saves[MAXN];
    /* hooks */
    int role_calls[MAXN];
    int role_master[MAXN]; /* index of the master given to role_changed, -1: master */
    int pause_calls[MAXN];
    uint64_t paused_until[MAXN]; /* last pause_writes argument (0 = resumed) */
} sim_t;

static sim_t S;

SIM int sim_index(const cnode_t *n)
{
    int i = n->cport - 17000;
    return (i >= 0 && i < S.n) ? i : -1;
}

SIM void sim_on_role(void *ctx, cnode_t *master)
{
    int i = (int)(intptr_t)ctx;
    S.role_calls[i]++;
    S.role_master[i] = master ? sim_index(master) : -1;
}

SIM void sim_on_pause(void *ctx, uint64_t until_ms)
{
    int i = (int)(intptr_t)ctx;
    S.pause_calls[i]++;
    S.paused_until[i] = until_ms;
}

SIM cluster_cfg_t sim_cfg(int i)
{
    cluster_cfg_t g;
    memset(&g, 0, sizeof g);
    g.node_timeout = TIMEOUT;
    g.port = 7000 + i;
    g.cport = 17000 + i;
    g.require_full_coverage = 1;
    g.allow_replica_migration = 1;
    g.replica_validity_factor = 10;
    g.migration_barrier = 1;
    return g;
}

SIM void sim_hooks(int i, cluster_t *c)
{
    cluster_hooks_t h = {.ctx = (void *)(intptr_t)i, .role_changed = sim_on_role,
                         .pause_writes = sim_on_pause};
    cluster_set_hooks(c, &h);
}

SIM cluster_t *sim_node_new(int i)
{
    cluster_cfg_t g = sim_cfg(i);
    cluster_t *c = cluster_new(&g, test_rnd, S.now);
    char err[256];
    sim_hooks(i, c);
    assert_int_equal(cluster_load(c, "", 0, S.now, err, sizeof err), 0);
    return c;
}

SIM void sim_init(int n)
{
    memset(&S, 0, sizeof S);
    rnd_state = 0x9e3779b97f4a7c15ull;
    S.n = n;
    S.now = T0;
    for (int i = 0; i < n; i++)
        S.c[i] = sim_node_new(i);
}

SIM void sim_free(void)
{
    for (int i = 0; i < S.n; i++)
        cluster_free(S.c[i]);
    memset(&S, 0, sizeof S);
}

SIM int sim_running(int i)
{
    return i >= 0 && i < S.n && !S.dead[i] && !S.frozen[i];
}

/* The before_sleep of node i: take the todo flags, "save" when asked. */
SIM void sim_save(int i)
{
    int t = cluster_todo_take(S.c[i]);
    if (t & CLUSTER_TODO_SAVE) {
        S.disk_epoch[i] = cluster_current_epoch(S.c[i]);
        S.disk_vote[i] = cluster_last_vote_epoch(S.c[i]);
        S.saves[i]++;
    }
}

/* Connects wanted links, drops reset ones. */
SIM void sim_links(void)
{
    for (int i = 0; i < S.n; i++) {
        if (!sim_running(i))
            continue;
        cluster_t *c = S.c[i];
        for (size_t k = 0; k < cluster_node_count(c); k++) {
            cnode_t *n = cluster_node_at(c, k);
            if (n == cluster_myself(c) || (n->flags & BUS_NODE_NOADDR))
                continue;
            if (n->link_reset)
                cluster_link_down(c, n, S.now);
            if (n->link_connected)
                continue;
            int j = sim_index(n);
            if (j >= 0 && !S.dead[j] && strcmp(n->ip, "127.0.0.1") == 0)
                cluster_link_connected(c, n, S.now);
            else
                cluster_link_down(c, n, S.now);
        }
    }
}

SIM void sim_decode(const uint8_t *p, size_t len, bus_msg_t *m)
{
    char err[128];
    assert_int_equal(bus_msg_decode(p, len, m, err, sizeof err), BUS_OK);
}

/* A message leaving node i: what it announces must already be on its disk. */
SIM void sim_check_persisted(int i, const bus_msg_t *m)
{
    if (m->hdr.type == BUS_TYPE_FAILOVER_AUTH_ACK)
        assert_true(m->hdr.current_epoch <= S.disk_vote[i]);
    if (m->hdr.type == BUS_TYPE_FAILOVER_AUTH_REQUEST)
        assert_true(m->hdr.current_epoch <= S.disk_epoch[i]);
}

/* Delivers one message from node i's link to `to`, and the reply back. */
SIM void sim_deliver_one(int i, cnode_t *to, const uint8_t *data, size_t len)
{
    bus_msg_t m;
    sim_decode(data, len, &m);
    sim_check_persisted(i, &m);
    int j = sim_index(to);
    if (j < 0 || !sim_running(j))
        return;
    bus_buf_t reply;
    bus_buf_init(&reply, NULL, 0);
    cluster_link_in_t in = {.node = NULL, .inbound = 1, .peer_ip = "127.0.0.1",
                            .local_ip = "127.0.0.1", .reply = &reply};
    cluster_on_msg(S.c[j], &in, &m, S.now);
    if (reply.len > 0) {
        bus_msg_t r;
        sim_decode(reply.data, reply.len, &r);
        cluster_link_in_t back = {.node = to, .inbound = 0, .peer_ip = "127.0.0.1",
                                  .local_ip = "127.0.0.1", .reply = NULL};
        if (cluster_on_msg(S.c[i], &back, &r, S.now) != 0 && back.node)
            cluster_link_down(S.c[i], back.node, S.now);
    }
    bus_buf_deinit(&reply);
}

SIM void sim_deliver(void)
{
    for (int round = 0; round < 50; round++) {
        int any = 0;
        for (int i = 0; i < S.n; i++) {
            cluster_out_t o;
            if (S.dead[i])
                continue;
            /* before_sleep saves before anything queued so far is sent */
            while (sim_save(i), cluster_out_pop(S.c[i], &o)) {
                any = 1;
                if (!S.frozen[i])
                    sim_deliver_one(i, o.to, o.data, o.len);
                mem_free(o.data);
            }
        }
        if (!any)
            return;
    }
}

/* The replication facts node i's server would report. */
SIM void sim_repl(int i)
{
    cluster_t *c = S.c[i];
    cnode_t *me = cluster_myself(c);
    cluster_set_repl_offset(c, S.off[i]);
    if (!cnode_is_replica(me) || !me->master || S.link_frozen[i]) {
        S.link_down[i] = 0;
        return;
    }
    int m = sim_index(me->master);
    if (m >= 0 && sim_running(m)) {
        cluster_set_master_link(c, 1, S.now);
        S.link_down[i] = 0;
    } else if (!S.link_down[i]) {
        cluster_set_master_link(c, 0, S.now);
        S.link_down[i] = 1;
    }
}

SIM void sim_step(void)
{
    S.now += 100;
    for (int i = 0; i < S.n; i++) {
        if (!sim_running(i))
            continue;
        if (S.repl)
            sim_repl(i);
        cluster_tick(S.c[i], S.now);
        cluster_before_sleep_state(S.c[i], S.now);
        sim_save(i);
    }
    sim_links();
    sim_deliver();
    if ((S.now / 100) % 10 == 0) /* the invariants, once per simulated second */
        for (int i = 0; i < S.n; i++)
            if (!S.dead[i])
                cluster_validate(S.c[i]);
}

SIM void sim_run_ms(uint64_t ms)
{
    for (uint64_t t = 0; t < ms; t += 100)
        sim_step();
}

/* Kills node i: peers see their links drop and connections refused. */
SIM void sim_kill(int i)
{
    S.dead[i] = 1;
    const char *name = cluster_myself(S.c[i])->name;
    for (int k = 0; k < S.n; k++) {
        if (k == i || S.dead[k])
            continue;
        cnode_t *n = cluster_lookup(S.c[k], name, CLUSTER_NAMELEN);
        if (n && n->link_connected)
            cluster_link_down(S.c[k], n, S.now);
    }
}

SIM const char *myname(int i)
{
    return cluster_myself(S.c[i])->name;
}

SIM cnode_t *view(int i, int of)
{
    return cluster_lookup(S.c[i], myname(of), CLUSTER_NAMELEN);
}

/* 1 if every running node knows exactly `expect` nodes, none in handshake. */
SIM int sim_converged(int expect)
{
    for (int i = 0; i < S.n; i++) {
        if (!sim_running(i))
            continue;
        if ((int)cluster_node_count(S.c[i]) != expect)
            return 0;
        for (int j = 0; j < S.n; j++) {
            cnode_t *n = view(i, j);
            if (!n || (n->flags & BUS_NODE_HANDSHAKE))
                return 0;
        }
    }
    return 1;
}

/* Node 0 meets every other node; runs until all know all (bounded). */
SIM uint64_t sim_join(void)
{
    char err[256];
    for (int i = 1; i < S.n; i++)
        assert_int_equal(cluster_meet(S.c[0], "127.0.0.1", 7000 + i, 0, err, sizeof err, S.now),
                         0);
    uint64_t start = S.now;
    for (int k = 0; k < 600 && !sim_converged(S.n); k++)
        sim_step();
    assert_true(sim_converged(S.n));
    return S.now - start;
}

SIM void add_range(int i, int a, int b)
{
    uint8_t seen[CLUSTER_SLOT_BYTES];
    char err[256];
    memset(seen, 0, sizeof seen);
    assert_int_equal(cluster_slots_check(S.c[i], seen, 0, a, b, err, sizeof err), 0);
    cluster_slots_apply(S.c[i], seen, 0);
}

/* n nodes; 0,1,2 masters with the three classic ranges; node r >= 3 replicates
 * master master_of[r]. Epochs 1..n set before the join. */
SIM void sim_cluster(int n, const int *master_of)
{
    char err[256];
    sim_init(n);
    for (int i = 0; i < n; i++)
        assert_int_equal(cluster_set_config_epoch(S.c[i], i + 1, err, sizeof err), 0);
    sim_join();
    add_range(0, 0, 5460);
    add_range(1, 5461, 10922);
    add_range(2, 10923, 16383);
    for (int r = 3; r < n; r++)
        assert_int_equal(cluster_replicate(S.c[r], myname(master_of[r]), CLUSTER_NAMELEN, 1, err,
                                           sizeof err, S.now),
                         0);
    sim_run_ms(5000);
}

/* 6 nodes: 0,1,2 masters with the three classic ranges; 3,4,5 their replicas. */
SIM void sim_cluster_3x2(void)
{
    static const int m[] = {-1, -1, -1, 0, 1, 2};
    sim_cluster(6, m);
}

/* Restarts node i from nodes.conf text (same id, same address). */
SIM void sim_restart(int i, const char *conf, size_t len)
{
    cluster_free(S.c[i]);
    cluster_cfg_t g = sim_cfg(i);
    S.c[i] = cluster_new(&g, test_rnd, S.now);
    sim_hooks(i, S.c[i]);
    char err[256];
    assert_int_equal(cluster_load(S.c[i], conf, len, S.now, err, sizeof err), 0);
    S.dead[i] = 0;
    S.frozen[i] = 0;
}

#endif
