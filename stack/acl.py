"""Who may do what on the broker: the project's ACL table, as a function of its topic names.

The broker runs StandardAuthorizer with allow.everyone.if.no.acl.found=false: a principal can do only
what a rule below grants (p06-admin is a super user and needs none). `rules()` takes the topic names
and app id, so each test can grant the same table for its own per-test topics.

  principal            resource (pattern)                    operations
  p06-province-PP      topic E.in.PP (literal)               WRITE, DESCRIBE
  p06-national         topic E.in. (prefixed), E (literal)   WRITE, DESCRIBE
  p06-gateway          topic E.in. (prefixed), E (literal)   WRITE, DESCRIBE
  p06-admission        topic E.in. (prefixed)                READ, DESCRIBE
                       topic E, E.dlq (literal)              WRITE, DESCRIBE
                       group APP (prefixed)                  READ, DESCRIBE
  p06-worker           topic E (literal)                     READ, WRITE, DESCRIBE  (re-sends to the right partition)
                       topic E.dlq (literal)                 READ, WRITE, DESCRIBE  (reads: dead-letter alerts)
                       topic E.periods (literal)             READ, DESCRIBE  (period alerts: its statuses)
                       topic APP (prefixed)                  ALL  (Faust's changelogs, snapshots; it creates them)
                       group APP (prefixed)                  ALL
  p06-sink             topic E (literal)                     READ, DESCRIBE
                       group APP-sink (literal)              READ, DESCRIBE
                       topic E.periods (literal)             READ, WRITE, DESCRIBE
                       group APP-sink-periods (literal)      READ, DESCRIBE

The period actions topic E.periods is written by the sink alone: its API writes an operator's action only
after auth's guard admitted the account for that province, so no sender, worker or province credential
can approve anything; the sink's one writer per (period, province) reads it back (sinks/periods), and the
worker reads it for its province alert owners (streams/alerts).

National senders (and the gateway for a national token) may write for every province: the
Publisher sends their events to E itself (schemas.names), any province's E.in.PP works as well.
Only p06-admission, p06-worker (re-sends), the national senders and p06-admin may write E.

Idempotent producers need no IDEMPOTENT_WRITE grant on Kafka 3+: WRITE on a topic implies it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from schemas.names import ingestion_prefix, periods_group, periods_topic, sink_group, worker_group
from stack.clients import ROLE_PRINCIPALS, province_principal


@dataclass(frozen=True)
class Rule:
    principal: str
    resource: str  # "topic" | "group"
    name: str
    prefixed: bool
    operation: str  # READ, WRITE, DESCRIBE, CREATE, ALL


def _rules_for(principal: str, resource: str, name: str, prefixed: bool, *operations: str) -> list[Rule]:
    return [Rule(principal, resource, name, prefixed, op) for op in operations]


def rules(events_topic: str, dlq_topic: str, app_id: str, provinces: Iterable[str] | None = None) -> list[Rule]:
    """The project's ACL table for these topic names (provinces: the registry's, unless given)."""
    if provinces is None:
        from schemas.registry import registry

        provinces = registry().provinces
    inbox = ingestion_prefix(events_topic)
    p = ROLE_PRINCIPALS
    table: list[Rule] = []
    for code in provinces:
        table += _rules_for(province_principal(code), "topic", f"{inbox}{code}", False, "WRITE", "DESCRIBE")
    for sender in (p["national"], p["gateway"]):
        table += _rules_for(sender, "topic", inbox, True, "WRITE", "DESCRIBE")
        table += _rules_for(sender, "topic", events_topic, False, "WRITE", "DESCRIBE")
    table += _rules_for(p["admission"], "topic", inbox, True, "READ", "DESCRIBE")
    table += _rules_for(p["admission"], "topic", events_topic, False, "WRITE", "DESCRIBE")
    table += _rules_for(p["admission"], "topic", dlq_topic, False, "WRITE", "DESCRIBE")
    table += _rules_for(p["admission"], "group", app_id, True, "READ", "DESCRIBE")
    table += _rules_for(p["worker"], "topic", events_topic, False, "READ", "WRITE", "DESCRIBE")
    table += _rules_for(p["worker"], "topic", dlq_topic, False, "READ", "WRITE", "DESCRIBE")
    table += _rules_for(p["worker"], "topic", periods_topic(events_topic), False, "READ", "DESCRIBE")
    table += _rules_for(p["worker"], "topic", app_id, True, "ALL")
    table += _rules_for(p["worker"], "group", worker_group(app_id), True, "ALL")
    table += _rules_for(p["sink"], "topic", events_topic, False, "READ", "DESCRIBE")
    table += _rules_for(p["sink"], "group", sink_group(app_id), False, "READ", "DESCRIBE")
    table += _rules_for(p["sink"], "topic", periods_topic(events_topic), False, "READ", "WRITE", "DESCRIBE")
    table += _rules_for(p["sink"], "group", periods_group(app_id), False, "READ", "DESCRIBE")
    return table


def _to_acl(rule: Rule):  # type: ignore[no-untyped-def]
    from kafka.admin import ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePattern, ResourceType

    pattern = ResourcePattern(
        ResourceType.TOPIC if rule.resource == "topic" else ResourceType.GROUP,
        rule.name,
        ACLResourcePatternType.PREFIXED if rule.prefixed else ACLResourcePatternType.LITERAL,
    )
    return ACL(f"User:{rule.principal}", "*", ACLOperation[rule.operation], ACLPermissionType.ALLOW, pattern)


def grant(admin, table: list[Rule]) -> None:  # type: ignore[no-untyped-def]
    """Create these ACLs with an admin client (kafka-python's, as p06-admin); existing ones stay."""
    result = admin.create_acls([_to_acl(rule) for rule in table])
    failed = result.get("failed", []) if isinstance(result, dict) else []
    if failed:
        raise RuntimeError(f"the broker refused {len(failed)} ACLs, first: {failed[0]}")


def principal_filter(principal: str):  # type: ignore[no-untyped-def]
    """Every ACL naming this principal, on any resource: what revoke deletes and what a check describes."""
    from kafka.admin import (
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePatternFilter,
        ResourceType,
    )

    pattern = ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY)
    return ACLFilter(f"User:{principal}", None, ACLOperation.ANY, ACLPermissionType.ANY, pattern)


def revoke_principal(admin, principal: str) -> None:  # type: ignore[no-untyped-def]
    """Delete every ACL naming this principal."""
    results = admin.delete_acls([principal_filter(principal)])
    failed = [error for _, _, error in results if error is not None and error.errno != 0]
    if failed:  # the principal would keep what its ACLs grant on its open connections
        raise RuntimeError(f"the broker could not delete the ACLs of {principal}: {failed[0]}")
