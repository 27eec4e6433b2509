/* A fixed-size PostgreSQL connection pool with bounded waits, lazy prepared statements and
 * reconnection after the database restarts. */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"

#define MAX_STMTS 256

struct db_conn {
    PGconn *pg;
    bool prepared[MAX_STMTS];
    bool server_closing; /* the server said FATAL (e.g. shutting down) while we were idle */
    int slot;
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct db_conn *conns;
    int *free_slots; /* stack of idle slot numbers */
    int nfree, size;
    int wait_timeout_ms;
    char statement_timeout[16];
    const char *conninfo;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER};

static atomic_int next_stmt_id = 1;

/* The probe's own connection: readiness must not wait behind busy pooled ones. */
static struct {
    pthread_mutex_t mu;
    PGconn *pg;
} probe = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The transaction this thread's request runs in (db_tx_begin), which every db_ call joins. */
static _Thread_local struct db_conn *ambient;

#define CONNECT_BACKOFF_MS 200
static atomic_llong last_connect_failure_ms = -CONNECT_BACKOFF_MS;

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libpq prints notices on stderr by default; route them into the JSON log instead. A FATAL
 * notice on an idle pooled connection means the server is closing it (restart, termination). */
static void on_notice(void *arg, const char *message)
{
    struct db_conn *c = arg;
    if (c && strncmp(message, "FATAL", 5) == 0) c->server_closing = true;
    struct buf b = {0};
    buf_puts(&b, "\"notice\":");
    size_t n = strlen(message);
    while (n > 0 && message[n - 1] == '\n')
        n--;
    buf_json_strn(&b, message, n);
    log_line(LOG_DEBUG, "database notice", b.data);
    buf_free(&b);
}

static PGconn *connect_with(const char *conninfo, struct db_conn *owner)
{
    const char *keys[] = {"dbname", "connect_timeout", "fallback_application_name", NULL};
    const char *vals[] = {conninfo ? conninfo : "", "2", "convstore", NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(pg) != CONNECTION_OK) {
        char extra[600];
        struct buf b = {0};
        buf_puts(&b, "\"error\":");
        buf_json_str(&b, PQerrorMessage(pg));
        snprintf(extra, sizeof extra, "%s", b.data);
        buf_free(&b);
        log_line(LOG_WARN, "database connection failed", extra);
        PQfinish(pg);
        return NULL;
    }
    PQsetNoticeProcessor(pg, on_notice, owner);
    return pg;
}

PGconn *db_connect(const char *conninfo)
{
    return connect_with(conninfo, NULL);
}

bool db_pool_init(const char *conninfo, int size, int wait_timeout_ms, int statement_timeout_ms)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&pool.cv, &ca);
    pthread_condattr_destroy(&ca);
    pool.conninfo = conninfo;
    pool.size = size;
    pool.wait_timeout_ms = wait_timeout_ms;
    snprintf(pool.statement_timeout, sizeof pool.statement_timeout, "%d", statement_timeout_ms);
    pool.conns = calloc((size_t)size, sizeof *pool.conns);
    pool.free_slots = calloc((size_t)size, sizeof *pool.free_slots);
    if (!pool.conns || !pool.free_slots) return false;
    for (int i = 0; i < size; i++) {
        pool.conns[i].slot = i;
        pool.free_slots[pool.nfree++] = size - 1 - i;
    }
    return true;
}

void db_pool_shutdown(void)
{
    if (probe.pg) PQfinish(probe.pg);
    probe.pg = NULL;
    for (int i = 0; i < pool.size; i++)
        if (pool.conns[i].pg) PQfinish(pool.conns[i].pg);
    free(pool.conns);
    free(pool.free_slots);
    pool.conns = NULL;
    pool.free_slots = NULL;
    pool.size = pool.nfree = 0;
}

static void drop(struct db_conn *c)
{
    if (c->pg) PQfinish(c->pg);
    c->pg = NULL;
    c->server_closing = false;
    memset(c->prepared, 0, sizeof c->prepared);
}

/*
 * Session settings every pooled connection carries (bench/run.sh gives pgbench the same ones).
 * Generic plans: every statement is written so its generic plan is the right one (separate
 * variants where a parameter changes the best plan), and with LIMIT $n PostgreSQL would otherwise
 * keep re-planning the list statements on each call, which cost more than running them.
 * No JIT: a generic plan's LIMIT $n is costed as 10% of the table, and compiling a page's query
 * measured 200 ms for a 0.2 ms read.
 */
