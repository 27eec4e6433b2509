/* SQL fragments every db/ file writes the same way. */
#ifndef CONVSTORE_DB_SQL_H
#define CONVSTORE_DB_SQL_H

/* A timestamptz column as integer microseconds since the epoch (rendered by buf_json_time). */
#define US(col) "(extract(epoch FROM " col ") * 1000000)::int8"

/* The JSON merge patch p (a jsonb parameter) applied to column m: members set to null are
 * removed, the others replace or add. Done in SQL so stored JSON keeps PostgreSQL's numbers. */
#define MERGE_PATCH(m, p)                                                                          \
    "((" m " || COALESCE((SELECT jsonb_object_agg(key, value) FROM jsonb_each(" p                  \
    ") WHERE value <> 'null'::jsonb), '{}')) - ARRAY(SELECT key FROM jsonb_each(" p                \
    ") WHERE value = 'null'::jsonb))"

#endif
