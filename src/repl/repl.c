/*
 * repl.c — the replication core's primary side and shared state: ids and
 * offsets, the backlog, the propagated stream (with its SELECTs), replicas
 * (REPLCONF, PSYNC/SYNC decisions, full syncs, ACKs), WAIT counting,
 * min-replicas-to-write, pings, timeouts, the backlog TTL and INFO.
 *
 * Must not: touch sockets or the keyspace (everything goes through
 * r->io), read clocks (now_ms comes in), or send a replica bytes of the
 * stream that its snapshot already covers.
 * Invariants: see repl.h and repl_int.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../lib/log.h"
#include "../lib/mem.h"
#include "../lib/util.h"
#include "repl_int.h"

static repl_t *registered;

void repl_register(repl_t *r)
{
    registered = r;
}
repl_t *repl_get(void)
{
    return registered;
}

/* ---- small helpers --------------------------------------------------------------------- */

void repl_buf_cat(repl_buf_t *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        b->p = mem_realloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void buf_free(repl_buf_t *b)
{
    mem_free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void repl_new_id(repl_t *r, char *out)
{
    r->rng(out, REPL_ID_LEN);
    out[REPL_ID_LEN] = '\0';
}

void repl_clear_id2(repl_t *r)
{
    memset(r->replid2, '0', REPL_ID_LEN);
    r->replid2[REPL_ID_LEN] = '\0';
    r->second_off = -1;
}

void repl_backlog_restart(repl_t *r)
{
    if (repl_backlog_active(&r->backlog))
        repl_backlog_deinit(&r->backlog);
    repl_backlog_init(&r->backlog, (size_t)r->cfg->repl_backlog_size, r->offset);
}

/* "ip:port" as Redis names a replica in its logs. */
static const char *replica_name(const replica_t *rp, char *buf, size_t cap)
{
    if (rp->port > 0)
        snprintf(buf, cap, "%s:%d", rp->ip, rp->port);
    else
        snprintf(buf, cap, "%s:<unknown-replica-port>", rp->ip);
    return buf;
}

/* ---- life cycle --------------------------------------------------------------------------- */

repl_t *repl_new(const config_t *cfg, const repl_io_t *io, repl_rng_fn rng, uint64_t now_ms)
{
    repl_t *r = mem_calloc(sizeof(*r));
    r->cfg = cfg;
    r->io = *io;
    r->rng = rng ? rng : rng_hex;
    repl_new_id(r, r->replid);
    repl_clear_id2(r);
    r->seldb = -1;
    r->no_replicas_since_ms = now_ms;
    r->last_cron_ms = now_ms;
    repl_hs_init(&r->hs);
    return r;
}

static void payload_release(repl_payload_t *pl)
{
    if (pl != NULL && --pl->refs == 0) {
        for (size_t i = 0; i < pl->nblk; i++)
            mem_free(pl->blk[i]);
        mem_free(pl->blk);
        mem_free(pl);
    }
}

static void replica_free(replica_t *rp)
{
    payload_release(rp->payload);
    buf_free(&rp->held);
    mem_free(rp);
}

void repl_free(repl_t *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nreplicas; i++)
        replica_free(r->replicas[i]);
    mem_free(r->replicas);
    payload_release(r->snap_pl);
    if (repl_backlog_active(&r->backlog))
        repl_backlog_deinit(&r->backlog);
    buf_free(&r->enc);
    repl_hs_deinit(&r->hs);
    mem_free(r->master_host);
    if (registered == r)
        registered = NULL;
    mem_free(r);
}

/* ---- state -------------------------------------------------------------------------------- */

const char *repl_replid(const repl_t *r)
{
    return r->replid;
}
long long repl_offset(const repl_t *r)
{
    return r->offset;
}
const repl_stats_t *repl_stats(const repl_t *r)
{
    return &r->stats;
}
void repl_stats_reset(repl_t *r)
{
    memset(&r->stats, 0, sizeof(r->stats));
}
const char *repl_master_host(const repl_t *r)
{
    return r->master_host;
}
int repl_master_port(const repl_t *r)
{
    return r->master_port;
}
int repl_link_state(const repl_t *r)
{
    return r->hs.state;
}
const char *repl_role_state(const repl_t *r)
{
    return repl_hs_role_state(&r->hs);
}
void repl_pause_own_writes(repl_t *r, int paused)
{
    r->paused = paused;
}

uint64_t repl_link_down_since(const repl_t *r)
{
    return r->hs.state == REPL_STATE_CONNECTED ? 0 : r->down_since_ms;
}

void repl_restore(repl_t *r, const char *replid, long long offset, int stream_db)
{
    (void)stream_db;
    if (replid == NULL || strlen(replid) != REPL_ID_LEN || offset < 0)
        return;
    if (r->master_host != NULL || r->cfg->replicaof_host != NULL) {
        /* our data is the master's history up to offset: PSYNC can continue it */
        memcpy(r->replid, replid, REPL_ID_LEN + 1);
        r->offset = offset;
        r->have_cached = 1;
        return;
    }
    /* a master keeps the old history as its second id; replicas that reached
     * offset continue with +CONTINUE (and learn the new id) */
    memcpy(r->replid2, replid, REPL_ID_LEN + 1);
    r->second_off = offset + 1;
    r->offset = offset;
    repl_backlog_restart(r);
}

int repl_save_info(const repl_t *r, const char **replid, long long *offset, int *stream_db)
{
    if (r->master_host != NULL) {
        if (!r->have_cached && r->hs.state != REPL_STATE_CONNECTED)
            return 0;
        *stream_db = r->io.link_db ? r->io.link_db(r->io.arg) : 0;
    } else {
        if (!repl_backlog_active(&r->backlog))
            return 0;
        *stream_db = r->seldb < 0 ? 0 : r->seldb;
    }
    *replid = r->replid;
    *offset = r->offset;
    return 1;
}

/* ---- the stream ----------------------------------------------------------------------------- */

static void replica_send(repl_t *r, replica_t *rp, const void *p, size_t n)
{
    if (rp->state == REPLICA_SEND_BULK || rp->stream_on_ack) {
        repl_buf_cat(&rp->held, p, n);
        return;
    }
    r->stats.repl_output_bytes += n;
    r->io.replica_write(r->io.arg, rp->h, p, n);
}

void repl_feed_raw(repl_t *r, const void *p, size_t n)
{
    if (repl_backlog_active(&r->backlog))
        repl_backlog_append(&r->backlog, p, n);
    r->offset += (long long)n;
    for (size_t i = 0; i < r->nreplicas; i++)
        if (r->replicas[i]->state >= REPLICA_SEND_BULK)
            replica_send(r, r->replicas[i], p, n);
}

static void enc_cmd(repl_buf_t *b, int argc, const slice_t *argv)
{
    char hdr[32];
    repl_buf_cat(b, hdr, (size_t)snprintf(hdr, sizeof(hdr), "*%d\r\n", argc));
    for (int i = 0; i < argc; i++) {
        repl_buf_cat(b, hdr, (size_t)snprintf(hdr, sizeof(hdr), "$%zu\r\n", argv[i].len));
        repl_buf_cat(b, argv[i].p, argv[i].len);
        repl_buf_cat(b, "\r\n", 2);
    }
}

/* Add a command to the stream (after a SELECT when db changes). */
static void feed_cmd(repl_t *r, int db, int argc, const slice_t *argv)
{
    /* a replica proxies its master's bytes instead (repl_link_applied);
     * without a backlog nobody listens and the offset stays */
    if (r->master_host != NULL || !repl_backlog_active(&r->backlog))
        return;
    r->enc.len = 0;
    if (db >= 0 && db != r->seldb) {
        char num[24];
        slice_t sel[2] = {SLICE_LIT("SELECT"), slice_make(num, ll_to_str(num, db))};
        enc_cmd(&r->enc, 2, sel);
        r->seldb = db;
    }
    enc_cmd(&r->enc, argc, argv);
    repl_feed_raw(r, r->enc.p, r->enc.len);
}

void repl_feed_command(repl_t *r, int db, int argc, const slice_t *argv)
{
    feed_cmd(r, db, argc, argv);
    r->write_off = r->offset;
}

long long repl_wait_offset(const repl_t *r)
{
    return r->write_off;
}

/* ---- replicas ----------------------------------------------------------------------------------
 */

static replica_t *replica_find(const repl_t *r, const void *h, size_t *idx)
{
    for (size_t i = 0; i < r->nreplicas; i++)
        if (r->replicas[i]->h == h) {
            if (idx)
                *idx = i;
            return r->replicas[i];
        }
    return NULL;
}

static replica_t *replica_get(repl_t *r, void *h, const char *ip)
{
    replica_t *rp = replica_find(r, h, NULL);
    if (rp != NULL)
        return rp;
    rp = mem_calloc(sizeof(*rp));
    rp->h = h;
    snprintf(rp->ip, sizeof(rp->ip), "%s", ip ? ip : "?");
    if (r->nreplicas == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 4;
        r->replicas = mem_realloc(r->replicas, sizeof(*r->replicas) * r->cap);
    }
    r->replicas[r->nreplicas++] = rp;
    return rp;
}

static size_t active_replicas(const repl_t *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nreplicas; i++)
        n += r->replicas[i]->state != REPLICA_HANDSHAKE;
    return n;
}

