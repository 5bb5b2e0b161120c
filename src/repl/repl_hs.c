/*
 * repl_hs.c — the replica's handshake state machine (diagram, transitions and
 * invariants in repl_hs.h).
 *
 * Owns: the output buffer of queued handshake commands, the parsing of the
 * master's replies (+PONG, +OK, +FULLRESYNC, +CONTINUE, bulk headers) and the
 * payload accounting (sized or EOF-marked).
 * Must not: do I/O, read clocks or log; the caller logs hs->note / hs->err.
 */
#include "repl_hs.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "../lib/mem.h"
#include "../lib/util.h"

typedef struct repl_hs_buf_s buf_t;

#define NOTE(hs, ...) snprintf((hs)->note, sizeof((hs)->note), __VA_ARGS__)
#define FAIL(hs, ...) (snprintf((hs)->err, sizeof((hs)->err), __VA_ARGS__), REPL_HS_RETRY)

#ifdef DEBUG_ASSERT
#define HS_VALIDATE(hs) assert(repl_hs_check(hs) == 0)
#else
#define HS_VALIDATE(hs) ((void)0)
#endif

void repl_hs_init(repl_hs_t *hs)
{
    memset(hs, 0, sizeof(*hs));
    hs->state = REPL_STATE_NONE;
    hs->xfer_size = -1;
}

void repl_hs_deinit(repl_hs_t *hs)
{
    mem_free(hs->out.p);
    mem_free(hs->batch.p);
    memset(&hs->out, 0, sizeof(hs->out));
    memset(&hs->batch, 0, sizeof(hs->batch));
}

static void clear_attempt(repl_hs_t *hs)
{
    hs->out.len = hs->batch.len = 0;
    hs->xfer_hdr = hs->xfer_eof = 0;
    hs->xfer_size = -1;
    hs->xfer_read = 0;
}

void repl_hs_reset(repl_hs_t *hs)
{
    clear_attempt(hs);
    hs->state = REPL_STATE_NONE;
    HS_VALIDATE(hs);
}

void repl_hs_fail(repl_hs_t *hs)
{
    clear_attempt(hs);
    hs->state = REPL_STATE_CONNECT;
    HS_VALIDATE(hs);
}

/* ---- output -------------------------------------------------------------------- */

static void buf_cat(buf_t *b, const char *p, size_t n)
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

/* Queue one command as a RESP multibulk. */
static void buf_cmd(buf_t *b, int argc, const char *const *argv)
{
    char hdr[32];
    buf_cat(b, hdr, (size_t)snprintf(hdr, sizeof(hdr), "*%d\r\n", argc));
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]);
        buf_cat(b, hdr, (size_t)snprintf(hdr, sizeof(hdr), "$%zu\r\n", n));
        buf_cat(b, argv[i], n);
        buf_cat(b, "\r\n", 2);
    }
}

/* ---- transitions ----------------------------------------------------------------- */

void repl_hs_begin(repl_hs_t *hs, const repl_hs_conf_t *conf, uint64_t now_ms)
{
    clear_attempt(hs);
    hs->note[0] = hs->err[0] = '\0';
    hs->state = REPL_STATE_CONNECTING;
    hs->last_io_ms = now_ms;
    hs->send_auth = conf->pass != NULL;
    hs->send_ip = conf->ip != NULL;
    if (conf->replid != NULL && strlen(conf->replid) == REPL_ID_LEN) {
        memcpy(hs->psync_replid, conf->replid, REPL_ID_LEN + 1);
        hs->psync_offset = conf->offset + 1;
    } else {
        strcpy(hs->psync_replid, "?");
        hs->psync_offset = -1;
    }
    /* The batch sent after the PING reply is built now (the strings of conf
     * are borrowed only during this call). */
    char port[24];
    snprintf(port, sizeof(port), "%d", conf->port);
    buf_t *b = &hs->batch;
    b->len = 0;
    if (conf->pass != NULL && conf->user != NULL)
        buf_cmd(b, 3, (const char *const[]){"AUTH", conf->user, conf->pass});
    else if (conf->pass != NULL)
        buf_cmd(b, 2, (const char *const[]){"AUTH", conf->pass});
    buf_cmd(b, 3, (const char *const[]){"REPLCONF", "listening-port", port});
    if (conf->ip != NULL)
        buf_cmd(b, 3, (const char *const[]){"REPLCONF", "ip-address", conf->ip});
    buf_cmd(b, 5, (const char *const[]){"REPLCONF", "capa", "eof", "capa", "psync2"});
    HS_VALIDATE(hs);
}

