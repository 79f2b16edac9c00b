-- The production company's projects, their teams and documents: the system of
-- record. Reads go through ProjectStore, which applies the access policy.
CREATE TABLE projects (
    id               text PRIMARY KEY,
    org_id           text NOT NULL,
    name             text NOT NULL,
    type             text NOT NULL,
    status           text NOT NULL,
    client           text,
    union_status     text,
    budget_amount    bigint NOT NULL,
    budget_approved  boolean NOT NULL DEFAULT false,
    budget_lines     jsonb NOT NULL DEFAULT '{}',
    timeline         jsonb NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX projects_org ON projects (org_id, created_at);

-- Who works on a project; a member with a user id is "assigned" to it.
CREATE TABLE project_members (
    project_id  text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    position    text NOT NULL,
    name        text NOT NULL,
    user_id     text,
    PRIMARY KEY (project_id, position, name)
);

CREATE INDEX project_members_user ON project_members (user_id);

CREATE TABLE documents (
    id          text PRIMARY KEY,
    project_id  text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    category    text NOT NULL,
    title       text NOT NULL,
    summary     text NOT NULL DEFAULT '',
    content     text NOT NULL DEFAULT ''
);

CREATE INDEX documents_project ON documents (project_id);
