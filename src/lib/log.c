/*
 * log.c — writes Redis-format log lines (see log.h). One line per write(2) so
 * lines from a forked child never interleave mid-line.
 */
#include "log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int log_fd = STDOUT_FILENO;
static int log_level = LOG_NOTICE;
static char log_role = 'M';

int log_open(const char *path)
{
    if (path == NULL || path[0] == '\0') {
        log_fd = STDOUT_FILENO;
        return 0;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    if (log_fd != STDOUT_FILENO)
        close(log_fd);
    log_fd = fd;
    return 0;
}

void log_set_level(int level) { log_level = level; }
int log_get_level(void) { return log_level; }
void log_set_role(char role) { log_role = role; }

void log_msg(int level, const char *fmt, ...)
{
    int raw = level & LOG_RAW;
    level &= ~LOG_RAW;
    if (level < log_level)
        return;
    char line[8192];
    size_t n = 0;
    if (!raw) {
        static const char marks[] = ".-*#";
        struct timeval tv;
        gettimeofday(&tv, NULL);
        struct tm tm;
        localtime_r(&tv.tv_sec, &tm);
        n = (size_t)snprintf(line, sizeof(line), "%d:%c ", (int)getpid(), log_role);
        n += strftime(line + n, sizeof(line) - n, "%d %b %Y %H:%M:%S.", &tm);
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%03d %c ", (int)(tv.tv_usec / 1000),
                              marks[level & 3]);
    }
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += (size_t)m < sizeof(line) - n - 1 ? (size_t)m : sizeof(line) - n - 2;
    line[n++] = '\n';
    ssize_t w = write(log_fd, line, n);
    (void)w;
}
