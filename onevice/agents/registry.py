"""The registry of agents: the four product agents and any registered extra.

A product agent that is not implemented yet is listed (its endpoint exists) but
answers AGENT_UNAVAILABLE. Extra agents come from the modules named in
``ONEVICE_AGENT_MODULES``; each such module defines ``register(registry)``.
"""

from __future__ import annotations

import importlib
from typing import Final

from onevice.agents.base import Agent
from onevice.agents.case_study import CaseStudyAgent
from onevice.agents.sales import SalesIntelligenceAgent
from onevice.agents.talent_discovery import TalentDiscoveryAgent
from onevice.base.errors import AgentUnavailable, NotFound, ValidationError
from onevice.base.settings import Settings, SettingsError

PRODUCT_AGENTS: Final = (
    "sales_intelligence",
    "case_study",
    "talent_discovery",
    "bidding_support",
)


def product_agents() -> dict[str, Agent | None]:
    """The product agents by name; None for one that is not built yet."""
    return {
        "sales_intelligence": SalesIntelligenceAgent(),
        "case_study": CaseStudyAgent(),
        "talent_discovery": TalentDiscoveryAgent(),
        "bidding_support": None,
    }


class AgentRegistry:
    """Agent names to implementations (None while an agent is not built)."""

    def __init__(self) -> None:
        self._agents: dict[str, Agent | None] = product_agents()

    def register(self, agent: Agent) -> None:
        self._agents[agent.name] = agent

    def names(self) -> list[str]:
        return list(self._agents)

    def resolve_slug(self, slug: str) -> str:
        """The agent name of a URL segment (``case-study`` → ``case_study``)."""
        name = slug.replace("-", "_")
        if name not in self._agents:
            raise NotFound(
                f"Unknown agent {slug!r}",
                details={"provided": slug, "valid_options": self.slugs()},
            )
        return name

    def slugs(self) -> list[str]:
        return [name.replace("_", "-") for name in self._agents]

    def get(self, name: str) -> Agent:
        """The agent called ``name``; ValidationError if unknown, 503 if unbuilt."""
        if name not in self._agents:
            raise ValidationError.field(
                "agent", "Invalid agent type", provided=name, valid_options=self.names()
            )
        agent = self._agents[name]
        if agent is None:
            raise AgentUnavailable(
                f"The {name} agent is not available yet",
                details={"agent": name},
            )
        return agent

    def available(self) -> list[str]:
        return [name for name, agent in self._agents.items() if agent is not None]


def load_registry(settings: Settings) -> AgentRegistry:
    """A registry with the product agents and those of ``settings.agent_modules``."""
    registry = AgentRegistry()
    for module_name in settings.agent_modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise SettingsError(
                f"ONEVICE_AGENT_MODULES names {module_name!r}, which cannot be "
                f"imported: {exc}"
            ) from exc
        register = getattr(module, "register", None)
        if register is None:
            raise SettingsError(f"agent module {module_name!r} has no register()")
        register(registry)
    return registry
