"""Operators log in, and see only their scope, on a real worker and a real sink (issue 13, items 3-4).

Refused with a clear 401/403/404 and nothing leaked: no credentials, a wrong password, a revoked
account, an expired session; province A's operator asking for B through the live API, the SSE stream
and a report; /metrics without a monitor account; SQL text or a table function sent to the sink's API.
The allowed paths give the recount's figures.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from kit.pipeline import Worker, log_in_form, monitor, operator
from kit.sinkstream import P06, archived_by_sink, make_events, messages, publish

from auth import COOKIE, Accounts
from schemas.registry import registry
from schemas.settings import Settings
from sinks.checks.recount import recount

SESSION_HOURS = 4 / 3600  # a session lasts 4 s here, so that its expiry can be seen


def _province_accounts(s: Settings, events: list[dict]) -> tuple[str, str, tuple[str, str]]:
    """Two provinces with figures (A and B) and the credentials of A's operator."""
    provinces = sorted({registry().localities[e["locality"]].province for e in events})
    assert len(provinces) >= 2, provinces
    a, b = provinces[0], provinces[1]
    Accounts(s.accounts_folder).add("ops-a", "province", "password-of-a", a)
    return a, b, ("ops-a", "password-of-a")


def _wait_live(worker: Worker, nation: dict) -> None:
    deadline = time.monotonic() + 120
    while (worker.live() or {}).get("nation") != nation:
        assert time.monotonic() < deadline and worker.failure() is None, f"live never matched: {worker.failure()}"
        time.sleep(0.3)


def _first_sse_body(url: str, **kwargs) -> dict:
    with httpx.stream("GET", url, timeout=10, **kwargs) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("data: "):
                return json.loads(line[len("data: ") :])
    raise AssertionError("the stream ended without an event")


def test_live_api_needs_a_login_and_keeps_a_province_operator_to_their_province(
    p06_settings: Settings, tmp_path: Path
) -> None:
    events = make_events(seed=41, n=300)
    expected = recount(events)
    publish(p06_settings, messages(events, seed=41))
    a, b, ops_a = _province_accounts(p06_settings, events)
    worker = Worker(p06_settings.worker_web_port, tmp_path, P06_SESSION_HOURS=str(SESSION_HOURS))
    base = worker.url
    try:
        _wait_live(worker, expected["nation"])

        # Nobody, or a wrong password: 401 with a JSON error saying how to log in; the dashboard sends to /login.
        for path in (
            "/api/live",
            f"/api/live/provinces/{a}",
            "/api/live/silent",
            "/api/live/windows",
            "/api/live/stream",
            "/api/registry",
        ):
            for auth in (None, ("test-national", "wrong-password"), ("nobody", "password-x")):
                r = httpx.get(base + path, auth=auth, timeout=10)
                assert r.status_code == 401 and "log in" in r.json()["error"], (path, auth, r.text)
        r = httpx.get(f"{base}/dashboard/", timeout=10, follow_redirects=True)
        assert r.status_code == 200 and 'action="/login"' in r.text and str(r.url).startswith(f"{base}/login")

        # The national operator: every figure, as the recount says.
        national = httpx.get(f"{base}/api/live", auth=operator(), timeout=10).json()
        assert national["provinces"][b] == expected["provinces"][b] and any(expected["provinces"][b].values())

        # Province A's operator: A only, everywhere; B is a 403 naming the account's scope.
        mine = httpx.get(f"{base}/api/live", auth=ops_a, timeout=10).json()
        assert set(mine) == {"as_of", "scope", "provinces", "freshness"} and mine["scope"] == f"province {a}"
        assert mine["provinces"] == {a: expected["provinces"][a]} and set(mine["freshness"]["provinces"]) == {a}
        assert (
            httpx.get(f"{base}/api/live/provinces/{a}", auth=ops_a, timeout=10).json()["figures"]
            == expected["provinces"][a]
        )
        for path, params in (
            (f"/api/live/provinces/{b}", {}),
            ("/api/live/windows", {"scope": "nation"}),
            ("/api/live/windows", {"scope": b}),
            ("/api/live/windows", {"scope": registry().wards_by_province[b][0]}),
        ):
            r = httpx.get(base + path, params=params, auth=ops_a, timeout=10)
            assert r.status_code == 403 and r.json()["scope"] == f"province {a}", (path, params, r.text)
        silent = httpx.get(f"{base}/api/live/silent", auth=ops_a, timeout=10).json()
        assert silent["count"] == len(silent["localities"]) > 0
        assert {s["province"] for s in silent["localities"]} == {a}
        assert set(httpx.get(f"{base}/api/registry", auth=ops_a, timeout=10).json()["provinces"]) == {a}
        streamed = _first_sse_body(f"{base}/api/live/stream", auth=ops_a)
        assert set(streamed["provinces"]) == {a} and "nation" not in streamed and "urban" not in streamed
        assert set(_first_sse_body(f"{base}/api/live/stream", auth=operator())["provinces"]) == set(
            registry().provinces
        )

        # /metrics: a monitor account only; a monitor account reads no figures.
        assert httpx.get(f"{base}/metrics", timeout=10).status_code == 401
        assert httpx.get(f"{base}/metrics", auth=operator(), timeout=10).status_code == 403
        assert "p06_events_processed_total" in httpx.get(f"{base}/metrics", auth=monitor(), timeout=10).text
        assert httpx.get(f"{base}/api/live", auth=monitor(), timeout=10).status_code == 403

        # A browser's login: a signed, HttpOnly, SameSite=Strict cookie that expires, and dies with its account.
        with httpx.Client(base_url=base, timeout=10) as browser:
            assert log_in_form(browser, name="ops-a", password="wrong-one", next="/dashboard/").status_code == 401
            r = log_in_form(browser, name="ops-a", password="password-of-a", next="//evil.example/")
            assert r.status_code == 303 and r.headers["location"] == "/dashboard/"  # never off this server
            cookie = r.headers["set-cookie"]
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=4" in cookie
            assert browser.get("/api/live").json()["provinces"] == {a: expected["provinces"][a]}
            assert browser.get(f"/api/live/provinces/{b}").status_code == 403
            session = browser.cookies[COOKIE]
            forged = session[:-2] + ("AA" if not session.endswith("AA") else "BB")
            assert httpx.get(f"{base}/api/live", cookies={COOKIE: forged}, timeout=10).status_code == 401
            time.sleep(SESSION_HOURS * 3600 + 2)  # past the session's lifetime (whole seconds)
            # the server's own check, whatever the browser does with Max-Age
            assert httpx.get(f"{base}/api/live", cookies={COOKIE: session}, timeout=10).status_code == 401
            assert log_in_form(browser, name="ops-a", password="password-of-a").status_code == 303
            assert browser.get("/api/live").status_code == 200
            revoked = subprocess.run([P06, "users", "revoke", "ops-a"], capture_output=True, text=True, timeout=60)
            assert revoked.returncode == 0, revoked.stderr
            assert browser.get("/api/live").status_code == 401  # the session stops with the account
            assert httpx.get(f"{base}/api/live", auth=ops_a, timeout=10).status_code == 401
            assert log_in_form(browser, name="ops-a", password="password-of-a").status_code == 401
    finally:
        worker.stop()


