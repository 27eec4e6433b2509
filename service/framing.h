/* Request framing checks the HTTP library does not make: header syntax, Transfer-Encoding, and
 * percent-decoding of path segments. Pure functions over bytes (fuzzed in tests/fuzz). */
#ifndef CONVSTORE_FRAMING_H
#define CONVSTORE_FRAMING_H

#include <stdbool.h>
#include <stddef.h>

/* One received header as libmicrohttpd 0.9.75 parsed it, in place in its read buffer. */
struct raw_header {
    const char *key;
    size_t key_size;
    const char *value;
    size_t value_size;
};

/* Whether name[0..n) is an RFC 9110 token (no whitespace, no control or separator bytes). */
bool header_name_ok(const char *name, size_t n);

/*
 * Whether the headers (in the order received) are well framed. libmicrohttpd 0.9.75 parses the
 * header block in place: it turns each ':' into NUL and each CRLF into two NULs, so the pieces of
 * a clean block follow each other exactly: key NUL [SP/HTAB]* value NUL NUL key ... NUL NUL.
 * It does not refuse what RFC 9112 says must be refused: a NUL inside a value (it cuts the value
 * there), obs-fold (it glues the next line onto the key, elsewhere in memory), a bare LF line end.
 * Each of those leaves a gap or a jump in that layout, which this check finds; names are checked
 * with header_name_ok. Only CRLF line ends pass (RFC 9112 lets a server refuse a bare LF).
 */
bool headers_well_framed(const struct raw_header *h, size_t n);

enum te_verdict {
    TE_CHUNKED,     /* exactly "chunked" (any case, optional whitespace) */
    TE_MALFORMED,   /* empty elements, bad tokens, or chunked not last: 400 */
    TE_UNSUPPORTED, /* syntactically fine, but codings other than chunked: 501 */
};
/* Classifies a Transfer-Encoding field value (RFC 9112 section 6.1). */
enum te_verdict te_classify(const char *value);

/*
 * Percent-decodes seg[0..n) into out (room for n + 1 bytes), NUL-terminated. False when an
 * escape is malformed or the result holds a NUL or a '/': such a segment can never be an id.
 */
bool segment_decode(const char *seg, size_t n, char *out);

#endif
