-- Orgs, API keys and threads: the tenancy foundation.
-- Every row carries org_id and every query filters on it. Lists page by `n`, an insertion-ordered
-- surrogate key, through an index that matches each ORDER BY.

CREATE TABLE orgs (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id uuid PRIMARY KEY,
    org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    n bigint GENERATED ALWAYS AS IDENTITY,
    role text NOT NULL CHECK (role IN ('admin', 'service', 'user')),
    user_id text,
    name text,
    prefix text NOT NULL,
    key_hash bytea NOT NULL UNIQUE, -- SHA-256 of the whole key; the key itself is never stored
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    CHECK ((role = 'user') = (user_id IS NOT NULL))
);
CREATE UNIQUE INDEX api_keys_org_n ON api_keys (org_id, n);

-- fillfactor leaves room on each page so counter updates (message_count, seqs) stay HOT.
CREATE TABLE threads (
    org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id text NOT NULL,
    n bigint GENERATED ALWAYS AS IDENTITY,
    user_id text,
    title text,
    metadata jsonb NOT NULL DEFAULT '{}',
    message_count bigint NOT NULL DEFAULT 0,
    last_message_at timestamptz,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, id),
    -- The 16 KiB limit is the service's (compact JSON size, checked on create and after merges).
    CONSTRAINT metadata_object CHECK (jsonb_typeof(metadata) = 'object')
) WITH (fillfactor = 70);
CREATE UNIQUE INDEX threads_org_n ON threads (org_id, n);
CREATE INDEX threads_org_user_n ON threads (org_id, user_id, n);
CREATE INDEX threads_metadata ON threads USING gin (metadata jsonb_path_ops);
