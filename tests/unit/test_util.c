/*
 * test_util.c — unit tests for util.c, crc16.c and crc64.c.
 *
 * Expected values marked "redis 7.0.15" were obtained from a real
 * redis-server 7.0.15 (INCRBY/INCRBYFLOAT/ZADD/ZSCORE/SCAN/KEYS/DUMP/CLUSTER
 * KEYSLOT) and are the compatibility contract.
 */
/* SOURCES: src/lib/util.c src/lib/crc16.c src/lib/crc64.c src/lib/mem.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/crc16.h"
#include "lib/crc64.h"
#include "lib/util.h"

#define S(lit) (lit), (sizeof(lit) - 1)

/* ---- str_to_ll / str_to_ull / str_to_scan_cursor ----------------------------- */

static void test_str_to_ll_accepts(void **state)
{
    (void)state;
    long long v;
    assert_true(str_to_ll(S("0"), &v));
    assert_int_equal(v, 0);
    assert_true(str_to_ll(S("1"), &v));
    assert_int_equal(v, 1);
    assert_true(str_to_ll(S("-1"), &v));
    assert_int_equal(v, -1);
    assert_true(str_to_ll(S("1234567890"), &v));
    assert_int_equal(v, 1234567890);
    assert_true(str_to_ll(S("9223372036854775807"), &v));
    assert_true(v == LLONG_MAX);
    assert_true(str_to_ll(S("-9223372036854775808"), &v));
    assert_true(v == LLONG_MIN);
    /* Only len bytes are looked at. */
    assert_true(str_to_ll("12345", 2, &v));
    assert_int_equal(v, 12);
    assert_true(str_to_ll(S("5"), NULL));
}

static void test_str_to_ll_rejects(void **state)
{
    (void)state;
    /* Each of these makes INCRBY fail on redis 7.0.15. */
    static const char *bad[] = {" 1",
                                "1 ",
                                "+1",
                                "-0",
                                "007",
                                "00",
                                "-01",
                                "-",
                                "",
                                "9223372036854775808",
                                "-9223372036854775809",
                                "18446744073709551615",
                                "123456789012345678901",
                                "1a",
                                "0x10",
                                "1.0",
                                "1e3",
                                "--1",
                                "\t1"};
    long long v = 42;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (str_to_ll(bad[i], strlen(bad[i]), &v))
            fail_msg("str_to_ll accepted \"%s\"", bad[i]);
    }
    assert_false(str_to_ll("1\0", 2, &v)); /* embedded NUL */
    assert_int_equal(v, 42);               /* untouched on failure */
}

static void test_str_to_ull(void **state)
{
    (void)state;
    unsigned long long v;
    assert_true(str_to_ull(S("18446744073709551615"), &v));
    assert_true(v == ULLONG_MAX);
    assert_true(str_to_ull(S("0"), &v));
    assert_true(v == 0);
    assert_false(str_to_ull(S("18446744073709551616"), &v));
    assert_false(str_to_ull(S("-1"), &v));
    assert_false(str_to_ull(S("+1"), &v));
    assert_false(str_to_ull(S("01"), &v));
    assert_false(str_to_ull(S(""), &v));
    assert_false(str_to_ull(S(" 1"), &v));
}

static void test_str_to_scan_cursor(void **state)
{
    (void)state;
    /* redis 7.0.15: SCAN <cursor> accepted / "invalid cursor". */
    unsigned long long v;
    assert_true(str_to_scan_cursor(S("0"), &v));
    assert_true(v == 0);
    assert_true(str_to_scan_cursor(S("+0"), &v));
    assert_true(v == 0);
    assert_true(str_to_scan_cursor(S("-1"), &v));
    assert_true(v == ULLONG_MAX);
    assert_true(str_to_scan_cursor(S("007"), &v));
    assert_true(v == 7);
    assert_true(str_to_scan_cursor(S(""), &v));
    assert_true(v == 0);
    assert_true(str_to_scan_cursor(S("-0"), &v));
    assert_true(v == 0);
    assert_true(str_to_scan_cursor(S("+5"), &v));
    assert_true(v == 5);
    assert_true(str_to_scan_cursor(S("18446744073709551615"), &v));
    assert_true(v == ULLONG_MAX);
    assert_true(str_to_scan_cursor("12\0ab", 5, &v)); /* strtoul stops at the NUL */
    assert_true(v == 12);
    assert_false(str_to_scan_cursor(S(" 1"), &v));
    assert_false(str_to_scan_cursor(S("1 "), &v));
    assert_false(str_to_scan_cursor(S("18446744073709551616"), &v));
    assert_false(str_to_scan_cursor(S("abc"), &v));
    assert_false(str_to_scan_cursor(S("0x10"), &v));
    assert_false(str_to_scan_cursor(S("-"), &v));
    assert_false(str_to_scan_cursor(S("+"), &v));
}

