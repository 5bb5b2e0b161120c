/*
 * slowlog.c — the slow log's storage: a doubly linked list, newest at head.
 *
 * Owns: each entry and its argument copies (freed when trimmed or reset).
 * Must not: keep pointers into the client's query buffer (arguments are
 * copied, shortened the way Redis does: at most SLOWLOG_MAX_ARGC arguments,
 * the last replaced by "... (N more arguments)"; arguments longer than
 * SLOWLOG_MAX_ARGLEN bytes cut and suffixed "... (N more bytes)").
 * Invariant: count == length of the list; ids strictly decrease from head.
 */
#include "slowlog.h"

#include <stdio.h>
#include <string.h>

#include "../conf/config.h"
#include "../lib/mem.h"

typedef struct slowlog_entry_s {
    struct slowlog_entry_s *next, *prev;
    uint64_t id;
    uint64_t time_s;
    uint64_t duration_us;
    int argc;
    char **argv;
    size_t *lens;
    char *peer;
    char *name;
} slowlog_entry_t;

static slowlog_entry_t *head, *tail;
static uint64_t count;
static uint64_t next_id;

static void entry_free(slowlog_entry_t *e)
{
    for (int i = 0; i < e->argc; i++)
        mem_free(e->argv[i]);
    mem_free(e->argv);
    mem_free(e->lens);
    mem_free(e->peer);
    mem_free(e->name);
    mem_free(e);
}

static void drop_tail(void)
{
    slowlog_entry_t *e = tail;
    tail = e->prev;
    if (tail != NULL)
        tail->next = NULL;
    else
        head = NULL;
    count--;
    entry_free(e);
}

/* Copy argument i the way Redis shortens it. */
static void copy_arg(slowlog_entry_t *e, int i, int argc, const slice_t *argv)
{
    char buf[SLOWLOG_MAX_ARGLEN + 64];
    if (i == SLOWLOG_MAX_ARGC - 1 && argc > SLOWLOG_MAX_ARGC) {
        int n = snprintf(buf, sizeof(buf), "... (%d more arguments)", argc - i);
        e->argv[i] = mem_strndup(buf, (size_t)n);
        e->lens[i] = (size_t)n;
    } else if (argv[i].len > SLOWLOG_MAX_ARGLEN) {
        memcpy(buf, argv[i].p, SLOWLOG_MAX_ARGLEN);
        int n = snprintf(buf + SLOWLOG_MAX_ARGLEN, sizeof(buf) - SLOWLOG_MAX_ARGLEN,
                         "... (%zu more bytes)", argv[i].len - SLOWLOG_MAX_ARGLEN);
        e->lens[i] = SLOWLOG_MAX_ARGLEN + (size_t)n;
        e->argv[i] = mem_alloc(e->lens[i] + 1);
        memcpy(e->argv[i], buf, e->lens[i] + 1);
    } else {
        e->argv[i] = mem_strndup(argv[i].p, argv[i].len);
        e->lens[i] = argv[i].len;
    }
}

/* The peer address of s ("ip:port"), from the loop room. */
static char *peer_of(const cmd_env_t *env, const session_t *s)
{
    const char *a = NULL;
    if (env->host != NULL && env->host->client_addr != NULL)
        a = env->host->client_addr(env->host->self, s);
    return mem_strdup(a != NULL ? a : "");
}

void slowlog_push(cmd_env_t *env, const session_t *s, int argc, const slice_t *argv,
                  uint64_t duration_us)
{
    const config_t *cfg = env->cfg;
    if (cfg == NULL || cfg->slowlog_log_slower_than < 0 || cfg->slowlog_max_len == 0)
        return;
    if (duration_us < (uint64_t)cfg->slowlog_log_slower_than)
        return;
    slowlog_entry_t *e = mem_calloc(sizeof(*e));
    e->argc = argc > SLOWLOG_MAX_ARGC ? SLOWLOG_MAX_ARGC : argc;
    e->argv = mem_alloc(sizeof(char *) * (size_t)(e->argc ? e->argc : 1));
    e->lens = mem_alloc(sizeof(size_t) * (size_t)(e->argc ? e->argc : 1));
    for (int i = 0; i < e->argc; i++)
        copy_arg(e, i, argc, argv);
    e->id = next_id++;
    e->time_s = env->now_ms / 1000;
    e->duration_us = duration_us;
    e->peer = peer_of(env, s);
    e->name = mem_strdup(s->name ? s->name : "");
    e->next = head;
    if (head != NULL)
        head->prev = e;
    head = e;
    if (tail == NULL)
        tail = e;
    count++;
    while (count > cfg->slowlog_max_len)
        drop_tail();
}

uint64_t slowlog_len(void)
{
    return count;
}

void slowlog_reset(void)
{
    while (tail != NULL)
        drop_tail();
}

void slowlog_reply(reply_t *r, long long n)
{
    uint64_t want = (n < 0 || (uint64_t)n > count) ? count : (uint64_t)n;
    reply_array(r, (long long)want);
    slowlog_entry_t *e = head;
    for (uint64_t i = 0; i < want && e != NULL; i++, e = e->next) {
        reply_array(r, 6);
        reply_int(r, (long long)e->id);
        reply_int(r, (long long)e->time_s);
        reply_int(r, (long long)e->duration_us);
        reply_array(r, e->argc);
        for (int j = 0; j < e->argc; j++)
            reply_bulk(r, e->argv[j], e->lens[j]);
        reply_bulk_cstr(r, e->peer);
        reply_bulk_cstr(r, e->name);
    }
}
