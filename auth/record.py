"""Every authentication event, recorded: one structured log line each, and the counters of /metrics.

Outcomes: `success` (a password verified: a login, or HTTP Basic credentials the first time this
process sees them; later requests with the same credentials are not new logins), `failure` (a wrong
password or an unknown account), `revoked` (the password or the session of a revoked account), `throttled` (refused
before any check: auth.throttle), `logout`, and `csrf` (a form posted without its valid token).
The line is JSON after `auth `: service, outcome, account, address, path; never a password.
The account of a failure is what the client sent, cut to 64 characters.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("p06.auth")
OUTCOMES = ("success", "failure", "revoked", "throttled", "logout", "csrf")
QUIET = ("success", "logout")  # INFO; every other outcome is a WARNING


class AuthRecord(Collector):
    """One service's authentication events: logged as they happen, counted for /metrics."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.counts = dict.fromkeys(OUTCOMES, 0)
        self._lock = threading.Lock()  # events come from the loop and from the password threads

    def event(self, outcome: str, account: str, address: str, path: str) -> None:
        with self._lock:
            self.counts[outcome] += 1
        line = {
            "service": self.service,
            "outcome": outcome,
            "account": account[:64],
            "address": address,
            "path": path.partition("?")[0][:200],
        }
        log.log(logging.INFO if outcome in QUIET else logging.WARNING, "auth %s", json.dumps(line, ensure_ascii=False))

    def collect(self) -> Iterator[CounterMetricFamily]:
        with self._lock:
            failures = self.counts["failure"] + self.counts["revoked"]
            throttled = self.counts["throttled"]
        for name, text, value in (
            ("p06_login_failures", "Logins refused: a wrong password, an unknown or a revoked account.", failures),
            ("p06_login_throttled", "Login attempts refused unchecked: too many failures (429).", throttled),
        ):
            family = CounterMetricFamily(name, text, labels=["service"])
            family.add_metric([self.service], value)
            yield family
