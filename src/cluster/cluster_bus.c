/*
 * cluster_bus.c — the cluster bus transport: listeners, links, framing, send
 * queues, the clusterCron timer, nodes.conf I/O, and the glue between the loop
 * room and the state machine (see cluster_bus.h for the contract, cluster.h for
 * the state machine's side of it).
 *
 * Must not: interpret bus messages or change cluster state except through the
 * cluster.h calls; block the loop (the only blocking I/O is the fsync'd save of
 * nodes.conf, which Redis also does synchronously).
 *
 * A link (clink_t) is one TCP connection:
 *
 *   outbound:  created (connecting) --connect ok--> connected --error/reset--> closing
 *                        \--connect error / node_timeout without connect--> closing
 *   inbound:   accepted (node unknown) --first message with a known sender-->
 *              attached to that node (its inbound_link) --error--> closing
 *
 * Invariants:
 *  - n->link == k iff k is an outbound, not closing link with k->node == n; the
 *    same for n->inbound_link and inbound links. A closing link has node == NULL.
 *  - cluster_link_connected(n) is called once per outbound link, when it
 *    connects; cluster_link_down(n) once when it closes (not when n is being
 *    deleted: then the state machine asked us to drop the links).
 *  - Bytes handed to libuv never move: each queued message is its own heap block,
 *    freed only after the kernel has it (uv_try_write) or the write callback ran.
 *    At most one uv_write is in flight per link.
 *  - A link's memory is freed only in its close callback, so a link closed while
 *    one of its messages is being processed stays valid until the loop returns.
 *  - The read buffer holds the unprocessed tail of the stream; it grows to the
 *    current message's totlen and shrinks back after a big message.
 */
#include "cluster/cluster_bus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/bus_msg.h"
#include "cluster/cluster.h"
#include "cluster/nodes_conf_io.h"
#include "cmd/cmd_hooks.h"
#include "ks/db.h"
#include "repl/repl.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/util.h"
#include "server.h"

#define BUS_TICK_MS 100
#define BUS_RBUF_INIT 16384
#define BUS_RBUF_KEEP (4 * BUS_RBUF_INIT) /* shrink back above this */
#define BUS_WRITE_IOV 64

typedef struct clink_s clink_t;

typedef struct cmsg_s {
    uint8_t *data; /* mem_alloc'd encoded message */
    size_t len;
    size_t alloc; /* mem_usable(data) */
} cmsg_t;

struct clink_s {
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_write_t write_req;
    cluster_bus_t *bus;
    cnode_t *node;        /* NULL: inbound link not attached yet, or closing */
    clink_t *prev, *next; /* bus->links */
    clink_t *pnext;       /* bus->pending, when pending */
    int inbound, connected, closing, writing, pending;
    uint64_t ctime;
    uint8_t *rbuf;
    size_t rlen, rcap;
    cmsg_t *q; /* send queue: q[qhead .. qlen) */
    size_t qhead, qlen, qcap;
    size_t qoff;           /* bytes of q[qhead] already written */
    size_t inflight_bytes; /* bytes in the uv_write in flight */
    size_t q_used, q_alloc;
    char peer_ip[CLUSTER_IPLEN];
    char local_ip[CLUSTER_IPLEN];
};

typedef struct blistener_s {
    uv_tcp_t tcp;
    cluster_bus_t *bus;
} blistener_t;

struct cluster_bus_s {
    server_t *srv;
    cluster_t *c;
    int role_applied; /* the role loaded from nodes.conf was handed to replication */
    uv_timer_t timer;
    blistener_t *listeners[SERVER_MAX_LISTENERS];
    int nlisteners;
    clink_t *links;   /* every link not yet freed */
    clink_t *pending; /* links with queued output */
    char *conf_path;
    int lock_fd;
    cluster_cfg_t cfg; /* the copy last given to the state machine */
    int scan_needed;   /* messages were processed: check link resets */
    int stopped;
    cluster_bus_stats_t st;
};

static void link_close(clink_t *k, const char *why);
static void link_flush(clink_t *k);

/* ---- configuration ---------------------------------------------------------- */

static int bus_port(const config_t *cfg)
{
    return cfg->cluster_port ? cfg->cluster_port : cfg->port + 10000;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* The state machine's settings from the directives (Redis's deriveAnnouncedPorts
 * without TLS: pport is the announced TLS port). */
