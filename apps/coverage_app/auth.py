"""Log-in with a file of hashed passwords (Panel's basic auth stores them in plain text).

The users file is JSON, ``{"user": "scrypt$16384$8$1$<salt hex>$<hash hex>"}``, written by
``coverage app-user FILE NAME``. Passwords are checked with :func:`hashlib.scrypt` and
:func:`hmac.compare_digest`; the rest (log-in page, signed cookies, log-out) is Panel's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

from panel.auth import BasicAuthProvider, BasicLoginHandler

__all__ = ["HashedAuthProvider", "add_user", "hash_password", "verify_password"]

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """Return the scrypt hash of a password, with its parameters and salt."""
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a hash made by :func:`hash_password`."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    got = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n),
                         r=int(r), p=int(p), dklen=len(digest) // 2)
    return hmac.compare_digest(got.hex(), digest)


def add_user(users_file: Path, name: str, password: str) -> None:
    """Add or replace a user in the users file (created when missing)."""
    users = json.loads(users_file.read_text("utf-8")) if users_file.exists() else {}
    users[name] = hash_password(password)
    users_file.write_text(json.dumps(users, indent=2, ensure_ascii=False) + "\n", "utf-8")
    users_file.chmod(0o600)


class HashedAuthProvider(BasicAuthProvider):
    """Panel's log-in page and cookies, with passwords checked against scrypt hashes."""

    def __init__(self, users_file: Path, **kwargs: object) -> None:
        self.users_file = Path(users_file)
        if not self.users_file.is_file():
            msg = f"{self.users_file}: no users file; create one with `coverage app-user`"
            raise ValueError(msg)
        super().__init__(**kwargs)

    @property
    def login_handler(self) -> type[BasicLoginHandler]:
        users_file = self.users_file
        base = super().login_handler

        class Handler(base):  # type: ignore[misc, valid-type]
            def _validate(self, username: str, password: str) -> bool:
                users = json.loads(users_file.read_text("utf-8"))
                stored = users.get(username)
                return isinstance(stored, str) and verify_password(password, stored)

        return Handler
