"""Fixtures live in ``fix_*.py`` modules, loaded as plugins from pyproject.toml."""
