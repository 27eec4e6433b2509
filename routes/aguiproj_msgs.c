/* The AG-UI projection, messages and state: what each event does to the thread's messages (as
 * @ag-ui/client's apply step does to its own) and to its state document. */
#include <stdlib.h>
#include <string.h>

#include "aguiproj_int.h"
#include "db/agui.h"
#include "jsonpatch.h"

#define MAX_MESSAGE_BYTES (512 * 1024) /* a message's content, as through the REST API */

/* TEXT_MESSAGE_START, REASONING_MESSAGE_START: a new streaming message, or an existing one that
 * streams again (the client appends to it and keeps its role). */
bool ap_open_message(struct tx *t, json_t *ev, const char *role)
{
    const char *id = ap_str(ev, "messageId");
    char have[16];
    enum db_qs qs = ap_message_role(t, id, have);
    if (qs < 0) return false;
    if (qs > 0) {
        if (!strcmp(have, "activity")) return true; /* the client drops it */
        return agui_db_reopen(t->p->org, t->p->thread, id) >= 0;
    }
    struct message_in m = {.id = id, .role = role, .content = "\"\"", .status = "in_progress"};
    m.name = ap_str(ev, "name");
    return ap_add_message(t, &m, "messageId");
}

bool ap_append_delta(struct tx *t, json_t *ev)
{
    struct db_rows rows;
    enum db_qs qs = messages_db_append_delta(t->p->org, NULL, t->p->thread, ap_str(ev, "messageId"),
                                             ap_str(ev, "delta"), true, &rows);
    db_rows_free(&rows);
    if (qs < 0) return false;
    return qs > 0 || ap_refuse(t, PROB_VALIDATION_FAILED, "delta",
                               "the message cannot take it (not streaming text, or over 512 KiB)");
}

bool ap_close_message(struct tx *t, json_t *ev)
{
    struct message_patch mp = {.status = "completed"};
    enum patch_refusal why;
    struct db_rows rows;
    enum db_qs qs =
        messages_db_patch(t->p->org, NULL, t->p->thread, ap_str(ev, "messageId"), &mp, &why, &rows);
    db_rows_free(&rows);
    if (qs < 0) t->db_err = qs; /* its savepoint is rolled back: the transaction looks fine */
    return qs >= 0;
}

/* TOOL_CALL_START: the message that holds the call, as the client picks it. */
bool ap_start_tool_call(struct tx *t, json_t *ev)
{
    const struct aguiproj *p = t->p;
    const char *tc = ap_str(ev, "toolCallId"), *name = ap_str(ev, "toolCallName");
    const char *parent = ap_str(ev, "parentMessageId");
    char owner[MAX_ID_LEN + 1], role[16];
    enum db_qs qs = agui_db_tool_owner(p->org, p->thread, tc, owner);
    if (qs < 0) return false;
    if (qs > 0) { /* the client reuses the entry: renamed, arguments kept */
        agui_ctx_set_tool_message(t->ctx, tc, owner);
        return agui_db_tool_set(p->org, p->thread, owner, tc, "name", name) >= 0;
    }
    const char *target = parent ? parent : tc;
    qs = parent ? ap_message_role(t, parent, role) : 0;
    if (qs < 0) return false;
    if (qs > 0 && strcmp(role, "assistant") != 0) target = tc;
    bool exists = qs > 0 && !strcmp(role, "assistant");
    if (!exists && target == tc && ap_message_role(t, tc, role) > 0 && !strcmp(role, "assistant"))
        exists = true;
    if (!exists) {
        if (!valid_id(target))
            return ap_refuse(t, PROB_VALIDATION_FAILED,
                             target == tc ? "toolCallId" : "parentMessageId",
                             "names the message the call creates: 1-128 characters of "
                             "[A-Za-z0-9._:-]");
        struct message_in m = {.id = target, .role = "assistant", .content = "null"};
        m.tool_calls = "[]";
        if (!ap_add_message(t, &m, target == tc ? "toolCallId" : "parentMessageId")) return false;
    }
    agui_ctx_set_tool_message(t->ctx, tc, target);
    return agui_db_tool_add(p->org, p->thread, target, tc, name) >= 0;
}

