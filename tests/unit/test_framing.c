/* Unit tests: header framing as libmicrohttpd lays it out, Transfer-Encoding verdicts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "framing.h"

/*
 * Lays out a header block (CRLF lines, ending with an empty line) the way libmicrohttpd 0.9.75
 * does in its read buffer: ':' and each CR and LF become NUL, the value starts past SP/HTAB.
 * Fills h (at most 8 headers); buf must outlive h. Returns the header count.
 */
static size_t lay_out(char *buf, const char *block, size_t len, struct raw_header *h)
{
    memcpy(buf, block, len);
    size_t n = 0, i = 0;
    while (i < len && buf[i] != '\r' && n < 8) {
        char *key = buf + i;
        char *colon = memchr(key, ':', len - i);
        char *eol = memchr(key, '\r', len - i);
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        eol[0] = eol[1] = '\0';
        h[n++] = (struct raw_header){key, strlen(key), v, strlen(v)};
        i = (size_t)(eol + 2 - buf);
    }
    buf[i] = buf[i + 1] = '\0';
    return n;
}

#define LAYOUT(block) lay_out(buf, block, sizeof block - 1, h)

static void test_clean_blocks_pass(void **state)
{
    char buf[256];
    struct raw_header h[8];
    size_t n = LAYOUT("Host: x\r\nContent-Length: 10\r\nX-Empty:\r\nX-Tab:\tv \r\n\r\n");
    assert_int_equal(n, 4);
    assert_true(headers_well_framed(h, n));
    assert_true(headers_well_framed(h, 0));
}

static void test_bad_names_fail(void **state)
{
    char buf[256];
    struct raw_header h[8];
    size_t n = LAYOUT("Host: x\r\nContent-Length : 10\r\n\r\n");
    assert_false(headers_well_framed(h, n));
    n = LAYOUT("Content-Length\t: 10\r\n\r\n");
    assert_false(headers_well_framed(h, n));
    n = LAYOUT("X Foo: a\r\n\r\n");
    assert_false(headers_well_framed(h, n));
}

/* A NUL inside a value: libmicrohttpd's value stops there, and the layout shows the rest. */
static void test_nul_in_value_fails(void **state)
{
    char buf[256];
    struct raw_header h[8];
    static const char last[] = "Host: x\r\nContent-Length: 0\0100\r\n\r\n";
    size_t n = lay_out(buf, last, sizeof last - 1, h);
    h[1].value_size = 1; /* what libmicrohttpd reports: "0" */
    assert_false(headers_well_framed(h, n));
    static const char middle[] = "X-A: a\0b\r\nHost: x\r\n\r\n";
    n = lay_out(buf, middle, sizeof middle - 1, h);
    h[0].value_size = 1;
    assert_false(headers_well_framed(h, n));
}

/* obs-fold: libmicrohttpd copies key + continuation elsewhere, so the value no longer follows. */
static void test_folded_key_fails(void **state)
{
    char buf[256], moved[64] = "Content-Length30";
    struct raw_header h[8];
    size_t n = LAYOUT("Host: x\r\nContent-Length: \r\n\r\n");
    h[1].key = moved;
    h[1].key_size = strlen(moved);
    assert_false(headers_well_framed(h, n));
}

static void test_transfer_encoding(void **state)
{
    assert_int_equal(te_classify("chunked"), TE_CHUNKED);
    assert_int_equal(te_classify(" Chunked\t"), TE_CHUNKED);
    assert_int_equal(te_classify("gzip, chunked"), TE_UNSUPPORTED);
    assert_int_equal(te_classify("gzip;q=1 ,chunked"), TE_UNSUPPORTED);
    assert_int_equal(te_classify("chunked, identity"), TE_MALFORMED);
    assert_int_equal(te_classify("identity"), TE_MALFORMED);
    assert_int_equal(te_classify("chunked, chunked"), TE_MALFORMED);
    assert_int_equal(te_classify("chunked;x=1"), TE_MALFORMED);
    assert_int_equal(te_classify(""), TE_MALFORMED);
    assert_int_equal(te_classify(",chunked"), TE_MALFORMED);
    assert_int_equal(te_classify("gzip,,chunked"), TE_MALFORMED);
    assert_int_equal(te_classify("chun ked"), TE_MALFORMED);
}

static void test_segment_decode(void **state)
{
    char out[32];
    assert_true(segment_decode("a%3Ab%2e", 8, out));
    assert_string_equal(out, "a:b.");
    assert_false(segment_decode("a%00", 4, out));
    assert_false(segment_decode("a%2F", 4, out));
    assert_false(segment_decode("a%2", 3, out));
    assert_false(segment_decode("%g0", 3, out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_blocks_pass),  cmocka_unit_test(test_bad_names_fail),
        cmocka_unit_test(test_nul_in_value_fails), cmocka_unit_test(test_folded_key_fails),
        cmocka_unit_test(test_transfer_encoding),  cmocka_unit_test(test_segment_decode),
    };
    return cmocka_run_group_tests_name("framing", tests, NULL, NULL);
}
