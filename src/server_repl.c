/*
 * server_repl.c — the replication transport and glue: the hooks (repl_io_t)
 * through which the replication core (src/repl/) reaches connections and the
 * keyspace, the link to our master, and the glue points server.c calls.
 *
 * Primary side: replicas are ordinary clients (net/client.c) whose session
 * got SESS_REPLICA from PSYNC; the core's bytes for them are appended to
 * their reply buffer and flushed by before_sleep like any reply (their
 * output limits are the "replica" class). Snapshots for full syncs are
 * encoded with the RDB codec (src/persist/rdb.h) by a forked child (as
 * Redis's BGSAVE for replication) into a pipe that the loop reads into
 * memory blocks; the core hands those to each replica a chunk at a time as
 * its output drains (so a big snapshot never trips the output buffer limits).
 *
 * Replica side: the link is a client_t this file creates (so CLIENT LIST,
 * CLIENT KILL TYPE master, MONITOR and the close path treat it as a client)
 * with its own read callbacks: handshake lines and the bulk header go to the
 * core's state machine; the payload is gathered in memory (whatever
 * repl-diskless-load says) and loaded with rdb_load_ks after flushing the
 * keyspace; then the stream is parsed and executed through the dispatcher
 * with the link's session (SESS_MASTER, replies dropped, nothing expires
 * while it runs), and whole commands (whole transactions) are reported to
 * the core as applied.
 *
 * Must not: parse or build replication protocol beyond framing (the core
 * does), keep a pointer to a client past its close (the core drops the link
 * through link_close, which clears ours), block except while loading a
 * snapshot (as Redis's replica loads) or encoding one when fork fails, or
 * reap a child other than its snapshot child.
 * Glue points: server_repl_init before server_rdb_load (which calls
 * server_repl_restore with the RDB's repl-* aux fields), server_repl_before_sleep
 * after the unblock step, server_repl_cron from cron, repl_feed from
 * server_propagate.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/cmd_repl.h"
#include "cmd/cmd_save.h"
#include "ks/db.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/util.h"
#include "net/client.h"
#include "persist/persist.h"
#include "persist/rdb.h"
#include "persist/rdb_save.h"
#include "repl/repl.h"
#include "server.h"

#define LINK_MIN_FREE (64 * 1024) /* read room kept in the link's buffer */
#define LINK_LINE_MAX (64 * 1024) /* a reply line longer than this is garbage */
#define PAYLOAD_BLOCK (8u << 20)  /* the payload is kept in blocks: no copy as it grows */

static struct {
    server_t *srv;
    repl_t *repl;
    client_t *link; /* the client of the link to our master, NULL: none */
    int in_payload; /* reading the RDB payload */
    size_t applied; /* link qbuf position up to which the stream was applied */
    int master_db;  /* the master stream's db when no link exists (PSYNC continues it) */
    int started;    /* replicaof from the config was acted on */
    struct {
        char **blk; /* PAYLOAD_BLOCK bytes each, the last one partly filled */
        size_t nblk, cap;
        size_t len;  /* bytes received */
        size_t rpos; /* bytes handed to the loader */
        size_t rlen; /* bytes of RDB (an EOF mark excluded) */
    } payload;
    reply_t discard; /* replies to the master's commands (dropped) */
    struct {
        pid_t pid; /* the snapshot child, 0: none */
        int fd;    /* read end of its pipe */
        uv_poll_t poll;
        repl_sink_fn sink;
        void *sink_arg;
    } snap;
} glue;

/* ---- hooks for the core: replicas ------------------------------------------------------- */

static void io_replica_write(void *arg, void *h, const void *p, size_t n)
{
    client_t *c = client_of(h);
    if (c->flags & CLI_CLOSING)
        return;
    reply_raw(&c->reply, p, n);
    server_queue_write(arg, c);
}

static size_t io_replica_pending(void *arg, void *h)
{
    (void)arg;
    return reply_pending(&client_of(h)->reply);
}

static void io_replica_close(void *arg, void *h)
{
    (void)arg;
    client_close_async(client_of(h), "replica dropped by the replication core");
}

/* How a full sync's snapshot is written: as SAVE/BGSAVE write the dump
 * (save_file_opts), with the replication aux fields of the core's snapshot
 * point, and no incremental fsync (it goes into a pipe or memory). */
