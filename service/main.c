/* The convstore command line: serve, migrate, org create. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "hub.h"
#include "live.h"
#include "config.h"
#include "db/checkpoints.h"
#include "db/agui.h"
#include "db/events.h"
#include "db/idempotency.h"
#include "db/keys.h"
#include "db/runs.h"
#include "db/steps.h"
#include "log.h"
#include "migrate.h"
#include "pool.h"
#include "retention.h"
#include "server.h"

static bool need_database(void)
{
    if (cfg.database_url && *cfg.database_url) return true;
    fprintf(stderr, "convstore: set CONVSTORE_DATABASE_URL or DATABASE_URL (or --database-url)\n");
    return false;
}

/* Applies migrations (when asked) and checks the schema is one this binary can serve. */
static bool prepare_schema(bool apply)
{
    PGconn *pg = db_connect(cfg.database_url);
    if (!pg) return false;
    bool ok = apply ? migrate_apply(pg) : true;
    int current = migrate_current(pg);
    PQfinish(pg);
    if (!ok || current < 0) return false;
    if (current > migrate_latest_known()) {
        log_msgf(LOG_ERROR, "database schema version %d is newer than this binary knows (%d)",
                 current, migrate_latest_known());
        return false;
    }
    if (current < migrate_latest_known())
        log_msgf(LOG_WARN, "database schema version %d is behind (%d); run convstore migrate",
                 current, migrate_latest_known());
    return true;
}

static int cmd_serve(void)
{
    if (!need_database() || !prepare_schema(cfg.auto_migrate)) return 1;
    if (!db_pool_init(cfg.database_url, cfg.pool_size, cfg.pool_timeout_ms,
                      cfg.statement_timeout_ms))
        return 1;
    /* Handle SIGINT/SIGTERM in this thread only: block them before any thread starts. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    auth_cache_start(cfg.auth_cache_ttl_ms);
    live_start(cfg.database_url);
    retention_start(cfg.checkpoint_sweep_ms);
    if (!server_start()) return 1;
    int sig = 0;
    sigwait(&set, &sig);
    log_msgf(LOG_INFO, "stopping on signal %d", sig);
    hub_shutdown(); /* ends every live stream, so the server's threads can finish */
    server_stop();
    retention_stop();
    live_stop();
    db_pool_shutdown();
    log_line(LOG_INFO, "stopped", NULL);
    return 0;
}

static int cmd_migrate(void)
{
    if (!need_database()) return 1;
    return prepare_schema(true) ? 0 : 1;
}

static int cmd_org_create(const char *name)
{
    if (!need_database()) return 1;
    if (!*name || strlen(name) > 200) {
        fprintf(stderr, "convstore: org name must be 1-200 characters\n");
        return 1;
    }
    if (!db_pool_init(cfg.database_url, 1, 5000, cfg.statement_timeout_ms)) return 1;
    char key[KEY_LEN + 1], hash[KEY_HASH_HEX_LEN + 1], org_id[37], key_id[37];
    char prefix[KEY_DISPLAY_PREFIX + 1];
    if (!auth_new_key(key, hash)) return 1;
    auth_uuid(org_id);
    auth_uuid(key_id);
    memcpy(prefix, key, KEY_DISPLAY_PREFIX);
    prefix[KEY_DISPLAY_PREFIX] = '\0';
    enum db_qs qs = keys_db_create_org(org_id, name, key_id, prefix, hash);
    db_pool_shutdown();
    if (qs < 0) {
        fprintf(stderr, "convstore: could not create the org (is the schema migrated?)\n");
        return 1;
    }
    struct buf b = {0};
    buf_puts(&b, "{\"org_id\":");
    buf_json_str(&b, org_id);
    buf_puts(&b, ",\"name\":");
    buf_json_str(&b, name);
    buf_puts(&b, ",\"api_key\":");
    buf_json_str(&b, key);
    buf_puts(&b, "}\n");
    fputs(b.data, stdout);
    buf_free(&b);
    return 0;
}

/* Prints the SQL of one prepared statement, or the names of all (for benchmarks and review). */
static int cmd_sql(const char *name)
{
    const struct db_stmt *const *files[] = {keys_db_stmts,  threads_db_stmts, messages_db_stmts,
                                            idem_db_stmts,  events_db_stmts,  runs_db_stmts,
                                            steps_db_stmts, agui_db_stmts};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++)
        for (const struct db_stmt *const *st = files[f]; *st; st++) {
            if (!name)
                printf("%s\n", (*st)->name);
            else if (!strcmp(name, (*st)->name)) {
                printf("%s\n", (*st)->sql);
                return 0;
            }
        }
    if (!name) return 0;
    fprintf(stderr, "convstore: no statement named %s (convstore sql lists them)\n", name);
    return 1;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            config_load(&argc, argv);
            config_print_help(argv[0]);
            return 0;
        }
    if (!config_load(&argc, argv)) return 2;
    if (argc >= 2 && !strcmp(argv[1], "serve") && argc == 2) return cmd_serve();
    if (argc >= 2 && !strcmp(argv[1], "migrate") && argc == 2) return cmd_migrate();
    if (argc >= 2 && argc <= 3 && !strcmp(argv[1], "sql"))
        return cmd_sql(argc == 3 ? argv[2] : NULL);
    if (argc == 4 && !strcmp(argv[1], "org") && !strcmp(argv[2], "create"))
        return cmd_org_create(argv[3]);
    config_print_help(argv[0]);
    return 2;
}