void repl_conf_port(repl_t *r, void *h, const char *ip, int port)
{
    replica_get(r, h, ip)->port = port;
}

void repl_conf_ip(repl_t *r, void *h, const char *ip, const char *announced)
{
    replica_t *rp = replica_get(r, h, ip);
    snprintf(rp->ip, sizeof(rp->ip), "%s", announced);
}

void repl_conf_capa(repl_t *r, void *h, const char *ip, int capa)
{
    replica_get(r, h, ip)->capa |= capa;
}

int repl_is_replica(const repl_t *r, const void *h)
{
    const replica_t *rp = replica_find(r, h, NULL);
    return rp != NULL && rp->state != REPLICA_HANDSHAKE;
}

/* The stream bytes held during the payload (and until the first ACK) go out. */
static void release_held(repl_t *r, replica_t *rp)
{
    if (rp->held.len > 0)
        replica_send(r, rp, rp->held.p, rp->held.len);
    buf_free(&rp->held);
}

int repl_ack(repl_t *r, void *h, long long off, uint64_t now_ms)
{
    replica_t *rp = replica_find(r, h, NULL);
    if (rp == NULL || rp->state == REPLICA_HANDSHAKE)
        return 0;
    if (off > rp->ack_off)
        rp->ack_off = off;
    rp->ack_ms = now_ms;
    if (rp->stream_on_ack && rp->state == REPLICA_ONLINE) {
        rp->stream_on_ack = 0; /* the replica loaded the payload: start its stream */
        release_held(r, rp);
    }
    return 1;
}

