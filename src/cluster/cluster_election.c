/*
 * cluster_election.c — the replica side of a failover (Redis 7.0
 * clusterHandleSlaveFailover, clusterGetSlaveRank, clusterRequestFailoverAuth,
 * clusterFailoverReplaceYourMaster) and replica migration
 * (clusterHandleSlaveMigration). The voting side is cluster_failover.c; manual
 * failover (CLUSTER FAILOVER, MFSTART, paused masters) is cluster_mf.c.
 *
 * Must not: read the clock or draw randomness other than through rnd(), touch
 * links, or decide a vote (only masters vote, in cluster_failover.c).
 *
 * ---- The election state machine (replica side) ---------------------------------
 *
 * Preconditions, checked at every step (else nothing moves, reason NONE):
 *   myself is a replica with a known master, the master serves >= 1 slot, and
 *   either the master is FAIL and cluster-replica-no-failover is off, or a
 *   manual failover may start (mf_end && mf_can_start, see cluster_mf.c).
 * Data age (automatic failover only): now - master_link_time - node_timeout
 *   must be <= node_timeout x cluster-replica-validity-factor +
 *   repl-ping-replica-period (factor 0 = always eligible).
 *
 *      +--------+  auth_age > retry        +---------+ rank grew: +1 s per rank
 *      |  NONE  | -----------------------> |  DELAY  | --------------+
 *      +--------+  (schedule: auth_time =  +---------+ <-------------+
 *          ^        now + fixed + rand(500)   |    | now >= auth_time,
 *          |        + rank x 1000; manual:    |    | auth_age <= timeout
 *          |        now, rank 0)              |    v
 *          |                                  |  +----------+ ACKs >= size/2+1
 *          |   auth_age > timeout (never sent)|  |  VOTING  | ---------------> promoted:
 *          |                                  v  +----------+                 myself master,
 *          |                          +-----------+   | auth_age > timeout    phase NONE
 *          |                          |  EXPIRED  | <-+
 *          |                          +-----------+
 *          |                                 | auth_age > retry: schedule again -> DELAY
 *          +---- role change (promotion, new master, CLUSTER RESET): cluster_election_reset
 *
 *   fixed = min(500, node_timeout / 30) ms (Valkey 9's shortening; Redis 7.0
 *   uses 500 — the wire protocol is the same); timeout = max(2 x node_timeout,
 *   2000) ms; retry = 2 x timeout; auth_age = now - auth_time (0 while
 *   auth_time is in the future). Rank = number of sibling replicas (not
 *   NOFAILOVER) whose gossiped replication offset is greater than ours.
 *
 * ---- Transition -> function ------------------------------------------------------
 *   any -> DELAY                  election_schedule (from cluster_election_handle),
 *                                 when auth_age > retry (or no election yet)
 *   DELAY -> DELAY (rank grew)    election_rank_update
 *   DELAY -> VOTING               election_request: currentEpoch++, SAVE+FSYNC,
 *                                 FAILOVER_AUTH_REQUEST to all (FORCEACK if manual)
 *   DELAY/VOTING -> EXPIRED       cluster_election_handle (timeout)
 *   VOTING: ACK counted           cluster_election_on_ack (from cluster_msg.c)
 *   VOTING -> promoted (NONE)     cluster_election_promote: configEpoch = election
 *                                 epoch, take the master's slots, set master
 *                                 (hooks.role_changed(NULL)), SAVE+FSYNC, PONG all
 *   any -> NONE                   cluster_election_reset (cluster_state.c calls it
 *                                 on every role change of myself)
 *
 * ---- Invariants (cluster_election_validate) -----------------------------------
 *   - myself is a master => phase NONE, no vote requested, no vote counted;
 *   - auth_count > 0 => auth_sent; auth_sent => 0 < auth_epoch <= currentEpoch;
 *   - phase DELAY => !auth_sent; phase VOTING => auth_sent;
 *   - lastVoteEpoch <= currentEpoch.
 *
 * ---- Replica migration ------------------------------------------------------------
 * A replica of a master with the most working replicas (>= 2, and more than
 * cluster-migration-barrier left behind), with the smallest id among those
 * masters' replicas, moves to an orphaned master (serving slots, not FAIL, no
 * working replica, MIGRATE_TO: it used to have replicas) once that master has
 * been orphaned for CLUSTER_SLAVE_MIGRATION_DELAY, only while the cluster state
 * is ok and cluster-allow-replica-migration is yes. Unlike Redis 7.0, which
 * resets a master's orphaned_time only while a migration is being considered,
 * we reset it at every tick when the master is not orphaned, so the delay
 * always measures one continuous orphaned period (a stale stamp from an earlier
 * period would let a replica migrate at once).
 */
