/* SQL for runs: create, lock and update under a thread's transaction, read, and list across an
 * org's threads. */
#include "db/runs.h"

#include <stdio.h>
#include <string.h>

#include "db/sql.h"
#include "json.h"

#define COLS                                                                                       \
    "id, thread_id, parent_run_id, name, status, input, output, error, usage, metadata::text,"     \
    " version, step_count, " US("created_at") ", " US("started_at") ", " US("ended_at") ", " US(   \
        "updated_at") ", n"
#define TERMINAL "('completed', 'failed', 'cancelled', 'interrupted')"

static struct db_stmt st_lock_thread = {
    "run_lock_thread",
    "SELECT 1 FROM threads WHERE org_id = $1 AND id = $2 AND ($3::text IS NULL OR user_id = $3)"
    " FOR NO KEY UPDATE",
    0};

/* $1 org, $2 id, $3 thread, $4 parent, $5 name, $6 status, $7 input, $8 metadata, $9 at. */
static struct db_stmt st_insert = {
    "run_insert",
    "INSERT INTO runs (org_id, id, thread_id, user_id, parent_run_id, name, status, input,"
    " metadata, started_at) SELECT $1, $2, $3, t.user_id, $4, $5, $6, $7,"
    " COALESCE($8::jsonb, '{}'), CASE WHEN $6 = 'running' THEN COALESCE($9::timestamptz, now())"
    " END FROM threads t WHERE t.org_id = $1 AND t.id = $3 AND ($4::text IS NULL OR EXISTS"
    " (SELECT 1 FROM runs p WHERE p.org_id = $1 AND p.id = $4 AND p.thread_id = $3))"
    " ON CONFLICT DO NOTHING RETURNING " COLS,
    0};

static struct db_stmt st_exists = {"run_exists", "SELECT 1 FROM runs WHERE org_id = $1 AND id = $2",
                                   0};

static struct db_stmt st_lock = {"run_lock",
                                 "SELECT " COLS " FROM runs WHERE org_id = $1 AND thread_id = $2"
                                 " AND id = $3 FOR NO KEY UPDATE",
                                 0};

/* $4 status or NULL, $5/$7/$9 whether to set output/error/usage to $6/$8/$10, $11 metadata patch,
 * $12 the time a start or an end happened (NULL: now). No row when it would change nothing. */
// clang-format off
static struct db_stmt st_update = {
    "run_update",
    "UPDATE runs SET status = COALESCE($4, status),"
    " output = CASE WHEN $5::bool THEN $6 ELSE output END,"
    " error = CASE WHEN $7::bool THEN $8 ELSE error END,"
    " usage = CASE WHEN $9::bool THEN $10 ELSE usage END,"
    " metadata = CASE WHEN $11::jsonb IS NULL THEN metadata ELSE " MERGE_PATCH("metadata", "$11::jsonb") " END,"
    " started_at = CASE WHEN $4 = 'running' AND started_at IS NULL"
    "   THEN COALESCE($12::timestamptz, now()) ELSE started_at END,"
    " ended_at = CASE WHEN $4 IN " TERMINAL " THEN COALESCE($12::timestamptz, now()) ELSE ended_at END,"
    " version = version + 1, updated_at = now()"
    " WHERE org_id = $1 AND thread_id = $2 AND id = $3 AND ($4::text IS NOT NULL"
    "   OR ($5::bool AND output IS DISTINCT FROM $6) OR ($7::bool AND error IS DISTINCT FROM $8)"
    "   OR ($9::bool AND usage IS DISTINCT FROM $10)"
    "   OR metadata IS DISTINCT FROM " MERGE_PATCH("metadata", "COALESCE($11::jsonb, '{}')") ")"
    " RETURNING " COLS,
    0};
// clang-format on

static struct db_stmt st_get = {"run_get",
                                "SELECT " COLS " FROM runs WHERE org_id = $1 AND thread_id = $2"
                                " AND id = $3 AND ($4::text IS NULL OR user_id = $4)",
                                0};

static struct db_stmt st_position = {
    "run_position",
    "SELECT n FROM runs WHERE org_id = $1 AND id = $2 AND ($3::text IS NULL OR user_id = $3)"
    " AND ($4::text IS NULL OR thread_id = $4)",
    0};

/*
 * Lists run with a custom plan (db_run_custom): which index serves best (the thread's, the
 * user's, the status's, the metadata's) depends on which filters are set. $2 bound (n).
 */
