-- The runs bench data (included by seed.sql inside its transaction; psql -v org=UUID -v threads=N):
--
-- * thread `rt` with run `big-run`, completed: 1,000 steps in a tree of 4 levels (depth 0..3, depth
--   being the number of ancestors): 10 top-level steps, each with 3 children, each with 4, each with
--   7 leaves (10 + 30 + 120 + 840). depends_on edges between siblings: each top-level, depth-1 and
--   depth-2 step depends on its previous sibling (they run one after the other), and the 7th leaf
--   of each depth-2 step depends on leaves 1..6 (which run side by side): 9 + 20 + 90 + 720 = 839
--   edges, besides the 990 child edges. Every step ran and completed, with a schedule that follows
--   those edges (leaf durations 80..720 ms, a parent spans its children), so the summary's timeline
--   and critical path have real work to do. Small JSON input and output on every step.
-- * what the service would have written had a client built that run through the REST API: the
--   path (the parent's path + '.' + k, k 1-based in creation order), depth, child_count,
--   runs.step_count and top_step_count, creation order (steps.n) by start time, created_at =
--   started_at (created running), and the thread's log: run.created, step.created and
--   step.completed for every step, and run.completed, 2,002 events with the data the service puts
--   in them (routes/runlog.c, event_data), in time order.
-- * threads rt1..rt<threads>, each with run r<i>, running, and its run.created event at seq 1:
--   the targets of the step appends (one run per thread, so no single row is hot).
--
-- Step and event ids are UUIDv7-shaped like the service's (time first), derived from the path.

-- The tree, its schedule in ms from the run's start, bottom up: leaves 1..6 start 1..6 ms after
-- their parent, leaf 7 when the last of them has ended (+1 ms); siblings at depth 0..2 run one after
-- another, 1 ms apart, the first 1 ms after its parent's start; a parent ends 1 ms after its last
-- child.
CREATE TEMP TABLE bench_leaf ON COMMIT DROP AS
SELECT t, a, b, c, 80 + ((t * 7 + a * 13 + b * 29 + c * 31) % 17) * 40 AS dur
FROM generate_series(1, 10) t, generate_series(1, 3) a, generate_series(1, 4) b, generate_series(1, 7) c;

CREATE TEMP TABLE bench_l2 ON COMMIT DROP AS
SELECT t, a, b, w, w + 1 + d7 + 1 AS dur
FROM (SELECT t, a, b, max(c + dur) FILTER (WHERE c <= 6) AS w, max(dur) FILTER (WHERE c = 7) AS d7
      FROM bench_leaf GROUP BY t, a, b) x;
ALTER TABLE bench_l2 ADD COLUMN off int;
UPDATE bench_l2 l SET off = x.off FROM (
    SELECT t, a, b, 1 + sum(dur + 1) OVER (PARTITION BY t, a ORDER BY b) - (dur + 1) AS off FROM bench_l2) x
WHERE (l.t, l.a, l.b) = (x.t, x.a, x.b);

CREATE TEMP TABLE bench_l1 ON COMMIT DROP AS
SELECT t, a, max(off + dur) + 1 AS dur FROM bench_l2 GROUP BY t, a;
ALTER TABLE bench_l1 ADD COLUMN off int;
UPDATE bench_l1 l SET off = x.off FROM (
    SELECT t, a, 1 + sum(dur + 1) OVER (PARTITION BY t ORDER BY a) - (dur + 1) AS off FROM bench_l1) x
WHERE (l.t, l.a) = (x.t, x.a);

CREATE TEMP TABLE bench_l0 ON COMMIT DROP AS
SELECT t, max(off + dur) + 1 AS dur FROM bench_l1 GROUP BY t;
ALTER TABLE bench_l0 ADD COLUMN off int;
UPDATE bench_l0 l SET off = x.off FROM (
    SELECT t, 1 + sum(dur + 1) OVER (ORDER BY t) - (dur + 1) AS off FROM bench_l0) x
WHERE l.t = x.t;

-- Every step: its path, parent's path, depth, start and duration (ms from the run's start), kind,
-- name, and the paths of the siblings it depends on.
CREATE TEMP TABLE bench_step ON COMMIT DROP AS
SELECT t::text AS path, NULL::text AS parent, 0 AS depth, l0.off AS start, l0.dur, 3 AS children,
       'node' AS kind, 'task ' || t AS name,
       CASE WHEN t > 1 THEN ARRAY[(t - 1)::text] ELSE '{}' END AS deps
