/*
 * server_persist.c — glue between the loop and persistence (AOF now; RDB and
 * replication feed later): start-up loading, the AOF step of before_sleep,
 * the persistence part of cron, shutdown flushing, and the propagation feed
 * of executed write commands.
 *
 * Must not: parse or encode file formats itself (src/persist/ does); block the
 * loop on fsync except where appendfsync always demands it.
 */
#include "server.h"

/* Before listening: load the AOF (or start the incremental loader). 0 or -1. */
int server_persist_init(server_t *srv)
{
    (void)srv;
    return 0;
}

/* before_sleep step 3: write the AOF buffer, fsync when appendfsync always. */
void server_persist_before_sleep(server_t *srv) { (void)srv; }

/* cron: everysec fsync scheduling, rewrite triggers, child reaping. */
void server_persist_cron(server_t *srv, uint64_t now_ms)
{
    (void)srv;
    (void)now_ms;
}

/* Shutdown: flush and fsync what is buffered. Returns 0 or -1 (refuse). */
int server_persist_shutdown(server_t *srv, int flags)
{
    (void)srv;
    (void)flags;
    return 0;
}

/* A write command ran in db: feed it to the AOF (and later the replicas). */
void server_propagate(server_t *srv, int db, int argc, const slice_t *argv)
{
    (void)srv;
    (void)db;
    (void)argc;
    (void)argv;
}
