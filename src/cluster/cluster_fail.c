/*
 * cluster_fail.c — failure detection and the cluster cron (Redis 7.0 clusterCron):
 * handshake timeouts, the periodic PINGs, link resets, PFAIL, failure reports and
 * the PFAIL -> FAIL quorum, clearing FAIL, and the cluster state (ok/fail, size).
 *
 * Must not: read the clock (now_ms comes from the caller), touch links (it only
 * sets n->link_reset), or process messages.
 * Invariants: a failure report is valid for CLUSTER_FAIL_REPORT_VALIDITY_MULT x
 * node_timeout and expired ones are dropped before counting; FAIL is set only on
 * a PFAIL node with reports from a majority of the masters that serve slots (we
 * count ourselves when we are a master), and is then broadcast; cluster_state is
 * fail while a slot is unserved or served by a FAIL node (with
 * cluster-require-full-coverage yes) or while we see fewer than a majority of
 * the slot-serving masters reachable; a master waits CLUSTER_WRITABLE_DELAY
 * after its first state update and a rejoin delay after being in a minority
 * before it turns ok.
 */
#include "cluster/cluster_priv.h"

#include <string.h>

#include "lib/log.h"
#include "lib/mem.h"

/* now - t, 0 when t is in the future (clocks may step). */
static uint64_t since(uint64_t now_ms, uint64_t t)
{
    return now_ms > t ? now_ms - t : 0;
}

/* ---- failure reports -------------------------------------------------------- */

static void reports_cleanup(cluster_t *c, cnode_t *n, uint64_t now_ms)
{
    uint64_t maxtime = c->cfg.node_timeout * CLUSTER_FAIL_REPORT_VALIDITY_MULT;
    size_t w = 0;
    for (size_t i = 0; i < n->n_fail_reports; i++)
        if (since(now_ms, n->fail_reports[i].time) <= maxtime)
            n->fail_reports[w++] = n->fail_reports[i];
    n->n_fail_reports = w;
}

int cluster_fail_report_add(cluster_t *c, cnode_t *failing, cnode_t *sender, uint64_t now_ms)
{
    (void)c;
    for (size_t i = 0; i < failing->n_fail_reports; i++) {
        if (failing->fail_reports[i].node == sender) {
            failing->fail_reports[i].time = now_ms;
            return 0;
        }
    }
    if (failing->n_fail_reports == failing->fail_reports_cap) {
        failing->fail_reports_cap = failing->fail_reports_cap ? failing->fail_reports_cap * 2 : 4;
        failing->fail_reports = mem_realloc(
            failing->fail_reports, failing->fail_reports_cap * sizeof *failing->fail_reports);
    }
    failing->fail_reports[failing->n_fail_reports++] = (cnode_fail_report_t){sender, now_ms};
    return 1;
}

int cluster_fail_report_del(cluster_t *c, cnode_t *failing, cnode_t *sender, uint64_t now_ms)
{
    size_t i = 0;
    while (i < failing->n_fail_reports && failing->fail_reports[i].node != sender)
        i++;
    if (i == failing->n_fail_reports)
        return 0;
    failing->fail_reports[i] = failing->fail_reports[--failing->n_fail_reports];
    reports_cleanup(c, failing, now_ms);
    return 1;
}

int cluster_fail_report_count(cluster_t *c, cnode_t *n, uint64_t now_ms)
{
    reports_cleanup(c, n, now_ms);
    return (int)n->n_fail_reports;
}

int cluster_failure_reports_count(cluster_t *c, cnode_t *n, uint64_t now_ms)
{
    return cluster_fail_report_count(c, n, now_ms);
}

/* PFAIL -> FAIL when a majority of masters agree; broadcast it. */
void cluster_fail_mark_if_needed(cluster_t *c, cnode_t *n, uint64_t now_ms)
{
    int needed_quorum = c->size / 2 + 1;
    if (!(n->flags & BUS_NODE_PFAIL) || (n->flags & BUS_NODE_FAIL))
        return;
    int failures = cluster_fail_report_count(c, n, now_ms);
    if (cnode_is_master(c->myself))
        failures++;
    if (failures < needed_quorum)
        return;
    log_notice("Marking node %.40s as failing (quorum reached).", n->name);
    n->flags &= ~(uint32_t)BUS_NODE_PFAIL;
    n->flags |= BUS_NODE_FAIL;
    n->fail_time = now_ms;
    cluster_gossip_send_fail(c, n->name);
    cluster_state_todo(c, CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_SAVE);
}

