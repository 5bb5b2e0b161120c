/*
 * latency.h — the latency monitor (LATENCY LATEST/HISTORY/RESET/DOCTOR):
 * per named event ("command", "fast-command", "expire-cycle" ...), the
 * worst latency seen in each second, the last LATENCY_TS_LEN such seconds,
 * and the all-time maximum.
 *
 * Owns: the event table. Must not: read clocks (times are passed in).
 */
#ifndef TESSERA_LATENCY_H
#define TESSERA_LATENCY_H

#include <stdint.h>

#include "cmd.h"
#include "textbuf.h"

#define LATENCY_TS_LEN 160 /* samples kept per event (Redis's figure) */
#define LATENCY_MAX_EVENTS 64
#define LATENCY_EVENT_MAX 64 /* longest event name kept */

struct config_s;

/* Record a sample of ms milliseconds for event at unix time now_s
 * (unconditionally; one sample per second is kept: the worst). */
void latency_add(const char *event, uint64_t ms, uint64_t now_s);
/* latency_add if latency-monitor-threshold > 0 and ms >= it. */
void latency_add_if_needed(const struct config_s *cfg, const char *event, uint64_t ms,
                           uint64_t now_s);
/* The dispatcher's call after each command: records the duration in the
 * command's histogram (latency_track), and a "fast-command" (CMD_FAST rows)
 * or "command" sample when the monitor is on and the call was slow. */
void latency_command(const cmd_env_t *env, const cmd_def_t *cmd, uint64_t duration_us);

/* LATENCY LATEST: [[event, time, latest ms, max ms] ...]. */
void latency_reply_latest(reply_t *r);
/* LATENCY HISTORY event: [[time, ms] ...] oldest first ([] if unknown). */
void latency_reply_history(reply_t *r, const char *event, size_t len);
/* LATENCY RESET: the named events (all when n == 0); returns how many were reset. */
long long latency_reset(int n, const slice_t *events);
/* LATENCY DOCTOR's report, appended to out. now_s is the current unix time,
 * threshold the latency-monitor-threshold in force (0: monitor off). */
void latency_doctor(textbuf_t *out, uint64_t now_s, long long threshold);

/* LATENCY GRAPH event: the ASCII chart Redis draws (header, 80 dashes, then
 * blocks of up to 80 columns). Returns -1 (nothing written) for an unknown
 * event. */
int latency_graph(textbuf_t *out, const char *event, size_t len, uint64_t now_s);

/* Per-command duration histograms (Redis's latency tracking). */
void latency_track(const cmd_def_t *cmd, uint64_t duration_us);
int latency_has_histogram(const cmd_def_t *cmd);
/* {calls: N, histogram_usec: {bucket: cumulative count ...}} as LATENCY
 * HISTOGRAM shows it; buckets are powers of two from 1024 ns. */
void latency_reply_cdf(reply_t *r, const cmd_def_t *cmd);
/* The duration in microseconds at percentile pct (0..100), 0 if no calls. */
double latency_percentile_us(const cmd_def_t *cmd, double pct);
/* CONFIG RESETSTAT: drop every histogram. */
void latency_histograms_reset(void);

#endif