static void snapshot_opts(server_t *srv, const repl_snap_t *snap, rdb_file_opts_t *o)
{
    save_file_opts(&srv->env, time_ms(), o);
    o->incremental_fsync = 0;
    o->repl_id = snap->replid;
    o->repl_offset = snap->offset;
    o->repl_stream_db = snap->stream_db;
}

/* The snapshot child's bytes arrive: into the core's sink; at the end of the
 * pipe, the child's exit status says whether the snapshot is whole. */
static void snap_on_readable(uv_poll_t *h, int status, int events)
{
    char buf[64 * 1024];
    int at_end = 0;
    for (;;) {
        ssize_t n = read(glue.snap.fd, buf, sizeof(buf));
        if (n > 0) {
            if (glue.snap.sink(glue.snap.sink_arg, buf, (size_t)n) != 0)
                break;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && status == 0)
            return; /* more later */
        at_end = n == 0;
        break; /* end of the pipe, or an error */
    }
    uv_poll_stop(h);
    uv_close((uv_handle_t *)h, NULL);
    close(glue.snap.fd);
    glue.snap.fd = -1;
    int st = 0;
    pid_t pid = glue.snap.pid;
    glue.snap.pid = 0;
    if (!at_end)
        kill(pid, SIGUSR1); /* we stopped reading early: end it (it would block) */
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (ok)
        log_notice("Background RDB transfer terminated with success");
    else
        log_warning("Background transfer error (child pid %ld)", (long)pid);
    repl_snapshot_done(glue.repl, ok, time_ms());
}

/*
 * A full sync's snapshot, as Redis makes it: a forked child encodes the
 * keyspace as it is at this instant and writes it into a pipe; the loop reads
 * the pipe and hands the bytes to the core, which streams them to EOF-framed
 * (diskless) replicas as they come and sends $<len>-framed ones everything at
 * the end. The master keeps serving meanwhile (encoding 1M keys in-process
 * stopped it for ~0.18 s). If fork fails, the snapshot is encoded here.
 */
static int io_snapshot(void *arg, const repl_snap_t *snap, repl_sink_fn sink, void *sink_arg)
{
    server_t *srv = arg;
    rdb_file_opts_t o;
    snapshot_opts(srv, snap, &o);
    int p[2];
    if (glue.snap.pid > 0 || pipe2(p, O_CLOEXEC) != 0)
        return rdb_write_sink(sink, sink_arg, srv->ks, &o);
    pid_t pid = fork();
    if (pid == 0) {
        rdb_child_setup();
        close(p[0]);
        int rc = rdb_write_fd(p[1], srv->ks, &o);
        _exit(rc == 0 && close(p[1]) == 0 ? 0 : 1);
    }
    close(p[1]);
    if (pid < 0) {
        log_warning("Can't save in background: fork: %s", strerror(errno));
        close(p[0]);
        return rdb_write_sink(sink, sink_arg, srv->ks, &o);
    }
    log_notice("Background RDB transfer started by pid %ld", (long)pid);
    fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
    glue.snap.pid = pid;
    glue.snap.fd = p[0];
    glue.snap.sink = sink;
    glue.snap.sink_arg = sink_arg;
    uv_poll_init(srv->loop, &glue.snap.poll, p[0]);
    uv_poll_start(&glue.snap.poll, UV_READABLE | UV_DISCONNECT, snap_on_readable);
    return REPL_SNAP_ASYNC;
}

static void apply_expire_mode(server_t *srv)
{
    if (srv->env.loading)
        return; /* the loader restores its own mode when done */
    int mode = !srv->env.is_replica         ? KS_EXPIRE_DELETE
               : srv->cfg.replica_read_only ? KS_EXPIRE_HIDE_RO
                                            : KS_EXPIRE_HIDE_RW;
    if (ks_expire_mode(srv->ks) != mode)
        ks_set_expire_mode(srv->ks, mode);
}

static void io_role_changed(void *arg, int is_replica)
{
    server_t *srv = arg;
    srv->env.is_replica = is_replica;
    apply_expire_mode(srv);
}

/* ---- the link to our master ---------------------------------------------------------------- */

static void payload_free(void)
{
    for (size_t i = 0; i < glue.payload.nblk; i++)
        mem_free(glue.payload.blk[i]);
    mem_free(glue.payload.blk);
    memset(&glue.payload, 0, sizeof(glue.payload));
    glue.in_payload = 0;
}

