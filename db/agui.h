/* SQL for AG-UI: the thread's stream context and state, the message edits its projection makes,
 * and the reads its replays make. */
#ifndef CONVSTORE_DB_AGUI_H
#define CONVSTORE_DB_AGUI_H

#include <stdbool.h>

#include "pool.h"

/* Creates the thread for user if absent, then locks the visible thread's row for the rest of the
 * transaction. rows: (ctx, state, has_state) of the thread (NULLs before its first AG-UI event).
 * DB_NO_RESULTS: not visible to the caller. */
enum db_qs agui_db_open(const char *org, const char *user, const char *thread,
                        struct db_rows *rows);
/* Stores ctx, and state when set_state (NULL: none). */
enum db_qs agui_db_save(const char *org, const char *thread, const char *ctx, bool set_state,
                        const char *state);

/* A message of the thread: (role, content is a string, status, content, name). */
enum agui_msg_col { AM_ROLE, AM_IS_STRING, AM_STATUS, AM_CONTENT, AM_NAME };
enum db_qs agui_db_message(const char *org, const char *thread, const char *id,
                           struct db_rows *rows);
/* Makes an existing message stream again (in_progress; content "" unless it is a string). */
enum db_qs agui_db_reopen(const char *org, const char *thread, const char *id);
/* Replaces every field of an existing message, pending deltas dropped: completed, or
 * in_progress when it is streaming (its START came and its END has not). */
enum db_qs agui_db_replace(const char *org, const char *thread, const char *id, const char *role,
                           const char *content, const char *name, const char *tool_calls,
                           const char *tool_call_id, bool streaming);
/* The id of the thread's message holding tool call tc (into id_out), or DB_NO_RESULTS. */
enum db_qs agui_db_tool_owner(const char *org, const char *thread, const char *tc,
                              char id_out[129]);
/* Adds tool call {tc, function: {name, arguments: ""}} to message id. */
enum db_qs agui_db_tool_add(const char *org, const char *thread, const char *id, const char *tc,
                            const char *name);
/* Sets the name of tool call tc in message id (member "name"), or appends to its arguments
 * (member "arguments"). */
enum db_qs agui_db_tool_set(const char *org, const char *thread, const char *id, const char *tc,
                            const char *member, const char *value);
/* Merges meta (a JSON object) into the metadata of message id, or of its tool call tc when tc is
 * not NULL. */
enum db_qs agui_db_metadata(const char *org, const char *thread, const char *id, const char *tc,
                            const char *meta);
/* Of the ids (a text[] literal), those that name no message of the thread, in order. */
enum db_qs agui_db_missing(const char *org, const char *thread, const char *ids,
                           struct db_rows *rows);
/* Deletes the thread's messages whose id is not in keep (text[] literal), sparing reasoning and
 * activity messages unless the flags say the snapshot lists some of those roles. */
enum db_qs agui_db_prune(const char *org, const char *thread, const char *keep, bool has_reasoning,
                         bool has_activity);

/* The thread's state: rows (state) with NULL state before any; DB_NO_RESULTS: not visible. */
enum db_qs agui_db_state(const char *org, const char *user, const char *thread,
                         struct db_rows *rows);

/* Replays. Columns of agui_db_events rows. */
enum agui_ev_col { AE_SEQ, AE_TYPE, AE_RUN_ID, AE_DATA, AE_LAST_SEQ };
/* Up to limit of the thread's AG-UI events (upper-case types) with after < seq < before, of
 * run_id (NULL: all). No rows: not visible; else the first row carries AE_LAST_SEQ and an empty
 * page is one row of NULL events. */
enum db_qs agui_db_events(const char *org, const char *user, const char *thread, long long after,
                          long long before, const char *run_id, int limit, struct db_rows *rows);
/* The input a run was stored with (rows: (input)). */
enum db_qs agui_db_run_input(const char *org, const char *thread, const char *run,
                             struct db_rows *rows);
/* The thread's latest run: (id, status, RUN_FINISHED data of it or NULL). */
enum db_qs agui_db_last_run(const char *org, const char *thread, struct db_rows *rows);

extern const struct db_stmt *const agui_db_stmts[];

#endif