void repl_hs_connected(repl_hs_t *hs, uint64_t now_ms)
{
    buf_cmd(&hs->out, 1, (const char *const[]){"PING"});
    hs->state = REPL_STATE_RECEIVE_PING_REPLY;
    hs->last_io_ms = now_ms;
    HS_VALIDATE(hs);
}

static int on_ping_reply(repl_hs_t *hs, const char *line, size_t len)
{
    if (line[0] != '+' && strncmp(line, "-NOAUTH", 7) != 0 && strncmp(line, "-NOPERM", 7) != 0 &&
        strncmp(line, "-ERR operation not permitted", 28) != 0)
        return FAIL(hs, "Error reply to PING from master: '%.*s'", (int)(len > 128 ? 128 : len),
                    line);
    NOTE(hs, "Master replied to PING, replication can continue...");
    buf_cat(&hs->out, hs->batch.p, hs->batch.len);
    hs->batch.len = 0;
    hs->state = hs->send_auth ? REPL_STATE_RECEIVE_AUTH_REPLY : REPL_STATE_RECEIVE_PORT_REPLY;
    return REPL_HS_AGAIN;
}

static int on_auth_reply(repl_hs_t *hs, const char *line, size_t len)
{
    if (line[0] == '-')
        return FAIL(hs, "Unable to AUTH to MASTER: %.*s", (int)(len > 128 ? 128 : len), line);
    hs->state = REPL_STATE_RECEIVE_PORT_REPLY;
    return REPL_HS_AGAIN;
}

static int on_port_reply(repl_hs_t *hs, const char *line, size_t len)
{
    if (line[0] == '-')
        NOTE(hs, "(Non critical) Master does not understand REPLCONF listening-port: %.*s",
             (int)(len > 128 ? 128 : len), line);
    hs->state = hs->send_ip ? REPL_STATE_RECEIVE_IP_REPLY : REPL_STATE_RECEIVE_CAPA_REPLY;
    return REPL_HS_AGAIN;
}

static int on_ip_reply(repl_hs_t *hs, const char *line, size_t len)
{
    if (line[0] == '-')
        NOTE(hs, "(Non critical) Master does not understand REPLCONF ip-address: %.*s",
             (int)(len > 128 ? 128 : len), line);
    hs->state = REPL_STATE_RECEIVE_CAPA_REPLY;
    return REPL_HS_AGAIN;
}

static int on_capa_reply(repl_hs_t *hs, const char *line, size_t len)
{
    if (line[0] == '-')
        NOTE(hs, "(Non critical) Master does not understand REPLCONF capa: %.*s",
             (int)(len > 128 ? 128 : len), line);
    char off[24];
    snprintf(off, sizeof(off), "%lld", hs->psync_offset);
    buf_cmd(&hs->out, 3, (const char *const[]){"PSYNC", hs->psync_replid, off});
    if (hs->psync_replid[0] != '?')
        NOTE(hs, "Trying a partial resynchronization (request %s:%s).", hs->psync_replid, off);
    else
        NOTE(hs, "Partial resynchronization not possible (no cached master)");
    hs->state = REPL_STATE_RECEIVE_PSYNC_REPLY;
    return REPL_HS_AGAIN;
}

static int is_id(const char *p, size_t n)
{
    if (n != REPL_ID_LEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'z') ||
              (p[i] >= 'A' && p[i] <= 'Z')))
            return 0;
    return 1;
}

