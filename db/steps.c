/* SQL for the steps of a run: create with their place in the step tree, update, read, page. */
#include "db/steps.h"

#include <stdio.h>
#include <string.h>

#include "db/sql.h"
#include "json.h"

#define COLS_OF(input, output, error, metadata)                                                    \
    "id, thread_id, run_id, parent_step_id, array_to_string(depends_on, ','), kind, name,"         \
    " status, path, depth, " input ", " output ", " error ", " metadata                            \
    ", " US("created_at") ", " US("started_at") ", " US("ended_at") ", " US("updated_at") ", n"
#define COLS COLS_OF("input", "output", "error", "metadata::text")
#define LIGHT_COLS COLS_OF("NULL", "NULL", "NULL", "NULL")
#define RETURNING_COLS COLS_OF("input", "output", "error", "metadata::text")

/*
 * One statement: the run's counters bumped under its row lock unless it has ended (r), the
 * parent's child counter likewise (p), the depends_on entries found among the run's steps (d),
 * and the insert when all of them agree. $1 org, $2 thread, $3 run, $4 id, $5 parent, $6
 * depends_on, $7 kind, $8 name, $9 status, $10 input, $11 metadata, $12 start time.
 */
// clang-format off
static struct db_stmt st_insert = {
    "step_insert",
    "WITH r AS (UPDATE runs SET step_count = step_count + 1,"
    "   top_step_count = top_step_count + CASE WHEN $5::text IS NULL THEN 1 ELSE 0 END"
    "   WHERE org_id = $1 AND id = $3 AND thread_id = $2"
    "   AND status NOT IN ('completed', 'failed', 'cancelled', 'interrupted')"
    "   RETURNING top_step_count),"
    " p AS (UPDATE steps SET child_count = child_count + 1 WHERE $5::text IS NOT NULL"
    "   AND org_id = $1 AND id = $5 AND run_id = $3 AND EXISTS (SELECT 1 FROM r)"
    "   RETURNING path, depth, child_count),"
    " d AS (SELECT count(*) AS found FROM steps WHERE org_id = $1 AND run_id = $3"
    "   AND id = ANY($6::text[]))"
    " INSERT INTO steps (org_id, id, run_id, thread_id, parent_step_id, depends_on, kind, name,"
    "   status, path, depth, input, metadata, started_at)"
    " SELECT $1, $4, $3, $2, $5, $6::text[], $7, $8, $9,"
    "   CASE WHEN $5::text IS NULL THEN r.top_step_count::text"
    "   ELSE p.path || '.' || p.child_count END, COALESCE(p.depth + 1, 0), $10,"
    "   COALESCE($11::jsonb, '{}'),"
    "   CASE WHEN $9 = 'running' THEN COALESCE($12::timestamptz, now()) END"
    " FROM r LEFT JOIN p ON true, d WHERE d.found = cardinality($6::text[])"
    "   AND ($5::text IS NULL OR p.path IS NOT NULL)"
    " ON CONFLICT DO NOTHING RETURNING " RETURNING_COLS,
    0};

static struct db_stmt st_refusal = {
    "step_refusal",
    "SELECT (SELECT status FROM runs WHERE org_id = $1 AND id = $3 AND thread_id = $2),"
    " EXISTS (SELECT 1 FROM steps WHERE org_id = $1 AND id = $4),"
    " $5::text IS NULL OR EXISTS (SELECT 1 FROM steps WHERE org_id = $1 AND id = $5"
    "   AND run_id = $3),"
    " (SELECT x FROM unnest($6::text[]) x WHERE NOT EXISTS (SELECT 1 FROM steps"
    "   WHERE org_id = $1 AND run_id = $3 AND id = x) LIMIT 1)",
    0};

static struct db_stmt st_lock = {"step_lock",
                                 "SELECT " COLS " FROM steps WHERE org_id = $1 AND run_id = $2"
                                 " AND id = $3 AND thread_id = $4 FOR NO KEY UPDATE",
                                 0};

/* $4 status or NULL, $5/$7 whether to set output/error to $6/$8, $9 metadata patch, $10 the
 * time a start or an end happened (NULL: now). No row when it would change nothing. */
static struct db_stmt st_update = {
    "step_update",
    "UPDATE steps SET status = COALESCE($4, status),"
    " output = CASE WHEN $5::bool THEN $6 ELSE output END,"
    " error = CASE WHEN $7::bool THEN $8 ELSE error END,"
    " metadata = CASE WHEN $9::jsonb IS NULL THEN metadata ELSE " MERGE_PATCH("metadata", "$9::jsonb") " END,"
    " started_at = CASE WHEN $4 = 'running' AND started_at IS NULL"
    "   THEN COALESCE($10::timestamptz, now()) ELSE started_at END,"
    " ended_at = CASE WHEN $4 IN ('completed', 'failed', 'cancelled')"
    "   THEN COALESCE($10::timestamptz, now()) ELSE ended_at END,"
    " updated_at = now()"
    " WHERE org_id = $1 AND run_id = $2 AND id = $3 AND ($4::text IS NOT NULL"
    "   OR ($5::bool AND output IS DISTINCT FROM $6) OR ($7::bool AND error IS DISTINCT FROM $8)"
    "   OR metadata IS DISTINCT FROM " MERGE_PATCH("metadata", "COALESCE($9::jsonb, '{}')") ")"
    " RETURNING " COLS,
    0};