/* FAIL -> known for a reachable replica or slotless master at once, for a master
 * still serving its slots after CLUSTER_FAIL_UNDO_TIME_MULT x node_timeout. */
void cluster_fail_clear_if_needed(cluster_t *c, cnode_t *n, uint64_t now_ms)
{
    if (cnode_is_replica(n) || n->num_slots == 0) {
        log_notice("Clear FAIL state for node %.40s: %s is reachable again.", n->name,
                   cnode_is_replica(n) ? "replica" : "master without slots");
        n->flags &= ~(uint32_t)BUS_NODE_FAIL;
        cluster_state_todo(c, CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_SAVE);
    }
    if (cnode_is_master(n) && n->num_slots > 0 &&
        since(now_ms, n->fail_time) > c->cfg.node_timeout * CLUSTER_FAIL_UNDO_TIME_MULT) {
        log_notice("Clear FAIL state for node %.40s: is reachable again and nobody is serving "
                   "its slots after some time.", n->name);
        n->flags &= ~(uint32_t)BUS_NODE_FAIL;
        cluster_state_todo(c, CLUSTER_TODO_UPDATE_STATE | CLUSTER_TODO_SAVE);
    }
}

/* ---- cluster state ------------------------------------------------------------ */

static int state_from_slots(const cluster_t *c)
{
    if (!c->cfg.require_full_coverage)
        return BUS_STATE_OK;
    for (int j = 0; j < CLUSTER_SLOTS; j++)
        if (!c->slots[j] || (c->slots[j]->flags & BUS_NODE_FAIL))
            return BUS_STATE_FAIL;
    return BUS_STATE_OK;
}

void cluster_fail_update_state(cluster_t *c, uint64_t now_ms)
{
    cnode_t *me = c->myself;
    c->todo &= ~CLUSTER_TODO_UPDATE_STATE;
    if (c->first_update_time == 0)
        c->first_update_time = now_ms ? now_ms : 1;
    if (cnode_is_master(me) && c->state == BUS_STATE_FAIL &&
        since(now_ms, c->first_update_time) < CLUSTER_WRITABLE_DELAY)
        return;
    int new_state = state_from_slots(c);
    int reachable = 0;
    c->size = 0;
    for (size_t i = 0; i < c->n_nodes; i++) {
        cnode_t *n = c->nodes[i];
        if (cnode_is_master(n) && n->num_slots) {
            c->size++;
            if (!(n->flags & (BUS_NODE_FAIL | BUS_NODE_PFAIL)))
                reachable++;
        }
    }
    if (reachable < c->size / 2 + 1) {
        new_state = BUS_STATE_FAIL;
        c->among_minority_time = now_ms;
    }
    if (new_state == c->state)
        return;
    uint64_t rejoin_delay = c->cfg.node_timeout;
    if (rejoin_delay > CLUSTER_MAX_REJOIN_DELAY)
        rejoin_delay = CLUSTER_MAX_REJOIN_DELAY;
    if (rejoin_delay < CLUSTER_MIN_REJOIN_DELAY)
        rejoin_delay = CLUSTER_MIN_REJOIN_DELAY;
    if (new_state == BUS_STATE_OK && cnode_is_master(me) && c->among_minority_time &&
        since(now_ms, c->among_minority_time) < rejoin_delay)
        return;
    if (new_state == BUS_STATE_OK)
        log_notice("Cluster state changed: ok");
    else
        log_warning("Cluster state changed: fail");
    c->state = new_state;
}

/* ---- cron ----------------------------------------------------------------------- */