/* ---- ll_to_str / ull_to_str ---------------------------------------------------- */

static void test_ll_to_str(void **state)
{
    (void)state;
    char buf[LL_STR_MAX], ref[32];
    static const long long vals[] = {0,
                                     1,
                                     -1,
                                     9,
                                     10,
                                     99,
                                     100,
                                     -100,
                                     12345,
                                     1000000007,
                                     LLONG_MAX,
                                     LLONG_MIN,
                                     LLONG_MIN + 1,
                                     4294967296LL};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        size_t n = ll_to_str(buf, vals[i]);
        snprintf(ref, sizeof(ref), "%lld", vals[i]);
        assert_int_equal(n, strlen(ref));
        assert_string_equal(buf, ref);
    }
    assert_int_equal(ll_to_str(buf, LLONG_MIN), 20);
    assert_int_equal(ull_to_str(buf, ULLONG_MAX), 20);
    assert_string_equal(buf, "18446744073709551615");
    /* Every power of ten and its neighbours, and a random sample. */
    unsigned long long p = 1;
    for (int i = 0; i < 20; i++, p *= 10) {
        for (int d = -1; d <= 1; d++) {
            unsigned long long x = p + (unsigned long long)d;
            ull_to_str(buf, x);
            snprintf(ref, sizeof(ref), "%llu", x);
            assert_string_equal(buf, ref);
        }
    }
    rng_seed(7);
    for (int i = 0; i < 100000; i++) {
        long long x = (long long)rng_next() >> (rng_next() % 64);
        size_t n = ll_to_str(buf, x);
        long long back;
        assert_true(str_to_ll(buf, n, &back));
        assert_true(back == x);
    }
}

/* ---- floats ------------------------------------------------------------------- */

static void test_str_to_ld(void **state)
{
    (void)state;
    long double v;
    /* redis 7.0.15 INCRBYFLOAT argument acceptance. */
    assert_true(str_to_ld(S("10.5"), &v));
    assert_true(v == 10.5L);
    assert_true(str_to_ld(S("3.0e3"), &v));
    assert_true(v == 3000.0L);
    assert_true(str_to_ld(S("+1"), &v));
    assert_true(v == 1.0L);
    assert_true(str_to_ld(S("0x10"), &v));
    assert_true(v == 16.0L);
    assert_true(str_to_ld(S(".5"), &v));
    assert_true(str_to_ld(S("5."), &v));
    assert_true(str_to_ld(S("-0"), &v));
    assert_true(str_to_ld(S("inf"), &v)); /* then "increment would produce NaN or Infinity" */
    assert_true(isinf(v));
    assert_true(str_to_ld(S("-infinity"), &v));
    assert_true(str_to_ld(S("1e-4940"), &v)); /* denormal long double */
    assert_false(str_to_ld(S(" 1"), &v));
    assert_false(str_to_ld(S("1 "), &v));
    assert_false(str_to_ld(S("nan"), &v));
    assert_false(str_to_ld(S(""), &v));
    assert_false(str_to_ld(S("1e"), &v));
    assert_false(str_to_ld(S("abc"), &v));
    assert_false(str_to_ld(S("1e5000"), &v));
    assert_false(str_to_ld(S("1e-5000"), &v));
    assert_false(str_to_ld("1\0x", 3, &v));
    /* Length limit: 5119 bytes accepted, 5120 rejected. */
    char *big = malloc(LD_STR_MAX + 8);
    big[0] = '1';
    big[1] = '.';
    memset(big + 2, '0', LD_STR_MAX);
    assert_true(str_to_ld(big, LD_STR_MAX - 1, &v));
    assert_true(v == 1.0L);
    assert_false(str_to_ld(big, LD_STR_MAX, &v));
    free(big);
}

