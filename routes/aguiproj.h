/* The AG-UI projection: a batch of AG-UI events checked in order, stored in the event log and
 * applied to the thread's messages, runs, steps and state, all in one transaction. */
#ifndef CONVSTORE_AGUIPROJ_H
#define CONVSTORE_AGUIPROJ_H

#include <jansson.h>
#include <stdbool.h>

#include "agui.h"
#include "json.h"
#include "pool.h"
#include "problem.h"

struct aguiproj {
    /* in */
    const char *org, *user, *thread;
    json_t *input;         /* the request's RunAgentInput, or NULL */
    const char *input_raw; /* its JSON text */
    /* out, when aguiproj_run returns DB_NO_RESULTS */
    bool not_visible;  /* the thread is another user's */
    int err_index;     /* the event refused */
    enum problem prob; /* PROB_VALIDATION_FAILED, PROB_MESSAGE_EXISTS, PROB_RUN_EXISTS */
    struct agui_error err;
};

/*
 * Checks, stores and projects events[0..n) (already schema-checked; raw[i]: event i's request
 * bytes) into the thread, creating it for the caller when absent. > 0: committed, rows hold the
 * stored events (db/events.h columns). DB_NO_RESULTS: nothing written, p says why.
 */
enum db_qs aguiproj_run(struct aguiproj *p, json_t *events, const struct jspan *raw,
                        struct db_rows *rows);

#endif
