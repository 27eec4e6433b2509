-- Idempotency-Key, crash-safe and scoped per user.
-- A reply is stored in the same transaction as the write it describes, under an advisory lock
-- held for the request: there are no more pending claims (status NULL) to abandon or expire.
-- A user key's keys live in a scope of their own (its user_id), so users of one org can neither
-- see nor block each other's keys; admin and service keys share the org's scope ('').
DELETE FROM idempotency_keys WHERE status IS NULL;
ALTER TABLE idempotency_keys ADD COLUMN scope text NOT NULL DEFAULT '';
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (org_id, scope, key);
-- Replies to POST /v1/keys were stored with the new key's secret: no secret stays in clear.
UPDATE idempotency_keys SET body = regexp_replace(body, '"key":"[^"]*"', '"key":null')
WHERE body LIKE '%"object":"api_key"%';
