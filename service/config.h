/* Configuration from CONVSTORE_* environment variables and the equivalent --flags. */
#ifndef CONVSTORE_CONFIG_H
#define CONVSTORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct config {
    const char *database_url;
    const char *listen; /* host:port */
    int pool_size;
    int pool_timeout_ms;
    size_t max_body_bytes;
    size_t max_checkpoint_bytes;
    int checkpoint_sweep_ms;
    int max_connections;
    int connection_timeout_s;
    int statement_timeout_ms;
    const char *log_level;
    bool auto_migrate;
    int auth_cache_ttl_ms;
    int sse_ping_ms;
    const char *cors_origins; /* NULL: no CORS; see service/cors.h */
};

extern struct config cfg;

/*
 * Loads defaults, then the environment, then flags from argv (consumed ones are removed; the
 * remaining arguments are left in argv, count returned through *argc). Returns false with a
 * message on stderr for an invalid value.
 */
bool config_load(int *argc, char **argv);
void config_print_help(const char *prog);

#endif
