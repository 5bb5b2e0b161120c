/*
 * client.c — a connection's read path, execution loop, reply flushing and
 * close (see client.h for the lifecycle).
 *
 * Must not: free a client inside its own callbacks (closing goes through
 * client_close_async and is reaped in before_sleep); move reply bytes that a
 * uv_write holds; allocate per request (the query buffer only grows, and
 * shrinks back when idle and empty).
 *
 * Invariants: qpos <= qlen <= qcap; at most one uv_write in flight
 * (CLI_WRITING), covering `inflight` bytes from the front of the reply;
 * a client is on at most one of srv->pending / srv->closing (CLI_QUEUED_WRITE
 * or CLI_CLOSING tells which).
 */
#include "client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "../lib/log.h"
#include "../lib/mem.h"
#include "../lib/util.h"
#include "../server.h"

#define QBUF_INITIAL (16 * 1024)
#define QBUF_MIN_FREE 1024
#define FLUSH_IOV 64

/* ---- lists ---------------------------------------------------------------- */

static void qlist_add(client_list_t *l, client_t *c)
{
    c->qnext = NULL;
    c->qprev = l->tail;
    if (l->tail)
        l->tail->qnext = c;
    else
        l->head = c;
    l->tail = c;
    l->count++;
}

static void qlist_del(client_list_t *l, client_t *c)
{
    if (c->qprev)
        c->qprev->qnext = c->qnext;
    else
        l->head = c->qnext;
    if (c->qnext)
        c->qnext->qprev = c->qprev;
    else
        l->tail = c->qprev;
    c->qprev = c->qnext = NULL;
    l->count--;
}

static void clients_add(client_list_t *l, client_t *c)
{
    c->next = NULL;
    c->prev = l->tail;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
    l->count++;
}

static void clients_del(client_list_t *l, client_t *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->prev = c->next = NULL;
    l->count--;
}

void server_queue_write(server_t *srv, client_t *c)
{
    if (c->flags & (CLI_QUEUED_WRITE | CLI_CLOSING))
        return;
    c->flags |= CLI_QUEUED_WRITE;
    qlist_add(&srv->pending, c);
}

void client_close_async(client_t *c, const char *reason)
{
    if (c->flags & CLI_CLOSING)
        return;
    if (c->flags & CLI_QUEUED_WRITE) {
        qlist_del(&c->srv->pending, c);
        c->flags &= ~CLI_QUEUED_WRITE;
    }
    c->flags |= CLI_CLOSING;
    c->close_reason = reason;
    qlist_add(&c->srv->closing, c);
    if (c->flags & CLI_READING) {
        uv_read_stop(&c->h.stream);
        c->flags &= ~CLI_READING;
    }
}

/* ---- addresses ------------------------------------------------------------ */

static void format_addr(const struct sockaddr_storage *ss, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
        port = ntohs(a->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
        port = ntohs(a->sin6_port);
    }
    snprintf(buf, cap, "%s:%d", ip, port);
}

static int addr_is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        static const unsigned char v4mapped_lo[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr))
            return 1;
        return memcmp(a->sin6_addr.s6_addr, v4mapped_lo, 12) == 0 && a->sin6_addr.s6_addr[12] == 127;
    }
    return 1; /* unix sockets are local */
}

/* ---- read path ------------------------------------------------------------ */

static void client_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    client_t *c = h->data;
    if (c->qpos > 0 && c->qpos == c->qlen) {
        c->qpos = c->qlen = 0; /* everything consumed: rewind */
    }
    size_t want = QBUF_MIN_FREE;
    size_t need = resp_need(&c->parser); /* total bytes of a big pending request */
    if (need > 0 && need > c->qlen - c->qpos)
        want = need - (c->qlen - c->qpos);
    if (c->qcap - c->qlen < want) {
        if (c->qpos > 0) { /* slide the unparsed part to the front first */
            memmove(c->qbuf, c->qbuf + c->qpos, c->qlen - c->qpos);
            c->qlen -= c->qpos;
            c->qpos = 0;
        }
        if (c->qcap - c->qlen < want) {
            size_t cap = c->qcap ? c->qcap : QBUF_INITIAL;
            while (cap - c->qlen < want)
                cap = need > 0 ? c->qlen + want : cap * 2;
            c->qbuf = mem_realloc(c->qbuf, cap);
            c->qcap = cap;
        }
    }
    buf->base = c->qbuf + c->qlen;
    buf->len = c->qcap - c->qlen;
}

