/* SQL for LangGraph checkpoints: one statement per saver call. */
#include "db/checkpoints.h"

#include <stdio.h>
#include <stdlib.h>

/* The thread as the caller sees it: whether it is theirs, and whether checkpoint id $5 (and its
 * parent, PARENT, for a put) is above its tombstone: a run still going when its thread's
 * checkpoints were deleted keeps putting children of deleted checkpoints, which stay deleted.
 * The row lock makes a put or write wait for a delete in progress (which locks the thread FOR
 * UPDATE), then read the tombstone it left. No row: the thread does not exist. */
// clang-format off
#define THREAD_CHECK \
    "th AS (SELECT ($3::text IS NULL OR user_id IS NOT DISTINCT FROM $3) AS visible," \
    " (checkpoint_floor IS NULL OR ($5::text COLLATE \"C\" > checkpoint_floor" \
    " AND (" PARENT " IS NULL OR " PARENT " COLLATE \"C\" > checkpoint_floor))) AS above" \
    " FROM threads WHERE org_id = $1 AND id = $2 FOR KEY SHARE)," \
    " ok AS (SELECT 1 FROM th WHERE visible AND above)"
// clang-format on

/* $4 ns, $5 id, $6 parent, $7 v, $8 checkpoint, $9/$10 channel_versions, $11/$12 metadata type and
 * token, $13 metadata as jsonb, $14..$17 the blobs, $18 a TTL in seconds or NULL. A re-put
 * replaces the checkpoint; blobs are written once per (channel, version). A thread with a TTL
 * (this one's, or the last one given) expires that long after this put. */
// clang-format off
#define PARENT "$6::text"
static struct db_stmt st_put = {
    "ckpt_put",
    "WITH " THREAD_CHECK ","
    " b AS (INSERT INTO checkpoint_blobs (org_id, thread_id, checkpoint_ns, channel, version, type,"
    "   data) SELECT $1, $2, $4, x.c, x.v, x.t, x.d FROM ok, unnest($14::text[], $15::text[],"
    "   $16::text[], $17::text[]) AS x(c, v, t, d) ON CONFLICT DO NOTHING),"
    " c AS (INSERT INTO checkpoints (org_id, thread_id, checkpoint_ns, checkpoint_id,"
    "   parent_checkpoint_id, v, checkpoint, channels, versions, metadata_type, metadata_data,"
    "   metadata) SELECT $1, $2, $4, $5, $6, $7::int, $8, $9::text[], $10::text[], $11, $12,"
    "   $13::jsonb FROM ok ON CONFLICT (org_id, thread_id, checkpoint_ns, checkpoint_id) DO UPDATE"
    "   SET parent_checkpoint_id = excluded.parent_checkpoint_id, v = excluded.v,"
    "   checkpoint = excluded.checkpoint, channels = excluded.channels,"
    "   versions = excluded.versions, metadata_type = excluded.metadata_type,"
    "   metadata_data = excluded.metadata_data, metadata = excluded.metadata),"
    " ttl AS (UPDATE threads SET checkpoint_ttl_seconds = COALESCE($18::int, checkpoint_ttl_seconds),"
    "   checkpoint_expires_at = now() + make_interval(secs => COALESCE($18::int,"
    "   checkpoint_ttl_seconds)) WHERE org_id = $1 AND id = $2 AND EXISTS (SELECT 1 FROM ok)"
    "   AND ($18::int IS NOT NULL OR checkpoint_ttl_seconds IS NOT NULL))"
    " SELECT visible, above FROM th",
    0};

#undef PARENT
#define PARENT "NULL::text"
/* $4 ns, $5 checkpoint id, $6 task, $7 task path, $8..$11 the writes. idx >= 0: the first write
 * stays; idx < 0 (error, scheduled, interrupt, resume): a later one replaces it. */
#define WRITE_INSERT \
    "INSERT INTO checkpoint_writes (org_id, thread_id, checkpoint_ns, checkpoint_id, task_id, idx," \
    " task_path, channel, type, data) SELECT $1, $2, $4, $5, $6, x.idx, $7, x.c, x.t, x.d FROM x"
static struct db_stmt st_writes = {
    "ckpt_writes",
    "WITH " THREAD_CHECK ","
    " x AS (SELECT x.* FROM ok, unnest($8::int[], $9::text[], $10::text[], $11::text[])"
    "   AS x(idx, c, t, d)),"
    " first AS (" WRITE_INSERT " WHERE x.idx >= 0 ON CONFLICT DO NOTHING),"
    " last AS (" WRITE_INSERT " WHERE x.idx < 0 ON CONFLICT (org_id, thread_id, checkpoint_ns,"
    "   checkpoint_id, task_id, idx) DO UPDATE SET task_path = excluded.task_path,"
    "   channel = excluded.channel, type = excluded.type, data = excluded.data)"
    " SELECT visible, above FROM th",
    0};

