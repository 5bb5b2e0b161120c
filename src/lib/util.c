/*
 * util.c — number parsing/formatting, glob matching, PRNG and clocks (see util.h).
 *
 * Owns: the acceptance rules that decide "value is not an integer or out of
 * range" / "value is not a valid float" / "invalid cursor", the textual form of
 * INCRBYFLOAT results and double replies, KEYS/SCAN MATCH semantics, and the
 * process PRNG state.
 * Must not: do I/O, keep state other than the PRNG, or allocate except for the
 * NUL-terminated copy of an unusually long float argument (through mem.h).
 * Invariants: every parser looks only at s[0..len); formatting functions always
 * NUL-terminate when they return a non-zero length; glob_match never recurses.
 */
#include "util.h"

#include "mem.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- integers ------------------------------------------------------------ */

/* Parses [s, s+len) as a canonical unsigned decimal (no sign, no leading zero
 * unless the whole number is "0"). Returns 1 and sets *out if it fits in 64 bits. */
static int parse_canonical_u64(const char *s, size_t len, unsigned long long *out)
{
    if (len == 0)
        return 0;
    if (s[0] == '0') {
        if (len != 1)
            return 0;
        *out = 0;
        return 1;
    }
    if (s[0] < '1' || s[0] > '9')
        return 0;
    unsigned long long v = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9)
            return 0;
        if (v > (~0ULL - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

int str_to_ll(const char *s, size_t len, long long *out)
{
    unsigned long long u;
    if (len == 0)
        return 0;
    if (s[0] == '-') {
        /* After '-' the first digit must be 1-9: "-0" and "-01" are rejected. */
        if (len == 1 || s[1] == '0')
            return 0;
        if (!parse_canonical_u64(s + 1, len - 1, &u))
            return 0;
        if (u > (unsigned long long)LLONG_MAX + 1ULL)
            return 0;
        if (out)
            *out = u == (unsigned long long)LLONG_MAX + 1ULL ? LLONG_MIN : -(long long)u;
        return 1;
    }
    if (!parse_canonical_u64(s, len, &u) || u > (unsigned long long)LLONG_MAX)
        return 0;
    if (out)
        *out = (long long)u;
    return 1;
}

int str_to_ull(const char *s, size_t len, unsigned long long *out)
{
    unsigned long long u;
    if (!parse_canonical_u64(s, len, &u))
        return 0;
    if (out)
        *out = u;
    return 1;
}

int str_to_scan_cursor(const char *s, size_t len, unsigned long long *out)
{
    /* strtoul semantics on a NUL-terminated copy: an embedded NUL ends the
     * number, and "no digits at all" leaves the end pointer at the start. */
    if (len > 0 && isspace((unsigned char)s[0]))
        return 0;
    size_t i = 0;
    int neg = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    size_t digits_at = i;
    unsigned long long v = 0;
    int overflow = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (~0ULL - d) / 10)
            overflow = 1;
        else
            v = v * 10 + d;
        i++;
    }
    if (i == digits_at) /* nothing converted: end pointer is the start */
        i = 0;
    if (i < len && s[i] != '\0')
        return 0;
    if (overflow)
        return 0;
    if (out)
        *out = neg ? (unsigned long long)0 - v : v;
    return 1;
}

/* Two decimal digits for every value 0..99, for the formatters below. */
static const char digit_pairs[201] = "00010203040506070809"
                                     "10111213141516171819"
                                     "20212223242526272829"
                                     "30313233343536373839"
                                     "40414243444546474849"
                                     "50515253545556575859"
                                     "60616263646566676869"
                                     "70717273747576777879"
                                     "80818283848586878889"
                                     "90919293949596979899";

static unsigned decimal_digits(unsigned long long v)
{
    unsigned n = 1;
    for (;;) {
        if (v < 10)
            return n;
        if (v < 100)
            return n + 1;
        if (v < 1000)
            return n + 2;
        if (v < 10000)
            return n + 3;
        v /= 10000;
        n += 4;
    }
}

