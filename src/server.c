/*
 * server.c — wiring of the loop room: listeners, the one before_sleep, the cron
 * timer, signals, shutdown, and the host hooks the command room calls.
 *
 * Must not: parse protocols or touch the keyspace beyond calling ks_* cron
 * entry points. Order inside before_sleep is fixed here (see server.h).
 */
#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "lib/util.h"
#include "cluster/cluster.h"
#include "cluster/cluster_bus.h"
#include "cmd/cmd_hooks.h"
#include "ks/db.h"
#include "cmd/cmd_info.h"
#include "cmd/cmd_meta.h"
#include "cmd/cmd_types.h"
#include "net/client.h"

/* ---- listeners ------------------------------------------------------------- */

static void server_on_connection(uv_stream_t *listener, int status)
{
    listener_t *l = listener->data;
    if (status < 0) {
        log_warning("Accepting client connection: %s", uv_strerror(status));
        return;
    }
    client_accept(l->srv, listener, l->is_unix);
}

static void listener_on_close(uv_handle_t *h) { mem_free(h->data); }

static listener_t *listener_new(server_t *srv, int is_unix)
{
    listener_t *l = mem_calloc(sizeof(*l));
    if (is_unix)
        uv_pipe_init(srv->loop, &l->h.pipe, 0);
    else
        uv_tcp_init(srv->loop, &l->h.tcp);
    l->h.handle.data = l;
    l->srv = srv;
    l->is_unix = is_unix;
    l->open = 1;
    return l;
}

static void listener_close(listener_t *l)
{
    if (l->open && !uv_is_closing(&l->h.handle))
        uv_close(&l->h.handle, listener_on_close);
    l->open = 0;
}

/* Bind addr:port into *out; 0, 1 when an optional address is unavailable, -1. */
static int listen_tcp(server_t *srv, const char *addr, int port, int optional, listener_t **out)
{
    const char *host = addr;
    if (strcmp(addr, "*") == 0)
        host = "0.0.0.0";
    else if (strcmp(addr, "::*") == 0)
        host = "::";
    struct sockaddr_storage ss;
    int v6 = strchr(host, ':') != NULL;
    int rc = v6 ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss)
                : uv_ip4_addr(host, port, (struct sockaddr_in *)&ss);
    listener_t *l = NULL;
    if (rc == 0) {
        l = listener_new(srv, 0);
        rc = uv_tcp_bind(&l->h.tcp, (struct sockaddr *)&ss, v6 ? UV_TCP_IPV6ONLY : 0);
        if (rc == 0)
            rc = uv_listen(&l->h.stream, srv->cfg.tcp_backlog, server_on_connection);
    }
    if (rc != 0) {
        if (l != NULL)
            listener_close(l);
        if (optional && (rc == UV_EADDRNOTAVAIL || rc == UV_EAFNOSUPPORT || rc == UV_EPROTONOSUPPORT))
            return 1;
        log_warning("Warning: Could not create server TCP listening socket %s:%d: %s", addr, port,
                    uv_strerror(rc));
        return -1;
    }
    *out = l;
    return 0;
}

static int listen_unix(server_t *srv, listener_t **out)
{
    unlink(srv->cfg.unixsocket);
    listener_t *l = listener_new(srv, 1);
    int rc = uv_pipe_bind(&l->h.pipe, srv->cfg.unixsocket);
    if (rc == 0)
        rc = uv_listen(&l->h.stream, srv->cfg.tcp_backlog, server_on_connection);
    if (rc != 0) {
        log_warning("Failed opening Unix socket: %s", uv_strerror(rc));
        listener_close(l);
        return -1;
    }
    chmod(srv->cfg.unixsocket, (mode_t)srv->cfg.unixsocketperm);
    *out = l;
    return 0;
}

static void close_listeners(server_t *srv)
{
    for (int i = 0; i < srv->nlisteners; i++)
        listener_close(srv->listeners[i]);
    srv->nlisteners = 0;
}

