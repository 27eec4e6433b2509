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
    /* in and out: this request started a run already (a streamed body's earlier pieces), so a
     * RUN_STARTED while a run is open is refused, not taken as abandoning it */
    bool opened;
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

/* Shared by the two ways of ingesting (routes/agui.c, routes/aguitee.c). */
struct request;
struct reply;
struct field_errors;
/* Checks one streamed frame's event (raw: its text) as a body's events are checked, naming it
 * frames[<frame>]. */
bool agui_frame_check(json_t *ev, struct jspan raw, long frame, struct field_errors *fe);
/* The reply for a projection that refused event p->err_index: 400 or 409 naming
 * <what>[<base + index>]. */
struct reply agui_refused(const struct request *r, const struct aguiproj *p, const char *what,
                          long base);
/* The 201 reply to an ingest of count events with seqs first..last. */
struct reply agui_summary(const struct request *r, long count, long long first, long long last);

#endif