// clang-format off
#define LIST(cmp, dir) \
    "SELECT " COLS " FROM runs WHERE org_id = $1 AND n " cmp " $2::int8" \
    " AND ($3::text IS NULL OR thread_id = $3) AND ($4::text IS NULL OR user_id = $4)" \
    " AND ($5::text[] IS NULL OR status = ANY($5::text[]))" \
    " AND ($6::text IS NULL OR parent_run_id = $6) AND ($7::jsonb IS NULL OR metadata @> $7::jsonb)" \
    " AND ($8::timestamptz IS NULL OR created_at > $8::timestamptz)" \
    " AND ($9::timestamptz IS NULL OR created_at < $9::timestamptz)" \
    " ORDER BY n " dir " LIMIT $10"
// clang-format on
static struct db_stmt st_list[2] = {{"run_list_desc", LIST("<", "DESC"), 0},
                                    {"run_list_asc", LIST(">", "ASC"), 0}};

static struct db_stmt st_event_counts = {
    "run_event_counts",
    "SELECT type, count(*) FROM events WHERE org_id = $1 AND thread_id = $2 AND run_id = $3"
    " GROUP BY type ORDER BY type",
    0};

const struct db_stmt *const runs_db_stmts[] = {
    &st_lock_thread, &st_insert,  &st_exists,  &st_lock,         &st_update, &st_get,
    &st_position,    &st_list[0], &st_list[1], &st_event_counts, NULL};

enum db_qs runs_db_lock_thread(const char *org, const char *user, const char *thread)
{
    const char *params[] = {org, thread, user};
    struct db_rows rows;
    enum db_qs qs = db_run(&st_lock_thread, 3, params, &rows);
    db_rows_free(&rows);
    return qs;
}

enum db_qs runs_db_insert(const char *org, const char *thread, const struct run_new *run,
                          struct db_rows *rows)
{
    const char *params[] = {org,       run->id,     thread,     run->parent_run_id,
                            run->name, run->status, run->input, run->metadata,
                            run->at};
    return db_run(&st_insert, 9, params, rows);
}

enum db_qs runs_db_exists(const char *org, const char *id)
{
    const char *params[] = {org, id};
    struct db_rows rows;
    enum db_qs qs = db_run(&st_exists, 2, params, &rows);
    db_rows_free(&rows);
    return qs;
}

enum db_qs runs_db_lock(const char *org, const char *thread, const char *id, struct db_rows *rows)
{
    const char *params[] = {org, thread, id};
    return db_run(&st_lock, 3, params, rows);
}

enum db_qs runs_db_update(const char *org, const char *thread, const char *id,
                          const struct run_patch *p, struct db_rows *rows)
{
    const char *params[] = {org,
                            thread,
                            id,
                            p->status,
                            p->set_output ? "true" : "false",
                            p->output,
                            p->set_error ? "true" : "false",
                            p->error,
                            p->set_usage ? "true" : "false",
                            p->usage,
                            p->metadata,
                            p->at};
    enum db_qs qs = db_run(&st_update, 12, params, rows);
    if (qs <= 0 || !p->metadata || metadata_fits(db_str(rows, 0, RC_METADATA))) return qs;
    db_rows_free(rows);
    return DB_INVALID;
}

enum db_qs runs_db_get(const char *org, const char *user, const char *thread, const char *id,
                       struct db_rows *rows)
{
    const char *params[] = {org, thread, id, user};
    return db_run(&st_get, 4, params, rows);
}

enum db_qs runs_db_position(const char *org, const char *user, const char *thread, const char *id,
                            char n_out[24])
{
    const char *params[] = {org, id, user, thread};
    struct db_rows rows;
    enum db_qs qs = db_run(&st_position, 4, params, &rows);
    if (qs == DB_ONE_RESULT) snprintf(n_out, 24, "%s", db_str(&rows, 0, 0));
    db_rows_free(&rows);
    return qs;
}

enum db_qs runs_db_list(const char *org, const struct run_filter *f, bool asc, const char *bound,
                        int limit, struct db_rows *rows)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {org,
                            bound,
                            f->thread,
                            f->user,
                            f->statuses,
                            f->parent_run_id,
                            f->metadata,
                            f->created_after,
                            f->created_before,
                            lim};
    return db_run_custom(&st_list[asc], 10, params, rows);
}

enum db_qs runs_db_event_counts(const char *org, const char *thread, const char *id,
                                struct db_rows *rows)
{
    const char *params[] = {org, thread, id};
    return db_run(&st_event_counts, 3, params, rows);
}
