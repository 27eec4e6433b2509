-- The event log: an append-only, gap-free sequence of events per thread.
--
-- seq comes from threads.last_event_seq, bumped in the same statement as the insert (as messages
-- do with last_seq): the thread's row lock serialises appends, so seq order is commit order and
-- a reader tailing by seq never misses an event that commits later with a smaller seq.
-- data is the client's JSON text, stored and returned verbatim; nothing filters on it.

ALTER TABLE threads ADD COLUMN last_event_seq bigint NOT NULL DEFAULT 0;

CREATE TABLE events (
    org_id uuid NOT NULL,
    thread_id text NOT NULL,
    seq bigint NOT NULL,
    id text NOT NULL,
    type text NOT NULL,
    run_id text,
    step_id text,
    message_id text,
    data text NOT NULL,
    occurred_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, thread_id, seq),
    UNIQUE (org_id, thread_id, id),
    FOREIGN KEY (org_id, thread_id) REFERENCES threads (org_id, id) ON DELETE CASCADE
);
-- Each filter of GET .../events pages in seq order through an index of its own.
CREATE INDEX events_type ON events (org_id, thread_id, type, seq);
CREATE INDEX events_run ON events (org_id, thread_id, run_id, seq) WHERE run_id IS NOT NULL;
CREATE INDEX events_step ON events (org_id, thread_id, step_id, seq) WHERE step_id IS NOT NULL;
CREATE INDEX events_message ON events (org_id, thread_id, message_id, seq)
    WHERE message_id IS NOT NULL;
