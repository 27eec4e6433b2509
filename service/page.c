/* Keyset pagination: query parameters, direction, and the OpenAI-style list envelope. */
#include "page.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

bool page_parse(const char *limit, const char *order, const char *after, const char *before,
                bool default_asc, struct page *p, struct field_errors *fe)
{
    p->limit = PAGE_DEFAULT_LIMIT;
    p->asc = default_asc;
    p->cursor = NULL;
    p->before = false;
    if (limit) {
        char *end;
        errno = 0;
        long v = strtol(limit, &end, 10);
        if (errno || end == limit || *end || v < 1 || v > PAGE_MAX_LIMIT)
            field_error(fe, "limit", "must be an integer from 1 to %d", PAGE_MAX_LIMIT);
        else
            p->limit = (int)v;
    }
    if (order) {
        if (!strcmp(order, "asc"))
            p->asc = true;
        else if (!strcmp(order, "desc"))
            p->asc = false;
        else
            field_error(fe, "order", "must be asc or desc");
    }
    if (after && before) {
        field_error(fe, "before", "cannot be combined with after");
    } else if (after || before) {
        const char *c = after ? after : before;
        /* An id that cannot exist cannot be a cursor either. */
        if (!valid_id(c)) field_error(fe, after ? "after" : "before", "must be an object id");
        p->cursor = c;
        p->before = before != NULL;
    }
    return fe->n == 0;
}

bool page_scan_asc(const struct page *p)
{
    return p->asc != p->before;
}

const char *page_open_bound(const struct page *p)
{
    return page_scan_asc(p) ? "0" : "9223372036854775807";
}

int page_fetch_limit(const struct page *p)
{
    return p->limit + 1;
}

void page_render(struct buf *b, const struct page *p, const struct db_rows *rows, int nrows,
                 int id_col, page_item_fn item)
{
    int got = nrows;
    bool more = got > p->limit;
    int n = more ? p->limit : got;
    buf_puts(b, "{\"object\":\"list\",\"data\":[");
    /* A `before` page was scanned away from the cursor: emit it reversed, in requested order. */
    for (int i = 0; i < n; i++) {
        if (i) buf_putc(b, ',');
        item(b, rows, p->before ? n - 1 - i : i);
    }
    buf_puts(b, "],\"first_id\":");
    buf_json_str(b, n ? db_str(rows, p->before ? n - 1 : 0, id_col) : NULL);
    buf_puts(b, ",\"last_id\":");
    buf_json_str(b, n ? db_str(rows, p->before ? 0 : n - 1, id_col) : NULL);
    buf_puts(b, ",\"has_more\":");
    buf_json_bool(b, more);
    buf_putc(b, '}');
}
