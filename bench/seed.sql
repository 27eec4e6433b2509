-- Bench data, written straight in SQL (psql -v org=UUID -v threads=N -v per_thread=N -v big=N
-- -v ev_threads=N -v ev_per_thread=N -v seed_messages=BOOL -v seed_events=BOOL -v seed_runs=BOOL):
-- threads t1..t<threads> and q1..q<threads>, always; with seed_messages, <per_thread> messages in
-- each of t1..t<threads> (and no events: the event appends start them at seq 1) and thread `big`
-- with <big> messages; with seed_events, threads ev1..ev<ev_threads> with <ev_per_thread> events
-- each (the event reads); with seed_runs, thread `rt` with run `big-run` (1,000 steps, its events)
-- and threads rt1..rt<threads> with one running run r<i> each (the step appends). The q threads
-- stay empty (appends to threads that no stream follows, while the SSE fan-out holds t1..t<threads>).
-- Message ids: s<thread>-<seq> and big-<seq>; event ids ev<thread>-<seq>. The threads' counters are
-- then set from the rows.
\set ON_ERROR_STOP on
BEGIN;
-- A throwaway database: skip the per-row foreign key checks while bulk loading.
SET LOCAL session_replication_role = replica;

INSERT INTO threads (org_id, id, title)
SELECT :'org', 't' || g, 'bench thread ' || g FROM generate_series(1, :threads) g;
INSERT INTO threads (org_id, id, title)
SELECT :'org', 'q' || g, 'bench thread without streams ' || g FROM generate_series(1, :threads) g;

\if :seed_messages
INSERT INTO threads (org_id, id, title) VALUES (:'org', 'big', 'bench thread with many messages');

INSERT INTO messages (org_id, thread_id, seq, id, role, content, status)
SELECT :'org', 't' || t, s, 's' || t || '-' || s,
       CASE WHEN s % 2 = 1 THEN 'user' ELSE 'assistant' END,
       to_json('message ' || s || ' of thread t' || t || ': the quick brown fox jumps over the lazy dog')::text,
       'completed'
FROM generate_series(1, :threads) t, generate_series(1, :per_thread) s;

INSERT INTO messages (org_id, thread_id, seq, id, role, content, status)
SELECT :'org', 'big', s, 'big-' || s,
       CASE WHEN s % 2 = 1 THEN 'user' ELSE 'assistant' END,
       to_json('message ' || s || ' of thread big: the quick brown fox jumps over the lazy dog')::text,
       'completed'
FROM generate_series(1, :big) s;

UPDATE threads t SET last_seq = m.last_seq, message_count = m.n, last_message_at = now()
FROM (SELECT thread_id, max(seq) AS last_seq, count(*) AS n FROM messages
      WHERE org_id = :'org' GROUP BY thread_id) m
WHERE t.org_id = :'org' AND t.id = m.thread_id;
\endif

\if :seed_events
-- Events like an agent run's log: mostly streamed text deltas, some run and tool events, a run id
-- per 100 events, and a small JSON payload each.
INSERT INTO threads (org_id, id, title)
SELECT :'org', 'ev' || g, 'bench thread with events ' || g FROM generate_series(1, :ev_threads) g;
INSERT INTO events (org_id, thread_id, seq, id, type, run_id, data)
SELECT :'org', 'ev' || t, s, 'ev' || t || '-' || s,
       CASE WHEN s % 100 = 1 THEN 'run.started' WHEN s % 100 = 0 THEN 'run.finished'
            WHEN s % 10 = 5 THEN 'tool.call' ELSE 'text.delta' END,
       'run-' || ((s - 1) / 100 + 1),
       '{"n":' || s || ',"delta":"the quick brown fox jumps over the lazy dog"}'
FROM generate_series(1, :ev_threads) t, generate_series(1, :ev_per_thread) s;
UPDATE threads t SET last_event_seq = e.last_seq
FROM (SELECT thread_id, max(seq) AS last_seq FROM events WHERE org_id = :'org' GROUP BY thread_id) e
WHERE t.org_id = :'org' AND t.id = e.thread_id;
\endif

\if :seed_runs
\ir seed_runs.sql
\endif
COMMIT;

VACUUM ANALYZE;
-- Start the timed runs with no checkpoint of the bulk load pending.
CHECKPOINT;