static void client_protocol_error(client_t *c)
{
    char msg[160];
    snprintf(msg, sizeof(msg), "ERR %s", c->parser.err);
    reply_error(&c->reply, msg);
    c->srv->stats.total_error_replies++;
    log_verbose("Protocol error (%s) from client: id=%llu addr=%s", c->parser.err,
                (unsigned long long)c->sess.id, c->addr);
    c->sess.flags |= SESS_CLOSE_AFTER_REPLY;
}

/*
 * Execute one request. CLIENT REPLY OFF/SKIP: the reply goes to a scratch
 * buffer that is dropped (or kept, when the command was CLIENT REPLY ON).
 */
static void client_run(client_t *c, int argc, slice_t *argv)
{
    server_t *srv = c->srv;
    session_t *s = &c->sess;
    s->last_ms = srv->env.now_ms;
    uint32_t quiet = s->flags & (SESS_REPLY_OFF | SESS_REPLY_SKIP);
    if (quiet) {
        reply_clear(&srv->scratch);
        srv->scratch.resp = s->resp;
        s->r = &srv->scratch;
    }
    if (cmd_execute(&srv->env, s, argc, argv) != 0)
        s->flags |= SESS_CLOSE_AFTER_REPLY;
    if (quiet) {
        if (!(s->flags & (SESS_REPLY_OFF | SESS_REPLY_SKIP | SESS_REPLY_SKIP_NEXT)))
            reply_move(&c->reply, &srv->scratch); /* CLIENT REPLY ON answers */
        reply_clear(&srv->scratch);
        s->r = &c->reply;
        s->flags &= ~SESS_REPLY_SKIP;
    }
    if (s->flags & SESS_REPLY_SKIP_NEXT)
        s->flags = (s->flags & ~SESS_REPLY_SKIP_NEXT) | SESS_REPLY_SKIP;
}

/*
 * Manual failover pauses writers (like CLIENT PAUSE WRITE): a normal client's
 * write command stays in its query buffer until the pause ends.
 */
static int client_write_paused(const client_t *c, const resp_req_t *req)
{
    const server_t *srv = c->srv;
    if (srv->pause_writes_until == 0 || (c->sess.flags & (SESS_MASTER | SESS_REPLICA)))
        return 0;
    const cmd_def_t *cmd = cmd_lookup(req->argv[0]);
    return cmd != NULL && (cmd->flags & (CMD_WRITE | CMD_MAY_REPLICATE));
}

void server_unpause_writes(server_t *srv)
{
    srv->pause_writes_until = 0;
    for (client_t *c = srv->clients.head, *next; c != NULL; c = next) {
        next = c->next;
        if (c->flags & CLI_PAUSED) {
            c->flags &= ~CLI_PAUSED;
            client_resume(c);
        }
    }
}