static void bus_cfg_from(const config_t *cfg, cluster_cfg_t *out)
{
    memset(out, 0, sizeof(*out));
    out->node_timeout = cfg->cluster_node_timeout > 0 ? (uint64_t)cfg->cluster_node_timeout : 0;
    out->port = cfg->cluster_announce_port ? cfg->cluster_announce_port : cfg->port;
    out->pport = cfg->cluster_announce_tls_port;
    out->cport = cfg->cluster_announce_bus_port ? cfg->cluster_announce_bus_port : bus_port(cfg);
    copy_str(out->announce_ip, sizeof(out->announce_ip), cfg->cluster_announce_ip);
    copy_str(out->announce_hostname, sizeof(out->announce_hostname),
             cfg->cluster_announce_hostname);
    copy_str(out->human_nodename, sizeof(out->human_nodename),
             cfg->cluster_announce_human_nodename);
    out->require_full_coverage = cfg->cluster_require_full_coverage;
    out->allow_reads_when_down = cfg->cluster_allow_reads_when_down;
    out->allow_pubsubshard_when_down = cfg->cluster_allow_pubsubshard_when_down;
    out->replica_validity_factor = cfg->cluster_replica_validity_factor;
    out->migration_barrier = cfg->cluster_migration_barrier;
    out->allow_replica_migration = cfg->cluster_allow_replica_migration;
    out->replica_no_failover = cfg->cluster_replica_no_failover;
    out->preferred_endpoint = cfg->cluster_preferred_endpoint_type;
}

/* CONFIG SET cluster-*: noticed by the cron tick. */
static void bus_sync_cfg(cluster_bus_t *b)
{
    cluster_cfg_t cfg;
    bus_cfg_from(&b->srv->cfg, &cfg);
    if (memcmp(&cfg, &b->cfg, sizeof(cfg)) != 0) {
        b->cfg = cfg;
        cluster_set_cfg(b->c, &cfg);
    }
}

/* ---- addresses -------------------------------------------------------------- */

static void sock_ip(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    out[0] = '\0';
    if (ss->ss_family == AF_INET)
        uv_ip4_name((const struct sockaddr_in *)ss, out, cap);
    else if (ss->ss_family == AF_INET6)
        uv_ip6_name((const struct sockaddr_in6 *)ss, out, cap);
}

/* host ("*" / "::*" are the wildcards) and port into ss; 0 or a uv error. */
static int make_addr(const char *host, int port, struct sockaddr_storage *ss, int *v6)
{
    if (strcmp(host, "*") == 0)
        host = "0.0.0.0";
    else if (strcmp(host, "::*") == 0)
        host = "::";
    *v6 = strchr(host, ':') != NULL;
    memset(ss, 0, sizeof(*ss));
    return *v6 ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss)
               : uv_ip4_addr(host, port, (struct sockaddr_in *)ss);
}

static void link_names(clink_t *k)
{
    struct sockaddr_storage peer = {0}, local = {0};
    int plen = sizeof(peer), llen = sizeof(local);
    if (uv_tcp_getpeername(&k->tcp, (struct sockaddr *)&peer, &plen) == 0)
        sock_ip(&peer, k->peer_ip, sizeof(k->peer_ip));
    if (uv_tcp_getsockname(&k->tcp, (struct sockaddr *)&local, &llen) == 0)
        sock_ip(&local, k->local_ip, sizeof(k->local_ip));
}

/* ---- links: life cycle ------------------------------------------------------------ */

static clink_t *link_new(cluster_bus_t *b, cnode_t *node, int inbound)
{
    clink_t *k = mem_calloc(sizeof(*k));
    k->bus = b;
    k->node = node;
    k->inbound = inbound;
    k->ctime = time_ms();
    uv_tcp_init(b->srv->loop, &k->tcp);
    k->tcp.data = k;
    k->connect_req.data = k;
    k->write_req.data = k;
    k->next = b->links;
    if (b->links)
        b->links->prev = k;
    b->links = k;
    b->st.links_open++;
    return k;
}

static void link_on_close(uv_handle_t *h)
{
    clink_t *k = h->data;
    cluster_bus_t *b = k->bus;
    if (k->pending) {
        for (clink_t **pp = &b->pending; *pp != NULL; pp = &(*pp)->pnext) {
            if (*pp == k) {
                *pp = k->pnext;
                break;
            }
        }
    }
    if (k->prev)
        k->prev->next = k->next;
    else
        b->links = k->next;
    if (k->next)
        k->next->prev = k->prev;
    for (size_t i = k->qhead; i < k->qlen; i++)
        mem_free(k->q[i].data);
    mem_free(k->q);
    mem_free(k->rbuf);
    b->st.links_open--;
    mem_free(k);
}

/* Detach k from its node (telling the state machine when an outbound link goes
 * down) and close it; memory goes in link_on_close. Safe to call twice. */