static void test_str_to_d(void **state)
{
    (void)state;
    double v;
    /* redis 7.0.15 ZADD score acceptance. */
    assert_true(str_to_d(S("1.5"), &v));
    assert_true(v == 1.5);
    assert_true(str_to_d(S("inf"), &v));
    assert_true(isinf(v) && v > 0);
    assert_true(str_to_d(S("+inf"), &v));
    assert_true(isinf(v) && v > 0);
    assert_true(str_to_d(S("-inf"), &v));
    assert_true(isinf(v) && v < 0);
    assert_true(str_to_d(S("infinity"), &v));
    assert_true(str_to_d(S("-Infinity"), &v));
    assert_true(str_to_d(S("+1"), &v));
    assert_true(str_to_d(S("0x10"), &v));
    assert_true(v == 16.0);
    assert_true(str_to_d(S("-0"), &v));
    assert_true(v == 0 && signbit(v));
    assert_true(str_to_d(S("4.9e-324"), &v));
    assert_true(v > 0);
    assert_true(str_to_d(S("1.7976931348623157e308"), &v));
    assert_false(str_to_d(S("nan"), &v));
    assert_false(str_to_d(S(" 1"), &v));
    assert_false(str_to_d(S("1 "), &v));
    assert_false(str_to_d(S(""), &v));
    assert_false(str_to_d(S("1e400"), &v));
    assert_false(str_to_d(S("1e-400"), &v));
    assert_false(str_to_d("1\0", 2, &v));
    assert_false(str_to_d(S("abc"), &v));
    /* A long argument goes through the heap copy. */
    char big[600];
    memset(big, '0', sizeof(big));
    big[0] = '2';
    big[1] = '.';
    assert_true(str_to_d(big, sizeof(big), &v));
    assert_true(v == 2.0);
    big[sizeof(big) - 1] = 'x';
    assert_false(str_to_d(big, sizeof(big), &v));
}

static void check_ld(long double v, const char *want)
{
    char buf[LD_STR_MAX];
    size_t n = ld_to_str(buf, sizeof(buf), v);
    if (n != strlen(want) || strcmp(buf, want) != 0)
        fail_msg("ld_to_str(%.21Lg) = \"%s\", want \"%s\"", v, buf, want);
}

static void test_ld_to_str(void **state)
{
    (void)state;
    /* redis 7.0.15 INCRBYFLOAT results (from an empty key unless noted). */
    check_ld(10.5L, "10.5");
    check_ld(3.0e3L, "3000");
    check_ld(1.1L + 2.2L, "3.3");
    check_ld(10.0L + 1e-17L, "10.00000000000000001");
    check_ld(5.0e3L + 200.0L, "5200");
    check_ld(0.1L + 0.2L, "0.3");
    check_ld(-0.0L, "0");
    check_ld(1.0L - 1.0L, "0");
    check_ld(-1.0L + 0.5L, "-0.5");
    check_ld(1e20L, "100000000000000000000");
    check_ld(1.23456789012345678L, "1.23456789012345678");
    check_ld(3.14159265358979323846L, "3.14159265358979324");
    check_ld(1e-20L, "0");
    check_ld(123456789.123456789L, "123456789.12345678899873747");
    check_ld(-1e-18L, "0");
    check_ld(0.1L, "0.1");
    check_ld(1e25L + 1.0L, "10000000000000000000000000");
    check_ld(1.5e-17L, "0.00000000000000002");
    check_ld(99999999999999999.5L, "99999999999999999.5");
    check_ld(0.999999999999999999L, "1");
    check_ld(12345678901234567890123.0L, "12345678901234567889920");
    check_ld(5.0L + 0.1L, "5.1");
    check_ld(16.0L, "16");
    /* 1e300: 301 integral digits, as redis prints them. */
    char buf[LD_STR_MAX];
    size_t n = ld_to_str(buf, sizeof(buf), 1e300L);
    assert_int_equal(n, 301);
    assert_memory_equal(buf, "1000000000000000000008997324079559193870523944", 46);
    /* The largest long double fits in LD_STR_MAX. */
    assert_true(ld_to_str(buf, sizeof(buf), 1.18e4932L) > 4900);
    assert_int_equal(ld_to_str(buf, sizeof(buf), (long double)INFINITY), 0);
    assert_int_equal(ld_to_str(buf, sizeof(buf), (long double)NAN), 0);
    assert_int_equal(ld_to_str(buf, 4, 12345.0L), 0); /* too small */
}

