/* The HTTP server: libmicrohttpd setup, body accumulation and limits, dispatch, replies, logs. */
#ifndef CONVSTORE_SERVER_H
#define CONVSTORE_SERVER_H

#include <stdbool.h>

/* Starts serving on cfg.listen; logs the bound port. */
bool server_start(void);
void server_stop(void);

#endif