size_t ull_to_str(char *buf, unsigned long long v)
{
    unsigned n = decimal_digits(v);
    char *p = buf + n;
    *p = '\0';
    while (v >= 100) {
        unsigned i = (unsigned)(v % 100) * 2;
        v /= 100;
        p -= 2;
        p[0] = digit_pairs[i];
        p[1] = digit_pairs[i + 1];
    }
    if (v >= 10) {
        p -= 2;
        p[0] = digit_pairs[v * 2];
        p[1] = digit_pairs[v * 2 + 1];
    } else {
        *--p = (char)('0' + v);
    }
    return n;
}

size_t ll_to_str(char *buf, long long v)
{
    if (v >= 0)
        return ull_to_str(buf, (unsigned long long)v);
    buf[0] = '-';
    return 1 + ull_to_str(buf + 1, (unsigned long long)0 - (unsigned long long)v);
}

/* ---- floating point ------------------------------------------------------ */

int str_to_ld(const char *s, size_t len, long double *out)
{
    char buf[LD_STR_MAX];
    if (len == 0 || len >= sizeof(buf))
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    long double v = strtold(buf, &end);
    if (isspace((unsigned char)buf[0]) || (size_t)(end - buf) != len)
        return 0;
    if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO))
        return 0;
    if (errno == EINVAL || isnan(v))
        return 0;
    if (out)
        *out = v;
    return 1;
}

int str_to_d(const char *s, size_t len, double *out)
{
    char small[128];
    if (len == 0 || isspace((unsigned char)s[0]))
        return 0;
    char *buf = len < sizeof(small) ? small : mem_alloc(len + 1);
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    int ok = (size_t)(end - buf) == len && !isnan(v) &&
             !(errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO));
    if (buf != small)
        mem_free(buf);
    if (ok && out)
        *out = v;
    return ok;
}

size_t ld_to_str(char *buf, size_t cap, long double v)
{
    if (isnan(v) || isinf(v))
        return 0;
    int n = snprintf(buf, cap, "%.17Lf", v);
    if (n < 0 || (size_t)n + 1 > cap)
        return 0;
    size_t len = (size_t)n;
    if (memchr(buf, '.', len) != NULL) {
        while (buf[len - 1] == '0')
            len--;
        if (buf[len - 1] == '.')
            len--;
    }
    if (len == 2 && buf[0] == '-' && buf[1] == '0') {
        buf[0] = '0';
        len = 1;
    }
    buf[len] = '\0';
    return len;
}

size_t d_to_str(char *buf, size_t cap, double v)
{
    const char *lit = NULL;
    if (isinf(v))
        lit = v > 0 ? "inf" : "-inf";
    else if (isnan(v))
        lit = "nan";
    if (lit != NULL) {
        size_t n = strlen(lit);
        if (cap < n + 1)
            return 0;
        memcpy(buf, lit, n + 1);
        return n;
    }
    /* Integral values of magnitude below 2^52 print the same through %.17g and
     * the integer formatter; the latter is several times faster. -0.0 keeps
     * its sign through %.17g, so it takes the slow path. */
    if (v > -4503599627370496.0 && v < 4503599627370496.0 && v != 0 && v == (double)(long long)v &&
        cap >= LL_STR_MAX)
        return ll_to_str(buf, (long long)v);
    int n = snprintf(buf, cap, "%.17g", v);
    if (n < 0 || (size_t)n + 1 > cap)
        return 0;
    return (size_t)n;
}

/* ---- glob ------------------------------------------------------------------ */

/* ASCII lower-casing on the signed char value, as tolower() behaves in the C
 * locale Redis runs with (bytes >= 0x80 are left alone). */
static inline int glob_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static inline int glob_char_eq(int a, int b, int nocase)
{
    return nocase ? glob_lower(a) == glob_lower(b) : a == b;
}

/*
 * Matches one string byte c against the class opening at pat[*pi] == '['.
 * On return *pi indexes the class's last pattern byte (its ']' or, for an
 * unterminated class, the pattern's last byte). Returns 1 if c is accepted.
 * Bytes are compared as signed chars, like Redis on x86 (this matters for
 * ranges with bytes >= 0x80).
 */
