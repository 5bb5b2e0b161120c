/*
 * errorstats.h — INFO errorstats: how many error replies were sent, per error
 * code (the first word of the message: "ERR", "WRONGTYPE", "NOAUTH" ...).
 *
 * Owns: a small table of code → count (at most ERRORSTATS_MAX codes, like
 * Redis's limit of 128; codes beyond that are not tracked).
 * Must not: write replies. The dispatcher calls errorstats_count() once per
 * command that replied with an error (see cmd_hooks.h).
 */
#ifndef TESSERA_ERRORSTATS_H
#define TESSERA_ERRORSTATS_H

#include <stddef.h>
#include <stdint.h>

#define ERRORSTATS_MAX 128
#define ERRORSTATS_CODE_MAX 32

/* Count one error reply with this code; NULL or "" counts nothing. */
void errorstats_count(const char *code);
/* CONFIG RESETSTAT. */
void errorstats_reset(void);
/* Codes in strcmp order: the i-th code and its count; NULL past the end. */
const char *errorstats_at(size_t i, uint64_t *count);

#endif
