"""Settings come from the environment, once, with clear errors."""

from __future__ import annotations

import pytest

from onevice.base.settings import Settings, SettingsError


def test_defaults_bind_loopback_on_8080() -> None:
    """With nothing set, the web tier binds 127.0.0.1:8080."""
    settings = Settings.from_env({})
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)


def test_production_defaults_to_json_logs_on_all_interfaces() -> None:
    """ONEVICE_ENV=production switches to JSON logs and binding every interface."""
    settings = Settings.from_env({"ONEVICE_ENV": "production"})
    assert (settings.log_format, settings.host) == ("json", "0.0.0.0")


def test_non_numeric_port_is_refused() -> None:
    """A PORT that is not a number is a SettingsError naming the variable."""
    with pytest.raises(SettingsError, match="PORT"):
        Settings.from_env({"PORT": "eighty"})


def test_visibility_timeout_must_exceed_the_time_limit() -> None:
    """A visibility timeout at or below the query time limit is refused."""
    with pytest.raises(SettingsError, match="VISIBILITY"):
        Settings.from_env(
            {
                "ONEVICE_QUERY_TIME_LIMIT_SECONDS": "60",
                "ONEVICE_VISIBILITY_TIMEOUT_SECONDS": "60",
            }
        )


def test_agent_modules_are_split_on_commas() -> None:
    """ONEVICE_AGENT_MODULES lists modules separated by commas."""
    settings = Settings.from_env({"ONEVICE_AGENT_MODULES": "a.b, c ,"})
    assert settings.agent_modules == ("a.b", "c")


def test_to_environ_reads_back_into_the_same_settings() -> None:
    """Settings written to an environment and read again are equal."""
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://db/x",
            "REDIS_URL": "redis://r/1",
            "PORT": "9000",
            "ONEVICE_AGENT_MODULES": "tests.agents",
            "ONEVICE_QUERY_TIME_LIMIT_SECONDS": "12.5",
            "ONEVICE_VISIBILITY_TIMEOUT_SECONDS": "20",
            "ONEVICE_AUTOSCALE_COOLDOWN_SECONDS": "0",
            "ONEVICE_AUTOSCALE_INTERVAL_SECONDS": "2.5",
            "RENDER_API_KEY": "rnd_x",
            "RENDER_WORKER_SERVICE_ID": "srv-x",
            "RENDER_API_URL": "http://127.0.0.1:9/",
        }
    )
    assert Settings.from_env(settings.to_environ()) == settings


def test_autoscale_down_threshold_must_be_below_the_up_threshold() -> None:
    """A down threshold at or above the up threshold would flap; it is refused."""
    with pytest.raises(SettingsError, match="DOWN_THRESHOLD"):
        Settings.from_env(
            {
                "ONEVICE_AUTOSCALE_UP_THRESHOLD": "10",
                "ONEVICE_AUTOSCALE_DOWN_THRESHOLD": "10",
            }
        )


def test_autoscale_bounds_must_be_ordered() -> None:
    """A minimum above the maximum is refused, naming the variable."""
    with pytest.raises(SettingsError, match="MIN_INSTANCES"):
        Settings.from_env(
            {
                "ONEVICE_AUTOSCALE_MIN_INSTANCES": "4",
                "ONEVICE_AUTOSCALE_MAX_INSTANCES": "3",
            }
        )


def test_the_render_api_key_is_not_in_the_repr() -> None:
    """Printing the settings does not show the Render API key."""
    settings = Settings.from_env({"RENDER_API_KEY": "rnd_secret_value"})
    assert "rnd_secret_value" not in repr(settings)