static void link_close(clink_t *k, const char *why)
{
    if (k->closing)
        return;
    k->closing = 1;
    cnode_t *n = k->node;
    k->node = NULL;
    if (n != NULL && !k->inbound && n->link == k) {
        n->link = NULL;
        cluster_link_down(k->bus->c, n, time_ms());
    } else if (n != NULL && k->inbound && n->inbound_link == k) {
        n->inbound_link = NULL;
    }
    if (why != NULL)
        log_verbose("Cluster bus link %s %s %.40s (%s) closed: %s", k->inbound ? "from" : "to",
                    n ? "node" : "peer", n ? n->name : k->peer_ip, k->peer_ip, why);
    uv_close((uv_handle_t *)&k->tcp, link_on_close);
}

/* ---- links: writing ---------------------------------------------------------------- */

static void link_mark_pending(clink_t *k)
{
    if (!k->pending) {
        k->pending = 1;
        k->pnext = k->bus->pending;
        k->bus->pending = k;
    }
}

/* Queues one encoded message (ownership of data moves to the link); it is
 * written by bus_flush_pending in before_sleep. */
static void link_send(clink_t *k, uint8_t *data, size_t len)
{
    if (k->closing || len == 0) {
        mem_free(data);
        return;
    }
    if (k->qlen == k->qcap) {
        if (k->qhead > 0) {
            memmove(k->q, k->q + k->qhead, (k->qlen - k->qhead) * sizeof(cmsg_t));
            k->qlen -= k->qhead;
            k->qhead = 0;
        }
        if (k->qlen == k->qcap) {
            k->qcap = k->qcap ? k->qcap * 2 : 8;
            k->q = mem_realloc(k->q, k->qcap * sizeof(cmsg_t));
        }
    }
    size_t alloc = mem_usable(data);
    k->q[k->qlen++] = (cmsg_t){.data = data, .len = len, .alloc = alloc};
    k->q_used += len;
    k->q_alloc += alloc;
    link_mark_pending(k);
}

/* The kernel took n bytes from the front of the queue. */
static void link_consume(clink_t *k, size_t n)
{
    k->bus->st.bytes_out += n;
    while (n > 0 && k->qhead < k->qlen) {
        cmsg_t *m = &k->q[k->qhead];
        size_t rest = m->len - k->qoff;
        if (n < rest) {
            k->qoff += n;
            k->q_used -= n;
            return;
        }
        n -= rest;
        k->q_used -= rest;
        k->q_alloc -= m->alloc;
        mem_free(m->data);
        k->qhead++;
        k->qoff = 0;
    }
    if (k->qhead == k->qlen)
        k->qhead = k->qlen = 0;
}

static int link_iov(const clink_t *k, uv_buf_t *bufs, size_t *bytes)
{
    int n = 0;
    *bytes = 0;
    for (size_t i = k->qhead; i < k->qlen && n < BUS_WRITE_IOV; i++, n++) {
        size_t off = i == k->qhead ? k->qoff : 0;
        bufs[n] = uv_buf_init((char *)k->q[i].data + off, (unsigned)(k->q[i].len - off));
        *bytes += k->q[i].len - off;
    }
    return n;
}

static void link_on_write(uv_write_t *req, int status)
{
    clink_t *k = req->data;
    k->writing = 0;
    if (k->closing)
        return;
    if (status < 0) {
        link_close(k, uv_strerror(status));
        return;
    }
    link_consume(k, k->inflight_bytes);
    k->inflight_bytes = 0;
    if (k->qhead != k->qlen)
        link_mark_pending(k); /* written in before_sleep, after nodes.conf is saved */
}

/* uv_try_write what we can, then at most one uv_write for the rest. */
static void link_flush(clink_t *k)
{
    if (k->closing || k->writing || !k->connected || k->qhead == k->qlen)
        return;
    uv_buf_t bufs[BUS_WRITE_IOV];
    size_t bytes;
    int n = link_iov(k, bufs, &bytes);
    int w = uv_try_write((uv_stream_t *)&k->tcp, bufs, (unsigned)n);
    if (w < 0 && w != UV_EAGAIN) {
        link_close(k, uv_strerror(w));
        return;
    }
    if (w > 0)
        link_consume(k, (size_t)w);
    if (k->qhead == k->qlen)
        return;
    n = link_iov(k, bufs, &bytes);
    int rc = uv_write(&k->write_req, (uv_stream_t *)&k->tcp, bufs, (unsigned)n, link_on_write);
    if (rc != 0) {
        link_close(k, uv_strerror(rc));
        return;
    }
    k->writing = 1;
    k->inflight_bytes = bytes;
}

