"""`p06 publish`, `p06 simulate` and `p06 gateway`: how localities push events."""

from __future__ import annotations

import gc
import logging
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import BinaryIO

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from schemas.maps import MAPS
from schemas.settings import settings

from .jsonl import Line, read_lines
from .publisher import Publisher, PublishResult, validate_items
from .simulate import simulated_events
from .tokens import token_store

CHUNK_LINES = 20_000  # events judged and packed together: more of a locality's events share a message
EXIT_SPOOL_LEFT = 3
EXIT_REFUSED = 4  # the broker refused the events (a grant, the topic, the size): they wait in the spool

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)


def _quiet_kafka() -> None:
    # Delivery failures come back as results and are reported once; kafka-python would log each retry.
    logging.getLogger("kafka").setLevel(logging.CRITICAL)


class Tally:
    """Totals over every publish call of a command, and its closing summary."""

    def __init__(self) -> None:
        self.accepted = self.rejected = self.delivered = self.spooled = self.drained = 0
        self.error: str | None = None
        self.refused: str | None = None  # the broker said no: not an outage, so not exit 0

    def add(self, result: PublishResult, rejected: int) -> None:
        self.accepted += result.accepted
        self.rejected += rejected
        self.delivered += result.delivered
        self.spooled += result.spooled
        self.drained += result.drained
        self.error = result.error or self.error
        self.refused = result.refused or self.refused

    def summary(self) -> str:
        return (
            f"accepted {self.accepted:,}, rejected {self.rejected:,}, spooled {self.spooled:,} "
            f"(delivered {self.delivered:,}, earlier spooled events delivered {self.drained:,})"
        )


