-- Where a project's record comes from: the company's own systems, or a
-- generator (synthetic data is labelled as such wherever it is shown).
ALTER TABLE projects ADD COLUMN source text NOT NULL DEFAULT 'company';