static struct db_stmt st_create_thread = {
    "ckpt_create_thread",
    "INSERT INTO threads (org_id, id, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", 0};

/*
 * Tuples: the page of checkpoints (c), then for each its rows: itself, its channel values (the
 * blobs its channel_versions name, "empty" ones left out), its pending writes, and (format v < 4)
 * the sends its parent's tasks wrote. $1 org, $2 user, $3 thread, $4 ns, $5 id, $6 before,
 * $7 metadata, $8 limit.
 */
#define CKPT_JOIN(t, id) \
    " JOIN " t " w ON w.org_id = $1 AND w.thread_id = c.thread_id" \
    " AND w.checkpoint_ns = c.checkpoint_ns AND w.checkpoint_id = " id
#define NEWEST "c.checkpoint_id DESC, c.thread_id COLLATE \"C\" DESC, c.checkpoint_ns COLLATE \"C\" DESC"
#define TUPLES(where) \
"WITH c AS (SELECT c.*, row_number() OVER (ORDER BY " NEWEST ") AS k FROM checkpoints c" \
    "   JOIN threads t ON t.org_id = c.org_id AND t.id = c.thread_id" \
    "   WHERE c.org_id = $1 AND ($2::text IS NULL OR t.user_id = $2) AND " where \
    "   ORDER BY " NEWEST " LIMIT $8)" \
    " SELECT c.k, 0 AS kind, c.thread_id, c.checkpoint_ns, c.checkpoint_id::text," \
    "   c.parent_checkpoint_id, c.checkpoint, c.metadata_type, c.metadata_data," \
    "   NULL::text COLLATE \"C\" AS o1, NULL::text COLLATE \"C\" AS o2, 0 AS o3 FROM c" \
    " UNION ALL SELECT c.k, 1, w.channel, w.type, w.data, NULL, NULL, NULL, NULL, w.channel, NULL, 0" \
    "   FROM c CROSS JOIN LATERAL unnest(c.channels, c.versions) AS cv(channel, version)" \
    "   JOIN checkpoint_blobs w ON w.org_id = $1 AND w.thread_id = c.thread_id" \
    "   AND w.checkpoint_ns = c.checkpoint_ns AND w.channel = cv.channel" \
    "   AND w.version = cv.version AND w.type <> 'empty'" \
    " UNION ALL SELECT c.k, 2, w.task_id, w.channel, w.type, w.data, NULL, NULL, NULL," \
    "   w.task_path, w.task_id, w.idx FROM c" CKPT_JOIN("checkpoint_writes", "c.checkpoint_id") \
    " UNION ALL SELECT c.k, 3, w.type, w.data, NULL, NULL, NULL, NULL, NULL, w.task_path," \
    "   w.task_id, w.idx FROM c" CKPT_JOIN("checkpoint_writes", "c.parent_checkpoint_id") \
    "   AND w.channel = '__pregel_tasks' WHERE c.v < 4" \
    " ORDER BY 1, 2, o1, o2, o3"
/* Any filters: planned for their values (which index serves depends on which are set). */
static struct db_stmt st_tuples = {
    "ckpt_tuples",
    TUPLES("($3::text IS NULL OR c.thread_id = $3) AND ($4::text IS NULL OR c.checkpoint_ns = $4)"
           " AND ($5::text IS NULL OR c.checkpoint_id = $5) AND ($6::text IS NULL OR"
           " c.checkpoint_id < $6) AND ($7::jsonb IS NULL OR (c.metadata IS NOT NULL AND NOT"
           " EXISTS (SELECT 1 FROM jsonb_each($7::jsonb) f WHERE c.metadata -> f.key IS DISTINCT"
           " FROM f.value)))"),
    0};
/* One thread and namespace (a saver's getTuple): a walk down the primary key, $6 and $7 unused. */
static struct db_stmt st_tuple = {
    "ckpt_tuple",
    TUPLES("c.thread_id = $3 AND c.checkpoint_ns = $4 AND ($5::text IS NULL OR"
           " c.checkpoint_id = $5) AND $6::text IS NULL AND $7::jsonb IS NULL"),
    0};

/* Deletes the visible thread's checkpoints, writes and blobs, and raises its tombstone to the
 * greatest checkpoint id it had. No row: not visible. */
