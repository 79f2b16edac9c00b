"""Settings and the error tree: imported by everything, importing nothing of ours."""
