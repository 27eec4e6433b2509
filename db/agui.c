/* SQL for AG-UI: the thread's stream context and state, the message edits its projection makes,
 * and the reads its replays make. */
#include "db/agui.h"

#include <stdio.h>
#include <string.h>

#define VISIBLE(t) t ".org_id = $1 AND " t ".id = $2 AND ($3::text IS NULL OR " t ".user_id = $3)"

static struct db_stmt st_create = {
    "agui_create",
    "INSERT INTO threads (org_id, id, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", 0};

static struct db_stmt st_open = {
    "agui_open",
    "SELECT a.ctx, a.state, a.state IS NOT NULL FROM threads t LEFT JOIN agui_threads a"
    " ON a.org_id = t.org_id AND a.thread_id = t.id WHERE " VISIBLE("t") " FOR UPDATE OF t",
    0};

static struct db_stmt st_save = {
    "agui_save",
    "INSERT INTO agui_threads (org_id, thread_id, ctx, state) VALUES ($1, $2, $3, $5)"
    " ON CONFLICT (org_id, thread_id) DO UPDATE SET ctx = EXCLUDED.ctx, state = CASE WHEN"
    " $4::bool THEN EXCLUDED.state ELSE agui_threads.state END",
    0};

static struct db_stmt st_message = {
    "agui_message",
    "SELECT role, left(content, 1) = '\"', status, content, name FROM messages"
    " WHERE org_id = $1 AND thread_id = $2 AND id = $3",
    0};

static struct db_stmt st_reopen = {
    "agui_reopen",
    "UPDATE messages SET status = 'in_progress', updated_at = now(), content = CASE WHEN"
    " left(content, 1) = '\"' THEN content ELSE '\"\"' END"
    " WHERE org_id = $1 AND thread_id = $2 AND id = $3",
    0};

static struct db_stmt st_replace = {
    "agui_replace",
    "WITH d AS (DELETE FROM message_deltas d USING messages m WHERE m.org_id = $1"
    " AND m.thread_id = $2 AND m.id = $3 AND d.org_id = m.org_id AND d.thread_id = m.thread_id"
    " AND d.seq = m.seq) UPDATE messages SET role = $4, content = $5, name = $6,"
    " tool_calls = $7, tool_call_id = $8, status = CASE WHEN $9::bool THEN 'in_progress'"
    " ELSE 'completed' END, delta_count = 0,"
    " delta_bytes = 0, updated_at = now() WHERE org_id = $1 AND thread_id = $2 AND id = $3",
    0};

static struct db_stmt st_tool_owner = {
    "agui_tool_owner",
    "SELECT id FROM messages WHERE org_id = $1 AND thread_id = $2 AND tool_calls IS NOT NULL"
    " AND tool_calls::jsonb @> jsonb_build_array(jsonb_build_object('id', $3::text))"
    " ORDER BY seq LIMIT 1",
    0};

static struct db_stmt st_tool_add = {
    "agui_tool_add",
    "UPDATE messages SET updated_at = now(), tool_calls = (COALESCE(tool_calls, '[]')::jsonb"
    " || jsonb_build_array(jsonb_build_object('id', $4::text, 'type', 'function', 'function',"
    " jsonb_build_object('name', $5::text, 'arguments', ''))))::text"
    " WHERE org_id = $1 AND thread_id = $2 AND id = $3",
    0};

/* $5 is "name" (set) or "arguments" (append $6). */
static struct db_stmt st_tool_set = {
    "agui_tool_set",
    "UPDATE messages m SET updated_at = now(), tool_calls = jsonb_set(m.tool_calls::jsonb,"
    " ARRAY[(x.i - 1)::text, 'function', $5::text], to_jsonb(CASE WHEN $5 = 'arguments'"
    " THEN x.args || $6 ELSE $6 END))::text FROM (SELECT e.i, e.c -> 'function' ->> 'arguments'"
    " AS args FROM messages mm, jsonb_array_elements(mm.tool_calls::jsonb) WITH ORDINALITY"
    " e(c, i) WHERE mm.org_id = $1 AND mm.thread_id = $2 AND mm.id = $3 AND e.c ->> 'id' = $4"
    " ORDER BY e.i LIMIT 1) x WHERE m.org_id = $1 AND m.thread_id = $2 AND m.id = $3",
    0};

