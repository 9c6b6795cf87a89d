/*
 * ed_log.h — one-line, thread-safe logging to stderr with a level threshold.
 */
#ifndef ED_LOG_H
#define ED_LOG_H

/* Log levels, as in syslog. */
typedef enum { ED_LOG_ERROR = 3, ED_LOG_WARN = 4, ED_LOG_INFO = 6, ED_LOG_DEBUG = 7 } ed_log_level_t;

/* Sets the process-wide log threshold (default ED_LOG_INFO; env EDDY_LOG=debug
 * raises it). Call before the runtime starts; read-only afterwards. */
void ed_log_set_level(ed_log_level_t level);

/* Writes one line "eddy: <UTC ISO-8601 time> <LEVEL> [<who>] <message>" to stderr, atomically
 * (one write(2) per line). `who` names the actor or module; may be NULL. */
void ed_log(ed_log_level_t level, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define ED_LOG_E(who, ...) ed_log(ED_LOG_ERROR, who, __VA_ARGS__)
#define ED_LOG_W(who, ...) ed_log(ED_LOG_WARN, who, __VA_ARGS__)
#define ED_LOG_I(who, ...) ed_log(ED_LOG_INFO, who, __VA_ARGS__)
#define ED_LOG_D(who, ...) ed_log(ED_LOG_DEBUG, who, __VA_ARGS__)

#endif
