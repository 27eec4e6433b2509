-- Bench data, written straight in SQL (psql -v org=UUID -v threads=N -v per_thread=N -v big=N):
-- threads t1..t<threads> with <per_thread> messages each, and thread `big` with <big> messages.
-- Message ids: s<thread>-<seq> and big-<seq>. The threads' counters are then set from the rows.
\set ON_ERROR_STOP on
BEGIN;
-- A throwaway database: skip the per-row foreign key checks while bulk loading.
SET LOCAL session_replication_role = replica;

INSERT INTO threads (org_id, id, title)
SELECT :'org', 't' || g, 'bench thread ' || g FROM generate_series(1, :threads) g;
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
COMMIT;

VACUUM ANALYZE;
-- Start the timed runs with no checkpoint of the bulk load pending.
CHECKPOINT;
