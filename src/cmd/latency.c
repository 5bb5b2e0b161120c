/*
 * latency.c — storage and analysis for the latency monitor.
 *
 * Owns: a fixed table of events, each with a ring of LATENCY_TS_LEN samples
 * (unix second, worst ms in that second), the LATENCY GRAPH rendering, and the
 * per-command duration histograms.
 * Must not: allocate per sample or read clocks.
 * Invariant: for each used event, samples[(idx + LEN - 1) % LEN] is the
 * newest sample; unused slots have time 0; max >= every sample kept.
 */
#include "latency.h"

#include <stdio.h>
#include <string.h>

#include "../conf/config.h"
#include "../lib/mem.h"

typedef struct latency_sample_s {
    uint32_t time;
    uint32_t ms;
} latency_sample_t;

typedef struct latency_event_s {
    char name[LATENCY_EVENT_MAX];
    int idx;
    uint32_t max;
    latency_sample_t samples[LATENCY_TS_LEN];
} latency_event_t;

static latency_event_t events[LATENCY_MAX_EVENTS];
static int nevents;

static latency_event_t *find(const char *name, size_t len)
{
    for (int i = 0; i < nevents; i++)
        if (strlen(events[i].name) == len && strncasecmp(events[i].name, name, len) == 0)
            return &events[i];
    return NULL;
}

void latency_add(const char *event, uint64_t ms, uint64_t now_s)
{
    size_t len = strnlen(event, LATENCY_EVENT_MAX - 1);
    latency_event_t *ev = find(event, len);
    if (ev == NULL) {
        if (nevents == LATENCY_MAX_EVENTS)
            return;
        ev = &events[nevents++];
        memset(ev, 0, sizeof(*ev));
        memcpy(ev->name, event, len);
    }
    uint32_t t = (uint32_t)now_s, v = ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
    if (v > ev->max)
        ev->max = v;
    latency_sample_t *prev = &ev->samples[(ev->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN];
    if (prev->time == t) {
        if (v > prev->ms)
            prev->ms = v;
        return;
    }
    ev->samples[ev->idx].time = t;
    ev->samples[ev->idx].ms = v;
    ev->idx = (ev->idx + 1) % LATENCY_TS_LEN;
}

void latency_add_if_needed(const struct config_s *cfg, const char *event, uint64_t ms,
                           uint64_t now_s)
{
    if (cfg != NULL && cfg->latency_monitor_threshold > 0 &&
        ms >= (uint64_t)cfg->latency_monitor_threshold)
        latency_add(event, ms, now_s);
}

void latency_command(const cmd_env_t *env, const cmd_def_t *cmd, uint64_t duration_us)
{
    latency_track(cmd, duration_us);
    latency_add_if_needed(env->cfg, (cmd->flags & CMD_FAST) ? "fast-command" : "command",
                          duration_us / 1000, env->now_ms / 1000);
}

void latency_reply_latest(reply_t *r)
{
    reply_array(r, nevents);
    for (int i = 0; i < nevents; i++) {
        const latency_event_t *ev = &events[i];
        const latency_sample_t *last =
            &ev->samples[(ev->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN];
        reply_array(r, 4);
        reply_bulk_cstr(r, ev->name);
        reply_int(r, last->time);
        reply_int(r, last->ms);
        reply_int(r, ev->max);
    }
}

void latency_reply_history(reply_t *r, const char *event, size_t len)
{
    const latency_event_t *ev = find(event, len);
    if (ev == NULL) {
        reply_array(r, 0);
        return;
    }
    int n = 0;
    for (int j = 0; j < LATENCY_TS_LEN; j++)
        n += ev->samples[j].time != 0;
    reply_array(r, n);
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        const latency_sample_t *sm = &ev->samples[(ev->idx + j) % LATENCY_TS_LEN];
        if (sm->time == 0)
            continue;
        reply_array(r, 2);
        reply_int(r, sm->time);
        reply_int(r, sm->ms);
    }
}

static void remove_at(int i)
{
    memmove(&events[i], &events[i + 1], sizeof(events[0]) * (size_t)(nevents - i - 1));
    nevents--;
}

long long latency_reset(int n, const slice_t *names)
{
    long long done = 0;
    if (n == 0) {
        done = nevents;
        nevents = 0;
        return done;
    }
    for (int j = 0; j < n; j++) {
        latency_event_t *ev = find(names[j].p, names[j].len);
        if (ev != NULL) {
            remove_at((int)(ev - events));
            done++;
        }
    }
    return done;
}

/* Figures of one event over the samples kept. */
static void analyze(const latency_event_t *ev, uint64_t now_s, int *samples, double *avg,
                    double *mad, double *period)
{
    uint64_t sum = 0, oldest = 0;
    int n = 0;
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        const latency_sample_t *sm = &ev->samples[j];
        if (sm->time == 0)
            continue;
        n++;
        sum += sm->ms;
        if (oldest == 0 || sm->time < oldest)
            oldest = sm->time;
    }
    *samples = n;
    *avg = n ? (double)sum / n : 0;
    double dev = 0;
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        const latency_sample_t *sm = &ev->samples[j];
        if (sm->time != 0)
            dev += sm->ms > *avg ? sm->ms - *avg : *avg - sm->ms;
    }
    *mad = n ? dev / n : 0;
    uint64_t span = now_s > oldest ? now_s - oldest : 0;
    if (span == 0)
        span = 1;
    *period = n ? (double)span / n : 0;
}