static void bus_flush_pending(cluster_bus_t *b)
{
    while (b->pending != NULL) {
        clink_t *k = b->pending;
        b->pending = k->pnext;
        k->pnext = NULL;
        k->pending = 0;
        link_flush(k);
    }
}

/* ---- links: reading ---------------------------------------------------------------- */

static void link_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    clink_t *k = h->data;
    size_t want = BUS_RBUF_INIT;
    uint32_t totlen;
    if (k->rlen >= BUS_PEEK_LEN && bus_msg_peek(k->rbuf, k->rlen, &totlen) == BUS_OK &&
        totlen > want)
        want = totlen;
    if (k->rcap < want || k->rcap == k->rlen) {
        size_t ncap = want > k->rcap ? want : k->rcap + BUS_RBUF_INIT;
        k->rbuf = mem_realloc(k->rbuf, ncap);
        k->rcap = ncap;
    }
    *buf = uv_buf_init((char *)k->rbuf + k->rlen, (unsigned)(k->rcap - k->rlen));
}

/* An inbound link learned who is at the other end. */
static void link_attach_inbound(clink_t *k, cnode_t *n)
{
    clink_t *old = n->inbound_link;
    if (old != NULL && old != k) {
        /* A peer may reconnect before we saw its old link close: keep the new one. */
        old->node = NULL;
        n->inbound_link = NULL;
        link_close(old, "replaced by a newer inbound link");
    }
    n->inbound_link = k;
    k->node = n;
}

/* Hands one decoded message to the state machine; sends its same-link reply. */
static void link_deliver(clink_t *k, const bus_msg_t *m, uint64_t now)
{
    cluster_bus_t *b = k->bus;
    bus_buf_t reply;
    bus_buf_init(&reply, NULL, 0);
    cluster_link_in_t in = {.node = k->node,
                            .inbound = k->inbound,
                            .peer_ip = k->peer_ip,
                            .local_ip = k->local_ip,
                            .reply = &reply};
    int rc = cluster_on_msg(b->c, &in, m, now);
    b->st.msgs_in++;
    b->scan_needed = 1;
    if (reply.len > 0 && reply.heap && !k->closing) {
        link_send(k, reply.data, reply.len); /* the block moves to the queue */
        bus_buf_init(&reply, NULL, 0);
    }
    bus_buf_deinit(&reply);
    if (!k->closing && k->inbound && k->node == NULL && in.sender != NULL)
        link_attach_inbound(k, in.sender);
    if (rc < 0 && !k->closing)
        link_close(k, "refused by the cluster state");
}

/* Processes every complete message in the read buffer. */
static void link_process(clink_t *k)
{
    uint64_t now = time_ms();
    size_t off = 0;
    while (!k->closing && k->rlen - off >= BUS_PEEK_LEN) {
        const uint8_t *p = k->rbuf + off;
        uint32_t totlen;
        char err[160];
        if (bus_msg_peek(p, k->rlen - off, &totlen) != BUS_OK) {
            log_warning("Bad message length or signature received on the Cluster bus from %s",
                        k->peer_ip);
            k->bus->st.bad_msgs++;
            link_close(k, "bad message length or signature");
            return;
        }
        if (k->rlen - off < totlen)
            break;
        bus_msg_t m;
        if (bus_msg_decode(p, totlen, &m, err, sizeof(err)) != BUS_OK) {
            log_warning("Malformed message on the Cluster bus from %s: %s", k->peer_ip, err);
            k->bus->st.bad_msgs++;
            link_close(k, "malformed message");
            return;
        }
        link_deliver(k, &m, now);
        off += totlen;
    }
    if (k->closing)
        return;
    if (off > 0) {
        memmove(k->rbuf, k->rbuf + off, k->rlen - off);
        k->rlen -= off;
    }
    if (k->rcap > BUS_RBUF_KEEP && k->rlen <= BUS_RBUF_INIT) {
        k->rbuf = mem_realloc(k->rbuf, BUS_RBUF_INIT);
        k->rcap = BUS_RBUF_INIT;
    }
}

static void link_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    clink_t *k = s->data;
    if (nread == 0 || k->closing)
        return;
    if (nread < 0) {
        link_close(k, nread == UV_EOF ? "connection closed" : uv_strerror((int)nread));
        return;
    }
    k->rlen += (size_t)nread;
    k->bus->st.bytes_in += (uint64_t)nread;
    link_process(k);
}

/* ---- links: connecting and accepting -------------------------------------------------- */