bool ap_tool_args(struct tx *t, json_t *ev)
{
    const char *tc = ap_str(ev, "toolCallId");
    const char *owner = agui_ctx_tool_message(t->ctx, tc);
    return !owner || agui_db_tool_set(t->p->org, t->p->thread, owner, tc, "arguments",
                                      ap_str(ev, "delta")) >= 0;
}

bool ap_tool_result(struct tx *t, json_t *ev)
{
    char *content = ap_member_text(t, ev, "content");
    struct message_in m = {.id = ap_str(ev, "messageId"), .role = "tool", .content = content};
    m.tool_call_id = ap_str(ev, "toolCallId");
    bool ok = ap_add_message(t, &m, "messageId");
    free(content);
    return ok;
}

/* --- messages from AG-UI messages ------------------------------------------------------- */

/* The raw span of element k of array member key of the object span obj ({0} when not found). */
static struct jspan element(struct jspan obj, const char *key, size_t k)
{
    struct jspan arr = {0}, e = {0};
    size_t pos = 0;
    if (!obj.p || !jspan_member(obj, key, &arr)) return (struct jspan){0};
    for (size_t i = 0; i <= k; i++)
        if (!jspan_next_element(arr, &pos, &e)) return (struct jspan){0};
    return e;
}

/* Strings a converted message owns. */
struct owned {
    char *content, *tool_calls, *metadata;
};

static void owned_free(struct owned *o)
{
    free(o->content);
    free(o->tool_calls);
    free(o->metadata);
}

/* An AG-UI message (raw: its bytes, when known) as a message to store. */
static bool convert(struct tx *t, json_t *m, struct jspan raw, struct message_in *out,
                    struct owned *o, const char *field)
{
    size_t n;
    const char *role = ap_str(m, "role");
    o->content = json_member_text(raw, m, "content", &n);
    if (!o->content) o->content = strdup("null");
    if (n > MAX_MESSAGE_BYTES)
        return ap_refuse(t, PROB_VALIDATION_FAILED, field, "content: must be at most %d bytes",
                         MAX_MESSAGE_BYTES);
    o->tool_calls = strcmp(role, "assistant") ? NULL : json_member_text(raw, m, "toolCalls", &n);
    struct field_errors fe = {0};
    o->metadata = metadata_member(raw, m, "metadata", &fe);
    *out = (struct message_in){.id = ap_str(m, "id"), .role = role, .content = o->content};
    out->name = ap_str(m, strcmp(role, "activity") ? "name" : "activityType");
    out->tool_calls = o->tool_calls;
    out->tool_call_id = ap_str(m, "toolCallId");
    out->metadata = o->metadata;
    out->status = "completed";
    out->run_id = agui_ctx_run(t->ctx);
    if (!o->content) abort();
    return !fe.n || ap_refuse(t, PROB_VALIDATION_FAILED, field, "metadata: %s", fe.e[0].message);
}

/* Appends messages[k] for each k in which[0..n), converted; all or nothing. */
static bool append_converted(struct tx *t, json_t *msgs, struct jspan obj, const char *key,
                             const size_t *which, size_t n, const char *field)
{
    struct message_in *m = calloc(n ? n : 1, sizeof *m);
    struct owned *o = calloc(n ? n : 1, sizeof *o);
    if (!m || !o) abort();
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++)
        ok = convert(t, json_array_get(msgs, which[i]), element(obj, key, which[i]), &m[i], &o[i],
                     field);
    if (ok && n) {
        struct db_rows rows;
        enum db_qs qs = messages_db_append(t->p->org, NULL, t->p->thread, m, (int)n, &rows);
        db_rows_free(&rows);
        if (qs == DB_CONFLICT)
            ok = ap_refuse(t, PROB_MESSAGE_EXISTS, field, "a message id is used twice");
        else if (qs <= 0)
            ok = false;
    }
    for (size_t i = 0; i < n; i++)
        owned_free(&o[i]);
    free(m);
    free(o);
    return ok;
}