/* $4: an object merged member by member into the metadata of message $3, or (with $5, a tool call
 * id) of that tool call of it. */
static struct db_stmt st_meta = {
    "agui_meta",
    "UPDATE messages m SET updated_at = now(), metadata = CASE WHEN $5::text IS NULL THEN"
    " (m.metadata::jsonb || $4::jsonb)::text ELSE m.metadata END, tool_calls = CASE WHEN"
    " $5::text IS NULL THEN m.tool_calls ELSE (SELECT COALESCE(jsonb_agg(CASE WHEN"
    " e.c ->> 'id' = $5 THEN jsonb_set(e.c, '{metadata}', COALESCE(e.c -> 'metadata', '{}')"
    " || $4::jsonb) ELSE e.c END ORDER BY e.i), '[]')::text FROM"
    " jsonb_array_elements(m.tool_calls::jsonb) WITH ORDINALITY e(c, i)) END"
    " WHERE m.org_id = $1 AND m.thread_id = $2 AND m.id = $3",
    0};

static struct db_stmt st_missing = {
    "agui_missing",
    "SELECT x.id FROM unnest($3::text[]) WITH ORDINALITY x(id, ord) WHERE NOT EXISTS"
    " (SELECT 1 FROM messages m WHERE m.org_id = $1 AND m.thread_id = $2 AND m.id = x.id)"
    " ORDER BY x.ord",
    0};

static struct db_stmt st_prune = {
    "agui_prune",
    "WITH d AS (DELETE FROM messages WHERE org_id = $1 AND thread_id = $2"
    " AND id <> ALL($3::text[]) AND (role <> 'reasoning' OR $4::bool)"
    " AND (role <> 'activity' OR $5::bool) RETURNING 1)"
    " UPDATE threads SET message_count = message_count - (SELECT count(*) FROM d)"
    " WHERE org_id = $1 AND id = $2",
    0};

static struct db_stmt st_state = {
    "agui_state",
    "SELECT a.state FROM threads t LEFT JOIN agui_threads a ON a.org_id = t.org_id"
    " AND a.thread_id = t.id WHERE " VISIBLE("t"),
    0};

static struct db_stmt st_events = {
    "agui_events",
    "SELECT e.seq, e.type, e.run_id, e.data, t.last_event_seq FROM threads t LEFT JOIN LATERAL"
    " (SELECT seq, type, run_id, data FROM events WHERE org_id = $1 AND thread_id = $2"
    " AND seq > $4::int8 AND seq < $7::int8 AND ($5::text IS NULL OR run_id = $5)"
    " AND type ~ '^[A-Z][A-Z0-9_]*$'"
    " ORDER BY seq LIMIT $6) e ON true WHERE " VISIBLE("t") " ORDER BY e.seq",
    0};

static struct db_stmt st_run_input = {
    "agui_run_input", "SELECT input FROM runs WHERE org_id = $1 AND thread_id = $2 AND id = $3", 0};

static struct db_stmt st_last_run = {
    "agui_last_run",
    "SELECT r.id, r.status, (SELECT e.data FROM events e WHERE e.org_id = $1"
    " AND e.thread_id = $2 AND e.run_id = r.id AND e.type = 'RUN_FINISHED' ORDER BY e.seq DESC"
    " LIMIT 1) FROM runs r WHERE r.org_id = $1 AND r.thread_id = $2 ORDER BY r.n DESC LIMIT 1",
    0};

const struct db_stmt *const agui_db_stmts[] = {
    &st_create,     &st_open,     &st_save,      &st_message,  &st_reopen,  &st_replace,
    &st_tool_owner, &st_tool_add, &st_tool_set,  &st_meta,     &st_missing, &st_prune,
    &st_state,      &st_events,   &st_run_input, &st_last_run, NULL};

/* Runs st with params, discarding rows; DB_NO_RESULTS when nothing matched. */
static enum db_qs run_quiet(struct db_stmt *st, int n, const char *const *params)
{
    struct db_rows rows;
    enum db_qs qs = db_run(st, n, params, &rows);
    db_rows_free(&rows);
    return qs;
}