def test_sink_api_answers_named_queries_and_scoped_reports_only(p06_settings: Settings, tmp_path: Path) -> None:
    events, sink = archived_by_sink(p06_settings, tmp_path / "sink.log", seed=43, n=300)
    expected = recount(events)
    a, b, ops_a = _province_accounts(p06_settings, events)
    base = f"http://127.0.0.1:{p06_settings.sink_api_port}"
    hostname = socket.gethostname()
    try:
        count = {"name": "archive_count", "params": {"since": "1970-01-01 00:00:00"}}
        assert httpx.post(f"{base}/query", json=count, timeout=30).status_code == 401
        assert (
            httpx.post(f"{base}/query", json=count, auth=("test-national", "wrong-password"), timeout=30).status_code
            == 401
        )
        assert httpx.post(f"{base}/query", json=count, auth=ops_a, timeout=30).status_code == 403
        distinct = len({(e["locality"], e["event_id"], e["occurred_at"][:10]) for e in events})
        assert httpx.post(f"{base}/query", json=count, auth=operator(), timeout=30).json()["rows"] == [{"n": distinct}]

        # SQL text, a table function, SQL in a parameter: refused, and no file's content comes back.
        attempts = [
            ({"sql": "SELECT * FROM file('/etc/hostname', 'LineAsString')"}, 400),
            ({"sql": "SELECT 1", "name": "archive_count", "params": count["params"]}, 400),
            ({"name": "SELECT * FROM file('/etc/hostname', 'LineAsString')", "params": {}}, 404),
            (
                {
                    "name": "archive_count",
                    "params": {"since": "2026-01-01') UNION ALL SELECT * FROM file('/etc/hostname', 'LineAsString"},
                },
                400,
            ),
            (
                {
                    "name": "activity",
                    "params": {
                        "until": "2299-01-01 00:00:00",
                        "province": "x' OR 1=1 OR province='",
                        "extra": "file('/etc/hostname')",
                    },
                },
                400,
            ),
            ({"name": "daily_series", "params": {"scopes": "nation"}}, 400),
        ]
        for body, status in attempts:
            r = httpx.post(f"{base}/query", json=body, auth=operator(), timeout=30)
            assert r.status_code == status, (body, r.text)
            assert hostname not in r.text
        unknown = httpx.post(f"{base}/query", json={"name": "nope"}, auth=operator(), timeout=30).json()
        assert "rollup_sums" in unknown["error"] and "rollup_sums" in unknown["queries"]
        # A string parameter is bound as a value, never read as SQL: nothing matches it.
        injected = {
            "name": "activity",
            "params": {"until": "2299-01-01 00:00:00", "province": "x' OR 1=1 OR province='"},
        }
        assert httpx.post(f"{base}/query", json=injected, auth=operator(), timeout=30).json()["rows"] == []
        assert httpx.get(f"{base}/health", timeout=10).json()["clickhouse"] == "up"  # a refusal is not an outage

        # Reports: the national one for national operators; a province's for its operator (and national ones).
        national = httpx.get(f"{base}/reports/national", auth=operator(), timeout=60).json()
        assert {k: national[k] for k in ("nation", "urban", "rural")} == {
            k: expected[k] for k in ("nation", "urban", "rural")
        }
        own = httpx.get(f"{base}/reports/province/{a}", auth=ops_a, timeout=60).json()
        assert own["figures"] == expected["provinces"][a]
        assert (
            httpx.get(f"{base}/reports/province/{b}", auth=operator(), timeout=60).json()["figures"]
            == expected["provinces"][b]
        )
        for path in (
            "/reports/national",
            f"/reports/province/{b}",
            f"/reports/province/{b}?format=html",
            f"/reports/province/{b}?from=2026-09-01&to=2026-09-20",
        ):
            r = httpx.get(base + path, auth=ops_a, timeout=60)
            assert r.status_code == 403 and r.json()["scope"] == f"province {a}", (path, r.text)
        for fmt, media in (("html", "text/html"), ("csv", "text/csv"), ("md", "text/markdown")):
            r = httpx.get(f"{base}/reports/province/{a}", params={"format": fmt}, auth=ops_a, timeout=60)
            assert r.status_code == 200 and r.headers["content-type"].startswith(media), (fmt, r.text[:300])
        review = httpx.get(
            f"{base}/reports/province/{a}", params={"from": "2026-09-05", "to": "2026-09-20"}, auth=ops_a, timeout=60
        )
        assert review.status_code == 200 and review.json()["kind"] == "province", review.text[:300]
        assert httpx.get(f"{base}/reports/national", timeout=30).status_code == 401
        assert (
            httpx.get(
                f"{base}/reports/national", params={"as_of": "yesterday"}, auth=operator(), timeout=30
            ).status_code
            == 400
        )
        assert httpx.get(f"{base}/reports/province/99", auth=operator(), timeout=30).status_code == 404

        # /metrics: a monitor account only. /health without an account: progress, no figures.
        assert httpx.get(f"{base}/metrics", timeout=10).status_code == 401
        assert httpx.get(f"{base}/metrics", auth=ops_a, timeout=10).status_code == 403
        assert "p06_sink_events_total" in httpx.get(f"{base}/metrics", auth=monitor(), timeout=10).text
        assert "checks" not in httpx.get(f"{base}/health", timeout=10).json()["reconcile"]

        # `p06 report` through the sink's API with the operator credentials of the environment, and refused without.
        env = {k: v for k, v in os.environ.items() if not k.startswith("P06_OPERATOR")}
        refused = subprocess.run([P06, "report", "national"], capture_output=True, text=True, timeout=120, env=env)
        assert refused.returncode == 2 and "P06_OPERATOR_USER" in refused.stderr, refused.stderr
        done = subprocess.run([P06, "report", "province", a], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and json.loads(done.stdout)["figures"] == expected["provinces"][a], done.stderr
    finally:
        sink.stop()


def test_users_command_keeps_passwords_off_the_command_line_and_hashed(p06_settings: Settings, tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("a-long-enough-password\n")
    add = subprocess.run(
        [P06, "users", "add", "ops-b", "--role", "province", "--province", "79", "--password-file", str(secret)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert add.returncode == 0, add.stderr
    piped = subprocess.run(
        [P06, "users", "add", "watcher", "--role", "monitor"],
        input="another-long-password\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert piped.returncode == 0, piped.stderr
    on_argv = subprocess.run(
        [P06, "users", "add", "x", "--role", "national", "--password", "on-the-command-line"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert on_argv.returncode == 2  # there is no such option
    bad = subprocess.run(
        [P06, "users", "add", "y", "--role", "province"],
        input="long-enough-password\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "--province" in bad.stderr
    users = p06_settings.accounts_folder / "users.json"
    assert users.stat().st_mode & 0o777 == 0o600
    assert "a-long-enough-password" not in users.read_text() and "$argon2id$" in users.read_text()
    listed = json.loads(
        subprocess.run([P06, "users", "list", "--json"], capture_output=True, text=True, timeout=60).stdout
    )
    assert {(u["name"], u["role"], u["province"]) for u in listed} >= {
        ("ops-b", "province", "79"),
        ("watcher", "monitor", None),
    }
    assert all("hash" not in u for u in listed)
    accounts = Accounts(p06_settings.accounts_folder)
    assert accounts.check_password("ops-b", "a-long-enough-password").province == "79"
    assert accounts.check_password("ops-b", "a-long-enough-passwort") is None
    assert subprocess.run([P06, "users", "revoke", "ops-b"], capture_output=True, timeout=60).returncode == 0
    assert accounts.check_password("ops-b", "a-long-enough-password") is None


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil", None])
def test_login_never_sends_a_browser_off_this_server(target: str | None) -> None:
    from auth import safe_next

    assert safe_next(target, "/dashboard/") == "/dashboard/"
    assert safe_next("/dashboard/?x=1", "/") == "/dashboard/?x=1"
