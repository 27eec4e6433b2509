-- Runs and their steps: the execution graph of an agent run, under a thread.
--
-- Ids are unique per org. A run copies its thread's user_id (which never changes) so the org-wide
-- list can page per user through an index. input, output, usage and error are the client's JSON
-- text, stored and returned verbatim; metadata is jsonb for containment filters.
-- Steps get a hierarchical path from counters bumped under the row lock of the run (top-level
-- steps) or of the parent step (children), so a path is assigned once and never reused.

CREATE TABLE runs (
    org_id uuid NOT NULL,
    id text NOT NULL,
    thread_id text NOT NULL,
    user_id text,
    n bigint GENERATED ALWAYS AS IDENTITY,
    parent_run_id text,
    name text,
    status text NOT NULL,
    input text,
    output text,
    error text,
    usage text,
    metadata jsonb NOT NULL DEFAULT '{}',
    version integer NOT NULL DEFAULT 1,
    step_count integer NOT NULL DEFAULT 0,
    top_step_count integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    ended_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, thread_id) REFERENCES threads (org_id, id) ON DELETE CASCADE
) WITH (fillfactor = 70);
CREATE UNIQUE INDEX runs_thread_n ON runs (org_id, thread_id, n);
CREATE UNIQUE INDEX runs_org_n ON runs (org_id, n);
CREATE INDEX runs_org_user_n ON runs (org_id, user_id, n);
-- What a restarted agent looks for: its runs waiting on something.
CREATE INDEX runs_org_status_n ON runs (org_id, status, n);
CREATE INDEX runs_metadata ON runs USING gin (metadata jsonb_path_ops);

CREATE TABLE steps (
    org_id uuid NOT NULL,
    id text NOT NULL,
    run_id text NOT NULL,
    thread_id text NOT NULL,
    n bigint GENERATED ALWAYS AS IDENTITY,
    parent_step_id text,
    depends_on text[] NOT NULL DEFAULT '{}',
    kind text NOT NULL,
    name text NOT NULL,
    status text NOT NULL,
    path text NOT NULL,
    depth integer NOT NULL,
    child_count integer NOT NULL DEFAULT 0,
    input text,
    output text,
    error text,
    metadata jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    ended_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, run_id) REFERENCES runs (org_id, id) ON DELETE CASCADE
) WITH (fillfactor = 70);
CREATE UNIQUE INDEX steps_run_n ON steps (org_id, run_id, n);
