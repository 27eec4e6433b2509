-- Idempotency-Key: the first response to a POST, replayed for retries within 24 hours.
-- status is NULL while the first request is still running; such a claim is abandoned (and can
-- be taken over) after a minute, so a crashed instance cannot block a key for a day.
CREATE TABLE idempotency_keys (
    org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    key text NOT NULL,
    request_hash bytea NOT NULL, -- method, path, query, caller's user scope and body
    status integer,
    content_type text,
    etag bigint, -- the reply's ETag version, when it had one
    body text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