void latency_doctor(textbuf_t *out, uint64_t now_s, long long threshold)
{
    if (nevents == 0 && threshold == 0) {
        textbuf_cstr(out, "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in "
                          "this Redis instance. You may use \"CONFIG SET latency-monitor-threshold "
                          "<milliseconds>.\" in order to enable it. If we weren't in a deep space "
                          "mission I'd suggest to take a look at "
                          "https://redis.io/topics/latency-monitor.\n");
        return;
    }
    if (nevents == 0) {
        textbuf_cstr(out, "Dave, no latency spike was observed during the lifetime of this Redis "
                          "instance, not in the slightest bit. I honestly think you ought to sit "
                          "down calmly, take a stress pill, and think things over.\n");
        return;
    }
    textbuf_cstr(out, "Dave, I have observed latency spikes in this Redis instance. You don't "
                      "mind talking about it, do you Dave?\n\n");
    int commands = 0;
    for (int i = 0; i < nevents; i++) {
        int n;
        double avg, mad, period;
        analyze(&events[i], now_s, &n, &avg, &mad, &period);
        textbuf_printf(out,
                       "%d. %s: %d latency spikes (average %lums, mean deviation %lums, "
                       "period %.2f sec). Worst all time event %ums.\n",
                       i + 1, events[i].name, n, (unsigned long)avg, (unsigned long)mad, period,
                       events[i].max);
        commands |=
            strcmp(events[i].name, "command") == 0 || strcmp(events[i].name, "fast-command") == 0;
    }
    textbuf_cstr(out, "\nI have a few advices for you:\n\n");
    if (commands)
        textbuf_cstr(out, "- Check your Slow Log to understand what are the commands you are "
                          "running which are too slow to execute. Please check "
                          "https://redis.io/commands/slowlog for more information.\n"
                          "- Deleting, expiring or evicting (because of maxmemory policy) large "
                          "objects is a blocking operation. If you have very large objects that "
                          "are often deleted, expired, or evicted, try to fragment those objects "
                          "into multiple smaller objects.\n");
    else
        textbuf_cstr(out, "- Check the events listed above with LATENCY HISTORY <event> to see "
                          "when they happened.\n");
}

/* ---- LATENCY GRAPH ---------------------------------------------------------- */

#define GRAPH_COLS 80
#define GRAPH_ROWS 4

static void graph_label(char *buf, size_t cap, uint64_t elapsed)
{
    if (elapsed < 60)
        snprintf(buf, cap, "%llus", (unsigned long long)elapsed);
    else if (elapsed < 3600)
        snprintf(buf, cap, "%llum", (unsigned long long)(elapsed / 60));
    else if (elapsed < 86400)
        snprintf(buf, cap, "%lluh", (unsigned long long)(elapsed / 3600));
    else
        snprintf(buf, cap, "%llud", (unsigned long long)(elapsed / 86400));
}

