/* libFuzzer target: jsonpatch_apply on "document NUL patch" (no NUL: the patch, applied to {}).
 * Besides crashes and leaks it checks the contract: a failure leaves the document as it was
 * with a message, a success stays within the depth limit, and the input is never modified. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jsonpatch.h"

static void check(json_t *doc, const json_t *patch)
{
    json_t *orig = json_incref(doc), *before = json_deep_copy(doc);
    char err[256] = "";
    int rc = jsonpatch_apply(&doc, patch, err, sizeof err);
    if (!json_equal(orig, before)) abort(); /* the caller's document is never changed */
    if (rc != 0) {
        if (rc != -1 || doc != orig || err[0] == '\0') abort();
    } else {
        size_t n;
        char *text = json_compact(doc, &n);
        if (json_text_depth(text, n, JSONPATCH_MAX_DEPTH) > JSONPATCH_MAX_DEPTH) abort();
        free(text);
    }
    json_decref(doc);
    json_decref(orig);
    json_decref(before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data, *nul = memchr(s, '\0', size);
    size_t doc_len = nul ? (size_t)(nul - s) : 0, patch_at = nul ? doc_len + 1 : 0;
    json_error_t je;
    json_t *doc = nul ? json_loadb(s, doc_len, JSON_DECODE_ANY, &je) : json_object();
    json_t *patch =
        json_loadb(s + patch_at, size - patch_at, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (doc && patch)
        check(doc, patch);
    else
        json_decref(doc);
    json_decref(patch);
    return 0;
}