/* Open every configured listener into out[]; all or nothing. Returns the count or -1. */
static int open_listener_set(server_t *srv, listener_t **out)
{
    const config_t *cfg = &srv->cfg;
    int n = 0;
    for (int i = 0; cfg->port != 0 && i < cfg->nbind && n < SERVER_MAX_LISTENERS - 1; i++) {
        const char *a = cfg->bind[i];
        int optional = a[0] == '-';
        int rc = listen_tcp(srv, optional ? a + 1 : a, cfg->port, optional, &out[n]);
        if (rc < 0)
            goto fail;
        n += rc == 0;
    }
    if (cfg->unixsocket != NULL && cfg->unixsocket[0] != '\0') {
        if (listen_unix(srv, &out[n]) != 0)
            goto fail;
        n++;
    }
    return n;
fail:
    while (n > 0)
        listener_close(out[--n]);
    return -1;
}

static int open_listeners(server_t *srv)
{
    int n = open_listener_set(srv, srv->listeners);
    if (n < 0) {
        log_warning("Failed listening on port %d (TCP), aborting.", srv->cfg.port);
        return -1;
    }
    srv->nlisteners = n;
    srv->listen_port = srv->cfg.port;
    return 0;
}

/* CONFIG SET port/bind: bind the new set first, then drop the old one. */
static int relisten(server_t *srv)
{
    listener_t *fresh[SERVER_MAX_LISTENERS];
    close_listeners(srv); /* the same port may be in the new set: free it first */
    int n = open_listener_set(srv, fresh);
    if (n < 0)
        return -1;
    memcpy(srv->listeners, fresh, sizeof(fresh[0]) * (size_t)n);
    srv->nlisteners = n;
    srv->listen_port = srv->cfg.port;
    return 0;
}

/* ---- shutdown ------------------------------------------------------------- */

#define SHUTDOWN_TIMEOUT_MS 10000 /* Redis 7.0's shutdown-timeout default (10 s) */

static void remove_pidfile(server_t *srv)
{
    if (srv->pidfile_written && srv->cfg.pidfile != NULL) {
        unlink(srv->cfg.pidfile);
        srv->pidfile_written = 0;
    }
}

static void write_pidfile(server_t *srv)
{
    const char *path = srv->cfg.pidfile;
    if (path == NULL || path[0] == '\0') {
        if (!srv->cfg.daemonize)
            return;
        path = "/var/run/redis.pid";
    }
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        log_warning("Failed to write PID file: %s", strerror(errno));
        return;
    }
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
    srv->pidfile_written = 1;
}

/* From the start of a shutdown until it is abandoned, the cluster node takes
 * no part in failovers (cluster_set_shutting_down). */
static void server_set_shutting_down(server_t *srv, int on)
{
    srv->shutdown_asap = on;
    if (srv->cluster != NULL)
        cluster_set_shutting_down(srv->cluster, on);
}

/* Flush what must survive (AOF, RDB). 0, or -1 when the shutdown must not happen. */
static int server_shutdown_prepare(server_t *srv, int flags)
{
    log_warning("User requested shutdown...");
    if ((server_persist_shutdown(srv, flags) != 0 || server_rdb_shutdown(srv, flags) != 0) &&
        !(flags & SHUTDOWN_FORCE)) {
        log_warning("Errors trying to shut down the server. Check the logs for more information.");
        return -1;
    }
    srv->shutdown_prepared = 1;
    return 0;
}

/*
 * Redis 7.0: unless SHUTDOWN NOW, a node with replicas pauses writers, asks
 * for ACKs and waits (up to shutdown-timeout, 10 s) until every replica has
 * acknowledged every write. 1 while waiting (checked again each iteration).
 */
