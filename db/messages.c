/* SQL for messages: appends that take the next seq of their thread, pages by seq, streaming. */
#include "db/messages.h"
#include "db/sql.h"

#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONTENT "524288" /* bytes of content, appends included */
/* The thread ($1 org, $2 thread) is visible to the caller ($3 user or NULL). */
#define VISIBLE                                                                                    \
    "EXISTS (SELECT 1 FROM threads t WHERE t.org_id = $1 AND t.id = $2"                            \
    " AND ($3::text IS NULL OR t.user_id = $3))"
/* Content with pending streamed deltas appended (only in_progress messages have any). */
#define CONTENT(m)                                                                                 \
    "CASE WHEN " m ".delta_count = 0 THEN " m ".content ELSE"                                      \
    " (SELECT to_json((" m ".content::json #>> '{}') || string_agg(d.delta, '' ORDER BY d.n))"     \
    "::text FROM message_deltas d WHERE d.org_id = " m ".org_id AND d.thread_id = " m              \
    ".thread_id AND d.seq = " m ".seq) END"
#define COLS(m)                                                                                    \
    m ".id, " m ".thread_id, " m ".seq, " m                                                        \
      ".role, " CONTENT(m) ", " m ".name, " m ".status, " m ".run_id, " m ".metadata, " US(        \
          m ".created_at") ", " US(m ".updated_at") ", " m ".tool_calls, " m ".tool_call_id"
#define NEW_COLS                                                                                   \
    "id, thread_id, seq, role, content, name, status, run_id, metadata, " US(                      \
        "created_at") ", " US("updated_at") ", tool_calls, tool_call_id"

static struct db_stmt st_append = {
    "msg_append",
    "WITH t AS (UPDATE threads SET last_seq = last_seq + 1, message_count = message_count + 1,"
    " last_message_at = now() WHERE org_id = $1 AND id = $2"
    " AND ($3::text IS NULL OR user_id = $3) RETURNING last_seq)"
    " INSERT INTO messages (org_id, thread_id, seq, id, role, content, name, status, run_id,"
    " metadata, tool_calls, tool_call_id) SELECT $1, $2, t.last_seq, $4, $5, $6, $7, $8, $9,"
    " COALESCE($10, '{}'), $11, $12 FROM t"
    " RETURNING " NEW_COLS,
    0};

static struct db_stmt st_append_batch = {
    "msg_append_batch",
    "WITH t AS (UPDATE threads SET last_seq = last_seq + $4::int8, message_count = message_count + "
    "$4::int8,"
    " last_message_at = now() WHERE org_id = $1 AND id = $2"
    " AND ($3::text IS NULL OR user_id = $3) RETURNING last_seq - $4::int8 AS base)"
    " INSERT INTO messages (org_id, thread_id, seq, id, role, content, name, status, run_id,"
    " metadata, tool_calls, tool_call_id) SELECT $1, $2, t.base + m.ord, m.id, m.role,"
    " m.content, m.name, m.status, m.run_id, COALESCE(m.metadata, '{}'), m.tool_calls,"
    " m.tool_call_id FROM t, unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::text[],"
    " $10::text[], $11::text[], $12::text[], $13::text[]) WITH ORDINALITY"
    " AS m(id, role, content, name, status, run_id, metadata, tool_calls, tool_call_id, ord)"
    " ORDER BY m.ord"
    " RETURNING " NEW_COLS,
    0};

/* The messages a new thread is created with: seq 1..n, in the thread's creating transaction. */
static struct db_stmt st_insert_initial = {
    "msg_insert_initial",
    "INSERT INTO messages (org_id, thread_id, seq, id, role, content, name, status, run_id,"
    " metadata, tool_calls, tool_call_id) SELECT $1, $2, m.ord, m.id, m.role, m.content, m.name,"
    " m.status, m.run_id, COALESCE(m.metadata, '{}'), m.tool_calls, m.tool_call_id"
    " FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],"
    " $9::text[], $10::text[], $11::text[]) WITH ORDINALITY"
    " AS m(id, role, content, name, status, run_id, metadata, tool_calls, tool_call_id, ord)",
    0};

/* One statement answers thread visibility, cursor validity and the page (see the header). */
/*
 * One statement answers thread visibility, cursor validity and the page (see the header).
 * Variants with and without a cursor, and with and without filters, are separate statements so
 * the common ones settle on a generic plan: with "$5 IS NULL OR role = $5" or a CASE over the
 * cursor, PostgreSQL re-planned every call, and planning cost more than reading the page.
 * Parameters a variant does not use are still typed in the "p" row so every variant takes $1..$8.
 * With a cursor, its seq is looked up once, in a MATERIALIZED CTE.
 */