#include "cluster/cluster_priv.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

static uint64_t since(uint64_t now_ms, uint64_t t)
{
    return now_ms > t ? now_ms - t : 0;
}

uint64_t cluster_election_my_offset(const cluster_t *c)
{
    if (c->hooks.repl_offset)
        return c->hooks.repl_offset(c->hooks.ctx);
    return c->repl_offset;
}

void cluster_election_reset(cluster_t *c)
{
    cluster_election_t *e = &c->election;
    e->auth_time = 0;
    e->auth_count = 0;
    e->auth_sent = 0;
    e->auth_rank = 0;
    e->auth_epoch = 0;
    e->cant_failover_reason = CLUSTER_CANT_FAILOVER_NONE;
    e->phase = CLUSTER_ELECTION_NONE;
    e->asap = 0;
}

int cluster_election_phase(const cluster_t *c)
{
    return c->election.phase;
}

int cluster_cant_failover_reason(const cluster_t *c)
{
    return c->election.cant_failover_reason;
}

void cluster_set_master_link(cluster_t *c, int up, uint64_t last_ms)
{
    c->master_link_up = up != 0;
    c->master_link_time = last_ms;
}

static uint64_t auth_timeout(const cluster_t *c)
{
    uint64_t t = c->cfg.node_timeout * 2;
    return t < 2000 ? 2000 : t;
}

/* Redis clusterLogCantFailover: log a stalled election, not every step. */
static void cant_failover(cluster_t *c, int reason, uint64_t now_ms)
{
    static const char *const msg[] = {
        [CLUSTER_CANT_FAILOVER_DATA_AGE] = "Disconnected from master for longer than allowed. "
                                           "Please check the 'cluster-replica-validity-factor' "
                                           "configuration option.",
        [CLUSTER_CANT_FAILOVER_WAITING_DELAY] = "Waiting the delay before I can start a new "
                                                "failover.",
        [CLUSTER_CANT_FAILOVER_EXPIRED] = "Failover attempt expired.",
        [CLUSTER_CANT_FAILOVER_WAITING_VOTES] = "Waiting for votes, but majority still not "
                                                "reached.",
    };
    cluster_election_t *e = &c->election;
    if (reason == e->cant_failover_reason &&
        since(now_ms, e->cant_log_time) < CLUSTER_CANT_FAILOVER_RELOG_PERIOD)
        return;
    e->cant_failover_reason = reason;
    cnode_t *m = c->myself->master;
    if (m && cnode_failed(m) && since(now_ms, m->fail_time) < c->cfg.node_timeout + 5000)
        return; /* a fresh failure: not a stalled replica yet */
    e->cant_log_time = now_ms;
    log_warning("Currently unable to failover: %s", msg[reason]);
}

/* Preconditions shared by automatic and manual failovers. */
static int election_allowed(const cluster_t *c, int manual)
{
    const cnode_t *me = c->myself;
    if (!cnode_is_replica(me) || !me->master || c->shutting_down)
        return 0;
    if (!cnode_failed(me->master) && !manual)
        return 0;
    if (c->cfg.replica_no_failover && !manual)
        return 0;
    return me->master->num_slots > 0;
}

