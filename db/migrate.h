/* Applies the compiled-in migrations in order, once each, under an advisory lock. */
#ifndef CONVSTORE_MIGRATE_H
#define CONVSTORE_MIGRATE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "pool.h"

/* The newest migration version this binary knows. */
int migrate_latest_known(void);
/* Applies every pending migration; false with an error logged on failure. */
bool migrate_apply(PGconn *pg);
/* The applied version, read outside the pool (for /readyz: a busy pool is not unready). */
enum db_qs migrate_db_version(int64_t *version);
/* The newest applied version (0 when none; -1 on error). */
int migrate_current(PGconn *pg);

#endif
