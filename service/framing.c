/* Request framing checks the HTTP library does not make: header syntax, Transfer-Encoding, and
 * percent-decoding of path segments. */
#include "framing.h"

#include <string.h>
#include <strings.h>

static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

bool header_name_ok(const char *name, size_t n)
{
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++)
        if (!is_tchar((unsigned char)name[i])) return false;
    return true;
}

/* Whether the line that holds h's value ends at value_size with CRLF (two NULs once parsed). */
static bool line_ends_cleanly(const struct raw_header *h)
{
    return h->value[h->value_size] == '\0' && h->value[h->value_size + 1] == '\0';
}

/* Whether h's value starts right after its key's NUL (the colon), past optional SP/HTAB. */
static bool value_follows_key(const struct raw_header *h)
{
    const char *p = h->key + h->key_size;
    if (h->value <= p || *p != '\0') return false;
    for (p++; p < h->value; p++)
        if (*p != ' ' && *p != '\t') return false;
    return true;
}

bool headers_well_framed(const struct raw_header *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!header_name_ok(h[i].key, h[i].key_size) || !value_follows_key(&h[i]) ||
            !line_ends_cleanly(&h[i]))
            return false;
        const char *next = h[i].value + h[i].value_size + 2;
        if (i + 1 < n ? h[i + 1].key != next : next[0] != '\0' || next[1] != '\0') return false;
    }
    return true;
}

/* The next comma-separated element of *s, without surrounding SP/HTAB. */
static void next_element(const char **s, const char **start, size_t *len)
{
    const char *p = *s;
    while (*p == ' ' || *p == '\t')
        p++;
    const char *e = p + strcspn(p, ",");
    *s = *e ? e + 1 : e;
    while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *start = p;
    *len = (size_t)(e - p);
}

enum te_verdict te_classify(const char *value)
{
    const char *s = value;
    size_t count = 0;
    bool chunked_last = false;
    do {
        const char *el;
        size_t n;
        next_element(&s, &el, &n);
        size_t name = strcspn(el, ";, \t");
        if (name > n) name = n;
        if (!header_name_ok(el, name)) return TE_MALFORMED;
        if (chunked_last) return TE_MALFORMED; /* chunked again, or not last (RFC 9112 6.3) */
        chunked_last = name == 7 && !strncasecmp(el, "chunked", 7);
        if (chunked_last && name != n) return TE_MALFORMED; /* chunked takes no parameters */
        count++;
    } while (*s);
    if (!chunked_last) return TE_MALFORMED; /* a request body must end with chunked */
    return count == 1 ? TE_CHUNKED : TE_UNSUPPORTED;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool segment_decode(const char *seg, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = seg[i];
        if (c == '%') {
            int hi = i + 2 < n ? hex_value(seg[i + 1]) : -1;
            int lo = hi >= 0 ? hex_value(seg[i + 2]) : -1;
            if (lo < 0) return false;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0' || c == '/') return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}