void repl_drop_replicas(repl_t *r)
{
    for (size_t i = 0; i < r->nreplicas; i++)
        if (r->replicas[i]->state != REPLICA_HANDSHAKE)
            r->io.replica_close(r->io.arg, r->replicas[i]->h);
}

void repl_forget(repl_t *r, void *h, uint64_t now_ms)
{
    if (h != NULL && h == r->link_h) {
        repl_link_closed(r, now_ms);
        return;
    }
    size_t i;
    replica_t *rp = replica_find(r, h, &i);
    if (rp == NULL)
        return;
    if (rp->state != REPLICA_HANDSHAKE) {
        char name[96];
        log_warning("Connection with replica %s lost.", replica_name(rp, name, sizeof(name)));
    }
    r->replicas[i] = r->replicas[--r->nreplicas];
    replica_free(rp);
    if (active_replicas(r) == 0)
        r->no_replicas_since_ms = now_ms;
}

/* ---- PSYNC ------------------------------------------------------------------------------------
 */

static int try_partial(repl_t *r, replica_t *rp, const char *replid, long long off, uint64_t now)
{
    char name[96];
    replica_name(rp, name, sizeof(name));
    if (strcasecmp(replid, r->replid) != 0 &&
        (strcasecmp(replid, r->replid2) != 0 || off > r->second_off)) {
        if (replid[0] == '?')
            log_notice("Full resync requested by replica %s", name);
        else if (strcasecmp(replid, r->replid) != 0 && strcasecmp(replid, r->replid2) != 0)
            log_notice("Partial resynchronization not accepted: Replication ID mismatch (Replica "
                       "asked for '%s', my replication IDs are '%s' and '%s')",
                       replid, r->replid, r->replid2);
        else
            log_notice("Partial resynchronization not accepted: Requested offset for second ID "
                       "was %lld, but I can reply up to %lld",
                       off, r->second_off);
        return 0;
    }
    if (!repl_backlog_covers(&r->backlog, off)) {
        log_notice("Unable to partial resync with replica %s for lack of backlog (Replica request "
                   "was: %lld).",
                   name, off);
        if (off > r->offset)
            log_warning("Warning: replica %s tried to PSYNC with an offset that is greater than "
                        "the master replication offset.",
                        name);
        return 0;
    }
    rp->state = REPLICA_ONLINE;
    rp->ack_ms = now;
    rp->stream_on_ack = 0;
    char line[64];
    int n = (rp->capa & REPL_CAPA_PSYNC2)
                ? snprintf(line, sizeof(line), "+CONTINUE %s\r\n", r->replid)
                : snprintf(line, sizeof(line), "+CONTINUE\r\n");
    r->io.replica_write(r->io.arg, rp->h, line, (size_t)n);
    const char *p[2];
    size_t len[2], total = 0;
    int k = repl_backlog_range(&r->backlog, off, p, len);
    for (int i = 0; i < k; i++) {
        replica_send(r, rp, p[i], len[i]);
        total += len[i];
    }
    log_notice("Partial resynchronization request from %s accepted. Sending %zu bytes of backlog "
               "starting from offset %lld.",
               name, total, off);
    return 1;
}

