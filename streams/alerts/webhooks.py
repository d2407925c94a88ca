"""Alert notices to webhooks, off the counting path: a consumer of the alerts topic in its own group that
commits a record only once every receiver it is for has answered 2xx (at least once).

Each notice is JSON, signed with the HMAC-SHA256 of its body (X-P06-Signature: sha256=<hex>), and carries
an Idempotency-Key (alert id and state) that every copy of it shares, so a receiver drops a repeat. A
receiver down, answering 5xx or hanging is tried again with a growing pause; counting never waits for it:
this loop shares only the event loop with the agent, and every request has a timeout.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer

from schemas.alerts import Receiver, notice_key

log = logging.getLogger("p06.alerts")
TIMEOUT_S = 5.0
FIRST_PAUSE_S, LAST_PAUSE_S = 0.5, 30.0


def signature(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def receivers_for(alert: dict[str, Any], receivers: list[Receiver]) -> list[Receiver]:
    """The alert's province's receivers and the national ones."""
    return [r for r in receivers if r.province in (None, alert["scope"])]


def silenced(alert: dict[str, Any], now: datetime) -> bool:
    until = alert.get("silenced_until")
    return until is not None and datetime.fromisoformat(until) > now


class Deliverer:
    def __init__(
        self, client_options: dict[str, Any], topic: str, group: str, receivers: list[Receiver], secret: bytes
    ) -> None:
        self.client_options, self.topic, self.group = client_options, topic, group
        self.receivers, self.secret = receivers, secret
        self.delivered = 0  # notices a receiver accepted
        self.failed = 0  # attempts refused, failed or timed out

    async def run(self) -> None:
        if not self.receivers:
            return  # nothing to deliver to: no consumer either
        consumer = AIOKafkaConsumer(
            self.topic,
            **self.client_options,
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_S) as http:
                while True:
                    batches = await consumer.getmany(timeout_ms=500, max_records=100)
                    for tp, records in batches.items():
                        for record in records:
                            await self.deliver(http, orjson.loads(record.value))
                            await consumer.commit({tp: record.offset + 1})
        finally:
            await consumer.stop()

    async def deliver(self, http: httpx.AsyncClient, alert: dict[str, Any]) -> None:
        if not alert.get("notify") or silenced(alert, datetime.now(UTC)):
            return
        body = orjson.dumps(alert)
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": notice_key(alert),
            "X-P06-Signature": signature(self.secret, body),
        }
        await asyncio.gather(*(self._post(http, r.url, body, headers) for r in receivers_for(alert, self.receivers)))

    async def _post(self, http: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> None:
        """Until the receiver takes it: a 4xx other than 408/429 is its refusal, logged and not tried again."""
        pause = FIRST_PAUSE_S
        while True:
            try:
                answer = await http.post(url, content=body, headers=headers)
                if answer.status_code < 300:
                    self.delivered += 1
                    return
                why = f"answered {answer.status_code}"
                if answer.status_code < 500 and answer.status_code not in (408, 429):
                    log.error("webhook %s refused notice %s (%s): not sent again", url, headers["Idempotency-Key"], why)
                    return
            except httpx.HTTPError as exc:
                why = type(exc).__name__
            self.failed += 1
            log.warning("webhook %s: %s; notice %s again in %.1f s", url, why, headers["Idempotency-Key"], pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, LAST_PAUSE_S)