/* One block of up to GRAPH_COLS columns: GRAPH_ROWS rows of the filled
 * sparkline ('_' 'o' '#' for the top of a column, '|' below it), an empty
 * row, then the labels written downwards. */
static void graph_block(textbuf_t *out, const uint32_t *vals, char (*labels)[24], int n,
                        uint32_t min, uint32_t max)
{
    static const char fill[] = "_o#";
    const int steps = 3 * GRAPH_ROWS;
    double relmax = max - min ? (double)(max - min) : 1;
    char row[GRAPH_COLS + 1];
    for (int r = 0; r < GRAPH_ROWS; r++) {
        for (int j = 0; j < n; j++) {
            int step = (int)((double)(vals[j] - min) * steps / relmax);
            step = step < 0 ? 0 : (step >= steps ? steps - 1 : step);
            int idx = step - (GRAPH_ROWS - r - 1) * 3;
            row[j] = idx >= 3 ? '|' : (idx >= 0 ? fill[idx] : ' ');
        }
        textbuf_add(out, row, (size_t)n);
        textbuf_add(out, "\n", 1);
    }
    size_t longest = 0;
    for (int j = 0; j < n; j++)
        longest = strlen(labels[j]) > longest ? strlen(labels[j]) : longest;
    for (size_t l = 0; l <= longest; l++) {
        for (int j = 0; j < n; j++)
            row[j] = (l > 0 && l - 1 < strlen(labels[j])) ? labels[j][l - 1] : ' ';
        textbuf_add(out, row, (size_t)n);
        textbuf_add(out, "\n", 1);
    }
}

int latency_graph(textbuf_t *out, const char *event, size_t len, uint64_t now_s)
{
    const latency_event_t *ev = find(event, len);
    if (ev == NULL)
        return -1;
    uint32_t vals[LATENCY_TS_LEN], min = 0, max = 0;
    char labels[LATENCY_TS_LEN][24];
    int n = 0;
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        const latency_sample_t *sm = &ev->samples[(ev->idx + j) % LATENCY_TS_LEN];
        if (sm->time == 0)
            continue;
        min = n == 0 || sm->ms < min ? sm->ms : min;
        max = n == 0 || sm->ms > max ? sm->ms : max;
        graph_label(labels[n], sizeof(labels[n]), now_s > sm->time ? now_s - sm->time : 0);
        vals[n++] = sm->ms;
    }
    textbuf_printf(out, "%s - high %u ms, low %u ms (all time high %u ms)\n", ev->name, max, min,
                   ev->max);
    for (int j = 0; j < GRAPH_COLS; j++)
        textbuf_add(out, "-", 1);
    textbuf_add(out, "\n", 1);
    for (int off = 0; off < n; off += GRAPH_COLS)
        graph_block(out, vals + off, labels + off, n - off < GRAPH_COLS ? n - off : GRAPH_COLS, min,
                    max);
    return 0;
}

/* ---- per-command latency histograms (LATENCY HISTOGRAM, INFO latencystats) ---
 *
 * Each command's call durations, in nanoseconds clamped to [1, 1e9], counted
 * with two significant digits: values below 256 exactly, above in 128 steps
 * per power of two (the resolution of Redis's HdrHistogram setup, so the
 * bucket edges and percentiles it prints come out the same). A histogram is
 * allocated on a command's first call.
 */

#define HIST_SUB 128
#define HIST_SLOTS (HIST_SUB * 24) /* covers values below 2^31 */
#define HIST_TABLE 1024            /* power of two, > 2x the number of rows */
#define HIST_MAX_NS 1000000000ull
#define HIST_TOP ((1ull << 30) - 1) /* largest value the buckets for HIST_MAX_NS hold */

typedef struct hist_s {
    uint64_t total;
    uint64_t counts[HIST_SLOTS];
} hist_t;