static bool configure(struct db_conn *c)
{
    const char *params[] = {pool.statement_timeout};
    PGresult *res =
        PQexecParams(c->pg,
                     "SELECT set_config('statement_timeout', $1, false),"
                     " set_config('idle_in_transaction_session_timeout', '60000', false),"
                     " set_config('plan_cache_mode', 'force_generic_plan', false),"
                     " set_config('jit', 'off', false)",
                     1, NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
    return ok;
}

/* Makes sure c holds a live, idle connection; reconnects when the server went away. */
static bool ensure_healthy(struct db_conn *c)
{
    if (c->pg) {
        /* Reads whatever the server sent while we were idle (PQisBusy parses it): a restart
         * shows up as EOF or a FATAL notice, and we reconnect instead of failing a request. */
        if (!PQconsumeInput(c->pg) || (PQisBusy(c->pg), PQstatus(c->pg) != CONNECTION_OK) ||
            c->server_closing)
            drop(c);
    }
    if (c->pg && PQtransactionStatus(c->pg) != PQTRANS_IDLE) drop(c);
    if (!c->pg) {
        /* While the database is unreachable, answer 503 at once instead of having every
         * request wait out its own connect attempt (up to connect_timeout on a dead network). */
        int64_t now = monotonic_ms();
        if (now - atomic_load(&last_connect_failure_ms) < CONNECT_BACKOFF_MS) return false;
        c->pg = connect_with(pool.conninfo, c);
        metrics_count(MC_DB_RECONNECTS);
        if (!c->pg) {
            atomic_store(&last_connect_failure_ms, monotonic_ms());
            return false;
        }
        if (!configure(c)) {
            drop(c);
            return false;
        }
    }
    return true;
}

static void deadline_after_ms(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

struct db_conn *db_acquire(void)
{
    if (ambient) return ambient;
    struct timespec deadline;
    deadline_after_ms(&deadline, pool.wait_timeout_ms);
    pthread_mutex_lock(&pool.mu);
    while (pool.nfree == 0) {
        int rc = pthread_cond_timedwait(&pool.cv, &pool.mu, &deadline);
        if (rc == ETIMEDOUT && pool.nfree == 0) {
            pthread_mutex_unlock(&pool.mu);
            metrics_count(MC_POOL_TIMEOUTS);
            log_line(LOG_WARN, "no pooled connection within the wait timeout", NULL);
            return NULL;
        }
    }
    struct db_conn *c = &pool.conns[pool.free_slots[--pool.nfree]];
    pthread_mutex_unlock(&pool.mu);
    if (!ensure_healthy(c)) {
        db_release(c);
        return NULL;
    }
    return c;
}

void db_release(struct db_conn *c)
{
    if (c == ambient) return; /* db_tx_end gives it back */
    if (c->pg) {
        /* Drain results a caller left behind, and never keep a connection mid-transaction. */
        PGresult *left;
        while ((left = PQgetResult(c->pg)) != NULL)
            PQclear(left);
        if (PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
            PGresult *r = PQexec(c->pg, "ROLLBACK");
            bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
            PQclear(r);
            if (!ok || PQtransactionStatus(c->pg) != PQTRANS_IDLE) drop(c);
        }
    }
    pthread_mutex_lock(&pool.mu);
    pool.free_slots[pool.nfree++] = c->slot;
    pthread_cond_signal(&pool.cv);
    pthread_mutex_unlock(&pool.mu);
}

static bool sqlstate_is(const char *state, const char *prefix)
{
    return state && strncmp(state, prefix, strlen(prefix)) == 0;
}

/* Maps a finished result to the three-way status; logs what is not the caller's to explain. */
static enum db_qs classify(struct db_conn *c, PGresult *res, const char *what)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK) return PQntuples(res) > 0 ? PQntuples(res) : DB_NO_RESULTS;
    if (st == PGRES_COMMAND_OK) return DB_NO_RESULTS;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    enum db_qs qs;
    bool broken = PQstatus(c->pg) != CONNECTION_OK;
    if (broken || !state || sqlstate_is(state, "08") || sqlstate_is(state, "57P") ||
        sqlstate_is(state, "53") || sqlstate_is(state, "57014")) {
        qs = DB_UNAVAILABLE;
    } else if (sqlstate_is(state, "23505")) {
        return DB_CONFLICT;
    } else if (sqlstate_is(state, "23514")) {
        return DB_INVALID;
    } else if (sqlstate_is(state, "22")) {
        qs = DB_BAD_VALUE; /* input validation should have caught it: logged as a warning */
    } else if (sqlstate_is(state, "40001") || sqlstate_is(state, "40P01")) {
        return DB_SOFT_ERROR;
    } else {
        qs = DB_HARD_ERROR;
    }
    metrics_count(MC_DB_ERRORS);
    struct buf b = {0};
    buf_puts(&b, "\"statement\":");
    buf_json_str(&b, what);
    buf_puts(&b, ",\"sqlstate\":");
    buf_json_str(&b, state);
    buf_puts(&b, ",\"error\":");
    buf_json_str(&b, PQerrorMessage(c->pg));
    log_line(qs == DB_HARD_ERROR ? LOG_ERROR : LOG_WARN, "database error", b.data);
    buf_free(&b);
    if (broken) drop(c);
    return qs;
}

