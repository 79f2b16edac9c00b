"""The worker tier: Celery tasks that run agents. Imports ``onevice`` only."""
