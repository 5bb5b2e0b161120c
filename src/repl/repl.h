/*
 * repl.h — the replication core: replication ids and offsets, the backlog,
 * the primary side (replicas, PSYNC decisions, full syncs, the propagated
 * stream with its SELECTs, pings, ACK bookkeeping for WAIT and
 * min-replicas-to-write) and the replica side (the master link's handshake
 * state machine of repl_hs.h, cached-master bookkeeping for PSYNC, ACKs,
 * timeouts, reconnection), plus the INFO replication text.
 *
 * Pure: no sockets, no libuv, no clock reads (now_ms is passed in), no
 * keyspace. Everything that touches a connection or the keyspace goes
 * through the repl_io_t hooks the loop room (server_repl.c) installs:
 * writing to a replica, closing it, encoding a snapshot, opening / writing /
 * closing the link to our master, and the role change. Connections are
 * opaque handles (the loop room passes its session_t pointers).
 *
 * Offsets are Redis's: `offset` (master_repl_offset) counts every byte of
 * the stream this node produced (master) or applied (replica); a PSYNC names
 * the first byte the replica still needs. A replica mirrors its master's
 * replid and offset, so its own replicas and a later promotion keep PSYNC2
 * partial resyncs working (replid2 / second_repl_offset).
 *
 * One core per process: repl_register() makes it reachable from the command
 * room (repl_get()).
 *
 * Invariants: when the backlog is active, backlog.end == offset; a handle is
 * either the link to our master or a replica entry, never both; replicas in
 * WAIT_BGSAVE get no stream bytes (their snapshot covers them).
 */
#ifndef TESSERA_REPL_H
#define TESSERA_REPL_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/slice.h"
#include "repl_hs.h"

struct config_s;
typedef struct repl_s repl_t;

/* REPLCONF capa flags. */
enum { REPL_CAPA_EOF = 1, REPL_CAPA_PSYNC2 = 2 };

/* repl_psync results. */
enum {
    REPL_PSYNC_CONTINUE = 0,      /* +CONTINUE and the backlog were written */
    REPL_PSYNC_FULL = 1,          /* queued for a full sync (+FULLRESYNC comes later) */
    REPL_PSYNC_NOMASTERLINK = -1, /* we are a replica without a live link */
};

/* What a snapshot's aux fields carry (repl-id, repl-offset, repl-stream-db). */
typedef struct repl_snap_s {
    const char *replid;
    long long offset;
    int stream_db;
} repl_snap_t;

/* io.snapshot's answer when the bytes come later (repl_snapshot_done ends it). */
#define REPL_SNAP_ASYNC 1

/* A byte sink: 0, or -1 to stop. */
typedef int (*repl_sink_fn)(void *arg, const void *p, size_t n);

typedef struct repl_io_s {
    void *arg;
    /* Append bytes to replica h's output and schedule the flush. */
    void (*replica_write)(void *arg, void *h, const void *p, size_t n);
    /* Close replica h (asynchronously; repl_forget follows). */
    void (*replica_close)(void *arg, void *h);
    /* Bytes queued for replica h and not yet taken by the kernel (paces the
     * snapshot so it never sits whole in the replica's output buffer). */
    size_t (*replica_pending)(void *arg, void *h);
    /* Encode the keyspace as one RDB into sink: 0 (done), -1 (failed), or
     * REPL_SNAP_ASYNC: the bytes of the keyspace as it is now arrive in sink
     * later (a forked child encodes them), and the io calls
     * repl_snapshot_done once they are all in. */
    int (*snapshot)(void *arg, const repl_snap_t *snap, repl_sink_fn sink, void *sink_arg);
    /* Open the link to our master; returns its handle, or NULL (retry later). */
    void *(*link_connect)(void *arg, const char *host, int port);
    /* Send bytes to our master. */
    void (*link_write)(void *arg, const void *p, size_t n);
    /* Close the link (asynchronously; the core already forgot it). */
    void (*link_close)(void *arg);
    /* The db the master's stream currently writes to (the link session's db). */
    int (*link_db)(void *arg);
    /* We became a replica (1) or a master (0). */
    void (*role_changed)(void *arg, int is_replica);
} repl_io_t;

