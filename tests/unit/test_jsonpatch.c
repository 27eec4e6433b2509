/* Unit tests: RFC 6902 JSON Patch and RFC 6901 JSON Pointer, as STATE_DELTA events use them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jsonpatch.h"

/* Parses JSON written with ' for " (so the tests stay readable); integers stay integers. */
static json_t *parse(const char *text)
{
    char *s = strdup(text);
    for (char *p = s; *p; p++)
        if (*p == '\'') *p = '"';
    json_error_t e;
    json_t *v = json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (!v) fail_msg("test JSON %s: %s", s, e.text);
    free(s);
    return v;
}

/* Asserts that patch turns doc into want, and that a second reference to doc saw no change. */
static void applies(const char *doc, const char *patch, const char *want)
{
    json_t *d = parse(doc), *p = parse(patch), *w = parse(want), *orig = json_incref(d);
    char err[512] = "";
    if (jsonpatch_apply(&d, p, err, sizeof err) != 0) fail_msg("%s: %s", patch, err);
    if (!json_equal(d, w))
        fail_msg("%s gave %s", patch, json_dumps(d, JSON_ENCODE_ANY | JSON_COMPACT));
    json_t *again = parse(doc);
    assert_true(json_equal(orig, again));
    json_decref(again);
    json_decref(orig);
    json_decref(d);
    json_decref(p);
    json_decref(w);
}

/* Asserts that patch fails on doc with exactly msg and leaves *doc as it was. */
static void refused(const char *doc, const char *patch, const char *msg)
{
    json_t *d = parse(doc), *p = parse(patch), *before = d, *again = parse(doc);
    char err[512] = "";
    if (jsonpatch_apply(&d, p, err, sizeof err) != -1) fail_msg("%s applied", patch);
    assert_ptr_equal(d, before);
    assert_true(json_equal(d, again));
    assert_string_equal(err, msg);
    json_decref(again);
    json_decref(d);
    json_decref(p);
}

/* RFC 6902 Appendix A.1-A.8. */
static void test_rfc6902_examples(void **state)
{
    applies("{'foo':'bar'}", "[{'op':'add','path':'/baz','value':'qux'}]",
            "{'baz':'qux','foo':'bar'}");
    applies("{'foo':['bar','baz']}", "[{'op':'add','path':'/foo/1','value':'qux'}]",
            "{'foo':['bar','qux','baz']}");
    applies("{'baz':'qux','foo':'bar'}", "[{'op':'remove','path':'/baz'}]", "{'foo':'bar'}");
    applies("{'foo':['bar','qux','baz']}", "[{'op':'remove','path':'/foo/1'}]",
            "{'foo':['bar','baz']}");
    applies("{'baz':'qux','foo':'bar'}", "[{'op':'replace','path':'/baz','value':'boo'}]",
            "{'baz':'boo','foo':'bar'}");
    applies("{'foo':{'bar':'baz','waldo':'fred'},'qux':{'corge':'grault'}}",
            "[{'op':'move','from':'/foo/waldo','path':'/qux/thud'}]",
            "{'foo':{'bar':'baz'},'qux':{'corge':'grault','thud':'fred'}}");
    applies("{'foo':['all','grass','cows','eat']}",
            "[{'op':'move','from':'/foo/1','path':'/foo/3'}]",
            "{'foo':['all','cows','eat','grass']}");
    applies("{'baz':'qux','foo':['a',2,'c']}",
            "[{'op':'test','path':'/baz','value':'qux'},{'op':'test','path':'/foo/1','value':2}]",
            "{'baz':'qux','foo':['a',2,'c']}");
}

