/* RFC 6902 JSON Patch and RFC 6901 JSON Pointer over jansson, for AG-UI STATE_DELTA events. */
#ifndef CONVSTORE_JSONPATCH_H
#define CONVSTORE_JSONPATCH_H

#include <jansson.h>
#include <stddef.h>

/* The document nests at most this deep before and after a patch (a scalar is 0, [] is 1), as
 * MAX_JSON_DEPTH bounds a request body: a patched state could also have been sent whole. */
#define JSONPATCH_MAX_DEPTH 64
/* What the copies of one patch may weigh in all, with its moves to a deeper place (which must be
 * measured): each value counts 1, plus the bytes of its string and member names. Copying is how
 * a small patch could make a huge document (copy "" to /a, /b, ... doubles it each time). */
#define JSONPATCH_MAX_COPIED (1u << 18)

/*
 * Applies patch (a JSON array of operations) to *doc, all or nothing. On success *doc holds the
 * new document (a new reference; the old one is released) and 0 is returned. On failure *doc is
 * unchanged, -1 is returned and err receives e.g. "[2].path: /a/b does not exist" (the index of
 * the failing operation, the member, why). Semantics beyond the RFC:
 * - "test" compares numbers by value: 1 equals 1.0 (an integer and a real are equal when the
 *   real is exactly that integer); strings and member names byte by byte.
 * - "remove" of "" leaves null, as fast-json-patch (@ag-ui/client) does; add/replace of "" set
 *   the whole document; move and copy to "" replace it with the value at "from".
 * - Unknown members of an operation are ignored; operations are checked as they are reached.
 * - A document deeper than JSONPATCH_MAX_DEPTH is refused, and so is a patch that would make it
 *   deeper or that copies more than JSONPATCH_MAX_COPIED.
 * The patch is only read; its values are copied into the document.
 */
int jsonpatch_apply(json_t **doc, const json_t *patch, char *err, size_t errlen);

#endif
