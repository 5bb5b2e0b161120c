/*
 * repl_link.c — the replication core's replica side: REPLICAOF host port / NO
 * ONE, driving the handshake state machine (repl_hs.c) with the link's
 * events, the cached-master rule for PSYNC, id changes after +CONTINUE and
 * full syncs, ACKs, timeouts and reconnection.
 *
 * Must not: do I/O itself (the link is opened, written and closed through
 * r->io), read clocks, or touch the keyspace (the transport loads the
 * payload and applies the stream).
 * Invariants: link_h != NULL iff the transport holds a link we asked for;
 * have_cached means replid/offset describe the data we hold, so PSYNC may
 * name them; a link dropped while CONNECTED is reopened at the next
 * before_sleep, a failed attempt by the once-per-second cron.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../lib/log.h"
#include "../lib/mem.h"
#include "repl_int.h"

/* Send what the handshake queued. */
static void hs_flush(repl_t *r)
{
    if (r->hs.out.len > 0 && r->link_h != NULL)
        r->io.link_write(r->io.arg, r->hs.out.p, r->hs.out.len);
    repl_hs_out_clear(&r->hs);
}

/* Give up the current link (if any); the state machine goes back to CONNECT. */
static void drop_link(repl_t *r)
{
    if (r->link_h != NULL) {
        r->link_h = NULL;
        r->io.link_close(r->io.arg);
    }
    if (r->master_host != NULL)
        repl_hs_fail(&r->hs);
}

/* The id PSYNC names. Nothing was added since the last id shift (a
 * promotion, a restart from an RDB, a +CONTINUE with a new id) when
 * offset + 1 == second_off: our data is then exactly the old id's history
 * up to offset, and the old id is the one other nodes are likely to know
 * (Redis names its fresh id and falls back to a full sync there). */
static const char *psync_id(const repl_t *r)
{
    if (!r->have_cached)
        return NULL;
    if (r->second_off == r->offset + 1 && strspn(r->replid2, "0") != REPL_ID_LEN)
        return r->replid2;
    return r->replid;
}

void repl_link_connect(repl_t *r, uint64_t now_ms)
{
    const config_t *c = r->cfg;
    repl_hs_conf_t conf = {
        .user = c->masteruser,
        .pass = c->masterauth,
        .port = c->replica_announce_port ? c->replica_announce_port : c->port,
        .ip = c->replica_announce_ip,
        .replid = psync_id(r),
        .offset = r->offset,
    };
    repl_hs_begin(&r->hs, &conf, now_ms);
    r->link_h = r->io.link_connect(r->io.arg, r->master_host, r->master_port);
    if (r->link_h == NULL) {
        repl_hs_fail(&r->hs);
        return;
    }
    log_notice("MASTER <-> REPLICA sync started");
}

int repl_is_link(const repl_t *r, const void *h)
{
    return h != NULL && h == r->link_h;
}

/* ---- REPLICAOF ------------------------------------------------------------------------------ */

int repl_set_master(repl_t *r, const char *host, int port, uint64_t now_ms)
{
    if (r->master_host != NULL && strcasecmp(r->master_host, host) == 0 && r->master_port == port)
        return 1;
    int was_master = r->master_host == NULL;
    drop_link(r);
    mem_free(r->master_host);
    r->master_host = mem_strdup(host);
    r->master_port = port;
    repl_hs_fail(&r->hs); /* → CONNECT */
    r->connect_asap = 0;
    if (was_master) {
        /* our own history is what a new master may be able to continue */
        r->have_cached = 1;
        log_set_role('S');
        log_notice("Before turning into a replica, using my own master parameters to synthesize "
                   "a cached master: I may be able to synchronize with the new master with just "
                   "a partial transfer.");
        if (r->io.role_changed)
            r->io.role_changed(r->io.arg, 1);
    }
    log_notice("Connecting to MASTER %s:%d", r->master_host, r->master_port);
    repl_link_connect(r, now_ms);
    return 0;
}