enum db_qs agui_db_open(const char *org, const char *user, const char *thread, struct db_rows *rows)
{
    const char *params[] = {org, thread, user};
    enum db_qs qs = run_quiet(&st_create, 3, params);
    if (qs < 0) {
        rows->res = NULL;
        return qs;
    }
    return db_run(&st_open, 3, params, rows);
}

enum db_qs agui_db_save(const char *org, const char *thread, const char *ctx, bool set_state,
                        const char *state)
{
    const char *params[] = {org, thread, ctx, set_state ? "t" : "f", state};
    return run_quiet(&st_save, 5, params);
}

enum db_qs agui_db_message(const char *org, const char *thread, const char *id,
                           struct db_rows *rows)
{
    const char *params[] = {org, thread, id};
    return db_run(&st_message, 3, params, rows);
}

enum db_qs agui_db_reopen(const char *org, const char *thread, const char *id)
{
    const char *params[] = {org, thread, id};
    return run_quiet(&st_reopen, 3, params);
}

enum db_qs agui_db_replace(const char *org, const char *thread, const char *id, const char *role,
                           const char *content, const char *name, const char *tool_calls,
                           const char *tool_call_id, bool streaming)
{
    const char *params[] = {
        org, thread, id, role, content, name, tool_calls, tool_call_id, streaming ? "t" : "f"};
    return run_quiet(&st_replace, 9, params);
}

enum db_qs agui_db_tool_owner(const char *org, const char *thread, const char *tc, char id_out[129])
{
    const char *params[] = {org, thread, tc};
    struct db_rows rows;
    enum db_qs qs = db_run(&st_tool_owner, 3, params, &rows);
    if (qs > 0) snprintf(id_out, 129, "%s", db_str(&rows, 0, 0));
    db_rows_free(&rows);
    return qs;
}

enum db_qs agui_db_tool_add(const char *org, const char *thread, const char *id, const char *tc,
                            const char *name)
{
    const char *params[] = {org, thread, id, tc, name};
    return run_quiet(&st_tool_add, 5, params);
}

enum db_qs agui_db_tool_set(const char *org, const char *thread, const char *id, const char *tc,
                            const char *member, const char *value)
{
    const char *params[] = {org, thread, id, tc, member, value};
    return run_quiet(&st_tool_set, 6, params);
}

enum db_qs agui_db_metadata(const char *org, const char *thread, const char *id, const char *tc,
                            const char *meta)
{
    const char *params[] = {org, thread, id, meta, tc};
    return run_quiet(&st_meta, 5, params);
}

enum db_qs agui_db_missing(const char *org, const char *thread, const char *ids,
                           struct db_rows *rows)
{
    const char *params[] = {org, thread, ids};
    return db_run(&st_missing, 3, params, rows);
}

enum db_qs agui_db_prune(const char *org, const char *thread, const char *keep, bool has_reasoning,
                         bool has_activity)
{
    const char *params[] = {org, thread, keep, has_reasoning ? "t" : "f", has_activity ? "t" : "f"};
    return run_quiet(&st_prune, 5, params);
}

enum db_qs agui_db_state(const char *org, const char *user, const char *thread,
                         struct db_rows *rows)
{
    const char *params[] = {org, thread, user};
    return db_run(&st_state, 3, params, rows);
}

enum db_qs agui_db_events(const char *org, const char *user, const char *thread, long long after,
                          long long before, const char *run_id, int limit, struct db_rows *rows)
{
    char a[24], b[24], l[16];
    snprintf(a, sizeof a, "%lld", after);
    snprintf(b, sizeof b, "%lld", before);
    snprintf(l, sizeof l, "%d", limit);
    const char *params[] = {org, thread, user, a, run_id, l, b};
    return db_run(&st_events, 7, params, rows);
}

enum db_qs agui_db_run_input(const char *org, const char *thread, const char *run,
                             struct db_rows *rows)
{
    const char *params[] = {org, thread, run};
    return db_run(&st_run_input, 3, params, rows);
}

enum db_qs agui_db_last_run(const char *org, const char *thread, struct db_rows *rows)
{
    const char *params[] = {org, thread};
    return db_run(&st_last_run, 2, params, rows);
}
