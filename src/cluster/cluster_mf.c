/*
 * cluster_mf.c — manual failover (Redis 7.0 CLUSTER FAILOVER [FORCE|TAKEOVER],
 * MFSTART, resetManualFailover, manualFailoverCheckTimeout,
 * clusterHandleManualFailover) and the hand-over of a master's slots at
 * SHUTDOWN (cluster_shutdown_handoff).
 *
 * Must not: read the clock, touch links, pause clients itself (it asks the
 * server through hooks.pause_writes), or run the election (cluster_election.c
 * does once mf_can_start is set).
 *
 * ---- Replica side ---------------------------------------------------------------
 *
 *   CLUSTER FAILOVER            +-------------+ PING/PONG from my master with
 *   (master up and linked):     | WAIT_OFFSET | mflags PAUSED: remember its offset
 *   MFSTART -> master  -------> +-------------+ ----------------+
 *                                                                v
 *   MFSTART+FORCEACK from my master (shutdown hand-over,  +-------------+
 *   its final offset in the header) -------------------> |  CATCH_UP   |
 *                                                         +-------------+
 *   CLUSTER FAILOVER FORCE ---------------+                      | my offset == master's
 *                                         v                      v
 *                                   +-----------------------------------+
 *                                   | ELECTION (mf_can_start): election |
 *                                   | at once, rank 0, FORCEACK, no     |--> promoted (NONE)
 *                                   | data-age check                    |
 *                                   +-----------------------------------+
 *   CLUSTER FAILOVER TAKEOVER: configEpoch bumped without consensus, promoted at
 *   once (NONE). Any phase: now > mf_end (CLUSTER_MF_TIMEOUT after the start)
 *   -> NONE ("Manual failover timed out."); a role change -> NONE.
 *
 * ---- Master side -------------------------------------------------------------------
 *
 *   NONE --MFSTART from one of my replicas--> PAUSED: hooks.pause_writes(now +
 *   CLUSTER_MF_TIMEOUT x CLUSTER_MF_PAUSE_MULT), a PING back at once and one to
 *   that replica every tick, all headers flagged PAUSED with our offset.
 *   PAUSED --timeout, or we become a replica of the winner--> NONE:
 *   hooks.pause_writes(0) (clients resume and get redirected).
 *
 * ---- Transition -> function ------------------------------------------------------
 *   NONE -> WAIT_OFFSET           cluster_failover_start (DEFAULT): mf_send_mfstart
 *   NONE -> ELECTION              cluster_failover_start (FORCE)
 *   NONE -> promoted              cluster_failover_start (TAKEOVER)
 *   WAIT_OFFSET -> CATCH_UP       cluster_mf_on_header
 *   NONE -> CATCH_UP              cluster_mf_on_mfstart (hand-over from my master)
 *   CATCH_UP -> ELECTION          cluster_mf_handle
 *   ELECTION -> promoted          cluster_election_handle (cluster_election.c)
 *   NONE -> PAUSED                cluster_mf_on_mfstart (from my replica)
 *   any -> NONE                   cluster_mf_check_timeout, cluster_mf_reset (role
 *                                 changes, promotion, CLUSTER RESET, deleted replica)
 *
 * ---- Invariants (cluster_mf_validate) -----------------------------------------------
 *   - mf_end == 0 <=> phase NONE: no replica, no offset, no start, no pause owed;
 *   - mf_replica set => myself is a master, mf_replica is a live node, writes paused;
 *   - mf_offset_known or mf_can_start => myself is a replica;
 *   - a pause is always resumed: every path that clears mf_end goes through
 *     cluster_mf_reset, which calls hooks.pause_writes(0) when mf_paused.
 *
 * ---- SHUTDOWN hand-over: the decision ------------------------------------------------
 * Redis 7.0 has no failover on shutdown (the master only waits, shutdown-timeout,
 * for its replicas to catch up); Valkey 8.1 had the master send a CLUSTER FAILOVER
 * command through the replication link. Tessera keeps the hand-over on the bus
 * and inside Redis 7.0's vocabulary: the master sends MFSTART with the FORCEACK
 * flag and its final replication offset to its best replica. The direction is
 * new (Redis sends MFSTART only from a replica to its master) and harmless: a
 * Redis 7.0 node accepts MFSTART only from one of its replicas, so a Redis replica
 * ignores it and fails over after node_timeout as before; no other node sees it.
 * A Tessera replica treats it as a manual failover whose paused offset is already
 * known: once it has processed that offset (nothing acknowledged is lost) it asks
 * for votes with FORCEACK — Redis 7.0 voters grant those — within
 * CLUSTER_MF_TIMEOUT, else it gives up and the ordinary failover applies.
 * A node that is itself shutting down neither takes a hand-over nor votes for
 * one (cluster_set_shutting_down), so stopping every node at once rarely swaps roles.
 */
