/* Unit tests: which CONVSTORE_CORS_ORIGINS values pass, and which Origin gets which answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cors.h"

static bool valid(const char *list)
{
    char why[320] = "";
    bool ok = cors_origins_valid(list, why, sizeof why);
    assert_true(ok == (why[0] == '\0')); /* a refusal always says why */
    return ok;
}

static void test_valid_lists(void **state)
{
    const char *ok[] = {"https://app.example.com",
                        "http://localhost:3000",
                        "https://a.example, http://127.0.0.1:8080",
                        " https://a.example ,\thttps://b.example ",
                        "https://a.example,",
                        "http://[::1]:5173",
                        "tauri://localhost",
                        "chrome-extension://abcdefghijklmnop",
                        "https://my_host.internal:65535",
                        "*",
                        " * ",
                        "",
                        " , "};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (!valid(ok[i])) fail_msg("refused: '%s'", ok[i]);
    }
}

static void test_invalid_lists(void **state)
{
    const char *bad[] = {"https://app.example.com/",
                         "https://app.example.com/path",
                         "app.example.com",
                         "HTTPS://app.example.com",
                         "https://App.example.com",
                         "null",
                         "https://",
                         "https://a.example:",
                         "https://a.example:0",
                         "https://a.example:080",
                         "https://a.example:65536",
                         "https://a.example:443",
                         "http://a.example:80",
                         "https://user@a.example",
                         "https://a.example?x=1",
                         "https://*.example.com",
                         "http://[::1",
                         "http://[]",
                         "1https://a.example",
                         "https://a.example, nonsense",
                         "*, https://a.example",
                         "https://a.example,*"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (valid(bad[i])) fail_msg("accepted: '%s'", bad[i]);
    }
}

static void test_refusal_names_the_entry(void **state)
{
    char why[320] = "";
    assert_false(cors_origins_valid("https://ok.example, https://bad.example/", why, sizeof why));
    assert_non_null(strstr(why, "'https://bad.example/'"));
    assert_false(cors_origins_valid("https://a.example:443", why, sizeof why));
    assert_non_null(strstr(why, "default port"));
}

static void test_applies_only_to_v1_when_configured(void **state)
{
    assert_true(cors_applies("https://a.example", "/v1/threads"));
    assert_true(cors_applies("https://a.example", "/v1"));
    assert_true(cors_applies("*", "/v1/me"));
    assert_false(cors_applies("https://a.example", "/v1x"));
    assert_false(cors_applies("https://a.example", "/healthz"));
    assert_false(cors_applies("https://a.example", "/openapi.json"));
    assert_false(cors_applies(NULL, "/v1/threads"));
    assert_false(cors_applies(" , ", "/v1/threads"));
}

static void test_allow_origin_matches_exactly(void **state)
{
    const char *list = "https://a.example, http://localhost:3000";
    assert_string_equal(cors_allow_origin(list, "https://a.example"), "https://a.example");
    assert_string_equal(cors_allow_origin(list, "http://localhost:3000"), "http://localhost:3000");
    const char *no[] = {"https://a.example.evil",
                        "https://evil.a.example",
                        "http://a.example",
                        "https://a.example:8443",
                        "http://localhost:300",
                        "http://localhost",
                        "HTTPS://A.EXAMPLE",
                        "null",
                        "",
                        " https://a.example"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        if (cors_allow_origin(list, no[i])) fail_msg("allowed: '%s'", no[i]);
    }
    assert_null(cors_allow_origin(list, NULL));
    assert_null(cors_allow_origin(NULL, "https://a.example"));
}

static void test_star_allows_any_origin_as_star(void **state)
{
    assert_string_equal(cors_allow_origin("*", "https://anything.example"), "*");
    assert_string_equal(cors_allow_origin("*", "null"), "*");
    assert_null(cors_allow_origin("*", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_lists),
        cmocka_unit_test(test_invalid_lists),
        cmocka_unit_test(test_refusal_names_the_entry),
        cmocka_unit_test(test_applies_only_to_v1_when_configured),
        cmocka_unit_test(test_allow_origin_matches_exactly),
        cmocka_unit_test(test_star_allows_any_origin_as_star),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