/* Handshake timeouts and the PFAIL count used by gossip. */
static void fail_handshake_timeout(cluster_t *c, uint64_t now_ms)
{
    uint64_t handshake_timeout = c->cfg.node_timeout < 1000 ? 1000 : c->cfg.node_timeout;
    c->pfail_nodes = 0;
    for (size_t i = c->n_nodes; i-- > 0;) {
        cnode_t *n = c->nodes[i];
        if (n->flags & (BUS_NODE_MYSELF | BUS_NODE_NOADDR))
            continue;
        if (n->flags & BUS_NODE_PFAIL)
            c->pfail_nodes++;
        if ((n->flags & BUS_NODE_HANDSHAKE) && since(now_ms, n->ctime) > handshake_timeout)
            cluster_state_node_del(c, n);
    }
}

/* Once per second: ping the node with the oldest PONG among 5 random ones. */
static void fail_ping_random(cluster_t *c, uint64_t now_ms)
{
    cnode_t *min_node = NULL;
    uint64_t min_pong = 0;
    for (int j = 0; j < 5; j++) {
        cnode_t *n = c->nodes[c->rnd() % c->n_nodes];
        if (!n->link_connected || n->ping_sent != 0)
            continue;
        if (n->flags & (BUS_NODE_MYSELF | BUS_NODE_HANDSHAKE))
            continue;
        if (!min_node || min_pong > n->pong_received) {
            min_node = n;
            min_pong = n->pong_received;
        }
    }
    if (min_node) {
        log_debug("Pinging node %.40s", min_node->name);
        cluster_gossip_send_ping(c, min_node, BUS_TYPE_PING, now_ms);
    }
}

/* Per node: reset a silent link, ping when the last PONG is old, flag PFAIL.
 * Returns 1 if the node became PFAIL. */
static int fail_check_node(cluster_t *c, cnode_t *n, uint64_t now_ms)
{
    uint64_t timeout = c->cfg.node_timeout;
    uint64_t ping_delay = since(now_ms, n->ping_sent);
    uint64_t data_delay = since(now_ms, n->data_received);
    if (n->link_connected && since(now_ms, n->link_ctime) > timeout && n->ping_sent &&
        ping_delay > timeout / 2 && data_delay > timeout / 2)
        n->link_reset = 1; /* the transport drops it and reconnects */
    if (n->link_connected && !n->link_reset && n->ping_sent == 0 &&
        since(now_ms, n->pong_received) > timeout / 2) {
        cluster_gossip_send_ping(c, n, BUS_TYPE_PING, now_ms);
        return 0;
    }
    if (c->election.mf_end && cnode_is_master(c->myself) && c->election.mf_replica == n &&
        n->link_connected) {
        cluster_gossip_send_ping(c, n, BUS_TYPE_PING, now_ms);
        return 0;
    }
    if (n->ping_sent == 0)
        return 0;
    uint64_t node_delay = ping_delay < data_delay ? ping_delay : data_delay;
    if (node_delay > timeout && !(n->flags & (BUS_NODE_PFAIL | BUS_NODE_FAIL))) {
        log_debug("*** NODE %.40s possibly failing", n->name);
        n->flags |= BUS_NODE_PFAIL;
        return 1;
    }
    return 0;
}

void cluster_tick(cluster_t *c, uint64_t now_ms)
{
    int update_state = 0;
    if (!c->myself)
        return; /* not loaded yet */
    c->iteration++;
    fail_handshake_timeout(c, now_ms);
    if (c->iteration % 10 == 0)
        fail_ping_random(c, now_ms);
    for (size_t i = 0; i < c->n_nodes; i++) {
        cnode_t *n = c->nodes[i];
        if (n->flags & (BUS_NODE_MYSELF | BUS_NODE_NOADDR | BUS_NODE_HANDSHAKE))
            continue;
        update_state |= fail_check_node(c, n, now_ms);
    }
    cluster_failover_cron(c, now_ms); /* manual failover, election, replica migration */
    if (update_state || c->state == BUS_STATE_FAIL)
        cluster_fail_update_state(c, now_ms);
#ifdef DEBUG_ASSERT
    cluster_validate(c);
#endif
}