#include "cluster/cluster_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

#define ERR(...) (snprintf(err, cap, __VA_ARGS__), -1)

void cluster_mf_reset(cluster_t *c)
{
    cluster_election_t *e = &c->election;
    int resume = e->mf_paused;
    e->mf_end = 0;
    e->mf_can_start = 0;
    e->mf_replica = NULL;
    e->mf_master_offset = 0;
    e->mf_offset_known = 0;
    e->mf_paused = 0;
    if (resume && c->hooks.pause_writes)
        c->hooks.pause_writes(c->hooks.ctx, 0);
}

int cluster_mf_phase(const cluster_t *c)
{
    const cluster_election_t *e = &c->election;
    if (!e->mf_end)
        return CLUSTER_MF_NONE;
    if (e->mf_replica)
        return CLUSTER_MF_PAUSED;
    if (e->mf_can_start)
        return CLUSTER_MF_ELECTION;
    return e->mf_offset_known ? CLUSTER_MF_CATCH_UP : CLUSTER_MF_WAIT_OFFSET;
}

void cluster_mf_check_timeout(cluster_t *c, uint64_t now_ms)
{
    if (c->election.mf_end && c->election.mf_end < now_ms) {
        log_warning("Manual failover timed out.");
        cluster_mf_reset(c);
    }
}

void cluster_mf_handle(cluster_t *c, uint64_t now_ms)
{
    cluster_election_t *e = &c->election;
    (void)now_ms;
    if (!e->mf_end || e->mf_can_start || !e->mf_offset_known)
        return;
    if (cluster_election_my_offset(c) != e->mf_master_offset)
        return; /* still replaying: checked again every tick */
    e->mf_can_start = 1;
    e->asap = 1;
    log_warning("All master replication stream processed, manual failover can start.");
}

void cluster_mf_on_header(cluster_t *c, cnode_t *sender, const bus_hdr_t *h)
{
    cluster_election_t *e = &c->election;
    const cnode_t *me = c->myself;
    if (!e->mf_end || !cnode_is_replica(me) || me->master != sender ||
        !(h->mflags[0] & BUS_MF_PAUSED) || e->mf_offset_known)
        return;
    e->mf_master_offset = h->offset;
    e->mf_offset_known = 1;
    e->asap = 1;
    log_warning("Received replication offset for paused master manual failover: %llu",
                (unsigned long long)h->offset);
}

static void mf_send(cluster_t *c, cnode_t *to, uint8_t mflags0)
{
    uint8_t storage[BUS_HDR_LEN];
    bus_buf_t b;
    bus_hdr_t h;
    bus_buf_init(&b, storage, sizeof storage);
    cluster_gossip_build_header(c, &h);
    h.mflags[0] |= mflags0;
    bus_msg_build_mfstart(&b, &h);
    cluster_state_queue(c, to, &b, BUS_TYPE_MFSTART);
    bus_buf_deinit(&b);
}

/* Master side: one of our replicas asks for a manual failover. */
static void mf_master_start(cluster_t *c, cluster_link_in_t *in, cnode_t *replica, uint64_t now_ms)
{
    cluster_election_t *e = &c->election;
    cluster_mf_reset(c);
    e->mf_end = now_ms + CLUSTER_MF_TIMEOUT;
    e->mf_replica = replica;
    e->mf_paused = 1;
    if (c->hooks.pause_writes)
        c->hooks.pause_writes(c->hooks.ctx,
                              now_ms + (uint64_t)CLUSTER_MF_TIMEOUT * CLUSTER_MF_PAUSE_MULT);
    log_warning("Manual failover requested by replica %.40s.", replica->name);
    /* Our paused offset goes back at once, on the link the request came in on. */
    if (in && in->reply)
        cluster_gossip_reply_ping(c, in->reply, BUS_TYPE_PING, now_ms);
    else
        cluster_gossip_send_ping(c, replica, BUS_TYPE_PING, now_ms);
}

void cluster_mf_on_mfstart(cluster_t *c, cluster_link_in_t *in, cnode_t *sender, const bus_hdr_t *h,
                           uint64_t now_ms)
{
    cluster_election_t *e = &c->election;
    cnode_t *me = c->myself;
    if (!sender)
        return;
    if (cnode_is_master(me) && sender->master == me) {
        mf_master_start(c, in, sender, now_ms);
        return;
    }
    /* The SHUTDOWN hand-over: our master, FORCEACK, its final offset. */
    if (!cnode_is_replica(me) || me->master != sender || !(h->mflags[0] & BUS_MF_FORCEACK))
        return;
    if (c->shutting_down) {
        log_warning("My master %.40s hands its slots over to me, but I am shutting down too.",
                    sender->name);
        return;
    }
    cluster_mf_reset(c);
    e->mf_end = now_ms + CLUSTER_MF_TIMEOUT;
    e->mf_master_offset = h->offset;
    e->mf_offset_known = 1;
    e->asap = 1;
    log_warning("My master %.40s is shutting down and hands its slots over to me at offset "
                "%llu.",
                sender->name, (unsigned long long)h->offset);
}