int repl_psync(repl_t *r, void *h, const char *ip, const char *replid, long long offset,
               int old_sync, uint64_t now_ms)
{
    if (r->master_host != NULL && r->hs.state != REPL_STATE_CONNECTED)
        return REPL_PSYNC_NOMASTERLINK;
    replica_t *rp = replica_get(r, h, ip);
    char name[96];
    log_notice("Replica %s asks for synchronization", replica_name(rp, name, sizeof(name)));
    if (!old_sync) {
        if (try_partial(r, rp, replid, offset, now_ms)) {
            r->stats.sync_partial_ok++;
            return REPL_PSYNC_CONTINUE;
        }
        if (replid[0] != '?')
            r->stats.sync_partial_err++;
    } else {
        rp->pre_psync = 1;
    }
    r->stats.sync_full++;
    rp->state = REPLICA_WAIT_BGSAVE;
    rp->wait_since_ms = now_ms;
    r->sync_pending = 1;
    if (!repl_backlog_active(&r->backlog) && r->master_host == NULL) {
        /* a new history: nothing before it can be continued */
        repl_new_id(r, r->replid);
        repl_clear_id2(r);
        repl_backlog_restart(r);
        log_notice("Replication backlog created, my new replication IDs are '%s' and '%s'",
                   r->replid, r->replid2);
    }
    if (r->cfg->repl_diskless_sync && (rp->capa & REPL_CAPA_EOF) &&
        r->cfg->repl_diskless_sync_delay > 0)
        log_notice("Delay next BGSAVE for diskless SYNC");
    return REPL_PSYNC_FULL;
}

/* ---- full sync
 * ----------------------------------------------------------------------------------- */

/* Snapshot bytes into the payload's blocks. */
static int payload_sink(void *arg, const void *p, size_t n)
{
    repl_payload_t *pl = arg;
    const char *src = p;
    while (n > 0) {
        size_t used = pl->len % REPL_PAYLOAD_BLOCK;
        if (used == 0 && pl->len == pl->nblk * (size_t)REPL_PAYLOAD_BLOCK) {
            if (pl->nblk == pl->cap) {
                pl->cap = pl->cap ? pl->cap * 2 : 8;
                pl->blk = mem_realloc(pl->blk, sizeof(*pl->blk) * pl->cap);
            }
            pl->blk[pl->nblk++] = mem_alloc(REPL_PAYLOAD_BLOCK);
        }
        size_t k = REPL_PAYLOAD_BLOCK - used < n ? REPL_PAYLOAD_BLOCK - used : n;
        memcpy(pl->blk[pl->nblk - 1] + used, src, k);
        pl->len += k;
        src += k;
        n -= k;
    }
    return 0;
}

/* How much payload may wait in a replica's output: well under its
 * client-output-buffer-limit (Redis keeps the RDB out of that account). */
static size_t pump_low(const repl_t *r)
{
    const obuf_limit_t *lim = &r->cfg->obuf_limits[OBUF_REPLICA];
    size_t low = 32u << 20;
    if (lim->hard && lim->hard / 2 < low)
        low = (size_t)(lim->hard / 2);
    if (lim->soft && lim->soft / 2 < low)
        low = (size_t)(lim->soft / 2);
    return low > (64u << 10) ? low : (64u << 10);
}