/* Run every complete request in the query buffer. */
static void client_process_input(client_t *c)
{
    server_t *srv = c->srv;
    c->flags |= CLI_EXECUTING;
    srv->env.call_batch = 1;
    srv->env.call_clock_us = 0;
    while (c->qpos < c->qlen && !(c->flags & CLI_CLOSING) &&
           !(c->sess.flags & (SESS_CLOSE_AFTER_REPLY | SESS_BLOCKED))) {
        size_t used = 0;
        resp_req_t req;
        c->parser.unauth = !c->sess.authenticated;
        int rc = resp_parse(&c->parser, c->qbuf + c->qpos, c->qlen - c->qpos, &used, &req);
        if (rc == RESP_AGAIN)
            break;
        if (rc == RESP_ERR) {
            client_protocol_error(c);
            break;
        }
        if (req.argc > 0 && client_write_paused(c, &req)) {
            resp_reset(&c->parser); /* parsed again when the pause ends */
            c->flags |= CLI_PAUSED;
            break;
        }
        if (req.argc > 0)
            client_run(c, req.argc, req.argv);
        c->qpos += used;
    }
    srv->env.call_batch = 0;
    c->flags &= ~CLI_EXECUTING;
    if (c->qpos == c->qlen)
        c->qpos = c->qlen = 0;
    size_t unparsed = c->qlen - c->qpos;
    if (unparsed > c->qpeak)
        c->qpeak = unparsed;
    if (unparsed > srv->cfg.client_query_buffer_limit && !(c->flags & CLI_CLOSING)) {
        log_warning("Closing client that reached max query buffer length: id=%llu addr=%s "
                    "(qbuf initial bytes: \"%.32s\")",
                    (unsigned long long)c->sess.id, c->addr, c->qbuf + c->qpos);
        srv->stats.client_qbuf_limit_disconnections++;
        client_close_async(c, "query buffer limit");
        return;
    }
    if (reply_pending(&c->reply) > 0 || (c->sess.flags & SESS_CLOSE_AFTER_REPLY)) {
        if (c->reply.chunk_mem > 0 && client_check_obuf(c, srv->env.now_ms))
            return;
        server_queue_write(srv, c);
    }
}

static void client_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    client_t *c = stream->data;
    if (nread < 0) {
        client_close_async(c, nread == UV_EOF ? "Client closed connection" : uv_strerror((int)nread));
        return;
    }
    if (nread == 0 || (c->flags & CLI_CLOSING))
        return;
    c->qlen += (size_t)nread;
    c->srv->stats.net_input_bytes += (uint64_t)nread;
    c->srv->env.now_us = time_us();
    c->srv->env.now_ms = c->srv->env.now_us / 1000;
    client_process_input(c);
}

/* Let a client that was paused (blocked, MULTI EXEC done elsewhere) continue. */
void client_resume(client_t *c)
{
    if (!(c->flags & CLI_CLOSING) && c->qpos < c->qlen)
        client_process_input(c);
    else if (reply_pending(&c->reply) > 0)
        server_queue_write(c->srv, c);
}

/* ---- accept --------------------------------------------------------------- */

static void session_setup(client_t *c, server_t *srv)
{
    session_t *s = &c->sess;
    s->id = srv->next_client_id++;
    s->resp = 2;
    s->authenticated = srv->cfg.requirepass == NULL || srv->cfg.requirepass[0] == '\0';
    s->ctime_ms = s->last_ms = time_ms();
    s->r = &c->reply;
    s->net = c;
}

static int client_deny(client_t *c, const char *msg)
{
    reply_raw(&c->reply, msg, strlen(msg));
    c->sess.flags |= SESS_CLOSE_AFTER_REPLY;
    server_queue_write(c->srv, c);
    return 0;
}

static const char protected_msg[] =
    "-DENIED Redis is running in protected mode because protected mode is enabled and no password "
    "is set for the default user. In this mode connections are only accepted from the loopback "
    "interface. If you want to connect from external computers to Redis you may adopt one of the "
    "following solutions: 1) Just disable protected mode sending the command 'CONFIG SET "
    "protected-mode no' from the loopback interface by connecting to Redis from the same host the "
    "server is running, however MAKE SURE Redis is not publicly accessible from internet if you do "
    "so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable "
    "the protected mode by editing the Redis configuration file, and setting the protected mode "
    "option to 'no', and then restarting the server. 3) If you started the server manually just "
    "for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication "
    "password for the default user. NOTE: You only need to do one of the above things in order for "
    "the server to start accepting connections from the outside.\r\n";