int cluster_failover_start(cluster_t *c, int mode, char *err, size_t cap, uint64_t now_ms)
{
    cluster_election_t *e = &c->election;
    cnode_t *me = c->myself;
    if (mode < CLUSTER_FAILOVER_DEFAULT || mode > CLUSTER_FAILOVER_TAKEOVER)
        return ERR("ERR syntax error");
    if (cnode_is_master(me))
        return ERR("ERR You should send CLUSTER FAILOVER to a replica");
    if (!me->master)
        return ERR("ERR I'm a replica but my master is unknown to me");
    if (mode == CLUSTER_FAILOVER_DEFAULT &&
        (cnode_failed(me->master) || !me->master->link_connected))
        return ERR("ERR Master is down or failed, please use CLUSTER FAILOVER FORCE");
    cluster_mf_reset(c);
    e->mf_end = now_ms + CLUSTER_MF_TIMEOUT;
    if (mode == CLUSTER_FAILOVER_TAKEOVER) {
        log_warning("Taking over the master (user request).");
        cluster_state_bump_epoch_no_consensus(c);
        cluster_election_promote(c, now_ms);
    } else if (mode == CLUSTER_FAILOVER_FORCE) {
        log_warning("Forced failover user request accepted.");
        e->mf_can_start = 1;
        e->asap = 1;
        cluster_failover_asap(c, now_ms);
    } else {
        log_warning("Manual failover user request accepted.");
        mf_send(c, me->master, 0);
    }
    return 0;
}

/* The replica that should take over at shutdown: reachable, allowed to fail
 * over, best gossiped offset, then smallest id. */
static cnode_t *handoff_pick(const cluster_t *c)
{
    const cnode_t *me = c->myself;
    cnode_t *best = NULL;
    for (int j = 0; j < me->num_replicas; j++) {
        cnode_t *r = me->replicas[j];
        if ((r->flags & (BUS_NODE_FAIL | BUS_NODE_PFAIL | BUS_NODE_NOFAILOVER)) ||
            !r->link_connected)
            continue;
        if (!best || r->repl_offset > best->repl_offset ||
            (r->repl_offset == best->repl_offset &&
             memcmp(r->name, best->name, CLUSTER_NAMELEN) < 0))
            best = r;
    }
    return best;
}

cnode_t *cluster_shutdown_handoff(cluster_t *c, uint64_t now_ms)
{
    cnode_t *me = c->myself;
    (void)now_ms;
    if (!cnode_is_master(me) || me->num_slots == 0)
        return NULL;
    cnode_t *best = handoff_pick(c);
    if (!best)
        return NULL;
    cluster_mf_reset(c); /* a manual failover in progress is superseded */
    mf_send(c, best, BUS_MF_FORCEACK);
    log_warning("Shutting down: handing my slots over to replica %.40s (its offset %llu, "
                "mine %llu).",
                best->name, (unsigned long long)best->repl_offset,
                (unsigned long long)cluster_election_my_offset(c));
    return best;
}

void cluster_set_shutting_down(cluster_t *c, int on)
{
    c->shutting_down = on != 0;
    if (on && cnode_is_replica(c->myself))
        cluster_mf_reset(c); /* a hand-over or manual failover in progress ends here */
}

/* ---- validator ---------------------------------------------------------------------- */

#define CHECK(cond, what)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            log_warning("cluster_validate: manual failover: %s", what);                            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

void cluster_mf_validate(const cluster_t *c)
{
    const cluster_election_t *e = &c->election;
    if (!e->mf_end)
        CHECK(!e->mf_replica && !e->mf_can_start && !e->mf_offset_known && !e->mf_paused,
              "state without a deadline");
    if (e->mf_replica) {
        CHECK(cnode_is_master(c->myself), "a replica paused for a replica");
        CHECK(cluster_state_lookup40(c, e->mf_replica->name) == e->mf_replica,
              "unknown mf replica");
        CHECK(e->mf_paused, "master side without a pause");
    }
    if (e->mf_offset_known || e->mf_can_start)
        CHECK(cnode_is_replica(c->myself), "a master waiting to fail over");
    CHECK(!e->mf_paused || e->mf_replica, "a pause without a replica");
}
