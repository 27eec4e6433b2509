/* A background LISTEN connection: calls back on each notification and on (re)connects. */
#ifndef CONVSTORE_LISTEN_H
#define CONVSTORE_LISTEN_H

#include <stdbool.h>

/*
 * listen_sql is a constant "LISTEN a; LISTEN b" text. on_event(channel, payload) runs on the
 * listener thread for every notification; on_state
 * (connected) runs when the connection comes up (true) or is lost (false). While it is down,
 * anything derived from notifications must be treated as stale.
 */
bool listen_start(const char *conninfo, const char *listen_sql,
                  void (*on_event)(const char *channel, const char *payload),
                  void (*on_state)(bool connected));
void listen_stop(void);

#endif
