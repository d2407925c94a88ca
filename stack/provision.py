"""What a cluster needs before any service of the pipeline starts: its topics, SCRAM users and ACL table.

Compose's kafka-init job runs it as `p06 stack init`; `p06 stack up` runs it on the local broker, so
that the README's next command (`p06 publish`) finds its topic and its grant whether or not a worker
has started. Idempotent: what exists stays.
"""

from __future__ import annotations

from schemas.settings import Settings
from stack.clients import admin_client, all_principals, principal_for, secured

from . import acl, principals
from .topics import ensure_ingestion_topics, ensure_topics


def grant_acls(settings: Settings) -> None:
    """The project's ACL table for the configured topic names, as the admin principal."""
    with admin_client(settings) as admin:
        acl.grant(admin, acl.rules(settings.events_topic, settings.dlq_topic, settings.app_id))


def provision(settings: Settings, wait_s: float = 600) -> list[str]:
    """Topics (waiting up to wait_s for the cluster), then on a secured cluster every principal's SCRAM
    user except the admin's own (password from its file, made when missing) and the ACL table.
    Returns the users it created."""
    ensure_topics(settings, wait_s=wait_s)
    ensure_ingestion_topics(settings, wait_s=wait_s)
    if not secured(settings):
        return []
    admin = principal_for(settings, "admin")
    made = principals.ensure_users(settings, settings.kafka_secrets, [n for n in all_principals() if n != admin])
    grant_acls(settings)
    return made
