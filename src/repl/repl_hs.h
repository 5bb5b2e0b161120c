/*
 * repl_hs.h — the replica side of the replication handshake as a pure state
 * machine: which command to send next, how to read each reply of the master,
 * and the accounting of the RDB payload that follows +FULLRESYNC.
 *
 * Pure (STYLE 2, 4): takes reply lines and payload bytes, returns a status;
 * the bytes to send are left in an output buffer the transport drains; time
 * arrives as now_ms. No sockets, no clock, no logging (hs->note carries the
 * line the caller should log).
 *
 * States (Redis's repl_state names; SEND_* states of Redis are transient here
 * because the commands are queued the moment the previous reply is read):
 *
 *   NONE ──set_master──▶ CONNECT ──begin──▶ CONNECTING ──connected: PING──▶ RECEIVE_PING_REPLY
 *   RECEIVE_PING_REPLY ──+PONG / -NOAUTH / -NOPERM: [AUTH] REPLCONF listening-port
 *        [REPLCONF ip-address] REPLCONF capa eof capa psync2──▶ RECEIVE_AUTH_REPLY
 *        (no masterauth: ──▶ RECEIVE_PORT_REPLY)
 *   RECEIVE_AUTH_REPLY ──+OK──▶ RECEIVE_PORT_REPLY          (-ERR: fail)
 *   RECEIVE_PORT_REPLY ──any──▶ RECEIVE_IP_REPLY | RECEIVE_CAPA_REPLY
 *   RECEIVE_IP_REPLY   ──any──▶ RECEIVE_CAPA_REPLY
 *   RECEIVE_CAPA_REPLY ──any: PSYNC <replid|?> <offset+1|-1>──▶ RECEIVE_PSYNC_REPLY
 *   RECEIVE_PSYNC_REPLY ──+FULLRESYNC id off──▶ TRANSFER (bulk header expected)
 *                       ──+CONTINUE [id]──▶ CONNECTED
 *                       ──"" (keepalive newline)──▶ RECEIVE_PSYNC_REPLY
 *   TRANSFER ──$<len> | $EOF:<40-byte mark>──▶ TRANSFER (payload) ──complete──▶ (caller loads)
 *            ──repl_hs_synced──▶ CONNECTED
 *   any state ──error reply, timeout, link lost (repl_hs_fail)──▶ CONNECT
 *   any state ──set_master_none (repl_hs_reset)──▶ NONE
 *
 * Transition → function: on_line_fns[state] in repl_hs.c handles a reply line
 * in each RECEIVE_* / TRANSFER state; repl_hs_begin, repl_hs_connected,
 * repl_hs_xfer_feed, repl_hs_synced and repl_hs_fail do the rest.
 *
 * Invariants per state (checked by repl_hs_check under DEBUG_ASSERT):
 *  - NONE, CONNECT: nothing queued to send, no transfer in progress.
 *  - RECEIVE_*: the command whose reply is awaited has been queued.
 *  - TRANSFER: master_replid is 40 hex chars; with the header read, either
 *    xfer_eof (mark set) or xfer_size >= 0, and xfer_read <= xfer_size when
 *    sized.
 *  - CONNECTED: master_replid is 40 chars.
 */
#ifndef TESSERA_REPL_HS_H
#define TESSERA_REPL_HS_H

#include <stddef.h>
#include <stdint.h>

#define REPL_ID_LEN 40
#define REPL_EOF_MARK_LEN 40

enum {
    REPL_STATE_NONE = 0,
    REPL_STATE_CONNECT,
    REPL_STATE_CONNECTING,
    REPL_STATE_RECEIVE_PING_REPLY,
    REPL_STATE_RECEIVE_AUTH_REPLY,
    REPL_STATE_RECEIVE_PORT_REPLY,
    REPL_STATE_RECEIVE_IP_REPLY,
    REPL_STATE_RECEIVE_CAPA_REPLY,
    REPL_STATE_RECEIVE_PSYNC_REPLY,
    REPL_STATE_TRANSFER,
    REPL_STATE_CONNECTED,
    REPL_STATE_COUNT
};

/* Results of repl_hs_on_line. */
enum {
    REPL_HS_AGAIN = 0,   /* reply consumed; maybe bytes to send; wait for the next line */
    REPL_HS_FULL = 1,    /* +FULLRESYNC: master_replid / master_offset set; bulk header next */
    REPL_HS_PARTIAL = 2, /* +CONTINUE: master_replid set (the cached one if not given) */
    REPL_HS_PAYLOAD = 3, /* the bulk header was read: payload bytes follow */
    REPL_HS_RETRY = -1,  /* give up this attempt (reason in err); reconnect later */
};

