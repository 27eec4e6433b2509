/* JSON values as RFC 6902 sees them: equality by value, and a bounded measure of size and depth. */
#include "jvalue.h"

#include <string.h>

/* Numbers are equal by value; an integer equals a real only when the real is exactly it. */
static bool numbers_equal(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b))
        return json_integer_value(a) == json_integer_value(b);
    if (json_is_real(a) && json_is_real(b)) return json_real_value(a) == json_real_value(b);
    const json_t *i = json_is_integer(a) ? a : b;
    double d = json_real_value(json_is_integer(a) ? b : a);
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return false;
    return d == (double)(json_int_t)d && (json_int_t)d == json_integer_value(i);
}

bool jvalue_equal(json_t *a, json_t *b)
{
    const char *key;
    size_t klen, idx;
    json_t *e;
    if (json_is_number(a) && json_is_number(b)) return numbers_equal(a, b);
    if (json_typeof(a) != json_typeof(b)) return false;
    if (json_is_string(a))
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b)) return false;
        json_array_foreach(a, idx, e)
        {
            if (!jvalue_equal(e, json_array_get(b, idx))) return false;
        }
    }
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b)) return false;
        json_object_keylen_foreach(a, key, klen, e)
        {
            json_t *f = json_object_getn(b, key, klen);
            if (!f || !jvalue_equal(e, f)) return false;
        }
    }
    return true;
}

enum jvalue_measure jvalue_measure(json_t *v, int room, size_t *w, size_t maxw)
{
    const char *key;
    size_t klen, idx;
    json_t *e;
    enum jvalue_measure r = JV_FITS;
    if (++*w > maxw) return JV_TOO_HEAVY;
    if (json_is_string(v)) *w += json_string_length(v);
    if (json_is_array(v) || json_is_object(v)) {
        if (room <= 0) return JV_TOO_DEEP;
        json_array_foreach(v, idx, e)
        {
            if ((r = jvalue_measure(e, room - 1, w, maxw)) != JV_FITS) return r;
        }
        json_object_keylen_foreach(v, key, klen, e)
        {
            *w += klen;
            if ((r = jvalue_measure(e, room - 1, w, maxw)) != JV_FITS) return r;
        }
    }
    return *w > maxw ? JV_TOO_HEAVY : JV_FITS;
}
