/* SQL for the event log: idempotent, conditional appends that take the thread's next seqs, and
 * pages by seq. */
#include "db/events.h"
#include "db/sql.h"

#include <stdio.h>
#include <stdlib.h>

#define VISIBLE(t) t ".org_id = $1 AND " t ".id = $2 AND ($3::text IS NULL OR " t ".user_id = $3)"
#define COLS(e)                                                                                    \
    e ".id, " e ".thread_id, " e ".seq, " e ".type, " e ".run_id, " e ".step_id, " e               \
      ".message_id, " e ".data, " US(e ".occurred_at") ", " US(e ".created_at")

/* The batch ($5..$11 arrays), and whether a stored event e is the same as batch event i. */
// clang-format off
#define BATCH \
    "i AS (SELECT * FROM unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::text[]," \
    " $10::text[], $11::timestamptz[]) WITH ORDINALITY" \
    " AS i(id, type, run_id, step_id, message_id, data, occurred_at, ord))"
#define SAME \
    "(e.type = i.type AND e.data = i.data AND e.run_id IS NOT DISTINCT FROM i.run_id" \
    " AND e.step_id IS NOT DISTINCT FROM i.step_id" \
    " AND e.message_id IS NOT DISTINCT FROM i.message_id" \
    " AND e.occurred_at IS NOT DISTINCT FROM i.occurred_at)"
#define STORED "JOIN events e ON e.org_id = $1 AND e.thread_id = $2 AND e.id = i.id"
// clang-format on

/*
 * One statement: the events of the batch already stored (o), the fresh ones numbered in order
 * (f), the thread's counter bumped by their count under its row lock (t) unless an id is stored
 * with other content or expected_seq ($4) fails, and the inserts. It returns every event of the
 * batch in order, or nothing when t did not update. Its snapshot predates the row lock, so a
 * concurrent append of the same new id ends in a unique violation, and the caller runs it again.
 */
static struct db_stmt st_append = {
    "event_append",
    "WITH " BATCH ", o AS (SELECT i.ord, " SAME " AS same FROM i " STORED "),"
    " f AS (SELECT i.*, row_number() OVER (ORDER BY i.ord) AS k FROM i"
    "   WHERE NOT EXISTS (SELECT 1 FROM o WHERE o.ord = i.ord)),"
    " n AS (SELECT count(*) AS n FROM f),"
    " t AS (UPDATE threads th SET last_event_seq = last_event_seq + n.n FROM n WHERE " VISIBLE(
        "th") "   AND ($4::int8 IS NULL OR n.n = 0 OR th.last_event_seq = $4::int8)"
              "   AND NOT EXISTS (SELECT 1 FROM o WHERE NOT o.same)"
              "   RETURNING th.last_event_seq, th.last_event_seq - n.n AS base, th.n),"
              " ins AS (INSERT INTO events (org_id, thread_id, seq, id, type, run_id, step_id, "
              "message_id,"
              "   data, occurred_at) SELECT $1, $2, t.base + f.k, f.id, f.type, f.run_id, "
              "f.step_id,"
              "   f.message_id, f.data, f.occurred_at FROM t, f RETURNING *)"
              " SELECT " COLS(
                  "x") ", x.fresh, t.last_event_seq, t.n FROM t, i JOIN LATERAL"
                       " (SELECT ins.*, true AS fresh FROM ins WHERE ins.id = i.id UNION ALL"
                       "  SELECT e.*, false FROM events e WHERE e.org_id = $1 AND e.thread_id = $2 "
                       "AND e.id = i.id)"
                       " x ON true ORDER BY i.ord",
    0};

/* Why st_append wrote nothing: the visible thread's last seq and the first conflicting event. */
static struct db_stmt st_refusal = {
    "event_refusal",
    "WITH " BATCH " SELECT th.last_event_seq, (SELECT min(i.ord) FROM i " STORED " WHERE NOT " SAME
    "), $4::int8 FROM threads th WHERE " VISIBLE("th"),
    0};

/* One event with a fresh id into a thread this transaction has locked (a run's or a step's),
 * dated when it happened: the transaction's time, which is also the start or end it records, so
 * the event replayed elsewhere makes the same times. */
