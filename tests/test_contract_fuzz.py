"""The running API answers as its OpenAPI document says: schemathesis over real HTTP.

schemathesis loads ``/openapi.json`` from a live web server (with the session's
worker behind it, so queries complete), generates requests for every operation
from the document, both ones that fit it and ones that break it, sends them,
and checks each response: no 5xx, a documented status code, the documented
content type, headers and body schema.

schemathesis calls the server with blocking HTTP, so it runs in a thread while
the server keeps serving on the test's event loop; that is also why it is
driven through ``as_strategy`` and Hypothesis here rather than through
``@schema.parametrize()``, whose tests pytest would run with the loop stopped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Callable
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from onevice.base.settings import Settings
from onevice.services.access import DEFAULT_ORG
from onevice.storage.db import Pool
from onevice.storage.projects import NewProject, ProjectStore
from tests.fix_okta import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, FakeOkta
from tests.fix_stack import MakeUser, StartWeb, User, WebServer, WorkerProcess

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
#: Examples per operation and mode: enough to reach every documented branch of
#: the small request schemas, few enough to finish in a minute or two.
EXAMPLES = 20
#: The richest request bodies get more.
MORE_EXAMPLES = {"POST /agents/{agent}/query": 60}
#: Examples for each real id: only headers and query parameters vary there.
REAL_EXAMPLES = 5
REQUEST_TIMEOUT_SECONDS = 30.0
#: Submissions are limited to 20 a minute per user and three open queries;
#: each generated case gets a user of its own so the cases test the contract,
#: not the limiter (whose 429 is documented and tested elsewhere).
PER_CASE_USER = frozenset({"POST /agents/{agent}/query"})


Operation = APIOperation[Any, Any, Any, Any]


def modes_of(operation: Operation) -> list[GenerationMode]:
    """Positive cases always; negative ones where there is an input to break."""
    inputs = (operation.path_parameters, operation.query, operation.headers)
    if any(len(group) for group in inputs) or len(operation.body):
        return [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    return [GenerationMode.POSITIVE]


@dataclasses.dataclass(frozen=True)
class Target:
    """Where the cases go, as whom, and the real ids to use besides generated ones."""

    base_url: str
    #: the token of the user who owns the real things
    owner_token: str
    #: a token of a new user, for each case of PER_CASE_USER operations
    fresh_token: Callable[[], str]
    #: operation label → path parameters naming things that exist
    real: dict[str, list[dict[str, str]]]


def fuzz(
    operation: Operation,
    mode: GenerationMode,
    target: Target,
    bearer: Callable[[], str],
    path_parameters: dict[str, str] | None = None,
) -> None:
    """Send generated cases of one operation and mode; raise on the first failure."""

    def call(case: Case[Operation]) -> None:
        case.call_and_validate(
            base_url=target.base_url,
            headers={"Authorization": f"Bearer {bearer()}"},
            checks=CHECKS,
            timeout=REQUEST_TIMEOUT_SECONDS,
        )

    examples = MORE_EXAMPLES.get(operation.label, EXAMPLES)
    settings = hypothesis.settings(
        max_examples=examples if path_parameters is None else REAL_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    strategy = operation.as_strategy(
        generation_mode=mode, path_parameters=path_parameters
    )
    settings(hypothesis.given(case=strategy)(call))()


def run_schemathesis(target: Target) -> list[str]:
    """Fuzz every operation of the served document; the failures found."""
    schema = schemathesis.openapi.from_url(f"{target.base_url}/openapi.json")
    failures: list[str] = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"unusable operation: {result.err()}")
            continue
        operation = result.ok()
        fresh = operation.label in PER_CASE_USER
        bearer = target.fresh_token if fresh else lambda: target.owner_token
        runs: list[tuple[GenerationMode, dict[str, str] | None]] = [
            (mode, None) for mode in modes_of(operation)
        ]
        runs += [
            (GenerationMode.POSITIVE, real)
            for real in target.real.get(operation.label, [])
        ]
        for mode, real in runs:
            try:
                fuzz(operation, mode, target, bearer, real)
            # Hypothesis re-raises what the failing example raised; schemathesis
            # gathers its failures in an exception group.
            except (Exception, BaseExceptionGroup) as exc:
                where = f" {real}" if real else ""
                failures.append(f"{operation.label}{where} [{mode.value}]:\n{exc}")
    return failures


async def real_things(web: WebServer, user: User, pool: Pool) -> dict[str, Any]:
    """A completed, a failed and a running query of ``user``, and a project."""
    async with web.session.post(
        "/agents/test-stream/query",
        json={"query": "contract", "options": {"chunks": 3}},
        headers=user.headers,
    ) as response:
        completed = (await response.json())["query_id"]
    async with web.session.post(
        "/agents/test-fail/query", json={"query": "contract"}, headers=user.headers
    ) as response:
        failed = (await response.json())["error"]["details"]["query_id"]
    async with web.session.post(
        "/agents/test-stream/query",
        json={"query": "long", "options": {"chunks": 600, "delay_ms": 100}},
        headers={**user.headers, "Prefer": "respond-async"},
    ) as response:
        running = (await response.json())["query_id"]
    project = f"proj_{uuid.uuid4().hex[:10]}"
    await ProjectStore(pool).create(
        NewProject(
            id=project,
            org_id=DEFAULT_ORG,
            name="Contract Check",
            type="Music Video",
            status="In Production",
            budget_amount=240_000,
            budget_lines={"crew": 90_000},
            client="Atlantic Records",
            timeline={"pitched": "2025-03-01", "genre": "Hip-hop"},
            team=[("director", "Ana Director", user.sub)],
            documents=[
                {
                    "id": f"doc_{uuid.uuid4().hex[:10]}",
                    "category": "2_contracts",
                    "title": "Contract",
                    "summary": "Terms",
                    "content": "The terms in full.",
                }
            ],
        )
    )
    return {
        "completed": completed,
        "failed": failed,
        "running": running,
        "project": project,
    }


@pytest.mark.timeout(600)
async def test_api_conforms_to_its_openapi_document(
    start_web: StartWeb,
    settings: Settings,
    worker: WorkerProcess,
    make_user: MakeUser,
    okta: FakeOkta,
    pool: Pool,
) -> None:
    """Generated requests to every operation get only documented, non-5xx answers."""
    web = await start_web(
        dataclasses.replace(
            settings,
            query_wait_seconds=5.0,
            clerk_sign_in_url="https://accounts.onevice.test/sign-in",
            redirect_allowlist=("https://app.onevice.test",),
            okta_issuer=okta.issuer,
            okta_client_id=CLIENT_ID,
            okta_client_secret=CLIENT_SECRET,
            okta_redirect_uri=REDIRECT_URI,
            okta_group_roles=(("OneVice Execs", "Leadership"),),
        )
    )

    def leadership_token() -> str:
        return make_user("Leadership").token

    owner = make_user("Leadership")
    ids = await real_things(web, owner, pool)
    finished = [{"query_id": ids["completed"]}, {"query_id": ids["failed"]}]
    target = Target(
        base_url=web.url.rstrip("/"),
        owner_token=owner.token,
        fresh_token=leadership_token,
        real={
            "GET /queries/{query_id}": [*finished, {"query_id": ids["running"]}],
            "GET /queries/{query_id}/events": finished,
            "POST /queries/{query_id}/cancel": [{"query_id": ids["running"]}],
            "GET /projects/{project_id}": [{"project_id": ids["project"]}],
        },
    )
    failures = await asyncio.to_thread(run_schemathesis, target)
    if failures:
        pytest.fail("\n\n".join(failures))
