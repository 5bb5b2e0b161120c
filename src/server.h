/*
 * server.h — the loop room's process state: the libuv loop and its handles,
 * listeners, the client lists, and the command environment it hands to the
 * command room.
 *
 * Owns: the one before_sleep (a uv_prepare), the cron timer, signal handles,
 * shutdown. Only this room (server.c, main.c, net/) includes <uv.h>.
 *
 * before_sleep order (DESIGN.md §3), fixed here and nowhere else:
 *   1. cluster todo  2. unblock clients  3. AOF write (+fsync if always)
 *   4. flush replies  5. reap closed clients
 */
#ifndef TESSERA_SERVER_H
#define TESSERA_SERVER_H

#include <stdint.h>
#include <uv.h>

#include "cmd/cmd.h"
#include "conf/config.h"
#include "ks/ks.h"

#define TESSERA_VERSION "0.1.0"
#define REDIS_COMPAT_VERSION "7.0.15"
#define SERVER_MAX_LISTENERS 16

struct client_s;

typedef struct listener_s {
    union {
        uv_tcp_t tcp;
        uv_pipe_t pipe;
        uv_stream_t stream;
        uv_handle_t handle;
    } h;
    struct server_s *srv;
    int is_unix;
    int open;
} listener_t;

/* Intrusive doubly linked list of clients. */
typedef struct client_list_s {
    struct client_s *head, *tail;
    uint64_t count;
} client_list_t;

/* Why the loop must come back without sleeping (server_stay_awake). */
enum {
    SERVER_AWAKE_EVICT = 1u << 0, /* eviction stopped on its time budget */
    SERVER_AWAKE_SPIN = 1u << 1,  /* a polling episode (server_spin) */
    SERVER_AWAKE_REPL = 1u << 2,  /* full-sync payload ready for the next turn */
};

typedef struct server_s {
    uv_loop_t *loop;
    uv_prepare_t before_sleep;
    uv_timer_t cron;
    uv_idle_t awake_idle;   /* active while awake_why != 0: libuv's poll does not block */
    unsigned awake_why;     /* SERVER_AWAKE_* reasons the loop must not sleep */
    uint64_t spin_last_ns;  /* uv_hrtime of the last loop turn that sent replies */
    uint64_t spin_off_until; /* no polling before this uv_hrtime (it cost others the core) */
    long spin_nivcsw;        /* our involuntary context switches at the last reading */
    unsigned long spin_paid; /* polling turns that sent replies, this sample */
    unsigned long spin_cost; /* involuntary switches and whole tails polled, this sample */
    uv_signal_t sigterm, sigint;
    listener_t *listeners[SERVER_MAX_LISTENERS]; /* heap: freed in their close callback */
    int nlisteners;
    int listen_port; /* port the listeners are bound to */

    config_t cfg;
    stats_t stats;
    ks_t *ks;
    cmd_env_t env;
    cmd_host_t host;

    client_list_t clients;   /* every live client */
    client_list_t pending;   /* clients with output to flush this iteration */
    client_list_t closing;   /* clients to close in before_sleep */
    client_list_t monitors;  /* MONITOR clients (linked through mon_prev/next) */
    uint64_t next_client_id;

    reply_t scratch;         /* replies nobody reads (CLIENT REPLY OFF/SKIP) */
    char *executable;
    char *config_file;
    int shutdown_asap;
    int shutdown_flags;
    int shutdown_prepared;        /* persistence already flushed for this shutdown */
    uint64_t shutdown_wait_until; /* waiting for replicas to catch up until then (ms), 0: not */
    /* manual failover: writers wait until then (ms); UINT64_MAX: a shutdown
     * holds them until the exit */
    uint64_t pause_writes_until;
    int exit_code;
    uint64_t cron_loops;
    int pidfile_written;
    struct aof_s *aof;       /* NULL when appendonly no (persist/aof.h) */

    /* ---- cluster (cluster/cluster_bus.c; both NULL unless cluster-enabled yes) ---- */
    struct cluster_s *cluster;         /* the state machine (cluster/cluster.h) */
    struct cluster_bus_s *cluster_bus; /* the bus transport (cluster/cluster_bus.h) */
} server_t;

/* Build everything from an already loaded config; returns 0 or -1 (logged). */
int server_init(server_t *srv, uv_loop_t *loop);
/* Run the loop until shutdown; returns the process exit code. */
int server_run(server_t *srv);
void server_deinit(server_t *srv);

/* Called by net/ when a client has output queued / must be closed. */
void server_queue_write(server_t *srv, struct client_s *c);
/* Keep the event loop from sleeping for reason (SERVER_AWAKE_*), or drop that
 * reason (on = 0); it sleeps again once no reason is left. */
void server_stay_awake(server_t *srv, unsigned reason, int on);

/* Persistence glue (server_persist.c), called from server.c at fixed points. */
int server_persist_init(server_t *srv);
void server_persist_before_sleep(server_t *srv);
void server_persist_cron(server_t *srv, uint64_t now_ms);
int server_persist_shutdown(server_t *srv, int flags);
void server_propagate(server_t *srv, int db, int argc, const slice_t *argv);

/* RDB glue (server_rdb.c): load dbfilename at start (after server_persist_init;
 * nothing when appendonly yes), BGSAVE reaping and save points from cron, the
 * final snapshot at shutdown (0, or -1 to refuse unless SHUTDOWN_FORCE). */
int server_rdb_load(server_t *srv);
void server_rdb_cron(server_t *srv, uint64_t now_ms);
int server_rdb_shutdown(server_t *srv, int flags);

/* Replication glue (server_repl.c): create the core before server_rdb_load
 * (which hands it the history saved in the RDB: server_repl_restore);
 * before_sleep after the unblock step (WAIT answers, due full syncs, GETACK);
 * cron (timeouts, pings, ACKs, reconnects); repl_feed from server_propagate. */
int server_repl_init(server_t *srv);
void server_repl_before_sleep(server_t *srv);
void server_repl_cron(server_t *srv, uint64_t now_ms);
void repl_feed(server_t *srv, int db, int argc, const slice_t *argv);
void server_repl_restore(server_t *srv, const char *replid, long long offset, int stream_db);
/* SHUTDOWN (Redis 7.0): how many replicas (of *total that asked for a sync)
 * have not acknowledged every write yet (repl_wait_offset). ask: send them
 * REPLCONF GETACK (at the next before_sleep); report: log each lagging one. */
int server_repl_shutdown_lagging(server_t *srv, int ask, int report, int *total);

/* End a write pause and run the writes that waited (net/client.c). */
void server_unpause_writes(server_t *srv);

/* MONITOR (net/monitor.c): feed one executed command to every monitor; add one. */
void monitor_feed(server_t *srv, const session_t *s, int argc, const slice_t *argv);
void monitor_add(server_t *srv, struct client_s *c);

#endif
