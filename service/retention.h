/* Retention: a background thread that deletes the checkpoints of threads whose TTL ran out, in
 * bounded batches, so no client ever has to. */
#ifndef CONVSTORE_RETENTION_H
#define CONVSTORE_RETENTION_H

/* Sweeps every interval_ms (at once again while a batch comes back full). */
void retention_start(int interval_ms);
void retention_stop(void);

#endif
