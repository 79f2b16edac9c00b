"""The production company's own data, synthetic and labelled so.

OneVice needs a company to answer for: clients (brands and record labels),
artists, and projects (music videos and commercials) with budgets, status,
dates, teams, union status and documents in each sensitivity category. No such
data is public, so it is generated, deterministically from a seed so that tests
know the answers, and every record says ``source = "synthetic (seed N)"``.

It also makes the people the company hires: directors (DGA), crew (IATSE),
performers (SAG-AFTRA) and non-union producers and creative directors, with
their specialisations, day rates (synthetic, not union minimums) and the days
they are already booked, over the 120 days from the ``today`` it is given.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Mapping
from typing import Final

from onevice.services.policy import CATEGORIES, budget_tier
from onevice.storage.projects import (
    ACTIVE_STATUSES,
    COMPLETED_STATUSES,
    GENRES,
    NewProject,
)
from onevice.storage.talent import SPECIALIZATIONS, NewTalent

BRANDS: Final = (
    "Northwind Athletics",
    "Blue Harbor Beverages",
    "Vela Motors",
    "Kestrel Mobile",
    "Solstice Skincare",
    "Ironbark Outdoor",
    "Lumen Audio",
    "Cobalt Air",
)
LABELS: Final = (
    "Atlas Records",
    "Meridian Music",
    "Halcyon Sound",
    "Redline Recordings",
)
ARTISTS: Final = (
    "Juno Vale",
    "Kai Mercer",
    "Lila Stone",
    "Orion Blake",
    "Sable Quinn",
    "Theo Marsh",
    "Wren Castillo",
    "Zara Holt",
)
FIRST: Final = ("Ana", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Ines", "Jon", "Kim")
LAST: Final = (
    "Reyes",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Adeyemi",
    "Kowalski",
)
CAMPAIGNS: Final = ("Summer Launch", "Holiday Spot", "Brand Film", "Product Reveal")
SONGS: Final = ("Night Drive", "Glass House", "Low Tide", "Northern Lights", "Fever")
POSITIONS: Final = ("director", "creative_director", "producer")
#: role: (union, day rate range in dollars, how many)
TALENT_ROLES: Final = {
    "Director": ("DGA", (4_000, 20_000), 10),
    "Director of Photography": ("IATSE", (1_500, 4_500), 6),
    "Editor": ("IATSE", (800, 2_000), 5),
    "Gaffer": ("IATSE", (700, 1_400), 5),
    "Performer": ("SAG-AFTRA", (900, 3_000), 6),
    "Producer": (None, (1_000, 3_500), 4),
    "Creative Director": (None, (1_500, 4_000), 4),
}
#: Team positions filled from these talent roles.
POSITION_ROLES: Final = {
    "director": "Director",
    "creative_director": "Creative Director",
    "producer": "Producer",
}


@dataclasses.dataclass(frozen=True)
class Artist:
    """A recording artist and the label they are signed to."""

    id: str
    name: str
    label: str
    genre: str


#: Who is signed where: every artist to one label, the same on every run.
ARTIST_ROSTER: Final = tuple(
    Artist(f"artist_{n:02d}", name, LABELS[n % len(LABELS)], GENRES[n % len(GENRES)])
    for n, name in enumerate(ARTISTS, start=1)
)


@dataclasses.dataclass(frozen=True)
class Company:
    """What the generator made."""

    projects: tuple[NewProject, ...]
    talent: tuple[NewTalent, ...]
    artists: tuple[Artist, ...] = ARTIST_ROSTER


def generate(
    *,
    seed: int,
    org_id: str,
    count: int = 60,
    assigned: Mapping[str, str] | None = None,
    today: dt.date = dt.date(2026, 12, 1),
) -> Company:
    """``count`` projects and the talent of ``org_id``, the same for the same seed.

    ``assigned`` maps a team position to a user id that is put on every third
    project in that position, so that a role's "assigned" access can be seen.
    """
    rng = random.Random(seed)
    talent = _talent(rng, seed, org_id, today)
    by_role: dict[str, list[str]] = {}
    for person in talent:
        by_role.setdefault(person.role, []).append(person.name)
    start = dt.date(2023, 1, 9)
    projects = tuple(
        _project(rng, seed, org_id, number, by_role, start, assigned or {})
        for number in range(1, count + 1)
    )
    return Company(projects, talent)


def _talent(
    rng: random.Random, seed: int, org_id: str, today: dt.date
) -> tuple[NewTalent, ...]:
    people: list[NewTalent] = []
    names: set[str] = set()
    for role, (union, (low, high), how_many) in TALENT_ROLES.items():
        for _ in range(how_many):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            while name in names:
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            names.add(name)
            rate = rng.randrange(low, high, 50)
            budget = (rate * 5, rate * 60) if role == "Director" else (None, None)
            people.append(
                NewTalent(
                    id=f"talent_s{seed}_{len(people) + 1:03d}",
                    org_id=org_id,
                    name=name,
                    role=role,
                    union_membership=union,
                    specializations=tuple(sorted(rng.sample(SPECIALIZATIONS, 2))),
                    day_rate=rate,
                    budget_min=budget[0],
                    budget_max=budget[1],
                    bookings=_bookings(rng, today),
                    source=f"synthetic (seed {seed})",
                )
            )
    return tuple(people)


def _bookings(
    rng: random.Random, today: dt.date
) -> tuple[tuple[dt.date, dt.date], ...]:
    """Up to three non-overlapping bookings in the 120 days from ``today``."""
    bookings = []
    day = rng.randrange(0, 20)
    for _ in range(rng.randrange(0, 4)):
        length = rng.randrange(1, 8)
        if day + length > 120:
            break
        starts = today + dt.timedelta(days=day)
        bookings.append((starts, starts + dt.timedelta(days=length - 1)))
        day += length + rng.randrange(5, 30)
    return tuple(bookings)


def _project(
    rng: random.Random,
    seed: int,
    org_id: str,
    number: int,
    by_role: Mapping[str, list[str]],
    start: dt.date,
    assigned: Mapping[str, str],
) -> NewProject:
    music_video = rng.random() < 0.55
    artist: Artist | None = None
    if music_video:
        artist = rng.choice(ARTIST_ROSTER)
        client = artist.label  # the label commissions its artist's video
        name = f"{artist.name} - {rng.choice(SONGS)}"
        amount = rng.randrange(30_000, 600_000, 500)
    else:
        client = rng.choice(BRANDS)
        name = f"{client} {rng.choice(CAMPAIGNS)}"
        amount = rng.randrange(150_000, 3_000_000, 1_000)
    pitched = start + dt.timedelta(days=7 * number + rng.randrange(7))
    shoot_days = rng.randrange(1, 6)
    status = rng.choice((*ACTIVE_STATUSES, *COMPLETED_STATUSES, *COMPLETED_STATUSES))
    team = [
        (
            position,
            rng.choice(by_role[POSITION_ROLES[position]]),
            assigned.get(position) if number % 3 == 0 else None,
        )
        for position in POSITIONS
    ]
    project_id = f"proj_s{seed}_{number:03d}"
    return NewProject(
        id=project_id,
        org_id=org_id,
        name=name,
        type="Music Video" if music_video else "Commercial",
        status=status,
        client=client,
        union_status=rng.choice(("Union", "Union", "Non-union")),
        budget_amount=amount,
        budget_approved=status != "Pitching",
        budget_lines=_lines(rng, amount),
        timeline={
            "pitched": pitched.isoformat(),
            "shoot_start": (pitched + dt.timedelta(days=30)).isoformat(),
            "shoot_days": shoot_days,
            "delivery": (pitched + dt.timedelta(days=60 + 7 * shoot_days)).isoformat(),
            "genre": artist.genre if artist else None,
        },
        team=team,
        documents=[
            _document(project_id, category, name, amount) for category in CATEGORIES
        ],
        source=f"synthetic (seed {seed})",
        artist=artist.name if artist else None,
    )


def _lines(rng: random.Random, amount: int) -> dict[str, int]:
    """Above-line, below-line, post and contingency, summing to ``amount``."""
    contingency = amount // 10
    post = int(amount * rng.uniform(0.12, 0.2))
    above = int((amount - contingency - post) * rng.uniform(0.35, 0.5))
    below = amount - contingency - post - above
    return {
        "above_line": above,
        "below_line": below,
        "post_production": post,
        "contingency": contingency,
    }


def _document(project_id: str, category: str, name: str, amount: int) -> dict[str, str]:
    kind = category.split("_", 1)[1].replace("_", " ")
    contents = {
        "1_budgets": f"Approved budget {amount} USD; tier {budget_tier(amount)}.",
        "2_contracts": f"Production agreement for {name}: fee {amount} USD, "
        "payment 50/50, usage two years worldwide.",
        "3_internal_strategy": f"Bid at {amount} USD; margin target 18%.",
    }
    return {
        "id": f"{project_id}_{category[0]}",
        "category": category,
        "title": f"{name}: {kind}",
        "summary": f"The {kind} of {name} (synthetic).",
        "content": contents.get(
            category, f"The {kind} of {name}, shared with the crew."
        ),
    }