static int glob_class(const char *pat, size_t plen, size_t *pi, int c, int nocase)
{
    size_t i = *pi + 1;
    int negate = i < plen && pat[i] == '^';
    int match = 0;
    if (negate)
        i++;
    for (;;) {
        if (i + 1 < plen && pat[i] == '\\') {
            i++;
            if ((signed char)pat[i] == c)
                match = 1;
        } else if (i >= plen) {
            i--; /* unterminated: the class ends with the pattern */
            break;
        } else if (pat[i] == ']') {
            break;
        } else if (i + 2 < plen && pat[i + 1] == '-') {
            int lo = (signed char)pat[i], hi = (signed char)pat[i + 2], x = c;
            if (lo > hi) {
                int t = lo;
                lo = hi;
                hi = t;
            }
            if (nocase) {
                lo = glob_lower(lo);
                hi = glob_lower(hi);
                x = glob_lower(x);
            }
            if (x >= lo && x <= hi)
                match = 1;
            i += 2;
        } else if (glob_char_eq((signed char)pat[i], c, nocase)) {
            match = 1;
        }
        i++;
    }
    *pi = i;
    return negate ? !match : match;
}

/*
 * Matches the single-byte token at pat[*pi] ('?', a class, an escape or a
 * literal) against c and advances *pi past the token. Returns 1 on match.
 */
static int glob_token(const char *pat, size_t plen, size_t *pi, int c, int nocase)
{
    size_t i = *pi;
    int ok;
    switch (pat[i]) {
    case '?':
        ok = 1;
        break;
    case '[':
        ok = glob_class(pat, plen, &i, c, nocase);
        break;
    case '\\':
        if (i + 1 < plen)
            i++;
        /* fall through */
    default:
        ok = glob_char_eq((signed char)pat[i], c, nocase);
        break;
    }
    *pi = i + 1;
    return ok;
}

/*
 * Every token other than '*' consumes exactly one byte, so backtracking only to
 * the most recent '*' finds a match whenever one exists (the classic wildcard
 * argument): a longer match for an earlier star only restarts the rest later in
 * the string, which the latest star has already tried. Star groups are counted
 * to reproduce Redis's nesting limit.
 */
int glob_match(const char *pat, size_t plen, const char *s, size_t slen, int nocase)
{
    size_t pi = 0, si = 0;
    size_t star_pi = 0, star_si = 0;
    unsigned stars = 0, star_stars = 0;
    int have_star = 0;

    if (slen == 0)
        return plen == 0;
    while (si < slen) {
        if (pi < plen && pat[pi] == '*') {
            while (pi < plen && pat[pi] == '*')
                pi++;
            if (pi == plen)
                return 1;
            if (++stars > GLOB_MAX_STARS)
                return 0;
            have_star = 1;
            star_pi = pi;
            star_si = si;
            star_stars = stars;
            continue;
        }
        if (pi < plen && glob_token(pat, plen, &pi, (signed char)s[si], nocase)) {
            si++;
            continue;
        }
        if (!have_star || star_si + 1 >= slen)
            return 0;
        si = ++star_si;
        pi = star_pi;
        stars = star_stars;
    }
    while (pi < plen && pat[pi] == '*')
        pi++;
    return pi == plen;
}

/* ---- PRNG ------------------------------------------------------------------ */

static uint64_t rng_state[4] = {0x9e3779b97f4a7c15ULL, 0xbf58476d1ce4e5b9ULL, 0x94d049bb133111ebULL,
                                0x2545f4914f6cdd1dULL};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void rng_seed(uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng_state[i] = splitmix64(&seed);
}

static inline uint64_t rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(void)
{
    uint64_t *st = rng_state;
    uint64_t result = rotl64(st[1] * 5, 7) * 9;
    uint64_t t = st[1] << 17;
    st[2] ^= st[0];
    st[3] ^= st[1];
    st[1] ^= st[2];
    st[0] ^= st[3];
    st[2] ^= t;
    st[3] = rotl64(st[3], 45);
    return result;
}

void rng_hex(char *buf, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t bits = 0;
    int left = 0;
    for (size_t i = 0; i < n; i++) {
        if (left == 0) {
            bits = rng_next();
            left = 16;
        }
        buf[i] = hex[bits & 15];
        bits >>= 4;
        left--;
    }
}

/* ---- clocks ---------------------------------------------------------------- */

static uint64_t clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t time_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000ULL + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t time_us(void)
{
    return clock_us(CLOCK_REALTIME);
}

uint64_t time_mono_us(void)
{
    return clock_us(CLOCK_MONOTONIC);
}
