"""The synthetic company data: reproducible, labelled, shaped like the real thing."""

from __future__ import annotations

import datetime as dt

from onevice.data.company import generate
from onevice.services.policy import CATEGORIES
from onevice.storage.projects import ACTIVE_STATUSES, COMPLETED_STATUSES


def test_the_same_seed_gives_the_same_company() -> None:
    """Generating twice from one seed gives identical projects; another seed differs."""
    assert generate(seed=7, org_id="o") == generate(seed=7, org_id="o")
    assert generate(seed=7, org_id="o") != generate(seed=8, org_id="o")


def test_every_project_is_labelled_synthetic() -> None:
    """Each generated project says where it came from."""
    projects = generate(seed=7, org_id="o").projects
    assert {p.source for p in projects} == {"synthetic (seed 7)"}


def test_projects_have_a_document_in_every_category() -> None:
    """Each project has one document per sensitivity category."""
    for project in generate(seed=7, org_id="o").projects:
        assert sorted(d["category"] for d in project.documents) == sorted(CATEGORIES)


def test_budget_lines_add_up_to_the_budget() -> None:
    """Above-line, below-line, post and contingency sum to the budget amount."""
    for project in generate(seed=7, org_id="o").projects:
        assert sum(project.budget_lines.values()) == project.budget_amount


def test_both_kinds_and_known_statuses() -> None:
    """Music videos and commercials both appear, with statuses the API knows."""
    projects = generate(seed=7, org_id="o").projects
    assert {p.type for p in projects} == {"Music Video", "Commercial"}
    assert {p.status for p in projects} <= {*ACTIVE_STATUSES, *COMPLETED_STATUSES}


def test_assigned_users_are_on_every_third_project() -> None:
    """A user given for a position is on the team of every third project."""
    projects = generate(seed=7, org_id="o", assigned={"director": "u1"}).projects
    on = [p for p in projects if ("director", p.team[0][1], "u1") in p.team]
    assert len(on) == len(projects) // 3


def test_talent_belongs_to_the_union_of_its_trade() -> None:
    """Directors are DGA, crew IATSE, performers SAG-AFTRA; producers non-union."""
    unions = {p.role: p.union_membership for p in generate(seed=7, org_id="o").talent}
    assert unions["Director"] == "DGA"
    assert unions["Gaffer"] == unions["Editor"] == "IATSE"
    assert unions["Performer"] == "SAG-AFTRA"
    assert unions["Producer"] is None


def test_bookings_are_ordered_and_inside_the_window() -> None:
    """Bookings fall in the 120 days from today and do not overlap."""
    today = dt.date(2026, 12, 1)
    for person in generate(seed=7, org_id="o", today=today).talent:
        for (_, end), (next_start, _) in zip(
            person.bookings, person.bookings[1:], strict=False
        ):
            assert end < next_start
        for start, end in person.bookings:
            assert today <= start <= end < today + dt.timedelta(days=120)


def test_project_teams_come_from_the_talent() -> None:
    """Every project's director is one of the generated directors."""
    company = generate(seed=7, org_id="o")
    directors = {p.name for p in company.talent if p.role == "Director"}
    chosen = {
        name for p in company.projects for pos, name, _ in p.team if pos == "director"
    }
    assert chosen <= directors


def test_a_music_video_is_commissioned_by_its_artists_label() -> None:
    """Each music video names its artist, and its client is that artist's label."""
    company = generate(seed=7, org_id="o")
    labels = {artist.name: artist.label for artist in company.artists}
    videos = [p for p in company.projects if p.type == "Music Video"]
    assert videos
    assert all(p.artist and p.client == labels[p.artist] for p in videos)