static int on_psync_reply(repl_hs_t *hs, const char *line, size_t len)
{
    if (len == 0)
        return REPL_HS_AGAIN; /* the master's keepalive newline */
    if (len >= 11 && memcmp(line, "+FULLRESYNC", 11) == 0) {
        const char *id = memchr(line, ' ', len);
        const char *off = id ? memchr(id + 1, ' ', len - (size_t)(id + 1 - line)) : NULL;
        long long o;
        if (id == NULL || off == NULL || !is_id(id + 1, (size_t)(off - id - 1)) ||
            !str_to_ll(off + 1, len - (size_t)(off + 1 - line), &o))
            return FAIL(hs, "Master replied with wrong +FULLRESYNC syntax.");
        memcpy(hs->master_replid, id + 1, REPL_ID_LEN);
        hs->master_replid[REPL_ID_LEN] = '\0';
        hs->master_offset = o;
        hs->state = REPL_STATE_TRANSFER;
        clear_attempt(hs);
        return REPL_HS_FULL;
    }
    if (len >= 9 && memcmp(line, "+CONTINUE", 9) == 0) {
        if (len >= 10 + REPL_ID_LEN && is_id(line + 10, len - 10)) {
            memcpy(hs->master_replid, line + 10, REPL_ID_LEN);
        } else if (hs->psync_replid[0] != '?') {
            memcpy(hs->master_replid, hs->psync_replid, REPL_ID_LEN);
        } else {
            return FAIL(hs, "Master accepted a partial resynchronization we did not ask for");
        }
        hs->master_replid[REPL_ID_LEN] = '\0';
        hs->state = REPL_STATE_CONNECTED;
        return REPL_HS_PARTIAL;
    }
    if ((len >= 13 && memcmp(line, "-NOMASTERLINK", 13) == 0) ||
        (len >= 8 && memcmp(line, "-LOADING", 8) == 0))
        return FAIL(hs, "Master is currently unable to PSYNC but should be in the future: %.*s",
                    (int)(len > 128 ? 128 : len), line);
    return FAIL(hs, "Unexpected reply to PSYNC from master: %.*s", (int)(len > 128 ? 128 : len),
                line);
}

static int on_bulk_header(repl_hs_t *hs, const char *line, size_t len)
{
    if (len == 0)
        return REPL_HS_AGAIN; /* a newline works as a ping before the payload */
    if (line[0] == '-')
        return FAIL(hs, "MASTER aborted replication with an error: %.*s",
                    (int)(len > 128 ? 128 : len), line);
    if (line[0] != '$')
        return FAIL(hs,
                    "Bad protocol from MASTER, the first byte is not '$' (we received '%.*s'), "
                    "are you sure the host and port are right?",
                    (int)(len > 64 ? 64 : len), line);
    if (len == 5 + REPL_EOF_MARK_LEN && memcmp(line, "$EOF:", 5) == 0) {
        memcpy(hs->eofmark, line + 5, REPL_EOF_MARK_LEN);
        hs->xfer_eof = 1;
        hs->xfer_size = -1;
    } else {
        long long n;
        if (!str_to_ll(line + 1, len - 1, &n) || n < 0)
            return FAIL(hs, "Bad bulk length from MASTER: %.*s", (int)(len > 64 ? 64 : len), line);
        hs->xfer_eof = 0;
        hs->xfer_size = n;
    }
    hs->xfer_hdr = 1;
    hs->xfer_read = 0;
    return REPL_HS_PAYLOAD;
}

typedef int (*on_line_fn)(repl_hs_t *hs, const char *line, size_t len);

/* Transition table: the handler of a reply line in each state (NULL: none expected). */
static const on_line_fn on_line_fns[REPL_STATE_COUNT] = {
    [REPL_STATE_RECEIVE_PING_REPLY] = on_ping_reply,
    [REPL_STATE_RECEIVE_AUTH_REPLY] = on_auth_reply,
    [REPL_STATE_RECEIVE_PORT_REPLY] = on_port_reply,
    [REPL_STATE_RECEIVE_IP_REPLY] = on_ip_reply,
    [REPL_STATE_RECEIVE_CAPA_REPLY] = on_capa_reply,
    [REPL_STATE_RECEIVE_PSYNC_REPLY] = on_psync_reply,
    [REPL_STATE_TRANSFER] = on_bulk_header,
};

int repl_hs_on_line(repl_hs_t *hs, const char *line, size_t len, uint64_t now_ms)
{
    hs->note[0] = '\0';
    on_line_fn fn = on_line_fns[hs->state];
    if (fn == NULL || (hs->state == REPL_STATE_TRANSFER && hs->xfer_hdr))
        return FAIL(hs, "Unexpected line from MASTER in state %d", hs->state);
    hs->last_io_ms = now_ms;
    int rc = fn(hs, line, len);
    if (rc == REPL_HS_RETRY)
        repl_hs_fail(hs);
    HS_VALIDATE(hs);
    return rc;
}