/* RFC 6902 Appendix A.9-A.16. */
static void test_rfc6902_examples_continued(void **state)
{
    refused("{'baz':'qux'}", "[{'op':'test','path':'/baz','value':'bar'}]",
            "[0].value: differs from the value at /baz");
    applies("{'foo':'bar'}", "[{'op':'add','path':'/child','value':{'grandchild':{}}}]",
            "{'foo':'bar','child':{'grandchild':{}}}");
    applies("{'foo':'bar'}", "[{'op':'add','path':'/baz','value':'qux','xyz':123}]",
            "{'foo':'bar','baz':'qux'}");
    refused("{'foo':'bar'}", "[{'op':'add','path':'/baz/bat','value':'qux'}]",
            "[0].path: /baz does not exist");
    /* A.13: duplicate members are the parser's to refuse (body_parse loads with
     * JSON_REJECT_DUPLICATES); should one get through, jansson keeps the last: remove /baz. */
    json_error_t e;
    assert_null(
        json_loads("[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"op\":\"remove\"}]",
                   JSON_REJECT_DUPLICATES, &e));
    refused("{'foo':'bar'}", "[{'op':'add','path':'/baz','value':'qux','op':'remove'}]",
            "[0].path: /baz does not exist");
    applies("{'/':9,'~1':10}", "[{'op':'test','path':'/~01','value':10}]", "{'/':9,'~1':10}");
    refused("{'/':9,'~1':10}", "[{'op':'test','path':'/~01','value':'10'}]",
            "[0].value: differs from the value at /~01");
    applies("{'foo':['bar']}", "[{'op':'add','path':'/foo/-','value':['abc','def']}]",
            "{'foo':['bar',['abc','def']]}");
}

/* RFC 6901 section 5: every pointer of its example, as test operations, then escapes. */
static void test_pointer(void **state)
{
    const char *doc = "{'foo':['bar','baz'],'':0,'a/b':1,'c%d':2,'e^f':3,'g|h':4,'i\\\\j':5,"
                      "'k\\'l':6,' ':7,'m~n':8}";
    applies(doc,
            "[{'op':'test','path':'','value':" /* the whole document */
            "{'foo':['bar','baz'],'':0,'a/b':1,'c%d':2,'e^f':3,'g|h':4,'i\\\\j':5,"
            "'k\\'l':6,' ':7,'m~n':8}},"
            "{'op':'test','path':'/foo','value':['bar','baz']},"
            "{'op':'test','path':'/foo/0','value':'bar'},{'op':'test','path':'/','value':0},"
            "{'op':'test','path':'/a~1b','value':1},{'op':'test','path':'/c%d','value':2},"
            "{'op':'test','path':'/e^f','value':3},{'op':'test','path':'/g|h','value':4},"
            "{'op':'test','path':'/i\\\\j','value':5},{'op':'test','path':'/k\\'l','value':6},"
            "{'op':'test','path':'/ ','value':7},{'op':'test','path':'/m~0n','value':8}]",
            doc);
    /* ~01 is "~1", not "/"; ~10 is "/0"; an empty token names the member "". */
    applies("{}",
            "[{'op':'add','path':'/~01','value':1},{'op':'add','path':'/~10','value':2},"
            "{'op':'add','path':'/','value':{}},{'op':'add','path':'//','value':3}]",
            "{'~1':1,'/0':2,'':{'':3}}");
    /* jansson neither parses nor copies member names with NUL: no pointer can name one. */
    refused("{'a':1}", "[{'op':'add','path':'/a\\u0000b','value':1}]",
            "[0].path: must not contain \\u0000 (no member name holds it)");
    refused("{'a':1}", "[{'op':'test','path':'/a~2','value':1}]",
            "[0].path: /a~2: ~ must be followed by 0 or 1 (~0 is ~, ~1 is /)");
    refused("{'a~':1}", "[{'op':'test','path':'/a~','value':1}]",
            "[0].path: /a~: ~ must be followed by 0 or 1 (~0 is ~, ~1 is /)");
    refused("{'a':1}", "[{'op':'remove','path':'a'}]",
            "[0].path: \"a\" is not a JSON pointer (it is \"\" or starts with /)");
    refused("{'a':1}", "[{'op':'copy','from':'#/a','path':'/b'}]",
            "[0].from: \"#/a\" is not a JSON pointer (it is \"\" or starts with /)");
    refused("{'a':{'b':1}}", "[{'op':'remove','path':'/a/b/c'}]",
            "[0].path: /a/b/c does not exist (/a/b is a number)");
    refused("'text'", "[{'op':'add','path':'/a','value':1}]",
            "[0].path: /a cannot be added (the document is a string)");
}