static struct {
    const cmd_def_t *cmd;
    hist_t *h;
} hists[HIST_TABLE];

static int hist_index(uint64_t v)
{
    if (v < 2 * HIST_SUB)
        return (int)v;
    int b = 63 - __builtin_clzll(v) - 7;
    return HIST_SUB * (b + 1) + (int)((v >> b) - HIST_SUB);
}

static uint64_t hist_lowest(int idx)
{
    if (idx < 2 * HIST_SUB)
        return (uint64_t)idx;
    int b = idx / HIST_SUB - 1;
    return (uint64_t)(idx % HIST_SUB + HIST_SUB) << b;
}

static uint64_t hist_highest(int idx)
{
    if (idx < 2 * HIST_SUB)
        return (uint64_t)idx;
    return hist_lowest(idx) + ((1ull << (idx / HIST_SUB - 1)) - 1);
}

static hist_t *hist_of(const cmd_def_t *cmd, int create)
{
    size_t i = (((uintptr_t)cmd >> 4) * 2654435761u) & (HIST_TABLE - 1);
    for (size_t probes = 0; probes < HIST_TABLE; probes++, i = (i + 1) & (HIST_TABLE - 1)) {
        if (hists[i].cmd == cmd)
            return hists[i].h;
        if (hists[i].cmd == NULL) {
            if (!create)
                return NULL;
            hists[i].cmd = cmd;
            hists[i].h = mem_calloc(sizeof(hist_t));
            return hists[i].h;
        }
    }
    return NULL;
}

void latency_track(const cmd_def_t *cmd, uint64_t duration_us)
{
    hist_t *h = hist_of(cmd, 1);
    if (h == NULL)
        return;
    uint64_t ns = duration_us * 1000;
    ns = ns < 1 ? 1 : (ns > HIST_MAX_NS ? HIST_MAX_NS : ns);
    h->counts[hist_index(ns)]++;
    h->total++;
}

int latency_has_histogram(const cmd_def_t *cmd)
{
    const hist_t *h = hist_of(cmd, 0);
    return h != NULL && h->total > 0;
}

void latency_reply_cdf(reply_t *r, const cmd_def_t *cmd)
{
    const hist_t *h = hist_of(cmd, 0);
    uint64_t at[32], cum[32], sum = 0;
    int n = 0, idx = 0;
    for (int k = 0; h != NULL && k < 31 && sum < h->total; k++) {
        uint64_t level = 1024ull << k, top = level + level / HIST_SUB - 1;
        if (top > HIST_TOP)
            top = HIST_TOP; /* the last level ends with the largest value kept */
        uint64_t before = sum;
        for (; idx < HIST_SLOTS && hist_lowest(idx) <= top; idx++)
            sum += h->counts[idx];
        if (sum > before) {
            at[n] = top / 1000;
            cum[n++] = sum;
        }
    }
    reply_map(r, 2);
    reply_bulk_cstr(r, "calls");
    reply_int(r, h != NULL ? (long long)h->total : 0);
    reply_bulk_cstr(r, "histogram_usec");
    reply_map(r, n);
    for (int i = 0; i < n; i++) {
        reply_int(r, (long long)at[i]);
        reply_int(r, (long long)cum[i]);
    }
}

double latency_percentile_us(const cmd_def_t *cmd, double pct)
{
    const hist_t *h = hist_of(cmd, 0);
    if (h == NULL || h->total == 0)
        return 0;
    uint64_t want = (uint64_t)(pct / 100 * (double)h->total + 0.5), sum = 0;
    want = want < 1 ? 1 : want;
    for (int idx = 0; idx < HIST_SLOTS; idx++) {
        sum += h->counts[idx];
        if (h->counts[idx] && sum >= want)
            return (double)hist_highest(idx) / 1000.0;
    }
    return 0;
}

void latency_histograms_reset(void)
{
    for (size_t i = 0; i < HIST_TABLE; i++) {
        mem_free(hists[i].h);
        hists[i].cmd = NULL;
        hists[i].h = NULL;
    }
}
