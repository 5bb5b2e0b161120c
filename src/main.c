/*
 * main.c — the process entry: argv → config → daemonize → logging → server.
 *
 * Accepts redis-server's command line: [config-file] [--directive value ...],
 * -v/--version, -h/--help. A bad config prints Redis's fatal config error text
 * (file, line, reason) and exits 1.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "lib/dict.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/util.h"
#include "server.h"

static void usage(void)
{
    fprintf(stderr,
            "Usage: ./tessera-server [/path/to/redis.conf] [options] [-]\n"
            "       ./tessera-server - (read config from stdin)\n"
            "       ./tessera-server -v or --version\n"
            "       ./tessera-server -h or --help\n\n"
            "Examples:\n"
            "       ./tessera-server (run the server with default conf)\n"
            "       ./tessera-server /etc/redis/6379.conf\n"
            "       ./tessera-server --port 7777\n"
            "       ./tessera-server /etc/myredis.conf --loglevel verbose -\n"
            "       ./tessera-server --cluster-enabled yes --appendonly yes --port 6381\n");
}

static void version(void)
{
    printf("Tessera server v=%s (Redis %s compatible) malloc=%s bits=%d\n", TESSERA_VERSION,
           REDIS_COMPAT_VERSION, mem_allocator_name(), (int)(sizeof(long) * 8));
}

static void seed_randomness(void)
{
    uint64_t seed[2] = {0, 0};
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, seed, sizeof(seed));
        (void)n;
        close(fd);
    }
    seed[0] ^= time_us() ^ ((uint64_t)getpid() << 32);
    rng_seed(seed[0]);
    dict_set_seed(seed[1] ^ rng_next());
}

static void daemonize(void)
{
    if (fork() != 0)
        exit(0);
    setsid();
    int fd = open("/dev/null", O_RDWR, 0);
    if (fd != -1) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO)
            close(fd);
    }
}

static void startup_banner(server_t *srv)
{
    log_notice("oO0OoO0OoO0Oo Tessera is starting oO0OoO0OoO0Oo");
    log_notice("Tessera version=%s (Redis %s compatible), bits=%d, pid=%d, just started",
               TESSERA_VERSION, REDIS_COMPAT_VERSION, (int)(sizeof(long) * 8), (int)getpid());
    if (srv->config_file == NULL)
        log_warning("Warning: no config file specified, using the default config. In order to "
                    "specify a config file use %s /path/to/redis.conf",
                    srv->executable);
    else
        log_notice("Configuration loaded");
    log_notice("monotonic clock: POSIX clock_gettime");
    log_notice("Running mode=%s, port=%d.", srv->cfg.cluster_enabled ? "cluster" : "standalone",
               srv->cfg.port);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version"))) {
        version();
        return 0;
    }
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage();
        return 0;
    }
    seed_randomness();
    static server_t srv;
    config_init(&srv.cfg);
    config_err_t err;
    if (config_load_argv(&srv.cfg, argc - 1, argv + 1, &srv.config_file, &err) != 0) {
        config_err_print(&err);
        return 1;
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    srv.executable = mem_strdup(n > 0 ? (exe[n] = '\0', exe) : argv[0]);
    if (srv.cfg.daemonize)
        daemonize();
    if (log_open(srv.cfg.logfile) != 0) {
        fprintf(stderr, "Can't open the log file: %s\n", srv.cfg.logfile);
        return 1;
    }
    log_set_level(srv.cfg.loglevel);
    startup_banner(&srv);
    uv_loop_t *loop = uv_default_loop();
    if (server_init(&srv, loop) != 0)
        return 1;
    log_notice("Server initialized");
    int rc = server_run(&srv);
    server_deinit(&srv);
    return rc;
}