static void link_forget(void)
{
    client_t *c = glue.link;
    if (c == NULL)
        return;
    glue.master_db = c->sess.db;
    glue.link = NULL;
    payload_free();
    client_close_async(c, "link with master closed");
}

static void io_link_close(void *arg)
{
    (void)arg;
    link_forget();
}

static void io_link_write(void *arg, const void *p, size_t n)
{
    client_t *c = glue.link;
    if (c == NULL || (c->flags & CLI_CLOSING))
        return;
    reply_raw(&c->reply, p, n);
    server_queue_write(arg, c);
}

static int io_link_db(void *arg)
{
    (void)arg;
    return glue.link != NULL ? glue.link->sess.db : glue.master_db;
}

/* Resolve host (an address or a name) into ss; 0 or -1. */
static int resolve(server_t *srv, const char *host, int port, struct sockaddr_storage *ss)
{
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0 ||
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0)
        return 0;
    uv_getaddrinfo_t req;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    if (uv_getaddrinfo(srv->loop, &req, NULL, host, NULL, &hints) != 0 || req.addrinfo == NULL)
        return -1;
    memcpy(ss, req.addrinfo->ai_addr, req.addrinfo->ai_addrlen);
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    uv_freeaddrinfo(req.addrinfo);
    return 0;
}

/* A client_t for the link, on srv->clients like an accepted one (so the
 * normal close path reaps it). */
static client_t *link_client_new(server_t *srv, const char *host, int port)
{
    client_t *c = mem_calloc(sizeof(*c));
    c->srv = srv;
    c->fd = -1;
    uv_tcp_init(srv->loop, &c->h.tcp);
    c->h.handle.data = c;
    reply_init(&c->reply, 2);
    resp_init(&c->parser, LLONG_MAX); /* the master is exempt from proto-max-bulk-len */
    session_t *s = &c->sess;
    s->id = srv->next_client_id++;
    s->resp = 2;
    s->authenticated = 1;
    s->ctime_ms = s->last_ms = time_ms();
    s->r = &glue.discard;
    s->net = c;
    snprintf(c->addr, sizeof(c->addr), "%s:%d", host, port);
    snprintf(c->laddr, sizeof(c->laddr), "?:0");
    c->prev = srv->clients.tail;
    if (srv->clients.tail)
        srv->clients.tail->next = c;
    else
        srv->clients.head = c;
    srv->clients.tail = c;
    srv->clients.count++;
    srv->stats.connected_clients = srv->clients.count;
    return c;
}

static void link_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void link_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void link_on_connect(uv_connect_t *req, int status)
{
    client_t *c = req->data;
    mem_free(req);
    if (status == UV_ECANCELED || c != glue.link || (c->flags & CLI_CLOSING))
        return;
    if (status < 0) {
        log_warning("Error condition on socket for SYNC: %s", uv_strerror(status));
        client_close_async(c, "connect to master failed");
        return;
    }
    uv_os_fd_t fd;
    if (uv_fileno(&c->h.handle, &fd) == 0)
        c->fd = fd;
    struct sockaddr_storage local = {0};
    int llen = sizeof(local);
    uv_tcp_getsockname(&c->h.tcp, (struct sockaddr *)&local, &llen);
    char ip[INET6_ADDRSTRLEN] = "?";
    int lport = 0;
    if (local.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&local)->sin_addr, ip, sizeof(ip));
        lport = ntohs(((struct sockaddr_in *)&local)->sin_port);
    } else if (local.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&local)->sin6_addr, ip, sizeof(ip));
        lport = ntohs(((struct sockaddr_in6 *)&local)->sin6_port);
    }
    snprintf(c->laddr, sizeof(c->laddr), "%s:%d", ip, lport);
    uv_read_start(&c->h.stream, link_on_alloc, link_on_read);
    c->flags |= CLI_READING;
    repl_link_connected(glue.repl, time_ms());
}

