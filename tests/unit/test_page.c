/* Unit tests: pagination parameters, scan direction, and JSON string escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "buf.h"
#include "page.h"

static int parse(const char *limit, const char *order, const char *after, const char *before,
                 struct page *p)
{
    struct field_errors fe = {0};
    page_parse(limit, order, after, before, false, p, &fe);
    return fe.n;
}

static void test_defaults(void **state)
{
    struct page p;
    assert_int_equal(parse(NULL, NULL, NULL, NULL, &p), 0);
    assert_int_equal(p.limit, 20);
    assert_false(p.asc);
    assert_null(p.cursor);
    assert_int_equal(page_fetch_limit(&p), 21);
}

static void test_limits(void **state)
{
    struct page p;
    assert_int_equal(parse("1", NULL, NULL, NULL, &p), 0);
    assert_int_equal(parse("100", NULL, NULL, NULL, &p), 0);
    const char *bad[] = {"0", "101", "-1", "abc", "1.5", "", "10x", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(parse(bad[i], NULL, NULL, NULL, &p), 1);
    assert_int_equal(parse(NULL, "sideways", NULL, NULL, &p), 1);
    assert_int_equal(parse(NULL, NULL, "a", "b", &p), 1);
    assert_int_equal(parse(NULL, NULL, "a/b", NULL, &p), 1);
}

static void test_direction(void **state)
{
    struct page p;
    parse(NULL, "desc", "x", NULL, &p); /* next page of a newest-first list: older items */
    assert_false(page_scan_asc(&p));
    parse(NULL, "desc", NULL, "x", &p); /* previous page: newer items, scanned upwards */
    assert_true(page_scan_asc(&p));
    assert_true(p.before);
    parse(NULL, "asc", NULL, "x", &p);
    assert_false(page_scan_asc(&p));
    assert_string_equal(page_open_bound(&p), "9223372036854775807");
    parse(NULL, "asc", NULL, NULL, &p);
    assert_string_equal(page_open_bound(&p), "0");
}

static void test_escape(void **state)
{
    struct buf b = {0};
    buf_json_str(&b, "a\"b\\c\n\x01\xc3\xa9");
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"");
    buf_free(&b);
    buf_json_str(&b, "x\xffy\xe2\x82");
    assert_string_equal(b.data, "\"x\\ufffdy\\ufffd\\ufffd\"");
    buf_free(&b);
    buf_json_time(&b, INT64_C(1795341600123456));
    assert_string_equal(b.data, "\"2026-11-22T10:00:00.123456Z\"");
    buf_free(&b);
    buf_json_time(&b, -1);
    assert_string_equal(b.data, "\"1969-12-31T23:59:59.999999Z\"");
    buf_free(&b);
}

/* The hand-rolled time formatting agrees with gmtime_r over centuries, leap days included. */
static void test_time_matches_gmtime(void **state)
{
    int64_t secs[] = {0,          -1,           951782400,  951868799, 4107542399, 253402300799,
                      1795341600, -62135596800, 1709164800, 1230768000};
    for (size_t i = 0; i < sizeof secs / sizeof secs[0]; i++)
        for (int64_t step = 0; step < 3; step++) {
            int64_t s = secs[i] + step * 86399;
            if (s > 253402300799) continue;
            time_t t = (time_t)s;
            struct tm tm;
            gmtime_r(&t, &tm);
            char want[96];
            snprintf(want, sizeof want, "\"%04d-%02d-%02dT%02d:%02d:%02d.000042Z\"",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec);
            struct buf b = {0};
            buf_json_time(&b, s * 1000000 + 42);
            assert_string_equal(b.data, want);
            buf_free(&b);
            char text[TIME_TEXT_LEN + 1];
            time_text(s * 1000000 + 42, text);
            want[strlen(want) - 1] = '\0';
            assert_string_equal(text, want + 1); /* the same, without the quotes */
        }
}

static void test_int(void **state)
{
    struct buf b = {0};
    buf_json_int(&b, 0);
    buf_putc(&b, ' ');
    buf_json_int(&b, -42);
    buf_putc(&b, ' ');
    buf_json_int(&b, INT64_MAX);
    buf_putc(&b, ' ');
    buf_json_int(&b, INT64_MIN);
    assert_string_equal(b.data, "0 -42 9223372036854775807 -9223372036854775808");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_direction),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_time_matches_gmtime),
        cmocka_unit_test(test_int),
    };
    return cmocka_run_group_tests_name("page", tests, NULL, NULL);
}
