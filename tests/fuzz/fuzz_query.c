/* libFuzzer target: query-parameter parsers (pagination, cursors, timestamps, ids, text) and the
 * Transfer-Encoding classifier. The input is split at NUL bytes into the values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "framing.h"
#include "json.h"
#include "page.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    const char *v[5] = {NULL, NULL, NULL, NULL, NULL};
    size_t at = 0;
    for (int i = 0; i < 5 && at <= size; i++) {
        v[i] = copy + at;
        at += strlen(copy + at) + 1;
    }
    struct page p;
    struct field_errors fe = {0};
    if (page_parse(v[0], v[1], v[2], v[3], data[0] & 1, &p, &fe) && p.cursor && !valid_id(p.cursor))
        abort();
    int64_t us;
    if (parse_rfc3339(copy, &us) && (us < -62135596800000000LL || us >= 253402300800000000LL))
        abort(); /* outside years 1-9999 */
    (void)text_ok(copy);
    (void)text_chars(copy);
    (void)valid_uuid(size >= 36 ? copy : "");
    (void)te_classify(copy);
    free(copy);
    return 0;
}
