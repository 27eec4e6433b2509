/* Parsing message bodies: roles, content shapes, tool calls, and lists of messages. */
#include "routes.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "db/messages.h"
#include "json.h"

#define MAX_CONTENT_BYTES (512 * 1024)
#define MAX_TOOL_CALLS 128
#define MAX_TOOL_CALL_ID 256

const char *const message_roles[] = {"system", "developer", "user",     "assistant",
                                     "tool",   "reasoning", "activity", NULL};
const char *const message_statuses[] = {"in_progress", "completed", "incomplete", NULL};

enum { F_ID, F_ROLE, F_CONTENT, F_NAME, F_STATUS, F_RUN_ID, F_METADATA, F_TCALLS, F_TCID, F_COUNT };
static const struct jfield message_spec[] = {
    [F_ID] = {"id", JK_ID},
    [F_ROLE] = {"role", JK_ENUM, .choices = message_roles},
    [F_CONTENT] = {"content", JK_ANY, .nullable = true},
    [F_NAME] = {"name", JK_TEXT, .nullable = true, .max = 256},
    [F_STATUS] = {"status", JK_ENUM, .choices = message_statuses},
    [F_RUN_ID] = {"run_id", JK_ID, .nullable = true},
    [F_METADATA] = {"metadata", JK_METADATA, .nullable = true},
    [F_TCALLS] = {"tool_calls", JK_ANY, .nullable = true},
    [F_TCID] = {"tool_call_id", JK_TEXT, .nullable = true, .max = MAX_TOOL_CALL_ID},
};

bool content_shape_ok(json_t *c, const char *role)
{
    if (role && !strcmp(role, "activity")) return json_is_object(c);
    if (json_is_string(c)) return true;
    if (!json_is_array(c)) return false;
    size_t i;
    json_t *part;
    json_array_foreach(c, i, part)
    {
        if (!json_is_object(part) || !json_is_string(json_object_get(part, "type"))) return false;
    }
    return true;
}

/* A string of 1..max characters without control characters. */
static bool short_text(json_t *v, long max)
{
    if (!json_is_string(v)) return false;
    long n = text_chars(json_string_value(v));
    return n >= 1 && n <= max;
}

/* Why the tool call c is not {id, type: "function", function: {name, arguments}}, or NULL. */
static const char *tool_call_problem(json_t *c)
{
    if (!json_is_object(c)) return "must be an object";
    const char *key;
    json_t *v;
    json_object_foreach(c, key, v)
    {
        if (strcmp(key, "id") && strcmp(key, "type") && strcmp(key, "function") &&
            strcmp(key, "metadata") && strcmp(key, "encryptedValue"))
            return "has an unknown member (allowed: id, type, function, metadata, encryptedValue)";
        if ((!strcmp(key, "metadata") && !json_is_object(v)) ||
            (!strcmp(key, "encryptedValue") && !json_is_string(v)))
            return "metadata must be an object and encryptedValue a string";
    }
    if (!short_text(json_object_get(c, "id"), MAX_TOOL_CALL_ID))
        return "id must be a string of 1 to 256 characters";
    json_t *type = json_object_get(c, "type");
    if (!json_is_string(type) || strcmp(json_string_value(type), "function") != 0)
        return "type must be \"function\"";
    json_t *fn = json_object_get(c, "function");
    if (!json_is_object(fn) || json_object_size(fn) != 2 ||
        !short_text(json_object_get(fn, "name"), 256) ||
        !json_is_string(json_object_get(fn, "arguments")))
        return "function must be {name, arguments} with a name of 1 to 256 characters and "
               "arguments as a string";
    return NULL;
}

bool tool_calls_check(json_t *calls, const char *field, struct field_errors *fe)
{
    if (!json_is_array(calls) || json_array_size(calls) > MAX_TOOL_CALLS) {
        field_error(fe, field, "must be an array of at most %d tool calls", MAX_TOOL_CALLS);
        return false;
    }
    size_t i;
    json_t *c;
    json_array_foreach(calls, i, c)
    {
        const char *why = tool_call_problem(c);
        if (!why) continue;
        char name[96];
        snprintf(name, sizeof name, "%s[%zu]", field, i);
        field_error(fe, name, "%s", why);
        return false;
    }
    return true;
}

/* Field name for errors: "role" alone, or "messages[3].role" inside a list. */
static void field_name(char *out, size_t len, const char *prefix, int index, const char *field)
{
    if (prefix)
        snprintf(out, len, "%s[%d].%s", prefix, index, field);
    else
        snprintf(out, len, "%s", field);
}

void message_in_free(struct message_in *m)
{
    free((char *)m->id);
    free((char *)m->content);
    free((char *)m->metadata);
    free((char *)m->tool_calls);
}