static void *io_link_connect(void *arg, const char *host, int port)
{
    server_t *srv = arg;
    struct sockaddr_storage ss;
    if (resolve(srv, host, port, &ss) != 0) {
        log_warning("Unable to connect to MASTER: can't resolve '%s'", host);
        return NULL;
    }
    link_forget();
    client_t *c = link_client_new(srv, host, port);
    uv_tcp_nodelay(&c->h.tcp, 1);
    if (srv->cfg.tcp_keepalive > 0)
        uv_tcp_keepalive(&c->h.tcp, 1, (unsigned)srv->cfg.tcp_keepalive);
    uv_connect_t *req = mem_alloc(sizeof(*req));
    req->data = c;
    int rc = uv_tcp_connect(req, &c->h.tcp, (struct sockaddr *)&ss, link_on_connect);
    if (rc != 0) {
        mem_free(req);
        log_warning("Unable to connect to MASTER: %s", uv_strerror(rc));
        client_close_async(c, "connect to master failed");
        return NULL;
    }
    glue.link = c;
    glue.applied = 0;
    glue.in_payload = 0;
    return &c->sess;
}

/* ---- reading the link -------------------------------------------------------------------- */

static void link_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    client_t *c = h->data;
    int streaming = (c->sess.flags & SESS_MASTER) != 0;
    size_t keep = streaming && glue.applied < c->qpos ? glue.applied : c->qpos;
    if (keep == c->qlen) { /* everything consumed: rewind */
        c->qpos = c->qlen = 0;
        glue.applied = 0;
        keep = 0;
    }
    size_t want = LINK_MIN_FREE, need = resp_need(&c->parser);
    if (need > 0 && need > c->qlen - c->qpos)
        want = need - (c->qlen - c->qpos) > want ? need - (c->qlen - c->qpos) : want;
    if (c->qcap - c->qlen < want && keep > 0) { /* slide the live part to the front */
        memmove(c->qbuf, c->qbuf + keep, c->qlen - keep);
        c->qlen -= keep;
        c->qpos -= keep;
        glue.applied = glue.applied >= keep ? glue.applied - keep : 0;
    }
    if (c->qcap - c->qlen < want) {
        size_t cap = c->qcap ? c->qcap : LINK_MIN_FREE * 2;
        while (cap - c->qlen < want)
            cap *= 2;
        c->qbuf = mem_realloc(c->qbuf, cap);
        c->qcap = cap;
    }
    buf->base = c->qbuf + c->qlen;
    buf->len = c->qcap - c->qlen;
}

static void payload_cat(const char *p, size_t n)
{
    while (n > 0) {
        size_t used = glue.payload.len % PAYLOAD_BLOCK;
        if (used == 0 && glue.payload.len == glue.payload.nblk * (size_t)PAYLOAD_BLOCK) {
            if (glue.payload.nblk == glue.payload.cap) {
                glue.payload.cap = glue.payload.cap ? glue.payload.cap * 2 : 8;
                glue.payload.blk = mem_realloc(glue.payload.blk, sizeof(char *) * glue.payload.cap);
            }
            glue.payload.blk[glue.payload.nblk++] = mem_alloc(PAYLOAD_BLOCK);
        }
        size_t k = PAYLOAD_BLOCK - used < n ? PAYLOAD_BLOCK - used : n;
        memcpy(glue.payload.blk[glue.payload.nblk - 1] + used, p, k);
        glue.payload.len += k;
        p += k;
        n -= k;
    }
}

/* rdb_read_fn over the payload's blocks, up to rlen bytes. */
static size_t payload_read(void *arg, void *dst, size_t cap)
{
    (void)arg;
    size_t left = glue.payload.rlen - glue.payload.rpos, inner = glue.payload.rpos % PAYLOAD_BLOCK;
    size_t n = cap < left ? cap : left;
    if (n > PAYLOAD_BLOCK - inner)
        n = PAYLOAD_BLOCK - inner;
    if (n > 0)
        memcpy(dst, glue.payload.blk[glue.payload.rpos / PAYLOAD_BLOCK] + inner, n);
    glue.payload.rpos += n;
    return n;
}

/* The link's session now applies the stream (after +CONTINUE or a load). */
static void link_start_stream(client_t *c, int db)
{
    server_t *srv = c->srv;
    c->sess.flags |= SESS_MASTER;
    c->sess.db = db >= 0 && db < srv->cfg.databases && !srv->env.cluster_mode ? db : 0;
    glue.applied = c->qpos;
    resp_reset(&c->parser);
    repl_link_read(glue.repl, c->qlen - c->qpos, time_ms());
}

