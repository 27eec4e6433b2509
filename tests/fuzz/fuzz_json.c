/* libFuzzer target: a request body through everything that reads it before the database does:
 * body_parse, the field specs, message validation, raw member spans, the metadata measure. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "routes.h"

static const char *const roles[] = {"system", "user", "assistant", NULL};
static const struct jfield spec[] = {
    {"id", JK_ID},
    {"title", JK_TEXT, .nullable = true, .max = 1000, .allow_empty = true},
    {"name", JK_STRING, .nullable = true},
    {"role", JK_ENUM, .choices = roles},
    {"metadata", JK_METADATA, .nullable = true},
    {"messages", JK_ANY},
};
#define NSPEC (sizeof spec / sizeof spec[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct request r = {0};
    buf_add(&r.body, (const char *)data, size);
    json_t *body = NULL;
    struct reply err = {0};
    if (!body_parse(&r, &body, &err)) {
        buf_free(&err.body);
        buf_free(&r.body);
        return 0;
    }
    struct jval v[NSPEC];
    struct field_errors fe = {0};
    jspec_parse(body, spec, NSPEC, v, &fe);
    struct jspan raw = {r.body.data, r.body.len};
    char *meta = metadata_member(raw, body, "metadata", &fe);
    if (meta && json_stored_len(meta, strlen(meta)) > MAX_METADATA_BYTES) abort();
    free(meta);
    struct message_in *m = NULL;
    int n = 0;
    if (json_object_get(body, "messages") &&
        message_list_parse(&r, body, "messages", 50, &m, &n, &err))
        message_list_free(m, n);
    else
        buf_free(&err.body);
    json_decref(body);
    buf_free(&r.body);
    return 0;
}
