"""The company's data in the graph, where the agents traverse it.

PostgreSQL stays the system of record; the graph gets what the agents walk:
projects, their clients, and who worked on them. A project node carries its
budget tier, never the amount, so a graph read cannot leak what the access
policy would withhold.
"""

from __future__ import annotations

from onevice.base.names import name_key
from onevice.data.company import BRANDS, Company
from onevice.services.policy import budget_tier
from onevice.storage.graph.port import Graph


async def mirror_company(graph: Graph, company: Company) -> None:
    """Write projects, clients, talent and team links (idempotent)."""
    await graph.ensure_indexes()
    await graph.run(
        "UNWIND $projects AS p MERGE (n:Project {id: p.id})"
        " SET n.name = p.name, n.type = p.type, n.status = p.status,"
        " n.org_id = p.org_id, n.budget_tier = p.tier,"
        " n.union_status = p.union_status, n.source = p.source",
        {
            "projects": [
                {
                    "id": p.id,
                    "name": p.name,
                    "type": p.type,
                    "status": p.status,
                    "org_id": p.org_id,
                    "tier": budget_tier(p.budget_amount),
                    "union_status": p.union_status,
                    "source": p.source,
                }
                for p in company.projects
            ]
        },
    )
    await graph.run(
        "UNWIND $links AS l MATCH (n:Project {id: l.project})"
        " MERGE (c:Client {key: l.key}) ON CREATE SET c.name = l.name, c.kind = l.kind"
        " MERGE (n)-[:FOR_CLIENT]->(c)",
        {
            "links": [
                {
                    "project": p.id,
                    "key": name_key(p.client),
                    "name": p.client,
                    "kind": "brand" if p.client in BRANDS else "label",
                }
                for p in company.projects
                if p.client
            ]
        },
    )
    await graph.run(
        "UNWIND $people AS t MERGE (n:Talent {id: t.id})"
        " SET n.name = t.name, n.role = t.role, n.union_membership = t.union,"
        " n.specializations = t.specializations, n.org_id = t.org_id",
        {
            "people": [
                {
                    "id": t.id,
                    "name": t.name,
                    "role": t.role,
                    "union": t.union_membership,
                    "specializations": list(t.specializations),
                    "org_id": t.org_id,
                }
                for t in company.talent
            ]
        },
    )
    await graph.run(
        "UNWIND $artists AS a MERGE (n:Artist {key: a.key})"
        " SET n.name = a.name, n.genre = a.genre"
        " MERGE (c:Client {key: a.label_key}) ON CREATE SET c.name = a.label,"
        " c.kind = 'label' MERGE (n)-[:SIGNED_TO]->(c)",
        {
            "artists": [
                {
                    "key": name_key(a.name),
                    "name": a.name,
                    "genre": a.genre,
                    "label": a.label,
                    "label_key": name_key(a.label),
                }
                for a in company.artists
            ]
        },
    )
    await graph.run(
        "UNWIND $links AS l MATCH (n:Project {id: l.project})"
        " MATCH (a:Artist {key: l.key}) MERGE (a)-[:FEATURED_IN]->(n)",
        {
            "links": [
                {"project": p.id, "key": name_key(p.artist)}
                for p in company.projects
                if p.artist
            ]
        },
    )
    ids = {t.name: t.id for t in company.talent}
    await graph.run(
        "UNWIND $links AS l MATCH (n:Project {id: l.project})"
        " MATCH (t:Talent {id: l.talent})"
        " MERGE (t)-[:WORKED_ON {position: l.position}]->(n)",
        {
            "links": [
                {"project": p.id, "talent": ids[name], "position": position}
                for p in company.projects
                for position, name, _ in p.team
                if name in ids
            ]
        },
    )