// clang-format off
#define FILTERS \
    " AND ($5::text IS NULL OR role = $5) AND ($6::text IS NULL OR run_id = $6)" \
    " AND ($7::text IS NULL OR status = $7)"
#define PAGE(bound, dir, cmp, filters) \
    " JOIN threads t ON t.org_id = $1 AND t.id = $2 AND ($3::text IS NULL OR t.user_id = $3)" \
    " LEFT JOIN LATERAL (SELECT * FROM messages WHERE org_id = $1 AND thread_id = $2" \
    " AND seq " cmp " " bound filters " ORDER BY seq " dir " LIMIT $8) m ON true" \
    " ORDER BY m.seq " dir
#define UNUSED "(SELECT $4::text, $5::text, $6::text, $7::text) AS p"
#define LIST(dir, cmp, open, filters) \
    "SELECT " COLS("m") ", " open "::int8 FROM " UNUSED PAGE(open, dir, cmp, filters)
#define LIST_AFTER(dir, cmp, filters) \
    "WITH c AS MATERIALIZED (SELECT (SELECT seq FROM messages WHERE org_id = $1" \
    " AND thread_id = $2 AND id = $4) AS cseq)" \
    " SELECT " COLS("m") ", c.cseq FROM c, " UNUSED PAGE("c.cseq", dir, cmp, filters)
#define MAXSEQ "9223372036854775807"
// clang-format on

static struct db_stmt st_lists[2][2][2] = {
    /* [filtered][cursor][asc] */
    {{{"msg_list_desc", LIST("DESC", "<", MAXSEQ, ""), 0},
      {"msg_list_asc", LIST("ASC", ">", "0", ""), 0}},
     {{"msg_list_after_desc", LIST_AFTER("DESC", "<", ""), 0},
      {"msg_list_after_asc", LIST_AFTER("ASC", ">", ""), 0}}},
    {{{"msg_list_filtered_desc", LIST("DESC", "<", MAXSEQ, FILTERS), 0},
      {"msg_list_filtered_asc", LIST("ASC", ">", "0", FILTERS), 0}},
     {{"msg_list_filtered_after_desc", LIST_AFTER("DESC", "<", FILTERS), 0},
      {"msg_list_filtered_after_asc", LIST_AFTER("ASC", ">", FILTERS), 0}}},
};

static struct db_stmt st_all = {"msg_all",
                                "SELECT " COLS("m") " FROM messages m WHERE m.org_id = $1"
                                                    " AND m.thread_id = $2 AND m.seq > $3::int8"
                                                    " ORDER BY m.seq LIMIT $4",
                                0};

static struct db_stmt st_get = {"msg_get",
                                "SELECT " COLS("m") " FROM messages m WHERE m.org_id = $1"
                                                    " AND m.thread_id = $2 AND m.id = $4"
                                                    " AND " VISIBLE,
                                0};

/* The streaming fast path: one statement, and the content is never rewritten. The outer query
 * cannot see the delta its CTE inserts, so the full variant appends $5 itself. */
// clang-format off
#define DELTA(out) \
    "WITH m AS (UPDATE messages SET delta_count = delta_count + 1," \
    " delta_bytes = delta_bytes + $6::int8, updated_at = now()" \
    " WHERE org_id = $1 AND thread_id = $2 AND id = $4 AND status = 'in_progress'" \
    " AND left(content, 1) = '\"'" \
    " AND octet_length(content) + delta_bytes + $6::int8 <= " MAX_CONTENT \
    " AND " VISIBLE " RETURNING *)," \
    " d AS (INSERT INTO message_deltas (org_id, thread_id, seq, n, delta)" \
    " SELECT org_id, thread_id, seq, delta_count, $5 FROM m) SELECT " out " FROM m"
// clang-format on
static struct db_stmt st_delta = {
    "msg_delta",
    DELTA(
        "id, thread_id, seq, role, to_json((content::json #>> '{}') || COALESCE((SELECT"
        " string_agg(d.delta, '' ORDER BY d.n) FROM message_deltas d WHERE d.org_id = m.org_id"
        " AND d.thread_id = m.thread_id AND d.seq = m.seq), '') || $5)::text, name, status,"
        " run_id, metadata, " US("created_at") ", " US("updated_at") ", tool_calls, tool_call_id"),
    0};