static struct db_stmt st_append_one = {
    "event_append_one",
    "WITH t AS (UPDATE threads SET last_event_seq = last_event_seq + 1 WHERE org_id = $1"
    "   AND id = $2 RETURNING last_event_seq, n),"
    " ins AS (INSERT INTO events (org_id, thread_id, seq, id, type, run_id, step_id, message_id,"
    "   data, occurred_at) SELECT $1, $2, t.last_event_seq, $3, $4, $5, $6, $7, $8,"
    "   COALESCE($9::timestamptz, now()) FROM t RETURNING *)"
    " SELECT " COLS("ins") ", true, t.last_event_seq, t.n FROM ins, t",
    0};

static struct db_stmt st_create_thread = {
    "event_create_thread",
    "INSERT INTO threads (org_id, id, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
    " RETURNING 1",
    0};

/*
 * Pages: the thread's row (visibility and last seq) with the page joined on, so an empty page is
 * one row of NULL events. Unfiltered pages walk the primary key in seq order; filtered ones add
 * conditions that the per-filter indexes serve, and are planned for their values.
 */
// clang-format off
#define PAGE(dir, filters) \
    "SELECT " COLS("e") ", NULL::bool, t.last_event_seq, t.n FROM threads t LEFT JOIN LATERAL" \
    " (SELECT * FROM events WHERE org_id = $1 AND thread_id = $2 AND seq > $4::int8" \
    " AND seq < $5::int8" filters " ORDER BY seq " dir " LIMIT $6) e ON true" \
    " WHERE " VISIBLE("t") " ORDER BY e.seq " dir
#define FILTERS \
    " AND ($7::text[] IS NULL OR type = ANY($7::text[]) OR type LIKE ANY($8::text[]))" \
    " AND ($9::text IS NULL OR run_id = $9) AND ($10::text IS NULL OR step_id = $10)" \
    " AND ($11::text IS NULL OR message_id = $11)"
// clang-format on
static struct db_stmt st_lists[2][2] = {
    /* [filtered][asc] */
    {{"event_list_desc", PAGE("DESC", ""), 0}, {"event_list_asc", PAGE("ASC", ""), 0}},
    {{"event_list_filtered_desc", PAGE("DESC", FILTERS), 0},
     {"event_list_filtered_asc", PAGE("ASC", FILTERS), 0}},
};

static struct db_stmt st_get = {
    "event_get",
    "SELECT " COLS("e") ", NULL::bool, NULL::int8 FROM events e"
                        " JOIN threads t ON " VISIBLE(
                            "t") " WHERE e.org_id = $1 AND e.thread_id = $2"
                                 " AND e.id = $4",
    0};

const struct db_stmt *const events_db_stmts[] = {
    &st_append,      &st_append_one,  &st_refusal,     &st_create_thread, &st_lists[0][0],
    &st_lists[0][1], &st_lists[1][0], &st_lists[1][1], &st_get,           NULL};

/* The seven text[] literals of the batch. */
static void build_arrays(const struct event_in *ev, int n, struct buf arr[7])
{
    for (int c = 0; c < 7; c++) {
        arr[c] = (struct buf){0};
        buf_putc(&arr[c], '{');
    }
    for (int i = 0; i < n; i++) {
        db_array_add(&arr[0], ev[i].id);
        db_array_add(&arr[1], ev[i].type);
        db_array_add(&arr[2], ev[i].run_id);
        db_array_add(&arr[3], ev[i].step_id);
        db_array_add(&arr[4], ev[i].message_id);
        db_array_add(&arr[5], ev[i].data);
        db_array_add(&arr[6], ev[i].occurred_at);
    }
    for (int c = 0; c < 7; c++)
        buf_putc(&arr[c], '}');
}

/* Tells why nothing was written; DB_ONE_RESULT when nothing is wrong any more (try again). */
static enum db_qs refusal(const char *const *params, struct append_refusal *why)
{
    struct db_rows r;
    enum db_qs qs = db_run(&st_refusal, 11, params, &r);
    if (qs < 0) return qs;
    *why = (struct append_refusal){.no_thread = qs == 0, .conflict = -1};
    if (qs > 0) {
        why->last_seq = db_int(&r, 0, 0);
        if (!db_is_null(&r, 0, 1)) why->conflict = (int)db_int(&r, 0, 1) - 1;
        bool seq_ok = db_is_null(&r, 0, 2) || db_int(&r, 0, 2) == why->last_seq;
        if (why->conflict < 0 && seq_ok)
            qs = DB_ONE_RESULT;
        else
            qs = DB_NO_RESULTS;
    }
    db_rows_free(&r);
    return qs;
}