static void link_on_connect(uv_connect_t *req, int status)
{
    clink_t *k = req->data;
    if (k->closing)
        return;
    if (status < 0) {
        log_debug("Unable to connect to Cluster Node [%s]:%d -> %s", k->node ? k->node->ip : "?",
                  k->node ? k->node->cport : 0, uv_strerror(status));
        link_close(k, NULL);
        return;
    }
    k->connected = 1;
    link_names(k);
    if (uv_read_start((uv_stream_t *)&k->tcp, link_on_alloc, link_on_read) != 0) {
        link_close(k, "read start failed");
        return;
    }
    if (k->node != NULL)
        cluster_link_connected(k->bus->c, k->node, time_ms());
}

/* Outbound connections leave from the first bind address, as Redis's do. */
static void link_bind_source(clink_t *k, int v6)
{
    const config_t *cfg = &k->bus->srv->cfg;
    if (cfg->nbind == 0)
        return;
    const char *a = cfg->bind[0][0] == '-' ? cfg->bind[0] + 1 : cfg->bind[0];
    struct sockaddr_storage ss;
    int av6;
    if (strcmp(a, "*") == 0 || strcmp(a, "::*") == 0 || make_addr(a, 0, &ss, &av6) != 0 ||
        av6 != v6)
        return;
    uv_tcp_bind(&k->tcp, (struct sockaddr *)&ss, 0);
}

static void link_connect(cluster_bus_t *b, cnode_t *n)
{
    struct sockaddr_storage ss;
    int v6;
    if (make_addr(n->ip, n->cport, &ss, &v6) != 0)
        return;
    clink_t *k = link_new(b, n, 0);
    n->link = k;
    /* Socket options as Redis 7.0 sets them: none on an outbound link (so a
     * burst of messages is coalesced by Nagle, as between Redis nodes), and
     * TCP_NODELAY plus keepalive at 2 x node-timeout on an accepted one. */
    link_bind_source(k, v6);
    snprintf(k->peer_ip, sizeof(k->peer_ip), "%s", n->ip);
    int rc = uv_tcp_connect(&k->connect_req, &k->tcp, (struct sockaddr *)&ss, link_on_connect);
    if (rc != 0) {
        log_debug("Unable to connect to Cluster Node [%s]:%d -> %s", n->ip, n->cport,
                  uv_strerror(rc));
        link_close(k, NULL);
    }
}

static void bus_on_accept(uv_stream_t *server, int status)
{
    blistener_t *l = server->data;
    cluster_bus_t *b = l->bus;
    if (status < 0) {
        log_verbose("Error accepting cluster node connection: %s", uv_strerror(status));
        return;
    }
    clink_t *k = link_new(b, NULL, 1);
    if (uv_accept(server, (uv_stream_t *)&k->tcp) != 0) {
        link_close(k, NULL);
        return;
    }
    uv_tcp_nodelay(&k->tcp, 1);
    unsigned idle = (unsigned)(b->cfg.node_timeout * 2 / 1000);
    uv_tcp_keepalive(&k->tcp, 1, idle > 0 ? idle : 1);
    link_names(k);
    k->connected = 1;
    log_verbose("Accepting cluster node connection from %s", k->peer_ip);
    if (uv_read_start((uv_stream_t *)&k->tcp, link_on_alloc, link_on_read) != 0)
        link_close(k, "read start failed");
}

/* ---- the node scan: resets, reconnects, limits ----------------------------------------- */

static void link_check_limit(cluster_bus_t *b, clink_t *k, uint64_t limit)
{
    if (k == NULL || limit == 0 || k->q_alloc <= limit)
        return;
    log_warning("Freeing cluster link(%s node %.40s) due to exceeding send buffer memory limit.",
                k->inbound ? "from" : "to", k->node ? k->node->name : "?");
    b->st.links_sendbuf_freed++;
    cluster_stat_link_buffer_limit_exceeded(b->c);
    link_close(k, NULL);
}

/* Link resets the state machine asked for; from the cron also the send buffer
 * limit, connect timeouts and (re)connections of nodes without a link. */
static void bus_scan(cluster_bus_t *b, uint64_t now, int cron)
{
    cluster_t *c = b->c;
    cnode_t *me = cluster_myself(c);
    uint64_t limit = b->srv->cfg.cluster_link_sendbuf_limit;
    size_t count = cluster_node_count(c);
    for (size_t i = 0; i < count; i++) {
        cnode_t *n = cluster_node_at(c, i);
        if (n == me)
            continue;
        if (n->link_reset) {
            if (n->link != NULL)
                link_close(n->link, "reset by the cluster state");
            else
                cluster_link_down(c, n, now);
        }
        if (!cron)
            continue;
        link_check_limit(b, n->link, limit);
        link_check_limit(b, n->inbound_link, limit);
        clink_t *k = n->link;
        if (k != NULL && !k->connected && now - k->ctime > b->cfg.node_timeout)
            link_close(k, "connect timeout");
        if (n->link == NULL && !(n->flags & BUS_NODE_NOADDR) && n->ip[0] != '\0' && n->cport > 0)
            link_connect(b, n);
    }
}

