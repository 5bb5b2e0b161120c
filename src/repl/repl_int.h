/*
 * repl_int.h — private to src/repl: the core's state (repl_t) shared by
 * repl.c (ids, stream, primary side, INFO) and repl_link.c (replica side).
 *
 * Invariants: see repl.h; in addition, replicas[0..nreplicas) are distinct
 * handles, and `sync_pending` is set whenever a replica is in WAIT_BGSAVE.
 */
#ifndef TESSERA_REPL_INT_H
#define TESSERA_REPL_INT_H

#include "../conf/config.h"
#include "repl.h"
#include "repl_backlog.h"

/* Replica entry states (primary side). */
enum {
    REPLICA_HANDSHAKE = 0, /* REPLCONF seen, no SYNC/PSYNC yet: not a replica */
    REPLICA_WAIT_BGSAVE,   /* full sync requested, snapshot not started */
    REPLICA_SEND_BULK,     /* the snapshot is being queued, paced by its output */
    REPLICA_ONLINE,        /* snapshot sent (or +CONTINUE): gets the stream */
};

/* One encoded snapshot, shared by the replicas it is being sent to: blocks
 * of REPL_PAYLOAD_BLOCK bytes (the last one partly filled), so encoding never
 * copies what it already wrote. */
#define REPL_PAYLOAD_BLOCK (8u << 20)

typedef struct repl_payload_s {
    char **blk;
    size_t nblk, cap;
    size_t len; /* bytes in all blocks */
    int refs;
    int done; /* every byte is in (an asynchronous snapshot fills it over time) */
    int eof;  /* $EOF:<mark> framing (else $<len>) */
    char mark[REPL_EOF_MARK_LEN];
} repl_payload_t;

typedef struct repl_buf_s {
    char *p;
    size_t len, cap;
} repl_buf_t;

typedef struct replica_s {
    void *h;
    int state;
    int capa;                /* REPL_CAPA_* */
    int port;                /* REPLCONF listening-port */
    int pre_psync;           /* came with SYNC: no +FULLRESYNC, no ACKs expected */
    int stream_on_ack;       /* EOF payload sent: stream held in `held` until the first ACK */
    repl_payload_t *payload; /* SEND_BULK: the snapshot, payload_off bytes queued */
    int need_len;            /* $<len> framing: the header waits for the payload's end */
    size_t payload_off;
    char ip[64];
    long long ack_off;
    uint64_t ack_ms;
    uint64_t wait_since_ms;
    repl_buf_t held;
} replica_t;

struct repl_s {
    const config_t *cfg;
    repl_io_t io;
    repl_rng_fn rng;
    char replid[REPL_ID_LEN + 1];
    char replid2[REPL_ID_LEN + 1];
    long long offset;     /* master_repl_offset */
    long long second_off; /* second_repl_offset, -1 none */
    long long write_off;  /* offset after the last write command (WAIT's target) */
    repl_backlog_t backlog;
    int seldb; /* db of the last SELECT in the stream, -1: next write emits one */
    uint64_t no_replicas_since_ms;
    replica_t **replicas;
    size_t nreplicas, cap;
    int sync_pending;
    repl_payload_t *snap_pl; /* the asynchronous snapshot being filled (a ref), or NULL */
    int pump_more;           /* the last pump left payload ready for the next turn */
    int want_acks;
    int paused; /* repl_pause_own_writes: no PINGs / GETACKs of our own */
    uint64_t last_cron_ms;
    uint64_t cron_loops; /* seconds of cron so far */
    repl_stats_t stats;
    repl_buf_t enc; /* scratch for encoding commands */
    /* replica side */
    char *master_host;
    int master_port;
    repl_hs_t hs;
    void *link_h;
    int have_cached;  /* replid/offset describe data we hold: PSYNC can name them */
    int connect_asap; /* the link dropped: reconnect at the next before_sleep */
    long long read_off;
    uint64_t master_io_ms;
    uint64_t down_since_ms; /* 0: never connected */
};

/* repl.c helpers used by repl_link.c */
void repl_buf_cat(repl_buf_t *b, const void *p, size_t n);
/* Append stream bytes: backlog, offset, online replicas. */
void repl_feed_raw(repl_t *r, const void *p, size_t n);
/* Close every replica (ids changed / dataset replaced). */
void repl_drop_replicas(repl_t *r);
/* A fresh replication id (and EOF marks): 40 hex chars + NUL. */
void repl_new_id(repl_t *r, char *out);
void repl_clear_id2(repl_t *r);
/* Start (or restart) the backlog so its next byte is offset + 1. */
void repl_backlog_restart(repl_t *r);

/* repl_link.c: open the link to our master now; the replica side of cron. */
void repl_link_connect(repl_t *r, uint64_t now_ms);
void repl_link_cron(repl_t *r, uint64_t now_ms);

#endif