/* What the handshake announces (copied at repl_hs_begin). */
typedef struct repl_hs_conf_s {
    const char *user;   /* masteruser, NULL: none */
    const char *pass;   /* masterauth, NULL: no AUTH */
    int port;           /* REPLCONF listening-port */
    const char *ip;     /* replica-announce-ip, NULL: not sent */
    const char *replid; /* cached master id; NULL: PSYNC ? -1 */
    long long offset;   /* cached offset: PSYNC asks for offset + 1 */
} repl_hs_conf_t;

typedef struct repl_hs_s {
    int state;
    int send_auth, send_ip;
    uint64_t last_io_ms;                /* last progress (connect, reply, payload byte) */
    char psync_replid[REPL_ID_LEN + 1]; /* "?" when no cached master */
    long long psync_offset;             /* -1 with "?" */
    /* results */
    char master_replid[REPL_ID_LEN + 1];
    long long master_offset; /* +FULLRESYNC offset */
    /* payload */
    int xfer_hdr; /* the bulk header was read */
    int xfer_eof; /* $EOF:<mark> framing */
    char eofmark[REPL_EOF_MARK_LEN];
    char lastbytes[REPL_EOF_MARK_LEN];
    long long xfer_size; /* -1 with EOF framing */
    long long xfer_read; /* payload bytes seen (mark included) */
    /* output: commands queued for the master (the caller sends out.p[0..out.len)
     * and clears it); batch: the commands held until the PING reply */
    struct repl_hs_buf_s {
        char *p;
        size_t len, cap;
    } out, batch;
    char err[192];  /* why the attempt failed (RETRY) */
    char note[192]; /* a line worth logging after the last call ("" none) */
} repl_hs_t;

void repl_hs_init(repl_hs_t *hs);
void repl_hs_deinit(repl_hs_t *hs);
/* → NONE: forget everything (REPLICAOF NO ONE). */
void repl_hs_reset(repl_hs_t *hs);
/* → CONNECT: an attempt failed or the link dropped (output dropped). */
void repl_hs_fail(repl_hs_t *hs);
/* CONNECT → CONNECTING with what to announce. */
void repl_hs_begin(repl_hs_t *hs, const repl_hs_conf_t *conf, uint64_t now_ms);
/* CONNECTING → RECEIVE_PING_REPLY: PING is queued. */
void repl_hs_connected(repl_hs_t *hs, uint64_t now_ms);
/* One reply line from the master, without its "\r\n". REPL_HS_*. */
int repl_hs_on_line(repl_hs_t *hs, const char *line, size_t len, uint64_t now_ms);
/*
 * Payload bytes (TRANSFER after the header). *used gets how many of the n
 * bytes belong to the payload (sized framing stops at its length; with an
 * EOF mark every byte does). Returns 1 when the payload is complete (for the
 * EOF framing, its last 40 bytes are the mark and are not part of the RDB),
 * else 0.
 */
int repl_hs_xfer_feed(repl_hs_t *hs, const void *p, size_t n, size_t *used, uint64_t now_ms);
/* Bytes of RDB in a completed payload (mark excluded). */
long long repl_hs_rdb_len(const repl_hs_t *hs);
/* TRANSFER → CONNECTED after the caller loaded the payload. */
void repl_hs_synced(repl_hs_t *hs, uint64_t now_ms);
/* 1 when a CONNECTING / handshake / TRANSFER attempt made no progress for timeout_ms. */
int repl_hs_timed_out(const repl_hs_t *hs, uint64_t now_ms, uint64_t timeout_ms);
/* 1 in the RECEIVE_* states (Redis's slaveIsInHandshakeState). */
int repl_hs_in_handshake(const repl_hs_t *hs);
/* After sending hs->out.p[0..out.len): mark it sent. */
static inline void repl_hs_out_clear(repl_hs_t *hs)
{
    hs->out.len = 0;
}
/* Validate the state's invariants; 0 ok, -1 (with err set) broken. */
int repl_hs_check(const repl_hs_t *hs);
/* "connect", "connecting", "handshake", "sync", "connected", "none" (ROLE). */
const char *repl_hs_role_state(const repl_hs_t *hs);

#endif