void repl_set_master_none(repl_t *r, uint64_t now_ms)
{
    if (r->master_host == NULL)
        return;
    drop_link(r);
    mem_free(r->master_host);
    r->master_host = NULL;
    r->master_port = 0;
    repl_hs_reset(&r->hs);
    if (r->have_cached)
        log_notice("Discarding previously cached master state.");
    r->have_cached = 0;
    r->connect_asap = 0;
    /* PSYNC2: our history so far stays continuable under the old id */
    memcpy(r->replid2, r->replid, sizeof(r->replid2));
    r->second_off = r->offset + 1;
    repl_new_id(r, r->replid);
    log_warning("Setting secondary replication ID to %s, valid up to offset: %lld. New replication "
                "ID is %s",
                r->replid2, r->second_off, r->replid);
    repl_drop_replicas(r); /* they must learn the new id (and will continue partially) */
    r->seldb = -1;
    r->no_replicas_since_ms = now_ms;
    log_set_role('M');
    if (r->io.role_changed)
        r->io.role_changed(r->io.arg, 0);
}

/* ---- link events --------------------------------------------------------------------------------
 */

void repl_link_connected(repl_t *r, uint64_t now_ms)
{
    log_notice("Non blocking connect for SYNC fired the event.");
    repl_hs_connected(&r->hs, now_ms);
    hs_flush(r);
}

