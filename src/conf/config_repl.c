/*
 * config_repl.c — the "replicaof" directive (alias "slaveof"): two arguments,
 * "<host> <port>" or "no one", read from redis.conf / the command line only
 * (CONFIG SET refuses it as immutable, as Redis 7.0 does; REPLICAOF is the
 * runtime door and keeps the fields current so CONFIG GET and CONFIG
 * REWRITE report the master we replicate from).
 *
 * Owns: parsing, CONFIG GET text ("host port", or "" when not a replica) and
 * the rewrite line ("replicaof host port"; none in cluster mode).
 * Must not: start replication (the replication room reads the fields at start).
 * Invariant: replicaof_host == NULL iff not a replica; a failed set changes nothing.
 */
#include "config_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../lib/mem.h"

static void replicaof_init(config_t *c)
{
    c->replicaof_host = NULL;
    c->replicaof_port = 0;
}

static void replicaof_deinit(config_t *c)
{
    mem_free(c->replicaof_host);
    c->replicaof_host = NULL;
}

static int replicaof_set(config_t *c, conf_setctx_t *ctx, int argc, char **argv, const char **err)
{
    (void)ctx;
    if (argc != 2) {
        *err = "wrong number of arguments";
        return 0;
    }
    if (strcasecmp(argv[0], "no") == 0 && strcasecmp(argv[1], "one") == 0) {
        replicaof_deinit(c);
        c->replicaof_port = 0;
        return 1;
    }
    char *end;
    long port = strtol(argv[1], &end, 10);
    if (argv[1][0] == '\0' || *end != '\0' || port < 0 || port > 65535) {
        *err = "Invalid master port";
        return 0;
    }
    mem_free(c->replicaof_host);
    c->replicaof_host = mem_strdup(argv[0]);
    c->replicaof_port = (int)port;
    return 1;
}

static void replicaof_get(const config_t *c, conf_buf_t *out)
{
    if (c->replicaof_host != NULL)
        conf_buf_printf(out, "%s %d", c->replicaof_host, c->replicaof_port);
}

static void replicaof_rewrite(const config_t *c, const conf_row_t *row, conf_rw_t *rw)
{
    if (c->cluster_enabled || c->replicaof_host == NULL) {
        conf_rw_mark(rw, row);
        return;
    }
    conf_buf_t b = {0};
    conf_buf_printf(&b, "replicaof %s %d", c->replicaof_host, c->replicaof_port);
    conf_rw_line(rw, row, b.p, 1);
}

const conf_special_t conf_special_replicaof = {
    .init = replicaof_init,
    .deinit = replicaof_deinit,
    .set = replicaof_set,
    .get = replicaof_get,
    .rewrite = replicaof_rewrite,
};
