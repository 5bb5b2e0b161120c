/*
 * cluster_bus.h — the cluster bus transport (cluster_bus.c): the only libuv user
 * of the cluster room, and the glue between the loop room and the pure state
 * machine (cluster.h).
 *
 * Owns: the bus listeners (cluster-port, default port + 10000, on the server's
 * bind addresses), one outbound link per known node and the inbound links peers
 * open to us, message framing and decoding, send queues and
 * cluster-link-sendbuf-limit, the 100 ms clusterCron timer, the nodes.conf file
 * (lock held for the life of the process, atomic + fsync'd saves), the copy of
 * the cluster-* directives into the state machine, and cluster PUBLISH/
 * PUBLISHSHARD delivery both ways.
 * Must not: interpret messages (cluster_on_msg does) or decide anything about
 * nodes, slots or epochs.
 *
 * This header is uv-free so the command room may include it (CLUSTER
 * SAVECONFIG, CLUSTER LINKS); the three server entry points take the server.
 */
#ifndef TESSERA_CLUSTER_BUS_H
#define TESSERA_CLUSTER_BUS_H

#include <stddef.h>
#include <stdint.h>

struct server_s;
typedef struct cluster_bus_s cluster_bus_t;

/*
 * Start-up, cluster-enabled yes only, after the keyspace exists and before the
 * server listens for clients: locks and reads cluster-config-file (relative to
 * dir), loads it (a missing or empty file makes a fresh node and saves it at
 * once, as Redis does), listens on the bus port and starts the cron timer. Sets
 * srv->cluster, srv->cluster_bus, srv->env.cluster / cluster_bus / cluster_mode
 * and srv->host.cluster_publish. Returns 0, or -1 with the reason in err (the
 * server logs it and exits 1): a corrupt file names the file and the line.
 */
int cluster_start(struct server_s *srv, char *err, size_t cap);

/*
 * before_sleep step 1 (before replies are flushed): recomputes the cluster state
 * if asked, saves nodes.conf (atomically, fsync'd) when the state machine asked
 * for it and applies link resets; the outbox goes out in cluster_after_replies.
 * A failed save is fatal, as in Redis ("Fatal: can't update cluster
 * config file.").
 */
void cluster_before_sleep(struct server_s *srv);

/* After the client replies of this iteration are written: the bus messages
 * queued meanwhile (outbox) go out. Redis writes its bus links on the next
 * loop turn, after the replies; keeping that order matters to redis-cli's
 * resharding, whose next SETSLOT on another node then usually arrives before
 * the PONG that would announce the same change. */
void cluster_after_replies(struct server_s *srv);

/* Shutdown: a master serving slots first hands them over to its best replica
 * (cluster_shutdown_handoff; the MFSTART is written to the link before it
 * closes), then nodes.conf is saved and the bus listeners and links close.
 * Call it after the replicas were given every byte of the stream. */
void cluster_stop(struct server_s *srv);

/* CLUSTER SAVECONFIG: save nodes.conf now (fsync'd). 0, or -1 with err. */
int cluster_bus_save_config(cluster_bus_t *b, char *err, size_t cap);

/* One link as CLUSTER LINKS shows it. */
typedef struct cluster_link_info_s {
    int inbound;         /* 0: "to" (our outbound link), 1: "from" */
    uint64_t ctime;      /* ms since the epoch, when the link was created */
    const char *events;  /* "r", "w", "rw" or "" (read / write interest) */
    uint64_t send_alloc; /* bytes held by the send queue */
    uint64_t send_used;  /* bytes queued and not yet written */
} cluster_link_info_t;

/* Facts about a link taken from cnode_t.link / .inbound_link. 0 if link is NULL
 * or closing (then nothing is written), 1 otherwise. */
int cluster_bus_link_info(const void *link, cluster_link_info_t *out);

/* Transport counters (benchmarks, tests). */
typedef struct cluster_bus_stats_s {
    uint64_t bytes_in, bytes_out; /* bus bytes read / written */
    uint64_t msgs_in;             /* messages decoded */
    uint64_t bad_msgs;            /* links closed for a malformed message */
    uint64_t links_sendbuf_freed; /* links freed by cluster-link-sendbuf-limit */
    uint64_t links_open;          /* links currently open (both directions) */
} cluster_bus_stats_t;
void cluster_bus_stats(const cluster_bus_t *b, cluster_bus_stats_t *out);

#endif
