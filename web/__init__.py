"""The web tier: REST, WebSocket and SSE over aiohttp. Imports ``onevice`` only."""