#define LIST(cmp, dir) \
    "SELECT " COLS " FROM steps WHERE org_id = $1 AND run_id = $2 AND n " cmp " $3::int8" \
    " AND ($4::text[] IS NULL OR status = ANY($4::text[]))" \
    " AND ($5::text[] IS NULL OR kind = ANY($5::text[]))" \
    " AND ($6::text IS NULL OR parent_step_id = $6) ORDER BY n " dir " LIMIT $7"
// clang-format on
static struct db_stmt st_list[2] = {{"step_list_desc", LIST("<", "DESC"), 0},
                                    {"step_list_asc", LIST(">", "ASC"), 0}};

static struct db_stmt st_get = {
    "step_get", "SELECT " COLS " FROM steps WHERE org_id = $1 AND run_id = $2 AND id = $3", 0};

static struct db_stmt st_position = {
    "step_position", "SELECT n FROM steps WHERE org_id = $1 AND run_id = $2 AND id = $3", 0};

static struct db_stmt st_all[2] = {
    {"step_all", "SELECT " COLS " FROM steps WHERE org_id = $1 AND run_id = $2 ORDER BY n LIMIT $3",
     0},
    {"step_all_light",
     "SELECT " LIGHT_COLS " FROM steps WHERE org_id = $1 AND run_id = $2 ORDER BY n LIMIT $3", 0}};

const struct db_stmt *const steps_db_stmts[] = {&st_insert,  &st_refusal, &st_lock, &st_update,
                                                &st_list[0], &st_list[1], &st_get,  &st_position,
                                                &st_all[0],  &st_all[1],  NULL};

static void step_params(const char *org, const char *thread, const char *run,
                        const struct step_new *s, const char *params[12])
{
    const char *p[12] = {org,     thread,  run,       s->id,    s->parent_step_id, s->depends_on,
                         s->kind, s->name, s->status, s->input, s->metadata,       s->at};
    memcpy(params, p, sizeof p);
}

enum db_qs steps_db_insert(const char *org, const char *thread, const char *run,
                           const struct step_new *s, struct db_rows *rows)
{
    const char *params[12];
    step_params(org, thread, run, s, params);
    return db_run(&st_insert, 12, params, rows);
}

enum db_qs steps_db_refusal(const char *org, const char *thread, const char *run,
                            const struct step_new *s, struct step_refusal *why)
{
    const char *params[12];
    step_params(org, thread, run, s, params);
    struct db_rows rows;
    enum db_qs qs = db_run(&st_refusal, 6, params, &rows);
    if (qs <= 0) return qs < 0 ? qs : DB_HARD_ERROR;
    const char *status = db_str(&rows, 0, 0);
    *why = (struct step_refusal){
        .no_run = !status,
        .run_ended = status && (!strcmp(status, "completed") || !strcmp(status, "failed") ||
                                !strcmp(status, "cancelled") || !strcmp(status, "interrupted")),
        .exists = db_str(&rows, 0, 1)[0] == 't',
        .bad_parent = db_str(&rows, 0, 2)[0] != 't',
    };
    if (!db_is_null(&rows, 0, 3))
        snprintf(why->missing, sizeof why->missing, "%s", db_str(&rows, 0, 3));
    db_rows_free(&rows);
    return DB_ONE_RESULT;
}

enum db_qs steps_db_lock(const char *org, const char *thread, const char *run, const char *id,
                         struct db_rows *rows)
{
    const char *params[] = {org, run, id, thread};
    return db_run(&st_lock, 4, params, rows);
}

enum db_qs steps_db_update(const char *org, const char *run, const char *id,
                           const struct step_patch *p, struct db_rows *rows)
{
    const char *params[] = {org,
                            run,
                            id,
                            p->status,
                            p->set_output ? "true" : "false",
                            p->output,
                            p->set_error ? "true" : "false",
                            p->error,
                            p->metadata,
                            p->at};
    enum db_qs qs = db_run(&st_update, 10, params, rows);
    if (qs <= 0 || !p->metadata || metadata_fits(db_str(rows, 0, SC_METADATA))) return qs;
    db_rows_free(rows);
    return DB_INVALID;
}

enum db_qs steps_db_get(const char *org, const char *run, const char *id, struct db_rows *rows)
{
    const char *params[] = {org, run, id};
    return db_run(&st_get, 3, params, rows);
}

enum db_qs steps_db_position(const char *org, const char *run, const char *id, char n_out[24])
{
    const char *params[] = {org, run, id};
    struct db_rows rows;
    enum db_qs qs = db_run(&st_position, 3, params, &rows);
    if (qs == DB_ONE_RESULT) snprintf(n_out, 24, "%s", db_str(&rows, 0, 0));
    db_rows_free(&rows);
    return qs;
}

enum db_qs steps_db_list(const char *org, const char *run, const struct step_filter *f, bool asc,
                         const char *bound, int limit, struct db_rows *rows)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {org, run, bound, f->statuses, f->kinds, f->parent_step_id, lim};
    if (f->statuses || f->kinds || f->parent_step_id)
        return db_run_custom(&st_list[asc], 7, params, rows);
    return db_run(&st_list[asc], 7, params, rows);
}

enum db_qs steps_db_all(const char *org, const char *run, bool light, int limit,
                        struct db_rows *rows)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {org, run, lim};
    return db_run(&st_all[light], 3, params, rows);
}