/* Classifies res and hands it to the caller when it holds rows (callers own rows only when
 * there are some: nothing to free on 0 or an error). */
static enum db_qs take_result(struct db_conn *c, PGresult *res, const char *what,
                              struct db_rows *rows)
{
    enum db_qs qs = classify(c, res, what);
    if (qs > 0)
        rows->res = res;
    else
        PQclear(res);
    return qs;
}

static int stmt_id(struct db_stmt *st)
{
    int id = __atomic_load_n(&st->id, __ATOMIC_ACQUIRE);
    if (id) return id;
    int fresh = atomic_fetch_add(&next_stmt_id, 1);
    if (fresh >= MAX_STMTS) abort(); /* raise MAX_STMTS */
    int expected = 0;
    if (__atomic_compare_exchange_n(&st->id, &expected, fresh, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return fresh;
    return expected;
}

enum db_qs db_exec(struct db_conn *c, struct db_stmt *st, int nparams, const char *const *params,
                   struct db_rows *rows)
{
    rows->res = NULL;
    if (!c->pg) return DB_UNAVAILABLE;
    int id = stmt_id(st);
    if (!c->prepared[id]) {
        PGresult *p = PQprepare(c->pg, st->name, st->sql, 0, NULL);
        enum db_qs qs = classify(c, p, st->name);
        PQclear(p);
        if (qs < 0) return qs;
        c->prepared[id] = true;
    }
    PGresult *res = PQexecPrepared(c->pg, st->name, nparams, params, NULL, NULL, 0);
    return take_result(c, res, st->name, rows);
}

enum db_qs db_run(struct db_stmt *st, int nparams, const char *const *params, struct db_rows *rows)
{
    rows->res = NULL;
    struct db_conn *c = db_acquire();
    if (!c) return DB_UNAVAILABLE;
    enum db_qs qs = db_exec(c, st, nparams, params, rows);
    db_release(c);
    return qs;
}

/*
 * The session forces generic plans; for this one statement, force a custom plan instead. Both go
 * in one pipeline up to a single Sync, which makes them one implicit transaction: the LOCAL
 * setting covers the statement, and it all costs one round trip.
 */
static PGresult *exec_custom_planned(PGconn *pg, const char *sql, int nparams,
                                     const char *const *params)
{
    if (!PQenterPipelineMode(pg)) return NULL;
    bool sent =
        PQsendQueryParams(pg, "SELECT set_config('plan_cache_mode', 'force_custom_plan', true)", 0,
                          NULL, NULL, NULL, NULL, 0) &&
        PQsendQueryParams(pg, sql, nparams, NULL, params, NULL, NULL, 0) && PQpipelineSync(pg);
    /* Results come as: the setting's, NULL, the statement's, NULL, then the sync. Keep the
     * statement's result, or the first error if the setting already failed. */
    PGresult *kept = NULL;
    int query = 0;
    for (int guard = 0; sent && guard < 16 && PQstatus(pg) == CONNECTION_OK; guard++) {
        PGresult *r = PQgetResult(pg);
        if (!r) {
            query++;
            continue;
        }
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (!kept && (query == 1 || st != PGRES_TUPLES_OK))
            kept = r;
        else
            PQclear(r);
    }
    PQexitPipelineMode(pg);
    return kept;
}

enum db_qs db_run_custom(struct db_stmt *st, int nparams, const char *const *params,
                         struct db_rows *rows)
{
    rows->res = NULL;
    struct db_conn *c = db_acquire();
    if (!c) return DB_UNAVAILABLE;
    PGresult *res = exec_custom_planned(c->pg, st->sql, nparams, params);
    enum db_qs qs = take_result(c, res, st->name, rows);
    if (c->pg && PQpipelineStatus(c->pg) != PQ_PIPELINE_OFF) drop(c); /* could not leave it */
    db_release(c);
    return qs;
}

enum db_qs db_simple(struct db_conn *c, const char *sql)
{
    if (!c->pg) return DB_UNAVAILABLE;
    PGresult *res = PQexec(c->pg, sql);
    enum db_qs qs = classify(c, res, sql);
    PQclear(res);
    return qs;
}

void db_rows_free(struct db_rows *rows)
{
    PQclear(rows->res);
    rows->res = NULL;
}

int db_nrows(const struct db_rows *rows)
{
    return rows->res ? PQntuples(rows->res) : 0;
}

const char *db_str(const struct db_rows *rows, int row, int col)
{
    if (PQgetisnull(rows->res, row, col)) return NULL;
    return PQgetvalue(rows->res, row, col);
}

int64_t db_int(const struct db_rows *rows, int row, int col)
{
    /* PostgreSQL's own int8 text: an optional '-' and digits (hand-parsed: strtoll showed up). */
    const char *s = PQgetvalue(rows->res, row, col);
    bool neg = *s == '-';
    uint64_t v = 0;
    for (s += neg; *s >= '0' && *s <= '9'; s++)
        v = v * 10 + (uint64_t)(*s - '0');
    return neg ? (int64_t)(0 - v) : (int64_t)v;
}

bool db_is_null(const struct db_rows *rows, int row, int col)
{
    return PQgetisnull(rows->res, row, col);
}

/* Inside the request's transaction, body's effects are undone by a savepoint instead. */
static enum db_qs nested_transaction(struct db_conn *c, db_tx_fn body, void *arg)
{
    enum db_qs qs = db_simple(c, "SAVEPOINT nested");
    if (qs >= 0) qs = body(c, arg);
    enum db_qs end =
        db_simple(c, qs > 0 ? "RELEASE SAVEPOINT nested" : "ROLLBACK TO SAVEPOINT nested");
    return end < 0 && qs > 0 ? end : qs;
}

enum db_qs db_transaction(db_tx_fn body, void *arg)
{
    if (ambient) return nested_transaction(ambient, body, arg);
    struct db_conn *c = db_acquire();
    if (!c) return DB_UNAVAILABLE;
    enum db_qs qs = db_simple(c, "BEGIN");
    ambient = c; /* the db_ calls body makes join the transaction */
    if (qs >= 0) qs = body(c, arg);
    if (qs > 0) {
        enum db_qs cq = db_simple(c, "COMMIT");
        if (cq < 0) qs = cq;
    }
    ambient = NULL;
    db_release(c); /* rolls back whatever did not commit */
    return qs;
}

bool db_in_request_tx(void)
{
    return ambient != NULL;
}

struct db_conn *db_tx_begin(void)
{
    struct db_conn *c = db_acquire();
    if (!c) return NULL;
    if (db_simple(c, "BEGIN") < 0) {
        db_release(c);
        return NULL;
    }
    ambient = c;
    return c;
}

bool db_tx_failed(const struct db_conn *c)
{
    return !c->pg || PQtransactionStatus(c->pg) != PQTRANS_INTRANS;
}

void db_tx_end(struct db_conn *c)
{
    ambient = NULL;
    db_release(c); /* rolls back what was not committed */
}

enum db_qs db_probe_int(const char *sql, int64_t *out)
{
    pthread_mutex_lock(&probe.mu);
    if (probe.pg && PQstatus(probe.pg) != CONNECTION_OK) {
        PQfinish(probe.pg);
        probe.pg = NULL;
    }
    if (!probe.pg && (probe.pg = connect_with(pool.conninfo, NULL)) != NULL) {
        PGresult *set = PQexec(probe.pg, "SET statement_timeout = 2000");
        PQclear(set);
    }
    enum db_qs qs = DB_UNAVAILABLE;
    PGresult *res = probe.pg ? PQexec(probe.pg, sql) : NULL;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        *out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        qs = DB_ONE_RESULT;
    } else if (probe.pg && PQtransactionStatus(probe.pg) != PQTRANS_IDLE) {
        PQfinish(probe.pg); /* leave nothing half-done behind for the next probe */
        probe.pg = NULL;
    }
    PQclear(res);
    pthread_mutex_unlock(&probe.mu);
    return qs;
}

void db_array_add(struct buf *b, const char *s)
{
    if (b->len > 1) buf_putc(b, ',');
    if (!s) {
        buf_puts(b, "NULL");
        return;
    }
    buf_putc(b, '"');
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\') buf_putc(b, '\\');
        buf_putc(b, *p);
    }
    buf_putc(b, '"');
}