/* Payload bytes queued for one replica in one pump: copying more at once
 * stops the loop (the longest PING during a 1M-key disk-framed sync: 18 ms
 * with up to 32 MB a turn, 5 ms with 1 MB, Redis 3 ms); the rest goes out in
 * the next turns, which repl_pump_more tells the loop not to sleep before. */
#define REPL_PUMP_TURN (1u << 20)

/* Queue payload bytes for rp while its output is short; at the end, the mark
 * (EOF framing) and the stream held meanwhile. */
static void pump_replica(repl_t *r, replica_t *rp, uint64_t now_ms)
{
    repl_payload_t *pl = rp->payload;
    size_t low = pump_low(r), queued = 0;
    size_t chunk = low / 4 < REPL_PUMP_TURN ? low / 4 : REPL_PUMP_TURN;
    if (rp->need_len) {
        if (!pl->done)
            return; /* $<len> needs the whole snapshot */
        char line[32];
        int n = snprintf(line, sizeof(line), "$%zu\r\n", pl->len);
        r->io.replica_write(r->io.arg, rp->h, line, (size_t)n);
        rp->need_len = 0;
    }
    while (rp->payload_off < pl->len) {
        if (r->io.replica_pending && r->io.replica_pending(r->io.arg, rp->h) >= low)
            return; /* the rest once the replica has taken this */
        if (queued >= REPL_PUMP_TURN) {
            r->pump_more = 1; /* the rest in the next loop turn */
            return;
        }
        size_t inner = rp->payload_off % REPL_PAYLOAD_BLOCK;
        const char *src = pl->blk[rp->payload_off / REPL_PAYLOAD_BLOCK] + inner;
        size_t n = pl->len - rp->payload_off;
        if (n > REPL_PAYLOAD_BLOCK - inner)
            n = REPL_PAYLOAD_BLOCK - inner;
        if (n > chunk)
            n = chunk;
        r->stats.repl_output_bytes += n;
        r->io.replica_write(r->io.arg, rp->h, src, n);
        rp->payload_off += n;
        queued += n;
    }
    if (rp->payload_off < pl->len || !pl->done)
        return;
    char name[96];
    replica_name(rp, name, sizeof(name));
    rp->state = REPLICA_ONLINE;
    rp->ack_ms = now_ms;
    rp->stream_on_ack = pl->eof;
    if (pl->eof) {
        r->io.replica_write(r->io.arg, rp->h, pl->mark, REPL_EOF_MARK_LEN);
        log_notice("Streamed RDB transfer with replica %s succeeded (socket). Waiting for REPLCONF "
                   "ACK from slave to enable streaming",
                   name);
    } else {
        release_held(r, rp);
    }
    log_notice("Synchronization with replica %s succeeded", name);
    rp->payload = NULL;
    payload_release(pl);
}

static void pump_all(repl_t *r, uint64_t now_ms)
{
    r->pump_more = 0;
    for (size_t i = 0; i < r->nreplicas; i++)
        if (r->replicas[i]->state == REPLICA_SEND_BULK)
            pump_replica(r, r->replicas[i], now_ms);
}

/* Snapshot once for every replica waiting for a full sync; the bytes go out
 * paced by pump_replica — as they arrive when the snapshot is asynchronous
 * (EOF framing; $<len> framing waits for its end, as Redis's disk sync waits
 * for the file). */
