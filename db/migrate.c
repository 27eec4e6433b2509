/* Applies the compiled-in migrations in order, once each, under an advisory lock. */
#include "migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedded.h"
#include "log.h"

/* Any constant works; it only has to be the same for every instance. */
#define MIGRATION_LOCK_KEY "7310485562381"

int migrate_latest_known(void)
{
    int v = 0;
    for (int i = 0; i < embedded_migrations_count; i++)
        if (embedded_migrations[i].version > v) v = embedded_migrations[i].version;
    return v;
}

static bool exec_ok(PGconn *pg, const char *sql, const char *what)
{
    PGresult *r = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) log_msgf(LOG_ERROR, "%s failed: %s", what, PQerrorMessage(pg));
    PQclear(r);
    return ok;
}

int migrate_current(PGconn *pg)
{
    PGresult *r = PQexec(pg, "SELECT COALESCE(max(version), 0) FROM convstore_migrations");
    int v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        v = atoi(PQgetvalue(r, 0, 0));
    else if (PQresultStatus(r) == PGRES_FATAL_ERROR) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (state && !strcmp(state, "42P01")) v = 0; /* table absent: nothing applied */
    }
    PQclear(r);
    return v;
}

static bool apply_one(PGconn *pg, const struct embedded_migration *m)
{
    if (!exec_ok(pg, "BEGIN", "BEGIN")) return false;
    if (!exec_ok(pg, m->sql, m->name)) {
        exec_ok(pg, "ROLLBACK", "ROLLBACK");
        return false;
    }
    char ver[16];
    snprintf(ver, sizeof ver, "%d", m->version);
    const char *params[] = {ver, m->name};
    PGresult *r =
        PQexecParams(pg, "INSERT INTO convstore_migrations (version, name) VALUES ($1, $2)", 2,
                     NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok || !exec_ok(pg, "COMMIT", "COMMIT")) {
        exec_ok(pg, "ROLLBACK", "ROLLBACK");
        return false;
    }
    log_msgf(LOG_INFO, "applied migration %s", m->name);
    return true;
}

bool migrate_apply(PGconn *pg)
{
    /* Session-level lock: a second instance starting at the same time waits here, then finds
     * nothing left to apply. */
    if (!exec_ok(pg, "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")", "advisory lock"))
        return false;
    bool ok = exec_ok(pg,
                      "CREATE TABLE IF NOT EXISTS convstore_migrations ("
                      " version integer PRIMARY KEY, name text NOT NULL,"
                      " applied_at timestamptz NOT NULL DEFAULT now())",
                      "migrations table");
    int current = ok ? migrate_current(pg) : -1;
    if (current > migrate_latest_known()) {
        log_msgf(LOG_ERROR, "database schema version %d is newer than this binary knows (%d)",
                 current, migrate_latest_known());
        ok = false;
    }
    for (int i = 0; ok && current >= 0 && i < embedded_migrations_count; i++)
        if (embedded_migrations[i].version > current) ok = apply_one(pg, &embedded_migrations[i]);
    exec_ok(pg, "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")", "advisory unlock");
    return ok && current >= 0;
}

enum db_qs migrate_db_version(int64_t *version)
{
    return db_probe_int("SELECT COALESCE(max(version), 0) FROM convstore_migrations", version);
}
