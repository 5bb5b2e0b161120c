/*
 * cluster_gossip.c — what we tell other nodes: the message header describing
 * myself, PING/PONG/MEET with their gossip section and ping extensions, FAIL,
 * UPDATE and PUBLISH messages, broadcasts, and the first message on a new link.
 *
 * Must not: process received messages (cluster_msg.c), read the clock, or touch
 * links: messages go to the outbox (cluster_state_queue) or into the reply buffer
 * of the link being served.
 * Invariants: the header is Redis 7.0's clusterBuildMessageHdr (a replica sends
 * its master's slots and configEpoch); the gossip section holds max(3, N/10)
 * random nodes (not myself, not PFAIL, not in handshake, not NOADDR, not
 * disconnected and slotless) followed by every PFAIL node; a PING stamps
 * ping_sent on its target. Extensions: HOSTNAME when we announce one and
 * HUMAN_NODENAME when one is configured — Redis 7.0.15 sends only HOSTNAME and
 * logs a warning for every extension type it does not know, so FORGOTTEN_NODE and
 * SHARDID are understood on receipt but never sent.
 */
#include "cluster/cluster_priv.h"

#include <string.h>

#include "lib/mem.h"

#define GOSSIP_STACK_BUF 8192

void cluster_gossip_build_header(const cluster_t *c, bus_hdr_t *h)
{
    const cnode_t *me = c->myself;
    const cnode_t *m = (cnode_is_replica(me) && me->master) ? me->master : me;
    memset(h, 0, sizeof *h);
    h->ver = BUS_PROTO_VER;
    h->port = (uint16_t)c->cfg.port;
    h->pport = (uint16_t)c->cfg.pport;
    h->cport = (uint16_t)c->cfg.cport;
    memcpy(h->sender, me->name, CLUSTER_NAMELEN);
    memcpy(h->myslots, m->slots, CLUSTER_SLOT_BYTES);
    if (me->master)
        memcpy(h->slaveof, me->master->name, CLUSTER_NAMELEN);
    if (c->cfg.announce_ip[0])
        memcpy(h->myip, c->cfg.announce_ip, strnlen(c->cfg.announce_ip, BUS_IPLEN - 1));
    h->flags = (uint16_t)me->flags;
    h->state = (uint8_t)c->state;
    h->current_epoch = c->current_epoch;
    h->config_epoch = m->config_epoch;
    h->offset = cluster_election_my_offset(c);
    if (cnode_is_master(me) && c->election.mf_end)
        h->mflags[0] |= BUS_MF_PAUSED;
}

static void gossip_entry(bus_gossip_t *g, const cnode_t *n)
{
    memset(g, 0, sizeof *g);
    memcpy(g->name, n->name, CLUSTER_NAMELEN);
    g->ping_sent = (uint32_t)(n->ping_sent / 1000);
    g->pong_received = (uint32_t)(n->pong_received / 1000);
    memcpy(g->ip, n->ip, BUS_IPLEN);
    g->port = (uint16_t)n->port;
    g->cport = (uint16_t)n->cport;
    g->flags = (uint16_t)n->flags;
    g->pport = (uint16_t)n->pport;
}

static int in_gossip(const bus_gossip_t *g, int count, const cnode_t *n)
{
    for (int i = 0; i < count; i++)
        if (memcmp(g[i].name, n->name, CLUSTER_NAMELEN) == 0)
            return 1;
    return 0;
}

/* Fills g with the random part of the gossip section (Redis clusterSendPing). */
static int gossip_pick_random(cluster_t *c, bus_gossip_t *g, int wanted, int freshnodes)
{
    int count = 0, maxiter = wanted * 3;
    while (freshnodes > 0 && count < wanted && maxiter-- > 0) {
        cnode_t *n = c->nodes[c->rnd() % c->n_nodes];
        if (n == c->myself || (n->flags & BUS_NODE_PFAIL))
            continue;
        if ((n->flags & (BUS_NODE_HANDSHAKE | BUS_NODE_NOADDR)) ||
            (!n->link_connected && n->num_slots == 0)) {
            freshnodes--; /* as Redis: not exact, saves work */
            continue;
        }
        if (in_gossip(g, count, n))
            continue;
        gossip_entry(&g[count++], n);
        freshnodes--;
    }
    return count;
}

static int gossip_add_pfail(cluster_t *c, bus_gossip_t *g, int count, int pfail_wanted)
{
    for (size_t i = 0; i < c->n_nodes && pfail_wanted > 0; i++) {
        cnode_t *n = c->nodes[i];
        if (n->flags & (BUS_NODE_HANDSHAKE | BUS_NODE_NOADDR))
            continue;
        if (!(n->flags & BUS_NODE_PFAIL))
            continue;
        gossip_entry(&g[count++], n);
        pfail_wanted--;
    }
    return count;
}

void cluster_gossip_build_ping(cluster_t *c, bus_buf_t *b, uint16_t type, cnode_t *to,
                               uint64_t now_ms)
{
    int total = (int)c->n_nodes;
    int freshnodes = total - 2;
    int wanted = total / 10;
    if (wanted < 3)
        wanted = 3;
    if (wanted > freshnodes)
        wanted = freshnodes;
    if (wanted < 0)
        wanted = 0;
    int pfail_wanted = c->pfail_nodes;
    bus_gossip_t *g = mem_alloc((size_t)(wanted + pfail_wanted + 1) * sizeof *g);
    if (to && type == BUS_TYPE_PING)
        to->ping_sent = now_ms;
    bus_hdr_t h;
    cluster_gossip_build_header(c, &h);
    int count = gossip_pick_random(c, g, wanted, freshnodes);
    count = gossip_add_pfail(c, g, count, pfail_wanted);
    bus_ext_t ext[2];
    uint16_t next = 0;
    const cnode_t *me = c->myself;
    if (me->hostname)
        ext[next++] = bus_ext_hostname(me->hostname, strlen(me->hostname));
    if (me->human_nodename)
        ext[next++] = bus_ext_human_nodename(me->human_nodename, strlen(me->human_nodename));
    bus_msg_build_ping(b, &h, type, g, (uint16_t)count, ext, next);
    mem_free(g);
}

