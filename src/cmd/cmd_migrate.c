/*
 * cmd_migrate.c — MIGRATE host port key|"" destination-db timeout [COPY]
 * [REPLACE] [AUTH password] [AUTH2 username password] [KEYS key ...] with
 * Redis 7.0's semantics, and the cache of connections to target instances.
 *
 * Owns: the option parsing and its error order, the synchronous transfer (a
 * blocking exchange bounded by the timeout, as Redis does: the loop waits),
 * the pipelined AUTH/AUTH2, SELECT and RESTORE (RESTORE-ASKING in cluster mode)
 * requests, the reading of their replies, the deletion of the acknowledged
 * source keys (unless COPY) and their propagation as one DEL, the single retry
 * on a stale cached connection, and Redis's replies (+OK, +NOKEY, -IOERR ...,
 * "Target instance replied with error: ...").
 * Must not: use libuv or the client's socket (the target connections are plain
 * blocking-with-poll sockets owned here), encode values itself (persist/rdb.h
 * makes the DUMP payload), keep more than MIGRATE_CACHE_MAX connections.
 * Invariants: a cached connection's last_db is the target db its session has
 * selected, or -1 when unknown (new link, or after an error reply); a
 * connection that saw a socket error is closed and leaves the cache at once;
 * idle connections (MIGRATE_IDLE_MS without use) are closed on the next
 * MIGRATE (no cron is needed).
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../conf/config.h"
#include "../ks/db.h"
#include "../lib/mem.h"
#include "../lib/util.h"
#include "../persist/rdb.h"
#include "cmd_hooks.h"

#define MIGRATE_CACHE_MAX 64  /* cached target connections (Redis: 64) */
#define MIGRATE_IDLE_MS 10000 /* an idle cached connection is closed after this */
#define MIGRATE_LINE_MAX 1024 /* a reply line is kept up to this size */
#define MIGRATE_CHUNK (64 * 1024)
#define MIGRATE_DEFAULT_TIMEOUT 1000

typedef struct migrate_conn_s {
    char *name;  /* "host:port" as given to MIGRATE */
    int fd;      /* non-blocking socket */
    int last_db; /* db selected on the target, -1 unknown */
    uint64_t last_use_ms;
    size_t rpos, rlen; /* unread reply bytes in rbuf */
    unsigned char rbuf[4096];
} migrate_conn_t;

static migrate_conn_t *cache[MIGRATE_CACHE_MAX];
static int cache_len;

typedef struct migrate_args_s {
    int copy, replace;
    int has_pass, has_user;
    slice_t user, pass;
    int first_key, num_keys;
    long long timeout, db;
} migrate_args_t;

/* The I/O outcome of one attempt. */
typedef struct migrate_io_s {
    int timed_out;
    int write_error;
} migrate_io_t;

enum { MIG_DONE = 0, MIG_SOCKERR, MIG_SOCKERR_FINAL };

/* ---- blocking I/O bounded by deadlines ---------------------------------------------- */

static uint64_t mono_ms(void)
{
    return time_mono_us() / 1000;
}

/* Wait for events on fd until deadline; 0 ready, -1 error or timeout. */
static int io_wait(int fd, short events, uint64_t deadline, migrate_io_t *io)
{
    for (;;) {
        uint64_t now = mono_ms();
        if (now >= deadline) {
            io->timed_out = 1;
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int rc = poll(&p, 1, (int)(deadline - now));
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

/* Connect one address within the deadline; the socket or -1. */
static int io_connect_addr(const struct addrinfo *ai, uint64_t deadline, migrate_io_t *io)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -1;
    /* Like Redis, only a synchronous failure or the timeout count as a failed
     * connect: a refused connection shows up as a write error afterwards. */
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
        (errno != EINPROGRESS || io_wait(fd, POLLOUT, deadline, io) != 0)) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Resolve host and connect to port within timeout_ms; the socket or -1. */
static int io_connect(const char *host, int port, long long timeout_ms)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    char portz[16];
    snprintf(portz, sizeof(portz), "%d", port);
    if (getaddrinfo(host, portz, &hints, &res) != 0)
        return -1;
    uint64_t deadline = mono_ms() + (uint64_t)timeout_ms;
    migrate_io_t io = {0};
    int fd = -1;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0 && !io.timed_out; ai = ai->ai_next)
        fd = io_connect_addr(ai, deadline, &io);
    freeaddrinfo(res);
    return fd;
}