/* Random hex for replication ids and EOF marks (randomness is injected). */
typedef void (*repl_rng_fn)(char *buf, size_t n);

/* One replica as ROLE / INFO report it. */
typedef struct repl_replica_info_s {
    const char *ip;
    int port;          /* REPLCONF listening-port (0 if never sent) */
    const char *state; /* "wait_bgsave", "online" ("" while only REPLCONF was seen) */
    long long ack_off;
    long long lag_s; /* seconds since the last ACK (online replicas) */
} repl_replica_info_t;

typedef struct repl_stats_s {
    uint64_t sync_full, sync_partial_ok, sync_partial_err;
    uint64_t repl_input_bytes, repl_output_bytes; /* total_net_repl_*_bytes */
} repl_stats_t;

repl_t *repl_new(const struct config_s *cfg, const repl_io_t *io, repl_rng_fn rng, uint64_t now_ms);
void repl_free(repl_t *r);
void repl_register(repl_t *r);
repl_t *repl_get(void);

/* ---- state ------------------------------------------------------------------------------ */

const char *repl_replid(const repl_t *r);
long long repl_offset(const repl_t *r); /* master_repl_offset */
const repl_stats_t *repl_stats(const repl_t *r);
/* CONFIG RESETSTAT. */
void repl_stats_reset(repl_t *r);
/* Our master (NULL: we are a master). */
const char *repl_master_host(const repl_t *r);
int repl_master_port(const repl_t *r);
int repl_link_state(const repl_t *r); /* REPL_STATE_* */
/* Replica side: when the link to our master went down (unix ms; 0 while it
 * is up or before it ever came up) — the data age of cluster elections. */
uint64_t repl_link_down_since(const repl_t *r);
/* Manual failover (CLUSTER FAILOVER): while paused, the primary adds nothing
 * to the stream on its own (no PINGs, no GETACKs), so its offset only moves
 * with client writes. */
void repl_pause_own_writes(repl_t *r, int paused);
const char *repl_role_state(const repl_t *r);
/* After a restart: continue the history saved in the RDB (repl-id /
 * repl-offset aux fields). A master keeps it as replid2 (so its replicas can
 * resync partially), a replica as its cached master. */
void repl_restore(repl_t *r, const char *replid, long long offset, int stream_db);
/* For the RDB's aux fields: 1 with the values to save, 0 if there is no
 * replication history worth saving. */
int repl_save_info(const repl_t *r, const char **replid, long long *offset, int *stream_db);

/* ---- primary side ------------------------------------------------------------------------ */

/* REPLCONF listening-port / ip-address / capa from connection h (ip: its peer address). */
void repl_conf_port(repl_t *r, void *h, const char *ip, int port);
void repl_conf_ip(repl_t *r, void *h, const char *ip, const char *announced);
void repl_conf_capa(repl_t *r, void *h, const char *ip, int capa);
/* REPLCONF ACK from h; returns 1 if h is a replica (the ACK counted). */
int repl_ack(repl_t *r, void *h, long long off, uint64_t now_ms);
/* 1 if h is a replica that already asked for a sync. */
int repl_is_replica(const repl_t *r, const void *h);
/* PSYNC replid offset (old_sync: the SYNC command). REPL_PSYNC_*. */
int repl_psync(repl_t *r, void *h, const char *ip, const char *replid, long long offset,
               int old_sync, uint64_t now_ms);
/* A connection went away: a replica entry is dropped, the master link is lost. */
void repl_forget(repl_t *r, void *h, uint64_t now_ms);
/* A write command ran in db (-1: no SELECT needed): add it to the stream. */
void repl_feed_command(repl_t *r, int db, int argc, const slice_t *argv);
/* WAIT: ask every replica for an ACK (REPLCONF GETACK * in the stream, sent
 * at the next repl_before_sleep); count replicas that acknowledged off. */
