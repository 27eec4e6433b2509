/* Unit tests: id, text, UUID and timestamp validators, JSON depth, field specs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"

static void test_valid_id(void **state)
{
    assert_true(valid_id("t1"));
    assert_true(valid_id("A-z_0.9:x"));
    char max[129];
    memset(max, 'a', 128);
    max[128] = '\0';
    assert_true(valid_id(max));
    char over[130];
    memset(over, 'a', 129);
    over[129] = '\0';
    assert_false(valid_id(over));
    assert_false(valid_id(""));
    assert_false(valid_id("a/b"));
    assert_false(valid_id("a b"));
    assert_false(valid_id("a%20"));
    assert_false(valid_id("\xc3\xa9"));
}

static void test_text(void **state)
{
    assert_int_equal(text_chars("h\xc3\xa9llo"), 5);
    assert_int_equal(text_chars("a\nb"), -1);
    assert_true(text_ok("caf\xc3\xa9 \xf0\x9f\x98\x80"));
    assert_false(text_ok("\xff"));
    assert_false(text_ok("\xc0\xaf"));     /* overlong */
    assert_false(text_ok("\xed\xa0\x80")); /* surrogate */
    assert_false(text_ok("\xe2\x82"));     /* truncated */
    assert_false(text_ok("tab\there"));
}

static void test_uuid(void **state)
{
    assert_true(valid_uuid("0b298db0-d8b3-4a5b-b799-a3d286734e56"));
    assert_false(valid_uuid("0b298db0-d8b3-4a5b-b799-a3d286734e5"));
    assert_false(valid_uuid("0b298db0-d8b3-4a5b-b799-a3d286734e567"));
    assert_false(valid_uuid("0b298db0xd8b3-4a5b-b799-a3d286734e56"));
    assert_false(valid_uuid("zb298db0-d8b3-4a5b-b799-a3d286734e56"));
}

static void test_rfc3339(void **state)
{
    int64_t us;
    assert_true(parse_rfc3339("1970-01-01T00:00:00Z", &us));
    assert_int_equal(us, 0);
    assert_true(parse_rfc3339("2026-11-22T10:00:00.123456Z", &us));
    assert_int_equal(us, INT64_C(1795341600123456));
    assert_true(parse_rfc3339("2026-11-22T12:00:00.5+02:00", &us));
    assert_int_equal(us, INT64_C(1795341600500000));
    assert_true(parse_rfc3339("2024-02-29T00:00:00Z", &us));
    assert_false(parse_rfc3339("2026-02-29T00:00:00Z", &us));
    assert_false(parse_rfc3339("2026-02-30T00:00:00Z", &us));
    assert_false(parse_rfc3339("2026-13-01T00:00:00Z", &us));
    assert_false(parse_rfc3339("2026-11-22 10:00:00Z", &us));
    assert_false(parse_rfc3339("2026-11-22T10:00:00", &us));
    assert_false(parse_rfc3339("2026-11-22T24:00:00Z", &us));
    assert_false(parse_rfc3339("2026-11-22T10:00:00.Z", &us));
    assert_false(parse_rfc3339("yesterday", &us));
    assert_false(parse_rfc3339("2026-11-22T10:00:00Zjunk", &us));
    assert_true(parse_rfc3339("0001-01-01T00:00:00Z", &us));
    assert_false(parse_rfc3339("0001-01-01T00:00:00+23:59", &us));
    assert_true(parse_rfc3339("9999-12-31T23:59:59.999999Z", &us));
    assert_false(parse_rfc3339("9999-12-31T23:59:59-00:01", &us));
}

static void test_depth(void **state)
{
    assert_int_equal(json_text_depth("{}", 2, 64), 1);
    assert_int_equal(json_text_depth("{\"a\":[[1]]}", 11, 64), 3);
    assert_int_equal(json_text_depth("\"[[[[\"", 6, 64), 0); /* brackets in strings */
    assert_int_equal(json_text_depth("[\"\\\"[\"]", 7, 64), 1);
    char deep[200];
    memset(deep, '[', sizeof deep);
    assert_true(json_text_depth(deep, sizeof deep, 64) > 64);
}

static const char *const colors[] = {"red", "green", NULL};
static const struct jfield spec[] = {
    {"id", JK_ID, .nullable = false},
    {"title", JK_TEXT, .nullable = true, .max = 5},
    {"color", JK_ENUM, .choices = colors},
    {"metadata", JK_METADATA, .nullable = false},
};

static int parse(const char *text, struct jval *v, struct field_errors *fe)
{
    json_t *doc = json_loads(text, 0, NULL);
    assert_non_null(doc);
    memset(fe, 0, sizeof *fe);
    jspec_parse(doc, spec, 4, v, fe);
    json_decref(doc);
    return fe->n;
}

static void test_spec(void **state)
{
    struct jval v[4];
    struct field_errors fe;
    assert_int_equal(
        parse("{\"id\":\"a\",\"title\":null,\"color\":\"green\",\"metadata\":{}}", v, &fe), 0);
    assert_true(v[1].is_null);
    assert_int_equal(v[2].choice, 1);
    assert_int_equal(parse("{\"nope\":1}", v, &fe), 1);
    assert_string_equal(fe.e[0].field, "nope");
    assert_int_equal(parse("{\"id\":7}", v, &fe), 1);
    assert_string_equal(fe.e[0].field, "id");
    assert_int_equal(parse("{\"title\":\"123456\"}", v, &fe), 1);
    assert_int_equal(parse("{\"title\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}", v, &fe), 0);
    assert_int_equal(parse("{\"color\":\"blue\"}", v, &fe), 1);
    assert_int_equal(parse("{\"metadata\":[]}", v, &fe), 1);
    assert_int_equal(parse("{\"id\":null}", v, &fe), 1);
}

static void test_spans(void **state)
{
    const char *doc = " { \"a\" : [1, {\"b\":\"]}\\\"\"}] , \"content\":0.10, \"m\":{\"x\":[]} } ";
    struct jspan obj = {doc, strlen(doc)}, s;
    assert_true(jspan_member(obj, "content", &s));
    assert_int_equal(s.n, 4);
    assert_memory_equal(s.p, "0.10", 4);
    assert_true(jspan_member(obj, "m", &s));
    assert_memory_equal(s.p, "{\"x\":[]}", s.n);
    assert_true(jspan_member(obj, "a", &s));
    size_t pos = 0;
    struct jspan e;
    assert_true(jspan_next_element(s, &pos, &e));
    assert_memory_equal(e.p, "1", e.n);
    assert_true(jspan_next_element(s, &pos, &e));
    assert_memory_equal(e.p, "{\"b\":\"]}\\\"\"}", e.n);
    assert_false(jspan_next_element(s, &pos, &e));
    assert_false(jspan_member(obj, "missing", &s));
    assert_false(jspan_member(obj, "conten", &s));
    const char *esc = "{\"c\\u006fntent\":\"x\",\"a\\\"b\":1}";
    assert_true(jspan_member((struct jspan){esc, strlen(esc)}, "content", &s));
    assert_memory_equal(s.p, "\"x\"", s.n);
    assert_true(jspan_member((struct jspan){esc, strlen(esc)}, "a\"b", &s));
    assert_false(jspan_member((struct jspan){esc, strlen(esc)}, "cintent", &s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_id), cmocka_unit_test(test_text),  cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_rfc3339),  cmocka_unit_test(test_depth), cmocka_unit_test(test_spec),
        cmocka_unit_test(test_spans),
    };
    return cmocka_run_group_tests_name("validate", tests, NULL, NULL);
}
