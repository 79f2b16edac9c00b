"""The Prometheus alert rules and scrape config under ``ops/prometheus``.

promtool is not at hand, so these tests check what it would: the files parse,
every rule has its fields, every expression is valid PromQL (a real parser),
and every metric an expression reads is one the web tier really exposes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import promql_parser
import pytest
import yaml

from tests.fix_stack import MakeUser, StartWeb, WorkerProcess
from tests.test_metrics import Scrape, scrape
from tests.test_sse import read_sse, submit

OPS: Final = Path(__file__).resolve().parent.parent / "ops" / "prometheus"
SEVERITIES: Final = frozenset({"critical", "warning", "info"})
#: Series and labels Prometheus makes itself when it scrapes a target.
SCRAPE_SERIES: Final = frozenset({"up"})
TARGET_LABELS: Final = frozenset({"job", "instance"})


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((OPS / name).read_text())
    return document


def rules() -> list[dict[str, Any]]:
    return [rule for group in load("alerts.yml")["groups"] for rule in group["rules"]]


def selectors(expr: str) -> list[promql_parser.VectorSelector]:
    """Every series selector in ``expr``, inside functions and ranges too."""
    found: list[promql_parser.VectorSelector] = []

    def visit(node: promql_parser.Expr) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def test_every_group_and_rule_has_its_fields() -> None:
    """Groups are named; rules have alert, expr, for, severity, summary, description."""
    groups = load("alerts.yml")["groups"]
    names = [group["name"] for group in groups]
    assert len(names) == len(set(names)) and all(names)
    alerts = [rule["alert"] for rule in rules()]
    assert len(alerts) == len(set(alerts))
    for rule in rules():
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]
        assert rule["annotations"]["description"].strip(), rule["alert"]


@pytest.mark.parametrize("rule", rules(), ids=lambda rule: str(rule["alert"]))
def test_every_expression_and_duration_parses(rule: dict[str, Any]) -> None:
    """Each ``expr`` is PromQL a Prometheus parser accepts; each ``for`` a duration."""
    promql_parser.parse(rule["expr"])
    assert promql_parser.parse_duration(rule["for"]).total_seconds() > 0


def test_the_rules_cover_downtime_errors_performance_and_resources() -> None:
    """The series the alerts are about are each read by some rule."""
    used = {s.name for rule in rules() for s in selectors(rule["expr"])}
    assert {
        "up",
        "onevice_dependency_up",
        "onevice_http_requests_total",
        "onevice_first_chunk_seconds_bucket",
        "onevice_event_loop_lag_seconds",
        "onevice_queue_oldest_wait_seconds",
        "onevice_queue_messages",
        "onevice_workers_alive",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
    } <= used


def test_the_scrape_config_loads_the_rules_for_the_rules_job() -> None:
    """prometheus.yml names alerts.yml and scrapes /metrics as the rules' job."""
    config = load("prometheus.yml")
    assert config["rule_files"] == ["alerts.yml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["onevice-web"]["metrics_path"] == "/metrics"
    named = {
        matcher.value
        for rule in rules()
        for selector in selectors(rule["expr"])
        for matcher in selector.matchers.matchers
        if matcher.name == "job"
    }
    assert named == {"onevice-web"}


async def exercised_scrape(start_web: StartWeb, make_user: MakeUser) -> Scrape:
    """A scrape of a web app that has answered a query and refused a request."""
    web = await start_web()
    user = make_user()
    query_id = await submit(
        web,
        user,
        "test-stream",
        {"query": "q", "options": {"chunks": 3, "delay_ms": 100}},
    )
    await read_sse(web, user, query_id)
    for _ in range(6):  # the endpoint's burst is five
        async with web.session.post(
            "/agents/test-stream/query", json={"query": ""}, headers=user.headers
        ) as response:
            await response.read()
    assert response.status == 429
    return await scrape(web)


async def test_every_series_an_alert_reads_is_exposed(
    start_web: StartWeb, worker: WorkerProcess, make_user: MakeUser
) -> None:
    """Each metric in an expression has samples in a live scrape, with its labels."""
    scraped = await exercised_scrape(start_web, make_user)
    labels = {
        name: set().union(*(sample_labels for sample_labels, _ in samples))
        for name, samples in scraped.samples.items()
    }
    missing = []
    for rule in rules():
        for selector in selectors(rule["expr"]):
            name = selector.name
            if name in SCRAPE_SERIES:
                continue
            if name is None or name not in labels:
                missing.append(f"{rule['alert']}: {name}")
                continue
            for matcher in selector.matchers.matchers:
                if matcher.name not in TARGET_LABELS | labels[name]:
                    missing.append(f"{rule['alert']}: {name}{{{matcher.name}}}")
    assert missing == []
