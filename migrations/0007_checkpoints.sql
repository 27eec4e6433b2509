-- LangGraph checkpoints (BaseCheckpointSaver's model): checkpoints per (thread, namespace, id), the
-- channel values they name stored once per (channel, version) as blobs, and pending writes per
-- (checkpoint, task, idx), which may arrive before their checkpoint.
--
-- Everything the saver serialises is stored as the client's own JSON text (a string token, with
-- its escapes), so NULs, lone surrogates and big numbers come back unchanged; metadata also gets
-- a jsonb copy, for filters, when it is JSON that jsonb can hold. Checkpoint ids are uuid6 and
-- sort by time in byte order: they compare under COLLATE "C".

-- A thread's checkpoints deleted up to this id stay deleted: later puts and writes for ids not
-- above it are ignored (a write landing after the delete must not bring the state back).
ALTER TABLE threads ADD COLUMN checkpoint_floor text COLLATE "C";
-- Retention: a thread whose checkpoints were put with a TTL keeps them until that long after its
-- last put; the service's sweeper then deletes them (as DELETE .../checkpoints does).
ALTER TABLE threads ADD COLUMN checkpoint_ttl_seconds integer;
ALTER TABLE threads ADD COLUMN checkpoint_expires_at timestamptz;
CREATE INDEX threads_checkpoint_expiry ON threads (checkpoint_expires_at)
    WHERE checkpoint_expires_at IS NOT NULL;

CREATE TABLE checkpoints (
    org_id uuid NOT NULL,
    thread_id text NOT NULL,
    checkpoint_ns text NOT NULL,
    checkpoint_id text COLLATE "C" NOT NULL,
    parent_checkpoint_id text,
    v integer NOT NULL,
    checkpoint text NOT NULL,
    channels text[] NOT NULL,
    versions text[] NOT NULL,
    metadata_type text NOT NULL,
    metadata_data text NOT NULL,
    metadata jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, thread_id, checkpoint_ns, checkpoint_id),
    FOREIGN KEY (org_id, thread_id) REFERENCES threads (org_id, id) ON DELETE CASCADE
);
-- Lists across an org's threads, newest first.
CREATE INDEX checkpoints_org_id ON checkpoints (org_id, checkpoint_id);

CREATE TABLE checkpoint_blobs (
    org_id uuid NOT NULL,
    thread_id text NOT NULL,
    checkpoint_ns text NOT NULL,
    channel text NOT NULL,
    version text NOT NULL,
    type text NOT NULL,
    data text,
    PRIMARY KEY (org_id, thread_id, checkpoint_ns, channel, version),
    FOREIGN KEY (org_id, thread_id) REFERENCES threads (org_id, id) ON DELETE CASCADE
);

CREATE TABLE checkpoint_writes (
    org_id uuid NOT NULL,
    thread_id text NOT NULL,
    checkpoint_ns text NOT NULL,
    checkpoint_id text COLLATE "C" NOT NULL,
    task_id text NOT NULL,
    idx integer NOT NULL,
    task_path text NOT NULL,
    channel text NOT NULL,
    type text NOT NULL,
    data text,
    PRIMARY KEY (org_id, thread_id, checkpoint_ns, checkpoint_id, task_id, idx),
    FOREIGN KEY (org_id, thread_id) REFERENCES threads (org_id, id) ON DELETE CASCADE
);
