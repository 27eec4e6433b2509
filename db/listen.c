/* A background LISTEN connection: calls back on each notification and on (re)connects. */
#include "listen.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pool.h"

static struct {
    pthread_t thread;
    atomic_bool stop;
    bool started;
    const char *conninfo;
    const char *listen_sql;
    void (*on_event)(const char *channel, const char *payload);
    void (*on_state)(bool connected);
} L;

/* Connects and subscribes; NULL when the database is unreachable. */
static PGconn *subscribe(void)
{
    PGconn *pg = db_connect(L.conninfo);
    if (!pg) return NULL;
    PGresult *r = PQexec(pg, L.listen_sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        PQfinish(pg);
        return NULL;
    }
    return pg;
}

/* Waits for notifications until the connection breaks or we are asked to stop. */
static void drain(PGconn *pg)
{
    while (!atomic_load(&L.stop)) {
        struct pollfd p = {.fd = PQsocket(pg), .events = POLLIN};
        int n = poll(&p, 1, 250);
        if (n < 0) continue;
        if (n > 0 && (!PQconsumeInput(pg) || PQstatus(pg) != CONNECTION_OK)) return;
        PGnotify *note;
        while ((note = PQnotifies(pg)) != NULL) {
            L.on_event(note->relname, note->extra);
            PQfreemem(note);
        }
    }
}

static void *run(void *arg)
{
    while (!atomic_load(&L.stop)) {
        PGconn *pg = subscribe();
        if (pg) {
            L.on_state(true);
            drain(pg);
            L.on_state(false);
            PQfinish(pg);
            if (!atomic_load(&L.stop)) log_line(LOG_WARN, "listen connection lost", NULL);
        }
        for (int i = 0; i < 4 && !atomic_load(&L.stop); i++)
            usleep(250 * 1000); /* retry about once a second */
    }
    return NULL;
}

bool listen_start(const char *conninfo, const char *listen_sql,
                  void (*on_event)(const char *channel, const char *payload),
                  void (*on_state)(bool connected))
{
    L.conninfo = conninfo;
    L.on_event = on_event;
    L.on_state = on_state;
    L.listen_sql = listen_sql;
    atomic_store(&L.stop, false);
    L.started = pthread_create(&L.thread, NULL, run, NULL) == 0;
    return L.started;
}

void listen_stop(void)
{
    if (!L.started) return;
    atomic_store(&L.stop, true);
    pthread_join(L.thread, NULL);
    L.started = false;
}
