/*
 * test_config.c — unit tests for src/conf: the redis.conf tokenizer, loading
 * (file, include, command line, stdin), the fatal error report, memory units,
 * the special directives, CONFIG GET/SET (atomicity, error texts, apply) and
 * CONFIG REWRITE.
 *
 * Expected texts marked "redis 7.0.15" were produced by a real redis-server
 * 7.0.15 (loading the same file / command line, or CONFIG GET/SET/REWRITE) and
 * are the compatibility contract.
 */
// clang-format off
/* SOURCES: src/conf/config.c src/conf/config_table.c src/conf/config_types.c src/conf/config_special.c src/conf/config_repl.c src/conf/config_rewrite.c src/lib/mem.c src/lib/util.c src/lib/log.c */
// clang-format on
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/config.h"
#include "lib/log.h"
#include "lib/mem.h"

/* ---- helpers ------------------------------------------------------------------ */

static char tmpdir[256];
static char origdir[4096];

static int setup_dir(void **state)
{
    (void)state;
    if (getcwd(origdir, sizeof(origdir)) == NULL)
        return -1;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/tessera-test-config-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    return chdir(tmpdir);
}

static int teardown_dir(void **state)
{
    (void)state;
    char cmd[600];
    if (chdir(origdir) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The CONFIG GET text of one option. */
static const char *get(const config_t *c, const char *name)
{
    static char buf[1024];
    assert_int_equal(config_get_value(c, name, buf, sizeof(buf)), 0);
    return buf;
}

static int load(config_t *c, const char *text, config_err_t *err)
{
    return config_load_text(c, text, strlen(text), "test.conf", err);
}

/* Loading text must fail at line with the given trimmed text and reason. */
static void expect_load_error(const char *text, int line, const char *shown, const char *reason)
{
    config_t c;
    config_err_t err;
    config_init(&c);
    assert_int_equal(load(&c, text, &err), -1);
    assert_int_equal(err.kind, CONFIG_ERR_LINE);
    assert_int_equal(err.line, line);
    assert_string_equal(err.text, shown);
    assert_string_equal(err.reason, reason);
    config_deinit(&c);
}

static int set1(config_t *c, const char *name, const char *value, char *eb, size_t cap)
{
    const char *n[1] = {name}, *v[1] = {value};
    return config_set(c, 1, n, v, eb, cap);
}

/* ---- tokenizer ---------------------------------------------------------------- */

static int split(const char *s, char ***argv, size_t **lens)
{
    return config_split_line(s, strlen(s), argv, lens);
}

static void test_split_plain(void **state)
{
    (void)state;
    char **argv;
    size_t *lens;
    int argc = split("  port   6379\t\tfoo\r\n", &argv, &lens);
    assert_int_equal(argc, 3);
    assert_string_equal(argv[0], "port");
    assert_string_equal(argv[1], "6379");
    assert_string_equal(argv[2], "foo");
    assert_int_equal(lens[2], 3);
    config_free_args(argc, argv, lens);

    argc = split("   ", &argv, &lens);
    assert_int_equal(argc, 0);
    config_free_args(argc, argv, lens);
    argc = split("", &argv, NULL);
    assert_int_equal(argc, 0);
    config_free_args(argc, argv, NULL);
}

static void test_split_double_quotes(void **state)
{
    (void)state;
    char **argv;
    size_t *lens;
    int argc = split("set \"a b\" \"\\n\\r\\t\\b\\a\\\\\\\"\\z\" \"\"", &argv, &lens);
    assert_int_equal(argc, 4);
    assert_string_equal(argv[1], "a b");
    assert_string_equal(argv[2], "\n\r\t\b\a\\\"z");
    assert_int_equal(lens[3], 0);
    assert_string_equal(argv[3], "");
    config_free_args(argc, argv, lens);

    /* \xHH, including a NUL byte that only lens can show; \x without two hex
     * digits is just an escaped 'x'. */
    argc = split("\"\\x41\\x00\\x7a\" \"\\xZZ\" \"\\x4\"", &argv, &lens);
    assert_int_equal(argc, 3);
    assert_int_equal(lens[0], 3);
    assert_memory_equal(argv[0], "A\0z", 3);
    assert_string_equal(argv[1], "xZZ");
    assert_string_equal(argv[2], "x4");
    config_free_args(argc, argv, lens);

    /* A quote may open in the middle of a word. */
    argc = split("ab\"c d\" e", &argv, NULL);
    assert_int_equal(argc, 2);
    assert_string_equal(argv[0], "abc d");
    config_free_args(argc, argv, NULL);
}

static void test_split_single_quotes(void **state)
{
    (void)state;
    char **argv;
    int argc = split("'a b' 'it\\'s' 'no\\nescape' ''", &argv, NULL);
    assert_int_equal(argc, 4);
    assert_string_equal(argv[0], "a b");
    assert_string_equal(argv[1], "it's");
    assert_string_equal(argv[2], "no\\nescape");
    assert_string_equal(argv[3], "");
    config_free_args(argc, argv, NULL);
}

static void test_split_unbalanced(void **state)
{
    (void)state;
    char **argv;
    size_t *lens;
    const char *bad[] = {"\"abc", "'abc", "\"ab\"c", "'ab'c", "a \"b\\\"", "x \"\\", "\"a\"\"b\""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(split(bad[i], &argv, &lens), -1);
        assert_null(argv);
    }
    /* A closing quote followed by any blank is fine. */
    int argc = split("\"a\"\tb '\\''\n", &argv, NULL);
    assert_int_equal(argc, 3);
    assert_string_equal(argv[2], "'");
    config_free_args(argc, argv, NULL);
}

static void test_split_len_and_nul(void **state)
{
    (void)state;
    char **argv;
    /* Only len bytes are read; a NUL byte ends the input. */
    int argc = config_split_line("abc def", 5, &argv, NULL);
    assert_int_equal(argc, 2);
    assert_string_equal(argv[1], "d");
    config_free_args(argc, argv, NULL);
    argc = config_split_line("ab\0cd", 5, &argv, NULL);
    assert_int_equal(argc, 1);
    assert_string_equal(argv[0], "ab");
    config_free_args(argc, argv, NULL);
}

/* ---- defaults ------------------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    config_t c;
    config_init(&c);
    assert_int_equal(c.port, 6379);
    assert_int_equal(c.nbind, 2);
    assert_string_equal(get(&c, "bind"), "* -::*"); /* redis 7.0.15 */
    assert_int_equal(c.tcp_backlog, 511);
    assert_int_equal(c.tcp_keepalive, 300);
    assert_int_equal(c.loglevel, LOG_NOTICE);
    assert_int_equal(c.databases, 16);
    assert_null(c.requirepass);
    assert_null(c.pidfile);
    assert_string_equal(c.logfile, "");
    assert_int_equal(c.maxclients, 10000);
    assert_int_equal(c.maxmemory_policy, MAXMEMORY_NOEVICTION);
    assert_int_equal(c.proto_max_bulk_len, 512LL * 1024 * 1024);
    assert_int_equal(c.client_query_buffer_limit, 1024ULL * 1024 * 1024);
    assert_string_equal(get(&c, "client-output-buffer-limit"),
                        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
    assert_string_equal(get(&c, "save"), "3600 1 300 100 60 10000");
    assert_int_equal(c.hz, 10);
    assert_int_equal(c.slowlog_log_slower_than, 10000);
    assert_int_equal(c.slowlog_max_len, 128);
    assert_int_equal(c.active_expire_effort, 1);
    assert_string_equal(c.dbfilename, "dump.rdb");
    assert_string_equal(c.dir, tmpdir);
    assert_string_equal(get(&c, "unixsocketperm"), "0");
    assert_string_equal(get(&c, "oom-score-adj-values"), "0 200 800");
    assert_string_equal(get(&c, "appendfsync"), "everysec");
    assert_string_equal(get(&c, "slave-read-only"), "yes");
    config_deinit(&c);
}

/* ---- loading ------------------------------------------------------------------- */

static void test_load_text_override_and_case(void **state)
{
    (void)state;
    config_t c;
    config_err_t err;
    config_init(&c);
    const char *text = "# comment\n\n   \t\n  PORT 7000\r\nport 7001\nLogLevel WARNING\n"
                       "maxmemory 1GB\nbind 127.0.0.1 \"::1\"\nrequirepass \"\"\n"
                       "unixsocketperm 700\nhz 0\nslave-read-only no\n";
    assert_int_equal(load(&c, text, &err), 0);
    assert_int_equal(c.port, 7001);
    assert_int_equal(c.loglevel, LOG_WARNING);
    assert_int_equal(c.maxmemory, 1024ULL * 1024 * 1024);
    assert_string_equal(get(&c, "bind"), "127.0.0.1 ::1");
    assert_null(c.requirepass);
    assert_int_equal(c.unixsocketperm, 0700);
    assert_string_equal(get(&c, "unixsocketperm"), "700");
    assert_int_equal(c.hz, 1); /* clamped, redis 7.0.15 reports 1 */
    assert_int_equal(c.replica_read_only, 0);
    config_deinit(&c);
}

static void test_load_save_lines(void **state)
{
    (void)state;
    config_t c;
    config_err_t err;
    /* The first save line replaces the defaults, later ones add (redis 7.0.15). */
    config_init(&c);
    assert_int_equal(load(&c, "save 100 1\nsave 200 2\n", &err), 0);
    assert_string_equal(get(&c, "save"), "100 1 200 2");
    /* save "" clears, and a later line adds again; a bare save keeps what is there. */
    assert_int_equal(load(&c, "save \"\"\nsave 60 1\nsave\n", &err), 0);
    assert_string_equal(get(&c, "save"), "60 1");
    /* One quoted argument holding several. */
    assert_int_equal(load(&c, "save \"\"\nsave \"900 1 300 10\"\n", &err), 0);
    assert_string_equal(get(&c, "save"), "900 1 300 10");
    config_deinit(&c);
}

static void test_load_include(void **state)
{
    (void)state;
    config_t c;
    config_err_t err;
    write_file("inc1.conf", "port 7100\ntimeout 5\n");
    write_file("conf.d.a.conf", "maxclients 11\n");
    write_file("conf.d.b.conf", "maxclients 12\n");
    write_file("main.conf", "port 7000\ninclude inc1.conf\ntimeout 9\ninclude conf.d.*.conf\n"
                            "include nomatch*.conf\n");
    config_init(&c);
    assert_int_equal(config_load_file(&c, "main.conf", &err), 0);
    assert_int_equal(c.port, 7100);     /* the include came later */
    assert_int_equal(c.timeout, 9);     /* and was overridden after */
    assert_int_equal(c.maxclients, 12); /* glob matches load in order */

    /* An error inside an included file reports that file's line. */
    write_file("bad-inc.conf", "\n\nport abc\n");
    write_file("main2.conf", "port 1\ninclude bad-inc.conf\n");
    assert_int_equal(config_load_file(&c, "main2.conf", &err), -1);
    assert_int_equal(err.line, 3);
    assert_string_equal(err.file, "bad-inc.conf");
    assert_string_equal(err.text, "port abc");

    /* A missing include is an open error. */
    write_file("main3.conf", "include /nonexistent/x.conf\n");
    assert_int_equal(config_load_file(&c, "main3.conf", &err), -1);
    assert_int_equal(err.kind, CONFIG_ERR_OPEN);
    assert_string_equal(err.file, "/nonexistent/x.conf");
    assert_string_equal(err.reason, "No such file or directory");

    /* A self-include stops instead of recursing forever. */
    write_file("loop.conf", "include loop.conf\n");
    assert_int_equal(config_load_file(&c, "loop.conf", &err), -1);
    assert_string_equal(err.reason, "Too many nested include directives");
    config_deinit(&c);
}

static void test_load_errors(void **state)
{
    (void)state;
    /* Every reason below is redis 7.0.15's, for the same line. */
    expect_load_error("# c\nfoo bar\n", 2, "foo bar", "Bad directive or wrong number of arguments");
    expect_load_error("port abc", 1, "port abc", "argument couldn't be parsed into an integer");
    expect_load_error("\n\n  loglevel loud  \n", 3, "loglevel loud",
                      "argument(s) must be one of the following: debug, verbose, notice, warning");
    expect_load_error("maxmemory 1zz", 1, "maxmemory 1zz", "argument must be a memory value");
    expect_load_error("port 1 2", 1, "port 1 2", "wrong number of arguments");
    expect_load_error("save 1", 1, "save 1", "Invalid save parameters");
    expect_load_error("save 0 1", 1, "save 0 1", "Invalid save parameters");
    expect_load_error("save 100 x", 1, "save 100 x", "Invalid save parameters");
    expect_load_error("port 99999", 1, "port 99999",
                      "argument must be between 0 and 65535 inclusive");
    expect_load_error("hz 0\nport -1", 2, "port -1",
                      "argument must be between 0 and 65535 inclusive");
    expect_load_error("port \"abc", 1, "port \"abc", "Unbalanced quotes in configuration line");
    expect_load_error("port \"ab\"c", 1, "port \"ab\"c", "Unbalanced quotes in configuration line");
    expect_load_error("enable-debug-command foo", 1, "enable-debug-command foo",
                      "argument(s) must be one of the following: no, yes, local");
    expect_load_error("unixsocketperm 800", 1, "unixsocketperm 800",
                      "argument couldn't be parsed as an octal number");
    expect_load_error("unixsocketperm 1000", 1, "unixsocketperm 1000",
                      "argument must be between 0 and 777 inclusive");
    expect_load_error("dbfilename a/b", 1, "dbfilename a/b",
                      "dbfilename can't be a path, just a filename");
    expect_load_error("dir /nonexistent-dir", 1, "dir /nonexistent-dir",
                      "No such file or directory");
    expect_load_error("client-output-buffer-limit master 1 2 3", 1,
                      "client-output-buffer-limit master 1 2 3",
                      "Invalid client class specified in buffer limit configuration.");
    expect_load_error("client-output-buffer-limit normal 1 2 -3", 1,
                      "client-output-buffer-limit normal 1 2 -3",
                      "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
    expect_load_error("client-output-buffer-limit normal 1 2", 1,
                      "client-output-buffer-limit normal 1 2",
                      "Wrong number of arguments in buffer limit configuration.");
    expect_load_error("bind 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17", 1,
                      "bind 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17",
                      "Too many bind addresses specified.");
    expect_load_error("oom-score-adj-values 1 2", 1, "oom-score-adj-values 1 2",
                      "wrong number of arguments");
    expect_load_error("oom-score-adj-values 1 2 3000", 1, "oom-score-adj-values 1 2 3000",
                      "Invalid oom-score-adj-values, elements must be between -2000 and 2000.");
    expect_load_error("notify-keyspace-events KEAq", 1, "notify-keyspace-events KEAq",
                      "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
    expect_load_error("proc-title-template \"\"", 1, "proc-title-template \"\"",
                      "template format is invalid or contains unknown variables");
    expect_load_error("protected-mode maybe", 1, "protected-mode maybe",
                      "argument must be 'yes' or 'no'");
    expect_load_error("maxclients 0", 1, "maxclients 0",
                      "argument must be between 1 and 4294967295 inclusive");
    expect_load_error("slowlog-max-len -1", 1, "slowlog-max-len -1",
                      "argument must be between 0 and 9223372036854775807 inclusive");
    expect_load_error("tcp-keepalive 2147483648", 1, "tcp-keepalive 2147483648",
                      "argument must be between 0 and 2147483647 inclusive");
    expect_load_error("requirepass", 1, "requirepass", "wrong number of arguments");
    expect_load_error("dir /tmp /tmp", 1, "dir /tmp /tmp", "wrong number of arguments");
    expect_load_error("daemonize yes no", 1, "daemonize yes no", "wrong number of arguments");
    expect_load_error("supervised x", 1, "supervised x",
                      "argument(s) must be one of the following: upstart, systemd, auto, no");
    expect_load_error("maxmemory-policy LRU", 1, "maxmemory-policy LRU",
                      "argument(s) must be one of the following: volatile-lru, volatile-lfu, "
                      "volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, "
                      "noeviction");
    expect_load_error("include", 1, "include", "Bad directive or wrong number of arguments");
}

static void test_load_argv(void **state)
{
    (void)state;
    config_t c;
    config_err_t err;
    char *file;
    write_file("argv.conf", "port 7000\nmaxmemory 5mb\nsave 10 1\n");
    char *argv1[] = {"argv.conf", "--port",    "7001", "--save",
                     "--bind",    "127.0.0.1", "::1",  "--maxmemory-policy allkeys-lru"};
    config_init(&c);
    assert_int_equal(config_load_argv(&c, 8, argv1, &file, &err), 0);
    char expect[512];
    snprintf(expect, sizeof(expect), "%s/argv.conf", tmpdir);
    assert_string_equal(file, expect);
    mem_free(file);
    assert_int_equal(c.port, 7001);
    assert_int_equal(c.maxmemory, 5ULL * 1024 * 1024);
    assert_int_equal(c.nsave, 0); /* bare --save before another option: save "" */
    assert_string_equal(get(&c, "bind"), "127.0.0.1 ::1");
    assert_int_equal(c.maxmemory_policy, MAXMEMORY_ALLKEYS_LRU);
    config_deinit(&c);

    /* After a value-less --option the next word is its value, even "--x". */
    char *argv2[] = {"--port", "--loglevel"};
    config_init(&c);
    assert_int_equal(config_load_argv(&c, 2, argv2, &file, &err), -1);
    assert_null(file);
    assert_int_equal(err.line, 2); /* redis 7.0.15: the options follow a "\n" */
    assert_string_equal(err.text, "port \"--loglevel\"");
    assert_string_equal(err.reason, "argument couldn't be parsed into an integer");
    config_deinit(&c);

    /* Options are quoted onto their line like Redis's sdscatrepr. */
    char *argv3[] = {"--port", "7000", "--loglevel", "a\"b\x01"};
    config_init(&c);
    assert_int_equal(config_load_argv(&c, 4, argv3, &file, &err), -1);
    assert_int_equal(err.line, 3);
    assert_string_equal(err.text, "loglevel \"a\\\"b\\x01\"");
    config_deinit(&c);

    /* A first word that is not an option is the config file. */
    char *argv4[] = {"missing.conf", "--port", "1"};
    config_init(&c);
    assert_int_equal(config_load_argv(&c, 3, argv4, &file, &err), -1);
    assert_int_equal(err.kind, CONFIG_ERR_OPEN);
    assert_string_equal(err.file, file);
    mem_free(file);
    /* A trailing --save is save "" too. */
    char *argv5[] = {"--save"};
    assert_int_equal(config_load_argv(&c, 1, argv5, &file, &err), 0);
    assert_int_equal(c.nsave, 0);
    config_deinit(&c);
}

static void test_load_argv_stdin(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    const char *text = "port 7300\ntimeout 3\n";
    assert_int_equal(write(fds[1], text, strlen(text)), (ssize_t)strlen(text));
    close(fds[1]);
    int saved = dup(STDIN_FILENO);
    dup2(fds[0], STDIN_FILENO);
    close(fds[0]);
    config_t c;
    config_err_t err;
    char *file;
    char *argv[] = {"-", "--timeout", "4"};
    config_init(&c);
    int rc = config_load_argv(&c, 3, argv, &file, &err);
    dup2(saved, STDIN_FILENO);
    close(saved);
    assert_int_equal(rc, 0);
    assert_null(file);
    assert_int_equal(c.port, 7300);
    assert_int_equal(c.timeout, 4); /* the command line comes after stdin */
    config_deinit(&c);
}

static void test_err_print(void **state)
{
    (void)state;
    config_t c;
    config_err_t err;
    config_init(&c);
    assert_int_equal(load(&c, "# c\nfoo bar\n", &err), -1);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int fd = open("stderr.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, STDERR_FILENO);
    close(fd);
    config_err_print(&err);
    dup2(saved, STDERR_FILENO);
    close(saved);
    /* redis 7.0.15 prints the same bytes with "Redis 7.0.15" as the version. */
    const char *out = read_all("stderr.txt");
    /* Tessera also names the file: "Reading the configuration file <file>, at line 2". */
    const char *tail = ", at line 2\n>>> 'foo bar'\nBad directive or wrong number of arguments\n";
    assert_memory_equal(out, "\n*** FATAL CONFIG FILE ERROR (Tessera ", 38);
    assert_non_null(strstr(out, ") ***\nReading the configuration file"));
    assert_non_null(strstr(out, tail));
    assert_string_equal(strstr(out, tail), tail);
    config_deinit(&c);
}

/* ---- values ------------------------------------------------------------------- */

static void test_memory_units(void **state)
{
    (void)state;
    struct {
        const char *in;
        int ok;
        unsigned long long out;
    } cases[] = {
        {"0", 1, 0},
        {"", 1, 0},
        {"mb", 1, 0},
        {"05", 1, 5},
        {"5b", 1, 5},
        {"5B", 1, 5},
        {"1k", 1, 1000},
        {"1kb", 1, 1024},
        {"5Kb", 1, 5120},
        {"2m", 1, 2000000},
        {"2mb", 1, 2097152},
        {"1g", 1, 1000000000},
        {"1GB", 1, 1073741824ULL},
        {"18446744073709551615", 1, ULLONG_MAX},
        {"18446744073709551616", 1, ULLONG_MAX},
        {"20000000000gb", 1, 3028092406290448384ULL}, /* wraps, redis 7.0.15 */
        {"-1", 0, 0},
        {"+5", 0, 0},
        {" 5", 0, 0},
        {"5 ", 0, 0},
        {"1.5gb", 0, 0},
        {"1zz", 0, 0},
        {"1 gb", 0, 0},
        {"kb5", 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned long long v = 12345;
        int rc = config_parse_memory(cases[i].in, &v);
        if (rc != (cases[i].ok ? 0 : -1))
            fail_msg("config_parse_memory(\"%s\") returned %d", cases[i].in, rc);
        if (cases[i].ok && v != cases[i].out)
            fail_msg("config_parse_memory(\"%s\") = %llu", cases[i].in, v);
    }
}

static void test_obuf_and_save(void **state)
{
    (void)state;
    config_t c;
    config_err_t err;
    char eb[512];
    config_init(&c);
    assert_int_equal(load(&c, "client-output-buffer-limit replica 1gb 2mb 3 pubsub 1 2 3\n", &err),
                     0);
    assert_string_equal(get(&c, "client-output-buffer-limit"),
                        "normal 0 0 0 slave 1073741824 2097152 3 pubsub 1 2 3"); /* redis 7.0.15 */
    assert_int_equal(c.obuf_limits[OBUF_REPLICA].soft, 2097152);
    assert_int_equal(c.obuf_limits[OBUF_PUBSUB].soft_seconds, 3);
    assert_int_equal(set1(&c, "client-output-buffer-limit", "normal 1mb 2k 3", eb, sizeof(eb)), 0);
    assert_string_equal(get(&c, "client-output-buffer-limit"),
                        "normal 1048576 2000 3 slave 1073741824 2097152 3 pubsub 1 2 3");
    /* A bad class anywhere refuses the whole value. */
    assert_int_equal(
        set1(&c, "client-output-buffer-limit", "normal 5 5 5 foo 1 2 3", eb, sizeof(eb)), -1);
    assert_string_equal(eb, "CONFIG SET failed (possibly related to argument "
                            "'client-output-buffer-limit') - Invalid client class specified in "
                            "buffer limit configuration.");
    assert_int_equal(c.obuf_limits[OBUF_NORMAL].hard, 1048576);
    /* An empty value changes nothing and is accepted (redis 7.0.15). */
    assert_int_equal(set1(&c, "client-output-buffer-limit", "", eb, sizeof(eb)), 0);

    assert_int_equal(set1(&c, "save", "10 1 20 2", eb, sizeof(eb)), 0);
    assert_string_equal(get(&c, "save"), "10 1 20 2");
    assert_int_equal(c.nsave, 2);
    assert_int_equal(c.save[1].seconds, 20);
    assert_int_equal(c.save[1].changes, 2);
    /* Double spaces make an empty argument: odd count. */
    assert_int_equal(set1(&c, "save", "3600  1", eb, sizeof(eb)), -1);
    assert_string_equal(eb, "CONFIG SET failed (possibly related to argument 'save') - Invalid "
                            "save parameters");
    assert_int_equal(set1(&c, "save", "", eb, sizeof(eb)), 0);
    assert_string_equal(get(&c, "save"), "");
    config_deinit(&c);
}

static void test_special_values(void **state)
{
    (void)state;
    config_t c;
    char eb[512];
    config_init(&c);
    /* notify-keyspace-events prints normalised (redis 7.0.15). */
    const char *cases[][2] = {
        {"KEA", "AKE"}, {"gx", "gx"}, {"AKEmn", "AKEm"}, {"Kz$", "$zK"}, {"", ""}};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(set1(&c, "notify-keyspace-events", cases[i][0], eb, sizeof(eb)), 0);
        assert_string_equal(get(&c, "notify-keyspace-events"), cases[i][1]);
    }
    assert_int_equal(set1(&c, "notify-keyspace-events", "Ex", eb, sizeof(eb)), 0);
    assert_int_equal(c.notify_keyspace_events, NOTIFY_KEYEVENT | NOTIFY_EXPIRED);
    /* hz clamps into 1..500. */
    assert_int_equal(set1(&c, "hz", "1000", eb, sizeof(eb)), 0);
    assert_string_equal(get(&c, "hz"), "500");
    /* requirepass "" unsets. */
    assert_int_equal(set1(&c, "requirepass", "s3cret", eb, sizeof(eb)), 0);
    assert_string_equal(c.requirepass, "s3cret");
    assert_true(config_is_sensitive("requirepass"));
    assert_false(config_is_sensitive("port"));
    assert_int_equal(set1(&c, "requirepass", "", eb, sizeof(eb)), 0);
    assert_null(c.requirepass);
    assert_string_equal(get(&c, "requirepass"), "");
    /* oom-score-adj "yes" reads back as yes; maxmemory-policy is case-insensitive. */
    assert_int_equal(set1(&c, "oom-score-adj", "yes", eb, sizeof(eb)), 0);
    assert_string_equal(get(&c, "oom-score-adj"), "yes");
    assert_int_equal(set1(&c, "maxmemory-policy", "ALLKEYS-LRU", eb, sizeof(eb)), 0);
    assert_string_equal(get(&c, "maxmemory-policy"), "allkeys-lru");
    /* maxmemory takes the whole unsigned range; memory values print in bytes. */
    assert_int_equal(set1(&c, "maxmemory", "18446744073709551615", eb, sizeof(eb)), 0);
    assert_string_equal(get(&c, "maxmemory"), "18446744073709551615");
    assert_int_equal(set1(&c, "proto-max-bulk-len", "99999999999999999999", eb, sizeof(eb)), -1);
    assert_string_equal(eb, "CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') "
                            "- argument must be between 1048576 and 9223372036854775807 inclusive");
    config_deinit(&c);
}

static void test_set_dir(void **state)
{
    (void)state;
    config_t c;
    char eb[512], cwd[4096];
    config_init(&c);
    mkdir("sub", 0755);
    /* Protected by default (redis 7.0.15). */
    assert_int_equal(set1(&c, "dir", "sub", eb, sizeof(eb)), -1);
    assert_string_equal(eb, "CONFIG SET failed (possibly related to argument 'dir') - can't set "
                            "protected config");
    c.enable_protected_configs = CONFIG_ALLOW_YES;
    assert_int_equal(set1(&c, "dir", "sub", eb, sizeof(eb)), 0);
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    char expect[512];
    snprintf(expect, sizeof(expect), "%s/sub", tmpdir);
    assert_string_equal(cwd, expect);
    assert_string_equal(get(&c, "dir"), expect);
    assert_int_equal(set1(&c, "dir", "/nonexistent-dir", eb, sizeof(eb)), -1);
    assert_string_equal(eb, "CONFIG SET failed (possibly related to argument 'dir') - No such "
                            "file or directory");
    /* A failure later in the same call changes back to the old directory. */
    const char *n[2] = {"dir", "port"}, *v[2] = {tmpdir, "x"};
    assert_int_equal(config_set(&c, 2, n, v, eb, sizeof(eb)), -1);
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_string_equal(cwd, expect);
    assert_int_equal(chdir(tmpdir), 0);
    config_deinit(&c);
}

/* ---- CONFIG GET ----------------------------------------------------------------- */

typedef struct got_s {
    int n;
    char names[256][64];
    char values[256][128];
} got_t;

static void got_cb(void *arg, const char *name, const char *value)
{
    got_t *g = arg;
    assert_true(g->n < 256);
    snprintf(g->names[g->n], 64, "%s", name);
    snprintf(g->values[g->n], 128, "%s", value);
    g->n++;
}

static int got_find(const got_t *g, const char *name)
{
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->names[i], name) == 0)
            return i;
    return -1;
}

static void test_get(void **state)
{
    (void)state;
    config_t c;
    config_init(&c);
    got_t *g = calloc(1, sizeof(*g));
    const char *p1[] = {"PORT"};
    config_get(&c, p1, 1, got_cb, g);
    assert_int_equal(g->n, 1);
    assert_string_equal(g->names[0], "PORT"); /* the caller's spelling, redis 7.0.15 */
    assert_string_equal(g->values[0], "6379");

    memset(g, 0, sizeof(*g));
    const char *p2[] = {"port", "PORT", "p*t", "nosuch"};
    config_get(&c, p2, 4, got_cb, g);
    assert_int_equal(g->n, 1);

    memset(g, 0, sizeof(*g));
    const char *p3[] = {"slave*"};
    config_get(&c, p3, 1, got_cb, g);
    assert_true(got_find(g, "slave-read-only") >= 0);
    assert_true(got_find(g, "slave-priority") >= 0);
    assert_int_equal(got_find(g, "replica-read-only"), -1);

    memset(g, 0, sizeof(*g));
    const char *p4[] = {"*maxmemory*", "max[cm]*"};
    config_get(&c, p4, 2, got_cb, g);
    assert_int_equal(g->n, 5); /* maxmemory, -policy, -samples, -eviction-tenacity, maxclients */
    assert_string_equal(g->values[got_find(g, "maxclients")], "10000");

    memset(g, 0, sizeof(*g));
    const char *p5[] = {"*"};
    config_get(&c, p5, 1, got_cb, g);
    assert_true(g->n > 90);
    assert_string_equal(g->values[got_find(g, "dir")], tmpdir);
    free(g);
    config_deinit(&c);
}

/* ---- CONFIG SET ----------------------------------------------------------------- */

static void test_set_errors(void **state)
{
    (void)state;
    config_t c;
    char eb[512];
    config_init(&c);
    /* redis 7.0.15 texts */
    assert_int_equal(set1(&c, "maxmemory", "1zz", eb, sizeof(eb)), -1);
    assert_string_equal(eb, "CONFIG SET failed (possibly related to argument 'maxmemory') - "
                            "argument must be a memory value");
    assert_int_equal(set1(&c, "foo", "1", eb, sizeof(eb)), -1);
    assert_string_equal(eb, "Unknown option or number of arguments for CONFIG SET - 'foo'");
    assert_int_equal(set1(&c, "DATABASES", "3", eb, sizeof(eb)), -1);
    assert_string_equal(eb, "CONFIG SET failed (possibly related to argument 'DATABASES') - "
                            "can't set immutable config");
    assert_int_equal(set1(&c, "PORT", "abc", eb, sizeof(eb)), -1);
    assert_string_equal(eb, "CONFIG SET failed (possibly related to argument 'port') - argument "
                            "couldn't be parsed into an integer");
    assert_int_equal(set1(&c, "timeout", "-1", eb, sizeof(eb)), -1);
    assert_string_equal(eb, "CONFIG SET failed (possibly related to argument 'timeout') - argument "
                            "must be between 0 and 2147483647 inclusive");
    assert_int_equal(set1(&c, "dbfilename", "x.rdb", eb, sizeof(eb)), -1);
    assert_string_equal(eb, "CONFIG SET failed (possibly related to argument 'dbfilename') - "
                            "can't set protected config");
    const char *immutable[] = {"daemonize", "unixsocket", "enable-debug-command", "tcp-backlog",
                               "pidfile",   "logfile",    "unixsocketperm",       "appendfilename"};
    for (size_t i = 0; i < sizeof(immutable) / sizeof(immutable[0]); i++)
        assert_int_equal(set1(&c, immutable[i], "1", eb, sizeof(eb)), -1);

    /* Precedence: the first problem in argument order wins. */
    const char *n1[2] = {"maxmemory", "foo"}, *v1[2] = {"10mb", "1"};
    assert_int_equal(config_set(&c, 2, n1, v1, eb, sizeof(eb)), -1);
    assert_string_equal(eb, "Unknown option or number of arguments for CONFIG SET - 'foo'");
    const char *n2[3] = {"maxmemory", "databases", "foo"}, *v2[3] = {"10mb", "2", "1"};
    assert_int_equal(config_set(&c, 3, n2, v2, eb, sizeof(eb)), -1);
    assert_string_equal(eb, "CONFIG SET failed (possibly related to argument 'databases') - "
                            "can't set immutable config");
    const char *n3[2] = {"port", "port"}, *v3[2] = {"1", "2"};
    assert_int_equal(config_set(&c, 2, n3, v3, eb, sizeof(eb)), -1);
    assert_string_equal(eb, "CONFIG SET failed (possibly related to argument 'port') - "
                            "duplicate parameter");
    const char *n4[2] = {"slave-priority", "replica-priority"}, *v4[2] = {"1", "2"};
    assert_int_equal(config_set(&c, 2, n4, v4, eb, sizeof(eb)), -1);
    assert_string_equal(eb, "CONFIG SET failed (possibly related to argument 'replica-priority') "
                            "- duplicate parameter");
    assert_int_equal(c.maxmemory, 0);
    config_deinit(&c);
}

static void test_set_atomic(void **state)
{
    (void)state;
    config_t c;
    char eb[512];
    config_init(&c);
    const char *n[4] = {"maxmemory", "save", "bind", "port"};
    const char *v[4] = {"10mb", "1 1", "127.0.0.1", "notaport"};
    assert_int_equal(config_set(&c, 4, n, v, eb, sizeof(eb)), -1);
    assert_string_equal(eb, "CONFIG SET failed (possibly related to argument 'port') - argument "
                            "couldn't be parsed into an integer");
    assert_int_equal(c.maxmemory, 0);
    assert_string_equal(get(&c, "save"), "3600 1 300 100 60 10000");
    assert_string_equal(get(&c, "bind"), "* -::*");
    assert_int_equal(c.port, 6379);
    v[3] = "6380";
    assert_int_equal(config_set(&c, 4, n, v, eb, sizeof(eb)), 0);
    assert_int_equal(c.maxmemory, 10ULL * 1024 * 1024);
    assert_string_equal(get(&c, "save"), "1 1");
    assert_string_equal(get(&c, "bind"), "127.0.0.1");
    assert_int_equal(c.port, 6380);
    config_deinit(&c);
}

typedef struct apply_log_s {
    int calls[8];
    int order[16];
    int n;
    int fail_what;
} apply_log_t;

static int apply_cb(void *arg, int what, const config_t *c, const char **err)
{
    apply_log_t *l = arg;
    l->calls[what]++;
    l->order[l->n++] = what;
    if (what == l->fail_what && c->port == 1) {
        *err = "Unable to listen on this port";
        return -1;
    }
    return 0;
}

static void test_set_apply(void **state)
{
    (void)state;
    config_t c;
    char eb[512];
    config_init(&c);
    apply_log_t log = {.fail_what = CONFIG_APPLY_LISTEN};
    /* One call per distinct class, in first-appearance order; unchanged values
     * apply nothing. */
    const char *n1[4] = {"maxmemory", "port", "bind", "hz"},
               *v1[4] = {"1mb", "7000", "1.2.3.4", "10"};
    assert_int_equal(config_set_ex(&c, 4, n1, v1, 0, apply_cb, &log, eb, sizeof(eb)), 0);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.order[0], CONFIG_APPLY_MAXMEMORY);
    assert_int_equal(log.order[1], CONFIG_APPLY_LISTEN);
    assert_int_equal(log.calls[CONFIG_APPLY_HZ], 0);

    /* A failing apply restores every option and re-applies the old values. */
    memset(&log, 0, sizeof(log));
    log.fail_what = CONFIG_APPLY_LISTEN;
    const char *n2[2] = {"timeout", "port"}, *v2[2] = {"30", "1"};
    assert_int_equal(config_set_ex(&c, 2, n2, v2, 0, apply_cb, &log, eb, sizeof(eb)), -1);
    assert_string_equal(eb, "CONFIG SET failed (possibly related to argument 'port') - Unable to "
                            "listen on this port");
    assert_int_equal(c.port, 7000);
    assert_int_equal(c.timeout, 0);
    assert_int_equal(log.calls[CONFIG_APPLY_LISTEN], 2);

    /* enable-protected-configs local allows only local clients. */
    c.enable_protected_configs = CONFIG_ALLOW_LOCAL;
    const char *n3[1] = {"dbfilename"}, *v3[1] = {"x.rdb"};
    assert_int_equal(config_set_ex(&c, 1, n3, v3, 0, NULL, NULL, eb, sizeof(eb)), -1);
    assert_int_equal(config_set_ex(&c, 1, n3, v3, 1, NULL, NULL, eb, sizeof(eb)), 0);
    assert_string_equal(c.dbfilename, "x.rdb");
    config_deinit(&c);
}

/* ---- CONFIG REWRITE ------------------------------------------------------------- */

static void test_rewrite(void **state)
{
    (void)state;
    config_t c;
    config_err_t err;
    char eb[512];
    write_file("inc.conf", "hz 20\n");
    write_file("rw.conf", "# top comment\n\n   # indented comment\nsave 100 1\nsave 200 2\n"
                          "bind 127.0.0.1\nmaxmemory 100mb\n\n\n\ninclude inc.conf\ntimeout 0\n"
                          "timeout 5\nlogfile \"\"\nslave-read-only no\n");
    config_init(&c);
    assert_int_equal(config_load_file(&c, "rw.conf", &err), 0);
    c.enable_protected_configs = CONFIG_ALLOW_YES;
    const char *n[5] = {"bind", "maxmemory", "requirepass", "client-output-buffer-limit",
                        "timeout"};
    const char *v[5] = {"* -::*", "1gb", "a b\"c", "normal 1025 1mb 0", "0"};
    assert_int_equal(config_set(&c, 5, n, v, eb, sizeof(eb)), 0);
    /* A line added by hand after the start is kept, commented out. */
    FILE *f = fopen("rw.conf", "a");
    fputs("weird \"unbalanced\nfoo-unknown 1\n", f);
    fclose(f);
    assert_int_equal(config_rewrite(&c, "rw.conf", eb, sizeof(eb)), 0);
    /* The layout redis 7.0.15 writes for the same file and commands (its extra
     * lines for options we do not have left out). */
    char expect[2048];
    snprintf(expect, sizeof(expect),
             "# top comment\n\n# indented comment\nsave 100 1\nsave 200 2\n\nmaxmemory 1gb\n\n"
             "include inc.conf\ntimeout 0\n\nlogfile \"\"\nreplica-read-only no\n"
             "# ??? weird \"unbalanced\n# ??? foo-unknown 1\n\n# Generated by CONFIG REWRITE\n"
             "dir \"%s\"\nrequirepass \"a b\\\"c\"\nenable-protected-configs yes\nhz 20\n"
             "client-output-buffer-limit normal 1025 1mb 0\n",
             tmpdir);
    assert_string_equal(read_all("rw.conf"), expect);
    struct stat st;
    assert_int_equal(stat("rw.conf", &st), 0);

    /* Back to defaults: the requirepass line goes, bind stays away, save "". */
    const char *n2[2] = {"requirepass", "save"}, *v2[2] = {"", ""};
    assert_int_equal(config_set(&c, 2, n2, v2, eb, sizeof(eb)), 0);
    assert_int_equal(config_rewrite(&c, "rw.conf", eb, sizeof(eb)), 0);
    const char *now = read_all("rw.conf");
    assert_null(strstr(now, "requirepass"));
    assert_non_null(strstr(now, "\nsave \"\"\n\nmaxmemory 1gb\n"));
    assert_null(strstr(now, "save 200 2"));

    /* Round trip: the rewritten file loads back to the same values. */
    config_t c2;
    config_init(&c2);
    assert_int_equal(config_load_file(&c2, "rw.conf", &err), 0);
    const char *check[] = {"maxmemory", "save",
                           "timeout",   "client-output-buffer-limit",
                           "hz",        "replica-read-only",
                           "bind",      "requirepass",
                           "dir"};
    for (size_t i = 0; i < sizeof(check) / sizeof(check[0]); i++) {
        char a[512], b[512];
        config_get_value(&c, check[i], a, sizeof(a));
        config_get_value(&c2, check[i], b, sizeof(b));
        assert_string_equal(a, b);
    }
    config_deinit(&c2);
    config_deinit(&c);
}

static void test_rewrite_new_and_failures(void **state)
{
    (void)state;
    config_t c;
    char eb[512];
    config_init(&c);
    /* A missing file is created: defaults only give dir and the save lines
     * (redis 7.0.15 always writes both). */
    assert_int_equal(config_rewrite(&c, "new.conf", eb, sizeof(eb)), 0);
    char expect[1024];
    snprintf(expect, sizeof(expect),
             "# Generated by CONFIG REWRITE\ndir \"%s\"\nsave 3600 1\nsave 300 100\n"
             "save 60 10000\n",
             tmpdir);
    assert_string_equal(read_all("new.conf"), expect);
    /* A second rewrite of a file ending in a newline adds one blank line, once. */
    assert_int_equal(config_rewrite(&c, "new.conf", eb, sizeof(eb)), 0);
    assert_int_equal(config_rewrite(&c, "new.conf", eb, sizeof(eb)), 0);
    strcat(expect, "\n");
    assert_string_equal(read_all("new.conf"), expect);

    /* Memory values are written with units. */
    assert_int_equal(set1(&c, "maxmemory", "3221225472", eb, sizeof(eb)), 0);
    assert_int_equal(set1(&c, "proto-max-bulk-len", "1049600", eb, sizeof(eb)), 0);
    assert_int_equal(config_rewrite(&c, "new.conf", eb, sizeof(eb)), 0);
    assert_non_null(strstr(read_all("new.conf"), "\nmaxmemory 3gb\n"));
    assert_non_null(strstr(read_all("new.conf"), "\nproto-max-bulk-len 1025kb\n"));

    assert_int_equal(config_rewrite(&c, "/nonexistent-dir/x.conf", eb, sizeof(eb)), -1);
    assert_string_equal(eb, "Rewriting config file: No such file or directory");
    config_deinit(&c);
}

int main(void)
{
    log_open("/dev/null");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_plain),
        cmocka_unit_test(test_split_double_quotes),
        cmocka_unit_test(test_split_single_quotes),
        cmocka_unit_test(test_split_unbalanced),
        cmocka_unit_test(test_split_len_and_nul),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_load_text_override_and_case),
        cmocka_unit_test(test_load_save_lines),
        cmocka_unit_test(test_load_include),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_load_argv),
        cmocka_unit_test(test_load_argv_stdin),
        cmocka_unit_test(test_err_print),
        cmocka_unit_test(test_memory_units),
        cmocka_unit_test(test_obuf_and_save),
        cmocka_unit_test(test_special_values),
        cmocka_unit_test(test_set_dir),
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_set_errors),
        cmocka_unit_test(test_set_atomic),
        cmocka_unit_test(test_set_apply),
        cmocka_unit_test(test_rewrite),
        cmocka_unit_test(test_rewrite_new_and_failures),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
