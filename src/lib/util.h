/*
 * util.h — number parsing/formatting and glob matching, with Redis's exact
 * acceptance rules (they decide which replies are errors), and a seeded PRNG.
 *
 * Pure: no I/O, no globals except the PRNG state.
 */
#ifndef TESSERA_UTIL_H
#define TESSERA_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Strict integer parse as Redis's string2ll: optional '-', no '+', no leading
 * zeros (except "0"), no spaces, fits in long long. Returns 1 on success. */
int str_to_ll(const char *s, size_t len, long long *out);
/* Same rules, unsigned 64-bit (used by SCAN cursors). */
int str_to_ull(const char *s, size_t len, unsigned long long *out);
/* Redis's string2ld: strtold over the whole string, no spaces, not NaN. */
int str_to_ld(const char *s, size_t len, long double *out);
/* Redis's string2d (for scores, INCRBYFLOAT args use str_to_ld): strtod over the
 * whole string, no leading space, not NaN; "inf"/"-inf"/"+inf" accepted. */
int str_to_d(const char *s, size_t len, double *out);

/* Writes the decimal form of v into buf (no NUL needed by callers, but one is
 * written if room). Returns the length. buf must hold 21 bytes. */
size_t ll_to_str(char *buf, long long v);
size_t ull_to_str(char *buf, unsigned long long v);
/* Redis's ld2string in LD_STR_HUMAN mode (INCRBYFLOAT results): %.17Lf then
 * trailing zeros and dot removed, "-0" becomes "0". buf >= 5 * 1024? no: MAX_LONG_DOUBLE_CHARS (5k).
 * Returns length, or 0 if the value is not representable (inf/nan). */
#define LD_STR_MAX 5120
size_t ld_to_str(char *buf, size_t cap, long double v);
/* Redis's reply formatting of doubles (ZSCORE, RESP2 bulk form): "%.17g" with
 * "inf"/"-inf", integral values printed without exponent when they fit. */
size_t d_to_str(char *buf, size_t cap, double v);

/* Glob match of Redis's stringmatchlen (* ? [abc] [^a] [a-z] \x), nocase flag. */
int glob_match(const char *pat, size_t plen, const char *s, size_t slen, int nocase);

/* xoshiro256** PRNG; rng_seed from /dev/urandom at start (tests seed it fixed). */
void rng_seed(uint64_t seed);
uint64_t rng_next(void);
/* 40 hex chars of randomness into buf (run ids, node ids). */
void rng_hex(char *buf, size_t n);

/* Current time. Only the loop room and timers call these; state machines get
 * time passed in. */
uint64_t time_ms(void);
uint64_t time_us(void);
uint64_t time_mono_us(void);

#endif