/* ---- payload ------------------------------------------------------------------------ */

/* Keep the last REPL_EOF_MARK_LEN bytes seen, to spot the mark at the end. */
static void remember_tail(repl_hs_t *hs, const char *p, size_t n)
{
    const size_t m = REPL_EOF_MARK_LEN;
    if (n >= m) {
        memcpy(hs->lastbytes, p + n - m, m);
    } else {
        memmove(hs->lastbytes, hs->lastbytes + n, m - n);
        memcpy(hs->lastbytes + m - n, p, n);
    }
}

int repl_hs_xfer_feed(repl_hs_t *hs, const void *p, size_t n, size_t *used, uint64_t now_ms)
{
    if (n > 0)
        hs->last_io_ms = now_ms;
    if (!hs->xfer_eof) {
        long long left = hs->xfer_size - hs->xfer_read;
        *used = (long long)n < left ? n : (size_t)left;
        hs->xfer_read += (long long)*used;
        return hs->xfer_read == hs->xfer_size;
    }
    *used = n;
    hs->xfer_read += (long long)n;
    remember_tail(hs, p, n);
    return hs->xfer_read >= REPL_EOF_MARK_LEN &&
           memcmp(hs->lastbytes, hs->eofmark, REPL_EOF_MARK_LEN) == 0;
}

long long repl_hs_rdb_len(const repl_hs_t *hs)
{
    return hs->xfer_eof ? hs->xfer_read - REPL_EOF_MARK_LEN : hs->xfer_read;
}

void repl_hs_synced(repl_hs_t *hs, uint64_t now_ms)
{
    clear_attempt(hs);
    hs->state = REPL_STATE_CONNECTED;
    hs->last_io_ms = now_ms;
    HS_VALIDATE(hs);
}

int repl_hs_in_handshake(const repl_hs_t *hs)
{
    return hs->state >= REPL_STATE_RECEIVE_PING_REPLY &&
           hs->state <= REPL_STATE_RECEIVE_PSYNC_REPLY;
}

int repl_hs_timed_out(const repl_hs_t *hs, uint64_t now_ms, uint64_t timeout_ms)
{
    int waiting = hs->state == REPL_STATE_CONNECTING || repl_hs_in_handshake(hs) ||
                  hs->state == REPL_STATE_TRANSFER;
    return waiting && now_ms > hs->last_io_ms && now_ms - hs->last_io_ms > timeout_ms;
}

const char *repl_hs_role_state(const repl_hs_t *hs)
{
    if (repl_hs_in_handshake(hs))
        return "handshake";
    switch (hs->state) {
    case REPL_STATE_NONE:
        return "none";
    case REPL_STATE_CONNECT:
        return "connect";
    case REPL_STATE_CONNECTING:
        return "connecting";
    case REPL_STATE_TRANSFER:
        return "sync";
    case REPL_STATE_CONNECTED:
        return "connected";
    default:
        return "unknown";
    }
}

int repl_hs_check(const repl_hs_t *hs)
{
    char *err = ((repl_hs_t *)hs)->err;
    if (hs->state < 0 || hs->state >= REPL_STATE_COUNT)
        return snprintf(err, sizeof(hs->err), "bad state %d", hs->state), -1;
    if ((hs->state == REPL_STATE_NONE || hs->state == REPL_STATE_CONNECT) &&
        (hs->out.len != 0 || hs->xfer_hdr))
        return snprintf(err, sizeof(hs->err), "idle state with pending work"), -1;
    if ((hs->state == REPL_STATE_TRANSFER || hs->state == REPL_STATE_CONNECTED) &&
        strlen(hs->master_replid) != REPL_ID_LEN)
        return snprintf(err, sizeof(hs->err), "no master replid in state %d", hs->state), -1;
    if (hs->state == REPL_STATE_TRANSFER && hs->xfer_hdr && !hs->xfer_eof &&
        (hs->xfer_size < 0 || hs->xfer_read > hs->xfer_size))
        return snprintf(err, sizeof(hs->err), "payload accounting broken"), -1;
    return 0;
}
