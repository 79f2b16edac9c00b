"""Real Neo4j for the graph contract tests: Community 5.26, embedded in a small
Java launcher (``tests/neo4j_launcher``), built with Maven on first use.

Without Java or Maven the Neo4j tests skip with the reason, except in CI
(``CI=true``), where they must run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from onevice.services.embedded import free_port

LAUNCHER = Path(__file__).resolve().parent / "neo4j_launcher"
JAR = LAUNCHER / "target" / "neo4j-launcher-1.0.jar"
#: What Neo4j needs opened on Java 17.
ADD_OPENS = [
    f"--add-opens=java.base/{package}=ALL-UNNAMED"
    for package in (
        "java.nio",
        "java.lang",
        "java.io",
        "java.util",
        "java.util.concurrent",
        "sun.nio.ch",
    )
]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"Neo4j tests must run in CI: {reason}")
    pytest.skip(f"Neo4j tests need Java 17 and Maven: {reason}")


def _build() -> None:
    sources = [LAUNCHER / "pom.xml", *LAUNCHER.rglob("*.java")]
    if JAR.exists() and all(s.stat().st_mtime < JAR.stat().st_mtime for s in sources):
        return
    result = subprocess.run(
        ["mvn", "-q", "-B", "package", "-DskipTests"],
        cwd=LAUNCHER,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        message = f"the launcher did not build:\n{result.stdout[-2000:]}"
        if "PYTEST_CURRENT_TEST" not in os.environ:
            raise RuntimeError(message)
        _unavailable(message)


@contextlib.contextmanager
def running_neo4j() -> Iterator[str]:
    """Build the launcher if needed, start Neo4j, yield its Bolt URI, stop it."""
    _build()
    home = Path(tempfile.mkdtemp(prefix="onevice-neo4j-"))
    port = free_port()
    classpath = f"{JAR}{os.pathsep}{JAR.parent / 'lib' / '*'}"
    argv = ["java", *ADD_OPENS, "-Xmx512m", "-cp", classpath, "onevice.Launcher"]
    process = subprocess.Popen(
        [*argv, str(home), str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        _wait_ready(process)
        yield f"bolt://127.0.0.1:{port}"
    finally:
        if process.stdin is not None:
            process.stdin.close()  # the launcher exits when its input closes
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def neo4j_uri() -> Iterator[str]:
    """A Bolt URI of a Neo4j server started for this session, stopped by pid."""
    for tool in ("java", "mvn"):
        if shutil.which(tool) is None:
            _unavailable(f"{tool} is not on PATH")
    with running_neo4j() as uri:
        yield uri


def _wait_ready(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    seen: list[str] = []
    for line in process.stdout:
        seen.append(line)
        if line.strip() == "READY":
            return
    raise RuntimeError("Neo4j did not start:\n" + "".join(seen[-40:]))
