/* The run and step state machines (issue "Runs and steps"): statuses, legal transitions, and the
 * event type each status change is recorded as. Pure logic, shared by the REST routes and the
 * event-driven path so both follow the same rules. */
#ifndef CONVSTORE_LIFECYCLE_H
#define CONVSTORE_LIFECYCLE_H

#include <stdbool.h>

enum run_status {
    RUN_QUEUED,
    RUN_RUNNING,
    RUN_REQUIRES_ACTION,
    RUN_COMPLETED,
    RUN_FAILED,
    RUN_CANCELLED,
    RUN_INTERRUPTED,
    RUN__COUNT
};

enum step_status {
    STEP_PENDING,
    STEP_RUNNING,
    STEP_COMPLETED,
    STEP_FAILED,
    STEP_CANCELLED,
    STEP__COUNT
};

/* What a requested status change is: no change at all, a legal one, or one the rules forbid
 * (409 invalid_state_transition). */
enum transition { TRANSITION_SAME, TRANSITION_OK, TRANSITION_ILLEGAL };

/* queued -> running; running <-> requires_action; queued, running or requires_action -> any of
 * the terminal completed, failed, cancelled, interrupted, which are final. */
enum transition run_transition(enum run_status from, enum run_status to);
/* pending -> running; pending or running -> completed, failed or cancelled, which are final. */
enum transition step_transition(enum step_status from, enum step_status to);

bool run_status_terminal(enum run_status s);
bool step_status_terminal(enum step_status s);

/* Names as the API spells them ("requires_action"); parse: false for an unknown name. */
const char *run_status_name(enum run_status s);
const char *step_status_name(enum step_status s);
bool run_status_parse(const char *name, enum run_status *out);
bool step_status_parse(const char *name, enum step_status *out);

/* The event a change into s is recorded as: "run.running", "step.completed", ...; NULL for the
 * initial states (queued, pending), which nothing moves into. */
const char *run_status_event(enum run_status s);
const char *step_status_event(enum step_status s);

/* What a lifecycle event type stands for: the creation of a run or step, a change of its status
 * into `status`, or a change of its other fields. */
enum lifecycle_op { LC_CREATED, LC_STATUS, LC_UPDATED };
struct lifecycle_event {
    bool step;
    enum lifecycle_op op;
    int status; /* LC_STATUS: an enum run_status or enum step_status */
};
/* Reads "run.created", "run.completed", "step.updated", ...; false for any other type (an
 * ordinary event, even when it starts with "run."). */
bool lifecycle_event_parse(const char *type, struct lifecycle_event *out);
/* The type of a lifecycle event (the inverse of lifecycle_event_parse). */
const char *lifecycle_event_type(const struct lifecycle_event *e);

#endif