static void check_d(double v, const char *want)
{
    char buf[D_STR_MAX];
    size_t n = d_to_str(buf, sizeof(buf), v);
    if (n != strlen(want) || strcmp(buf, want) != 0)
        fail_msg("d_to_str(%.17g) = \"%s\", want \"%s\"", v, buf, want);
}

static void test_d_to_str(void **state)
{
    (void)state;
    /* redis 7.0.15 ZSCORE replies. */
    check_d(1.5, "1.5");
    check_d(0.1, "0.10000000000000001");
    check_d(1e20, "1e+20");
    check_d(3.0, "3");
    check_d(INFINITY, "inf");
    check_d(-INFINITY, "-inf");
    check_d(-0.0, "-0"); /* skiplist encoding; listpack stores it as 0 */
    check_d(0.0, "0");
    check_d(4.9e-324, "4.9406564584124654e-324");
    check_d(123456789012345678.0, "1.2345678901234568e+17");
    check_d(4503599627370496.0, "4503599627370496");
    check_d(4503599627370495.5, "4503599627370495.5");
    check_d(1e15, "1000000000000000");
    check_d(1e16, "10000000000000000");
    check_d(2.5e-5, "2.5000000000000001e-05");
    check_d(1.7976931348623157e308, "1.7976931348623157e+308");
    check_d(100.0, "100");
    check_d(-100.25, "-100.25");
    check_d(0.30000000000000004, "0.30000000000000004");
    check_d(1e-5, "1.0000000000000001e-05");
    check_d(1e-4, "0.0001");
    check_d(0.0001234, "0.00012339999999999999");
    check_d(1e21, "1e+21");
    check_d(-4503599627370495.0, "-4503599627370495");
    check_d(-4503599627370496.0, "-4503599627370496");
    check_d(9007199254740993.0, "9007199254740992");
    check_d(1e100, "1e+100");
    check_d(123.456, "123.456");
    check_d(0.1 + 0.2, "0.30000000000000004"); /* ZINCRBY 0.1 then 0.2 */
    char buf[4];
    assert_int_equal(d_to_str(buf, sizeof(buf), 0.1), 0);
}

/* ---- glob ------------------------------------------------------------------- */

static int gm(const char *p, const char *s)
{
    return glob_match(p, strlen(p), s, strlen(s), 0);
}

static void test_glob_basic(void **state)
{
    (void)state;
    assert_true(gm("h?llo", "hello"));
    assert_true(gm("h*llo", "heeeello"));
    assert_true(gm("h*llo", "hllo"));
    assert_true(gm("h[ae]llo", "hallo"));
    assert_false(gm("h[ae]llo", "hillo"));
    assert_true(gm("h[^e]llo", "hallo"));
    assert_false(gm("h[^e]llo", "hello"));
    assert_true(gm("h[a-b]llo", "hbllo"));
    assert_false(gm("h[a-b]llo", "hcllo"));
    assert_true(gm("h[b-a]llo", "hallo")); /* reversed range */
    assert_true(gm("\\*", "*"));
    assert_false(gm("\\*", "a"));
    assert_true(gm("a\\", "a\\")); /* trailing backslash is literal */
    assert_true(gm("*", "anything"));
    assert_true(gm("**a**", "bab"));
    assert_true(gm("user:*:name", "user:1000:name"));
    assert_false(gm("user:*:name", "user:1000:nam"));
    assert_true(gm("", ""));
    assert_false(gm("", "a"));
    assert_false(gm("a", ""));
    assert_false(gm("*", "")); /* redis: the empty key never matches "*"-only */
    assert_false(gm("**", ""));
    assert_true(gm("a*", "a"));
    assert_true(gm("a**", "a"));
    assert_true(gm("*a*b*c*", "xxaxxbxxcxx"));
    assert_false(gm("*a*b*c*d", "xxaxxbxxcxx"));
}

