/* Retention: deletes expired checkpoints in the background, a bounded batch per statement. */
#include "retention.h"

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "db/checkpoints.h"
#include "log.h"

#define BATCH 100 /* threads per statement: each holds their row locks briefly */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool started, stop;
    int interval_ms;
} R = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* Waits interval_ms or until stopped; false when stopped. */
static bool pause_for(int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&R.mu);
    while (!R.stop && pthread_cond_timedwait(&R.cv, &R.mu, &until) == 0)
        ;
    bool go_on = !R.stop;
    pthread_mutex_unlock(&R.mu);
    return go_on;
}

static void *sweeper(void *arg)
{
    (void)arg;
    while (pause_for(R.interval_ms)) {
        enum db_qs qs;
        do
            qs = ckpt_db_expire(BATCH);
        while (qs == BATCH && !R.stop);
        if (qs < 0 && qs != DB_UNAVAILABLE)
            log_line(LOG_WARN, "deleting expired checkpoints failed", NULL);
    }
    return NULL;
}

void retention_start(int interval_ms)
{
    R.interval_ms = interval_ms;
    R.stop = false;
    R.started = pthread_create(&R.thread, NULL, sweeper, NULL) == 0;
}

void retention_stop(void)
{
    if (!R.started) return;
    pthread_mutex_lock(&R.mu);
    R.stop = true;
    pthread_cond_signal(&R.cv);
    pthread_mutex_unlock(&R.mu);
    pthread_join(R.thread, NULL);
    R.started = false;
}
