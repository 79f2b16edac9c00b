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
from tests.fix_okta import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, FakeOkta
from tests.fix_stack import MakeUser, StartWeb, WorkerProcess

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
#: Examples per operation and mode: enough to reach every documented branch of
#: the small request schemas, few enough to finish in a minute or two.
EXAMPLES = 12
#: The richest request bodies get more.
MORE_EXAMPLES = {"POST /agents/{agent}/query": 40}
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


def fuzz(
    operation: Operation, mode: GenerationMode, base_url: str, bearer: Callable[[], str]
) -> None:
    """Send generated cases of one operation and mode; raise on the first failure."""

    def call(case: Case[Operation]) -> None:
        case.call_and_validate(
            base_url=base_url,
            headers={"Authorization": f"Bearer {bearer()}"},
            checks=CHECKS,
            timeout=REQUEST_TIMEOUT_SECONDS,
        )

    settings = hypothesis.settings(
        max_examples=MORE_EXAMPLES.get(operation.label, EXAMPLES),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    strategy = operation.as_strategy(generation_mode=mode)
    settings(hypothesis.given(case=strategy)(call))()


def run_schemathesis(base_url: str, token: Callable[[], str]) -> list[str]:
    """Fuzz every operation of the served document; the failures found."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    shared = token()
    failures: list[str] = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"unusable operation: {result.err()}")
            continue
        operation = result.ok()
        fresh = operation.label in PER_CASE_USER
        bearer = token if fresh else lambda: shared
        for mode in modes_of(operation):
            try:
                fuzz(operation, mode, base_url, bearer)
            # Hypothesis re-raises what the failing example raised; schemathesis
            # gathers its failures in an exception group.
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} [{mode.value}]:\n{exc}")
    return failures


@pytest.mark.timeout(600)
async def test_api_conforms_to_its_openapi_document(
    start_web: StartWeb,
    settings: Settings,
    worker: WorkerProcess,
    make_user: MakeUser,
    okta: FakeOkta,
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

    failures = await asyncio.to_thread(
        run_schemathesis, web.url.rstrip("/"), leadership_token
    )
    if failures:
        pytest.fail("\n\n".join(failures))
