-- Artists and the labels they are signed to; a music video names its artist.
CREATE TABLE artists (
    id      text PRIMARY KEY,
    org_id  text NOT NULL,
    name    text NOT NULL,
    label   text NOT NULL,
    genre   text NOT NULL,
    source  text NOT NULL DEFAULT 'company'
);

ALTER TABLE projects ADD COLUMN artist text;
