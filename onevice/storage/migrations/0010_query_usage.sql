-- Who wrote each answer: the built-in writer or a model, with tokens and cost.
ALTER TABLE queries ADD COLUMN llm_usage jsonb;
