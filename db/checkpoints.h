/* SQL for LangGraph checkpoints: one statement per saver call (put, writes, read or list tuples,
 * delete, prune), each scoped to the threads the caller sees. */
#ifndef CONVSTORE_DB_CHECKPOINTS_H
#define CONVSTORE_DB_CHECKPOINTS_H

#include <stdbool.h>

#include "pool.h"

/* A checkpoint to store. Text arrays are text[] literals; *_raw are the client's JSON tokens. */
struct checkpoint_in {
    const char *ns, *id, *parent_id, *v;
    const char *checkpoint;                   /* JSON object text without channel_values */
    const char *channels, *versions;          /* text[]: checkpoint.channel_versions */
    const char *metadata_type, *metadata_raw; /* metadata: {type, data} */
    const char *metadata_json;                /* metadata's data as jsonb text, or NULL */
    const char *blob_channels, *blob_versions, *blob_types, *blob_data; /* text[] */
    const char *ttl_seconds; /* the thread's checkpoint TTL from now on, or NULL: as it was */
};

/* Pending writes of one task to store. */
struct writes_in {
    const char *ns, *checkpoint_id, *task_id, *task_path;
    const char *idx, *channels, *types, *data; /* int[] and text[] literals */
};

/* What a put or writes did: not visible (or absent after creating it failed), ignored (at or
 * below the thread's tombstone), or stored. */
enum ckpt_outcome { CKPT_NOT_FOUND, CKPT_IGNORED, CKPT_STORED };

/* Both create the thread (owned by user) when it does not exist. */
enum db_qs ckpt_db_put(const char *org, const char *user, const char *thread,
                       const struct checkpoint_in *c, enum ckpt_outcome *out);
enum db_qs ckpt_db_writes(const char *org, const char *user, const char *thread,
                          const struct writes_in *w, enum ckpt_outcome *out);

/* Columns of tuple rows: tuple number (1-based, newest first), the row's kind, then fields. */
enum { CR_TUPLE, CR_KIND, CR_A, CR_B, CR_C, CR_D, CR_E, CR_F, CR_G };
/* CR_KIND: 0 the checkpoint (A thread, B ns, C id, D parent, E checkpoint, F metadata type,
 * G metadata data token); 1 a channel value (A channel, B type, C data token); 2 a pending write
 * (A task, B channel, C type, D data token), in task path, task, idx order; 3 a pending send (A
 * type, B data token). */
enum { CK_HEAD, CK_VALUE, CK_WRITE, CK_SEND };

struct ckpt_filter {
    const char *thread, *ns, *id; /* exact, or NULL */
    const char *before;           /* ids below this, or NULL */
    const char *metadata;         /* JSON object: equal on every key, or NULL */
};
/* The newest `limit` tuples matching f, each as its rows, in order. */
enum db_qs ckpt_db_tuples(const char *org, const char *user, const struct ckpt_filter *f, int limit,
                          struct db_rows *rows);

/* Deletes every namespace's checkpoints, blobs and writes and raises the tombstone.
 * DB_NO_RESULTS: the thread is not visible. */
enum db_qs ckpt_db_delete(const char *org, const char *user, const char *thread);

/* Keeps the keep newest checkpoints per namespace (or only in ns) and what they need.
 * DB_NO_RESULTS: the thread is not visible. */
enum db_qs ckpt_db_prune(const char *org, const char *user, const char *thread, const char *ns,
                         const char *keep, long long counts[3]);

/* Deletes the checkpoints of up to batch threads whose TTL ran out; rows: how many threads. */
enum db_qs ckpt_db_expire(int batch);

extern const struct db_stmt *const ckpt_db_stmts[];

#endif