static int server_shutdown_wait(server_t *srv)
{
    uint64_t now = time_ms();
    int total = 0;
    if (srv->shutdown_flags & SHUTDOWN_NOW)
        return 0;
    if (srv->shutdown_wait_until == 0) {
        if (server_repl_shutdown_lagging(srv, 1, 0, &total) == 0)
            return 0;
        srv->shutdown_wait_until = now + SHUTDOWN_TIMEOUT_MS;
        srv->pause_writes_until = UINT64_MAX; /* released only by the exit */
        log_notice("Waiting for replicas before shutting down.");
        return 1;
    }
    int timed_out = now >= srv->shutdown_wait_until;
    int lagging = server_repl_shutdown_lagging(srv, 0, timed_out, &total);
    if (lagging > 0 && !timed_out)
        return 1;
    if (lagging > 0)
        log_warning("%d of %d replicas are in sync when shutting down.", total - lagging, total);
    else
        log_notice("%d of %d replicas are in sync when shutting down.", total, total);
    return 0;
}

/* Runs at the end of before_sleep: nothing enters the replication stream or
 * the persistence files between the flush and the exit. */
static void server_finish_shutdown(server_t *srv)
{
    if (!srv->shutdown_prepared) {
        if (server_shutdown_wait(srv))
            return;
        if (server_shutdown_prepare(srv, srv->shutdown_flags) != 0) {
            server_set_shutting_down(srv, 0);
            srv->shutdown_wait_until = 0;
            if (srv->pause_writes_until == UINT64_MAX)
                server_unpause_writes(srv);
            return;
        }
    }
    if (srv->cfg.cluster_enabled)
        cluster_stop(srv);
    if (srv->cfg.unixsocket != NULL && srv->cfg.unixsocket[0] != '\0')
        unlink(srv->cfg.unixsocket);
    remove_pidfile(srv);
    close_listeners(srv);
    for (client_t *c = srv->clients.head; c != NULL; c = c->next)
        client_close_async(c, NULL);
    log_warning("%s is now ready to exit, bye bye...", "Tessera");
    uv_stop(srv->loop);
}

static void server_on_signal(uv_signal_t *h, int signum)
{
    server_t *srv = h->data;
    if (srv->shutdown_asap && signum == SIGINT) {
        log_warning("You insist... exiting now.");
        remove_pidfile(srv);
        exit(1);
    }
    log_warning("Received %s scheduling shutdown...", signum == SIGINT ? "SIGINT" : "SIGTERM");
    server_set_shutting_down(srv, 1);
    srv->shutdown_flags = SHUTDOWN_NOFLAGS;
}

/* ---- before_sleep and cron ------------------------------------------------ */

/* Only exists so the loop does not block (server_stay_awake). */
static void server_on_awake_idle(uv_idle_t *h) { (void)h; }

void server_stay_awake(server_t *srv, unsigned reason, int on)
{
    unsigned was = srv->awake_why;
    srv->awake_why = on ? was | reason : was & ~reason;
    if (srv->awake_why != 0 && was == 0)
        uv_idle_start(&srv->awake_idle, server_on_awake_idle);
    else if (srv->awake_why == 0 && was != 0)
        uv_idle_stop(&srv->awake_idle);
}