/* Flush the keyspace and load the payload; 1 on success. */
static int link_load(client_t *c)
{
    server_t *srv = c->srv;
    long long len = repl_link_rdb_len(glue.repl);
    repl_link_loading(glue.repl);
    log_notice("MASTER <-> REPLICA sync: Flushing old data");
    ks_flushall(srv->ks);
    log_notice("MASTER <-> REPLICA sync: Loading DB in memory");
    uint64_t t0 = time_mono_us();
    rdb_reader_t rd;
    glue.payload.rlen = len > 0 ? (size_t)len : 0;
    glue.payload.rpos = 0;
    rdb_reader_init_fn(&rd, payload_read, NULL, glue.payload.rlen);
    rd.list_fill = srv->cfg.list_max_listpack_size;
    rdb_load_stats_t st;
    int mode = ks_expire_mode(srv->ks);
    ks_set_expire_mode(srv->ks, KS_EXPIRE_NEVER);
    int rc = rdb_load_ks(&rd, srv->ks, time_ms(), 0, &st);
    ks_set_expire_mode(srv->ks, mode);
    if (rc != RDB_OK)
        log_warning("Internal error in RDB reading: %s", rdb_reader_error(&rd));
    else
        log_notice("Done loading RDB, keys loaded: %llu, keys expired: %llu. (%.3f seconds)",
                   (unsigned long long)st.keys_loaded, (unsigned long long)st.keys_expired,
                   (double)(time_mono_us() - t0) / 1e6);
    rdb_reader_deinit(&rd);
    payload_free();
    repl_link_synced(glue.repl, rc == RDB_OK, time_ms());
    if (rc != RDB_OK)
        return 0;
    if (srv->aof != NULL && aof_state(srv->aof) != AOF_OFF)
        aof_bgrewrite(srv->aof, srv->ks, time_ms(), 0); /* the AOF must describe the new data */
    link_start_stream(c, st.repl_stream_db);
    return 1;
}

/* Parse and run every complete command of the stream. */
static void link_apply(client_t *c)
{
    server_t *srv = c->srv;
    session_t *s = &c->sess;
    int mode = ks_expire_mode(srv->ks);
    ks_set_expire_mode(srv->ks, KS_EXPIRE_NEVER);
    c->flags |= CLI_EXECUTING;
    while (c->qpos < c->qlen && glue.link == c && !(c->flags & CLI_CLOSING)) {
        size_t used = 0;
        resp_req_t req;
        int rc = resp_parse(&c->parser, c->qbuf + c->qpos, c->qlen - c->qpos, &used, &req);
        if (rc == RESP_AGAIN)
            break;
        if (rc == RESP_ERR) {
            log_warning("Protocol error from MASTER: %s", c->parser.err);
            client_close_async(c, "protocol error from master");
            break;
        }
        if (req.argc > 0)
            cmd_execute(&srv->env, s, req.argc, req.argv);
        reply_clear(&glue.discard);
        c->qpos += used;
        if (!(s->flags & SESS_MULTI) && glue.link == c) { /* whole transactions only */
            repl_link_applied(glue.repl, c->qbuf + glue.applied, c->qpos - glue.applied);
            glue.applied = c->qpos;
        }
    }
    c->flags &= ~CLI_EXECUTING;
    s->flags &= ~SESS_CLOSE_AFTER_REPLY; /* QUIT from a master means nothing */
    ks_set_expire_mode(srv->ks, mode);
}

/* Handshake lines and the payload, then the stream. */
static void link_process(client_t *c)
{
    repl_t *r = glue.repl;
    uint64_t now = time_ms();
    while (glue.link == c && !(c->flags & CLI_CLOSING)) {
        if (c->sess.flags & SESS_MASTER) {
            link_apply(c);
            return;
        }
        if (glue.in_payload) {
            size_t used = 0;
            int done = repl_link_payload(r, c->qbuf + c->qpos, c->qlen - c->qpos, &used, now);
            payload_cat(c->qbuf + c->qpos, used);
            c->qpos += used;
            if (!done || !link_load(c))
                return;
            continue;
        }
        char *nl = memchr(c->qbuf + c->qpos, '\n', c->qlen - c->qpos);
        if (nl == NULL) {
            if (c->qlen - c->qpos > LINK_LINE_MAX)
                client_close_async(c, "reply line from master too long");
            return;
        }
        size_t len = (size_t)(nl - (c->qbuf + c->qpos));
        const char *line = c->qbuf + c->qpos;
        c->qpos += len + 1;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        int rc = repl_link_line(r, line, len, now);
        if (rc == REPL_HS_PAYLOAD)
            glue.in_payload = 1;
        else if (rc == REPL_HS_PARTIAL)
            link_start_stream(c, glue.master_db);
    }
}