FROM bench_l0 l0
UNION ALL
SELECT t || '.' || a, t::text, 1, l0.off + l1.off, l1.dur, 4,
       CASE WHEN a = 1 THEN 'thinking' ELSE 'node' END, CASE WHEN a = 1 THEN 'plan' ELSE 'subtask ' || a END,
       CASE WHEN a > 1 THEN ARRAY[t || '.' || (a - 1)] ELSE '{}' END
FROM bench_l0 l0 JOIN bench_l1 l1 USING (t)
UNION ALL
SELECT t || '.' || a || '.' || b, t || '.' || a, 2, l0.off + l1.off + l2.off, l2.dur, 7,
       'llm', 'reason ' || b,
       CASE WHEN b > 1 THEN ARRAY[t || '.' || a || '.' || (b - 1)] ELSE '{}' END
FROM bench_l0 l0 JOIN bench_l1 l1 USING (t) JOIN bench_l2 l2 USING (t, a)
UNION ALL
SELECT t || '.' || a || '.' || b || '.' || c, t || '.' || a || '.' || b, 3,
       l0.off + l1.off + l2.off + CASE WHEN c <= 6 THEN c ELSE l2.w + 1 END, lf.dur, 0,
       CASE WHEN c = 7 THEN 'llm' WHEN c % 2 = 1 THEN 'tool' ELSE 'retrieval' END,
       CASE WHEN c = 7 THEN 'summarize' WHEN c % 2 = 1 THEN 'call tool ' || c ELSE 'search ' || c END,
       CASE WHEN c = 7 THEN ARRAY(SELECT t || '.' || a || '.' || b || '.' || k FROM generate_series(1, 6) k)
            ELSE '{}' END
FROM bench_l0 l0 JOIN bench_l1 l1 USING (t) JOIN bench_l2 l2 USING (t, a) JOIN bench_leaf lf USING (t, a, b);

