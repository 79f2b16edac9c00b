"""The worker tier's scaling policy: how many instances for a given backlog.

The policy is a plain object fed one observation at a time, with the time of
the observation passed in (monotonic seconds), so it is tested without a clock
or a sleep. It holds two facts between observations: when the count last
changed (for the cooldown) and since when the backlog has been low (for the
scale-down window).

The load is the backlog per current instance, where the backlog counts the
messages waiting in the queue and those held by workers (reserved or running):
queue length alone would call a tier busy with long queries idle.

- Above the up threshold, add one instance.
- Below the down threshold for the whole window, remove one. A single
  observation at or above the threshold starts the window again, and so does
  a change: each step down needs a full window at the new size.
- One step per change, none during the cooldown after a change, never outside
  the bounds. A count found outside the bounds (set by hand, or bounds changed
  since) is brought to the nearest bound at once.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from onevice.base.settings import Settings
from onevice.services.backlog import Backlog

Reason = Literal[
    "backlog_high",
    "backlog_low",
    "below_min",
    "above_max",
    "steady",
    "cooldown",
    "at_max",
    "at_min",
    "low_within_window",
]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Bounds:
    """The policy's settings: instance bounds, thresholds and durations."""

    min_instances: int = 1
    max_instances: int = 5
    up_threshold: float = 100
    down_threshold: float = 10
    down_window_seconds: float = 600
    cooldown_seconds: float = 120

    def __post_init__(self) -> None:
        if not 1 <= self.min_instances <= self.max_instances:
            raise ValueError("need 1 <= min_instances <= max_instances")
        if self.down_threshold >= self.up_threshold:
            raise ValueError("down_threshold must be below up_threshold")

    @classmethod
    def from_settings(cls, settings: Settings) -> Bounds:
        return cls(
            min_instances=settings.autoscale_min_instances,
            max_instances=settings.autoscale_max_instances,
            up_threshold=settings.autoscale_up_threshold,
            down_threshold=settings.autoscale_down_threshold,
            down_window_seconds=settings.autoscale_down_window_seconds,
            cooldown_seconds=settings.autoscale_cooldown_seconds,
        )

    def clamp(self, instances: int) -> int:
        return max(self.min_instances, min(self.max_instances, instances))


@dataclasses.dataclass(frozen=True)
class Decision:
    """What the policy wants for one observation, and why."""

    current: int
    target: int
    reason: Reason
    #: The backlog per current instance the decision was taken on.
    load: float

    @property
    def changes(self) -> bool:
        return self.target != self.current


class ScalingPolicy:
    """Decides the worker count from the backlog, one observation at a time."""

    def __init__(self, bounds: Bounds):
        self.bounds = bounds
        self._changed_at: float | None = None
        self._low_since: float | None = None

    def decide(self, backlog: Backlog, now: float, *, instances: int) -> Decision:
        """The decision for ``backlog`` seen at ``now`` with ``instances`` running.

        Deciding records nothing but the low-backlog window; call ``changed``
        once a change has really been made, so a failed call to the platform
        does not start a cooldown.
        """
        bounds = self.bounds
        load = backlog.total / max(instances, 1)
        if load < bounds.down_threshold:
            if self._low_since is None:
                self._low_since = now
        else:
            self._low_since = None

        def decision(target: int, reason: Reason) -> Decision:
            return Decision(instances, target, reason, load)

        if instances != bounds.clamp(instances):
            low = instances < bounds.min_instances
            reason: Reason = "below_min" if low else "above_max"
            return decision(bounds.clamp(instances), reason)
        if self._cooling(now):
            return decision(instances, "cooldown")
        if load > bounds.up_threshold:
            if instances >= bounds.max_instances:
                return decision(instances, "at_max")
            return decision(instances + 1, "backlog_high")
        if self._low_since is None:
            return decision(instances, "steady")
        if now - self._low_since < bounds.down_window_seconds:
            return decision(instances, "low_within_window")
        if instances <= bounds.min_instances:
            return decision(instances, "at_min")
        return decision(instances - 1, "backlog_low")

    def changed(self, now: float) -> None:
        """Record that the count was changed at ``now``: cooldown and window restart."""
        self._changed_at = now
        self._low_since = None

    def unobserved(self) -> None:
        """Forget the low-backlog window after a failed measurement.

        Time the backlog was not seen must not count towards a scale-down.
        """
        self._low_since = None

    def _cooling(self, now: float) -> bool:
        changed = self._changed_at
        return changed is not None and now - changed < self.bounds.cooldown_seconds