struct append_tx {
    const char *const *params; /* of st_append */
    struct db_rows *rows;
    bool created; /* the thread did not exist in the org */
};

/* The append alone, for db_transaction (a savepoint inside a request's transaction). */
static enum db_qs append_only(struct db_conn *c, void *arg)
{
    const struct append_tx *tx = arg;
    return db_exec(c, &st_append, 11, tx->params, tx->rows);
}

/* A new thread and its first events commit together, or neither does: a refused conditional
 * append must not leave an empty thread behind. */
static enum db_qs create_and_append(struct db_conn *c, void *arg)
{
    struct append_tx *tx = arg;
    struct db_rows none;
    enum db_qs qs = db_exec(c, &st_create_thread, 3, tx->params, &none);
    db_rows_free(&none);
    tx->created = qs > 0;
    if (qs <= 0) return qs; /* it exists: another user's, or just created by someone else */
    return append_only(c, arg);
}

enum db_qs events_db_append(const char *org, const char *user, const char *thread,
                            const char *expected_seq, const struct event_in *ev, int n,
                            struct db_rows *rows, struct append_refusal *why)
{
    struct buf arr[7];
    build_arrays(ev, n, arr);
    const char *params[] = {org,         thread,      user,        expected_seq,
                            arr[0].data, arr[1].data, arr[2].data, arr[3].data,
                            arr[4].data, arr[5].data, arr[6].data};
    enum db_qs qs = DB_SOFT_ERROR;
    bool tried_create = false;
    /* A few tries: a race on a new id, a thread to create first, a refusal that went away. */
    for (int attempt = 0; attempt < 4; attempt++) {
        /* Inside an Idempotency-Key transaction, a unique violation (a concurrent append of the
         * same new id) must be undone by a savepoint to be retried. */
        struct append_tx tx = {params, rows, false};
        qs = db_in_request_tx() ? db_transaction(append_only, &tx)
                                : db_run(&st_append, 11, params, rows);
        if (qs == DB_CONFLICT) continue;
        if (qs != DB_NO_RESULTS) break;
        qs = refusal(params, why);
        if (qs < 0) break;
        if (qs == DB_ONE_RESULT) continue;
        if (!why->no_thread || tried_create) break;
        tried_create = true;
        qs = db_transaction(create_and_append, &tx);
        if (qs == DB_NO_RESULTS && tx.created) {
            /* Absent, and a new thread refused it: only expected_seq can do that. */
            *why = (struct append_refusal){.conflict = -1, .last_seq = 0};
            break;
        }
        if (qs != DB_NO_RESULTS && qs != DB_CONFLICT) break;
    }
    if (qs == DB_CONFLICT || (qs > 0 && !db_nrows(rows))) qs = DB_SOFT_ERROR; /* gave up */
    if (qs <= 0) db_rows_free(rows);
    for (int c = 0; c < 7; c++)
        buf_free(&arr[c]);
    return qs;
}

enum db_qs events_db_list(const char *org, const char *user, const char *thread, long long after,
                          long long before, bool asc, const struct event_filter *f, int limit,
                          struct db_rows *rows)
{
    char lo[24], hi[24], lim[16];
    snprintf(lo, sizeof lo, "%lld", after);
    snprintf(hi, sizeof hi, "%lld", before);
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {
        org,       thread,     user,         lo,
        hi,        lim,        f->types,     f->types ? (f->prefixes ? f->prefixes : "{}") : NULL,
        f->run_id, f->step_id, f->message_id};
    if (f->types || f->run_id || f->step_id || f->message_id)
        return db_run_custom(&st_lists[1][asc], 11, params, rows);
    return db_run(&st_lists[0][asc], 6, params, rows);
}

enum db_qs events_db_get(const char *org, const char *user, const char *thread, const char *id,
                         struct db_rows *rows)
{
    const char *params[] = {org, thread, user, id};
    return db_run(&st_get, 4, params, rows);
}

enum db_qs events_db_append_one(const char *org, const char *thread, const struct event_in *ev,
                                struct db_rows *rows)
{
    const char *params[] = {org,         thread,         ev->id,   ev->type,       ev->run_id,
                            ev->step_id, ev->message_id, ev->data, ev->occurred_at};
    return db_run(&st_append_one, 9, params, rows);
}