/* Write all n bytes, each 64 KB chunk within timeout_ms. 0 or -1. */
static int io_write_all(int fd, const unsigned char *p, size_t n, long long timeout_ms,
                        migrate_io_t *io)
{
    size_t done = 0;
    while (done < n) {
        size_t chunk_end = done + (n - done > MIGRATE_CHUNK ? MIGRATE_CHUNK : n - done);
        uint64_t deadline = mono_ms() + (uint64_t)timeout_ms;
        while (done < chunk_end) {
            ssize_t w = send(fd, p + done, chunk_end - done, MSG_NOSIGNAL);
            if (w > 0)
                done += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                return -1;
            else if (w < 0 && errno != EINTR && io_wait(fd, POLLOUT, deadline, io) != 0)
                return -1;
        }
    }
    return 0;
}

/* One byte of reply; 1, or -1 on error, end of stream or the deadline. */
static int io_getc(migrate_conn_t *c, uint64_t deadline, migrate_io_t *io, unsigned char *ch)
{
    while (c->rpos == c->rlen) {
        ssize_t r = recv(c->fd, c->rbuf, sizeof(c->rbuf), 0);
        if (r > 0) {
            c->rpos = 0;
            c->rlen = (size_t)r;
        } else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            return -1;
        } else if (errno != EINTR && io_wait(c->fd, POLLIN, deadline, io) != 0) {
            return -1;
        }
    }
    *ch = c->rbuf[c->rpos++];
    return 1;
}

/* Read one reply line (without CRLF, truncated to cap-1 bytes, NUL-terminated)
 * within timeout_ms. Its length (> 0), or -1 (error, timeout or empty line). */
static int io_read_line(migrate_conn_t *c, char *out, size_t cap, long long timeout_ms,
                        migrate_io_t *io)
{
    uint64_t deadline = mono_ms() + (uint64_t)timeout_ms;
    size_t n = 0;
    unsigned char ch;
    for (;;) {
        if (io_getc(c, deadline, io, &ch) < 0)
            return -1;
        if (ch == '\n')
            break;
        if (n + 1 < cap)
            out[n++] = (char)ch;
    }
    if (n > 0 && out[n - 1] == '\r')
        n--;
    out[n] = '\0';
    return n > 0 ? (int)n : -1;
}

/* ---- the connection cache ------------------------------------------------------------- */

static void cache_remove_at(int i)
{
    migrate_conn_t *c = cache[i];
    close(c->fd);
    mem_free(c->name);
    mem_free(c);
    cache[i] = cache[--cache_len];
}

/* Close the connections idle for longer than MIGRATE_IDLE_MS. */
static void cache_sweep(uint64_t now_ms)
{
    for (int i = 0; i < cache_len;) {
        if (now_ms > cache[i]->last_use_ms + MIGRATE_IDLE_MS)
            cache_remove_at(i);
        else
            i++;
    }
}

static void cache_close(migrate_conn_t *c)
{
    for (int i = 0; i < cache_len; i++)
        if (cache[i] == c) {
            cache_remove_at(i);
            return;
        }
}

/* The cached connection to host:port, opened if needed. NULL after the
 * IOERR reply when the target can't be reached. */