/* Array indices: "-" appends (add only), digits without leading zeros, within range. */
static void test_array_indices(void **state)
{
    const char *doc = "{'a':[10,20,30]}";
    applies(doc,
            "[{'op':'add','path':'/a/-','value':40},{'op':'add','path':'/a/4','value':50},"
            "{'op':'add','path':'/a/0','value':0},{'op':'replace','path':'/a/5','value':45}]",
            "{'a':[0,10,20,30,40,45]}");
    applies(doc, "[{'op':'remove','path':'/a/2'},{'op':'test','path':'/a/1','value':20}]",
            "{'a':[10,20]}");
    refused(doc, "[{'op':'add','path':'/a/4','value':1}]",
            "[0].path: /a/4 is out of range (the array has 3 elements)");
    refused(doc, "[{'op':'remove','path':'/a/3'}]",
            "[0].path: /a/3 is out of range (the array has 3 elements)");
    refused(doc, "[{'op':'replace','path':'/a/-','value':1}]",
            "[0].path: /a/- does not exist (- is past the last element)");
    refused(doc, "[{'op':'move','from':'/a/-','path':'/b'}]",
            "[0].from: /a/- does not exist (- is past the last element)");
    refused(doc, "[{'op':'test','path':'/a/01','value':20}]",
            "[0].path: /a/01: an array index is 0, digits without a leading zero or -");
    refused(doc, "[{'op':'add','path':'/a/-1','value':1}]",
            "[0].path: /a/-1: an array index is 0, digits without a leading zero or -");
    refused(doc, "[{'op':'remove','path':'/a/1e0'}]",
            "[0].path: /a/1e0: an array index is 0, digits without a leading zero or -");
    refused(doc, "[{'op':'remove','path':'/a/'}]",
            "[0].path: /a/ is not an index (the array has 3 elements)");
    refused(doc, "[{'op':'remove','path':'/a/99999999999999999999999999'}]",
            "[0].path: /a/99999999999999999999999999 is out of range (the array has 3 elements)");
    refused(doc, "[{'op':'test','path':'/a/5/x','value':1}]",
            "[0].path: /a/5 is out of range (the array has 3 elements)");
}

/* A batch is all or nothing: the failing operation's index, the member and why. */
static void test_all_or_nothing(void **state)
{
    refused("{'a':{'b':1},'list':[1]}",
            "[{'op':'add','path':'/x','value':1},{'op':'remove','path':'/list/0'},"
            "{'op':'remove','path':'/a/c'},{'op':'add','path':'/y','value':2}]",
            "[2].path: /a/c does not exist");
    refused("{'a':1}", "[{'op':'replace','path':'','value':[]},{'op':'test','path':'','value':{}}]",
            "[1].value: differs from the document");
    /* The same patch applies twice the same way: its values are copied, never shared. */
    json_t *d = parse("{}"), *p = parse("[{'op':'add','path':'/v','value':{'n':[1]}},"
                                        "{'op':'add','path':'/v/n/-','value':2}]");
    char err[128];
    assert_int_equal(jsonpatch_apply(&d, p, err, sizeof err), 0);
    json_t *d2 = parse("{}"), *want = parse("{'v':{'n':[1,2]}}");
    assert_int_equal(jsonpatch_apply(&d2, p, err, sizeof err), 0);
    assert_true(json_equal(d, want) && json_equal(d2, want));
    json_decref(d);
    json_decref(d2);
    json_decref(want);
    json_decref(p);
}