int client_accept(server_t *srv, uv_stream_t *listener, int is_unix)
{
    client_t *c = mem_calloc(sizeof(*c));
    c->srv = srv;
    c->fd = -1;
    if (is_unix)
        uv_pipe_init(srv->loop, &c->h.pipe, 0);
    else
        uv_tcp_init(srv->loop, &c->h.tcp);
    c->h.handle.data = c;
    if (uv_accept(listener, &c->h.stream) != 0) {
        c->flags |= CLI_CLOSING;
        uv_close(&c->h.handle, (uv_close_cb)mem_free);
        return -1;
    }
    reply_init(&c->reply, 2);
    resp_init(&c->parser, srv->cfg.proto_max_bulk_len);
    session_setup(c, srv);
    uv_os_fd_t fd;
    if (uv_fileno(&c->h.handle, &fd) == 0)
        c->fd = fd;
    struct sockaddr_storage peer = {0}, local = {0};
    int plen = sizeof(peer), llen = sizeof(local);
    if (is_unix) {
        c->flags |= CLI_UNIX;
        c->sess.flags |= SESS_UNIX;
        snprintf(c->addr, sizeof(c->addr), "%s:0", srv->cfg.unixsocket ? srv->cfg.unixsocket : "");
        snprintf(c->laddr, sizeof(c->laddr), "%s:0", srv->cfg.unixsocket ? srv->cfg.unixsocket : "");
    } else {
        uv_tcp_nodelay(&c->h.tcp, 1);
        if (srv->cfg.tcp_keepalive > 0)
            uv_tcp_keepalive(&c->h.tcp, 1, (unsigned)srv->cfg.tcp_keepalive);
        uv_tcp_getpeername(&c->h.tcp, (struct sockaddr *)&peer, &plen);
        uv_tcp_getsockname(&c->h.tcp, (struct sockaddr *)&local, &llen);
        format_addr(&peer, c->addr, sizeof(c->addr));
        format_addr(&local, c->laddr, sizeof(c->laddr));
    }
    clients_add(&srv->clients, c);
    srv->stats.total_connections++;
    srv->stats.connected_clients = srv->clients.count;
    if (srv->clients.count > (uint64_t)srv->cfg.maxclients) {
        srv->stats.rejected_connections++;
        return client_deny(c, "-ERR max number of clients reached\r\n");
    }
    /* Redis 7.0's rule: no password for the default user + protected mode →
     * only loopback and unix-socket clients. */
    if (srv->cfg.protected_mode && !is_unix && c->sess.authenticated && !addr_is_loopback(&peer)) {
        srv->stats.rejected_connections++;
        return client_deny(c, protected_msg);
    }
    uv_read_start(&c->h.stream, client_on_alloc, client_on_read);
    c->flags |= CLI_READING;
    return 0;
}

/* ---- write path ----------------------------------------------------------- */

static void client_after_flush(client_t *c)
{
    if ((c->sess.flags & SESS_CLOSE_AFTER_REPLY) && reply_pending(&c->reply) == 0 &&
        !(c->flags & CLI_WRITING))
        client_close_async(c, NULL);
}

static void client_on_write(uv_write_t *req, int status)
{
    client_t *c = req->data;
    c->flags &= ~CLI_WRITING;
    if (status < 0) {
        c->inflight = 0;
        client_close_async(c, uv_strerror(status));
        return;
    }
    reply_consume(&c->reply, c->inflight);
    c->srv->stats.net_output_bytes += c->inflight;
    c->inflight = 0;
    if (reply_pending(&c->reply) > 0)
        server_queue_write(c->srv, c);
    else
        client_after_flush(c);
}

static int client_iov(client_t *c, uv_buf_t *bufs, size_t *total)
{
    struct iovec iov[FLUSH_IOV];
    int n = reply_iov(&c->reply, iov, FLUSH_IOV);
    *total = 0;
    for (int i = 0; i < n; i++) {
        bufs[i] = uv_buf_init(iov[i].iov_base, (unsigned)iov[i].iov_len);
        *total += iov[i].iov_len;
    }
    return n;
}