static void start_full_sync(repl_t *r, uint64_t now_ms)
{
    int eof = r->cfg->repl_diskless_sync;
    for (size_t i = 0; i < r->nreplicas; i++)
        if (r->replicas[i]->state == REPLICA_WAIT_BGSAVE)
            eof &= (r->replicas[i]->capa & REPL_CAPA_EOF) != 0;
    r->sync_pending = 0;
    log_notice("Starting BGSAVE for SYNC with target: %s", eof ? "replicas sockets" : "disk");
    repl_snap_t snap = {.replid = r->replid, .offset = r->offset};
    if (r->master_host != NULL) {
        snap.stream_db = r->io.link_db ? r->io.link_db(r->io.arg) : 0;
    } else {
        snap.stream_db = r->seldb < 0 ? 0 : r->seldb;
        r->seldb = -1; /* the stream after the snapshot starts with a SELECT */
    }
    repl_payload_t *pl = mem_calloc(sizeof(*pl));
    pl->refs = 1; /* ours until the loop below is done */
    int rc = r->io.snapshot(r->io.arg, &snap, payload_sink, pl);
    pl->done = rc != REPL_SNAP_ASYNC;
    if (!pl->done) {
        r->snap_pl = pl; /* until repl_snapshot_done */
        pl->refs++;
        rc = 0;
    }
    pl->eof = eof;
    char mark[REPL_ID_LEN + 1];
    repl_new_id(r, mark);
    memcpy(pl->mark, mark, REPL_EOF_MARK_LEN);
    for (size_t i = 0; i < r->nreplicas; i++) {
        replica_t *rp = r->replicas[i];
        if (rp->state != REPLICA_WAIT_BGSAVE)
            continue;
        if (rc != 0) {
            log_warning("SYNC failed. BGSAVE child returned an error");
            r->io.replica_close(r->io.arg, rp->h);
            continue;
        }
        char line[128];
        int n = rp->pre_psync
                    ? 0
                    : snprintf(line, sizeof(line), "+FULLRESYNC %s %lld\r\n", r->replid, r->offset);
        if (eof)
            n += snprintf(line + n, sizeof(line) - (size_t)n, "$EOF:%.*s\r\n", REPL_EOF_MARK_LEN,
                          pl->mark);
        if (n > 0)
            r->io.replica_write(r->io.arg, rp->h, line, (size_t)n);
        rp->need_len = !eof;
        rp->state = REPLICA_SEND_BULK;
        rp->payload = pl;
        rp->payload_off = 0;
        pl->refs++;
    }
    payload_release(pl);
    pump_all(r, now_ms);
}

int repl_pump_more(const repl_t *r)
{
    return r->pump_more;
}

void repl_snapshot_done(repl_t *r, int ok, uint64_t now_ms)
{
    repl_payload_t *pl = r->snap_pl;
    if (pl == NULL)
        return;
    r->snap_pl = NULL;
    pl->done = 1;
    for (size_t i = 0; i < r->nreplicas; i++) {
        replica_t *rp = r->replicas[i];
        if (rp->payload != pl)
            continue;
        if (!ok) {
            log_warning("SYNC failed. BGSAVE child returned an error");
            rp->payload = NULL; /* nothing more goes out before the close */
            rp->state = REPLICA_HANDSHAKE;
            payload_release(pl);
            r->io.replica_close(r->io.arg, rp->h);
        } else {
            pump_replica(r, rp, now_ms);
        }
    }
    payload_release(pl);
}

/* Redis's rule: wait repl-diskless-sync-delay seconds for more replicas
 * (or until repl-diskless-sync-max-replicas wait), unless some replica
 * cannot take a socket transfer or diskless sync is off. */
static int full_sync_due(const repl_t *r, uint64_t now_ms)
{
    size_t waiting = 0;
    uint64_t oldest = now_ms;
    int all_eof = 1;
    for (size_t i = 0; i < r->nreplicas; i++) {
        const replica_t *rp = r->replicas[i];
        if (rp->state != REPLICA_WAIT_BGSAVE)
            continue;
        waiting++;
        all_eof &= (rp->capa & REPL_CAPA_EOF) != 0;
        if (rp->wait_since_ms < oldest)
            oldest = rp->wait_since_ms;
    }
    if (waiting == 0 || r->snap_pl != NULL)
        return 0; /* one snapshot at a time: the next one starts when it ends */
    const config_t *c = r->cfg;
    return !c->repl_diskless_sync || !all_eof || c->repl_diskless_sync_delay <= 0 ||
           (c->repl_diskless_sync_max_replicas > 0 &&
            waiting >= (size_t)c->repl_diskless_sync_max_replicas) ||
           now_ms - oldest >= (uint64_t)c->repl_diskless_sync_delay * 1000;
}

/* ---- WAIT and min-replicas
 * ------------------------------------------------------------------------ */

void repl_request_acks(repl_t *r)
{
    r->want_acks = 1;
}

int repl_count_acked(const repl_t *r, long long off)
{
    int n = 0;
    for (size_t i = 0; i < r->nreplicas; i++)
        n += r->replicas[i]->state == REPLICA_ONLINE && r->replicas[i]->ack_off >= off;
    return n;
}

static int good_replicas(const repl_t *r, uint64_t now_ms)
{
    int n = 0;
    uint64_t lag_ms = (uint64_t)r->cfg->min_replicas_max_lag * 1000;
    for (size_t i = 0; i < r->nreplicas; i++) {
        const replica_t *rp = r->replicas[i];
        /* Redis counts whole seconds: lag <= max_lag */
        n += rp->state == REPLICA_ONLINE && now_ms / 1000 - rp->ack_ms / 1000 <= lag_ms / 1000;
    }
    return n;
}

