/* Configuration from CONVSTORE_* environment variables and the equivalent --flags. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cors.h"
#include "log.h"

struct config cfg;

enum opt_type { OPT_STR, OPT_INT, OPT_SIZE, OPT_BOOL, OPT_ORIGINS };

struct option_def {
    const char *flag; /* without leading -- */
    const char *env;
    enum opt_type type;
    void *target;
    const char *def;
    long min, max;
    const char *help;
};

static const struct option_def options[] = {
    {"database-url", "CONVSTORE_DATABASE_URL", OPT_STR, &cfg.database_url, NULL, 0, 0,
     "libpq connection string or URL (DATABASE_URL is read too)"},
    {"listen", "CONVSTORE_LISTEN", OPT_STR, &cfg.listen, "127.0.0.1:8080", 0, 0,
     "address:port to serve on (port 0 picks a free one)"},
    {"pool-size", "CONVSTORE_POOL_SIZE", OPT_INT, &cfg.pool_size, "8", 1, 512,
     "PostgreSQL connections in the pool"},
    {"pool-timeout-ms", "CONVSTORE_POOL_TIMEOUT_MS", OPT_INT, &cfg.pool_timeout_ms, "1000", 1,
     600000, "longest wait for a pooled connection before answering 503"},
    {"max-body-bytes", "CONVSTORE_MAX_BODY_BYTES", OPT_SIZE, &cfg.max_body_bytes, "1048576", 1024,
     1L << 30, "largest accepted request body (413 above)"},
    {"max-checkpoint-bytes", "CONVSTORE_MAX_CHECKPOINT_BYTES", OPT_SIZE, &cfg.max_checkpoint_bytes,
     "16777216", 1024, 1L << 30,
     "largest accepted checkpoint PUT body (each LangGraph step resends its changed channels)"},
    {"checkpoint-sweep-ms", "CONVSTORE_CHECKPOINT_SWEEP_MS", OPT_INT, &cfg.checkpoint_sweep_ms,
     "60000", 100, 86400000,
     "how often expired checkpoints (PUT with ttl_seconds) are deleted, 100 threads at a time"},
    {"max-connections", "CONVSTORE_MAX_CONNECTIONS", OPT_INT, &cfg.max_connections, "10000", 1,
     1000000, "concurrent HTTP connections"},
    {"connection-timeout", "CONVSTORE_CONNECTION_TIMEOUT", OPT_INT, &cfg.connection_timeout_s, "30",
     1, 86400, "seconds an idle or slow HTTP connection is kept"},
    {"statement-timeout-ms", "CONVSTORE_STATEMENT_TIMEOUT_MS", OPT_INT, &cfg.statement_timeout_ms,
     "5000", 1, 3600000, "PostgreSQL statement_timeout for every query"},
    {"auth-cache-ttl-ms", "CONVSTORE_AUTH_CACHE_TTL_MS", OPT_INT, &cfg.auth_cache_ttl_ms, "60000",
     0, 3600000,
     "how long a resolved API key is remembered (revocations still apply at once; 0: off)"},
    {"sse-ping-ms", "CONVSTORE_SSE_PING_MS", OPT_INT, &cfg.sse_ping_ms, "15000", 100, 3600000,
     "milliseconds between `: ping` comments on an idle event stream"},
    {"cors-origins", "CONVSTORE_CORS_ORIGINS", OPT_ORIGINS, &cfg.cors_origins, NULL, 0, 0,
     "comma-separated origins (scheme://host[:port]) whose pages may call /v1, or * for any"},
    {"log-level", "CONVSTORE_LOG_LEVEL", OPT_STR, &cfg.log_level, "info", 0, 0,
     "debug, info, warn or error"},
    {"auto-migrate", "CONVSTORE_AUTO_MIGRATE", OPT_BOOL, &cfg.auto_migrate, "true", 0, 0,
     "serve applies pending migrations at start (true/false)"},
};
#define NOPTIONS (sizeof options / sizeof options[0])

static bool set_option(const struct option_def *o, const char *value, const char *source)
{
    char *end, why[320] = "";
    switch (o->type) {
    case OPT_STR:
        *(const char **)o->target = value;
        return true;
    case OPT_BOOL:
        if (!strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "yes")) {
            *(bool *)o->target = true;
            return true;
        }
        if (!strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "no")) {
            *(bool *)o->target = false;
            return true;
        }
        break;
    case OPT_INT:
    case OPT_SIZE: {
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end || v < o->min || v > o->max) break;
        if (o->type == OPT_INT)
            *(int *)o->target = (int)v;
        else
            *(size_t *)o->target = (size_t)v;
        return true;
    }
    case OPT_ORIGINS:
        if (!cors_origins_valid(value, why, sizeof why)) break;
        *(const char **)o->target = value;
        return true;
    }
    fprintf(stderr, "convstore: invalid value '%s' for %s%s%s\n", value, source, *why ? ": " : "",
            why);
    return false;
}

bool config_load(int *argc, char **argv)
{
    for (size_t i = 0; i < NOPTIONS; i++)
        if (options[i].def && !set_option(&options[i], options[i].def, "default")) return false;
    const char *dburl = getenv("DATABASE_URL");
    if (dburl && *dburl) cfg.database_url = dburl;
    for (size_t i = 0; i < NOPTIONS; i++) {
        const char *v = getenv(options[i].env);
        if (v && *v && !set_option(&options[i], v, options[i].env)) return false;
    }
    int out = 1;
    for (int a = 1; a < *argc; a++) {
        const char *arg = argv[a];
        const struct option_def *o = NULL;
        const char *value = NULL;
        if (strncmp(arg, "--", 2) == 0) {
            for (size_t i = 0; i < NOPTIONS; i++) {
                size_t fl = strlen(options[i].flag);
                if (strncmp(arg + 2, options[i].flag, fl) == 0 &&
                    (arg[2 + fl] == '=' || arg[2 + fl] == '\0')) {
                    o = &options[i];
                    value = arg[2 + fl] == '=' ? arg + 3 + fl : NULL;
                }
            }
        }
        if (!o) {
            argv[out++] = argv[a];
            continue;
        }
        if (!value) {
            if (a + 1 >= *argc) {
                fprintf(stderr, "convstore: --%s needs a value\n", o->flag);
                return false;
            }
            value = argv[++a];
        }
        if (!set_option(o, value, arg)) return false;
    }
    *argc = out;
    argv[out] = NULL;
    int level = log_level_parse(cfg.log_level);
    if (level < 0) {
        fprintf(stderr, "convstore: log level must be debug, info, warn or error\n");
        return false;
    }
    log_set_level((enum log_level)level);
    return true;
}

void config_print_help(const char *prog)
{
    printf("Usage: %s [options] <command>\n\n"
           "convstore: conversation persistence for AI agents (threads, messages, runs,\n"
           "checkpoints, events) as an HTTP/JSON service over PostgreSQL.\n\n"
           "Commands:\n"
           "  serve               apply pending migrations (unless disabled) and serve HTTP\n"
           "  migrate             apply pending migrations and exit\n"
           "  org create <name>   create an org and print {\"org_id\",\"api_key\"} (an admin key)\n"
           "  sql [name]          list the prepared SQL statements, or print one\n\n"
           "Options (each also an environment variable; flags win):\n",
           prog);
    for (size_t i = 0; i < NOPTIONS; i++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s", options[i].flag);
        printf("  %-24s %-32s %s (default: %s)\n", flag, options[i].env, options[i].help,
               options[i].def ? options[i].def : "none");
    }
    printf("\nDATABASE_URL is used when CONVSTORE_DATABASE_URL is not set.\n");
}
