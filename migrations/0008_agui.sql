-- AG-UI: messages learn tool calls and reasoning; message ids become unique per thread.
--
-- tool_calls is the client's JSON array text ([{id, type, function:{name, arguments}}]), stored
-- and returned verbatim like content; tool_call_id names the call a tool message answers.
-- AG-UI's message ids are only unique within a conversation, so two threads of one org may both
-- hold message "m1"; the new unique index also serves the lookups by (thread, id).

ALTER TABLE messages ADD COLUMN tool_calls text, ADD COLUMN tool_call_id text;
ALTER TABLE messages DROP CONSTRAINT messages_role_check, ADD CONSTRAINT messages_role_check
    CHECK (role IN ('system', 'developer', 'user', 'assistant', 'tool', 'reasoning', 'activity'));
CREATE UNIQUE INDEX messages_thread_id ON messages (org_id, thread_id, id);
ALTER TABLE messages DROP CONSTRAINT messages_org_id_id_key;

-- A thread's AG-UI side: ctx is the order-checking context of its event stream (the open run
-- and what is open in it, service/agui.c), state the document STATE_SNAPSHOT and STATE_DELTA
-- events build (JSON text; NULL until the first snapshot or delta).
CREATE TABLE agui_threads (
    org_id uuid NOT NULL,
    thread_id text NOT NULL,
    ctx text NOT NULL,
    state text,
    PRIMARY KEY (org_id, thread_id),
    FOREIGN KEY (org_id, thread_id) REFERENCES threads (org_id, id) ON DELETE CASCADE
);
