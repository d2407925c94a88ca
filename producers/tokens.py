"""Gateway bearer tokens: a file of SHA-256 hashes under DATA_DIR, never the tokens themselves.

A token is 256 random bits, so a plain SHA-256 is enough: there is nothing to brute-force that a slow
password hash would protect. The file is re-read when it changes, so a revoke takes effect at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from schemas import registry
from stack.files import write_private

NATIONAL = "national"
PREFIX = "p06_"


@dataclass(frozen=True, slots=True)
class Token:
    id: str
    name: str
    scope: str  # a province code, or "national"
    sha256: str
    created_at: str

    def allows(self, locality: str) -> bool:
        """A province's token covers the province itself and its wards; a national token covers all."""
        found = registry().get(locality)
        return self.scope == NATIONAL or (found is not None and found.province == self.scope)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._by_hash: dict[str, Token] = {}

    def tokens(self) -> list[Token]:
        if not self.path.exists():
            return []
        return [Token(**t) for t in orjson.loads(self.path.read_bytes())]

    def add(self, scope: str, name: str) -> tuple[Token, str]:
        """A new token for a province code or "national"; the secret is returned once, never stored."""
        if scope != NATIONAL and (registry().get(scope) is None or registry().localities[scope].level != "province"):
            raise ValueError(f"scope must be a province code (e.g. 01) or {NATIONAL!r}, got {scope!r}")
        secret = PREFIX + secrets.token_urlsafe(32)
        created = datetime.now(UTC).isoformat(timespec="seconds")
        token = Token(secrets.token_hex(4), name or scope, scope, digest(secret), created)
        self._save([*self.tokens(), token])
        return token, secret

    def revoke(self, token_id: str) -> bool:
        kept = [t for t in self.tokens() if t.id != token_id]
        if len(kept) == len(self.tokens()):
            return False
        self._save(kept)
        return True

    def lookup(self, secret: str) -> Token | None:
        """The token a bearer secret belongs to, or None."""
        self._refresh()
        return self._by_hash.get(digest(secret))

    def _refresh(self) -> None:
        stat = self.path.stat() if self.path.exists() else None
        stamp = (stat.st_mtime_ns, stat.st_size) if stat else None
        if stamp != self._stamp:
            self._by_hash = {t.sha256: t for t in self.tokens()}
            self._stamp = stamp

    def _save(self, tokens: list[Token]) -> None:
        write_private(self.path, orjson.dumps([asdict(t) for t in tokens], option=orjson.OPT_INDENT_2))


def token_store(data_dir: Path) -> TokenStore:
    return TokenStore(data_dir / "gateway-tokens.json")
