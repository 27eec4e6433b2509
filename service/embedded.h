/* Data compiled into the binary: the OpenAPI document and the schema migrations. */
#ifndef CONVSTORE_EMBEDDED_H
#define CONVSTORE_EMBEDDED_H

#include <stddef.h>

struct embedded_migration {
    int version;      /* the number the file name starts with */
    const char *name; /* file name without .sql */
    const char *sql;
};

extern const char *const embedded_openapi_json;
extern const size_t embedded_openapi_json_len;
extern const struct embedded_migration embedded_migrations[];
extern const int embedded_migrations_count;

#endif