int repl_writes_allowed(const repl_t *r, uint64_t now_ms)
{
    const config_t *c = r->cfg;
    return r->master_host != NULL || c->min_replicas_max_lag == 0 ||
           c->min_replicas_to_write == 0 || good_replicas(r, now_ms) >= c->min_replicas_to_write;
}

size_t repl_replica_count(const repl_t *r)
{
    return r->nreplicas;
}

int repl_replica_get(const repl_t *r, size_t i, uint64_t now_ms, repl_replica_info_t *out)
{
    if (i >= r->nreplicas)
        return -1;
    const replica_t *rp = r->replicas[i];
    out->ip = rp->ip;
    out->port = rp->port;
    out->state = rp->state == REPLICA_ONLINE        ? "online"
                 : rp->state == REPLICA_SEND_BULK   ? "send_bulk"
                 : rp->state == REPLICA_WAIT_BGSAVE ? "wait_bgsave"
                                                    : "";
    out->ack_off = rp->ack_off;
    out->lag_s = rp->state == REPLICA_ONLINE ? (long long)(now_ms / 1000 - rp->ack_ms / 1000) : 0;
    return 0;
}

/* ---- time
 * ---------------------------------------------------------------------------------------- */

void repl_before_sleep(repl_t *r, uint64_t now_ms)
{
    if (r->sync_pending && full_sync_due(r, now_ms))
        start_full_sync(r, now_ms);
    pump_all(r, now_ms);
    if (r->want_acks && !r->paused) {
        r->want_acks = 0;
        if (r->master_host == NULL && active_replicas(r) > 0) {
            slice_t getack[3] = {SLICE_LIT("REPLCONF"), SLICE_LIT("GETACK"), SLICE_LIT("*")};
            feed_cmd(r, -1, 3, getack);
        }
    }
    if (r->connect_asap && r->hs.state == REPL_STATE_CONNECT) {
        r->connect_asap = 0;
        log_notice("Reconnecting to MASTER %s:%d", r->master_host, r->master_port);
        repl_link_connect(r, now_ms);
    }
}

/* The primary side of the once-per-second cron. */
static void master_cron(repl_t *r, uint64_t now_ms)
{
    const config_t *c = r->cfg;
    int period = c->repl_ping_replica_period > 0 ? c->repl_ping_replica_period : 10;
    if (r->master_host == NULL && !r->paused && active_replicas(r) > 0 &&
        r->cron_loops % (uint64_t)period == 0) {
        slice_t ping = SLICE_LIT("ping");
        feed_cmd(r, -1, 1, &ping);
    }
    for (size_t i = 0; i < r->nreplicas; i++) {
        replica_t *rp = r->replicas[i];
        if (rp->state == REPLICA_WAIT_BGSAVE) {
            r->io.replica_write(r->io.arg, rp->h, "\n", 1); /* keep the link alive */
        } else if (rp->state == REPLICA_ONLINE && !rp->pre_psync &&
                   now_ms - rp->ack_ms > (uint64_t)c->repl_timeout * 1000) {
            char name[96];
            log_warning("Disconnecting timedout replica (streaming sync): %s",
                        replica_name(rp, name, sizeof(name)));
            r->io.replica_close(r->io.arg, rp->h);
        }
    }
    if (repl_backlog_active(&r->backlog) && r->backlog.size != (size_t)c->repl_backlog_size)
        repl_backlog_resize(&r->backlog, (size_t)c->repl_backlog_size);
    if (r->master_host == NULL && active_replicas(r) == 0 && repl_backlog_active(&r->backlog) &&
        c->repl_backlog_ttl > 0 &&
        now_ms - r->no_replicas_since_ms > (uint64_t)c->repl_backlog_ttl * 1000) {
        /* nobody can continue from it any more: a new history */
        repl_new_id(r, r->replid);
        repl_clear_id2(r);
        repl_backlog_deinit(&r->backlog);
        log_notice("Replication backlog freed after %lld seconds without connected replicas.",
                   c->repl_backlog_ttl);
    }
}

void repl_cron(repl_t *r, uint64_t now_ms)
{
    if (now_ms - r->last_cron_ms < 1000)
        return;
    r->last_cron_ms = now_ms;
    repl_link_cron(r, now_ms);
    master_cron(r, now_ms);
    r->cron_loops++;
}

