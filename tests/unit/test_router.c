/* Unit tests: route matching, path parameters, 404 vs 405 with Allow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "router.h"

static struct reply h(struct request *r)
{
    return (struct reply){.status = 200};
}

static const struct route table[] = {
    {"GET", "/v1/threads", h, false, false, NULL},
    {"POST", "/v1/threads", h, false, false, NULL},
    {"GET", "/v1/threads/{}", h, false, false, NULL},
    {"DELETE", "/v1/threads/{}", h, false, false, NULL},
    {"GET", "/v1/threads/{}/runs/{}", h, false, false, NULL},
    {"PATCH", "/v1/threads/{}/runs/latest", h, false, false, NULL},
    {"GET", "/v1/threads/{}/runs/latest", h, false, false, NULL},
};
#define N (sizeof table / sizeof table[0])

static enum route_result match(const char *method, const char *path, const struct route **rt,
                               const char *params[MAX_PATH_PARAMS], char **store, char *allow)
{
    return router_match(table, N, method, path, rt, params, store, allow, 64);
}

static void test_static_and_params(void **state)
{
    const struct route *rt;
    const char *params[MAX_PATH_PARAMS];
    char *store = NULL, allow[64];
    assert_int_equal(match("GET", "/v1/threads", &rt, params, &store, allow), ROUTE_FOUND);
    assert_ptr_equal(rt, &table[0]);
    free(store);
    assert_int_equal(match("GET", "/v1/threads/t1/runs/r9", &rt, params, &store, allow),
                     ROUTE_FOUND);
    assert_ptr_equal(rt, &table[4]);
    assert_string_equal(params[0], "t1");
    assert_string_equal(params[1], "r9");
    free(store);
}

static void test_not_found(void **state)
{
    const struct route *rt;
    const char *params[MAX_PATH_PARAMS];
    char *store = NULL, allow[64];
    const char *paths[] = {"/",
                           "/v1",
                           "/v1/threads/",
                           "/v1/threads//runs/x",
                           "/v1/threadsx",
                           "/v1/threads/t1/runs",
                           "/v1/threads/t1/runs/r1/x",
                           "",
                           "v1/threads"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        assert_int_equal(match("GET", paths[i], &rt, params, &store, allow), ROUTE_NOT_FOUND);
}

static void test_method_not_allowed_lists_allow(void **state)
{
    const struct route *rt;
    const char *params[MAX_PATH_PARAMS];
    char *store = NULL, allow[64];
    assert_int_equal(match("PUT", "/v1/threads", &rt, params, &store, allow),
                     ROUTE_METHOD_NOT_ALLOWED);
    assert_string_equal(allow, "GET, POST");
    assert_int_equal(match("POST", "/v1/threads/abc", &rt, params, &store, allow),
                     ROUTE_METHOD_NOT_ALLOWED);
    assert_string_equal(allow, "GET, DELETE");
    /* Two patterns matching one path name a method they share once. */
    assert_int_equal(match("POST", "/v1/threads/abc/runs/latest", &rt, params, &store, allow),
                     ROUTE_METHOD_NOT_ALLOWED);
    assert_string_equal(allow, "GET, PATCH");
}

static void test_head_is_get(void **state)
{
    const struct route *rt;
    const char *params[MAX_PATH_PARAMS];
    char *store = NULL, allow[64];
    assert_int_equal(match("HEAD", "/v1/threads/x", &rt, params, &store, allow), ROUTE_FOUND);
    assert_ptr_equal(rt, &table[2]);
    free(store);
}

/* Encoded bytes are decoded inside a parameter, and never change which route matches. */
static void test_raw_path_segments(void **state)
{
    const struct route *rt;
    const char *params[MAX_PATH_PARAMS];
    char *store = NULL, allow[64];
    assert_int_equal(match("GET", "/v1/threads/%74%31/runs/a%3Ab", &rt, params, &store, allow),
                     ROUTE_FOUND);
    assert_ptr_equal(rt, &table[4]);
    assert_string_equal(params[0], "t1");
    assert_string_equal(params[1], "a:b");
    free(store);
    const char *paths[] = {"/v1/threads/t%00/runs/r", "/v1/threads/t%2Fruns%2Fr",
                           "/v1/threads/t%2fx",       "/v1/threads/%",
                           "/v1/threads/%4",          "/v1/threads/%zz",
                           "/v1/%74hreads",           "/v1/threads%2F"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        assert_int_equal(match("DELETE", paths[i], &rt, params, &store, allow), ROUTE_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_static_and_params),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_method_not_allowed_lists_allow),
        cmocka_unit_test(test_head_is_get),
        cmocka_unit_test(test_raw_path_segments),
    };
    return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
