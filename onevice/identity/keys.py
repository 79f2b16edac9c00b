"""The local issuer's signing keys: a keyring that rotates without breaking tokens.

The keyring is a JSON file of private RSA keys, oldest first; the newest signs,
and every key in the file verifies. Rotating appends a key, so tokens signed by
the previous one stay valid until they expire; pruning later drops a key once
no token it signed can still be alive (its successor is older than the longest
token lifetime). ``/.well-known/jwks.json`` publishes the public halves.

Processes re-read the file when it changes (a ``stat`` per use), so a rotation
reaches every web and worker process without a restart.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Final

import orjson
from joserfc.jwk import KeySet, RSAKey

from onevice.base.settings import Settings, SettingsError

KEY_ID_PREFIX: Final = "onevice_key_"
_KEY_BITS: Final = 2048


@dataclasses.dataclass(frozen=True)
class StoredKey:
    """A private key and when it was made (unix seconds)."""

    created_at: int
    key: RSAKey

    @property
    def kid(self) -> str:
        return str(self.key.kid)


@dataclasses.dataclass(frozen=True)
class Keyring:
    """The issuer's keys, oldest first; the last one signs."""

    keys: tuple[StoredKey, ...]

    @property
    def active(self) -> RSAKey:
        return self.keys[-1].key

    def verification_keys(self) -> KeySet:
        """The public halves of every key, for verifying tokens."""
        return KeySet([_public(stored.key) for stored in self.keys])

    def public_jwks(self) -> dict[str, Any]:
        """The JWKS document: public keys only, newest first."""
        return {
            "keys": [_public(stored.key).as_dict() for stored in reversed(self.keys)]
        }

    def rotated(self, now: int) -> Keyring:
        """A keyring with a new signing key added after the current ones."""
        number = 1 + max((_number(stored.kid) for stored in self.keys), default=0)
        return Keyring((*self.keys, new_key(number, now)))

    def pruned(self, now: int, max_token_ttl: int) -> Keyring:
        """Without the keys no live token can have been signed by.

        A key stops signing when its successor is made; tokens it signed
        expire at most ``max_token_ttl`` later.
        """
        kept = [
            stored
            for stored, successor in zip(self.keys, self.keys[1:], strict=False)
            if successor.created_at + max_token_ttl > now
        ]
        return Keyring((*kept, self.keys[-1]))

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "keys": [
                    {"created_at": s.created_at, "jwk": s.key.as_dict(private=True)}
                    for s in self.keys
                ]
            }
        )

    @classmethod
    def from_json(cls, data: bytes) -> Keyring:
        entries = orjson.loads(data)["keys"]
        if not entries:
            raise SettingsError("the signing keyring holds no key")
        return cls(
            tuple(
                StoredKey(int(entry["created_at"]), RSAKey.import_key(entry["jwk"]))
                for entry in entries
            )
        )


def new_key(number: int, now: int) -> StoredKey:
    key = RSAKey.generate_key(
        _KEY_BITS, parameters={"kid": f"{KEY_ID_PREFIX}{number}", "use": "sig"}
    )
    return StoredKey(now, key)


class KeyringFile:
    """The keyring on disk, re-read whenever the file changes."""

    def __init__(self, path: Path):
        self.path = path
        self._loaded: tuple[float, Keyring] | None = None

    @classmethod
    def for_settings(cls, settings: Settings) -> KeyringFile:
        """The configured keyring; created on first use in development only.

        In production every instance must share the keyring, so a missing file
        is an error there, never a reason to make new keys.
        """
        keyring = cls(settings.signing_key_path)
        if not keyring.path.exists():
            if settings.env == "production":
                raise SettingsError(
                    f"signing keyring {keyring.path} is missing; set "
                    "ONEVICE_SIGNING_KEY_FILE to the keyring all instances share"
                )
            keyring.create()
        return keyring

    def current(self) -> Keyring:
        """The keyring as the file holds it now."""
        mtime = self.path.stat().st_mtime
        if self._loaded is None or self._loaded[0] != mtime:
            self._loaded = (mtime, Keyring.from_json(self.path.read_bytes()))
        return self._loaded[1]

    def create(self) -> None:
        """Write a keyring with one key, unless another process got there first."""
        self._write(Keyring((new_key(1, int(time.time())),)), replace=False)

    def save(self, keyring: Keyring) -> None:
        """Replace the file atomically (readers see the old or the new keyring)."""
        self._write(keyring, replace=True)

    def _write(self, keyring: Keyring, *, replace: bool) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".keyring-")
        try:
            with os.fdopen(fd, "wb") as handle:  # mkstemp makes it 0600
                handle.write(keyring.to_json())
            if replace:
                os.replace(temporary, self.path)
            else:
                # Fails if the file exists: another process created it first,
                # and theirs is the one everybody uses.
                with contextlib.suppress(FileExistsError):
                    os.link(temporary, self.path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)


def _public(key: RSAKey) -> RSAKey:
    return RSAKey.import_key(key.as_dict(private=False))


def _number(kid: str) -> int:
    suffix = kid.removeprefix(KEY_ID_PREFIX)
    return int(suffix) if suffix.isdigit() else 0