static void partial_accepted(repl_t *r, uint64_t now_ms)
{
    log_notice("Successful partial resynchronization with master.");
    if (strcmp(r->hs.master_replid, r->replid) != 0 &&
        strcmp(r->hs.psync_replid, r->replid2) == 0) {
        /* we continued under our old id: the master's id is new to us, and
         * our own since the shift never got any byte */
        log_warning("Master replication ID changed to %s", r->hs.master_replid);
        memcpy(r->replid, r->hs.master_replid, sizeof(r->replid));
        repl_drop_replicas(r);
    } else if (strcmp(r->hs.master_replid, r->replid) != 0) {
        log_warning("Master replication ID changed to %s", r->hs.master_replid);
        memcpy(r->replid2, r->replid, sizeof(r->replid2));
        r->second_off = r->offset + 1;
        memcpy(r->replid, r->hs.master_replid, sizeof(r->replid));
        repl_drop_replicas(r);
    }
    if (!repl_backlog_active(&r->backlog))
        repl_backlog_restart(r);
    r->have_cached = 1;
    r->read_off = r->offset;
    r->master_io_ms = now_ms;
    log_notice("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
}

int repl_link_line(repl_t *r, const char *line, size_t len, uint64_t now_ms)
{
    r->stats.repl_input_bytes += len + 2;
    int rc = repl_hs_on_line(&r->hs, line, len, now_ms);
    if (r->hs.note[0] != '\0')
        log_notice("%s", r->hs.note);
    switch (rc) {
    case REPL_HS_RETRY:
        log_warning("%s", r->hs.err);
        drop_link(r);
        return REPL_HS_RETRY;
    case REPL_HS_FULL:
        log_notice("Full resync from master: %s:%lld", r->hs.master_replid, r->hs.master_offset);
        if (r->have_cached)
            log_notice("Discarding previously cached master state.");
        r->have_cached = 0;
        return REPL_HS_AGAIN;
    case REPL_HS_PAYLOAD:
        if (r->hs.xfer_eof)
            log_notice("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to "
                       "memory");
        else
            log_notice("MASTER <-> REPLICA sync: receiving %lld bytes from master to memory",
                       r->hs.xfer_size);
        return REPL_HS_PAYLOAD;
    case REPL_HS_PARTIAL:
        partial_accepted(r, now_ms);
        return REPL_HS_PARTIAL;
    default:
        hs_flush(r);
        return REPL_HS_AGAIN;
    }
}

int repl_link_payload(repl_t *r, const void *p, size_t n, size_t *used, uint64_t now_ms)
{
    int done = repl_hs_xfer_feed(&r->hs, p, n, used, now_ms);
    r->stats.repl_input_bytes += *used;
    return done;
}

long long repl_link_rdb_len(const repl_t *r)
{
    return repl_hs_rdb_len(&r->hs);
}

void repl_link_loading(repl_t *r)
{
    /* our replicas followed the old dataset: they must resync with us */
    repl_drop_replicas(r);
    if (repl_backlog_active(&r->backlog))
        repl_backlog_deinit(&r->backlog);
}

void repl_link_synced(repl_t *r, int ok, uint64_t now_ms)
{
    if (!ok) {
        log_warning("Failed trying to load the MASTER synchronization DB from socket");
        drop_link(r);
        return;
    }
    /* a new history: the master's id and offset, nothing before it */
    memcpy(r->replid, r->hs.master_replid, sizeof(r->replid));
    r->offset = r->hs.master_offset;
    repl_clear_id2(r);
    repl_backlog_restart(r);
    repl_hs_synced(&r->hs, now_ms);
    r->have_cached = 1;
    r->read_off = r->offset;
    r->master_io_ms = now_ms;
    log_notice("MASTER <-> REPLICA sync: Finished with success");
    repl_link_send_ack(r); /* an EOF-framed transfer waits for it to start the stream */
}

void repl_link_read(repl_t *r, size_t n, uint64_t now_ms)
{
    r->read_off += (long long)n;
    r->master_io_ms = now_ms;
    r->stats.repl_input_bytes += n;
}

void repl_link_applied(repl_t *r, const void *p, size_t n)
{
    repl_feed_raw(r, p, n);
}

void repl_link_closed(repl_t *r, uint64_t now_ms)
{
    int was_connected = r->hs.state == REPL_STATE_CONNECTED;
    r->link_h = NULL;
    r->io.link_close(r->io.arg); /* the transport forgets its side too */
    if (r->master_host == NULL)
        return;
    if (was_connected) {
        log_warning("Connection with master lost.");
        log_notice("Caching the disconnected master state.");
        r->down_since_ms = now_ms;
        r->connect_asap = 1; /* waiting a second may cost the backlog */
    }
    repl_hs_fail(&r->hs);
}

void repl_link_send_ack(repl_t *r)
{
    if (r->link_h == NULL || r->hs.state != REPL_STATE_CONNECTED)
        return;
    char num[24], buf[96];
    int k = snprintf(num, sizeof(num), "%lld", r->offset);
    int n =
        snprintf(buf, sizeof(buf), "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$%d\r\n%s\r\n", k, num);
    r->io.link_write(r->io.arg, buf, (size_t)n);
}

void repl_link_cron(repl_t *r, uint64_t now_ms)
{
    if (r->master_host == NULL)
        return;
    uint64_t timeout = (uint64_t)r->cfg->repl_timeout * 1000;
    if (repl_hs_timed_out(&r->hs, now_ms, timeout)) {
        if (r->hs.state == REPL_STATE_TRANSFER)
            log_warning("Timeout receiving bulk data from MASTER... If the problem persists try "
                        "to set the 'repl-timeout' parameter in redis.conf to a larger value.");
        else
            log_warning("Timeout connecting to the MASTER...");
        drop_link(r);
    }
    if (r->hs.state == REPL_STATE_CONNECTED && now_ms - r->master_io_ms > timeout) {
        log_warning("MASTER timeout: no data nor PING received...");
        r->down_since_ms = now_ms;
        drop_link(r);
    }
    if (r->hs.state == REPL_STATE_CONNECT) {
        r->connect_asap = 0;
        log_notice("Connecting to MASTER %s:%d", r->master_host, r->master_port);
        repl_link_connect(r, now_ms);
    }
    if (r->hs.state == REPL_STATE_CONNECTED)
        repl_link_send_ack(r);
}