void repl_request_acks(repl_t *r);
int repl_count_acked(const repl_t *r, long long off);
/* The offset WAIT waits for: the end of the last write command's bytes (the
 * master's own PINGs and GETACKs do not count). Redis keeps it per client;
 * here it is the latest write of any client, which never answers early. */
long long repl_wait_offset(const repl_t *r);
/* min-replicas-to-write: 1 if writes are allowed now. */
int repl_writes_allowed(const repl_t *r, uint64_t now_ms);
/* Replicas, for ROLE (online only) and INFO. */
size_t repl_replica_count(const repl_t *r);
int repl_replica_get(const repl_t *r, size_t i, uint64_t now_ms, repl_replica_info_t *out);

/* ---- replica side ------------------------------------------------------------------------ */

/* REPLICAOF host port: 0 started, 1 already replicating from host:port. */
int repl_set_master(repl_t *r, const char *host, int port, uint64_t now_ms);
/* REPLICAOF NO ONE: promote (new replid, the old one as replid2). */
void repl_set_master_none(repl_t *r, uint64_t now_ms);
/* Transport events of the link to our master. */
void repl_link_connected(repl_t *r, uint64_t now_ms);
/* A reply line (without CRLF) during the handshake or before the payload:
 * REPL_HS_AGAIN, REPL_HS_PAYLOAD (payload bytes follow), REPL_HS_PARTIAL
 * (the stream follows), REPL_HS_RETRY (the core closed the link). */
int repl_link_line(repl_t *r, const char *line, size_t len, uint64_t now_ms);
/* Payload bytes: see repl_hs_xfer_feed; 1 when complete. */
int repl_link_payload(repl_t *r, const void *p, size_t n, size_t *used, uint64_t now_ms);
/* Bytes of RDB in the completed payload, and whether it was EOF-framed. */
long long repl_link_rdb_len(const repl_t *r);
/* About to load the payload: sub-replicas must resync (they are dropped). */
void repl_link_loading(repl_t *r);
/* The payload was loaded (ok) or could not be (the link is closed). */
void repl_link_synced(repl_t *r, int ok, uint64_t now_ms);
/* Stream bytes read (slave_read_repl_offset, timeouts). */
void repl_link_read(repl_t *r, size_t n, uint64_t now_ms);
/* Stream bytes applied (whole commands, outside MULTI): offset, backlog,
 * and the same bytes to our own replicas. */
void repl_link_applied(repl_t *r, const void *p, size_t n);
/* The link closed under us (EOF, error, CLIENT KILL). */
void repl_link_closed(repl_t *r, uint64_t now_ms);
/* REPLCONF ACK <offset> to our master (GETACK, cron, after a sync). */
void repl_link_send_ack(repl_t *r);
/* 1 if h is the session of the link to our master. */
int repl_is_link(const repl_t *r, const void *h);

/* ---- time ---------------------------------------------------------------------------------- */

/* Every loop iteration: start due full syncs, send requested GETACKs, reconnect asap. */
void repl_before_sleep(repl_t *r, uint64_t now_ms);
/* An asynchronous snapshot (io.snapshot returned REPL_SNAP_ASYNC) has all its
 * bytes in (ok) or failed: replicas waiting for its end get it (their $<len>
 * header and the rest), or are closed. */
void repl_snapshot_done(repl_t *r, int ok, uint64_t now_ms);
/* 1 when the last pump stopped on its per-turn budget with snapshot bytes
 * ready: the loop must come back without sleeping (nothing else wakes it). */
int repl_pump_more(const repl_t *r);
/* Cron (runs its work once per second): timeouts, pings, ACKs, backlog TTL. */
void repl_cron(repl_t *r, uint64_t now_ms);

/* INFO replication section (from "# Replication"), "\r\n" lines; returns
 * the length (NUL-terminated, truncated to cap - 1). */
size_t repl_info(const repl_t *r, uint64_t now_ms, char *buf, size_t cap);

#endif
