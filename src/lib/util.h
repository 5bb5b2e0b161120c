/*
 * util.h — number parsing/formatting and glob matching, with Redis's exact
 * acceptance rules (they decide which replies are errors), and a seeded PRNG.
 *
 * Pure: no I/O, no globals except the PRNG state. Every rule below was checked
 * against a real redis-server 7.0.15 (see tests/unit/test_util.c).
 */
#ifndef TESSERA_UTIL_H
#define TESSERA_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Strict integer parse as Redis's string2ll: optional '-', no '+', no leading
 * zeros (except "0"), no spaces, fits in long long. Returns 1 on success. */
int str_to_ll(const char *s, size_t len, long long *out);
/* Same rules, unsigned 64-bit: digits only, no sign, no leading zeros. */
int str_to_ull(const char *s, size_t len, unsigned long long *out);
/*
 * The SCAN/HSCAN/SSCAN/ZSCAN cursor rule (Redis parses it with strtoul): optional
 * sign ("-1" wraps to 2^64-1), leading zeros allowed, "" is 0, first byte must not
 * be a space, nothing after the digits, 2^64 and above rejected. Error text for
 * the caller: "invalid cursor".
 */
int str_to_scan_cursor(const char *s, size_t len, unsigned long long *out);
/* Redis's string2ld: strtold over the whole string (len < LD_STR_MAX), no leading
 * space, not NaN, not overflowing/underflowing to +-HUGE_VAL or 0. "+1", "0x10",
 * ".5", "inf" are accepted (INCRBYFLOAT then rejects an infinite result itself). */
int str_to_ld(const char *s, size_t len, long double *out);
/* Redis's getDoubleFromObject (scores, ZADD/ZINCRBY, range bounds after '('):
 * strtod over the whole string, no leading space, not NaN, no overflow to inf or
 * underflow to 0; "inf"/"-inf"/"+inf"/"infinity" accepted. */
int str_to_d(const char *s, size_t len, double *out);

/* Writes the decimal form of v into buf followed by a NUL. Returns the length
 * (without the NUL). buf must hold 21 bytes (LL_STR_MAX). */
#define LL_STR_MAX 21
size_t ll_to_str(char *buf, long long v);
size_t ull_to_str(char *buf, unsigned long long v);
/* Redis's ld2string in LD_STR_HUMAN mode (INCRBYFLOAT/HINCRBYFLOAT results):
 * "%.17Lf", then trailing zeros and a trailing dot removed, "-0" becomes "0"
 * (10.5 -> "10.5", 3.0e3 -> "3000", 10+1e-17 -> "10.00000000000000001").
 * cap of LD_STR_MAX always suffices. NUL-terminated. Returns the length, or 0 if
 * the value is inf/nan (callers reject those first) or cap is too small. */
#define LD_STR_MAX 5120
size_t ld_to_str(char *buf, size_t cap, long double v);
/* Redis's reply form of a double (ZSCORE, ZINCRBY, WITHSCORES; the same text in
 * RESP2 bulk and RESP3 ','): "%.17g" (0.1 -> "0.10000000000000001", 1e20 ->
 * "1e+20", 3.0 -> "3", -0.0 -> "-0"), "inf"/"-inf", "nan". NUL-terminated.
 * cap >= D_STR_MAX always suffices. Returns the length, or 0 if cap is too small. */
#define D_STR_MAX 32
size_t d_to_str(char *buf, size_t cap, double v);

/*
 * Glob match of Redis's stringmatchlen (* ? [abc] [^a] [a-z] \x), nocase flag.
 * Returns 1 on match. Same results as Redis 7.0.15, quirks included: an empty
 * string matches only the empty pattern ("*" does not match ""; callers special-
 * case the lone "*" pattern as Redis does), an unterminated '[' class runs to the
 * end of the pattern, "[a-]" is the range 'a'..']', an escaped char inside a class
 * is compared case-sensitively, and a pattern whose match must pass more than
 * GLOB_MAX_STARS separate '*' groups (a final '*' excepted) never matches.
 * Runs in O(plen * slen) time with no recursion, whatever the pattern.
 */
#define GLOB_MAX_STARS 1000
int glob_match(const char *pat, size_t plen, const char *s, size_t slen, int nocase);

/* xoshiro256** PRNG; rng_seed from /dev/urandom at start (tests seed it fixed).
 * Before any rng_seed the generator runs from a fixed non-zero state. */
void rng_seed(uint64_t seed);
uint64_t rng_next(void);
/* n hex chars (lowercase) of randomness into buf; no NUL is written. Run ids and
 * node ids use n = 40. */
void rng_hex(char *buf, size_t n);

/* Current time. Only the loop room and timers call these; state machines get
 * time passed in. */
uint64_t time_ms(void);      /* CLOCK_REALTIME, milliseconds since the epoch */
uint64_t time_us(void);      /* CLOCK_REALTIME, microseconds since the epoch */
uint64_t time_mono_us(void); /* CLOCK_MONOTONIC, microseconds (durations only) */

#endif
