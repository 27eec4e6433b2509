/* What @ag-ui/client holds after a stream: its messages and state, built in memory by applying
 * events as its defaultApplyEvents does, and the lead-in that lets a client resume in the middle
 * of a run; and the client's compactEvents reduction. Pure logic over jansson. */
#ifndef CONVSTORE_AGUIVIEW_H
#define CONVSTORE_AGUIVIEW_H

#include <jansson.h>
#include <stdbool.h>

struct aguiview {
    json_t *messages; /* AG-UI messages, in the client's order */
    json_t *state;    /* NULL until a snapshot or delta */
    json_t *ctx;      /* open run and entities (service/agui.h) */
};

void aguiview_init(struct aguiview *v);
void aguiview_free(struct aguiview *v);
/* Applies one stored event (as replayed: checked already). */
void aguiview_apply(struct aguiview *v, json_t *ev);
/* Whether a run is open in the view. */
bool aguiview_in_run(const struct aguiview *v);
/*
 * The events that bring a client to this view in the middle of its run (a new array): the
 * run's RUN_STARTED, MESSAGES_SNAPSHOT, STATE_SNAPSHOT (when there is state), and a START for
 * every message, tool call, step and reasoning span still open, so the events after it apply.
 */
json_t *aguiview_lead_in(const struct aguiview *v, const char *thread);

/*
 * compactEvents: consecutive deltas of one message or tool call merged into one, each message
 * and tool call sent whole (START, CONTENT, END) with what arrived while it streamed after it,
 * and state events reduced to one snapshot when there is a snapshot among them. Feed events in
 * order with their seq; each output event comes back through `out` with the seq of the last
 * event it holds.
 */
typedef void (*aguiview_out_fn)(void *cls, long long seq, json_t *ev);
struct aguicompact;
struct aguicompact *aguicompact_new(aguiview_out_fn out, void *cls);
void aguicompact_feed(struct aguicompact *c, long long seq, json_t *ev);
/* Flushes what is pending and frees c. */
void aguicompact_finish(struct aguicompact *c);

#endif
