/*
 * monitor.c — MONITOR: every executed command, formatted like Redis
 * (+<unix time with µs> [<db> <addr>] "arg" "arg"), queued to each monitor.
 *
 * Must not: feed a monitor its own commands twice, or allocate per argument.
 */
#include <stdio.h>

#include "../lib/mem.h"
#include "../lib/util.h"
#include "../server.h"
#include "client.h"

/* Append a quoted, escaped copy of p (like Redis's repr) to r's raw stream. */
static void monitor_repr(reply_t *r, const char *p, size_t n)
{
    char buf[256];
    size_t k = 0;
    buf[k++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (k > sizeof(buf) - 8) {
            reply_raw(r, buf, k);
            k = 0;
        }
        unsigned char ch = (unsigned char)p[i];
        switch (ch) {
        case '\\': case '"': buf[k++] = '\\'; buf[k++] = (char)ch; break;
        case '\n': buf[k++] = '\\'; buf[k++] = 'n'; break;
        case '\r': buf[k++] = '\\'; buf[k++] = 'r'; break;
        case '\t': buf[k++] = '\\'; buf[k++] = 't'; break;
        case '\a': buf[k++] = '\\'; buf[k++] = 'a'; break;
        case '\b': buf[k++] = '\\'; buf[k++] = 'b'; break;
        default:
            if (ch >= 32 && ch < 127)
                buf[k++] = (char)ch;
            else
                k += (size_t)snprintf(buf + k, sizeof(buf) - k, "\\x%02x", ch);
        }
    }
    buf[k++] = '"';
    reply_raw(r, buf, k);
}

void monitor_feed(server_t *srv, const session_t *s, int argc, const slice_t *argv)
{
    uint64_t us = time_us();
    char head[160];
    int n = snprintf(head, sizeof(head), "+%llu.%06llu [%d %s]", (unsigned long long)(us / 1000000),
                     (unsigned long long)(us % 1000000), s->db,
                     (s->flags & SESS_UNIX) ? "unix:0" : client_of(s)->addr);
    for (client_t *m = srv->monitors.head; m != NULL; m = m->mon_next) {
        if (m->flags & CLI_CLOSING)
            continue;
        reply_raw(&m->reply, head, (size_t)n);
        for (int i = 0; i < argc; i++) {
            reply_raw(&m->reply, " ", 1);
            monitor_repr(&m->reply, argv[i].p, argv[i].len);
        }
        reply_raw(&m->reply, "\r\n", 2);
        server_queue_write(srv, m);
    }
}

void monitor_add(server_t *srv, client_t *c)
{
    if (c->sess.flags & SESS_MONITOR)
        return;
    c->sess.flags |= SESS_MONITOR;
    c->mon_next = NULL;
    c->mon_prev = srv->monitors.tail;
    if (srv->monitors.tail)
        srv->monitors.tail->mon_next = c;
    else
        srv->monitors.head = c;
    srv->monitors.tail = c;
    srv->monitors.count++;
}
