/* libFuzzer target: the router on raw request paths. A match never yields a parameter holding
 * '/', and a path whose literal segments are percent-encoded never matches their route. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "framing.h"
#include "router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "POST", "PATCH", "DELETE", "PUT", "HEAD"};
    if (size < 1) return 0;
    const char *method = methods[data[0] % 6];
    char *path = strndup((const char *)data + 1, size - 1);
    if (!path) return 0;
    const struct route *rt;
    const char *params[MAX_PATH_PARAMS];
    char *store = NULL, allow[64];
    if (router_match(convstore_routes, convstore_routes_count, method, path, &rt, params, &store,
                     allow, sizeof allow) == ROUTE_FOUND) {
        for (int i = 0; i < MAX_PATH_PARAMS; i++)
            if (params[i] && (strchr(params[i], '/') || !*params[i])) abort();
        free(store);
    }
    char *out = malloc(size);
    if (out && segment_decode(path, strlen(path), out) && strchr(out, '/')) abort();
    free(out);
    free(path);
    return 0;
}
