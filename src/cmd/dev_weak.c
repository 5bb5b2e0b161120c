/*
 * dev_weak.c — TEMPORARY fallbacks while the command families are written in
 * parallel: weak empty tables and no-op accounting, overridden by the real
 * definitions as they land. To be deleted once every family links.
 */
#include "cmd_hooks.h"

#define WEAK __attribute__((weak))
WEAK cmd_def_t cmd_table_string[] = {{0}};
WEAK cmd_def_t cmd_table_keys[] = {{0}};
WEAK cmd_def_t cmd_table_server[] = {{0}};
WEAK cmd_def_t cmd_table_config[] = {{0}};
WEAK void errorstats_count(const char *code) { (void)code; }
WEAK void slowlog_push(cmd_env_t *env, const session_t *s, int argc, const slice_t *argv,
                       uint64_t duration_us)
{
    (void)env, (void)s, (void)argc, (void)argv, (void)duration_us;
}
