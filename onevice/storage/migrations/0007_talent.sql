-- The people the company hires: directors, crew, performers. Union membership,
-- what they specialise in, their day rate, and when they are already booked.
CREATE TABLE talent (
    id               text PRIMARY KEY,
    org_id           text NOT NULL,
    name             text NOT NULL,
    role             text NOT NULL,
    union_membership text,
    specializations  jsonb NOT NULL DEFAULT '[]',
    day_rate         integer NOT NULL,
    budget_min       integer,
    budget_max       integer,
    source           text NOT NULL DEFAULT 'company'
);

CREATE INDEX talent_org_role ON talent (org_id, role);

CREATE TABLE talent_bookings (
    talent_id   text NOT NULL REFERENCES talent (id) ON DELETE CASCADE,
    starts      date NOT NULL,
    ends        date NOT NULL CHECK (ends >= starts),
    project_id  text,
    PRIMARY KEY (talent_id, starts)
);