static struct db_stmt st_delta_min = {"msg_delta_min", DELTA("id"), 0};

static struct db_stmt st_lock = {
    "msg_lock",
    "SELECT m.status, left(m.content, 1) = '\"', m.role FROM messages m"
    " WHERE m.org_id = $1 AND m.thread_id = $2 AND m.id = $4"
    " AND " VISIBLE " FOR UPDATE OF m",
    0};

/* $1 org, $2 thread, $3 id (visibility was checked under the row lock); $4 new content or
 * NULL, $5 fold deltas into content, $6 status or NULL, $7 metadata patch or NULL, $8 new
 * tool_calls or NULL. */
/* True when this PATCH leaves no pending deltas: new content, or folding them in. */
#define RESET "($4::text IS NOT NULL OR $5::bool)"
// clang-format off
static struct db_stmt st_patch = {
    "msg_patch",
    "UPDATE messages m SET"
    " content = CASE WHEN $4::text IS NOT NULL THEN $4"
    "   WHEN $5::bool AND m.delta_count > 0 THEN " CONTENT("m") " ELSE m.content END,"
    " delta_count = CASE WHEN " RESET " THEN 0 ELSE m.delta_count END,"
    " delta_bytes = CASE WHEN " RESET " THEN 0 ELSE m.delta_bytes END,"
    " status = COALESCE($6, m.status), tool_calls = COALESCE($8, m.tool_calls),"
    " metadata = CASE WHEN $7::jsonb IS NULL THEN m.metadata ELSE ((m.metadata::jsonb"
    "   || COALESCE((SELECT jsonb_object_agg(key, value) FROM jsonb_each($7::jsonb)"
    "   WHERE value <> 'null'::jsonb), '{}'))"
    "   - ARRAY(SELECT key FROM jsonb_each($7::jsonb) WHERE value = 'null'::jsonb))::text END,"
    " updated_at = now() WHERE m.org_id = $1 AND m.thread_id = $2 AND m.id = $3"
    " RETURNING " COLS("m"),
    0};
// clang-format on

static struct db_stmt st_drop_deltas = {
    "msg_drop_deltas",
    "DELETE FROM message_deltas d USING messages m WHERE m.org_id = $1 AND m.thread_id = $2"
    " AND m.id = $3 AND d.org_id = m.org_id AND d.thread_id = m.thread_id AND d.seq = m.seq",
    0};

static struct db_stmt st_delete = {
    "msg_delete",
    "WITH d AS (DELETE FROM messages m WHERE m.org_id = $1 AND m.thread_id = $2 AND m.id = $4"
    " AND " VISIBLE " RETURNING m.id)"
    " UPDATE threads SET message_count = message_count - 1 WHERE org_id = $1 AND id = $2"
    " AND EXISTS (SELECT 1 FROM d) RETURNING id",
    0};

/* A clear that waited for the thread's row lock must not zero a count that includes appends it
 * cannot see (its DELETE runs on the statement's snapshot): subtract what it deleted. */
static struct db_stmt st_clear = {
    "msg_clear",
    "WITH d AS (DELETE FROM messages m WHERE m.org_id = $1 AND m.thread_id = $2 AND " VISIBLE
    " RETURNING 1), n AS (SELECT count(*) AS deleted FROM d)"
    " UPDATE threads SET message_count = message_count - n.deleted,"
    " last_message_at = CASE WHEN message_count = n.deleted THEN NULL ELSE last_message_at END"
    " FROM n WHERE org_id = $1 AND id = $2 AND ($3::text IS NULL OR user_id = $3)"
    " RETURNING n.deleted",
    0};

const struct db_stmt *const messages_db_stmts[] = {&st_append,
                                                   &st_append_batch,
                                                   &st_insert_initial,
                                                   &st_lists[0][0][0],
                                                   &st_lists[0][0][1],
                                                   &st_lists[0][1][0],
                                                   &st_lists[0][1][1],
                                                   &st_lists[1][0][0],
                                                   &st_lists[1][0][1],
                                                   &st_lists[1][1][0],
                                                   &st_lists[1][1][1],
                                                   &st_get,
                                                   &st_delta,
                                                   &st_delta_min,
                                                   &st_lock,
                                                   &st_patch,
                                                   &st_drop_deltas,
                                                   &st_delete,
                                                   &st_clear,
                                                   &st_all,
                                                   NULL};

