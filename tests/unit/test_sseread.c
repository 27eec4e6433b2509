/* Unit tests: reading a text/event-stream body into frames, piece by piece. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sseread.h"

struct got {
    char frames[8][64];
    int n;
};

static void collect(void *cls, const char *data, size_t len)
{
    struct got *g = cls;
    if (g->n < 8) {
        memcpy(g->frames[g->n], data, len < 63 ? len : 63);
        g->frames[g->n][len < 63 ? len : 63] = '\0';
    }
    g->n++;
}

/* Feeds text in pieces of `step` bytes, then finishes. */
static enum sse_read feed_in_pieces(const char *text, size_t step, struct got *g)
{
    struct sse_reader r = {.max_frame = 1024};
    enum sse_read e = SSE_OK;
    size_t n = strlen(text);
    for (size_t i = 0; i < n && e == SSE_OK; i += step)
        e = sse_read_feed(&r, text + i, n - i < step ? n - i : step, collect, g);
    if (e == SSE_OK) e = sse_read_finish(&r, collect, g);
    sse_read_free(&r);
    return e;
}

static void frames_survive_any_split(void **state)
{
    const char *body = "data: {\"a\":1}\n\n: ping\n\nid: 7\nevent: x\ndata: {\"b\":\ndata: 2}\n\n"
                       "retry: 5\n\ndata:{\"c\":3}";
    for (size_t step = 1; step < 12; step++) {
        struct got g = {0};
        assert_int_equal(feed_in_pieces(body, step, &g), SSE_OK);
        assert_int_equal(g.n, 3);
        assert_string_equal(g.frames[0], "{\"a\":1}");
        assert_string_equal(g.frames[1], "{\"b\":\n2}");
        assert_string_equal(g.frames[2], "{\"c\":3}");
    }
}

static void a_cr_stops_after_the_frames_before_it(void **state)
{
    struct got g = {0};
    assert_int_equal(feed_in_pieces("data: 1\n\ndata: 2\r\n\r\n", 64, &g), SSE_CRLF);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.frames[0], "1");
}

static void garbage_and_oversize_frames_are_refused(void **state)
{
    struct got g = {0};
    assert_int_equal(feed_in_pieces("data: 1\n\nhello\n\ndata: 3\n\n", 64, &g), SSE_GARBAGE);
    assert_int_equal(g.n, 1);
    struct sse_reader r = {.max_frame = 8};
    struct got h = {0};
    assert_int_equal(sse_read_feed(&r, "data: 0123456789", 16, collect, &h), SSE_TOO_BIG);
    sse_read_free(&r);
}

static void empty_and_dataless_frames_are_skipped(void **state)
{
    struct got g = {0};
    assert_int_equal(feed_in_pieces("\n\n\n\n: only a comment\n\n\n", 3, &g), SSE_OK);
    assert_int_equal(g.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frames_survive_any_split),
        cmocka_unit_test(a_cr_stops_after_the_frames_before_it),
        cmocka_unit_test(garbage_and_oversize_frames_are_refused),
        cmocka_unit_test(empty_and_dataless_frames_are_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
