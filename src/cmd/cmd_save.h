/*
 * cmd_save.h — RDB snapshot commands (SAVE, BGSAVE; LASTSAVE stays in
 * cmd_server.c) and the helpers other rooms use to take a snapshot with the
 * configured options: the loop glue (server_rdb.c), FLUSHALL, DEBUG RELOAD.
 *
 * Must not: encode RDB or fork itself (persist/rdb_save.h does).
 */
#ifndef TESSERA_CMD_SAVE_H
#define TESSERA_CMD_SAVE_H

#include <stdint.h>

#include "../persist/rdb_save.h"
#include "cmd.h"

/* rdbcompression, rdbchecksum, rdb-save-incremental-fsync and the keyspace's
 * LRU/LFU policy as rdb_file_opts_t, at now_ms. */
void save_file_opts(const cmd_env_t *env, uint64_t now_ms, rdb_file_opts_t *o);

/* 1 while another fork child (an AOF rewrite) runs: no BGSAVE then. */
int save_other_child_active(void);

/*
 * What Redis 7.0's FLUSHALL does for RDB after emptying the keyspace: kill a
 * BGSAVE child, and when save points are configured save the (empty)
 * dataset at once (the change counter is kept: FLUSHALL still propagates).
 * FLUSHALL's handler calls it after emptying the keyspace.
 */
void save_after_flushall(cmd_env_t *env);

/*
 * DEBUG RELOAD: save dbfilename, empty the keyspace, load the file back.
 * 0, or -1 with *err = Redis's text ("Error trying to save the DB" /
 * "Error trying to load the RDB dump, check server logs."), without "ERR ".
 */
int save_debug_reload(cmd_env_t *env, const char **err);

#endif
