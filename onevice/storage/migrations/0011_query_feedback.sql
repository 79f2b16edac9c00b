-- A user's rating of one of their own finished queries, once per query.
CREATE TABLE query_feedback (
    query_id    text NOT NULL REFERENCES queries (id) ON DELETE CASCADE,
    user_sub    text NOT NULL,
    org_id      text NOT NULL,
    rating      smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment     text CHECK (char_length(comment) <= 2000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (query_id, user_sub)
);

CREATE INDEX query_feedback_org_created ON query_feedback (org_id, created_at);

-- The dashboard counts an organisation's queries over a recent window.
CREATE INDEX queries_org_created ON queries (org_id, created_at);
