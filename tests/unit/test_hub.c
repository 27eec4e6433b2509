/* Unit tests: the live fan-out hub: routing by thread, order, bounded queues, ends and pokes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <cmocka.h>

#include "hub.h"

static struct hub_event *event(long long seq, size_t len)
{
    char *frame = calloc(1, len + 1);
    memset(frame, 'x', len);
    return hub_event_new(1, seq, "t", NULL, NULL, NULL, frame, len);
}

static bool readable(struct hub_sub *s)
{
    struct pollfd p = {.fd = hub_fd(s), .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

static void test_publish_reaches_only_the_thread(void **state)
{
    struct hub_sub *a = hub_subscribe("o1", "t1", "k1"), *b = hub_subscribe("o1", "t2", "k1"),
                   *c = hub_subscribe("o2", "t1", "k2");
    struct hub_event *ev[2] = {event(1, 10), event(2, 10)};
    hub_publish("o1", "t1", ev, 2);
    hub_event_unref(ev[0]);
    hub_event_unref(ev[1]);
    assert_true(readable(a));
    assert_false(readable(b));
    assert_false(readable(c));
    struct hub_batch got;
    hub_take(a, &got);
    assert_int_equal(got.n, 2);
    assert_int_equal(got.ev[0]->seq, 1);
    assert_int_equal(got.ev[1]->seq, 2);
    assert_false(got.ended || got.overflow || got.poke);
    hub_batch_free(&got);
    assert_false(readable(a));
    hub_take(b, &got);
    assert_int_equal(got.n, 0);
    hub_batch_free(&got);
    hub_unsubscribe(a);
    hub_unsubscribe(b);
    hub_unsubscribe(c);
    assert_int_equal(hub_subscribers(), 0);
}

/* A subscriber that does not take is cut off past the bound; the others go on. */
static void test_queue_is_bounded(void **state)
{
    struct hub_sub *slow = hub_subscribe("o", "t", "k"), *fast = hub_subscribe("o", "t", "k");
    struct hub_batch got;
    for (long long seq = 1; seq <= 20; seq++) {
        struct hub_event *e = event(seq, HUB_MAX_QUEUED_BYTES / 10);
        hub_publish("o", "t", &e, 1);
        hub_event_unref(e);
        hub_take(fast, &got);
        assert_int_equal(got.n, 1);
        assert_false(got.overflow);
        hub_batch_free(&got);
    }
    hub_take(slow, &got);
    assert_true(got.overflow);
    assert_int_equal(got.n, 0);
    hub_batch_free(&got);
    hub_unsubscribe(slow);
    hub_unsubscribe(fast);
}

static void test_end_poke_and_shutdown(void **state)
{
    struct hub_sub *a = hub_subscribe("o", "t", "k1"), *b = hub_subscribe("o", "t", "k2"),
                   *c = hub_subscribe("o", "u", "k2");
    struct hub_batch got;
    hub_poke("o", "t");
    hub_take(a, &got);
    assert_true(got.poke && !got.ended);
    hub_take(c, &got);
    assert_false(got.poke);
    hub_end_key("k2");
    hub_take(a, &got);
    assert_false(got.ended || got.poke);
    hub_take(b, &got);
    assert_true(got.ended);
    hub_take(c, &got);
    assert_true(got.ended);
    hub_end_thread("o", "t");
    hub_take(a, &got);
    assert_true(got.ended);
    hub_unsubscribe(a);
    hub_unsubscribe(b);
    hub_unsubscribe(c);
    struct hub_sub *d = hub_subscribe("o", "v", "k");
    hub_shutdown();
    assert_true(readable(d));
    hub_take(d, &got);
    assert_true(got.ended);
    assert_null(hub_subscribe("o", "v", "k"));
    hub_unsubscribe(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publish_reaches_only_the_thread),
        cmocka_unit_test(test_queue_is_bounded),
        cmocka_unit_test(test_end_poke_and_shutdown),
    };
    return cmocka_run_group_tests_name("hub", tests, NULL, NULL);
}
