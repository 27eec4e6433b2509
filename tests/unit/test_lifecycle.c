/* Unit tests: every pair of the run and step state machines, names and event types. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "lifecycle.h"

/* The whole run table: row = from, column = to (Q R A C F X I). S same, o legal, x illegal. */
static const char run_table[RUN__COUNT][RUN__COUNT + 1] = {
    /* queued          */ "Soxoooo",
    /* running         */ "xSooooo",
    /* requires_action */ "xoSoooo",
    /* completed       */ "xxxSxxx",
    /* failed          */ "xxxxSxx",
    /* cancelled       */ "xxxxxSx",
    /* interrupted     */ "xxxxxxS",
};

static const char step_table[STEP__COUNT][STEP__COUNT + 1] = {
    /* pending   */ "Soooo",
    /* running   */ "xSooo",
    /* completed */ "xxSxx",
    /* failed    */ "xxxSx",
    /* cancelled */ "xxxxS",
};

static enum transition expected(char c)
{
    return c == 'S' ? TRANSITION_SAME : c == 'o' ? TRANSITION_OK : TRANSITION_ILLEGAL;
}

static void test_run_table(void **state)
{
    for (int f = 0; f < RUN__COUNT; f++)
        for (int t = 0; t < RUN__COUNT; t++) {
            enum transition got = run_transition((enum run_status)f, (enum run_status)t);
            if (got != expected(run_table[f][t]))
                fail_msg("run %s -> %s: got %d", run_status_name(f), run_status_name(t), got);
        }
}

static void test_step_table(void **state)
{
    for (int f = 0; f < STEP__COUNT; f++)
        for (int t = 0; t < STEP__COUNT; t++) {
            enum transition got = step_transition((enum step_status)f, (enum step_status)t);
            if (got != expected(step_table[f][t]))
                fail_msg("step %s -> %s: got %d", step_status_name(f), step_status_name(t), got);
        }
}

static void test_names_and_events(void **state)
{
    for (int s = 0; s < RUN__COUNT; s++) {
        enum run_status back;
        assert_true(run_status_parse(run_status_name(s), &back));
        assert_int_equal(back, s);
    }
    for (int s = 0; s < STEP__COUNT; s++) {
        enum step_status back;
        assert_true(step_status_parse(step_status_name(s), &back));
        assert_int_equal(back, s);
    }
    enum run_status r;
    assert_false(run_status_parse("done", &r));
    assert_false(run_status_parse(NULL, &r));
    assert_string_equal(run_status_event(RUN_REQUIRES_ACTION), "run.requires_action");
    assert_string_equal(step_status_event(STEP_COMPLETED), "step.completed");
    assert_true(run_status_terminal(RUN_INTERRUPTED));
    assert_false(run_status_terminal(RUN_REQUIRES_ACTION));
    assert_true(step_status_terminal(STEP_CANCELLED));
    assert_false(step_status_terminal(STEP_RUNNING));
}

/* Every lifecycle type reads back to itself; the initial states and other types are not ones. */
static void test_lifecycle_events(void **state)
{
    static const char *const types[] = {
        "run.created",    "run.running",     "run.requires_action", "run.completed", "run.failed",
        "run.cancelled",  "run.interrupted", "run.updated",         "step.created",  "step.running",
        "step.completed", "step.failed",     "step.cancelled",      "step.updated"};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        struct lifecycle_event e;
        assert_true(lifecycle_event_parse(types[i], &e));
        assert_string_equal(lifecycle_event_type(&e), types[i]);
    }
    static const char *const others[] = {
        "run.queued",   "step.pending",         "run.progress",    "run.",
        "runs.created", "step.requires_action", "message.created", "run.created.x"};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        struct lifecycle_event e;
        if (lifecycle_event_parse(others[i], &e)) fail_msg("%s parsed", others[i]);
    }
    assert_null(run_status_event(RUN_QUEUED));
    assert_null(step_status_event(STEP_PENDING));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_table),
        cmocka_unit_test(test_step_table),
        cmocka_unit_test(test_names_and_events),
        cmocka_unit_test(test_lifecycle_events),
    };
    return cmocka_run_group_tests_name("lifecycle", tests, NULL, NULL);
}
