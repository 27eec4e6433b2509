/* JSON values as RFC 6902 sees them: equality by value, and a bounded measure of size and depth. */
#ifndef CONVSTORE_JVALUE_H
#define CONVSTORE_JVALUE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * RFC 6902 4.6 equality: numbers by value (1 equals 1.0; an integer equals a real only when the
 * real is exactly that integer), strings and member names byte by byte, objects regardless of
 * member order. Neither value is modified; recursion goes no deeper than the shallower one.
 */
bool jvalue_equal(json_t *a, json_t *b);

enum jvalue_measure { JV_FITS, JV_TOO_DEEP, JV_TOO_HEAVY };

/*
 * Adds v's weight (1 per value, plus the bytes of its strings and member names) to *w and stops
 * once it passes maxw (JV_TOO_HEAVY), or at a container more than room levels down
 * (JV_TOO_DEEP: a scalar needs room 0, [] room 1). Recursion goes at most room levels deep.
 */
enum jvalue_measure jvalue_measure(json_t *v, int room, size_t *w, size_t maxw);

#endif