/* null is a value: it can be added, replaced with and tested; an absent value is refused. */
static void test_null_values(void **state)
{
    applies("{'a':1,'b':[1]}",
            "[{'op':'add','path':'/n','value':null},{'op':'replace','path':'/a','value':null},"
            "{'op':'add','path':'/b/0','value':null},{'op':'test','path':'/n','value':null},"
            "{'op':'test','path':'/b','value':[null,1]}]",
            "{'a':null,'b':[null,1],'n':null}");
    refused("{'a':null}", "[{'op':'test','path':'/a','value':false}]",
            "[0].value: differs from the value at /a");
    refused("{'a':null}", "[{'op':'test','path':'/a/b','value':null}]",
            "[0].path: /a/b does not exist (/a is null)");
    refused("{}", "[{'op':'add','path':'/a'}]", "[0].value: is required");
}

/* "" is the whole document: add, replace, move and copy set it; remove leaves null. */
static void test_root(void **state)
{
    applies("{'a':1}", "[{'op':'replace','path':'','value':[1,2]}]", "[1,2]");
    applies("{'a':1}", "[{'op':'add','path':'','value':'s'}]", "'s'");
    applies("{'a':1}", "[{'op':'remove','path':''}]", "null");
    applies("{'a':1}", "[{'op':'remove','path':''},{'op':'add','path':'','value':{'b':2}}]",
            "{'b':2}");
    applies("{'a':{'b':2}}", "[{'op':'move','from':'/a','path':''}]", "{'b':2}");
    applies("{'a':{'b':2}}", "[{'op':'copy','from':'/a','path':''}]", "{'b':2}");
    applies("{'a':1}", "[{'op':'copy','from':'','path':'/c'}]", "{'a':1,'c':{'a':1}}");
    applies("{'a':1}", "[{'op':'move','from':'','path':''}]", "{'a':1}");
    applies("7", "[{'op':'test','path':'','value':7}]", "7");
    refused("{'a':1}", "[{'op':'move','from':'','path':'/b'}]",
            "[0].from: the document cannot move into its own child /b");
    refused("{'a':1}", "[{'op':'remove','path':''},{'op':'add','path':'/a','value':1}]",
            "[1].path: /a cannot be added (the document is null)");
}

/* move and copy: into its own child is refused; a mere text prefix is not a child. */
static void test_move_copy(void **state)
{
    refused("{'a':{'b':{}}}", "[{'op':'move','from':'/a','path':'/a/b/c'}]",
            "[0].from: /a cannot move into its own child /a/b/c");
    applies("{'a':{'b':1}}", "[{'op':'move','from':'/a','path':'/ab'}]", "{'ab':{'b':1}}");
    applies("{'a':{'b':1}}", "[{'op':'move','from':'/a','path':'/a'}]", "{'a':{'b':1}}");
    applies("{'a':{'b':1}}", "[{'op':'copy','from':'/a','path':'/a/c'}]",
            "{'a':{'b':1,'c':{'b':1}}}");
    applies("{'a':{'b':1}}",
            "[{'op':'copy','from':'/a','path':'/c'},{'op':'replace','path':'/c/b','value':2}]",
            "{'a':{'b':1},'c':{'b':2}}");
    applies("{'x':[1,2,3]}", "[{'op':'move','from':'/x/0','path':'/x/-'}]", "{'x':[2,3,1]}");
    refused("{'a':1}",
            "[{'op':'move','from':'/a','path':'/a'},{'op':'move','from':'/b','path':'/c'}]",
            "[1].from: /b does not exist");
    refused("{'a':1}", "[{'op':'move','from':'/a','path':'/b/c'}]", "[0].path: /b does not exist");
}

