/*
 * client.h — one connection: its socket handle, query buffer, parser, reply
 * buffer, and the session the command room sees.
 *
 * Owns: the read path (bytes land straight in the query buffer's free tail),
 * request parsing and execution (all complete requests of a read are run before
 * returning to the loop), reply flushing (uv_try_write first, then at most one
 * uv_write in flight whose bytes never move), limits, and closing.
 *
 * Lifecycle: client_new (on accept) → reading/executing/flushing → client_close_async
 * (queued) → reaped in before_sleep: uv_close → client freed in its close
 * callback. A client is never freed inside its own callback chain.
 */
#ifndef TESSERA_CLIENT_H
#define TESSERA_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "../cmd/cmd.h"
#include "../proto/reply.h"
#include "../proto/resp.h"

struct server_s;

enum {
    CLI_QUEUED_WRITE = 1u << 0, /* on srv->pending */
    CLI_CLOSING = 1u << 1,      /* on srv->closing, no more reads or commands */
    CLI_HANDLE_CLOSED = 1u << 2,
    CLI_WRITING = 1u << 3,      /* a uv_write is in flight */
    CLI_UNIX = 1u << 4,
    CLI_READING = 1u << 5,
    CLI_EXECUTING = 1u << 6,
    CLI_PAUSED = 1u << 7,       /* a write waits for the end of a write pause */
};

typedef struct client_s {
    union {
        uv_tcp_t tcp;
        uv_pipe_t pipe;
        uv_stream_t stream;
        uv_handle_t handle;
    } h;
    struct server_s *srv;
    uint32_t flags; /* CLI_* */
    session_t sess;

    /* query buffer: [0, qpos) consumed, [qpos, qlen) unparsed, [qlen, qcap) free */
    char *qbuf;
    size_t qpos, qlen, qcap;
    size_t qpeak; /* peak unparsed bytes since the last cron check */
    resp_parser_t parser;

    reply_t reply;
    uv_write_t wreq;
    size_t inflight; /* bytes handed to the in-flight uv_write */
    uint64_t obuf_soft_since_ms; /* when the soft output limit was first exceeded, 0 if not */

    /* list links */
    struct client_s *prev, *next;         /* srv->clients */
    struct client_s *qprev, *qnext;       /* srv->pending or srv->closing */
    struct client_s *mon_prev, *mon_next; /* srv->monitors */

    const char *close_reason;
    char addr[64];  /* peer "ip:port" */
    char laddr[64]; /* local "ip:port" */
    int fd;
} client_t;

/* Accept one connection from a listening stream; 0 or -1. */
int client_accept(struct server_s *srv, uv_stream_t *listener, int is_unix);
/* Ask for the client to be closed after what it has queued is flushed (QUIT)
 * or right away (reason logged at verbose level). Safe from any callback. */
void client_close_async(client_t *c, const char *reason);
/* before_sleep: write queued output; returns clients flushed. */
void client_flush(client_t *c);
/* before_sleep: close and unlink a client whose close was requested. */
void client_reap(client_t *c);
/* The CLIENT LIST line. */
size_t client_line(const client_t *c, char *buf, size_t cap, uint64_t now_ms);
/* Run what is left in the query buffer (after a client was unblocked). */
void client_resume(client_t *c);
/* Output buffer limits; closes the client and returns 1 when exceeded. */
int client_check_obuf(client_t *c, uint64_t now_ms);
/* Check idle timeout and buffer limits from cron. */
void client_cron(client_t *c, uint64_t now_ms);
/* Recover the client from its session. */
static inline client_t *client_of(const session_t *s) { return (client_t *)s->net; }

#endif
