"""The local issuer: tokens `onevice token` prints are accepted by the stack."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from onevice import cli
from onevice.base.settings import Settings
from onevice.identity.tokens import TokenIssuer, TokenVerifier


def test_cli_token_is_accepted_by_the_verifier(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`onevice token --role Director` prints a token the web tier verifies."""
    monkeypatch.setenv("ONEVICE_DATA_DIR", str(settings.data_dir))
    assert cli.main(["token", "--role", "Director", "--sub", "user_cli"]) == 0
    token = capsys.readouterr().out.strip()
    viewer = asyncio.run(TokenVerifier.from_settings(settings).verify(token))
    assert (viewer.sub, viewer.role, viewer.data_sensitivity_level) == (
        "user_cli",
        "Director",
        2,
    )


def test_cli_rejects_an_unknown_role(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown role is refused by the argument parser with the valid choices."""
    with pytest.raises(SystemExit):
        cli.main(["token", "--role", "Intern"])
    assert "Leadership" in capsys.readouterr().err


def test_signing_key_file_is_private(settings: Settings) -> None:
    """The issuer's private key file is readable by its owner only."""
    TokenIssuer.from_settings(settings)
    mode = Path(settings.signing_key_path).stat().st_mode & 0o777
    assert mode == 0o600