/* Our data is recent enough to be promoted (cluster-replica-validity-factor). */
static int data_age_ok(const cluster_t *c, uint64_t now_ms)
{
    if (!c->cfg.replica_validity_factor)
        return 1;
    uint64_t age = c->master_link_time ? since(now_ms, c->master_link_time) : now_ms;
    if (age > c->cfg.node_timeout)
        age -= c->cfg.node_timeout;
    uint64_t period =
        c->cfg.repl_ping_replica_period > 0 ? (uint64_t)c->cfg.repl_ping_replica_period : 10;
    uint64_t limit = period * 1000 + c->cfg.node_timeout * (uint64_t)c->cfg.replica_validity_factor;
    return age <= limit;
}

/* Redis clusterGetSlaveRank: siblings with a better offset than ours. */
static int election_rank(const cluster_t *c)
{
    const cnode_t *me = c->myself, *m = me->master;
    if (!m)
        return 0;
    uint64_t mine = cluster_election_my_offset(c);
    int rank = 0;
    for (int j = 0; j < m->num_replicas; j++) {
        const cnode_t *r = m->replicas[j];
        if (r != me && !(r->flags & BUS_NODE_NOFAILOVER) && r->repl_offset > mine)
            rank++;
    }
    return rank;
}

static void election_schedule(cluster_t *c, uint64_t now_ms)
{
    cluster_election_t *e = &c->election;
    uint64_t fixed = c->cfg.node_timeout / 30;
    if (fixed > 500)
        fixed = 500;
    e->auth_time = now_ms + fixed + c->rnd() % 500;
    e->auth_count = 0;
    e->auth_sent = 0;
    e->auth_rank = election_rank(c);
    e->auth_time += (uint64_t)e->auth_rank * 1000;
    if (e->mf_end) { /* manual failover: no delay */
        e->auth_time = now_ms;
        e->auth_rank = 0;
        e->asap = 1;
    }
    e->phase = CLUSTER_ELECTION_DELAY;
    log_warning("Start of election delayed for %llu milliseconds (rank #%d, offset %llu).",
                (unsigned long long)(e->auth_time - now_ms), e->auth_rank,
                (unsigned long long)cluster_election_my_offset(c));
    /* Tell the siblings our offset so their ranks are right. */
    cluster_gossip_broadcast_pong(c, 1, now_ms);
}

/* Better offsets may have arrived since the schedule: only ever add delay. */
static void election_rank_update(cluster_t *c)
{
    cluster_election_t *e = &c->election;
    int rank = election_rank(c);
    if (rank <= e->auth_rank)
        return;
    uint64_t added = (uint64_t)(rank - e->auth_rank) * 1000;
    e->auth_time += added;
    e->auth_rank = rank;
    log_warning("Replica rank updated to #%d, added %llu milliseconds of delay.", rank,
                (unsigned long long)added);
}

static void election_request(cluster_t *c)
{
    cluster_election_t *e = &c->election;
    uint8_t storage[BUS_HDR_LEN];
    bus_buf_t b;
    bus_hdr_t h;
    c->current_epoch++;
    e->auth_epoch = c->current_epoch;
    e->auth_sent = 1;
    e->phase = CLUSTER_ELECTION_VOTING;
    log_warning("Starting a failover election for epoch %llu.",
                (unsigned long long)c->current_epoch);
    bus_buf_init(&b, storage, sizeof storage);
    cluster_gossip_build_header(c, &h);
    if (e->mf_end)
        h.mflags[0] |= BUS_MF_FORCEACK; /* voters grant though the master is up */
    bus_msg_build_auth_request(&b, &h);
    cluster_gossip_broadcast(c, &b, BUS_TYPE_FAILOVER_AUTH_REQUEST);
    bus_buf_deinit(&b);
    /* The new currentEpoch is on disk before the requests leave. */
    cluster_state_todo(c, CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_FSYNC);
}

