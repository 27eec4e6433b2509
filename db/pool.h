/* A fixed-size PostgreSQL connection pool with bounded waits, lazy prepared statements and
 * reconnection after the database restarts. */
#ifndef CONVSTORE_POOL_H
#define CONVSTORE_POOL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

/*
 * Three-way status of a database call (after GNU Taler's): a negative value is an error, zero
 * means no row, a positive value is the number of rows. Every caller switches on it.
 */
enum db_qs {
    DB_BAD_VALUE = -6,   /* a data exception (SQLSTATE class 22): the input cannot be stored */
    DB_INVALID = -5,     /* a CHECK constraint refused the data (e.g. metadata too large) */
    DB_UNAVAILABLE = -4, /* cannot reach the database now: 503 */
    DB_CONFLICT = -3,    /* unique violation */
    DB_HARD_ERROR = -2,  /* a bug or broken invariant: 500 */
    DB_SOFT_ERROR = -1,  /* serialization failure or deadlock: retry */
    DB_NO_RESULTS = 0,
    DB_ONE_RESULT = 1,
};

/* One SQL statement, prepared once per pooled connection under its name. */
struct db_stmt {
    const char *name;
    const char *sql;
    int id; /* assigned on first use */
};

struct db_conn;

/* Result rows; owned by the caller, release with db_rows_free(). */
struct db_rows {
    PGresult *res;
};

bool db_pool_init(const char *conninfo, int size, int wait_timeout_ms, int statement_timeout_ms);
void db_pool_shutdown(void);

/* Bounded wait for a healthy connection; NULL when none is had in time or the database is down. */
struct db_conn *db_acquire(void);
/* Returns the connection; one left inside a transaction is rolled back or dropped. */
void db_release(struct db_conn *c);

/*
 * Runs a prepared statement with text parameters (NULL = SQL NULL). When it returns rows (> 0),
 * the caller owns them (db_rows_free); otherwise rows->res is NULL.
 */
enum db_qs db_exec(struct db_conn *c, struct db_stmt *st, int nparams, const char *const *params,
                   struct db_rows *rows);
/* Acquires a connection, runs one statement, releases it. */
enum db_qs db_run(struct db_stmt *st, int nparams, const char *const *params, struct db_rows *rows);
/*
 * Like db_run, but planned for these parameter values every time (an unnamed statement): for
 * the few statements whose best plan depends on the values (selective filters). The session's
 * plan_cache_mode=force_generic_plan does not apply to them.
 */
enum db_qs db_run_custom(struct db_stmt *st, int nparams, const char *const *params,
                         struct db_rows *rows);
/*
 * Runs body(c, arg) inside BEGIN ... COMMIT on a pooled connection. Commits only when body
 * returns > 0; anything else (no rows, an error) rolls back. Returns body's status, or the
 * COMMIT's error. The db_ calls body makes (db_run, ...) join the transaction; inside a request's
 * transaction (db_tx_begin) it is a savepoint.
 */
typedef enum db_qs (*db_tx_fn)(struct db_conn *c, void *arg);
enum db_qs db_transaction(db_tx_fn body, void *arg);
/*
 * A transaction the rest of this request runs in: until db_tx_end(), every db_ call of this
 * thread (db_run, db_transaction as a savepoint, ...) joins it on connection c, so a handler's
 * writes and what the caller adds after them commit together (see service/idempotency.c).
 * NULL when no connection is had. Commit with db_simple(c, "COMMIT"); db_tx_end() rolls back
 * whatever did not commit and returns the connection.
 */
struct db_conn *db_tx_begin(void);
/* Whether a statement failed in the transaction (or the connection is gone): only a rollback is
 * possible now. */
bool db_tx_failed(const struct db_conn *c);
void db_tx_end(struct db_conn *c);
/* Whether this thread runs in such a transaction, where a failed statement (say, a unique
 * violation that is retried) would abort everything unless it runs under db_transaction. */
bool db_in_request_tx(void);
/* Runs an unprepared statement text with no parameters (BEGIN, COMMIT, ...). */
enum db_qs db_simple(struct db_conn *c, const char *sql);

/* Every statement of each db/ file, NULL-terminated (for `convstore sql`). */
extern const struct db_stmt *const keys_db_stmts[], *const threads_db_stmts[],
                                                        *const messages_db_stmts[];

/* Appends s (NULL: SQL NULL) as one element of a text[] literal that b holds from its '{' on;
 * the caller adds the closing '}'. */
void db_array_add(struct buf *b, const char *s);

void db_rows_free(struct db_rows *rows);
int db_nrows(const struct db_rows *rows);
/* Column value as text; NULL for SQL NULL. Borrowed from rows. */
const char *db_str(const struct db_rows *rows, int row, int col);
int64_t db_int(const struct db_rows *rows, int row, int col);
bool db_is_null(const struct db_rows *rows, int row, int col);

/*
 * Runs sql (one row, one integer column) on a connection of its own, outside the pool: for
 * readiness, which must not depend on a pooled connection being free. DB_UNAVAILABLE when the
 * database cannot be reached or the query fails.
 */
enum db_qs db_probe_int(const char *sql, int64_t *out);

/* Opens a standalone connection (for migrations and the CLI); NULL with an error logged. */
PGconn *db_connect(const char *conninfo);

#endif