static void bus_drain_outbox(cluster_bus_t *b)
{
    cluster_out_t o;
    while (cluster_out_pop(b->c, &o)) {
        clink_t *k = o.to != NULL ? o.to->link : NULL;
        if (k != NULL && k->connected && !k->closing)
            link_send(k, o.data, o.len);
        else
            mem_free(o.data);
    }
}

static void bus_on_tick(uv_timer_t *t)
{
    cluster_bus_t *b = t->data;
    uint64_t now = time_ms();
    bus_sync_cfg(b);
    repl_t *r = repl_get();
    if (!b->role_applied && r != NULL) {
        /* A replica restarted from nodes.conf resumes replicating its master
         * (the state machine only reports role changes, not the loaded role). */
        cnode_t *me = cluster_myself(b->c);
        b->role_applied = 1;
        if (me != NULL && me->master != NULL && me->master->ip[0] != '\0')
            repl_set_master(r, me->master->ip, me->master->port, now);
    }
    if (r != NULL && repl_master_host(r) != NULL) {
        /* Replica: the age of our data, for the election's validity check. */
        uint64_t down = repl_link_down_since(r);
        cluster_set_master_link(b->c, down == 0, down == 0 ? now : down);
    }
    cluster_tick(b->c, now);
    bus_scan(b, now, 1);
}

/* ---- hooks from the state machine ------------------------------------------------------ */

static void bus_on_node_deleted(void *ctx, cnode_t *n)
{
    (void)ctx;
    clink_t *k = n->link, *in = n->inbound_link;
    n->link = n->inbound_link = NULL;
    if (k != NULL) {
        k->node = NULL;
        link_close(k, "node deleted");
    }
    if (in != NULL) {
        in->node = NULL;
        link_close(in, "node deleted");
    }
}

static void bus_on_publish(void *ctx, int shard, const uint8_t *channel, size_t channel_len,
                           const uint8_t *message, size_t message_len)
{
    cluster_bus_t *b = ctx;
    pubsub_publish(&b->srv->env, slice_make((const char *)channel, channel_len),
                   slice_make((const char *)message, message_len), shard);
}

/* Promotion, demotion, CLUSTER REPLICATE, replica migration: the replication
 * room follows the cluster's idea of our master. */
static void bus_on_role_changed(void *ctx, cnode_t *master)
{
    (void)ctx;
    repl_t *r = repl_get();
    uint64_t now = time_ms();
    if (master == NULL) {
        log_notice("Cluster state changed: I am now a master");
        if (r != NULL)
            repl_set_master_none(r, now);
    } else {
        log_notice("Cluster state changed: I am now a replica of %.40s", master->name);
        if (r != NULL)
            repl_set_master(r, master->ip, master->port, now);
    }
}

static uint64_t bus_on_repl_offset(void *ctx)
{
    (void)ctx;
    repl_t *r = repl_get();
    return r ? (uint64_t)repl_offset(r) : 0;
}

static void bus_on_pause_writes(void *ctx, uint64_t until_ms)
{
    cluster_bus_t *b = ctx;
    repl_t *r = repl_get();
    if (r != NULL)
        repl_pause_own_writes(r, until_ms != 0);
    if (b->srv->pause_writes_until == UINT64_MAX)
        return; /* a shutdown holds the writers until the exit (server.c) */
    if (until_ms == 0)
        server_unpause_writes(b->srv);
    else
        b->srv->pause_writes_until = until_ms;
}

static void bus_propagate_del(void *arg, int db, slice_t key)
{
    cluster_bus_t *b = arg;
    slice_t argv[2] = {SLICE_LIT("DEL"), key};
    if (b->srv->host.propagate != NULL)
        b->srv->host.propagate(b->srv->host.self, db, 2, argv);
}

/* Redis's delKeysInSlot for every slot we lost while holding keys in it. */
static void bus_on_slots_lost(void *ctx, const uint8_t *slots)
{
    cluster_bus_t *b = ctx;
    db_t *db = ks_db(b->srv->ks, 0);
    for (int s = 0; s < CLUSTER_SLOTS; s++)
        if (bus_slot_test(slots, (unsigned)s) && db_slot_count(db, s) > 0)
            db_delete_slot(db, s, bus_propagate_del, b);
}

