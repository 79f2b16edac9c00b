"""OneVice: AI business intelligence for music-video and commercial production.

The core package. Entry points live beside it: ``web`` (the aiohttp tier) and
``workers`` (the Celery tier); both import from here and never from each other.
"""

__version__ = "0.1.0"