/* test compares JSON values: numbers by value, objects regardless of order, arrays in order. */
static void test_equality(void **state)
{
    const char *doc = "{'i':1,'r':1.0,'big':9007199254740993,'o':{'x':1,'y':[1,2]},'s':'a'}";
    applies(doc,
            "[{'op':'test','path':'/i','value':1.0},{'op':'test','path':'/r','value':1},"
            "{'op':'test','path':'/o','value':{'y':[1.0,2],'x':1}}]",
            doc);
    refused(doc, "[{'op':'test','path':'/i','value':1.5}]",
            "[0].value: differs from the value at /i");
    refused(doc, "[{'op':'test','path':'/big','value':9007199254740992.0}]",
            "[0].value: differs from the value at /big");
    refused(doc, "[{'op':'test','path':'/o/y','value':[2,1]}]",
            "[0].value: differs from the value at /o/y");
    refused(doc, "[{'op':'test','path':'/o','value':{'x':1}}]",
            "[0].value: differs from the value at /o");
    refused(doc, "[{'op':'test','path':'/i','value':true}]",
            "[0].value: differs from the value at /i");
    refused(doc, "[{'op':'test','path':'/s','value':'a\\u0000'}]",
            "[0].value: differs from the value at /s");
}

/* Each operation is an object with string op and path, and value or from as its op needs. */
static void test_member_types(void **state)
{
    refused("{}", "{'op':'add'}", "the patch must be a JSON array of operations");
    refused("{}", "[[]]", "[0]: an operation must be an object, not an array");
    refused("{}", "[{'path':'/a'}]", "[0].op: is required");
    refused("{}", "[{'op':1,'path':'/a'}]", "[0].op: must be a string, not a number");
    refused("{}", "[{'op':'ADD','path':'/a','value':1}]",
            "[0].op: \"ADD\" is not add, remove, replace, move, copy or test");
    refused("{}", "[{'op':'add','value':1}]", "[0].path: is required");
    refused("{}", "[{'op':'add','path':null,'value':1}]", "[0].path: must be a string, not null");
    refused("{}", "[{'op':'add','path':['a'],'value':1}]",
            "[0].path: must be a string, not an array");
    refused("{'a':1}", "[{'op':'copy','path':'/b'}]", "[0].from: is required");
    refused("{'a':1}", "[{'op':'move','path':'/b','from':1}]",
            "[0].from: must be a string, not a number");
    refused("{'a':1}", "[{'op':'replace','path':'/a'}]", "[0].value: is required");
    refused("{'a':1}", "[{'op':'test','path':'/a'}]", "[0].value: is required");
    applies("{'a':1}", "[]", "{'a':1}");
}

/* Returns (malloc'd) a repeated n times, then mid, then b repeated n times. */
static char *repeat(const char *a, int n, const char *mid, const char *b)
{
    char *s = malloc((strlen(a) + strlen(b)) * (size_t)n + strlen(mid) + 1);
    *s = '\0';
    for (int i = 0; i < n; i++)
        strcat(s, a);
    strcat(s, mid);
    for (int i = 0; i < n; i++)
        strcat(s, b);
    return s;
}