#define VISIBLE "org_id = $1 AND id = $2 AND ($3::text IS NULL OR user_id = $3)"
#define OF_THREAD "org_id = $1 AND thread_id = $2 AND EXISTS (SELECT 1 FROM th)"
static struct db_stmt st_delete = {
    "ckpt_delete",
    "WITH th AS (SELECT 1 FROM threads WHERE " VISIBLE " FOR UPDATE),"
    " dc AS (DELETE FROM checkpoints WHERE " OF_THREAD " RETURNING checkpoint_id),"
    " dw AS (DELETE FROM checkpoint_writes WHERE " OF_THREAD " RETURNING checkpoint_id),"
    " db AS (DELETE FROM checkpoint_blobs WHERE " OF_THREAD " RETURNING 1)"
    " UPDATE threads SET checkpoint_floor = GREATEST(checkpoint_floor, (SELECT max(id) FROM"
    "   (SELECT checkpoint_id AS id FROM dc UNION ALL SELECT checkpoint_id FROM dw) x)),"
    "   updated_at = now()"
    " WHERE " VISIBLE " RETURNING (SELECT count(*) FROM db)",
    0};

/* Keeps the $4 newest checkpoints per namespace (only in $5 when given), the writes of those
 * kept and of the parents of kept ones of format v < 4 (their pending sends), and the blobs a
 * kept checkpoint names. Returns the visible thread's counts. */
static struct db_stmt st_prune = {
    "ckpt_prune",
    "WITH th AS (SELECT 1 FROM threads WHERE " VISIBLE "),"
    " ranked AS (SELECT checkpoint_ns, checkpoint_id, row_number() OVER (PARTITION BY"
    "   checkpoint_ns ORDER BY checkpoint_id DESC) AS r FROM checkpoints WHERE " OF_THREAD
    "   AND ($5::text IS NULL OR checkpoint_ns = $5)),"
    " dc AS (DELETE FROM checkpoints c USING ranked r WHERE c.org_id = $1 AND c.thread_id = $2"
    "   AND c.checkpoint_ns = r.checkpoint_ns AND c.checkpoint_id = r.checkpoint_id"
    "   AND r.r > $4::int RETURNING c.checkpoint_ns, c.checkpoint_id),"
    " dw AS (DELETE FROM checkpoint_writes w USING dc WHERE w.org_id = $1 AND w.thread_id = $2"
    "   AND w.checkpoint_ns = dc.checkpoint_ns AND w.checkpoint_id = dc.checkpoint_id"
    "   AND NOT EXISTS (SELECT 1 FROM checkpoints k WHERE k.org_id = $1 AND k.thread_id = $2"
    "   AND k.checkpoint_ns = dc.checkpoint_ns AND k.parent_checkpoint_id = dc.checkpoint_id"
    "   AND k.v < 4 AND NOT EXISTS (SELECT 1 FROM dc d WHERE d.checkpoint_ns = k.checkpoint_ns"
    "   AND d.checkpoint_id = k.checkpoint_id)) RETURNING 1),"
    " kept AS (SELECT c.checkpoint_ns, cv.channel, cv.version FROM checkpoints c"
    "   CROSS JOIN LATERAL unnest(c.channels, c.versions) AS cv(channel, version)"
    "   WHERE c.org_id = $1 AND c.thread_id = $2 AND ($5::text IS NULL OR c.checkpoint_ns = $5)"
    "   AND NOT EXISTS (SELECT 1 FROM dc WHERE dc.checkpoint_ns = c.checkpoint_ns"
    "   AND dc.checkpoint_id = c.checkpoint_id)),"
    " db AS (DELETE FROM checkpoint_blobs b WHERE b.org_id = $1 AND b.thread_id = $2"
    "   AND EXISTS (SELECT 1 FROM th) AND ($5::text IS NULL OR b.checkpoint_ns = $5)"
    "   AND NOT EXISTS (SELECT 1 FROM kept k WHERE k.checkpoint_ns = b.checkpoint_ns"
    "   AND k.channel = b.channel AND k.version = b.version) RETURNING 1)"
    " SELECT (SELECT count(*) FROM dc), (SELECT count(*) FROM db), (SELECT count(*) FROM dw)"
    " FROM th",
    0};
// clang-format on

