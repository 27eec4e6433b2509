/* libFuzzer target: the header framing check, on header blocks laid out the way libmicrohttpd
 * 0.9.75 leaves them in its read buffer (':' and CR LF turned into NULs, in place). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "framing.h"

#define MAX_HEADERS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Room for the terminators the check may read past the last value. */
    char *buf = calloc(1, size + 8);
    if (!buf) return 0;
    memcpy(buf, data, size);
    struct raw_header h[MAX_HEADERS];
    size_t n = 0, i = 0;
    while (i < size && n < MAX_HEADERS) {
        char *line = buf + i;
        char *eol = memchr(line, '\n', size - i);
        size_t len = eol ? (size_t)(eol - line) : size - i;
        char *colon = memchr(line, ':', len);
        if (!colon) break;
        if (len && line[len - 1] == '\r') line[len - 1] = '\0';
        if (eol) *eol = '\0';
        *colon = '\0';
        char *value = colon + 1;
        while (*value == ' ' || *value == '\t')
            value++;
        h[n++] = (struct raw_header){line, strlen(line), value, strlen(value)};
        i += len + 1;
    }
    (void)headers_well_framed(h, n);
    for (size_t k = 0; k < n; k++)
        (void)header_name_ok(h[k].key, h[k].key_size);
    free(buf);
    return 0;
}