/* The text[] literals (id, role, content, name, status, run_id, metadata, tool_calls,
 * tool_call_id) for m[0..n). */
#define NARRAYS 9
static void build_arrays(const struct message_in *m, int n, struct buf arr[NARRAYS])
{
    for (int c = 0; c < NARRAYS; c++) {
        arr[c] = (struct buf){0};
        buf_putc(&arr[c], '{');
    }
    for (int i = 0; i < n; i++) {
        db_array_add(&arr[0], m[i].id);
        db_array_add(&arr[1], m[i].role);
        db_array_add(&arr[2], m[i].content);
        db_array_add(&arr[3], m[i].name);
        db_array_add(&arr[4], m[i].status);
        db_array_add(&arr[5], m[i].run_id);
        db_array_add(&arr[6], m[i].metadata);
        db_array_add(&arr[7], m[i].tool_calls);
        db_array_add(&arr[8], m[i].tool_call_id);
    }
    for (int c = 0; c < NARRAYS; c++)
        buf_putc(&arr[c], '}');
}

static void free_arrays(struct buf arr[NARRAYS])
{
    for (int c = 0; c < NARRAYS; c++)
        buf_free(&arr[c]);
}

enum db_qs messages_db_append(const char *org, const char *user, const char *thread,
                              const struct message_in *m, int n, struct db_rows *rows)
{
    if (n == 1) {
        const char *params[] = {org,       thread,      user,          m->id,
                                m->role,   m->content,  m->name,       m->status,
                                m->run_id, m->metadata, m->tool_calls, m->tool_call_id};
        return db_run(&st_append, 12, params, rows);
    }
    struct buf arr[NARRAYS];
    build_arrays(m, n, arr);
    char count[16];
    snprintf(count, sizeof count, "%d", n);
    const char *params[] = {org,         thread,      user,        count,       arr[0].data,
                            arr[1].data, arr[2].data, arr[3].data, arr[4].data, arr[5].data,
                            arr[6].data, arr[7].data, arr[8].data};
    enum db_qs qs = db_run(&st_append_batch, 13, params, rows);
    free_arrays(arr);
    return qs;
}

enum db_qs messages_db_insert_initial(struct db_conn *c, const char *org, const char *thread,
                                      const struct message_in *m, int n)
{
    struct buf arr[NARRAYS];
    build_arrays(m, n, arr);
    const char *params[] = {org,         thread,      arr[0].data, arr[1].data,
                            arr[2].data, arr[3].data, arr[4].data, arr[5].data,
                            arr[6].data, arr[7].data, arr[8].data};
    struct db_rows rows;
    enum db_qs qs = db_exec(c, &st_insert_initial, 11, params, &rows);
    db_rows_free(&rows);
    free_arrays(arr);
    return qs;
}

enum db_qs messages_db_list(const char *org, const char *user, const char *thread,
                            const char *cursor, bool asc, const struct message_filter *f, int limit,
                            struct db_rows *rows)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {org, thread, user, cursor, f->role, f->run_id, f->status, lim};
    /* Filters are rare and their selectivity varies (run_id has its own index): plan them for
     * the values at hand. */
    if (f->role || f->run_id || f->status)
        return db_run_custom(&st_lists[1][cursor != NULL][asc], 8, params, rows);
    return db_run(&st_lists[0][cursor != NULL][asc], 8, params, rows);
}

enum db_qs messages_db_all(const char *org, const char *thread, long long after, int limit,
                           struct db_rows *rows)
{
    char a[24], l[16];
    snprintf(a, sizeof a, "%lld", after);
    snprintf(l, sizeof l, "%d", limit);
    const char *params[] = {org, thread, a, l};
    return db_run(&st_all, 4, params, rows);
}

enum db_qs messages_db_get(const char *org, const char *user, const char *thread, const char *id,
                           struct db_rows *rows)
{
    const char *params[] = {org, thread, user, id};
    return db_run(&st_get, 4, params, rows);
}

/* Bytes the delta adds to the content's JSON text (escapes as PostgreSQL's to_json writes them),
 * as text for the statement's $6. */
static void json_text_bytes(const char *s, char out[24])
{
    long long n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += *p == '"' || *p == '\\' || *p == '\b' || *p == '\f' || *p == '\n' || *p == '\r' ||
                     *p == '\t'
                 ? 2
             : *p < 0x20 ? 6
                         : 1;
    snprintf(out, 24, "%lld", n);
}

