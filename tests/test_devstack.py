"""`onevice dev` (what `make dev` runs): start, refuse a second copy, stop cleanly.

The tests share one running stack and run in file order; the last one stops it.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from onevice.services.access import ROLES
from onevice.services.embedded import free_port
from tests.fix_stack import ROOT

BANNER_TIMEOUT = 120
STOP_TIMEOUT = 60


class DevStack:
    """A running `onevice dev` and what it printed."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None
        self.banner = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}-{self.port}.log"

    async def start(self) -> asyncio.subprocess.Process:
        """Start `onevice dev`: stdout piped, the stack's logs to a file.

        The logs go to a file so that a full pipe can never stall the stack.
        """
        with self.log_path.open("ab") as log:
            return await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "onevice.cli",
                "dev",
                cwd=ROOT,
                env=dev_environment(self.data_dir, self.port),
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
            )

    async def read_banner(self) -> None:
        """Read stdout until the last line of the ready banner."""
        assert self.process is not None and self.process.stdout is not None
        async with asyncio.timeout(BANNER_TIMEOUT):
            while "Press Ctrl-C" not in self.banner:
                line = await self.process.stdout.readline()
                if not line:
                    raise AssertionError(f"dev stack ended early:\n{self.banner}")
                self.banner += line.decode()

    def token(self, role: str) -> str:
        lines = self.banner.splitlines()
        return lines[lines.index(f"  {role}:") + 1].strip()


def dev_environment(data_dir: Path, port: int) -> dict[str, str]:
    """The caller's environment without servers, agents or a data dir of its own."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "ONEVICE_AGENT_MODULES")
    }
    return inherited | {"ONEVICE_DATA_DIR": str(data_dir), "PORT": str(port)}


@pytest.fixture(scope="module")
async def dev(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DevStack]:
    """One `onevice dev` for the module (killed at the end if a test failed)."""
    data_dir = tmp_path_factory.mktemp("dev")
    data_dir.chmod(0o755)
    stack = DevStack(data_dir)
    stack.process = await stack.start()
    await stack.read_banner()
    yield stack
    if stack.process.returncode is None:
        stack.process.kill()
        await stack.process.wait()


async def test_banner_gives_the_url_and_a_token_per_role(dev: DevStack) -> None:
    """The banner names the base URL and one access token for every role."""
    assert f"OneVice is running at {dev.url}" in dev.banner
    assert all(dev.token(role).count(".") == 2 for role in ROLES)


async def test_the_stack_is_healthy(dev: DevStack) -> None:
    """Once the banner is out, /health reports every service healthy."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{dev.url}/health") as response,
    ):
        body = await response.json()
    assert (response.status, body["status"]) == (200, "healthy")


async def test_flower_answers_at_the_printed_address(dev: DevStack) -> None:
    """The banner's Flower address serves Flower's dashboard."""
    flower = re.search(r"Flower\s+(http://\S+)", dev.banner)
    assert flower is not None
    async with asyncio.timeout(30), aiohttp.ClientSession() as session:
        while True:  # Flower may still be starting when the web tier is up
            try:
                async with session.get(f"{flower.group(1)}/workers") as response:
                    if response.status == 200:
                        assert "Flower" in await response.text()
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.2)


async def test_a_printed_token_is_accepted(dev: DevStack) -> None:
    """A token from the banner authenticates (a missing query is 404, not 401)."""
    headers = {"Authorization": f"Bearer {dev.token('Director')}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{dev.url}/queries/query_x", headers=headers) as r,
    ):
        body = await r.json()
    assert (r.status, body["error"]["code"]) == (404, "NOT_FOUND")


async def test_a_second_dev_stack_says_one_is_running(dev: DevStack) -> None:
    """A second `onevice dev` on the same data dir exits 1 with a clear reason."""
    second = DevStack(dev.data_dir)
    process = await second.start()
    async with asyncio.timeout(STOP_TIMEOUT):
        await process.communicate()
    assert process.returncode == 1
    assert "already running" in second.log_path.read_text()


async def test_the_autoscaler_runs_as_a_dry_run(dev: DevStack) -> None:
    """The dev stack's autoscaler measures the queue and only logs its decision."""
    assert "Autoscaler dry run" in dev.banner
    decisions: list[str] = []
    async with asyncio.timeout(60):
        while not decisions:
            log = dev.log_path.read_text(errors="replace")
            decisions = [ln for ln in log.splitlines() if "autoscale_decided" in ln]
            await asyncio.sleep(0.2)
    assert "dry_run=True" in decisions[0]
    assert "waiting=0" in decisions[0]


async def test_sigint_stops_every_child(dev: DevStack) -> None:
    """Ctrl-C stops the stack: exit 0, its servers gone, its port free."""
    assert dev.process is not None
    dev.process.send_signal(signal.SIGINT)
    async with asyncio.timeout(STOP_TIMEOUT):
        await dev.process.communicate()
    log = dev.log_path.read_text(errors="replace")
    server_pids = [int(pid) for pid in re.findall(r"pid (\d+)\)", log)]
    assert dev.process.returncode == 0
    assert len(server_pids) == 2
    assert not [pid for pid in server_pids if Path(f"/proc/{pid}").exists()]
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as session:
            await session.get(f"{dev.url}/health")