void client_flush(client_t *c)
{
    if (c->flags & (CLI_WRITING | CLI_CLOSING))
        return;
    uv_buf_t bufs[FLUSH_IOV];
    size_t total;
    int n = client_iov(c, bufs, &total);
    if (n > 0) {
        int w = uv_try_write(&c->h.stream, bufs, (unsigned)n);
        if (w < 0 && w != UV_EAGAIN) {
            client_close_async(c, uv_strerror(w));
            return;
        }
        if (w > 0) {
            reply_consume(&c->reply, (size_t)w);
            c->srv->stats.net_output_bytes += (uint64_t)w;
        }
        if (reply_pending(&c->reply) > 0) {
            n = client_iov(c, bufs, &total);
            c->wreq.data = c;
            if (uv_write(&c->wreq, &c->h.stream, bufs, (unsigned)n, client_on_write) != 0) {
                client_close_async(c, "write error");
                return;
            }
            c->inflight = total;
            c->flags |= CLI_WRITING;
        }
    }
    client_after_flush(c);
}

/* ---- close ---------------------------------------------------------------- */

static void client_on_close(uv_handle_t *h)
{
    client_t *c = h->data;
    resp_deinit(&c->parser);
    reply_deinit(&c->reply);
    mem_free(c->qbuf);
    mem_free(c->sess.name);
    mem_free(c);
}

void client_reap(client_t *c)
{
    server_t *srv = c->srv;
    if (c->close_reason != NULL)
        log_verbose("Client id=%llu addr=%s closed: %s", (unsigned long long)c->sess.id, c->addr,
                    c->close_reason);
    clients_del(&srv->clients, c);
    if (c->sess.flags & SESS_MONITOR) {
        if (c->mon_prev)
            c->mon_prev->mon_next = c->mon_next;
        else
            srv->monitors.head = c->mon_next;
        if (c->mon_next)
            c->mon_next->mon_prev = c->mon_prev;
        else
            srv->monitors.tail = c->mon_prev;
        srv->monitors.count--;
    }
    srv->stats.connected_clients = srv->clients.count;
    session_release(&srv->env, &c->sess);
    uv_close(&c->h.handle, client_on_close);
}

/* ---- introspection and cron ----------------------------------------------- */

static void client_flag_chars(const client_t *c, char *f)
{
    uint32_t s = c->sess.flags;
    char *p = f;
    if (s & SESS_REPLICA)
        *p++ = (s & SESS_MONITOR) ? 'O' : 'S';
    else if (s & SESS_MONITOR)
        *p++ = 'O';
    if (s & SESS_MASTER)
        *p++ = 'M';
    if (s & SESS_PUBSUB)
        *p++ = 'P';
    if (s & SESS_MULTI)
        *p++ = 'x';
    if (s & SESS_BLOCKED)
        *p++ = 'b';
    if (s & SESS_DIRTY_CAS)
        *p++ = 'd';
    if (s & SESS_CLOSE_AFTER_REPLY)
        *p++ = 'c';
    if (c->flags & CLI_CLOSING)
        *p++ = 'A';
    if (s & SESS_UNIX)
        *p++ = 'U';
    if (s & SESS_READONLY)
        *p++ = 'r';
    if (s & SESS_NO_EVICT)
        *p++ = 'e';
    if (p == f)
        *p++ = 'N';
    *p = '\0';
}

