/* Helpers shared by route handlers: database failures, user scoping, list parameters. */
#include "routes.h"

struct reply db_failure(const struct request *r, enum db_qs qs)
{
    if (qs == DB_UNAVAILABLE)
        return problem(r, PROB_DATABASE_UNAVAILABLE, "the database cannot be reached; retry");
    if (qs == DB_INVALID) {
        /* DB_INVALID: the merged metadata outgrew the limit. */
        struct field_errors fe = {0};
        field_error(&fe, "metadata", "must be a JSON object of at most 16384 bytes serialized");
        return problem_fields(r, PROB_VALIDATION_FAILED, &fe);
    }
    if (qs == DB_BAD_VALUE)
        return problem(r, PROB_VALIDATION_FAILED,
                       "a value is outside what the database can store (number or time range)");
    return problem(r, PROB_INTERNAL_ERROR, "see the server log for request %s", r->request_id);
}

const char *scope_user(const struct request *r)
{
    return r->who.role == ROLE_USER ? r->who.user_id : NULL;
}

bool parse_page(const struct request *r, bool default_asc, struct page *p, struct reply *err)
{
    struct field_errors fe = {0};
    if (page_parse(req_query(r, "limit"), req_query(r, "order"), req_query(r, "after"),
                   req_query(r, "before"), default_asc, p, &fe))
        return true;
    *err = problem_fields(r, PROB_INVALID_QUERY, &fe);
    return false;
}

void render_time_or_null(struct buf *b, const struct db_rows *rows, int row, int col)
{
    if (db_is_null(rows, row, col))
        buf_puts(b, "null");
    else
        buf_json_time(b, db_int(rows, row, col));
}
