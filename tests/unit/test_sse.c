/* Unit tests: SSE frames, Last-Event-ID parsing, and the stream filters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sse.h"

static void test_frame_is_one_data_line(void **state)
{
    struct buf b = {0};
    const char json[] = "{\"data\":{\"a\":\r\n 1},\"s\":\"x\\ny\"}";
    sse_frame(&b, 42, "run.started", json, sizeof json - 1);
    assert_string_equal(b.data, "id: 42\nevent: run.started\n"
                                "data: {\"data\":{\"a\":   1},\"s\":\"x\\ny\"}\n\n");
    buf_free(&b);
}

static void test_parse_seq(void **state)
{
    long long v = -1;
    assert_true(sse_parse_seq("0", &v));
    assert_int_equal(v, 0);
    assert_true(sse_parse_seq("123456789012345678", &v));
    assert_int_equal(v, 123456789012345678LL);
    const char *bad[] = {"", "-1", "1.5", "abc", " 1", "1 ", "1234567890123456789", "+1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(sse_parse_seq(bad[i], &v));
}

static void test_filters(void **state)
{
    struct sse_filter f = {0};
    assert_true(sse_filter_match(&f, "anything", NULL, NULL, NULL));
    assert_true(sse_filter_add_type(&f, "run.*"));
    assert_true(sse_filter_add_type(&f, "TEXT_MESSAGE_CONTENT"));
    assert_true(sse_filter_match(&f, "run.started", NULL, NULL, NULL));
    assert_false(sse_filter_match(&f, "runner", NULL, NULL, NULL));
    assert_false(sse_filter_match(&f, "run", NULL, NULL, NULL));
    assert_true(sse_filter_match(&f, "TEXT_MESSAGE_CONTENT", NULL, NULL, NULL));
    assert_false(sse_filter_match(&f, "TEXT_MESSAGE_CONTENTS", NULL, NULL, NULL));
    f.run_id = "r1";
    assert_true(sse_filter_match(&f, "run.x", "r1", NULL, NULL));
    assert_false(sse_filter_match(&f, "run.x", "r2", NULL, NULL));
    assert_false(sse_filter_match(&f, "run.x", NULL, NULL, NULL));
    struct sse_filter g = {0};
    const char *bad[] = {"", "a b", "x*", "é", "*", "a.**"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(sse_filter_add_type(&g, bad[i]));
    for (int i = 0; i < SSE_MAX_TYPES; i++)
        assert_true(sse_filter_add_type(&g, "t"));
    assert_false(sse_filter_add_type(&g, "t"));
}

static void test_event_type_ok(void **state)
{
    char long_type[130];
    memset(long_type, 'a', 129);
    long_type[129] = '\0';
    assert_false(event_type_ok(long_type));
    long_type[128] = '\0';
    assert_true(event_type_ok(long_type));
    assert_true(event_type_ok("a/b:c-d_e.f"));
    assert_false(event_type_ok(""));
    assert_false(event_type_ok("a\nb"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_is_one_data_line),
        cmocka_unit_test(test_parse_seq),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_event_type_ok),
    };
    return cmocka_run_group_tests_name("sse", tests, NULL, NULL);
}
