"""A stack of its own with the seeded company and film data, for the agents.

The session's main stack has no company data (other tests count and create
projects there), so the agents are tried on an isolated database and Redis
database, seeded once per session exactly as ``onevice seed`` seeds: the film
data into the graph and the synthetic company (seed 7) into PostgreSQL and the
graph. Tests compute what the right answers are from ``company`` and from the
film database, independently of the agents.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from onevice.base.settings import Settings
from onevice.data import seed
from onevice.data.company import Company
from onevice.storage.db import open_pool
from tests.fix_services import Isolate
from tests.fix_stack import StartWeb, User, WebServer, WorkerProcess


@dataclasses.dataclass(frozen=True)
class CompanyStack:
    """A web server and a worker over the seeded stores."""

    web: WebServer
    settings: Settings
    company: Company

    async def ask(
        self, user: User, slug: str, body: dict[str, Any], *, status: int = 200
    ) -> dict[str, Any]:
        """POST a query to ``/agents/{slug}/query`` and wait for its answer."""
        async with self.web.session.post(
            f"/agents/{slug}/query", json=body, headers=user.headers
        ) as response:
            answer: dict[str, Any] = await response.json()
            assert response.status == status, answer
            return answer


@pytest.fixture(scope="session")
async def company_stack(
    isolate: Isolate, start_web: StartWeb, session_dir: Path
) -> AsyncIterator[CompanyStack]:
    settings = await isolate()
    # In a thread with a loop of its own, as `onevice seed` runs: reading the
    # film database would block this loop.
    await asyncio.to_thread(asyncio.run, seed.seed(settings))
    worker = WorkerProcess(settings, session_dir / "worker-agents.log")
    async with open_pool(settings.require_database_url()) as pool:
        await worker.start(pool)
    web = await start_web(settings)
    try:
        yield CompanyStack(web, settings, seed.company())
    finally:
        await asyncio.to_thread(worker.stop)
