-- Agent queries: one row per submission, the system of record for its state.
CREATE TABLE queries (
    id               text PRIMARY KEY,
    owner_sub        text NOT NULL,
    org_id           text NOT NULL,
    viewer           jsonb NOT NULL,
    agent            text NOT NULL,
    request          jsonb NOT NULL,
    request_hash     text NOT NULL,
    idempotency_key  text,
    status           text NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
    attempts         integer NOT NULL DEFAULT 0,
    result           jsonb,
    error            jsonb,
    total_chunks     integer,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    processing_time_ms integer
);

CREATE UNIQUE INDEX queries_idempotency
    ON queries (owner_sub, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE INDEX queries_owner_open
    ON queries (owner_sub)
    WHERE status IN ('queued', 'running');

CREATE INDEX queries_created_at ON queries (created_at);