/* KEYS <pattern> over these keys on redis 7.0.15; want[] lists the matches. */
static const char *const quirk_keys[] = {"a",    "d", "[", "x", "]",   "^",     "-", "\\", "z",
                                         "\xff", "",  "B", "b", "a\\", "hallo", "*", "{"};
/* quirk_keys[10] stands for the one-byte key "\0". */
static size_t quirk_key(size_t i, const char **k)
{
    *k = i == 10 ? "\0" : quirk_keys[i];
    return i == 10 ? 1 : strlen(quirk_keys[i]);
}

static void check_glob_set(const char *pat, size_t plen, const char *want)
{
    char got[64] = {0};
    size_t g = 0;
    for (size_t i = 0; i < sizeof(quirk_keys) / sizeof(quirk_keys[0]); i++) {
        const char *k;
        size_t klen = quirk_key(i, &k);
        if (glob_match(pat, plen, k, klen, 0))
            got[g++] = (char)('A' + i);
    }
    if (strcmp(got, want) != 0)
        fail_msg("pattern \"%.*s\": matched %s, want %s", (int)plen, pat, got, want);
}

static void test_glob_quirks(void **state)
{
    (void)state;
    /* Key letters: A=a B=d C=[ D=x E=] F=^ G=- H=\ I=z J=\xff K=\0 L=B M=b
     * N=a\ O=hallo P=* Q={ */
    check_glob_set(S("[abc"), "AM"); /* unterminated class runs to the end */
    check_glob_set(S("["), "");      /* empty unterminated class: nothing */
    check_glob_set(S("[^"), "ABCDEFGHIJKLMPQ");
    check_glob_set(S("[a-]"), "AEF");      /* the range ']'..'a' */
    check_glob_set(S("[a-]xyz"), "ADEFI"); /* ...which then swallows "xyz" */
    check_glob_set(S("[\\]]"), "E");
    check_glob_set(S("[\\\\]"), "H");
    check_glob_set(S("[]"), "");
    check_glob_set(S("[]]"), "");
    check_glob_set(S("[]a]"), "");
    check_glob_set(S("a[]"), "");
    check_glob_set(S("[a-\xff]"), "ACEFGHJKLP"); /* signed bytes: -1..'a' */
    check_glob_set(S("[\xff-a]"), "ACEFGHJKLP");
    check_glob_set(S("a\\"), "N"); /* trailing backslash is literal */
    check_glob_set(S("\\*"), "P");
    check_glob_set(S("[]-a]"), "");
    check_glob_set(S("[^]"), "ABCDEFGHIJKLMPQ");
    check_glob_set(S("[a-c-z]"), "AGIM");
    check_glob_set(S("[!a]"), "A"); /* '!' is not negation */
}

static void test_glob_nocase(void **state)
{
    (void)state;
    assert_true(glob_match(S("HeLLo*"), S("hello world"), 1));
    assert_false(glob_match(S("HeLLo*"), S("hello world"), 0));
    assert_true(glob_match(S("[A-C]x"), S("bX"), 1));
    assert_true(glob_match(S("[abc]"), S("B"), 1));
    assert_false(glob_match(S("[\\B]"), S("b"), 1)); /* escapes compare exactly */
    assert_true(glob_match(S("\\H"), S("h"), 1));
    assert_true(glob_match(S("[^a]"), S("B"), 1));
    assert_false(glob_match(S("[^b]"), S("B"), 1));
    /* CONFIG GET (nocase) on redis 7.0.15: "\\Maxmemor?" and "[^\\M]axmemory-polic?"
     * match, "[\\M]axmemor?" and "[^M]axmemory-polic?" do not. */
    assert_true(glob_match(S("\\Maxmemor?"), S("maxmemory"), 1));
    assert_false(glob_match(S("[\\M]axmemor?"), S("maxmemory"), 1));
    assert_false(glob_match(S("[^M]axmemory-polic?"), S("maxmemory-policy"), 1));
    assert_true(glob_match(S("[^\\M]axmemory-polic?"), S("maxmemory-policy"), 1));
}