size_t client_line(const client_t *c, char *buf, size_t cap, uint64_t now_ms)
{
    char flags[24], cmdname[128] = "NULL";
    client_flag_chars(c, flags);
    if (c->sess.last_cmd)
        cmd_fullname(c->sess.last_cmd, cmdname, sizeof(cmdname));
    size_t oll = 0, omem = c->reply.chunk_mem;
    for (const reply_chunk_t *k = c->reply.head; k; k = k->next)
        oll++;
    size_t obl = c->reply.head ? 0 : c->reply.inl_len - c->reply.inl_sent;
    size_t qbuf = c->qlen - c->qpos, qfree = c->qcap - c->qlen;
    int n = snprintf(buf, cap,
                     "id=%llu addr=%s laddr=%s fd=%d name=%s age=%llu idle=%llu flags=%s db=%d "
                     "sub=%d psub=%d ssub=%d multi=%d qbuf=%zu qbuf-free=%zu argv-mem=0 "
                     "multi-mem=0 rbs=%zu rbp=%zu obl=%zu oll=%zu omem=%zu tot-mem=%zu "
                     "events=r%s cmd=%s user=default redir=-1 resp=%d",
                     (unsigned long long)c->sess.id, c->addr, c->laddr, c->fd,
                     c->sess.name ? c->sess.name : "",
                     (unsigned long long)((now_ms - c->sess.ctime_ms) / 1000),
                     (unsigned long long)((now_ms - c->sess.last_ms) / 1000), flags, c->sess.db,
                     session_sub_count(&c->sess, 0), session_sub_count(&c->sess, 1),
                     session_sub_count(&c->sess, 2), session_multi_count(&c->sess), qbuf, qfree,
                     c->qcap, c->qpeak, obl, oll, omem,
                     sizeof(*c) + c->qcap + omem, reply_pending(&c->reply) ? "w" : "", cmdname,
                     c->sess.resp);
    return n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1);
}

static int obuf_class(const client_t *c)
{
    if (c->sess.flags & SESS_REPLICA)
        return OBUF_REPLICA;
    if (c->sess.flags & SESS_PUBSUB)
        return OBUF_PUBSUB;
    return OBUF_NORMAL;
}

/* Output buffer limits (Redis semantics: hard limit closes at once; soft limit
 * closes once exceeded continuously for soft_seconds). Returns 1 if closing. */
int client_check_obuf(client_t *c, uint64_t now_ms)
{
    if (c->flags & CLI_CLOSING)
        return 1;
    const obuf_limit_t *lim = &c->srv->cfg.obuf_limits[obuf_class(c)];
    size_t used = c->reply.chunk_mem;
    int hard = lim->hard && used >= lim->hard;
    int soft = lim->soft && used >= lim->soft;
    if (soft && !hard) {
        if (c->obuf_soft_since_ms == 0)
            c->obuf_soft_since_ms = now_ms;
        else if (now_ms - c->obuf_soft_since_ms >= (uint64_t)lim->soft_seconds * 1000)
            hard = 1;
    } else if (!soft) {
        c->obuf_soft_since_ms = 0;
    }
    if (!hard)
        return 0;
    log_warning("Client id=%llu addr=%s scheduled to be closed ASAP for overcoming of output "
                "buffer limits.",
                (unsigned long long)c->sess.id, c->addr);
    c->srv->stats.client_outbuf_limit_disconnections++;
    client_close_async(c, "output buffer limit");
    return 1;
}

void client_cron(client_t *c, uint64_t now_ms)
{
    const config_t *cfg = &c->srv->cfg;
    if (client_check_obuf(c, now_ms))
        return;
    if (cfg->timeout > 0 &&
        !(c->sess.flags & (SESS_MASTER | SESS_REPLICA | SESS_BLOCKED | SESS_PUBSUB)) &&
        now_ms - c->sess.last_ms > (uint64_t)cfg->timeout * 1000) {
        log_verbose("Closing idle client");
        client_close_async(c, "idle timeout");
        return;
    }
    /* Give back a big idle query buffer. */
    if (c->qlen == 0 && c->qcap > QBUF_INITIAL * 2 && now_ms - c->sess.last_ms > 2000) {
        mem_free(c->qbuf);
        c->qbuf = NULL;
        c->qcap = 0;
    }
    c->qpeak = c->qlen - c->qpos;
}