/* Deletes the checkpoints of up to $1 expired threads, as st_delete does (tombstone and all). */
static struct db_stmt st_expire = {
    "ckpt_expire",
    "WITH t AS (SELECT org_id, id FROM threads WHERE checkpoint_expires_at < now()"
    "   ORDER BY checkpoint_expires_at LIMIT $1::int FOR UPDATE SKIP LOCKED),"
    " dc AS (DELETE FROM checkpoints c USING t WHERE c.org_id = t.org_id AND c.thread_id = t.id"
    "   RETURNING c.org_id, c.thread_id, c.checkpoint_id),"
    " dw AS (DELETE FROM checkpoint_writes w USING t WHERE w.org_id = t.org_id"
    "   AND w.thread_id = t.id RETURNING w.org_id, w.thread_id, w.checkpoint_id),"
    " db AS (DELETE FROM checkpoint_blobs b USING t WHERE b.org_id = t.org_id"
    "   AND b.thread_id = t.id RETURNING 1),"
    " top AS (SELECT org_id, thread_id, max(checkpoint_id) AS id FROM (SELECT * FROM dc"
    "   UNION ALL SELECT * FROM dw) x GROUP BY org_id, thread_id)"
    " UPDATE threads th SET checkpoint_expires_at = NULL,"
    "   checkpoint_floor = GREATEST(th.checkpoint_floor, top.id)"
    " FROM t LEFT JOIN top ON top.org_id = t.org_id AND top.thread_id = t.id"
    " WHERE th.org_id = t.org_id AND th.id = t.id RETURNING (SELECT count(*) FROM db)",
    0};

const struct db_stmt *const ckpt_db_stmts[] = {&st_expire,        &st_put,    &st_writes,
                                               &st_create_thread, &st_tuples, &st_tuple,
                                               &st_delete,        &st_prune,  NULL};

/* Runs a put or writes statement, creating the thread first when it does not exist. */
static enum db_qs store(struct db_stmt *st, int n, const char *const *params,
                        enum ckpt_outcome *out)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        struct db_rows rows;
        enum db_qs qs = db_run(st, n, params, &rows);
        if (qs > 0) {
            const char *v = db_str(&rows, 0, 0), *a = db_str(&rows, 0, 1);
            bool visible = v && v[0] == 't', above = a && a[0] == 't';
            *out = !visible ? CKPT_NOT_FOUND : above ? CKPT_STORED : CKPT_IGNORED;
        }
        db_rows_free(&rows);
        if (qs != DB_NO_RESULTS) return qs < 0 ? qs : DB_ONE_RESULT;
        qs = db_run(&st_create_thread, 3, params, &rows); /* $1 org, $2 thread, $3 user */
        db_rows_free(&rows);
        if (qs < 0) return qs;
    }
    *out = CKPT_NOT_FOUND;
    return DB_ONE_RESULT;
}

enum db_qs ckpt_db_put(const char *org, const char *user, const char *thread,
                       const struct checkpoint_in *c, enum ckpt_outcome *out)
{
    const char *params[] = {org,
                            thread,
                            user,
                            c->ns,
                            c->id,
                            c->parent_id,
                            c->v,
                            c->checkpoint,
                            c->channels,
                            c->versions,
                            c->metadata_type,
                            c->metadata_raw,
                            c->metadata_json,
                            c->blob_channels,
                            c->blob_versions,
                            c->blob_types,
                            c->blob_data,
                            c->ttl_seconds};
    return store(&st_put, 18, params, out);
}

enum db_qs ckpt_db_writes(const char *org, const char *user, const char *thread,
                          const struct writes_in *w, enum ckpt_outcome *out)
{
    const char *params[] = {org,        thread,       user,   w->ns,       w->checkpoint_id,
                            w->task_id, w->task_path, w->idx, w->channels, w->types,
                            w->data};
    return store(&st_writes, 11, params, out);
}

enum db_qs ckpt_db_tuples(const char *org, const char *user, const struct ckpt_filter *f, int limit,
                          struct db_rows *rows)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {org, user, f->thread, f->ns, f->id, f->before, f->metadata, lim};
    if (f->thread && f->ns && !f->before && !f->metadata) return db_run(&st_tuple, 8, params, rows);
    return db_run_custom(&st_tuples, 8, params, rows);
}

enum db_qs ckpt_db_delete(const char *org, const char *user, const char *thread)
{
    const char *params[] = {org, thread, user};
    struct db_rows rows;
    enum db_qs qs = db_run(&st_delete, 3, params, &rows);
    db_rows_free(&rows);
    return qs;
}

enum db_qs ckpt_db_prune(const char *org, const char *user, const char *thread, const char *ns,
                         const char *keep, long long counts[3])
{
    const char *params[] = {org, thread, user, keep, ns};
    struct db_rows rows;
    enum db_qs qs = db_run(&st_prune, 5, params, &rows);
    for (int i = 0; qs > 0 && i < 3; i++)
        counts[i] = db_int(&rows, 0, i);
    db_rows_free(&rows);
    return qs;
}

enum db_qs ckpt_db_expire(int batch)
{
    char n[16];
    snprintf(n, sizeof n, "%d", batch);
    const char *params[] = {n};
    struct db_rows rows;
    enum db_qs qs = db_run(&st_expire, 1, params, &rows);
    db_rows_free(&rows);
    return qs;
}