/*
 * Poll instead of sleeping while requests arrive densely. A loop turn that
 * sends replies less than SERVER_SPIN_DENSE_NS after the previous such turn
 * starts a polling episode: until SERVER_SPIN_TAIL_NS after the last reply,
 * the idle handle keeps libuv's poll from blocking. Under a steady stream of
 * requests the loop never sleeps, so a client's write needs no wake-up of
 * this thread: the wake-up (and the sleep before it) costs both sides more
 * kernel time than a request costs us, and adds its latency to every round
 * trip. Measured with redis-benchmark on its own core (bench.py --pin): GET
 * with 2 clients, 67.8k requests/s instead of 30.4k without polling, and 9.0
 * instead of 13.1 us of server CPU per request.
 *
 * The tail is longer than the start threshold because a client that parses
 * big replies sends its next requests in bursts, with a few replies' parsing
 * between them (redis-benchmark LRANGE of 600 elements: ~30 us a reply). A
 * 50 us tail slept in those gaps: 22k wake-ups per 100k requests, which cost
 * the client (the one at 100% CPU there) more than our speed saved it, 0.94x
 * Redis's requests/s; a 200 us tail keeps the loop awake, 1.03x. Sparse
 * traffic, replies more than SERVER_SPIN_DENSE_NS apart, never starts an
 * episode, so an idle or lightly used server sleeps as before, and an episode
 * outlives the traffic by at most SERVER_SPIN_TAIL_NS.
 *
 * Polling must not take the core from the process it waits for. When the
 * clients share our core (one CPU, or a container limited to one), a polling
 * loop holds the core the client needs to send its next request: the kernel
 * preempts us for it after a reply, or we poll out the whole tail while it
 * waits. There polling cost redis-benchmark -P 1 on one core 0.88x Redis's
 * requests/s with 50 clients and 0.67x with one. Both are what tells that case
 * apart (server_spin_count): involuntary context switches of this thread
 * (getrusage RUSAGE_THREAD) and tails polled out undisturbed, counted against
 * polling turns that sent replies; SERVER_SPIN_COSTS of them before
 * SERVER_SPIN_PAID_TURNS such turns (with the client on our core: about one
 * per 3 turns) stop polling for SERVER_SPIN_BACKOFF_NS, then it is tried
 * again. Other servers polling on our core (three cluster nodes on one core,
 * clients elsewhere: about one per 100 turns) or a passing daemon do not stop
 * it: there polling still saves each node a sleep and a wake-up per request
 * (3 nodes on one core: 157-160k requests/s polling, 151k without, Redis
 * 150-155k); an earlier rule that stopped polling on any three late turns
 * gave that up.
 */
#define SERVER_SPIN_DENSE_NS 50000u
#define SERVER_SPIN_TAIL_NS 200000u
#define SERVER_SPIN_PAID_TURNS 256u
#define SERVER_SPIN_COSTS 16u
#define SERVER_SPIN_READ_TURNS 32u
#define SERVER_SPIN_BACKOFF_NS 1000000000u

static long server_nivcsw(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nivcsw : 0;
}

/*
 * Keeps the books of polling: turns that found requests to answer (paid), and
 * signs that it cost someone the core (cost): involuntary context switches of
 * this thread, read when an episode ends and every SERVER_SPIN_READ_TURNS paid
 * turns, and episodes that polled out their whole tail undisturbed.
 * SERVER_SPIN_COSTS of those before SERVER_SPIN_PAID_TURNS paid turns stop
 * polling for SERVER_SPIN_BACKOFF_NS.
 */
static void server_spin_count(server_t *srv, uint64_t now, int spin, int spinning, int replied)
{
    if (spin && !spinning) { /* an episode starts */
        srv->spin_nivcsw = server_nivcsw();
        return;
    }
    int paid = spin && replied;
    srv->spin_paid += (unsigned long)paid;
    int ended = spinning && !spin;
    if (ended || (paid && srv->spin_paid % SERVER_SPIN_READ_TURNS == 0)) {
        long nivcsw = server_nivcsw();
        unsigned long preempted = (unsigned long)(nivcsw - srv->spin_nivcsw);
        int tail_out = ended && now - srv->spin_last_ns >= SERVER_SPIN_TAIL_NS;
        srv->spin_cost += preempted ? preempted : (unsigned long)tail_out;
        srv->spin_nivcsw = nivcsw;
    }
    if (srv->spin_cost >= SERVER_SPIN_COSTS)
        srv->spin_off_until = now + SERVER_SPIN_BACKOFF_NS;
    else if (srv->spin_paid < SERVER_SPIN_PAID_TURNS)
        return;
    srv->spin_paid = srv->spin_cost = 0; /* the next sample */
}

static void server_spin(server_t *srv, int replied)
{
    uint64_t now = uv_hrtime();
    int spinning = (srv->awake_why & SERVER_AWAKE_SPIN) != 0;
    int episode = spinning || (replied && now - srv->spin_last_ns < SERVER_SPIN_DENSE_NS);
    if (replied)
        srv->spin_last_ns = now;
    int spin = episode && now - srv->spin_last_ns < SERVER_SPIN_TAIL_NS && now >= srv->spin_off_until;
    if (spin || spinning)
        server_spin_count(srv, now, spin, spinning, replied);
    server_stay_awake(srv, SERVER_AWAKE_SPIN, spin);
}

