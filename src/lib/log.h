/*
 * log.h — Redis-format log lines: "pid:R dd Mon yyyy hh:mm:ss.mmm * message".
 * Role char: M master, S replica, C child, X sentinel-like/none.
 * Levels match loglevel: debug(.) verbose(-) notice(*) warning(#).
 */
#ifndef TESSERA_LOG_H
#define TESSERA_LOG_H

enum { LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3, LOG_RAW = 1 << 10 };

/* path NULL or "" logs to stdout. Returns 0, or -1 if the file can't be opened. */
int log_open(const char *path);
void log_set_level(int level);
int log_get_level(void);
void log_set_role(char role);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_verbose(...) log_msg(LOG_VERBOSE, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)

#endif