-- Absolute times (the run started two hours ago) and ids: a UUIDv7 layout, the step's start in ms,
-- then bits from its path.
CREATE TEMP TABLE bench_time ON COMMIT DROP AS
SELECT date_trunc('second', now()) - interval '2 hours' AS t0;
CREATE FUNCTION pg_temp.bench_id(kind text, path text, at timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT (lpad(to_hex((extract(epoch FROM at) * 1000)::int8), 12, '0') || '7'
            || substr(md5(kind || path), 1, 3) || '8' || substr(md5(kind || path), 4, 15))::uuid::text
$$;
CREATE TEMP TABLE bench_row ON COMMIT DROP AS
SELECT s.*, t0 + s.start * interval '1 ms' AS started_at, t0 + (s.start + s.dur) * interval '1 ms' AS ended_at
FROM bench_step s, bench_time;
ALTER TABLE bench_row ADD COLUMN id text;
UPDATE bench_row SET id = pg_temp.bench_id('step', path, started_at);

INSERT INTO threads (org_id, id, title) VALUES (:'org', 'rt', 'bench thread with a run of 1,000 steps');
INSERT INTO runs (org_id, id, thread_id, name, status, input, output, version, step_count, top_step_count,
                  created_at, started_at, ended_at, updated_at)
SELECT :'org', 'big-run', 'rt', 'big run', 'completed', '{"task":"bench: a run of 1,000 steps"}',
       '{"answer":"the quick brown fox jumps over the lazy dog"}', 2, 1000, 10,
       t0, t0, t0 + (max(s.start + s.dur) + 1) * interval '1 ms', t0 + (max(s.start + s.dur) + 1) * interval '1 ms'
FROM bench_step s, bench_time GROUP BY t0;

-- In creation order: a step is created when it starts, after its parent and what it depends on.
INSERT INTO steps (org_id, id, run_id, thread_id, parent_step_id, depends_on, kind, name, status, path,
                   depth, child_count, input, output, created_at, started_at, ended_at, updated_at)
SELECT :'org', r.id, 'big-run', 'rt', p.id,
       ARRAY(SELECT d.id FROM unnest(r.deps) WITH ORDINALITY x(path, k) JOIN bench_row d USING (path) ORDER BY x.k),
       r.kind, r.name, 'completed', r.path, r.depth, r.children,
       '{"prompt":"step ' || r.path || ' of big-run: the quick brown fox jumps over the lazy dog"}',
       '{"result":"done ' || r.path || ': the quick brown fox jumps over the lazy dog","tokens":' || (r.dur / 4) || '}',
       r.started_at, r.started_at, r.ended_at, r.ended_at
FROM bench_row r LEFT JOIN bench_row p ON p.path = r.parent
ORDER BY r.started_at, r.depth;

-- The log, as the REST calls would have written it: data members in the service's order.
INSERT INTO events (org_id, thread_id, seq, id, type, run_id, step_id, data, created_at)
SELECT :'org', 'rt', row_number() OVER (ORDER BY at, ord, n), pg_temp.bench_id(type, coalesce(step, 'run'), at),
       type, 'big-run', step, data, at
FROM (SELECT r.created_at AS at, 0 AS ord, 0::int8 AS n, 'run.created' AS type, NULL AS step,
             '{"status":"running","name":"big run","input":' || r.input || '}' AS data
      FROM runs r WHERE r.org_id = :'org' AND r.id = 'big-run'
      UNION ALL
      SELECT s.created_at, 2, s.n, 'step.created', s.id,
             '{"kind":' || to_json(s.kind) || ',"name":' || to_json(s.name) || ',"status":"running","path":'
             || to_json(s.path) || ',"depth":' || s.depth || ',"depends_on":' || array_to_json(s.depends_on)
             || coalesce(',"parent_step_id":' || to_json(s.parent_step_id), '') || ',"input":' || s.input || '}'
      FROM steps s WHERE s.org_id = :'org' AND s.run_id = 'big-run'
      UNION ALL
      SELECT s.ended_at, 1, s.n, 'step.completed', s.id, '{"status":"completed","output":' || s.output || '}'
      FROM steps s WHERE s.org_id = :'org' AND s.run_id = 'big-run'
      UNION ALL
      SELECT r.ended_at, 3, 0, 'run.completed', NULL, '{"status":"completed","output":' || r.output || '}'
      FROM runs r WHERE r.org_id = :'org' AND r.id = 'big-run') e;
UPDATE threads SET last_event_seq = 2 * 1000 + 2 WHERE org_id = :'org' AND id = 'rt';

-- The step appends' targets: run r<i> running in thread rt<i>, created through the API a minute ago.
INSERT INTO threads (org_id, id, title)
SELECT :'org', 'rt' || g, 'bench thread with a running run ' || g FROM generate_series(1, :threads) g;
INSERT INTO runs (org_id, id, thread_id, status, created_at, started_at, updated_at)
SELECT :'org', 'r' || g, 'rt' || g, 'running', now() - interval '1 minute', now() - interval '1 minute',
       now() - interval '1 minute'
FROM generate_series(1, :threads) g;
INSERT INTO events (org_id, thread_id, seq, id, type, run_id, data, created_at)
SELECT :'org', 'rt' || g, 1, pg_temp.bench_id('run', g::text, now() - interval '1 minute'), 'run.created',
       'r' || g, '{"status":"running"}', now() - interval '1 minute'
FROM generate_series(1, :threads) g;
UPDATE threads SET last_event_seq = 1 WHERE org_id = :'org' AND id ~ '^rt[0-9]+$';