static migrate_conn_t *cache_get(cmd_ctx_t *ctx, long long timeout_ms)
{
    slice_t host = ctx->argv[1], port = ctx->argv[2];
    uint64_t now = ctx->env->now_ms;
    char *name = mem_alloc(host.len + port.len + 2);
    memcpy(name, host.p, host.len);
    name[host.len] = ':';
    memcpy(name + host.len + 1, port.p, port.len);
    name[host.len + port.len + 1] = '\0';
    cache_sweep(now);
    for (int i = 0; i < cache_len; i++)
        if (strcmp(cache[i]->name, name) == 0) {
            mem_free(name);
            cache[i]->last_use_ms = now;
            return cache[i];
        }
    if (cache_len == MIGRATE_CACHE_MAX)
        cache_remove_at((int)(rng_next() % MIGRATE_CACHE_MAX));
    char *hostz = mem_strndup(host.p, host.len), *portz = mem_strndup(port.p, port.len);
    int fd = io_connect(hostz, atoi(portz), timeout_ms);
    mem_free(hostz);
    mem_free(portz);
    if (fd < 0) {
        mem_free(name);
        reply_error(ctx->r, "IOERR error or timeout connecting to the client");
        return NULL;
    }
    migrate_conn_t *c = mem_calloc(sizeof(*c));
    *c = (migrate_conn_t){.name = name, .fd = fd, .last_db = -1, .last_use_ms = now};
    cache[cache_len++] = c;
    return c;
}

/* ---- the request buffer ------------------------------------------------------------------ */

typedef struct migrate_buf_s {
    unsigned char *p;
    size_t len, cap;
} migrate_buf_t;