static void link_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    client_t *c = stream->data;
    if (nread < 0) {
        if (c == glue.link && !(c->sess.flags & SESS_MASTER))
            log_warning("Error condition on socket for SYNC: %s",
                        nread == UV_EOF ? "Connection reset by peer" : uv_strerror((int)nread));
        client_close_async(c, nread == UV_EOF ? "master closed the connection"
                                              : uv_strerror((int)nread));
        return;
    }
    if (nread == 0 || (c->flags & CLI_CLOSING))
        return;
    server_t *srv = c->srv;
    c->qlen += (size_t)nread;
    srv->env.now_us = time_us();
    srv->env.now_ms = srv->env.now_us / 1000;
    c->sess.last_ms = srv->env.now_ms;
    if (c->sess.flags & SESS_MASTER)
        repl_link_read(glue.repl, (size_t)nread, srv->env.now_ms);
    link_process(c);
}

/* ---- glue points --------------------------------------------------------------------------- */

int server_repl_init(server_t *srv)
{
    glue.srv = srv;
    reply_init(&glue.discard, 2);
    repl_io_t io = {
        .arg = srv,
        .replica_write = io_replica_write,
        .replica_close = io_replica_close,
        .replica_pending = io_replica_pending,
        .snapshot = io_snapshot,
        .link_connect = io_link_connect,
        .link_write = io_link_write,
        .link_close = io_link_close,
        .link_db = io_link_db,
        .role_changed = io_role_changed,
    };
    glue.repl = repl_new(&srv->cfg, &io, NULL, time_ms());
    repl_register(glue.repl);
    /* a replica from the start: loading keeps expired keys (the master
     * decides), and the link opens at the first cron once loading is over */
    if (srv->cfg.replicaof_host != NULL && !srv->cfg.cluster_enabled)
        srv->env.is_replica = 1;
    return 0;
}

void server_repl_restore(server_t *srv, const char *replid, long long offset, int stream_db)
{
    (void)srv;
    glue.master_db = stream_db;
    repl_restore(glue.repl, replid, offset, stream_db);
}

void server_repl_before_sleep(server_t *srv)
{
    uint64_t now = time_ms();
    cmd_repl_wait_serve(&srv->env, now);
    repl_before_sleep(glue.repl, now);
    /* Snapshot bytes left for the next turn: nothing else would wake us. */
    server_stay_awake(srv, SERVER_AWAKE_REPL, repl_pump_more(glue.repl));
}

void server_repl_cron(server_t *srv, uint64_t now_ms)
{
    if (!glue.started && !srv->env.loading) {
        glue.started = 1;
        if (srv->cfg.replicaof_host != NULL && !srv->env.cluster_mode)
            repl_set_master(glue.repl, srv->cfg.replicaof_host, srv->cfg.replicaof_port, now_ms);
    }
    apply_expire_mode(srv);
    repl_cron(glue.repl, now_ms);
    cmd_repl_wait_serve(&srv->env, now_ms);
}

void repl_feed(server_t *srv, int db, int argc, const slice_t *argv)
{
    if (glue.repl != NULL && !srv->env.loading)
        repl_feed_command(glue.repl, db, argc, argv);
}

int server_repl_shutdown_lagging(server_t *srv, int ask, int report, int *total)
{
    repl_t *r = glue.repl;
    long long off = repl_wait_offset(r);
    int n = 0, lagging = 0;
    for (size_t i = 0; i < repl_replica_count(r); i++) {
        repl_replica_info_t ri;
        if (repl_replica_get(r, i, srv->env.now_ms, &ri) != 0 || ri.state[0] == '\0')
            continue; /* only REPLCONF so far: not a replica yet */
        n++;
        if (strcmp(ri.state, "online") != 0 || ri.ack_off < off) {
            lagging++;
            if (report)
                log_warning("Lagging replica %s:%d reported offset %lld behind master, state=%s.",
                            ri.ip, ri.port, off - ri.ack_off, ri.state);
        }
    }
    if (ask && lagging > 0)
        repl_request_acks(r);
    *total = n;
    return lagging;
}
