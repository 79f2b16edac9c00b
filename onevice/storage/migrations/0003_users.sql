-- Users as OneVice knows them: created on first sight of their token, updated
-- from each newer token; preferences are theirs to change.
CREATE TABLE users (
    id                      text PRIMARY KEY,
    org_id                  text NOT NULL,
    email                   text,
    role                    text NOT NULL,
    permissions             jsonb NOT NULL DEFAULT '[]',
    data_sensitivity_level  integer NOT NULL,
    preferences             jsonb NOT NULL DEFAULT '{}',
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    last_login              timestamptz
);