void cluster_election_handle(cluster_t *c, uint64_t now_ms)
{
    cluster_election_t *e = &c->election;
    int manual = e->mf_end != 0 && e->mf_can_start;
    uint64_t timeout = auth_timeout(c), retry = timeout * 2;
    if (!election_allowed(c, manual)) {
        e->cant_failover_reason = CLUSTER_CANT_FAILOVER_NONE;
        return;
    }
    if (!manual && !data_age_ok(c, now_ms)) {
        cant_failover(c, CLUSTER_CANT_FAILOVER_DATA_AGE, now_ms);
        return;
    }
    uint64_t auth_age = since(now_ms, e->auth_time);
    if (e->auth_time == 0 || auth_age > retry) {
        election_schedule(c, now_ms);
        return;
    }
    if (!e->auth_sent && !e->mf_end)
        election_rank_update(c);
    if (now_ms < e->auth_time) {
        cant_failover(c, CLUSTER_CANT_FAILOVER_WAITING_DELAY, now_ms);
        return;
    }
    if (auth_age > timeout) {
        e->phase = CLUSTER_ELECTION_EXPIRED;
        cant_failover(c, CLUSTER_CANT_FAILOVER_EXPIRED, now_ms);
        return;
    }
    if (!e->auth_sent) {
        election_request(c);
        return;
    }
    if (e->auth_count < c->size / 2 + 1) {
        cant_failover(c, CLUSTER_CANT_FAILOVER_WAITING_VOTES, now_ms);
        return;
    }
    log_warning("Failover election won: I'm the new master.");
    if (c->myself->config_epoch < e->auth_epoch) {
        c->myself->config_epoch = e->auth_epoch;
        log_warning("configEpoch set to %llu after successful failover",
                    (unsigned long long)e->auth_epoch);
    }
    cluster_election_promote(c, now_ms);
}

void cluster_election_on_ack(cluster_t *c, cnode_t *sender, const bus_hdr_t *h)
{
    cluster_election_t *e = &c->election;
    if (!sender || !cnode_is_replica(c->myself) || !e->auth_sent)
        return;
    /* Only masters serving slots vote, and only for this election's epoch. */
    if (!cnode_is_master(sender) || sender->num_slots == 0 || h->current_epoch < e->auth_epoch)
        return;
    e->auth_count++;
    e->asap = 1; /* maybe a quorum now: check before returning */
}

void cluster_election_promote(cluster_t *c, uint64_t now_ms)
{
    cnode_t *me = c->myself, *old = me->master;
    if (cnode_is_master(me) || !old)
        return;
    for (int j = 0; j < CLUSTER_SLOTS; j++) {
        if (!bus_slot_test(old->slots, (unsigned)j))
            continue;
        cluster_state_del_slot(c, j);
        cluster_state_add_slot(c, me, j);
    }
    cluster_state_set_node_as_master(c, me); /* hooks.role_changed(NULL) */
    cluster_fail_update_state(c, now_ms);
    cluster_state_todo(c, CLUSTER_TODO_SAVE | CLUSTER_TODO_FSYNC);
    cluster_gossip_broadcast_pong(c, 0, now_ms);
    cluster_mf_reset(c);
}

/* ---- replica migration ---------------------------------------------------------- */

static int ok_replicas(const cnode_t *m)
{
    int ok = 0;
    for (int j = 0; j < m->num_replicas; j++)
        ok += !cnode_failed(m->replicas[j]);
    return ok;
}

/* Step 3 of Redis clusterHandleSlaveMigration: the orphaned target and the
 * candidate replica (smallest id among the replicas of the best-served masters). */
static cnode_t *migration_target(cluster_t *c, int max_replicas, cnode_t **candidate,
                                 uint64_t now_ms)
{
    cnode_t *target = NULL;
    *candidate = c->myself;
    for (size_t i = 0; i < c->n_nodes; i++) {
        cnode_t *n = c->nodes[i];
        int ok = cnode_is_master(n) ? ok_replicas(n) : 0;
        int orphaned =
            !cnode_is_replica(n) && !cnode_failed(n) && (n->flags & BUS_NODE_MIGRATE_TO) && ok == 0;
        if (orphaned) {
            if (!target && n->num_slots > 0)
                target = n;
            if (!n->orphaned_time)
                n->orphaned_time = now_ms;
        } else {
            n->orphaned_time = 0;
        }
        if (ok != max_replicas)
            continue;
        for (int j = 0; j < n->num_replicas; j++)
            if (memcmp(n->replicas[j]->name, (*candidate)->name, CLUSTER_NAMELEN) < 0)
                *candidate = n->replicas[j];
    }
    return target;
}