static void server_before_sleep(uv_prepare_t *h)
{
    server_t *srv = h->data;
    /* 1. cluster todo */
    if (srv->cfg.cluster_enabled)
        cluster_before_sleep(srv);
    /* 2. serve clients blocked on keys that became ready */
    blocking_before_sleep(&srv->env);
    server_repl_before_sleep(srv); /* WAIT answers, due full syncs, GETACK */
    /* Eviction that stopped on its time budget continues without the loop
     * sleeping (the idle handle keeps poll from blocking) until memory is
     * under maxmemory. */
    server_stay_awake(srv, SERVER_AWAKE_EVICT, evict_continue(&srv->env));
    /* 3. AOF write (+ fsync when appendfsync always) */
    server_persist_before_sleep(srv);
    /* 4. flush replies */
    server_spin(srv, srv->pending.head != NULL);
    while (srv->pending.head != NULL) {
        client_t *c = srv->pending.head;
        c->qprev = NULL;
        srv->pending.head = c->qnext;
        if (srv->pending.head)
            srv->pending.head->qprev = NULL;
        else
            srv->pending.tail = NULL;
        srv->pending.count--;
        c->qnext = NULL;
        c->flags &= ~CLI_QUEUED_WRITE;
        client_flush(c);
    }
    if (srv->cfg.cluster_enabled)
        cluster_after_replies(srv);
    /* 5. reap closed clients */
    while (srv->closing.head != NULL) {
        client_t *c = srv->closing.head;
        srv->closing.head = c->qnext;
        if (srv->closing.head)
            srv->closing.head->qprev = NULL;
        else
            srv->closing.tail = NULL;
        srv->closing.count--;
        c->qprev = c->qnext = NULL;
        client_reap(c);
    }
    if (srv->shutdown_asap)
        server_finish_shutdown(srv);
}

static void server_on_cron(uv_timer_t *h)
{
    server_t *srv = h->data;
    uint64_t now = time_ms();
    srv->env.now_ms = now;
    srv->env.now_us = time_us();
    srv->cron_loops++;
    info_cron_sample(&srv->env, now);
    size_t used = mem_used();
    if (used > srv->stats.peak_memory)
        srv->stats.peak_memory = used;
    if (srv->env.active_expire)
        ks_active_expire(srv->ks, now, ks_expire_slow_budget_us(srv->ks, srv->cfg.hz),
                         time_mono_us);
    if (srv->cfg.activerehashing)
        ks_rehash(srv->ks, 1, time_mono_us);
    /* Clients: spread the checks so each is seen about once per second. */
    uint64_t n = srv->clients.count / (uint64_t)srv->cfg.hz + 1;
    for (client_t *c = srv->clients.head, *next; c != NULL && n > 0; c = next, n--) {
        next = c->next;
        /* rotate: move the checked client to the tail */
        if (srv->clients.count > 1 && c != srv->clients.tail) {
            srv->clients.head = c->next;
            c->next->prev = NULL;
            c->prev = srv->clients.tail;
            c->next = NULL;
            srv->clients.tail->next = c;
            srv->clients.tail = c;
        }
        if (!(c->flags & CLI_CLOSING))
            client_cron(c, now);
    }
    blocking_cron(&srv->env, now);
    if (srv->pause_writes_until != 0 && now >= srv->pause_writes_until)
        server_unpause_writes(srv);
    server_persist_cron(srv, now);
    server_rdb_cron(srv, now);
    server_repl_cron(srv, now);
}

/* ---- host hooks for the command room -------------------------------------- */

static void host_each_client(void *self, void (*fn)(session_t *s, void *arg), void *arg)
{
    server_t *srv = self;
    for (client_t *c = srv->clients.head, *next; c != NULL; c = next) {
        next = c->next;
        if (!(c->flags & CLI_CLOSING))
            fn(&c->sess, arg);
    }
}

