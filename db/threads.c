/* SQL for threads. `user` arguments scope a query to one user's threads (NULL: the whole org). */
#include "db/threads.h"
#include "db/sql.h"

#include "db/messages.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TH_COLS                                                                                    \
    "id, user_id, title, metadata::text, message_count, " US("last_message_at") ", version, " US(  \
        "created_at") ", " US("updated_at") ", n"
#define SCOPE "org_id = $1 AND ($2::text IS NULL OR user_id = $2)"

/* $6 is the number of messages the thread is created with (inserted right after). */
static struct db_stmt st_insert = {
    "thread_insert",
    "INSERT INTO threads (org_id, id, user_id, title, metadata, last_seq, message_count,"
    " last_message_at) VALUES ($1, $2, $3, $4, COALESCE($5::jsonb, '{}'), $6::int8, $6::int8,"
    " CASE WHEN $6::int8 > 0 THEN now() END) ON CONFLICT (org_id, id) DO NOTHING "
    "RETURNING " TH_COLS,
    0};

static struct db_stmt st_get = {"thread_get",
                                "SELECT " TH_COLS " FROM threads WHERE " SCOPE " AND id = $3", 0};

/* Merge-patch in SQL so stored JSON keeps PostgreSQL's exact numbers: members of $5 set to
 * null are removed, the others replace or add. $4 is the new title when $7 is true. */
static struct db_stmt st_update = {
    "thread_update",
    "UPDATE threads SET title = CASE WHEN $7::bool THEN $4 ELSE title END,"
    " metadata = " MERGE_PATCH("metadata",
                               "$5::jsonb") ","
                                            " version = version + 1, updated_at = now()"
                                            " WHERE " SCOPE
                                            " AND id = $3 AND ($6::int IS NULL OR version = $6)"
                                            " RETURNING " TH_COLS,
    0};

static struct db_stmt st_delete = {
    "thread_delete", "DELETE FROM threads WHERE " SCOPE " AND id = $3 RETURNING 1", 0};

static struct db_stmt st_position = {"thread_position",
                                     "SELECT n FROM threads WHERE " SCOPE " AND id = $3", 0};

/*
 * Unfiltered lists: four statements so each matches an index exactly, (org_id, n) or
 * (org_id, user_id, n), and settles on its generic plan. $1 org, $2 bound, $3 user, $4 limit.
 */
// clang-format off
#define LIST(where, cmp, dir) \
    "SELECT " TH_COLS " FROM threads WHERE org_id = $1 " where " AND n " cmp " $2" \
    " ORDER BY n " dir " LIMIT $4"
// clang-format on
static struct db_stmt st_list_asc = {"thread_list_asc", LIST("AND $3::text IS NULL", ">", "ASC"),
                                     0};
static struct db_stmt st_list_desc = {"thread_list_desc", LIST("AND $3::text IS NULL", "<", "DESC"),
                                      0};
static struct db_stmt st_list_user_asc = {"thread_list_user_asc",
                                          LIST("AND user_id = $3", ">", "ASC"), 0};
static struct db_stmt st_list_user_desc = {"thread_list_user_desc",
                                           LIST("AND user_id = $3", "<", "DESC"), 0};

/*
 * Filtered lists run with a custom plan (db_run_custom): how selective a metadata containment
 * or a time range is decides between the GIN index and walking n, and only the values tell.
 * $1 org, $2 bound, $3 user or NULL, $4 metadata, $5 created_after, $6 created_before, $7 limit.
 */
// clang-format off
#define FILTERED(cmp, dir) \
    "SELECT " TH_COLS " FROM threads WHERE org_id = $1 AND ($3::text IS NULL OR user_id = $3)" \
    " AND n " cmp " $2 AND ($4::jsonb IS NULL OR metadata @> $4::jsonb)" \
    " AND ($5::timestamptz IS NULL OR created_at > $5::timestamptz)" \
    " AND ($6::timestamptz IS NULL OR created_at < $6::timestamptz)" \
    " ORDER BY n " dir " LIMIT $7"
// clang-format on
static struct db_stmt st_list_filtered_asc = {"thread_list_filtered_asc", FILTERED(">", "ASC"), 0};
static struct db_stmt st_list_filtered_desc = {"thread_list_filtered_desc", FILTERED("<", "DESC"),
                                               0};

