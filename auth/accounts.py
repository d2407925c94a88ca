"""Operators' accounts and roles: who may read the live API, the dashboard, the reports and /metrics.

One file, DATA_DIR/users.json (owner-only), holds the accounts with argon2 password hashes, re-read
whenever it changes. Roles: `national` sees everything, `province` sees one province and its wards,
`monitor` reads /metrics only. Who is asking is the guard's question (auth.guard, auth.sessions).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from schemas.registry import registry
from stack.files import write_private

ROLES = ("national", "province", "monitor")
USERS_FILE = "users.json"
FIRST_ACCOUNTS = {"admin": "national", "monitor": "monitor"}  # made by `p06 up` on a fresh data folder
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MIN_PASSWORD = 10

_hasher = PasswordHasher()


class AccountError(ValueError):
    """A refused account change; the message says what to do instead."""


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    province: str | None
    hash: str
    serial: str  # changes on every (re-)creation: sessions issued before it stop working
    created: str
    revoked: str | None = None

    @property
    def scope(self) -> str:
        return f"province {self.province}" if self.role == "province" else self.role

    def sees(self, locality: str) -> bool:
        """May read this locality's figures (a province code or a ward code)."""
        if self.role == "national":
            return True
        place = registry().localities.get(locality)
        return self.role == "province" and place is not None and place.province == self.province

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "province": self.province,
            "created": self.created,
            "revoked": self.revoked,
        }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Accounts:
    """The accounts of one data folder; re-read whenever the file changes (a revoke takes effect at once)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / USERS_FILE
        self._stamp: tuple[int, int, int] | None = None
        self._accounts: dict[str, Account] = {}
        self._verified: set[bytes] = set()  # (name, hash, password) digests already checked: argon2 costs ~50 ms
        self._pepper = secrets.token_bytes(32)

    # ---- the file ---------------------------------------------------------------------------------
    def all(self) -> dict[str, Account]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {}
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp != self._stamp:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            self._accounts = {a["name"]: Account(**a) for a in raw.get("accounts", [])}
            self._stamp = stamp
        return self._accounts

    def _save(self, accounts: dict[str, Account]) -> None:
        body = {"accounts": [asdict(a) for a in sorted(accounts.values(), key=lambda a: a.name)]}
        write_private(self.path, json.dumps(body, indent=2) + "\n")

    def add(self, name: str, role: str, password: str, province: str | None = None) -> Account:
        if not NAME.match(name):
            raise AccountError(f"name {name!r}: lower-case letters, digits, '.', '_' or '-', at most 64")
        if role not in ROLES:
            raise AccountError(f"role {role!r}: one of {', '.join(ROLES)}")
        if role == "province" and province not in registry().provinces:
            raise AccountError(f"a province account needs --province with a province code (e.g. 01), got {province!r}")
        if role != "province" and province:
            raise AccountError(f"--province is for --role province only, not {role}")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
        accounts = dict(self.all())
        old = accounts.get(name)
        if old is not None and old.revoked is None:
            raise AccountError(f"{name!r} exists; `p06 users revoke {name}` first to replace it")
        account = Account(
            name, role, province if role == "province" else None, _hasher.hash(password), secrets.token_hex(8), _now()
        )
        accounts[name] = account
        self._save(accounts)
        return account

    def revoke(self, name: str) -> Account:
        accounts = dict(self.all())
        if name not in accounts:
            raise AccountError(f"no account {name!r}; `p06 users list` shows them")
        accounts[name] = replace(accounts[name], revoked=accounts[name].revoked or _now())
        self._save(accounts)
        return accounts[name]

    # ---- a password -------------------------------------------------------------------------------
    def _key(self, account: Account, password: str) -> bytes:
        return hmac.new(self._pepper, f"{account.name}\0{account.hash}\0{password}".encode(), hashlib.sha256).digest()

    def verified(self, name: str, password: str) -> Account | None:
        """The live account if this process verified these very credentials before: no hashing, no throttle."""
        account = self.all().get(name)
        if account is None or account.revoked or self._key(account, password) not in self._verified:
            return None
        return account

    def check_password(self, name: str, password: str) -> Account | None:
        """The live account if password is its own; verified credentials are remembered (argon2 is slow)."""
        account = self.all().get(name)
        if account is None or account.revoked:
            _hasher.hash(password)  # about as slow as a real check: timing does not tell which names exist
            return None
        key = self._key(account, password)
        if key in self._verified:
            return account
        try:
            _hasher.verify(account.hash, password)
        except (VerificationError, InvalidHashError):
            return None
        self._verified.add(key)
        return account


def first_password_file(data_dir: Path, name: str) -> Path:
    return data_dir / f"{name}-password"


def ensure_first_accounts(data_dir: Path) -> list[Path]:
    """On a data folder without accounts: an `admin` (national) and a `monitor` account with generated
    passwords in owner-only files beside users.json. Returns the files written (none if accounts exist)."""
    accounts = Accounts(data_dir)
    if accounts.all():
        return []
    written = []
    for name, role in FIRST_ACCOUNTS.items():
        password = secrets.token_urlsafe(18)
        accounts.add(name, role, password)
        path = first_password_file(data_dir, name)
        write_private(path, password + "\n")
        written.append(path)
    return written


def client_credentials(settings: Any, kind: str = "operator") -> tuple[str, str] | None:
    """(name, password) a p06 command sends as HTTP Basic: P06_<KIND>_USER with P06_<KIND>_PASSWORD_FILE or
    P06_<KIND>_PASSWORD; without a user, the account `p06 up` made (DATA_DIR/<admin|monitor>-password)."""
    user: str = getattr(settings, f"{kind}_user")
    secret = getattr(settings, f"{kind}_password")
    secret_file: Path | None = getattr(settings, f"{kind}_password_file")
    if not user:
        default = "admin" if kind == "operator" else "monitor"
        path = first_password_file(settings.accounts_folder, default)
        return (default, path.read_text().strip()) if path.exists() else None
    if secret_file is not None:
        return user, Path(secret_file).read_text().strip()
    return (user, secret.get_secret_value()) if secret is not None else None