static size_t host_client_line(void *self, const session_t *s, char *buf, size_t cap)
{
    server_t *srv = self;
    return client_line(client_of(s), buf, cap, srv->env.now_ms ? srv->env.now_ms : time_ms());
}

static void host_client_kill(void *self, session_t *s)
{
    (void)self;
    client_t *c = client_of(s);
    if (c->flags & CLI_EXECUTING)
        s->flags |= SESS_CLOSE_AFTER_REPLY; /* the caller itself: reply first */
    else
        client_close_async(c, "killed");
}

static int host_shutdown(void *self, int flags, const char **msg)
{
    server_t *srv = self;
    int total;
    /* Writers wait from now on, so the persistence flush misses nothing. With
     * replicas behind (and no NOW) the flush comes after they caught up, in
     * server_finish_shutdown, as Redis 7.0 does; else now, to report errors. */
    srv->pause_writes_until = UINT64_MAX;
    if (((flags & SHUTDOWN_NOW) || server_repl_shutdown_lagging(srv, 0, 0, &total) == 0) &&
        server_shutdown_prepare(srv, flags) != 0) {
        server_unpause_writes(srv);
        *msg = "ERR Errors trying to SHUTDOWN. Check logs.";
        return -1;
    }
    server_set_shutting_down(srv, 1);
    srv->shutdown_flags = flags;
    return 0;
}

static int host_tcp_port(void *self) { return ((server_t *)self)->listen_port; }
static const char *host_executable(void *self) { return ((server_t *)self)->executable; }
static const char *host_config_file(void *self) { return ((server_t *)self)->config_file; }
static const char *host_client_addr(void *self, const session_t *s)
{
    (void)self;
    return client_of(s)->addr;
}

static void host_monitor_feed(void *self, const session_t *s, int argc, const slice_t *argv)
{
    server_t *srv = self;
    if (srv->monitors.head == NULL)
        return;
    monitor_feed(srv, s, argc, argv);
}

static void host_wakeup(void *self, session_t *s)
{
    server_t *srv = self;
    client_t *c = client_of(s);
    /* Output produced by another client's command (pub/sub): limits apply now. */
    if (c->reply.chunk_mem > 0 && client_check_obuf(c, srv->env.now_ms))
        return;
    server_queue_write(srv, c);
}

static void host_resume(void *self, session_t *s)
{
    (void)self;
    client_resume(client_of(s));
}

static void host_monitor_start(void *self, session_t *s)
{
    monitor_add(self, client_of(s));
}

static void host_propagate(void *self, int db, int argc, const slice_t *argv)
{
    server_propagate(self, db, argc, argv);
}

static void host_reconfigure(void *self)
{
    server_t *srv = self;
    log_set_level(srv->cfg.loglevel);
    if (srv->cfg.hz < 1)
        srv->cfg.hz = 1;
    uv_timer_set_repeat(&srv->cron, (uint64_t)(1000 / srv->cfg.hz));
    ks_set_expire_effort(srv->ks, srv->cfg.active_expire_effort);
    evict_apply_config(&srv->env);
    types_init(&srv->cfg);
}

/* CONFIG SET side effects that can fail (then the values are rolled back). */
static int host_config_apply(void *self, int what, const config_t *c, const char **err)
{
    server_t *srv = self;
    (void)c;
    if (what == CONFIG_APPLY_LISTEN && relisten(srv) != 0) {
        *err = "Unable to listen on this port";
        return -1;
    }
    if (what == CONFIG_APPLY_LISTEN && srv->nlisteners == 0 && srv->cfg.port != 0) {
        *err = "Unable to listen on this port";
        return -1;
    }
    return 0;
}