const struct db_stmt *const threads_db_stmts[] = {&st_insert,
                                                  &st_get,
                                                  &st_update,
                                                  &st_delete,
                                                  &st_position,
                                                  &st_list_asc,
                                                  &st_list_desc,
                                                  &st_list_user_asc,
                                                  &st_list_user_desc,
                                                  &st_list_filtered_asc,
                                                  &st_list_filtered_desc,
                                                  NULL};

struct insert_tx {
    const char *const *params; /* of st_insert */
    const struct message_in *m;
    int n;
    struct db_rows *rows;
};

/* The thread and its first messages, in one transaction. */
static enum db_qs insert_in_tx(struct db_conn *c, void *arg)
{
    struct insert_tx *tx = arg;
    enum db_qs qs = db_exec(c, &st_insert, 6, tx->params, tx->rows);
    if (qs <= 0) return qs;
    enum db_qs mq = messages_db_insert_initial(c, tx->params[0], tx->params[1], tx->m, tx->n);
    return mq < 0 ? mq : qs;
}

enum db_qs threads_db_insert(const char *org, const char *id, const char *user, const char *title,
                             const char *metadata, const struct message_in *m, int n,
                             struct db_rows *rows)
{
    char count[16];
    snprintf(count, sizeof count, "%d", n);
    const char *params[] = {org, id, user, title, metadata, count};
    if (n == 0) return db_run(&st_insert, 6, params, rows);
    rows->res = NULL;
    struct insert_tx tx = {params, m, n, rows};
    enum db_qs qs = db_transaction(insert_in_tx, &tx);
    if (qs <= 0) db_rows_free(rows);
    return qs;
}

enum db_qs threads_db_get(const char *org, const char *user, const char *id, struct db_rows *rows)
{
    const char *params[] = {org, user, id};
    return db_run(&st_get, 3, params, rows);
}

struct update_tx {
    const char *const *params; /* of st_update */
    struct db_rows *rows;
};

/* The merge happens in SQL; its result must still fit the metadata limit, or nothing changes. */
static enum db_qs update_in_tx(struct db_conn *c, void *arg)
{
    struct update_tx *tx = arg;
    enum db_qs qs = db_exec(c, &st_update, 7, tx->params, tx->rows);
    if (qs <= 0) return qs;
    if (metadata_fits(db_str(tx->rows, 0, TH_METADATA))) return qs;
    db_rows_free(tx->rows);
    return DB_INVALID;
}

enum db_qs threads_db_update(const char *org, const char *user, const char *id, bool set_title,
                             const char *title, const char *metadata_patch, const char *version,
                             struct db_rows *rows)
{
    const char *params[] = {org,
                            user,
                            id,
                            title,
                            metadata_patch ? metadata_patch : "{}",
                            version,
                            set_title ? "true" : "false"};
    rows->res = NULL;
    struct update_tx tx = {params, rows};
    enum db_qs qs = db_transaction(update_in_tx, &tx);
    if (qs <= 0) db_rows_free(rows);
    return qs;
}

enum db_qs threads_db_delete(const char *org, const char *user, const char *id)
{
    const char *params[] = {org, user, id};
    struct db_rows rows;
    enum db_qs qs = db_run(&st_delete, 3, params, &rows);
    db_rows_free(&rows);
    return qs;
}

enum db_qs threads_db_position(const char *org, const char *user, const char *id, char n_out[24])
{
    const char *params[] = {org, user, id};
    struct db_rows rows;
    enum db_qs qs = db_run(&st_position, 3, params, &rows);
    if (qs == DB_ONE_RESULT) snprintf(n_out, 24, "%s", db_str(&rows, 0, 0));
    db_rows_free(&rows);
    return qs;
}

enum db_qs threads_db_list(const char *org, const struct thread_filter *f, bool asc,
                           const char *bound, int limit, struct db_rows *rows)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    if (f->metadata || f->created_after || f->created_before) {
        const char *params[] = {
            org, bound, f->user, f->metadata, f->created_after, f->created_before, lim};
        return db_run_custom(asc ? &st_list_filtered_asc : &st_list_filtered_desc, 7, params, rows);
    }
    const char *params[] = {org, bound, f->user, lim};
    struct db_stmt *st = f->user ? (asc ? &st_list_user_asc : &st_list_user_desc)
                                 : (asc ? &st_list_asc : &st_list_desc);
    return db_run(st, 4, params, rows);
}