static void test_glob_limits(void **state)
{
    (void)state;
    /* redis 7.0.15 stops matching past 1000 nested '*' groups (a final '*'
     * excepted): KEYS with "*a" x 1000 finds "a" x 2000, x 1001 does not. */
    size_t slen = 2000;
    char *s = malloc(slen);
    memset(s, 'a', slen);
    char *p = malloc(2 * 1002 + 2);
    for (int n = 999; n <= 1002; n++) {
        for (int i = 0; i < n; i++) {
            p[2 * i] = '*';
            p[2 * i + 1] = 'a';
        }
        int want = n <= GLOB_MAX_STARS;
        assert_int_equal(glob_match(p, 2 * (size_t)n, s, slen, 0), want);
        p[2 * n] = '*';
        /* With a final '*' added: "*a" x 1000 + "*" matches, x 1001 + "*" not. */
        assert_int_equal(glob_match(p, 2 * (size_t)n + 1, s, slen, 0), want);
    }
    free(p);
    /* Pathological backtracking stays polynomial: a*a*...a*b on a long run of
     * 'a' (exponential for naive recursion). */
    char pat[201];
    for (int i = 0; i < 100; i++) {
        pat[2 * i] = 'a';
        pat[2 * i + 1] = '*';
    }
    pat[199] = 'b';
    pat[200] = '\0';
    uint64_t t0 = time_mono_us();
    assert_false(glob_match(pat, 200, s, slen, 0));
    assert_true(time_mono_us() - t0 < 2000000);
    free(s);
}

/* ---- rng, time ------------------------------------------------------------- */

static void test_rng(void **state)
{
    (void)state;
    rng_seed(12345);
    uint64_t a1 = rng_next(), a2 = rng_next();
    rng_seed(12345);
    assert_true(rng_next() == a1);
    assert_true(rng_next() == a2);
    rng_seed(12346);
    assert_true(rng_next() != a1);
    char hex[41];
    memset(hex, 0, sizeof(hex));
    rng_hex(hex, 40);
    assert_int_equal(strlen(hex), 40);
    assert_int_equal(strspn(hex, "0123456789abcdef"), 40);
    char hex2[41] = {0};
    rng_hex(hex2, 40);
    assert_string_not_equal(hex, hex2);
    /* Rough uniformity of the low bits. */
    int buckets[16] = {0};
    for (int i = 0; i < 160000; i++)
        buckets[rng_next() & 15]++;
    for (int i = 0; i < 16; i++)
        assert_true(buckets[i] > 9000 && buckets[i] < 11000);
}

static void test_time(void **state)
{
    (void)state;
    uint64_t ms = time_ms(), us = time_us();
    assert_true(ms > 1600000000000ULL);
    assert_true(us / 1000 >= ms - 1 && us / 1000 <= ms + 1000);
    uint64_t m1 = time_mono_us(), m2 = time_mono_us();
    assert_true(m2 >= m1);
}

/* ---- CRC ------------------------------------------------------------------- */