/* The ids of msgs as a text[] literal (malloc'd buf). */
static void id_literal(json_t *msgs, struct buf *b)
{
    size_t i;
    json_t *m;
    buf_putc(b, '{');
    json_array_foreach(msgs, i, m)
    {
        db_array_add(b, ap_str(m, "id"));
    }
    buf_putc(b, '}');
}

/* RunAgentInput.messages: the ones the thread lacks are appended, in order (the client adds
 * those whose id it does not hold). obj: the raw input object. */
bool ap_add_input_messages(struct tx *t, json_t *in, struct jspan obj)
{
    json_t *msgs = json_object_get(in, "messages");
    struct buf ids = {0};
    id_literal(msgs, &ids);
    struct db_rows rows;
    enum db_qs qs = agui_db_missing(t->p->org, t->p->thread, ids.data, &rows);
    buf_free(&ids);
    int n = qs > 0 ? db_nrows(&rows) : 0;
    size_t *which = calloc(n ? (size_t)n : 1, sizeof *which), count = 0;
    if (!which) abort();
    for (size_t i = 0; i < json_array_size(msgs); i++) {
        const char *id = ap_str(json_array_get(msgs, i), "id");
        bool missing = false, seen = false;
        for (int r = 0; r < n && !missing; r++)
            missing = !strcmp(id, db_str(&rows, r, 0));
        for (size_t j = 0; j < count && !seen; j++)
            seen = !strcmp(id, ap_str(json_array_get(msgs, which[j]), "id"));
        if (missing && !seen) which[count++] = i;
    }
    db_rows_free(&rows);
    bool ok = qs >= 0 && append_converted(t, msgs, obj, "messages", which, count, "input.messages");
    free(which);
    return ok;
}

/* MESSAGES_SNAPSHOT, as the client merges it: listed messages replaced in place, new ones
 * appended in order, the rest deleted (reasoning and activity messages unless it lists some). */
bool ap_snapshot_messages(struct tx *t, json_t *ev)
{
    json_t *msgs = json_object_get(ev, "messages");
    size_t n = json_array_size(msgs), count = 0, i;
    bool reasoning = false, activity = false;
    json_t *m;
    json_array_foreach(msgs, i, m)
    {
        reasoning = reasoning || !strcmp(ap_str(m, "role"), "reasoning");
        activity = activity || !strcmp(ap_str(m, "role"), "activity");
    }
    struct buf ids = {0};
    id_literal(msgs, &ids);
    enum db_qs qs = agui_db_prune(t->p->org, t->p->thread, ids.data, reasoning, activity);
    buf_free(&ids);
    if (qs < 0) return false;
    struct jspan obj = t->raw[t->index];
    size_t *fresh = calloc(n ? n : 1, sizeof *fresh);
    if (!fresh) abort();
    bool ok = true;
    json_array_foreach(msgs, i, m)
    {
        if (!ok) break;
        qs = ap_message_role(t, ap_str(m, "id"), NULL);
        if (qs == 0) fresh[count++] = i;
        if (qs <= 0) {
            ok = qs == 0;
            continue;
        }
        struct message_in c;
        struct owned o = {0};
        ok = convert(t, m, element(obj, "messages", i), &c, &o, "messages") &&
             agui_db_replace(t->p->org, t->p->thread, c.id, c.role, c.content, c.name, c.tool_calls,
                             c.tool_call_id, agui_ctx_streaming(t->ctx, c.id)) >= 0;
        owned_free(&o);
    }
    ok = ok && append_converted(t, msgs, obj, "messages", fresh, count, "messages");
    free(fresh);
    return ok;
}

