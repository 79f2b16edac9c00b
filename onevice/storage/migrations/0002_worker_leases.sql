-- Workers announce themselves here every few seconds; a running query names the
-- worker that holds it, and a query whose worker went silent may be claimed again.
CREATE TABLE workers (
    name        text PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    seen_at     timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE queries ADD COLUMN worker text;

CREATE INDEX queries_running ON queries (worker) WHERE status = 'running';
