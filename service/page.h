/* Keyset pagination: query parameters, direction, and the OpenAI-style list envelope. */
#ifndef CONVSTORE_PAGE_H
#define CONVSTORE_PAGE_H

#include <stdbool.h>

#include "buf.h"
#include "pool.h"
#include "problem.h"

#define PAGE_DEFAULT_LIMIT 20
#define PAGE_MAX_LIMIT 100

struct page {
    int limit;
    bool asc;           /* requested order */
    const char *cursor; /* the after or before id, or NULL */
    bool before;        /* cursor is a `before` cursor */
};

/*
 * Parses limit, order, after and before (any may be NULL). Errors go to fe with the parameter
 * name as field. Returns false when fe holds an error.
 */
bool page_parse(const char *limit, const char *order, const char *after, const char *before,
                bool default_asc, struct page *p, struct field_errors *fe);

/* The SQL scan runs ascending when the requested order and the cursor's side agree. */
bool page_scan_asc(const struct page *p);
/* The bound for "n > bound" / "n < bound" when there is no cursor. */
const char *page_open_bound(const struct page *p);
/* Rows to ask the database for: one beyond the page tells whether there is more. */
int page_fetch_limit(const struct page *p);

/* Writes one item of rows (row index) into b. */
typedef void (*page_item_fn)(struct buf *b, const struct db_rows *rows, int row);

/*
 * Renders {"object":"list","data":[...],"first_id","last_id","has_more"} from the first nrows
 * rows, fetched with page_fetch_limit(); id_col is the column holding each item's id.
 */
void page_render(struct buf *b, const struct page *p, const struct db_rows *rows, int nrows,
                 int id_col, page_item_fn item);

#endif
