/* The run and step state machines: statuses, legal transitions, and their event types. */
#include "lifecycle.h"

#include <string.h>

static const char *const run_names[RUN__COUNT] = {
    "queued", "running", "requires_action", "completed", "failed", "cancelled", "interrupted"};
static const char *const run_events[RUN__COUNT] = {
    NULL,         "run.running",   "run.requires_action", "run.completed",
    "run.failed", "run.cancelled", "run.interrupted"};
static const char *const step_names[STEP__COUNT] = {"pending", "running", "completed", "failed",
                                                    "cancelled"};
static const char *const step_events[STEP__COUNT] = {NULL, "step.running", "step.completed",
                                                     "step.failed", "step.cancelled"};

bool run_status_terminal(enum run_status s)
{
    return s >= RUN_COMPLETED;
}

bool step_status_terminal(enum step_status s)
{
    return s >= STEP_COMPLETED;
}

enum transition run_transition(enum run_status from, enum run_status to)
{
    if (from == to) return TRANSITION_SAME;
    if (run_status_terminal(from)) return TRANSITION_ILLEGAL;
    if (run_status_terminal(to)) return TRANSITION_OK;
    bool ok = (from == RUN_QUEUED && to == RUN_RUNNING) ||
              (from == RUN_RUNNING && to == RUN_REQUIRES_ACTION) ||
              (from == RUN_REQUIRES_ACTION && to == RUN_RUNNING);
    return ok ? TRANSITION_OK : TRANSITION_ILLEGAL;
}

enum transition step_transition(enum step_status from, enum step_status to)
{
    if (from == to) return TRANSITION_SAME;
    if (step_status_terminal(from)) return TRANSITION_ILLEGAL;
    if (step_status_terminal(to)) return TRANSITION_OK;
    return from == STEP_PENDING && to == STEP_RUNNING ? TRANSITION_OK : TRANSITION_ILLEGAL;
}

const char *run_status_name(enum run_status s)
{
    return s < RUN__COUNT ? run_names[s] : NULL;
}

const char *step_status_name(enum step_status s)
{
    return s < STEP__COUNT ? step_names[s] : NULL;
}

static bool parse(const char *name, const char *const *names, int n, int *out)
{
    for (int i = 0; name && i < n; i++)
        if (!strcmp(name, names[i])) {
            *out = i;
            return true;
        }
    return false;
}

bool run_status_parse(const char *name, enum run_status *out)
{
    int i;
    if (!parse(name, run_names, RUN__COUNT, &i)) return false;
    *out = (enum run_status)i;
    return true;
}

bool step_status_parse(const char *name, enum step_status *out)
{
    int i;
    if (!parse(name, step_names, STEP__COUNT, &i)) return false;
    *out = (enum step_status)i;
    return true;
}

const char *run_status_event(enum run_status s)
{
    return s < RUN__COUNT ? run_events[s] : NULL;
}

const char *step_status_event(enum step_status s)
{
    return s < STEP__COUNT ? step_events[s] : NULL;
}

bool lifecycle_event_parse(const char *type, struct lifecycle_event *out)
{
    bool step = !strncmp(type, "step.", 5);
    if (!step && strncmp(type, "run.", 4)) return false;
    const char *rest = type + (step ? 5 : 4);
    *out = (struct lifecycle_event){.step = step};
    if (!strcmp(rest, "created")) return out->op = LC_CREATED, true;
    if (!strcmp(rest, "updated")) return out->op = LC_UPDATED, true;
    int i;
    bool found =
        step ? parse(rest, step_names, STEP__COUNT, &i) : parse(rest, run_names, RUN__COUNT, &i);
    if (!found || i == 0) return false; /* queued and pending are no change of status */
    out->op = LC_STATUS;
    out->status = i;
    return true;
}

const char *lifecycle_event_type(const struct lifecycle_event *e)
{
    if (e->op == LC_CREATED) return e->step ? "step.created" : "run.created";
    if (e->op == LC_UPDATED) return e->step ? "step.updated" : "run.updated";
    return e->step ? step_status_event((enum step_status)e->status)
                   : run_status_event((enum run_status)e->status);
}
