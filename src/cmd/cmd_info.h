/*
 * cmd_info.h — what the rest of the server calls for INFO's figures that are
 * sampled over time, and for CONFIG RESETSTAT.
 *
 * Owns: the instantaneous metrics (ops/sec, input/output kbps: 16 samples,
 * averaged, as Redis does). The replication section and the sync_* /
 * total_net_repl_* figures come from the replication core (repl/repl.h).
 * Must not: read clocks (now_ms is passed in).
 */
#ifndef TESSERA_CMD_INFO_H
#define TESSERA_CMD_INFO_H

#include <stdint.h>

#include "cmd.h"

/* The cron calls this every 100 ms (Redis's period) to feed
 * instantaneous_ops_per_sec and instantaneous_input/output_kbps. */
void info_cron_sample(const cmd_env_t *env, uint64_t now_ms);

/* CONFIG RESETSTAT: zero the counters Redis zeroes (stats_t counters, the
 * keyspace's hit/miss/expiry counters, per-command stats, errorstats, the
 * instantaneous samples). Gauges (connected clients, dirty, last save) stay. */
void info_resetstat(cmd_env_t *env);

/* Keep stats->peak_memory up to date (INFO and the cron call it). */
void info_update_peak(cmd_env_t *env);

#endif
