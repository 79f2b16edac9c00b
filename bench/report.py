"""What a bench run measured: latency and throughput figures, the report, targets."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterable, Sequence
from typing import Final

from bench.client import QueryTiming
from bench.plan import Plan
from bench.stack import MACHINE

NS_PER_MS: Final = 1_000_000

#: The peer's completed runs per second at concurrency 50 (DESIGN.md).
PEER_RUNS_PER_SECOND: Final = (63.0, 126.0)


@dataclasses.dataclass(frozen=True)
class Latency:
    """The samples of one measure, in nanoseconds."""

    label: str
    samples: tuple[int, ...]

    @classmethod
    def of(cls, label: str, samples: Iterable[int]) -> Latency:
        return cls(label, tuple(sorted(samples)))

    def ms(self, percent: float) -> float:
        """The nearest-rank percentile, in milliseconds."""
        if not self.samples:
            return float("nan")
        rank = math.ceil(len(self.samples) * percent / 100)
        return self.samples[min(max(rank, 1), len(self.samples)) - 1] / NS_PER_MS

    def row(self) -> str:
        cells = "".join(f"{self.ms(p):>10.3f}" for p in (50, 95, 99))
        return f"{self.label:<46}{len(self.samples):>7}{cells}"


@dataclasses.dataclass(frozen=True)
class Throughput:
    """Completed queries over the wall time of a closed-loop run."""

    queries: int
    concurrency: int
    seconds: float
    cpu_seconds: dict[str, float]

    @property
    def per_second(self) -> float:
        return self.queries / self.seconds


@dataclasses.dataclass(frozen=True)
class Report:
    """Everything one run measured."""

    plan: Plan
    latencies: list[Latency]
    throughput: Throughput
    log_problems: dict[str, int]

    def latency(self, label: str) -> Latency:
        return next(item for item in self.latencies if item.label == label)


def query_latencies(timings: Sequence[QueryTiming], where: str) -> list[Latency]:
    """First chunk, completion and per-chunk relay of ``timings``."""
    return [
        Latency.of(
            f"submit -> first chunk ({where})", (t.first_chunk_ns for t in timings)
        ),
        Latency.of(f"submit -> complete ({where})", (t.complete_ns for t in timings)),
        Latency.of(
            f"chunk relay, worker -> client ({where})",
            (r for t in timings for r in t.relay_ns),
        ),
    ]


def target_lines(report: Report) -> list[str]:
    """Each DESIGN.md target with the figure measured against it."""
    paced = f"redis publish -> subscriber, {report.plan.pace_ms} ms apart"
    redis_p50 = report.latency(paced).ms(50)
    relay_p50 = report.latency("chunk relay, worker -> client (one at a time)").ms(50)
    first_p50 = report.latency("submit -> first chunk (one at a time)").ms(50)
    ping_p99 = report.latency("ping -> pong").ms(99)
    rate = report.throughput.per_second
    low, high = (3 * peer for peer in PEER_RUNS_PER_SECOND)
    checks = [
        (f"submit -> first chunk p50 {first_p50:.2f} ms < 20 ms", first_p50 < 20),
        (
            f"relay p50 {relay_p50:.3f} ms = {relay_p50 / redis_p50:.1f}x "
            f"redis round trip p50 {redis_p50:.3f} ms (both paced), <= 2x",
            relay_p50 <= 2 * redis_p50,
        ),
        (f"heartbeat p99 {ping_p99:.3f} ms < 2 ms", ping_p99 < 2),
        (f"{rate:.0f} queries/s >= 3x peer low ({low:.0f})", rate >= low),
        (f"{rate:.0f} queries/s >= 3x peer high ({high:.0f})", rate >= high),
    ]
    return [f"  {'met ' if ok else 'MISS'}  {text}" for text, ok in checks]


def cpu_shares(throughput: Throughput) -> str:
    """Each process's CPU over the run, and what other processes used meanwhile."""
    used = dict(throughput.cpu_seconds)
    machine = used.pop(MACHINE)
    used["others and kernel"] = max(0.0, machine - sum(used.values()))
    return ", ".join(
        f"{name} {seconds / throughput.seconds:.0%}" for name, seconds in used.items()
    )


def print_report(report: Report) -> None:
    """The figures of a run as a table, then the targets."""
    throughput = report.throughput
    print()
    print(f"{'measure':<46}{'n':>7}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}")
    for latency in report.latencies:
        print(latency.row())
    print()
    print(
        f"throughput: {throughput.queries} queries x {report.plan.chunks} chunks, "
        f"{throughput.concurrency} in flight, in {throughput.seconds:.2f} s = "
        f"{throughput.per_second:.1f} completed queries/s"
    )
    print(f"CPU during the throughput run (100% = one core): {cpu_shares(throughput)}")
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"warning/error lines in logs: {report.log_problems}")
    print("targets (DESIGN.md):")
    for line in target_lines(report):
        print(line)