static void host_init(server_t *srv)
{
    cmd_host_t *h = &srv->host;
    h->self = srv;
    h->each_client = host_each_client;
    h->client_line = host_client_line;
    h->client_kill = host_client_kill;
    h->shutdown = host_shutdown;
    h->tcp_port = host_tcp_port;
    h->executable = host_executable;
    h->config_file = host_config_file;
    h->monitor_feed = host_monitor_feed;
    h->monitor_start = host_monitor_start;
    h->wakeup = host_wakeup;
    h->resume = host_resume;
    h->client_addr = host_client_addr;
    h->reconfigure = host_reconfigure;
    h->config_apply = host_config_apply;
    h->propagate = host_propagate;
}

/* ---- init / run ----------------------------------------------------------- */

int server_init(server_t *srv, uv_loop_t *loop)
{
    srv->loop = loop;
    srv->next_client_id = 3; /* Redis 7.0's first client gets id 3 */
    srv->stats.start_ms = time_ms();
    srv->stats.lastsave_s = srv->stats.start_ms / 1000;
    srv->ks = srv->cfg.cluster_enabled ? ks_new(1, 1) : ks_new(srv->cfg.databases, 0);
    reply_init(&srv->scratch, 2);
    host_init(srv);
    cmd_env_t *env = &srv->env;
    env->ks = srv->ks;
    env->cfg = &srv->cfg;
    env->stats = &srv->stats;
    env->host = &srv->host;
    env->now_ms = time_ms();
    env->active_expire = 1;
    env->executable = srv->executable;
    env->config_file = srv->config_file;
    rng_hex(env->run_id, 40);
    env->run_id[40] = '\0';
    ks_set_expired_hook(srv->ks, cmd_propagate_expired, env);
    ks_set_touch_hook(srv->ks, cmd_touch_key, env);
    cmd_table_init();
    cmd_meta_verify_all();
    ks_set_expire_effort(srv->ks, srv->cfg.active_expire_effort);
    evict_apply_config(&srv->env);
    types_init(&srv->cfg); /* encoding limits in force before anything is loaded */
    if (server_persist_init(srv) != 0)
        return -1;
    if (server_repl_init(srv) != 0)
        return -1;
    if (server_rdb_load(srv) != 0)
        return -1;
    if (srv->cfg.cluster_enabled) {
        char err[1024];
        if (cluster_start(srv, err, sizeof(err)) != 0) {
            log_warning("%s", err);
            return -1;
        }
    }
    if (open_listeners(srv) != 0)
        return -1;
    uv_prepare_init(loop, &srv->before_sleep);
    srv->before_sleep.data = srv;
    uv_prepare_start(&srv->before_sleep, server_before_sleep);
    uv_idle_init(loop, &srv->awake_idle);
    uv_timer_init(loop, &srv->cron);
    srv->cron.data = srv;
    uint64_t period = (uint64_t)(1000 / (srv->cfg.hz > 0 ? srv->cfg.hz : 10));
    uv_timer_start(&srv->cron, server_on_cron, period, period);
    uv_signal_init(loop, &srv->sigterm);
    uv_signal_init(loop, &srv->sigint);
    srv->sigterm.data = srv->sigint.data = srv;
    uv_signal_start(&srv->sigterm, server_on_signal, SIGTERM);
    uv_signal_start(&srv->sigint, server_on_signal, SIGINT);
    signal(SIGPIPE, SIG_IGN);
    write_pidfile(srv);
    return 0;
}

int server_run(server_t *srv)
{
    log_notice("Ready to accept connections tcp");
    uv_run(srv->loop, UV_RUN_DEFAULT);
    /* Let pending close callbacks run. */
    uv_prepare_stop(&srv->before_sleep);
    uv_idle_stop(&srv->awake_idle);
    uv_timer_stop(&srv->cron);
    uv_signal_stop(&srv->sigterm);
    uv_signal_stop(&srv->sigint);
    while (srv->closing.head != NULL) {
        client_t *c = srv->closing.head;
        srv->closing.head = c->qnext;
        client_reap(c);
    }
    uv_run(srv->loop, UV_RUN_NOWAIT);
    return srv->exit_code;
}

void server_deinit(server_t *srv)
{
    remove_pidfile(srv);
}
