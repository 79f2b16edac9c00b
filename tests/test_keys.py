"""Key rotation: new tokens use the new key, old tokens live out their lifetime."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import pytest

from onevice import cli
from onevice.base.errors import AuthenticationError, ValidationError
from onevice.base.settings import Settings, SettingsError
from onevice.identity.keys import KeyringFile
from onevice.identity.tokens import TokenIssuer, TokenVerifier
from tests.fix_stack import StartWeb


@pytest.fixture
def own_keys(settings: Settings, tmp_path: Path) -> Settings:
    """Settings with a keyring of this test's own (made here, off the event loop)."""
    own = dataclasses.replace(settings, data_dir=tmp_path)
    KeyringFile.for_settings(own)
    return own


async def test_jwks_publishes_public_keys_only(
    start_web: StartWeb, own_keys: Settings
) -> None:
    """/.well-known/jwks.json lists the signing key without its private parts."""
    web = await start_web(own_keys)
    async with web.session.get("/.well-known/jwks.json") as response:
        jwks = await response.json()
    await web.close()
    active = KeyringFile.for_settings(own_keys).current().active
    assert [key["kid"] for key in jwks["keys"]] == [active.kid]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwks["keys"][0])


async def test_rotation_keeps_old_tokens_and_publishes_both_keys(
    start_web: StartWeb, own_keys: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a rotation a running server accepts old and new tokens alike."""
    web = await start_web(own_keys)
    issuer = TokenIssuer.from_settings(own_keys)
    old_token = issuer.mint(role="Director")
    monkeypatch.setenv("ONEVICE_DATA_DIR", str(own_keys.data_dir))
    # Making an RSA key takes a while: off the event loop, like any CLI call.
    assert await asyncio.to_thread(cli.main, ["keys", "rotate"]) == 0
    new_token = issuer.mint(role="Director")
    statuses = []
    for token in (old_token, new_token):
        async with web.session.get(
            "/queries/query_missing", headers={"Authorization": f"Bearer {token}"}
        ) as response:
            statuses.append(response.status)
    async with web.session.get("/.well-known/jwks.json") as response:
        kids = [key["kid"] for key in (await response.json())["keys"]]
    await web.close()
    assert statuses == [404, 404]
    assert kids == ["onevice_key_2", "onevice_key_1"]


def test_pruning_drops_a_key_once_its_tokens_have_expired(own_keys: Settings) -> None:
    """A key retired longer ago than the longest token lifetime is pruned."""
    keyring_file = KeyringFile.for_settings(own_keys)
    old_token = TokenIssuer.from_settings(own_keys).mint(role="Director")
    now = int(time.time())
    keyring_file.save(keyring_file.current().rotated(now))
    later = now + own_keys.max_token_ttl_seconds + 1
    keyring_file.save(
        keyring_file.current().pruned(later, own_keys.max_token_ttl_seconds)
    )
    assert [stored.kid for stored in keyring_file.current().keys] == ["onevice_key_2"]
    with pytest.raises(AuthenticationError):
        asyncio.run(TokenVerifier.from_settings(own_keys).verify(old_token))


def test_pruning_keeps_a_key_whose_tokens_may_be_alive(own_keys: Settings) -> None:
    """Right after a rotation, pruning keeps the previous key."""
    keyring_file = KeyringFile.for_settings(own_keys)
    now = int(time.time())
    keyring = keyring_file.current().rotated(now)
    assert len(keyring.pruned(now + 60, own_keys.max_token_ttl_seconds).keys) == 2


def test_tokens_longer_than_the_maximum_are_refused(own_keys: Settings) -> None:
    """A token lifetime above the maximum cannot be minted (pruning relies on it)."""
    issuer = TokenIssuer.from_settings(own_keys)
    with pytest.raises(ValidationError):
        issuer.mint(role="Director", ttl=own_keys.max_token_ttl_seconds + 1)


def test_production_never_invents_a_keyring(tmp_path: Path) -> None:
    """In production a missing keyring is an error, not new keys per instance."""
    production = Settings(env="production", data_dir=tmp_path)
    with pytest.raises(SettingsError, match="ONEVICE_SIGNING_KEY_FILE"):
        TokenVerifier.from_settings(production)
    assert not production.signing_key_path.exists()
