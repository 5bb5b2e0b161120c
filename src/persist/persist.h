/*
 * persist.h — the persistence room's face to the command room and to INFO:
 * the process's AOF object (registered once by the loop room's glue,
 * server_persist.c) and the loading progress, plus the two server-level
 * entry points the lead asked for.
 *
 * Must not: include <uv.h> or server.h (the command room includes this).
 * Invariant: persist_aof() is NULL before server_persist_init() and the same
 * object afterwards (it exists whether appendonly is yes or no).
 */
#ifndef TESSERA_PERSIST_H
#define TESSERA_PERSIST_H

#include <stddef.h>
#include <stdint.h>

#include "aof.h"

struct server_s;

/* Registry (one server per process). */
void persist_register(aof_t *aof);
aof_t *persist_aof(void);
/* Loading progress for INFO: set while the AOF loads, NULL otherwise. */
void persist_set_loading(aof_load_t *ld, uint64_t start_ms);

/*
 * For the dispatcher's precheck of CMD_WRITE commands (and PING, as Redis
 * does): 1 with *msg = "MISCONF Errors writing to the AOF file: <strerror>"
 * (no leading '-') when writes must be refused, else 0.
 * persist_writes_refused() is the same through the registry (usable from the
 * command room, which can't see server_t).
 */
int persist_write_refused(const struct server_s *srv, const char **msg);
int persist_writes_refused(const char **msg);

/*
 * INFO persistence: Redis 7.0's aof_* lines (aof_enabled ...
 * module_fork_last_cow_size, then aof_current_size ... aof_delayed_fsync when
 * the AOF is on), each ending in "\r\n". Returns the length (NUL-terminated,
 * truncated to cap - 1). persist_info_aof() is the registry form.
 */
size_t persist_info(const struct server_s *srv, char *buf, size_t cap);
size_t persist_info_aof(uint64_t now_ms, char *buf, size_t cap);
/*
 * INFO persistence while loading (Redis prints these after the aof_* lines
 * when loading:1): loading_start_time, loading_total_bytes,
 * loading_rdb_used_mem, loading_loaded_bytes, loading_loaded_perc,
 * loading_eta_seconds. Writes nothing (returns 0) when not loading.
 */
size_t persist_info_loading(uint64_t now_ms, char *buf, size_t cap);

/*
 * For the loop room's CONFIG SET apply callback (CONFIG_APPLY_APPENDONLY),
 * after srv->cfg.appendonly changed: turn the AOF on (start the first
 * rewrite) or off right away. 0, or -1 with *why = "Unable to turn on AOF.
 * Check server logs." (Redis's text). Without this call the change is picked
 * up by the next cron tick. Implemented in server_persist.c.
 */
int server_persist_set_appendonly(struct server_s *srv, const char **why);

#endif