void cluster_gossip_send_ping(cluster_t *c, cnode_t *to, uint16_t type, uint64_t now_ms)
{
    if (!to->link_connected)
        return;
    uint8_t storage[GOSSIP_STACK_BUF];
    bus_buf_t b;
    bus_buf_init(&b, storage, sizeof storage);
    cluster_gossip_build_ping(c, &b, type, to, now_ms);
    cluster_state_queue(c, to, &b, type);
    bus_buf_deinit(&b);
}

void cluster_gossip_reply_ping(cluster_t *c, bus_buf_t *reply, uint16_t type, uint64_t now_ms)
{
    if (!reply)
        return;
    cluster_gossip_build_ping(c, reply, type, NULL, now_ms);
    c->stats_sent[type]++;
}

/* Redis clusterBroadcastMessage: every node with a link, not myself, not in
 * handshake. */
void cluster_gossip_broadcast(cluster_t *c, const bus_buf_t *b, uint16_t type)
{
    for (size_t i = 0; i < c->n_nodes; i++) {
        cnode_t *n = c->nodes[i];
        if (n->flags & (BUS_NODE_MYSELF | BUS_NODE_HANDSHAKE))
            continue;
        cluster_state_queue(c, n, (bus_buf_t *)b, type);
    }
}

void cluster_gossip_broadcast_pong(cluster_t *c, int local_replicas_only, uint64_t now_ms)
{
    cnode_t *me = c->myself;
    for (size_t i = 0; i < c->n_nodes; i++) {
        cnode_t *n = c->nodes[i];
        if (!n->link_connected || n == me || (n->flags & BUS_NODE_HANDSHAKE))
            continue;
        if (local_replicas_only) {
            int local = cnode_is_replica(n) && n->master &&
                        (n->master == me || n->master == me->master);
            if (!local)
                continue;
        }
        cluster_gossip_send_ping(c, n, BUS_TYPE_PONG, now_ms);
    }
}

void cluster_gossip_send_fail(cluster_t *c, const char *name40)
{
    uint8_t storage[BUS_FAIL_LEN];
    bus_buf_t b;
    bus_hdr_t h;
    bus_buf_init(&b, storage, sizeof storage);
    cluster_gossip_build_header(c, &h);
    bus_msg_build_fail(&b, &h, name40);
    cluster_gossip_broadcast(c, &b, BUS_TYPE_FAIL);
    bus_buf_deinit(&b);
}

void cluster_gossip_send_update(cluster_t *c, cnode_t *to, const cnode_t *about)
{
    if (!to || !to->link_connected)
        return;
    uint8_t storage[BUS_UPDATE_LEN];
    bus_buf_t b;
    bus_hdr_t h;
    bus_buf_init(&b, storage, sizeof storage);
    cluster_gossip_build_header(c, &h);
    bus_msg_build_update(&b, &h, about->config_epoch, about->name, about->slots);
    cluster_state_queue(c, to, &b, BUS_TYPE_UPDATE);
    bus_buf_deinit(&b);
}

void cluster_publish(cluster_t *c, int shard, const void *channel, size_t channel_len,
                     const void *message, size_t message_len)
{
    bus_buf_t b;
    bus_hdr_t h;
    uint16_t type = shard ? BUS_TYPE_PUBLISHSHARD : BUS_TYPE_PUBLISH;
    bus_buf_init(&b, NULL, 0);
    cluster_gossip_build_header(c, &h);
    bus_msg_build_publish(&b, &h, type, channel, (uint32_t)channel_len, message,
                          (uint32_t)message_len);
    if (!shard) {
        cluster_gossip_broadcast(c, &b, type);
    } else {
        /* Redis clusterGetNodesServingMySlots: my master (or me) and its replicas. */
        cnode_t *me = c->myself;
        cnode_t *m = (cnode_is_replica(me) && me->master) ? me->master : me;
        cluster_state_queue(c, m, &b, type);
        for (int j = 0; j < m->num_replicas; j++)
            cluster_state_queue(c, m->replicas[j], &b, type);
    }
    bus_buf_deinit(&b);
}

/* The first message on a new outbound link: MEET for a node we were asked to
 * meet, else PING; a ping pending from before the reconnection keeps its stamp. */
void cluster_link_connected(cluster_t *c, cnode_t *n, uint64_t now_ms)
{
    if (n == c->myself)
        return;
    n->link_connected = 1;
    n->link_reset = 0;
    n->link_ctime = now_ms;
    uint64_t old_ping_sent = n->ping_sent;
    cluster_gossip_send_ping(c, n, (n->flags & BUS_NODE_MEET) ? BUS_TYPE_MEET : BUS_TYPE_PING,
                             now_ms);
    if (old_ping_sent)
        n->ping_sent = old_ping_sent;
    n->flags &= ~(uint32_t)BUS_NODE_MEET;
}

void cluster_link_down(cluster_t *c, cnode_t *n, uint64_t now_ms)
{
    n->link_connected = 0;
    n->link_reset = 0;
    /* A node we cannot talk to must be able to time out even if no PING was
     * pending when the link went away. */
    if (n != c->myself && n->ping_sent == 0)
        n->ping_sent = now_ms;
}