/* The role-dependent rules: content's shape, who may carry tool_calls and tool_call_id. */
static void check_role_fields(const struct jval *v, struct field_errors *fe)
{
    const char *role = v[F_ROLE].str;
    bool calls = v[F_TCALLS].present && !v[F_TCALLS].is_null;
    if (calls && strcmp(role, "assistant") != 0)
        field_error(fe, "tool_calls", "only assistant messages have tool calls");
    else if (calls)
        tool_calls_check(v[F_TCALLS].json, "tool_calls", fe);
    if (v[F_TCID].str && strcmp(role, "tool") != 0)
        field_error(fe, "tool_call_id", "only tool messages answer a tool call");
    bool null_content = !v[F_CONTENT].present || v[F_CONTENT].is_null;
    if (null_content && !(calls && !strcmp(role, "assistant")))
        field_error(fe, "content",
                    "is required (null only for an assistant message with "
                    "tool_calls)");
    else if (!null_content && !content_shape_ok(v[F_CONTENT].json, role))
        field_error(fe, "content",
                    strcmp(role, "activity") ? "must be a string or an array of parts with a type"
                                             : "must be an object for an activity message");
}

/*
 * Validates one message object (raw: its exact request bytes) into *m. m owns its id, content,
 * metadata and tool_calls (message_in_free) and borrows the other strings from obj.
 */
void message_parse(json_t *obj, struct jspan raw, const char *prefix, int index,
                   struct message_in *m, struct field_errors *fe)
{
    char field[64];
    memset(m, 0, sizeof *m);
    if (!json_is_object(obj)) {
        field_name(field, sizeof field, prefix, index, "");
        field[strlen(field) - 1] = '\0';
        field_error(fe, prefix ? field : "body", "must be a message object");
        return;
    }
    struct jval v[F_COUNT];
    struct field_errors own = {0};
    jspec_parse(obj, message_spec, F_COUNT, v, &own);
    if (!v[F_ROLE].present) field_error(&own, "role", "is required");
    if (!v[F_ROLE].present && !v[F_CONTENT].present) field_error(&own, "content", "is required");
    if (!own.n) check_role_fields(v, &own);
    size_t clen = 0, tlen = 0;
    char *content = own.n ? NULL : json_member_text(raw, obj, "content", &clen);
    if (content && clen > MAX_CONTENT_BYTES)
        field_error(&own, "content", "must be at most %d bytes", MAX_CONTENT_BYTES);
    char *calls = own.n ? NULL : json_member_text(raw, obj, "tool_calls", &tlen);
    if (calls && tlen > MAX_CONTENT_BYTES)
        field_error(&own, "tool_calls", "must be at most %d bytes", MAX_CONTENT_BYTES);
    char *metadata = own.n ? NULL : metadata_member(raw, obj, "metadata", &own);
    for (int i = 0; i < own.n; i++) {
        field_name(field, sizeof field, prefix, index, own.e[i].field);
        field_error(fe, field, "%s", own.e[i].message);
    }
    if (own.n) {
        free(content);
        free(calls);
        free(metadata);
        return;
    }
    char *id = malloc(MAX_ID_LEN + 1);
    if (!id) abort();
    if (v[F_ID].str)
        snprintf(id, MAX_ID_LEN + 1, "%s", v[F_ID].str);
    else
        auth_uuid(id);
    m->id = id;
    m->role = v[F_ROLE].str;
    m->content = content ? content : strdup("null");
    if (!m->content) abort();
    m->name = v[F_NAME].str;
    m->status = v[F_STATUS].str ? v[F_STATUS].str : "completed";
    m->run_id = v[F_RUN_ID].str;
    m->metadata = metadata;
    m->tool_calls = calls;
    m->tool_call_id = v[F_TCID].str;
}

void message_list_free(struct message_in *m, int n)
{
    for (int i = 0; i < n; i++)
        message_in_free(&m[i]);
    free(m);
}

bool message_list_parse(const struct request *r, json_t *body, const char *key, int max,
                        struct message_in **out, int *n, struct reply *err)
{
    *out = NULL;
    *n = 0;
    json_t *arr = json_object_get(body, key);
    struct field_errors fe = {0};
    if (!json_is_array(arr) || json_array_size(arr) > (size_t)max) {
        field_error(&fe, key, "must be an array of at most %d messages", max);
        *err = problem_fields(r, PROB_VALIDATION_FAILED, &fe);
        return false;
    }
    size_t count = json_array_size(arr);
    struct jspan raw = {r->body.data, r->body.len}, arr_raw = {NULL, 0}, elem = {NULL, 0};
    bool have_raw = jspan_member(raw, key, &arr_raw);
    size_t pos = 0;
    struct message_in *m = calloc(count ? count : 1, sizeof *m);
    if (!m) abort();
    for (size_t i = 0; i < count; i++) {
        json_t *obj = json_array_get(arr, i);
        /* Without the raw array (an escaped key), fall back to jansson's rendering. */
        if (!have_raw || !jspan_next_element(arr_raw, &pos, &elem)) elem = (struct jspan){"", 0};
        message_parse(obj, elem, key, (int)i, &m[i], &fe);
    }
    if (fe.n) {
        message_list_free(m, (int)count);
        *err = problem_fields(r, PROB_VALIDATION_FAILED, &fe);
        return false;
    }
    *out = m;
    *n = (int)count;
    return true;
}
