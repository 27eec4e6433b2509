-- Messages: an append-only, gap-free sequence per thread, plus streamed deltas.
--
-- seq comes from threads.last_seq, bumped in the same statement as the insert: the row lock on
-- the thread serialises appends, so seq order is commit order and never has gaps or reuse.
-- content and metadata are the client's JSON text, stored as text: reads embed them verbatim
-- (no parse or re-serialisation), and nothing filters on them.

ALTER TABLE threads ADD COLUMN last_seq bigint NOT NULL DEFAULT 0;

CREATE TABLE messages (
    org_id uuid NOT NULL,
    thread_id text NOT NULL,
    seq bigint NOT NULL,
    id text NOT NULL,
    role text NOT NULL CHECK (role IN ('system', 'developer', 'user', 'assistant', 'tool')),
    content text NOT NULL,
    name text,
    status text NOT NULL CHECK (status IN ('in_progress', 'completed', 'incomplete')),
    run_id text,
    metadata text NOT NULL DEFAULT '{}',
    delta_count integer NOT NULL DEFAULT 0, -- streamed appends not yet folded into content
    delta_bytes bigint NOT NULL DEFAULT 0,  -- their size as JSON text, for the content limit
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, thread_id, seq),
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, thread_id) REFERENCES threads (org_id, id) ON DELETE CASCADE
);
-- "messages of this run" is the one filter common enough to deserve its own index.
CREATE INDEX messages_run ON messages (org_id, thread_id, run_id, seq) WHERE run_id IS NOT NULL;

-- Streaming: PATCH {append} adds a row here instead of rewriting a growing content value, so
-- each append costs the same however long the message is. Reads concatenate the pending deltas;
-- completing the message folds them into content once.
CREATE TABLE message_deltas (
    org_id uuid NOT NULL,
    thread_id text NOT NULL,
    seq bigint NOT NULL,
    n integer NOT NULL,
    delta text NOT NULL,
    PRIMARY KEY (org_id, thread_id, seq, n),
    FOREIGN KEY (org_id, thread_id, seq) REFERENCES messages (org_id, thread_id, seq)
        ON DELETE CASCADE
);
