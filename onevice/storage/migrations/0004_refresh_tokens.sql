-- Refresh tokens: opaque to clients, stored only as a hash. Each refresh spends
-- a token and issues the next of its family; a spent token presented again
-- means it was stolen, and the whole family is revoked.
CREATE TABLE refresh_tokens (
    token_hash  text PRIMARY KEY,
    family_id   text NOT NULL,
    user_id     text NOT NULL,
    org_id      text NOT NULL,
    viewer      jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    spent_at    timestamptz,
    revoked_at  timestamptz
);

CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
