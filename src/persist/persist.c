/*
 * persist.c — the registry behind persist.h: which AOF object this process
 * uses, and the loading progress INFO reports.
 *
 * Must not: own the objects (server_persist.c creates and frees them).
 */
#include "persist.h"

#include <stdio.h>


static aof_t *the_aof;
static aof_load_t *the_load;
static uint64_t load_start_ms;

void persist_register(aof_t *aof) { the_aof = aof; }
aof_t *persist_aof(void) { return the_aof; }

void persist_set_loading(aof_load_t *ld, uint64_t start_ms)
{
    the_load = ld;
    load_start_ms = start_ms;
}

int persist_writes_refused(const char **msg)
{
    return the_aof != NULL && aof_write_refused(the_aof, msg);
}

size_t persist_info_aof(uint64_t now_ms, char *buf, size_t cap)
{
    if (the_aof == NULL) {
        if (cap > 0)
            buf[0] = '\0';
        return 0;
    }
    return aof_info(the_aof, now_ms, buf, cap);
}

size_t persist_info_loading(uint64_t now_ms, char *buf, size_t cap)
{
    if (cap > 0)
        buf[0] = '\0';
    if (the_load == NULL)
        return 0;
    uint64_t loaded, total;
    aof_load_progress(the_load, &loaded, &total);
    double perc = total ? (double)loaded * 100.0 / (double)total : 0.0;
    uint64_t elapsed = (now_ms - load_start_ms) / 1000;
    long long eta = loaded && elapsed ? (long long)((total - loaded) / (loaded / elapsed + 1)) : 1;
    int n = snprintf(buf, cap,
                     "loading_start_time:%llu\r\n"
                     "loading_total_bytes:%llu\r\n"
                     "loading_rdb_used_mem:0\r\n"
                     "loading_loaded_bytes:%llu\r\n"
                     "loading_loaded_perc:%.2f\r\n"
                     "loading_eta_seconds:%lld\r\n",
                     (unsigned long long)(load_start_ms / 1000), (unsigned long long)total,
                     (unsigned long long)loaded, perc, eta);
    if (n < 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : (cap ? cap - 1 : 0);
}
