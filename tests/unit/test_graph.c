/* Unit tests: the critical path of a step graph. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "graph.h"

static void test_chain_and_diamond(void **state)
{
    int path[8];
    /* 0 -> 1 -> 3 and 0 -> 2 -> 3; the branch through 2 is longer. */
    long long d[] = {10, 5, 20, 1};
    struct graph_edge e[] = {{0, 1}, {0, 2}, {1, 3}, {2, 3}};
    assert_int_equal(critical_path(d, 4, e, 4, path), 3);
    assert_int_equal(path[0], 0);
    assert_int_equal(path[1], 2);
    assert_int_equal(path[2], 3);
}

static void test_no_edges_and_ties(void **state)
{
    int path[8];
    long long d[] = {3, 7, 7};
    assert_int_equal(critical_path(d, 3, NULL, 0, path), 1);
    assert_int_equal(path[0], 1); /* the lowest index among the heaviest */
    assert_int_equal(critical_path(d, 0, NULL, 0, path), 0);
    long long equal[] = {1, 1, 1};
    struct graph_edge e[] = {{1, 2}, {0, 2}};
    assert_int_equal(critical_path(equal, 3, e, 2, path), 2);
    assert_int_equal(path[0], 0);
    assert_int_equal(path[1], 2);
}

/* A step that depends on a sibling's child: edges of both kinds count. */
static void test_child_and_depends_on(void **state)
{
    int path[8];
    /* root 0; children 1, 2; 3 is 1's child; 2 depends on 3. Negative durations count as 0. */
    long long d[] = {1, 2, 4, 8, -5};
    struct graph_edge e[] = {{0, 1}, {0, 2}, {1, 3}, {3, 2}, {0, 4}};
    assert_int_equal(critical_path(d, 5, e, 5, path), 4);
    assert_int_equal(path[0], 0);
    assert_int_equal(path[1], 1);
    assert_int_equal(path[2], 3);
    assert_int_equal(path[3], 2);
}

static void test_cycles_and_bad_edges(void **state)
{
    int path[8];
    long long d[] = {1, 1, 1};
    struct graph_edge cycle[] = {{0, 1}, {1, 2}, {2, 0}};
    assert_int_equal(critical_path(d, 3, cycle, 3, path), -1);
    struct graph_edge self[] = {{1, 1}};
    assert_int_equal(critical_path(d, 3, self, 1, path), -1);
    struct graph_edge out[] = {{0, 3}};
    assert_int_equal(critical_path(d, 3, out, 1, path), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_and_diamond),
        cmocka_unit_test(test_no_edges_and_ties),
        cmocka_unit_test(test_child_and_depends_on),
        cmocka_unit_test(test_cycles_and_bad_edges),
    };
    return cmocka_run_group_tests_name("graph", tests, NULL, NULL);
}
