"""The registry of agents: the four product agents and any registered extra.

Extra agents come from the modules named in ``ONEVICE_AGENT_MODULES``; each
such module defines ``register(registry)``.
"""

from __future__ import annotations

import importlib
from typing import Final

from onevice.agents.base import Agent
from onevice.agents.bidding import BiddingSupportAgent
from onevice.agents.case_study import CaseStudyAgent
from onevice.agents.sales import SalesIntelligenceAgent
from onevice.agents.talent_discovery import TalentDiscoveryAgent
from onevice.base.errors import NotFound, ValidationError
from onevice.base.settings import Settings, SettingsError

PRODUCT_AGENTS: Final = (
    "sales_intelligence",
    "case_study",
    "talent_discovery",
    "bidding_support",
)


def product_agents() -> dict[str, Agent]:
    """The product agents by name."""
    return {
        "sales_intelligence": SalesIntelligenceAgent(),
        "case_study": CaseStudyAgent(),
        "talent_discovery": TalentDiscoveryAgent(),
        "bidding_support": BiddingSupportAgent(),
    }


class AgentRegistry:
    """Agent names to implementations."""

    def __init__(self) -> None:
        self._agents: dict[str, Agent] = product_agents()

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
        """The agent called ``name``; ValidationError if unknown."""
        if name not in self._agents:
            raise ValidationError.field(
                "agent", "Invalid agent type", provided=name, valid_options=self.names()
            )
        agent = self._agents[name]
        return agent

    def available(self) -> list[str]:
        """The names of the agents that answer queries."""
        return list(self._agents)


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
