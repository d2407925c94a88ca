"""Who a request says it is: HTTP Basic credentials, or a signed session cookie (itsdangerous).

A session names its account and the account's serial: re-creating or revoking the account ends every
session issued before. The signing key is one owner-only file per data folder, shared by worker and sink.
"""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

from stack.files import write_private

from .accounts import Account, Accounts

COOKIE = "p06_session"
SECRET_FILE = "session.key"


def session_secret(data_dir: Path) -> bytes:
    """The key that signs session cookies, made once per data folder (owner-only); worker and sink share it."""
    path = data_dir / SECRET_FILE
    if not path.exists():
        # exclusive: a worker and a sink starting together agree on one key
        write_private(path, secrets.token_hex(32), exclusive=True)
    return path.read_text().strip().encode()


def basic_credentials(authorization: str) -> tuple[str, str] | None:
    """(name, password) of an `Authorization: Basic ...` header; None for another scheme or a malformed value."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        name, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (name, password) if sep else None


class Sessions:
    """Signed session tokens of one data folder's accounts, valid for lifetime_s after they were issued."""

    def __init__(self, accounts: Accounts, lifetime_s: float) -> None:
        self.accounts = accounts
        self.lifetime_s = lifetime_s
        self._serializer: URLSafeTimedSerializer | None = None
        self._key: bytes | None = None

    def key(self) -> bytes:
        """The folder's session key (also the CSRF tokens'); read on first use: the other process may make it."""
        if self._key is None:
            self._key = session_secret(self.accounts.data_dir)
        return self._key

    def _signer(self) -> URLSafeTimedSerializer:
        if self._serializer is None:
            self._serializer = URLSafeTimedSerializer(self.key(), salt="p06-session")
        return self._serializer

    def issue(self, account: Account) -> str:
        return self._signer().dumps({"u": account.name, "s": account.serial})

    def account(self, token: str) -> Account | None:
        """The live account behind a token; None if tampered, expired, revoked or re-created since."""
        try:
            # a float: a lifetime of a few seconds (the tests') stays exact; itsdangerous only compares it
            data = self._signer().loads(token, max_age=self.lifetime_s)  # type: ignore[arg-type]
        except BadSignature:  # tampered, or older than max_age (SignatureExpired is a BadSignature)
            return None
        account = self.accounts.all().get(data.get("u", "")) if isinstance(data, dict) else None
        if account is None or account.revoked or account.serial != data.get("s"):
            return None
        return account

    def revoked_holder(self, token: str) -> str | None:
        """The account name of a genuine, unexpired token whose account was revoked or re-created since it
        was issued (what the guard records as `revoked`); None for any other token."""
        try:
            data = self._signer().loads(token, max_age=self.lifetime_s)  # type: ignore[arg-type]
        except BadSignature:
            return None
        name = data.get("u", "") if isinstance(data, dict) else ""
        account = self.accounts.all().get(name)
        return name if account is not None and (account.revoked or account.serial != data.get("s")) else None
