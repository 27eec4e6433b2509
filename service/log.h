/* Structured logging: one JSON object per line on stderr. */
#ifndef CONVSTORE_LOG_H
#define CONVSTORE_LOG_H

#include "buf.h"

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Parses "debug|info|warn|error"; returns -1 for anything else. */
int log_level_parse(const char *s);
void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);
/* Writes {"ts","level","msg",<extra>}; extra is NULL or JSON members without braces ("k":v,...). */
void log_line(enum log_level level, const char *msg, const char *extra);
/* printf-style message with no extra members. */
void log_msgf(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
