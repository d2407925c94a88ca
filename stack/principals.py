"""SCRAM users of the local broker: created from their password files, added and revoked on demand.

A principal exists on the broker when it has a SCRAM-SHA-512 credential; its password is the file
DATA_DIR/kafka/secrets/users/NAME.password. Revoking deletes the principal's ACLs (its open
connections' next request is refused), the credential (its next connection is refused) and the file,
so a later `p06 stack up` does not bring it back. Adding a principal of the project's table again
grants its rules again.
"""

from __future__ import annotations

import re
from pathlib import Path

from schemas.settings import Settings
from stack.clients import admin_client, password_path

from . import acl, secrets

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise ValueError(f"a Kafka user name is letters, digits, '.', '_' or '-' (at most 100), got {name!r}")
    return name


def existing_users(admin) -> set[str]:  # type: ignore[no-untyped-def]
    return {user for user, info in admin.describe_user_scram_credentials().items() if not info["error"]}


def ensure_users(settings: Settings, secrets_dir: Path, names: list[str]) -> list[str]:
    """Create the SCRAM user of each name that has none yet (password from its file, made if
    missing); names whose file was removed by a revoke are skipped. Returns the names created."""
    from kafka.admin import UserScramCredentialUpsertion

    with admin_client(settings) as admin:
        present = existing_users(admin)
        revoked = _revoked(secrets_dir)
        missing = [n for n in names if n not in present and n not in revoked]
        upserts = [
            UserScramCredentialUpsertion(n, "SCRAM-SHA-512", secrets.ensure_password(secrets_dir, n)) for n in missing
        ]
        if upserts:
            errors = {u: e for u, e in admin.alter_user_scram_credentials(upserts).items() if e}
            if errors:
                raise RuntimeError(f"the broker refused SCRAM users: {errors}")
        return missing


def _revoked_file(secrets_dir: Path) -> Path:
    return secrets_dir / "revoked.txt"


def _revoked(secrets_dir: Path) -> set[str]:
    file = _revoked_file(secrets_dir)
    return set(file.read_text().split()) if file.exists() else set()


def add(settings: Settings, secrets_dir: Path, name: str) -> Path:
    """Create (or re-create after a revoke) a SCRAM user with a new random password; its file's path."""
    from kafka.admin import UserScramCredentialUpsertion

    check_name(name)
    revoked = _revoked(secrets_dir) - {name}
    secrets.write_private(_revoked_file(secrets_dir), "".join(f"{n}\n" for n in sorted(revoked)).encode())
    file = password_path(secrets_dir, name)
    secrets.write_private(file, secrets.new_password().encode())
    with admin_client(settings) as admin:
        errors = admin.alter_user_scram_credentials(
            [UserScramCredentialUpsertion(name, "SCRAM-SHA-512", file.read_text().strip())]
        )
    if errors.get(name):
        raise RuntimeError(f"the broker refused user {name}: {errors[name]}")
    with admin_client(settings) as admin:  # a project principal gets its rules back (a revoke deleted them)
        table = acl.rules(settings.events_topic, settings.dlq_topic, settings.app_id)
        mine = [rule for rule in table if rule.principal == name]
        if mine:
            acl.grant(admin, mine)
    return file


def revoke(settings: Settings, secrets_dir: Path, name: str) -> None:
    """Delete the user's ACLs, then its SCRAM credential: its next connection is refused, and so is the
    next request of a connection already open (the authorizer checks every request against the ACLs; the
    broker does not re-authenticate: aiokafka, under the pipeline's own clients, could not follow)."""
    from kafka.admin import UserScramCredentialDeletion

    check_name(name)
    with admin_client(settings) as admin:
        acl.revoke_principal(admin, name)
        errors = admin.alter_user_scram_credentials([UserScramCredentialDeletion(name, "SCRAM-SHA-512")])
    if errors.get(name) and "not found" not in errors[name].lower():
        raise RuntimeError(f"the broker could not revoke {name}: {errors[name]}")
    password_path(secrets_dir, name).unlink(missing_ok=True)
    secrets.write_private(
        _revoked_file(secrets_dir), "".join(f"{n}\n" for n in sorted(_revoked(secrets_dir) | {name})).encode()
    )


def list_users(settings: Settings) -> list[str]:
    with admin_client(settings) as admin:
        return sorted(existing_users(admin))
