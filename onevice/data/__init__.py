"""Data for the stores: importers of real data, generators of synthetic data."""
