"""Settings: read from the environment once, into one frozen object passed down.

Nothing else in OneVice reads ``os.environ``. Every variable is listed in
``ENVIRONMENT`` with its meaning, so ``onevice settings`` can print them.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

LogFormat = Literal["console", "json"]
PLANS = ("Standard", "Premium", "Enterprise")

ENVIRONMENT: dict[str, str] = {
    "ONEVICE_ENV": "development or production (default development)",
    "ONEVICE_DATA_DIR": "where embedded servers and the dev signing key live (.data)",
    "DATABASE_URL": "PostgreSQL URL; unset under `make dev` starts an embedded one",
    "REDIS_URL": "Redis URL (broker, chunk streams); unset starts an embedded one",
    "NEO4J_URI": "Neo4j Bolt URI; unset uses FalkorDB inside the Redis server",
    "NEO4J_USER": "Neo4j user (default neo4j)",
    "NEO4J_PASSWORD": "Neo4j password",
    "HOST": "address the web tier binds (default 127.0.0.1)",
    "PORT": "port the web tier binds (default 8080)",
    "ONEVICE_JWT_ISSUER": "the `iss` of tokens OneVice signs",
    "ONEVICE_JWT_AUDIENCE": "the `aud` every accepted token must carry",
    "ONEVICE_SIGNING_KEY_FILE": "keyring (private keys) of the local token issuer",
    "ONEVICE_MAX_TOKEN_TTL_SECONDS": "longest access token lifetime (86400)",
    "ONEVICE_ACCESS_TOKEN_TTL_SECONDS": "lifetime of tokens from sign-in (3600)",
    "ONEVICE_REFRESH_TOKEN_TTL_SECONDS": "lifetime of refresh tokens (2592000)",
    "CLERK_ISSUER": "Clerk's issuer URL; its tokens are accepted when set",
    "CLERK_JWKS_URL": "Clerk's JWKS URL (default: issuer + /.well-known/jwks.json)",
    "CLERK_JWKS_MIN_REFRESH_SECONDS": "least seconds between unknown-kid fetches (10)",
    "CLERK_SIGN_IN_URL": "Clerk's hosted sign-in page, for POST /auth/login",
    "ONEVICE_REDIRECT_ALLOWLIST": "origins sign-in may send users back to (a,b)",
    "OKTA_ISSUER": "Okta's issuer URL; enables /auth/sso/okta when set",
    "OKTA_CLIENT_ID": "OneVice's client id at Okta",
    "OKTA_CLIENT_SECRET": "OneVice's client secret at Okta",
    "OKTA_REDIRECT_URI": "where Okta sends users back with the code",
    "OKTA_GROUP_ROLES": "Okta groups to roles, first match wins (Execs=Leadership,...)",
    "OKTA_ORG_ID": "the organisation Okta users belong to (org_onevice)",
    "ONEVICE_QUERY_WAIT_SECONDS": "how long a POST without Prefer waits (30)",
    "ONEVICE_QUERY_TIME_LIMIT_SECONDS": "longest a query may run (300)",
    "ONEVICE_VISIBILITY_TIMEOUT_SECONDS": "broker redelivery delay, above the limit",
    "ONEVICE_STREAM_TTL_SECONDS": "how long a query's replay buffer is kept (3600)",
    "ONEVICE_MAX_BODY_BYTES": "largest accepted request body (65536)",
    "ONEVICE_MAX_WS_FRAME_BYTES": "largest accepted WebSocket frame (65536)",
    "ONEVICE_WS_SEND_QUEUE": "messages a slow socket may fall behind (512)",
    "ONEVICE_MAX_CONCURRENT_QUERIES": "queued+running queries per user (3)",
    "ONEVICE_AGENT_MODULES": "comma-separated modules that register extra agents",
    "ONEVICE_DEFAULT_PLAN": "plan of organisations not listed: Standard, Premium, "
    "Enterprise (Enterprise)",
    "ONEVICE_ORG_PLANS": "organisations' plans, e.g. org_a=Premium,org_b=Standard",
    "ONEVICE_WORKER_CONCURRENCY": "query slots per worker process (50)",
    "ONEVICE_SHUTDOWN_TIMEOUT_SECONDS": "how long in-flight requests may finish "
    "after SIGTERM (10)",
    "ONEVICE_LOAD_CHECK_SECONDS": "how often the web tier checks its load (2)",
    "ONEVICE_DEGRADED_WAIT_SECONDS": "oldest queued query's wait that means "
    "degraded (5)",
    "ONEVICE_DEGRADED_LOOP_LAG_SECONDS": "event-loop lag that means degraded (0.25)",
    "ONEVICE_ALTERNATIVE_ENDPOINTS": "other API URLs offered to clients when "
    "degraded (a,b)",
    "ANTHROPIC_API_KEY": "Anthropic API key; when set Claude writes the briefs",
    "ANTHROPIC_BASE_URL": "Anthropic API base URL (default the SDK's)",
    "ANTHROPIC_MODEL": "Claude model that writes briefs (claude-sonnet-5-5)",
    "ANTHROPIC_MAX_TOKENS": "most tokens a brief may take (1024)",
    "ANTHROPIC_TIMEOUT_SECONDS": "per-request timeout of the Messages API (30)",
    "ANTHROPIC_MAX_RETRIES": "retries, with backoff, before the built-in writer (2)",
    "ANTHROPIC_INPUT_USD_PER_MTOK": "price of a million input tokens, for cost (3)",
    "ANTHROPIC_OUTPUT_USD_PER_MTOK": "price of a million output tokens (15)",
    "LANGSMITH_API_KEY": "LangSmith API key; when set agent runs are traced",
    "LANGSMITH_ENDPOINT": "LangSmith API URL (default the SDK's)",
    "LANGSMITH_PROJECT": "LangSmith project the traces go to (onevice)",
    "ONEVICE_AUTOSCALE_MIN_INSTANCES": "fewest worker instances autoscaled (1)",
    "ONEVICE_AUTOSCALE_MAX_INSTANCES": "most worker instances it starts (5)",
    "ONEVICE_AUTOSCALE_UP_THRESHOLD": "backlog per instance that adds one (100)",
    "ONEVICE_AUTOSCALE_DOWN_THRESHOLD": "backlog per instance below which it may "
    "remove one (10)",
    "ONEVICE_AUTOSCALE_DOWN_WINDOW_SECONDS": "how long the backlog must stay below "
    "the down threshold before removing one (600)",
    "ONEVICE_AUTOSCALE_COOLDOWN_SECONDS": "no change this long after a change (120)",
    "ONEVICE_AUTOSCALE_INTERVAL_SECONDS": "seconds between measurements (15)",
    "RENDER_API_KEY": "Render API key the autoscaler scales the worker service with",
    "RENDER_WORKER_SERVICE_ID": "the worker service's id at Render (srv-...)",
    "RENDER_API_URL": "Render's API (https://api.render.com)",
    "ONEVICE_LOG_FORMAT": "console or json (json in production)",
    "ONEVICE_LOG_LEVEL": "DEBUG, INFO, WARNING (default INFO)",
}


class SettingsError(ValueError):
    """An environment variable holds a value OneVice cannot use."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything OneVice is configured with, in one typed value."""

    env: str = "development"
    data_dir: Path = Path(".data")
    database_url: str | None = None
    redis_url: str | None = None
    neo4j_uri: str | None = None
    neo4j_user: str = "neo4j"
    neo4j_password: str = dataclasses.field(default="", repr=False)
    host: str = "127.0.0.1"
    port: int = 8080
    jwt_issuer: str = "https://onevice.local/dev-issuer"
    jwt_audience: str = "https://api.onevice.com"
    signing_key_file: Path | None = None
    max_token_ttl_seconds: int = 86400
    clerk_issuer: str | None = None
    clerk_jwks_url: str | None = None
    clerk_sign_in_url: str | None = None
    clerk_jwks_min_refresh_seconds: float = 10.0
    redirect_allowlist: tuple[str, ...] = ()
    okta_issuer: str | None = None
    okta_client_id: str | None = None
    okta_client_secret: str | None = dataclasses.field(default=None, repr=False)
    okta_redirect_uri: str | None = None
    okta_group_roles: tuple[tuple[str, str], ...] = ()
    okta_org_id: str = "org_onevice"
    access_token_ttl_seconds: int = 3600
    refresh_token_ttl_seconds: int = 30 * 86400
    query_wait_seconds: float = 30.0
    query_time_limit_seconds: float = 300.0
    visibility_timeout_seconds: float = 600.0
    stream_ttl_seconds: int = 3600
    max_body_bytes: int = 64 * 1024
    max_ws_frame_bytes: int = 64 * 1024
    ws_send_queue: int = 512
    max_concurrent_queries: int = 3
    agent_modules: tuple[str, ...] = ()
    default_plan: str = "Enterprise"
    org_plans: tuple[tuple[str, str], ...] = ()
    worker_concurrency: int = 50
    shutdown_timeout_seconds: float = 10.0
    load_check_seconds: float = 2.0
    degraded_wait_seconds: float = 5.0
    degraded_loop_lag_seconds: float = 0.25
    alternative_endpoints: tuple[str, ...] = ()
    anthropic_api_key: str | None = dataclasses.field(default=None, repr=False)
    anthropic_base_url: str | None = None
    anthropic_model: str = "claude-sonnet-5-5"
    anthropic_max_tokens: int = 1024
    anthropic_timeout_seconds: float = 30.0
    anthropic_max_retries: int = 2
    anthropic_input_usd_per_mtok: float = 3.0
    anthropic_output_usd_per_mtok: float = 15.0
    langsmith_api_key: str | None = dataclasses.field(default=None, repr=False)
    langsmith_endpoint: str | None = None
    langsmith_project: str = "onevice"
    autoscale_min_instances: int = 1
    autoscale_max_instances: int = 5
    autoscale_up_threshold: int = 100
    autoscale_down_threshold: int = 10
    autoscale_down_window_seconds: int = 600
    autoscale_cooldown_seconds: int = 120
    autoscale_interval_seconds: float = 15.0
    render_api_key: str | None = dataclasses.field(default=None, repr=False)
    render_worker_service_id: str | None = None
    render_api_url: str = "https://api.render.com"
    log_format: LogFormat = "console"
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        if not 0 < self.access_token_ttl_seconds <= self.max_token_ttl_seconds:
            raise SettingsError(
                "ONEVICE_ACCESS_TOKEN_TTL_SECONDS must be positive and at most "
                "ONEVICE_MAX_TOKEN_TTL_SECONDS"
            )
        for plan in (self.default_plan, *(plan for _, plan in self.org_plans)):
            if plan not in PLANS:
                raise SettingsError(
                    f"unknown plan {plan!r}; plans are {', '.join(PLANS)}"
                )
        if self.visibility_timeout_seconds <= self.query_time_limit_seconds:
            raise SettingsError(
                "ONEVICE_VISIBILITY_TIMEOUT_SECONDS must exceed "
                "ONEVICE_QUERY_TIME_LIMIT_SECONDS, or the broker hands a running "
                "query to a second worker"
            )
        if not 1 <= self.autoscale_min_instances <= self.autoscale_max_instances:
            raise SettingsError(
                "ONEVICE_AUTOSCALE_MIN_INSTANCES must be at least 1 and at most "
                "ONEVICE_AUTOSCALE_MAX_INSTANCES"
            )
        if self.autoscale_down_threshold >= self.autoscale_up_threshold:
            raise SettingsError(
                "ONEVICE_AUTOSCALE_DOWN_THRESHOLD must be below "
                "ONEVICE_AUTOSCALE_UP_THRESHOLD, or the worker tier would flap"
            )

    @property
    def signing_key_path(self) -> Path:
        """The keyring file of the local issuer."""
        return self.signing_key_file or self.data_dir / "keys" / "signing-keys.json"

    def require_database_url(self) -> str:
        if not self.database_url:
            raise SettingsError("DATABASE_URL is not set")
        return self.database_url

    def require_redis_url(self) -> str:
        if not self.redis_url:
            raise SettingsError("REDIS_URL is not set")
        return self.redis_url

    def to_environ(self) -> dict[str, str]:
        """The environment that ``from_env`` reads back into these settings.

        For starting child processes (the dev stack, tests, benchmarks) that
        must act with exactly these settings.
        """
        optional = {
            "CLERK_ISSUER": self.clerk_issuer,
            "CLERK_JWKS_URL": self.clerk_jwks_url,
            "CLERK_SIGN_IN_URL": self.clerk_sign_in_url,
            "DATABASE_URL": self.database_url,
            "OKTA_ISSUER": self.okta_issuer,
            "OKTA_CLIENT_ID": self.okta_client_id,
            "OKTA_CLIENT_SECRET": self.okta_client_secret,
            "OKTA_REDIRECT_URI": self.okta_redirect_uri,
            "REDIS_URL": self.redis_url,
            "NEO4J_URI": self.neo4j_uri,
            "ONEVICE_SIGNING_KEY_FILE": self.signing_key_file,
            "ANTHROPIC_API_KEY": self.anthropic_api_key,
            "ANTHROPIC_BASE_URL": self.anthropic_base_url,
            "LANGSMITH_API_KEY": self.langsmith_api_key,
            "LANGSMITH_ENDPOINT": self.langsmith_endpoint,
            "RENDER_API_KEY": self.render_api_key,
            "RENDER_WORKER_SERVICE_ID": self.render_worker_service_id,
        }
        return {name: str(value) for name, value in optional.items() if value} | {
            "ONEVICE_ENV": self.env,
            "ONEVICE_DATA_DIR": str(self.data_dir),
            "NEO4J_USER": self.neo4j_user,
            "NEO4J_PASSWORD": self.neo4j_password,
            "HOST": self.host,
            "PORT": str(self.port),
            "ONEVICE_JWT_ISSUER": self.jwt_issuer,
            "ONEVICE_JWT_AUDIENCE": self.jwt_audience,
            "ONEVICE_MAX_TOKEN_TTL_SECONDS": str(self.max_token_ttl_seconds),
            "ONEVICE_ACCESS_TOKEN_TTL_SECONDS": str(self.access_token_ttl_seconds),
            "ONEVICE_REFRESH_TOKEN_TTL_SECONDS": str(self.refresh_token_ttl_seconds),
            "ONEVICE_QUERY_WAIT_SECONDS": str(self.query_wait_seconds),
            "ONEVICE_QUERY_TIME_LIMIT_SECONDS": str(self.query_time_limit_seconds),
            "ONEVICE_VISIBILITY_TIMEOUT_SECONDS": str(self.visibility_timeout_seconds),
            "ONEVICE_STREAM_TTL_SECONDS": str(self.stream_ttl_seconds),
            "ONEVICE_MAX_BODY_BYTES": str(self.max_body_bytes),
            "ONEVICE_MAX_WS_FRAME_BYTES": str(self.max_ws_frame_bytes),
            "ONEVICE_WS_SEND_QUEUE": str(self.ws_send_queue),
            "ONEVICE_MAX_CONCURRENT_QUERIES": str(self.max_concurrent_queries),
            "ONEVICE_AGENT_MODULES": ",".join(self.agent_modules),
            "ONEVICE_WORKER_CONCURRENCY": str(self.worker_concurrency),
            "ONEVICE_SHUTDOWN_TIMEOUT_SECONDS": str(self.shutdown_timeout_seconds),
            "ONEVICE_LOAD_CHECK_SECONDS": str(self.load_check_seconds),
            "ONEVICE_DEGRADED_WAIT_SECONDS": str(self.degraded_wait_seconds),
            "ONEVICE_DEGRADED_LOOP_LAG_SECONDS": str(self.degraded_loop_lag_seconds),
            "ONEVICE_ALTERNATIVE_ENDPOINTS": ",".join(self.alternative_endpoints),
            "CLERK_JWKS_MIN_REFRESH_SECONDS": str(self.clerk_jwks_min_refresh_seconds),
            "OKTA_GROUP_ROLES": ",".join(f"{g}={r}" for g, r in self.okta_group_roles),
            "OKTA_ORG_ID": self.okta_org_id,
            "ONEVICE_DEFAULT_PLAN": self.default_plan,
            "ONEVICE_REDIRECT_ALLOWLIST": ",".join(self.redirect_allowlist),
            "ONEVICE_ORG_PLANS": ",".join(f"{k}={v}" for k, v in self.org_plans),
            "ANTHROPIC_MODEL": self.anthropic_model,
            "ANTHROPIC_MAX_TOKENS": str(self.anthropic_max_tokens),
            "ANTHROPIC_TIMEOUT_SECONDS": str(self.anthropic_timeout_seconds),
            "ANTHROPIC_MAX_RETRIES": str(self.anthropic_max_retries),
            "ANTHROPIC_INPUT_USD_PER_MTOK": str(self.anthropic_input_usd_per_mtok),
            "ANTHROPIC_OUTPUT_USD_PER_MTOK": str(self.anthropic_output_usd_per_mtok),
            "LANGSMITH_PROJECT": self.langsmith_project,
            **self._autoscale_environ(),
            "ONEVICE_LOG_FORMAT": self.log_format,
            "ONEVICE_LOG_LEVEL": self.log_level,
        }

    def _autoscale_environ(self) -> dict[str, str]:
        return {
            "ONEVICE_AUTOSCALE_MIN_INSTANCES": str(self.autoscale_min_instances),
            "ONEVICE_AUTOSCALE_MAX_INSTANCES": str(self.autoscale_max_instances),
            "ONEVICE_AUTOSCALE_UP_THRESHOLD": str(self.autoscale_up_threshold),
            "ONEVICE_AUTOSCALE_DOWN_THRESHOLD": str(self.autoscale_down_threshold),
            "ONEVICE_AUTOSCALE_DOWN_WINDOW_SECONDS": str(
                self.autoscale_down_window_seconds
            ),
            "ONEVICE_AUTOSCALE_COOLDOWN_SECONDS": str(self.autoscale_cooldown_seconds),
            "ONEVICE_AUTOSCALE_INTERVAL_SECONDS": str(self.autoscale_interval_seconds),
            "RENDER_API_URL": self.render_api_url,
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from ``environ`` (the process environment by default)."""
        env = os.environ if environ is None else environ
        reader = _Reader(env)
        production = env.get("ONEVICE_ENV", "development") == "production"
        return cls(
            env=env.get("ONEVICE_ENV", "development"),
            data_dir=Path(env.get("ONEVICE_DATA_DIR", ".data")).absolute(),
            database_url=env.get("DATABASE_URL") or None,
            redis_url=env.get("REDIS_URL") or None,
            neo4j_uri=env.get("NEO4J_URI") or None,
            neo4j_user=env.get("NEO4J_USER", "neo4j"),
            neo4j_password=env.get("NEO4J_PASSWORD", ""),
            host=env.get("HOST", "0.0.0.0" if production else "127.0.0.1"),
            port=reader.integer("PORT", 8080),
            jwt_issuer=env.get("ONEVICE_JWT_ISSUER", cls.jwt_issuer),
            jwt_audience=env.get("ONEVICE_JWT_AUDIENCE", cls.jwt_audience),
            signing_key_file=reader.path("ONEVICE_SIGNING_KEY_FILE"),
            max_token_ttl_seconds=reader.integer(
                "ONEVICE_MAX_TOKEN_TTL_SECONDS", 86400
            ),
            access_token_ttl_seconds=reader.integer(
                "ONEVICE_ACCESS_TOKEN_TTL_SECONDS", 3600
            ),
            clerk_issuer=env.get("CLERK_ISSUER") or None,
            clerk_jwks_url=env.get("CLERK_JWKS_URL") or None,
            clerk_sign_in_url=env.get("CLERK_SIGN_IN_URL") or None,
            clerk_jwks_min_refresh_seconds=reader.number(
                "CLERK_JWKS_MIN_REFRESH_SECONDS", 10.0
            ),
            redirect_allowlist=reader.items("ONEVICE_REDIRECT_ALLOWLIST"),
            okta_issuer=env.get("OKTA_ISSUER") or None,
            okta_client_id=env.get("OKTA_CLIENT_ID") or None,
            okta_client_secret=env.get("OKTA_CLIENT_SECRET") or None,
            okta_redirect_uri=env.get("OKTA_REDIRECT_URI") or None,
            okta_group_roles=reader.pairs("OKTA_GROUP_ROLES"),
            okta_org_id=env.get("OKTA_ORG_ID", "org_onevice"),
            refresh_token_ttl_seconds=reader.integer(
                "ONEVICE_REFRESH_TOKEN_TTL_SECONDS", 30 * 86400
            ),
            query_wait_seconds=reader.number("ONEVICE_QUERY_WAIT_SECONDS", 30.0),
            query_time_limit_seconds=reader.number(
                "ONEVICE_QUERY_TIME_LIMIT_SECONDS", 300.0
            ),
            visibility_timeout_seconds=reader.number(
                "ONEVICE_VISIBILITY_TIMEOUT_SECONDS", 600.0
            ),
            stream_ttl_seconds=reader.integer("ONEVICE_STREAM_TTL_SECONDS", 3600),
            max_body_bytes=reader.integer("ONEVICE_MAX_BODY_BYTES", 64 * 1024),
            max_ws_frame_bytes=reader.integer("ONEVICE_MAX_WS_FRAME_BYTES", 64 * 1024),
            ws_send_queue=reader.integer("ONEVICE_WS_SEND_QUEUE", 512),
            max_concurrent_queries=reader.integer("ONEVICE_MAX_CONCURRENT_QUERIES", 3),
            agent_modules=reader.items("ONEVICE_AGENT_MODULES"),
            worker_concurrency=reader.integer("ONEVICE_WORKER_CONCURRENCY", 50),
            shutdown_timeout_seconds=reader.number(
                "ONEVICE_SHUTDOWN_TIMEOUT_SECONDS", 10.0
            ),
            load_check_seconds=reader.number("ONEVICE_LOAD_CHECK_SECONDS", 2.0),
            degraded_wait_seconds=reader.number("ONEVICE_DEGRADED_WAIT_SECONDS", 5.0),
            degraded_loop_lag_seconds=reader.number(
                "ONEVICE_DEGRADED_LOOP_LAG_SECONDS", 0.25
            ),
            alternative_endpoints=reader.items("ONEVICE_ALTERNATIVE_ENDPOINTS"),
            default_plan=env.get("ONEVICE_DEFAULT_PLAN", "Enterprise"),
            org_plans=reader.pairs("ONEVICE_ORG_PLANS"),
            anthropic_api_key=env.get("ANTHROPIC_API_KEY") or None,
            anthropic_base_url=env.get("ANTHROPIC_BASE_URL") or None,
            anthropic_model=env.get("ANTHROPIC_MODEL") or cls.anthropic_model,
            anthropic_max_tokens=reader.integer("ANTHROPIC_MAX_TOKENS", 1024),
            anthropic_timeout_seconds=reader.number("ANTHROPIC_TIMEOUT_SECONDS", 30.0),
            anthropic_max_retries=reader.integer("ANTHROPIC_MAX_RETRIES", 2),
            anthropic_input_usd_per_mtok=reader.number(
                "ANTHROPIC_INPUT_USD_PER_MTOK", 3.0
            ),
            anthropic_output_usd_per_mtok=reader.number(
                "ANTHROPIC_OUTPUT_USD_PER_MTOK", 15.0
            ),
            langsmith_api_key=env.get("LANGSMITH_API_KEY") or None,
            langsmith_endpoint=env.get("LANGSMITH_ENDPOINT") or None,
            langsmith_project=env.get("LANGSMITH_PROJECT") or "onevice",
            autoscale_min_instances=reader.integer(
                "ONEVICE_AUTOSCALE_MIN_INSTANCES", 1
            ),
            autoscale_max_instances=reader.integer(
                "ONEVICE_AUTOSCALE_MAX_INSTANCES", 5
            ),
            autoscale_up_threshold=reader.integer(
                "ONEVICE_AUTOSCALE_UP_THRESHOLD", 100
            ),
            autoscale_down_threshold=reader.integer(
                "ONEVICE_AUTOSCALE_DOWN_THRESHOLD", 10
            ),
            autoscale_down_window_seconds=reader.integer(
                "ONEVICE_AUTOSCALE_DOWN_WINDOW_SECONDS", 600
            ),
            autoscale_cooldown_seconds=reader.integer(
                "ONEVICE_AUTOSCALE_COOLDOWN_SECONDS", 120
            ),
            autoscale_interval_seconds=reader.number(
                "ONEVICE_AUTOSCALE_INTERVAL_SECONDS", 15.0
            ),
            render_api_key=env.get("RENDER_API_KEY") or None,
            render_worker_service_id=env.get("RENDER_WORKER_SERVICE_ID") or None,
            render_api_url=env.get("RENDER_API_URL") or cls.render_api_url,
            log_format=reader.log_format(production),
            log_level=env.get("ONEVICE_LOG_LEVEL", "INFO").upper(),
        )


@dataclasses.dataclass(frozen=True)
class _Reader:
    env: Mapping[str, str]

    def integer(self, name: str, default: int) -> int:
        raw = self.env.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
        if value < 0:
            raise SettingsError(f"{name} must not be negative, got {value}")
        return value

    def number(self, name: str, default: float) -> float:
        raw = self.env.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a number, got {raw!r}") from None
        if value <= 0:
            raise SettingsError(f"{name} must be positive, got {value}")
        return value

    def path(self, name: str) -> Path | None:
        raw = self.env.get(name)
        return Path(raw).absolute() if raw else None

    def items(self, name: str) -> tuple[str, ...]:
        raw = self.env.get(name, "")
        return tuple(item.strip() for item in raw.split(",") if item.strip())

    def pairs(self, name: str) -> tuple[tuple[str, str], ...]:
        pairs = []
        for item in self.env.get(name, "").split(","):
            if not item.strip():
                continue
            key, sep, value = item.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise SettingsError(f"{name} items must be key=value, got {item!r}")
            pairs.append((key.strip(), value.strip()))
        return tuple(pairs)

    def log_format(self, production: bool) -> LogFormat:
        raw = self.env.get("ONEVICE_LOG_FORMAT", "json" if production else "console")
        if raw not in ("console", "json"):
            raise SettingsError(f"ONEVICE_LOG_FORMAT must be console or json: {raw!r}")
        return "json" if raw == "json" else "console"