static void migration_handle(cluster_t *c, int max_replicas, uint64_t now_ms)
{
    cnode_t *mine = c->myself->master, *candidate;
    if (c->state != BUS_STATE_OK || !mine)
        return;
    int ok = 0;
    for (int j = 0; j < mine->num_replicas; j++)
        ok += !(mine->replicas[j]->flags & (BUS_NODE_FAIL | BUS_NODE_PFAIL));
    if (ok <= c->cfg.migration_barrier)
        return;
    cnode_t *target = migration_target(c, max_replicas, &candidate, now_ms);
    if (!target || candidate != c->myself ||
        since(now_ms, target->orphaned_time) <= CLUSTER_SLAVE_MIGRATION_DELAY)
        return;
    log_notice("Migrating to orphaned master %.40s", target->name);
    cluster_state_set_my_master(c, target);
    cluster_state_todo(c, CLUSTER_TODO_SAVE | CLUSTER_TODO_UPDATE_STATE);
}

void cluster_election_migration(cluster_t *c, uint64_t now_ms)
{
    const cnode_t *me = c->myself;
    int orphaned = 0, max_replicas = 0, mine = 0;
    for (size_t i = 0; i < c->n_nodes; i++) {
        cnode_t *n = c->nodes[i];
        if (n->flags & (BUS_NODE_MYSELF | BUS_NODE_NOADDR | BUS_NODE_HANDSHAKE))
            continue;
        if (!cnode_is_master(n) || cnode_failed(n)) {
            n->orphaned_time = 0;
            continue;
        }
        int ok = ok_replicas(n);
        if (ok == 0 && n->num_slots > 0 && (n->flags & BUS_NODE_MIGRATE_TO))
            orphaned++;
        else
            n->orphaned_time = 0; /* the delay counts a continuous orphaned period */
        if (ok > max_replicas)
            max_replicas = ok;
        if (me->master == n)
            mine = ok;
    }
    if (!cnode_is_replica(me) || !c->cfg.allow_replica_migration)
        return;
    if (orphaned && max_replicas >= 2 && mine == max_replicas)
        migration_handle(c, max_replicas, now_ms);
}

/* ---- drivers ---------------------------------------------------------------------- */

void cluster_failover_cron(cluster_t *c, uint64_t now_ms)
{
    cluster_mf_check_timeout(c, now_ms);
    if (cnode_is_replica(c->myself)) {
        cluster_mf_handle(c, now_ms);
        cluster_election_handle(c, now_ms);
    }
    cluster_election_migration(c, now_ms); /* a master only tracks orphaned periods */
    cluster_failover_asap(c, now_ms);
}

void cluster_failover_asap(cluster_t *c, uint64_t now_ms)
{
    for (int i = 0; i < 4 && c->election.asap; i++) {
        c->election.asap = 0;
        if (!cnode_is_replica(c->myself))
            break;
        cluster_mf_handle(c, now_ms);
        cluster_election_handle(c, now_ms);
    }
    c->election.asap = 0;
}

/* ---- validator ---------------------------------------------------------------------- */

#define CHECK(cond, what)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            log_warning("cluster_validate: election: %s", what);                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

void cluster_election_validate(const cluster_t *c)
{
    const cluster_election_t *e = &c->election;
    CHECK(e->phase >= CLUSTER_ELECTION_NONE && e->phase <= CLUSTER_ELECTION_EXPIRED, "phase");
    if (cnode_is_master(c->myself))
        CHECK(e->phase == CLUSTER_ELECTION_NONE && !e->auth_sent && e->auth_count == 0,
              "a master with an election");
    CHECK(e->auth_count == 0 || e->auth_sent, "votes counted without a request");
    CHECK(!e->auth_sent || (e->auth_epoch > 0 && e->auth_epoch <= c->current_epoch),
          "election epoch");
    CHECK(e->phase != CLUSTER_ELECTION_DELAY || !e->auth_sent, "DELAY after the request");
    CHECK(e->phase != CLUSTER_ELECTION_VOTING || e->auth_sent, "VOTING without a request");
    CHECK(c->last_vote_epoch <= c->current_epoch, "lastVoteEpoch > currentEpoch");
}
