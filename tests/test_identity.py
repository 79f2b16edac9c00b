"""The local issuer: tokens `onevice token` prints are accepted by the stack."""

from __future__ import annotations

from pathlib import Path

import pytest
from joserfc.jwk import RSAKey

from onevice import cli
from onevice.base.errors import AuthenticationError
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
    viewer = TokenVerifier.from_settings(settings).verify(token)
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


def test_token_signed_by_another_key_is_refused(settings: Settings) -> None:
    """A well-formed token signed with a key we do not trust fails verification."""
    stranger = RSAKey.generate_key(2048, parameters={"kid": "onevice_key_1"})
    forged = TokenIssuer(
        stranger, issuer=settings.jwt_issuer, audience=settings.jwt_audience
    ).mint(role="Leadership")
    with pytest.raises(AuthenticationError):
        TokenVerifier.from_settings(settings).verify(forged)


def test_token_for_another_audience_is_refused(settings: Settings) -> None:
    """A token minted for another audience is refused."""
    issuer = TokenIssuer.from_settings(settings)
    other = TokenIssuer(issuer.key, issuer=issuer.issuer, audience="https://elsewhere")
    with pytest.raises(AuthenticationError):
        TokenVerifier.from_settings(settings).verify(other.mint(role="Leadership"))


def test_signing_key_file_is_private(settings: Settings) -> None:
    """The issuer's private key file is readable by its owner only."""
    TokenIssuer.from_settings(settings)
    mode = Path(settings.signing_key_path).stat().st_mode & 0o777
    assert mode == 0o600


def test_production_never_invents_a_signing_key(tmp_path: Path) -> None:
    """In production a missing key file is an error, not a new key per instance."""
    from onevice.base.settings import SettingsError

    settings = Settings(env="production", data_dir=tmp_path)
    with pytest.raises(SettingsError, match="ONEVICE_SIGNING_KEY_FILE"):
        TokenVerifier.from_settings(settings)
    assert not settings.signing_key_path.exists()
