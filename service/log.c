/* Structured logging: one JSON object per line on stderr. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0) return i;
    return -1;
}

void log_set_level(enum log_level level)
{
    min_level = level;
}

bool log_enabled(enum log_level level)
{
    return level >= min_level;
}

void log_line(enum log_level level, const char *msg, const char *extra)
{
    if (!log_enabled(level)) return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct buf b = {0};
    buf_puts(&b, "{\"ts\":");
    buf_json_time(&b, (int64_t)tv.tv_sec * 1000000 + tv.tv_usec);
    buf_puts(&b, ",\"level\":\"");
    buf_puts(&b, level_names[level]);
    buf_puts(&b, "\",\"msg\":");
    buf_json_str(&b, msg);
    if (extra && *extra) {
        buf_putc(&b, ',');
        buf_puts(&b, extra);
    }
    buf_puts(&b, "}\n");
    /* One write per line keeps lines from concurrent threads whole. */
    ssize_t w = write(STDERR_FILENO, b.data, b.len);
    (void)w;
    buf_free(&b);
}

void log_msgf(enum log_level level, const char *fmt, ...)
{
    if (!log_enabled(level)) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_line(level, msg, NULL);
}