enum db_qs messages_db_append_delta(const char *org, const char *user, const char *thread,
                                    const char *id, const char *delta, bool minimal,
                                    struct db_rows *rows)
{
    char bytes[24];
    json_text_bytes(delta, bytes);
    const char *params[] = {org, thread, user, id, delta, bytes};
    return db_run(minimal ? &st_delta_min : &st_delta, 6, params, rows);
}

struct patch_tx {
    const char *key[4]; /* org, thread, user, id: $1..$4 of st_lock and st_delta */
    const struct message_patch *p;
    enum patch_refusal *refusal;
    struct db_rows *rows;
};

/* The transaction body of messages_db_patch. */
static enum db_qs patch_in_tx(struct db_conn *c, void *arg)
{
    struct patch_tx *tx = arg;
    const char *const *key = tx->key;
    const struct message_patch *p = tx->p;
    enum patch_refusal *refusal = tx->refusal;
    struct db_rows *rows = tx->rows;
    struct db_rows cur;
    enum db_qs qs = db_exec(c, &st_lock, 4, key, &cur);
    if (qs <= 0) {
        db_rows_free(&cur);
        *refusal = PATCH_NOT_FOUND;
        return qs;
    }
    bool in_progress = !strcmp(db_str(&cur, 0, 0), "in_progress");
    bool is_string = !strcmp(db_str(&cur, 0, 1), "t");
    bool same_status = p->status && !strcmp(p->status, db_str(&cur, 0, 0));
    bool assistant = !strcmp(db_str(&cur, 0, 2), "assistant");
    db_rows_free(&cur);
    if (p->tool_calls && !assistant) {
        *refusal = PATCH_NOT_ASSISTANT;
        return DB_NO_RESULTS;
    }
    if ((p->status && !in_progress && !same_status) || (p->append && !in_progress)) {
        *refusal = PATCH_FINAL;
        return DB_NO_RESULTS;
    }
    if (p->append && !is_string) {
        *refusal = PATCH_NOT_STRING;
        return DB_NO_RESULTS;
    }
    if (p->append) {
        char bytes[24];
        json_text_bytes(p->append, bytes);
        const char *params[] = {key[0], key[1], key[2], key[3], p->append, bytes};
        qs = db_exec(c, &st_delta_min, 6, params, &cur);
        db_rows_free(&cur);
        if (qs == 0) *refusal = PATCH_TOO_LONG; /* the row is locked and checked: only the size */
        if (qs <= 0) return qs;
    }
    bool fold = p->status && strcmp(p->status, "in_progress") != 0;
    const char *params[] = {
        key[0],       key[1], key[3], p->content, fold ? "t" : "f", p->status, p->metadata_patch,
        p->tool_calls};
    qs = db_exec(c, &st_patch, 8, params, rows);
    if (qs <= 0) return qs < 0 ? qs : DB_HARD_ERROR;
    if (!metadata_fits(db_str(rows, 0, M_METADATA))) {
        db_rows_free(rows);
        return DB_INVALID;
    }
    if (p->content || fold) {
        const char *dparams[] = {key[0], key[1], key[3]};
        struct db_rows none;
        enum db_qs dq = db_exec(c, &st_drop_deltas, 3, dparams, &none);
        db_rows_free(&none);
        if (dq < 0) {
            db_rows_free(rows);
            return dq;
        }
    }
    return qs;
}

enum db_qs messages_db_patch(const char *org, const char *user, const char *thread, const char *id,
                             const struct message_patch *p, enum patch_refusal *refusal,
                             struct db_rows *rows)
{
    rows->res = NULL;
    *refusal = PATCH_OK;
    struct patch_tx tx = {{org, thread, user, id}, p, refusal, rows};
    enum db_qs qs = db_transaction(patch_in_tx, &tx);
    if (qs <= 0) db_rows_free(rows);
    return qs;
}

enum db_qs messages_db_delete(const char *org, const char *user, const char *thread, const char *id)
{
    const char *params[] = {org, thread, user, id};
    struct db_rows rows;
    enum db_qs qs = db_run(&st_delete, 4, params, &rows);
    db_rows_free(&rows);
    return qs;
}

enum db_qs messages_db_clear(const char *org, const char *user, const char *thread,
                             long long *count)
{
    const char *params[] = {org, thread, user};
    struct db_rows rows;
    enum db_qs qs = db_run(&st_clear, 3, params, &rows);
    if (qs > 0) *count = db_int(&rows, 0, 0);
    db_rows_free(&rows);
    return qs;
}
