"""Storage: PostgreSQL, the system of record. Every read takes a viewer."""