class Rejects:
    """The rejects file, opened on the first rejected line: one JSON object per rejected line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: BinaryIO | None = None

    def write(self, where: str, reason: str, raw: bytes) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "ab")
        record = {"source": where, "reason": reason, "line": raw.decode("utf-8", "backslashreplace")}
        self._handle.write(orjson.dumps(record) + b"\n")

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def _default_rejects() -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return settings().data_dir / "rejects" / f"publish-{stamp}.jsonl"


@contextmanager
def _opened(source: str) -> Iterator[tuple[BinaryIO, int | None]]:
    if source == "-":
        yield sys.stdin.buffer, None
    else:
        with open(source, "rb") as handle:
            yield handle, Path(source).stat().st_size


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[events]:,} lines"),
        TimeElapsedColumn(),
        console=err,
    )


def _on_map(data: bytes, map_name: str | None) -> bytes | dict:
    """A line as sent, or with `map` set when --map was given and the line names none (an explicit map wins)."""
    if map_name is None:
        return data
    try:
        event = orjson.loads(data)
    except orjson.JSONDecodeError:
        return data  # judged, and reported, as the line it is
    return {**event, "map": map_name} if isinstance(event, dict) and "map" not in event else data


def _publish_chunk(
    publisher: Publisher, name: str, lines: list[Line], rejects: Rejects, tally: Tally, map_name: str | None = None
) -> None:
    readable = [line for line in lines if line.error is None]
    result = publisher.publish([_on_map(line.data, map_name) for line in readable])
    failures = [(line, line.error or "") for line in lines if line.error is not None]
    failures += [(readable[r.index], r.reason) for r in result.rejections]  # type: ignore[index]
    for line, reason in sorted(failures, key=lambda f: f[0].number):
        err.print(f"{name}:{line.number}: {reason}", markup=False)
        rejects.write(f"{name}:{line.number}", reason, line.data)
    tally.add(result, len(failures))


def _publish_source(
    publisher: Publisher, source: str, rejects: Rejects, tally: Tally, progress: Progress, map_name: str | None = None
) -> None:
    name = "<stdin>" if source == "-" else source
    with _opened(source) as (stream, total):
        task = progress.add_task(name, total=total, events=0)
        lines = read_lines(stream)
        while chunk := list(islice(lines, CHUNK_LINES)):
            _publish_chunk(publisher, name, chunk, rejects, tally, map_name)
            progress.update(task, advance=sum(line.size for line in chunk), events=chunk[-1].number)
        progress.update(task, completed=total or 0, total=total or 0)


def publish(
    files: list[str] | None = typer.Argument(None, help="JSON Lines files, one event per line; - reads standard input"),
    drain: bool = typer.Option(
        False, "--drain", help="first deliver the events spooled while the broker was unreachable"
    ),
    batch_size: int | None = typer.Option(
        None, "--batch-size", min=1, max=500, help="events per Kafka message (P06_BATCH_SIZE)"
    ),
    rejects_path: Path | None = typer.Option(
        None, "--rejects", help="where to write rejected lines (default: DATA_DIR/rejects/)"
    ),
    map_name: str | None = typer.Option(
        None,
        "--map",
        help="the map of the lines that name none: 2025 (the default) or 2024"
        " (codes before 1 July 2025, converted or refused as the contract says)",
    ),
) -> None:
    """Publish events from JSON Lines files.

    Every valid line is published; each invalid one is reported as FILE:LINE: reason and written to the
    rejects file. Exit status: 0 every line accepted, 1 some lines rejected (the valid ones are still
    published), 2 usage error, 3 --drain left events in the spool (broker unreachable), 4 the broker
    refused the events (the principal has no grant on the topic, no such topic, too large): they wait
    in the spool.
    """
    files = files or []
    if map_name not in (None, *MAPS):
        raise typer.BadParameter(f"{map_name!r}: the maps are {' and '.join(MAPS)}", param_hint="--map")
    if not files and not drain:
        raise typer.BadParameter("give at least one FILE (- for standard input), or --drain", param_hint="FILE...")
    missing = [f for f in files if f != "-" and not Path(f).is_file()]
    if missing:
        raise typer.BadParameter(f"no such file: {', '.join(missing)}", param_hint="FILE...")
    _quiet_kafka()
    # A chunk's 20,000 events are judged into thousands of objects at once: with Python's default
    # thresholds the cycle collector walked them again and again (a third of the validation time).
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)
    tally, rejects = Tally(), Rejects(rejects_path or _default_rejects())
    with ExitStack() as stack:
        publisher = stack.enter_context(Publisher(settings(), batch_size))
        stack.callback(rejects.close)
        if drain:
            _drain(publisher, tally)
        with _progress() as progress:
            for source in files:
                _publish_source(publisher, source, rejects, tally, progress, map_name)
        left = publisher.spool.pending_events() if drain or tally.spooled else 0
    _finish(tally, rejects, drain, left)


def _drain(publisher: Publisher, tally: Tally) -> None:
    with err.status("delivering spooled events"):
        result = publisher.drain()
    tally.drained += result.drained
    if result.spooled:
        tally.error = result.error
        tally.refused = result.refused


def _finish(tally: Tally, rejects: Rejects, drained: bool, left: int) -> None:
    out.print(tally.summary())
    if tally.rejected:
        err.print(f"rejected lines written to {rejects.path}", markup=False)
    if left and tally.refused:
        err.print(
            f"{tally.refused}; {left:,} events wait in the spool: grant it, create the topic or fix the size,"
            " then `p06 publish --drain` delivers them",
            markup=False,
        )
        raise typer.Exit(EXIT_REFUSED)
    if left:
        err.print(
            f"{left:,} events wait in the spool ({tally.error}); `p06 publish --drain` delivers them", markup=False
        )
    if drained and left:
        raise typer.Exit(EXIT_SPOOL_LEFT)
    raise typer.Exit(1 if tally.rejected else 0)


def simulate(
    rate: float = typer.Option(0.0, min=0, help="events per second; 0 sends as fast as possible"),
    duration: float | None = typer.Option(None, min=0, help="stop after this many seconds"),
    count: int | None = typer.Option(None, min=1, help="stop after this many events"),
    seed: int = typer.Option(0, help="same seed, same events"),
    resend_share: float = typer.Option(0.0, min=0, max=1, help="share of events sent again (same event_id)"),
    reorder_share: float = typer.Option(0.0, min=0, max=1, help="share of events that arrive late, after newer ones"),
    correction_share: float = typer.Option(
        0.0, min=0, max=1, help="share of events corrected minutes later by an event naming them (some void)"
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="write JSON Lines here (- for stdout) instead of publishing"
    ),
    as_provinces: bool = typer.Option(
        False,
        "--as-provinces",
        help="publish as each province's own senders, into its ingestion topic (through `p06 admission`),"
        " not as a national sender",
    ),
) -> None:
    """Realistic load from the real registry: 34 provinces, their wards and villages, 225 tasks."""
    if duration is None and count is None and output is not None:
        raise typer.BadParameter("writing to a file needs --count or --duration", param_hint="--count")
    _quiet_kafka()
    events = simulated_events(seed, count, resend_share, reorder_share, correction_share=correction_share)
    step = max(1, int(rate / 10)) if rate else 5000  # ten sends a second when paced
    deadline = time.monotonic() + duration if duration is not None else float("inf")
    chunks = _paced(events, step, rate, deadline)
    if output is not None:
        written = _write_jsonl(chunks, output)
        err.print(f"wrote {written:,} events to {output}")
        return
    tally = Tally()
    with ExitStack() as stack, err.status("publishing simulated events") as status:
        publishers: dict[str, Publisher] = {}

        def publisher(province: str) -> Publisher:
            if province not in publishers:
                publishers[province] = stack.enter_context(Publisher(settings(), province=province))
            return publishers[province]

        for chunk in chunks:
            if not as_provinces:
                tally.add(publisher("").publish(chunk), 0)
                continue
            # Judged first, so that each event goes to the province of the unit it counts for.
            valid, rejections = validate_items(chunk)
            tally.add(PublishResult(rejections=rejections), len(rejections))
            by_province: dict[str, list] = {}
            for event in valid:
                by_province.setdefault(event.province, []).append(event)
            for province, group in by_province.items():
                tally.add(publisher(province).publish(group), 0)
            status.update(f"publishing simulated events: {tally.accepted:,}")
    out.print(tally.summary())
    if tally.refused:  # not an outage: say so, as `p06 publish` does
        err.print(f"{tally.refused}; {tally.spooled:,} events wait in the spool", markup=False)
        raise typer.Exit(EXIT_REFUSED)


def _paced(events: Iterator[dict], step: int, rate: float, deadline: float) -> Iterator[list[dict]]:
    started = time.monotonic()
    sent = 0
    while time.monotonic() < deadline and (chunk := list(islice(events, step))):
        if rate:
            time.sleep(max(0.0, started + sent / rate - time.monotonic()))
        sent += len(chunk)
        yield chunk


def _write_jsonl(chunks: Iterable[list[dict]], output: Path) -> int:
    written = 0
    with ExitStack() as stack:
        handle = sys.stdout.buffer if str(output) == "-" else stack.enter_context(open(output, "wb"))
        for chunk in chunks:
            handle.write(b"".join(orjson.dumps(e) + b"\n" for e in chunk))
            written += len(chunk)
    return written


gateway_app = typer.Typer(help="HTTP ingest for localities that cannot speak Kafka, and its tokens.")
token_app = typer.Typer(help="Gateway bearer tokens; only their SHA-256 hashes are stored.", no_args_is_help=True)
gateway_app.add_typer(token_app, name="token")


@gateway_app.callback(invoke_without_command=True)
def gateway(
    ctx: typer.Context,
    host: str | None = typer.Option(None, help="P06_GATEWAY_HOST: address to listen on (default 127.0.0.1)"),
    port: int | None = typer.Option(None, min=1, max=65535, help="P06_GATEWAY_PORT: port to listen on"),
) -> None:
    """Serve POST /v1/events and /openapi.json (`p06 gateway token ...` manages the tokens)."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from .gateway import create_app

    _quiet_kafka()
    s = settings()
    uvicorn.run(create_app(s), host=host or s.gateway_host, port=port or s.gateway_port, log_level="info")


@token_app.command("add")
def token_add(
    scope: str = typer.Argument(..., help="a province code (e.g. 01): that province and its wards; or 'national'"),
    name: str = typer.Option("", help="who holds it, for `token list`"),
) -> None:
    """Create a token and print it once: only its hash is kept."""
    try:
        token, secret = token_store(settings().data_dir).add(scope, name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="SCOPE") from None
    out.print(secret, markup=False)
    err.print(
        f"token {token.id} ({token.name}, scope {token.scope}): keep it now, it cannot be shown again", markup=False
    )


@token_app.command("list")
def token_list() -> None:
    """The tokens: id, name, scope, creation time (never the secret)."""
    table = Table("id", "name", "scope", "created")
    for t in token_store(settings().data_dir).tokens():
        table.add_row(t.id, t.name, t.scope, t.created_at)
    out.print(table)


@token_app.command("revoke")
def token_revoke(token_id: str = typer.Argument(..., help="the id shown by `token list`")) -> None:
    """Revoke a token; a running gateway refuses it from its next request."""
    if not token_store(settings().data_dir).revoke(token_id):
        err.print(f"no token with id {token_id}", markup=False)
        raise typer.Exit(1)
    out.print(f"revoked {token_id}")
