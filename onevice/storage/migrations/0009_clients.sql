-- The company's clients: brands (commercials) and record labels (music videos).
CREATE TABLE clients (
    id      text PRIMARY KEY,
    org_id  text NOT NULL,
    name    text NOT NULL,
    kind    text NOT NULL CHECK (kind IN ('brand', 'label')),
    source  text NOT NULL DEFAULT 'company',
    UNIQUE (org_id, name)
);