static void buf_put(migrate_buf_t *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 256;
        b->p = mem_realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void buf_hdr(migrate_buf_t *b, char type, long long n)
{
    char tmp[LL_STR_MAX + 3];
    tmp[0] = type;
    size_t l = 1 + ll_to_str(tmp + 1, n);
    tmp[l++] = '\r';
    tmp[l++] = '\n';
    buf_put(b, tmp, l);
}

static void buf_bulk(migrate_buf_t *b, const void *p, size_t n)
{
    buf_hdr(b, '$', (long long)n);
    buf_put(b, p, n);
    buf_put(b, "\r\n", 2);
}

static void buf_bulk_ll(migrate_buf_t *b, long long v)
{
    char tmp[LL_STR_MAX];
    buf_bulk(b, tmp, ll_to_str(tmp, v));
}

/* One RESTORE (RESTORE-ASKING in cluster mode) for kv with a relative TTL. */
static void buf_restore(cmd_ctx_t *ctx, migrate_buf_t *b, const migrate_args_t *a, const kv_t *kv,
                        long long ttl)
{
    buf_hdr(b, '*', a->replace ? 5 : 4);
    if (ctx->env->cluster_mode)
        buf_bulk(b, "RESTORE-ASKING", 14);
    else
        buf_bulk(b, "RESTORE", 7);
    slice_t key = kv_key(kv);
    buf_bulk(b, key.p, key.len);
    buf_bulk_ll(b, ttl);
    size_t plen;
    unsigned char *payload = rdb_dump_payload(kv, ctx->env->cfg->rdbcompression, &plen);
    buf_bulk(b, payload, plen);
    mem_free(payload);
    if (a->replace)
        buf_bulk(b, "REPLACE", 7);
}

/* AUTH/AUTH2 and SELECT as needed, then the RESTOREs of the keys still alive
 * (keys[] is compacted to them; *n updated). Returns whether SELECT was sent. */
static int build_request(cmd_ctx_t *ctx, const migrate_args_t *a, const migrate_conn_t *c,
                         slice_t *keys, int *n, migrate_buf_t *b)
{
    if (a->has_pass) {
        buf_hdr(b, '*', a->has_user ? 3 : 2);
        buf_bulk(b, "AUTH", 4);
        if (a->has_user)
            buf_bulk(b, a->user.p, a->user.len);
        buf_bulk(b, a->pass.p, a->pass.len);
    }
    int select = c->last_db != a->db;
    if (select) {
        buf_hdr(b, '*', 2);
        buf_bulk(b, "SELECT", 6);
        buf_bulk_ll(b, a->db);
    }
    db_t *db = ks_db(ctx->env->ks, ctx->s->db);
    long long now = (long long)ctx->env->now_ms;
    int alive = 0;
    for (int j = 0; j < *n; j++) {
        kv_t *kv = db_find(db, keys[j]);
        if (kv == NULL)
            continue;
        long long when = kv_expire(kv), ttl = 0;
        if (when != -1) {
            ttl = when - now;
            if (ttl < 0)
                continue;
            if (ttl < 1)
                ttl = 1;
        }
        keys[alive++] = keys[j];
        buf_restore(ctx, b, a, kv, ttl);
    }
    *n = alive;
    return select;
}

/* ---- one attempt -------------------------------------------------------------------------- */

/* The moved keys go to replicas and the AOF as one DEL. */
static void propagate_moved(cmd_ctx_t *ctx, const slice_t *moved, int n)
{
    if (n == 0)
        return;
    slice_t *v = mem_alloc(sizeof(slice_t) * (size_t)(n + 1));
    v[0] = SLICE_LIT("DEL");
    memcpy(v + 1, moved, sizeof(slice_t) * (size_t)n);
    cmd_propagate(ctx->env, ctx->s->db, n + 1, v);
    mem_free(v);
    cmd_dirty(ctx, n);
}

/* Read the preamble replies (AUTH, SELECT); 0 or -1 on a socket error. */
static int read_preamble(migrate_conn_t *c, const migrate_args_t *a, int select, char *l0, char *l1,
                         migrate_io_t *io)
{
    l0[0] = l1[0] = '\0';
    if (a->has_pass && io_read_line(c, l0, MIGRATE_LINE_MAX, a->timeout, io) < 0)
        return -1;
    if (select && io_read_line(c, l1, MIGRATE_LINE_MAX, a->timeout, io) < 0)
        return -1;
    return 0;
}

/* Read the RESTORE replies, delete what the target acknowledged (unless
 * COPY), reply on the first error. Returns MIG_DONE / MIG_SOCKERR(_FINAL). */
static int read_restores(cmd_ctx_t *ctx, const migrate_args_t *a, migrate_conn_t *c, slice_t *keys,
                         int n, const char *l0, const char *l1, migrate_io_t *io)
{
    char line[MIGRATE_LINE_MAX];
    db_t *db = ks_db(ctx->env->ks, ctx->s->db);
    int target_err = 0, sock_err = 0, moved = 0, j;
    for (j = 0; j < n; j++) {
        if (io_read_line(c, line, sizeof(line), a->timeout, io) < 0) {
            sock_err = 1;
            break;
        }
        const char *err = l0[0] == '-' ? l0 : l1[0] == '-' ? l1 : line[0] == '-' ? line : NULL;
        if (err != NULL) {
            if (!target_err) {
                c->last_db = -1;
                target_err = 1;
                reply_errorf(ctx->r, "ERR Target instance replied with error: %s", err + 1);
            }
        } else if (!a->copy) {
            db_delete(db, keys[j]);
            keys[moved++] = keys[j];
        }
    }
    if (!target_err && sock_err && j == 0 && !io->timed_out) {
        cache_close(c);
        return MIG_SOCKERR;
    }
    if (sock_err)
        cache_close(c);
    propagate_moved(ctx, keys, moved);
    if (!target_err && sock_err)
        return MIG_SOCKERR_FINAL;
    if (!target_err) {
        c->last_db = (int)a->db;
        reply_ok(ctx->r);
    }
    return MIG_DONE;
}

static int migrate_once(cmd_ctx_t *ctx, const migrate_args_t *a, migrate_conn_t *c, slice_t *keys,
                        int n, migrate_io_t *io)
{
    migrate_buf_t b = {0};
    int select = build_request(ctx, a, c, keys, &n, &b);
    int rc = io_write_all(c->fd, b.p, b.len, a->timeout, io);
    mem_free(b.p);
    if (rc != 0) {
        io->write_error = 1;
        cache_close(c);
        return MIG_SOCKERR;
    }
    char l0[MIGRATE_LINE_MAX], l1[MIGRATE_LINE_MAX];
    if (read_preamble(c, a, select, l0, l1, io) != 0) {
        cache_close(c);
        return MIG_SOCKERR;
    }
    return read_restores(ctx, a, c, keys, n, l0, l1, io);
}

/* Transfer with one retry on a socket error that is not a timeout (the
 * cached connection had been closed by the target, typically). */
static void migrate_run(cmd_ctx_t *ctx, const migrate_args_t *a, slice_t *keys, int n)
{
    int may_retry = 1;
    for (;;) {
        migrate_conn_t *c = cache_get(ctx, a->timeout);
        if (c == NULL)
            return;
        migrate_io_t io = {0};
        int rc = migrate_once(ctx, a, c, keys, n, &io);
        if (rc == MIG_DONE)
            return;
        if (rc == MIG_SOCKERR && !io.timed_out && may_retry) {
            may_retry = 0;
            continue;
        }
        reply_errorf(ctx->r, "IOERR error or timeout %s to target instance",
                     io.write_error ? "writing" : "reading");
        return;
    }
}

/* ---- parsing and the command --------------------------------------------------------------- */

/* Options from argv[6] on, then timeout and db. 0, or -1 after the reply. */
static int migrate_parse(cmd_ctx_t *ctx, migrate_args_t *a)
{
    *a = (migrate_args_t){.first_key = 3, .num_keys = 1};
    for (int j = 6; j < ctx->argc; j++) {
        slice_t o = ctx->argv[j];
        int more = ctx->argc - j - 1;
        if (slice_eq_ci(o, "copy")) {
            a->copy = 1;
        } else if (slice_eq_ci(o, "replace")) {
            a->replace = 1;
        } else if (slice_eq_ci(o, "auth") && more >= 1) {
            a->has_pass = 1;
            a->pass = ctx->argv[++j];
        } else if (slice_eq_ci(o, "auth2") && more >= 2) {
            a->has_pass = a->has_user = 1;
            a->user = ctx->argv[++j];
            a->pass = ctx->argv[++j];
        } else if (slice_eq_ci(o, "keys")) {
            if (ctx->argv[3].len != 0) {
                reply_error(ctx->r, "ERR When using MIGRATE KEYS option, the key argument must "
                                    "be set to the empty string");
                return -1;
            }
            a->first_key = j + 1;
            a->num_keys = ctx->argc - j - 1;
            break;
        } else {
            reply_syntax_error(ctx->r);
            return -1;
        }
    }
    if (arg_ll(ctx, ctx->argv[5], &a->timeout) != 0 || arg_ll(ctx, ctx->argv[4], &a->db) != 0)
        return -1;
    if (a->timeout <= 0)
        a->timeout = MIGRATE_DEFAULT_TIMEOUT;
    return 0;
}

static void cmd_migrate(cmd_ctx_t *ctx)
{
    migrate_args_t a;
    if (migrate_parse(ctx, &a) != 0)
        return;
    db_t *db = ks_db(ctx->env->ks, ctx->s->db);
    slice_t *keys = mem_alloc(sizeof(slice_t) * (size_t)(a.num_keys > 0 ? a.num_keys : 1));
    int n = 0;
    for (int j = 0; j < a.num_keys; j++)
        if (db_lookup(db, ctx->argv[a.first_key + j], ctx->env->now_ms) != NULL)
            keys[n++] = ctx->argv[a.first_key + j];
    if (n == 0)
        reply_status(ctx->r, "NOKEY");
    else
        migrate_run(ctx, &a, keys, n);
    mem_free(keys);
}

/* COMMAND GETKEYS / routing: argv[3], or the keys after KEYS (skipping the
 * arguments of AUTH and AUTH2); none when KEYS comes with a non-empty key. */
static int migrate_getkeys(int argc, const slice_t *argv, int *keys, int max)
{
    int first = 3, num = 1;
    for (int i = 6; i < argc; i++) {
        if (slice_eq_ci(argv[i], "keys")) {
            if (argv[3].len > 0)
                return 0;
            first = i + 1;
            num = argc - first;
            break;
        }
        if (slice_eq_ci(argv[i], "auth"))
            i += 1;
        else if (slice_eq_ci(argv[i], "auth2"))
            i += 2;
    }
    int got = 0;
    for (int i = 0; i < num && got < max && first + i < argc; i++)
        keys[got++] = first + i;
    return got;
}

cmd_def_t cmd_table_migrate[] = {
    {.name = "migrate",
     .proc = cmd_migrate,
     .arity = -6,
     .flags = CMD_WRITE | CMD_MOVABLE_KEYS | CMD_NO_PROPAGATE_ARGV,
     .key = {3, 3, 1},
     .getkeys = migrate_getkeys},
    {0},
};