/* Nesting stays within JSONPATCH_MAX_DEPTH, before and after, however a value gets there. */
static void test_depth_limit(void **state)
{
    char *deep = repeat("[", JSONPATCH_MAX_DEPTH, "", "]");
    char *path = repeat("/0", JSONPATCH_MAX_DEPTH, "", "");
    char *want = repeat("[", JSONPATCH_MAX_DEPTH, "1", "]");
    char patch[512], msg[512];
    snprintf(patch, sizeof patch, "[{'op':'add','path':'%s','value':1}]", path);
    applies(deep, patch, want);
    snprintf(patch, sizeof patch, "[{'op':'add','path':'%s','value':[]}]", path);
    snprintf(msg, sizeof msg, "[0].value: at %s it would nest deeper than %d levels", path,
             JSONPATCH_MAX_DEPTH);
    refused(deep, patch, msg);
    char *deeper = repeat("[", JSONPATCH_MAX_DEPTH + 1, "", "]");
    refused(deeper, "[]", "the document nests deeper than 64 levels");
    /* A move deeper is measured too: /a holds 63 levels, so /b/a would reach 65. */
    char *arrays = repeat("[", JSONPATCH_MAX_DEPTH - 1, "", "]"), moving[512];
    snprintf(moving, sizeof moving, "{'b':{},'a':%s}", arrays);
    refused(moving, "[{'op':'move','from':'/a','path':'/b/a'}]",
            "[0].from: at /b/a it would nest deeper than 64 levels");
    char moved[512]; /* moving it no deeper is not measured, and fine */
    snprintf(moved, sizeof moved, "{'b':{},'c':%s}", arrays);
    applies(moving, "[{'op':'move','from':'/a','path':'/c'}]", moved);
    free(deep);
    free(path);
    free(want);
    free(deeper);
    free(arrays);
}

/* Returns (malloc'd) n bytes of 'x'. */
static char *xs(size_t n)
{
    char *s = malloc(n + 1);
    memset(s, 'x', n);
    s[n] = '\0';
    return s;
}

/* Copies of copies stop at JSONPATCH_MAX_COPIED; what the patch carries itself is not counted. */
static void test_copy_limit(void **state)
{
    char *big = xs(10000), *huge = xs(2 * JSONPATCH_MAX_COPIED), err[256];
    json_t *d = json_pack("{ss}", "s", big), *p = json_array(), *before = d;
    /* Each copy doubles the document: 1+2+4+8 copies of the string pass, 16 more do not. */
    for (int i = 0; i < 30; i++) {
        char path[16];
        snprintf(path, sizeof path, "/c%d", i);
        json_array_append_new(p, json_pack("{ssssss}", "op", "copy", "from", "", "path", path));
    }
    assert_int_equal(jsonpatch_apply(&d, p, err, sizeof err), -1);
    assert_ptr_equal(d, before);
    assert_string_equal(err, "[4].from: the patch copies more than 262144 values and bytes");
    json_array_clear(p);
    json_array_append_new(p, json_pack("{ssssss}", "op", "add", "path", "/h", "value", huge));
    assert_int_equal(jsonpatch_apply(&d, p, err, sizeof err), 0);
    assert_string_equal(json_string_value(json_object_get(d, "h")), huge);
    json_decref(p);
    json_decref(d);
    free(big);
    free(huge);
}

/* A patch of thousands of operations is an ordinary patch. */
static void test_long_patch(void **state)
{
    json_t *d = json_pack("{s[]}", "l"), *p = json_array();
    for (int i = 0; i < 5000; i++)
        json_array_append_new(p, json_pack("{sssssi}", "op", "add", "path", "/l/0", "value", i));
    for (int i = 0; i < 4999; i++)
        json_array_append_new(p, json_pack("{ssss}", "op", "remove", "path", "/l/1"));
    json_array_append_new(p, json_pack("{sssssi}", "op", "test", "path", "/l/0", "value", 4999));
    char err[256] = "";
    if (jsonpatch_apply(&d, p, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(json_array_size(json_object_get(d, "l")), 1);
    json_decref(p);
    json_decref(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6902_examples),
        cmocka_unit_test(test_rfc6902_examples_continued),
        cmocka_unit_test(test_pointer),
        cmocka_unit_test(test_array_indices),
        cmocka_unit_test(test_all_or_nothing),
        cmocka_unit_test(test_null_values),
        cmocka_unit_test(test_root),
        cmocka_unit_test(test_move_copy),
        cmocka_unit_test(test_equality),
        cmocka_unit_test(test_member_types),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_copy_limit),
        cmocka_unit_test(test_long_patch),
    };
    return cmocka_run_group_tests_name("jsonpatch", tests, NULL, NULL);
}
