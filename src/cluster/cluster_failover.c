/*
 * cluster_failover.c — failover as seen by a voting master (Redis 7.0
 * clusterSendFailoverAuthIfNeeded). A replica whose master failed asks every
 * master for its vote with FAILOVER_AUTH_REQUEST; a master serving slots grants
 * at most one vote per epoch, persisted (lastVoteEpoch, SAVE + FSYNC) before the
 * FAILOVER_AUTH_ACK leaves (the loop saves nodes.conf before draining the
 * outbox). Denials are silent on the wire, as in Redis, and logged.
 *
 * The replica side (election delay and rank, requesting votes, counting ACKs,
 * promotion) and replica migration are in cluster_election.c; manual failover
 * (MFSTART, paused clients, FORCE/TAKEOVER) and the SHUTDOWN hand-over in
 * cluster_mf.c. A FAILOVER_AUTH_REQUEST flagged FORCEACK (manual failover) is
 * granted although the candidate's master is not FAIL, as in Redis.
 *
 * Must not: read the clock, touch links, or vote while we are a replica, a
 * master without slots, or shutting down (see cluster_set_shutting_down).
 * Invariants: last_vote_epoch <= current_epoch; at most one ACK per epoch; no
 * second vote for replicas of the same master within 2 x node_timeout
 * (master->voted_time).
 */
#include "cluster/cluster_priv.h"

#include "lib/log.h"

/* 1 if some slot the candidate claims is served by a master with a greater
 * configEpoch than the candidate's (its view is stale). */
static int vote_stale_claim(const cluster_t *c, const cnode_t *node, const bus_hdr_t *req)
{
    for (int j = 0; j < CLUSTER_SLOTS; j++) {
        if (!bus_slot_test(req->myslots, (unsigned)j))
            continue;
        const cnode_t *owner = c->slots[j];
        if (!owner || owner->config_epoch <= req->config_epoch)
            continue;
        log_warning("Failover auth denied to %.40s: slot %d epoch (%llu) > reqEpoch (%llu)",
                    node->name, j, (unsigned long long)owner->config_epoch,
                    (unsigned long long)req->config_epoch);
        return 1;
    }
    return 0;
}

/* The candidate must be a replica whose master is FAIL (or FORCEACK). */
static int vote_role_ok(const cnode_t *node, const bus_hdr_t *req)
{
    cnode_t *master = node->master;
    int force_ack = (req->mflags[0] & BUS_MF_FORCEACK) != 0;
    if (cnode_is_master(node)) {
        log_warning("Failover auth denied to %.40s: it is a master node", node->name);
        return 0;
    }
    if (!master) {
        log_warning("Failover auth denied to %.40s: I don't know its master", node->name);
        return 0;
    }
    if (!cnode_failed(master) && !force_ack) {
        log_warning("Failover auth denied to %.40s: its master is up", node->name);
        return 0;
    }
    return 1;
}

static void vote_send_ack(cluster_t *c, cnode_t *to)
{
    uint8_t storage[BUS_HDR_LEN];
    bus_buf_t b;
    bus_hdr_t h;
    bus_buf_init(&b, storage, sizeof storage);
    cluster_gossip_build_header(c, &h);
    bus_msg_build_auth_ack(&b, &h);
    cluster_state_queue(c, to, &b, BUS_TYPE_FAILOVER_AUTH_ACK);
    bus_buf_deinit(&b);
}

void cluster_failover_vote(cluster_t *c, cnode_t *node, const bus_hdr_t *req, uint64_t now_ms)
{
    cnode_t *me = c->myself;
    if (cnode_is_replica(me) || me->num_slots == 0)
        return; /* only masters serving slots vote */
    if (c->shutting_down) {
        log_warning("Failover auth denied to %.40s: I am shutting down", node->name);
        return;
    }
    if (req->current_epoch < c->current_epoch) {
        log_warning("Failover auth denied to %.40s: reqEpoch (%llu) < curEpoch(%llu)", node->name,
                    (unsigned long long)req->current_epoch,
                    (unsigned long long)c->current_epoch);
        return;
    }
    if (c->last_vote_epoch == c->current_epoch) {
        log_warning("Failover auth denied to %.40s: already voted for epoch %llu", node->name,
                    (unsigned long long)c->current_epoch);
        return;
    }
    if (!vote_role_ok(node, req))
        return;
    uint64_t window = c->cfg.node_timeout * 2;
    uint64_t since = now_ms > node->master->voted_time ? now_ms - node->master->voted_time : 0;
    if (since < window) {
        log_warning("Failover auth denied to %.40s: can't vote about this master before %llu "
                    "milliseconds", node->name, (unsigned long long)(window - since));
        return;
    }
    if (vote_stale_claim(c, node, req))
        return;
    c->last_vote_epoch = c->current_epoch;
    node->master->voted_time = now_ms;
    cluster_state_todo(c, CLUSTER_TODO_SAVE | CLUSTER_TODO_FSYNC);
    vote_send_ack(c, node);
    log_warning("Failover auth granted to %.40s for epoch %llu", node->name,
                (unsigned long long)c->current_epoch);
}