/* ---- INFO
 * ------------------------------------------------------------------------------------------ */

typedef struct text_s {
    char *p;
    size_t len, cap;
} text_t;

static void tprintf(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tprintf(text_t *t, const char *fmt, ...)
{
    if (t->len + 1 >= t->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len = t->len + (size_t)n < t->cap ? t->len + (size_t)n : t->cap - 1;
}

static void info_replica_side(const repl_t *r, uint64_t now_ms, text_t *t)
{
    const config_t *c = r->cfg;
    int up = r->hs.state == REPL_STATE_CONNECTED;
    long long off = (r->hs.state == REPL_STATE_CONNECTED || r->have_cached) ? r->offset : 1;
    tprintf(t,
            "role:slave\r\nmaster_host:%s\r\nmaster_port:%d\r\nmaster_link_status:%s\r\n"
            "master_last_io_seconds_ago:%d\r\nmaster_sync_in_progress:%d\r\n"
            "slave_read_repl_offset:%lld\r\nslave_repl_offset:%lld\r\n",
            r->master_host, r->master_port, up ? "up" : "down",
            up ? (int)(now_ms / 1000 - r->master_io_ms / 1000) : -1,
            r->hs.state == REPL_STATE_TRANSFER, up ? r->read_off : off, off);
    if (r->hs.state == REPL_STATE_TRANSFER) {
        long long total = r->hs.xfer_eof ? 0 : r->hs.xfer_size;
        long long read = r->hs.xfer_read;
        if (total < 0)
            total = 0;
        tprintf(t,
                "master_sync_total_bytes:%lld\r\nmaster_sync_read_bytes:%lld\r\n"
                "master_sync_left_bytes:%lld\r\nmaster_sync_perc:%.2f\r\n"
                "master_sync_last_io_seconds_ago:%d\r\n",
                total, read, total - read, total ? (double)read / (double)total * 100 : 0.0,
                (int)(now_ms / 1000 - r->hs.last_io_ms / 1000));
    }
    if (!up)
        tprintf(t, "master_link_down_since_seconds:%lld\r\n",
                r->down_since_ms ? (long long)(now_ms / 1000 - r->down_since_ms / 1000) : -1LL);
    tprintf(t, "slave_priority:%d\r\nslave_read_only:%d\r\nreplica_announced:%d\r\n",
            c->replica_priority, c->replica_read_only, c->replica_announced);
}

size_t repl_info(const repl_t *r, uint64_t now_ms, char *buf, size_t cap)
{
    text_t t = {buf, 0, cap};
    if (cap > 0)
        buf[0] = '\0';
    tprintf(&t, "# Replication\r\n");
    if (r->master_host == NULL)
        tprintf(&t, "role:master\r\n");
    else
        info_replica_side(r, now_ms, &t);
    tprintf(&t, "connected_slaves:%zu\r\n", active_replicas(r));
    if (r->cfg->min_replicas_to_write && r->cfg->min_replicas_max_lag)
        tprintf(&t, "min_slaves_good_slaves:%d\r\n", good_replicas(r, now_ms));
    int id = 0;
    for (size_t i = 0; i < r->nreplicas; i++) {
        repl_replica_info_t ri;
        repl_replica_get(r, i, now_ms, &ri);
        if (ri.state[0] == '\0')
            continue;
        tprintf(&t, "slave%d:ip=%s,port=%d,state=%s,offset=%lld,lag=%lld\r\n", id++, ri.ip, ri.port,
                ri.state, ri.ack_off, ri.lag_s);
    }
    int active = repl_backlog_active(&r->backlog);
    tprintf(&t,
            "master_failover_state:no-failover\r\nmaster_replid:%s\r\nmaster_replid2:%s\r\n"
            "master_repl_offset:%lld\r\nsecond_repl_offset:%lld\r\nrepl_backlog_active:%d\r\n"
            "repl_backlog_size:%lld\r\nrepl_backlog_first_byte_offset:%lld\r\n"
            "repl_backlog_histlen:%lld\r\n",
            r->replid, r->replid2, r->offset, r->second_off, active, r->cfg->repl_backlog_size,
            active ? repl_backlog_first(&r->backlog) : 0LL,
            active ? (long long)r->backlog.histlen : 0LL);
    return t.len;
}