static void test_crc16(void **state)
{
    (void)state;
    assert_int_equal(crc16_xmodem("123456789", 9), 0x31C3);
    assert_int_equal(crc16_xmodem("", 0), 0);
    /* redis 7.0.15 CLUSTER KEYSLOT. */
    assert_int_equal(key_hash_slot(S("foo")), 12182);
    assert_int_equal(key_hash_slot(S("bar")), 5061);
    assert_int_equal(key_hash_slot(S("k1")), 12706);
    assert_int_equal(key_hash_slot(S("{user1000}.following")), 3443);
    assert_int_equal(key_hash_slot(S("{user1000}.followers")), 3443);
    assert_int_equal(key_hash_slot(S("foo{}{bar}")), 8363);
    assert_int_equal(key_hash_slot(S("foo{}{bar}")), crc16_xmodem("foo{}{bar}", 10) & 16383);
    assert_int_equal(key_hash_slot(S("foo{{bar}}zap")), 4015);
    assert_int_equal(key_hash_slot(S("foo{{bar}}zap")), crc16_xmodem("{bar", 4) & 16383);
    assert_int_equal(key_hash_slot(S("")), 0);
    assert_int_equal(key_hash_slot(S("{}")), 15257);
    assert_int_equal(key_hash_slot(S("{a")), 10276);
    assert_int_equal(key_hash_slot(S("a}b{c}")), 7365);
    assert_int_equal(key_hash_slot(S("{{}}")), 4092);
    assert_int_equal(key_hash_slot(S("}{x}")), 16287);
    assert_int_equal(key_hash_slot(S("a{b}c{d}")), 3300);
    assert_int_equal(key_hash_slot(S("123456789")), 12739);
    /* Only len bytes count: the tag's '}' past len is not seen. */
    assert_int_equal(key_hash_slot("{ab}", 3), crc16_xmodem("{ab", 3) & 16383);
}

static uint64_t crc64_bitwise(const unsigned char *p, size_t len)
{
    uint64_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 1) ? (crc >> 1) ^ 0x95ac9329ac4bc9b5ULL : crc >> 1;
    }
    return crc;
}

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void test_crc64(void **state)
{
    (void)state;
    assert_true(crc64_jones(0, "123456789", 9) == 0xe9c6d914c4b8d9caULL);
    assert_true(crc64_jones(0, "", 0) == 0);
    /* Chunked == whole, for every split and alignment. */
    unsigned char data[300];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 131 + 7);
    uint64_t whole = crc64_jones(0, data, sizeof(data));
    assert_true(whole == crc64_bitwise(data, sizeof(data)));
    for (size_t off = 0; off < 9; off++)
        for (size_t split = 0; split + off <= 64; split++) {
            uint64_t c = crc64_jones(0, data + off, split);
            c = crc64_jones(c, data + off + split, sizeof(data) - off - split);
            assert_true(c == crc64_bitwise(data + off, sizeof(data) - off));
        }
    /* redis 7.0.15 DUMP payloads: the trailer is the CRC of what precedes it. */
    static const unsigned char dump_str[] = "\x00\x0bhello world\x0a\x00"
                                            "\x0b\xfcI\xb9\xa6\xc7\xa0"
                                            "4";
    assert_true(crc64_jones(0, dump_str, 15) == le64(dump_str + 15));
    static const unsigned char dump_list[] = "\x12\x01\x02\x10\x10\x00\x00\x00\x03\x00\x81"
                                             "a\x02\x81"
                                             "b\x02\x81"
                                             "c\x02\xff\x0a\x00"
                                             "\xc8\x18\xb9\x0c\x95"
                                             "3R\x9e";
    assert_true(crc64_jones(0, dump_list, 22) == le64(dump_list + 22));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str_to_ll_accepts),
        cmocka_unit_test(test_str_to_ll_rejects),
        cmocka_unit_test(test_str_to_ull),
        cmocka_unit_test(test_str_to_scan_cursor),
        cmocka_unit_test(test_ll_to_str),
        cmocka_unit_test(test_str_to_ld),
        cmocka_unit_test(test_str_to_d),
        cmocka_unit_test(test_ld_to_str),
        cmocka_unit_test(test_d_to_str),
        cmocka_unit_test(test_glob_basic),
        cmocka_unit_test(test_glob_quirks),
        cmocka_unit_test(test_glob_nocase),
        cmocka_unit_test(test_glob_limits),
        cmocka_unit_test(test_rng),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_crc16),
        cmocka_unit_test(test_crc64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