/* PUBLISH / SPUBLISH in cluster mode (cmd_host_t.cluster_publish). */
static void bus_host_publish(void *self, slice_t channel, slice_t msg, int shard)
{
    server_t *srv = self;
    if (srv->cluster != NULL)
        cluster_publish(srv->cluster, shard, channel.p, channel.len, msg.p, msg.len);
}

/* ---- nodes.conf ------------------------------------------------------------------ */

static int bus_save(cluster_bus_t *b, int do_fsync, char *err, size_t cap)
{
    size_t len;
    char *text = cluster_serialize(b->c, &len);
    int rc = nodes_conf_save_locked(b->conf_path, text, len, do_fsync, &b->lock_fd, err, cap);
    mem_free(text);
    return rc;
}

int cluster_bus_save_config(cluster_bus_t *b, char *err, size_t cap)
{
    return bus_save(b, 1, err, cap);
}

/* Lock, read and load nodes.conf; save it at once when the state asks (fresh node). */
static int bus_load(cluster_bus_t *b, uint64_t now, char *err, size_t cap)
{
    char ioerr[512], lerr[256];
    char *text = NULL;
    size_t len = 0;
    if (nodes_conf_lock(b->conf_path, &b->lock_fd, ioerr, sizeof(ioerr)) != 0 ||
        nodes_conf_read_file(b->conf_path, &text, &len, ioerr, sizeof(ioerr)) < 0) {
        snprintf(err, cap, "%s", ioerr);
        return -1;
    }
    int rc = cluster_load(b->c, text ? text : "", len, now, lerr, sizeof(lerr));
    mem_free(text);
    if (rc != 0) {
        snprintf(err, cap, "Unrecoverable error: corrupted cluster config file \"%s\": %s",
                 b->conf_path, lerr);
        return -1;
    }
    if ((cluster_todo_take(b->c) & CLUSTER_TODO_SAVE) && bus_save(b, 1, ioerr, sizeof(ioerr)) != 0) {
        snprintf(err, cap, "Fatal: can't update cluster config file. %s", ioerr);
        return -1;
    }
    return 0;
}

/* ---- listeners ------------------------------------------------------------------- */

static void listener_on_close(uv_handle_t *h)
{
    mem_free(h->data);
}

static int bus_listen_one(cluster_bus_t *b, const char *addr, int port, char *err, size_t cap)
{
    int optional = addr[0] == '-';
    const char *host = optional ? addr + 1 : addr;
    struct sockaddr_storage ss;
    int v6, rc = make_addr(host, port, &ss, &v6);
    blistener_t *l = NULL;
    if (rc == 0) {
        l = mem_calloc(sizeof(*l));
        l->bus = b;
        uv_tcp_init(b->srv->loop, &l->tcp);
        l->tcp.data = l;
        rc = uv_tcp_bind(&l->tcp, (struct sockaddr *)&ss, v6 ? UV_TCP_IPV6ONLY : 0);
        if (rc == 0)
            rc = uv_listen((uv_stream_t *)&l->tcp, b->srv->cfg.tcp_backlog, bus_on_accept);
    }
    if (rc == 0) {
        b->listeners[b->nlisteners++] = l;
        return 0;
    }
    if (l != NULL)
        uv_close((uv_handle_t *)&l->tcp, listener_on_close);
    if (optional && (rc == UV_EADDRNOTAVAIL || rc == UV_EAFNOSUPPORT || rc == UV_EPROTONOSUPPORT))
        return 0;
    log_warning("Warning: Could not create server TCP listening socket %s:%d: %s", host, port,
                uv_strerror(rc));
    snprintf(err, cap, "Failed listening on port %d (cluster), aborting.", port);
    return -1;
}

static int bus_listen(cluster_bus_t *b, char *err, size_t cap)
{
    const config_t *cfg = &b->srv->cfg;
    int port = bus_port(cfg);
    for (int i = 0; i < cfg->nbind && b->nlisteners < SERVER_MAX_LISTENERS; i++)
        if (bus_listen_one(b, cfg->bind[i], port, err, cap) != 0)
            return -1;
    return 0;
}

static void bus_close_listeners(cluster_bus_t *b)
{
    for (int i = 0; i < b->nlisteners; i++)
        uv_close((uv_handle_t *)&b->listeners[i]->tcp, listener_on_close);
    b->nlisteners = 0;
}

/* ---- entry points ---------------------------------------------------------------- */