bool ap_snapshot_activity(struct tx *t, json_t *ev)
{
    const char *id = ap_str(ev, "messageId");
    json_t *replace = json_object_get(ev, "replace");
    enum db_qs qs = ap_message_role(t, id, NULL);
    if (qs < 0) return false;
    if (qs > 0 && json_is_false(replace)) return true;
    char *content = ap_member_text(t, ev, "content");
    bool ok;
    if (qs > 0) {
        ok = agui_db_replace(t->p->org, t->p->thread, id, "activity", content,
                             ap_str(ev, "activityType"), NULL, NULL, false) >= 0;
    } else {
        struct message_in m = {.id = id, .role = "activity", .content = content};
        m.name = ap_str(ev, "activityType");
        ok = ap_add_message(t, &m, "messageId");
    }
    free(content);
    return ok;
}

/* Applies patch to *doc; a patch that does not apply refuses the batch (field: member). */
static bool apply_patch(struct tx *t, json_t **doc, json_t *patch, const char *member)
{
    char why[200];
    if (jsonpatch_apply(doc, patch, why, sizeof why) == 0) return true;
    return ap_refuse(t, PROB_VALIDATION_FAILED, member, "does not apply: %s", why);
}

bool ap_patch_activity(struct tx *t, json_t *ev)
{
    const char *id = ap_str(ev, "messageId");
    struct db_rows rows;
    enum db_qs qs = agui_db_message(t->p->org, t->p->thread, id, &rows);
    if (qs <= 0 || strcmp(db_str(&rows, 0, AM_ROLE), "activity") != 0) {
        db_rows_free(&rows);
        return qs >= 0; /* the client ignores a delta for no activity */
    }
    json_t *doc = ap_parse_exact(db_str(&rows, 0, AM_CONTENT));
    db_rows_free(&rows);
    json_t *patch = ap_member_exact(t, ev, "patch");
    bool ok = doc && apply_patch(t, &doc, patch, "patch");
    json_decref(patch);
    if (ok) {
        char *content = ap_text_of(doc);
        ok = agui_db_replace(t->p->org, t->p->thread, id, "activity", content,
                             ap_str(ev, "activityType"), NULL, NULL, false) >= 0;
        free(content);
    }
    json_decref(doc);
    return ok;
}

bool ap_patch_state(struct tx *t, json_t *ev)
{
    if (!t->state) t->state = json_object(); /* the client starts from the page's {} */
    t->state_set = true;
    json_t *patch = ap_member_exact(t, ev, "delta");
    bool ok = apply_patch(t, &t->state, patch, "delta");
    json_decref(patch);
    return ok;
}

bool ap_event_metadata(struct tx *t, enum agui_type type, json_t *ev)
{
    json_t *meta = json_object_get(ev, "metadata");
    if (!json_is_object(meta) || json_object_size(meta) == 0) return true;
    const char *id = NULL, *tc = NULL;
    char owner[MAX_ID_LEN + 1];
    switch (type) {
    case AG_TEXT_START:
    case AG_TEXT_CONTENT:
    case AG_TEXT_END:
    case AG_RMSG_START:
    case AG_RMSG_CONTENT:
    case AG_RMSG_END:
    case AG_TOOL_RESULT:
        id = ap_str(ev, "messageId");
        break;
    case AG_TOOL_START:
    case AG_TOOL_ARGS:
    case AG_TOOL_END: {
        tc = ap_str(ev, "toolCallId");
        enum db_qs qs = agui_db_tool_owner(t->p->org, t->p->thread, tc, owner);
        if (qs <= 0) return qs == 0;
        id = owner;
        break;
    }
    default:
        return true;
    }
    char *text = ap_member_text(t, ev, "metadata");
    enum db_qs qs = agui_db_metadata(t->p->org, t->p->thread, id, tc, text);
    free(text);
    return qs >= 0;
}