static void bus_wire(server_t *srv, cluster_bus_t *b)
{
    cluster_hooks_t hooks = {.ctx = b,
                             .node_deleted = bus_on_node_deleted,
                             .publish = bus_on_publish,
                             .role_changed = bus_on_role_changed,
                             .pause_writes = bus_on_pause_writes,
                             .repl_offset = bus_on_repl_offset,
                             .slots_lost = bus_on_slots_lost};
    cluster_set_hooks(b->c, &hooks);
    srv->cluster = b->c;
    srv->cluster_bus = b;
    srv->env.cluster = b->c;
    srv->env.cluster_bus = b;
    srv->env.cluster_mode = 1;
    srv->host.cluster_publish = bus_host_publish;
}

int cluster_start(server_t *srv, char *err, size_t cap)
{
    const config_t *cfg = &srv->cfg;
    if (cfg->cluster_port == 0 && cfg->port > 55535) {
        snprintf(err, cap,
                 "Redis port number too high. Cluster communication port is 10,000 port numbers "
                 "higher than your Redis port. Your Redis port number must be 55535 or less.");
        return -1;
    }
    cluster_bus_t *b = mem_calloc(sizeof(*b));
    b->srv = srv;
    b->lock_fd = -1;
    b->conf_path = mem_strdup(cfg->cluster_config_file ? cfg->cluster_config_file : "nodes.conf");
    uint64_t now = time_ms();
    bus_cfg_from(cfg, &b->cfg);
    b->c = cluster_new(&b->cfg, rng_next, now);
    if (bus_load(b, now, err, cap) != 0 || bus_listen(b, err, cap) != 0)
        return -1; /* the server exits: nothing to unwind */
    bus_wire(srv, b);
    uv_timer_init(srv->loop, &b->timer);
    b->timer.data = b;
    uv_timer_start(&b->timer, bus_on_tick, BUS_TICK_MS, BUS_TICK_MS);
    return 0;
}

void cluster_before_sleep(server_t *srv)
{
    cluster_bus_t *b = srv->cluster_bus;
    if (b == NULL || b->stopped)
        return;
    uint64_t now = time_ms();
    int todo = cluster_todo_take(b->c);
    if (todo & CLUSTER_TODO_UPDATE_STATE)
        cluster_before_sleep_state(b->c, now);
    if (todo & CLUSTER_TODO_SAVE) {
        char err[512];
        if (bus_save(b, (todo & CLUSTER_TODO_FSYNC) != 0, err, sizeof(err)) != 0) {
            log_warning("%s", err);
            log_warning("Fatal: can't update cluster config file.");
            exit(1);
        }
    }
    if (b->scan_needed) {
        b->scan_needed = 0;
        bus_scan(b, now, 0);
    }
}

void cluster_after_replies(server_t *srv)
{
    cluster_bus_t *b = srv->cluster_bus;
    if (b == NULL || b->stopped)
        return;
    bus_drain_outbox(b);
    bus_flush_pending(b);
}

void cluster_stop(server_t *srv)
{
    cluster_bus_t *b = srv->cluster_bus;
    if (b == NULL || b->stopped)
        return;
    /* A master serving slots hands them to its best replica: the MFSTART is
     * written now, before the links close (see cluster_shutdown_handoff). */
    if (cluster_shutdown_handoff(b->c, time_ms()) != NULL) {
        bus_drain_outbox(b);
        bus_flush_pending(b);
    }
    char err[512];
    if (bus_save(b, 1, err, sizeof(err)) != 0)
        log_warning("Saving the cluster configuration on shutdown: %s", err);
    b->stopped = 1;
    uv_timer_stop(&b->timer);
    uv_close((uv_handle_t *)&b->timer, NULL);
    bus_close_listeners(b);
    for (clink_t *k = b->links; k != NULL; k = k->next) {
        if (k->node != NULL && !k->inbound)
            k->node->link = NULL;
        else if (k->node != NULL)
            k->node->inbound_link = NULL;
        k->node = NULL;
        link_close(k, NULL);
    }
}

int cluster_bus_link_info(const void *link, cluster_link_info_t *out)
{
    const clink_t *k = link;
    if (k == NULL || k->closing)
        return 0;
    int w = k->qhead != k->qlen;
    out->inbound = k->inbound;
    out->ctime = k->ctime;
    out->events = w ? "rw" : "r";
    out->send_alloc = k->q_alloc;
    out->send_used = k->q_used;
    return 1;
}

void cluster_bus_stats(const cluster_bus_t *b, cluster_bus_stats_t *out)
{
    *out = b->st;
}
