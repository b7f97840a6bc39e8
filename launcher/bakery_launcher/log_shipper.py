"""Ship the service's journal to CloudWatch Logs (aws), one log stream per instance.

The launch template's user data writes /etc/bakery/logs.json ({"region": ..., "group":
...}); without it (local, a VM) this exits at once and its unit's condition keeps it from
starting at all. It follows `journalctl --output json --follow` for the units it is given
(the service and its secrets unit), batches the entries and sends each batch with one
signed PutLogEvents call to the stream named after the instance id, through the VPC
endpoint Terraform creates (logs.REGION.amazonaws.com resolves to it). Standard library
only, signed as bakery_launcher.secrets signs: the image carries no AWS SDK and no agent.

The journal cursor of the last entry sent is kept in /var/lib/bakery-logs/cursor and
written only after CloudWatch accepted the batch: a restart sends a batch at most twice,
never loses one. A failing send is retried with a growing pause while journald keeps the
entries.

Run as root by bakery-logs.service: python3 -m bakery_launcher.log_shipper --unit APP.service
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bakery_launcher.secrets import IMDS_URL, SecretsError, instance_credentials, sign

LOGS_FILE = Path("/etc/bakery/logs.json")
CURSOR_FILE = Path("/var/lib/bakery-logs/cursor")

# PutLogEvents' limits: 10,000 events and 1,048,576 bytes per call, counting 26 bytes
# per event on top of its UTF-8 message; one event at most 256 KiB; a batch spans at most
# 24 hours.
MAX_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD = 26
MAX_MESSAGE_BYTES = 256 * 1024 - EVENT_OVERHEAD
MAX_SPAN_MS = 24 * 3600 * 1000
# A line reaches CloudWatch within this many seconds of being logged.
FLUSH_AFTER_S = 5.0
TIMEOUT_S = 15


class ShipError(RuntimeError):
    """CloudWatch Logs refused or could not be reached; the message says which call and why."""


@dataclass
class Event:
    timestamp_ms: int
    message: str
    cursor: str

    @property
    def size(self) -> int:
        return len(self.message.encode("utf-8")) + EVENT_OVERHEAD


def message_of(entry: Mapping[str, object]) -> str:
    """The entry's text as status.ts shows it: IDENTIFIER[PID]: MESSAGE (journalctl's short form)."""
    raw = entry.get("MESSAGE", "")
    # journalctl --output json writes a message that is not valid UTF-8 as a list of bytes.
    text = bytes(raw).decode("utf-8", "replace") if isinstance(raw, list) else str(raw or "")
    identifier = entry.get("SYSLOG_IDENTIFIER") or entry.get("_COMM") or "?"
    pid = entry.get("_PID") or entry.get("SYSLOG_PID")
    line = f"{identifier}[{pid}]: {text}" if pid else f"{identifier}: {text}"
    encoded = line.encode("utf-8")
    if len(encoded) > MAX_MESSAGE_BYTES:
        line = encoded[: MAX_MESSAGE_BYTES - 20].decode("utf-8", "ignore") + " [truncated]"
    return line


def event_of(entry: Mapping[str, object]) -> Event | None:
    """One journal entry as a log event; None for an entry without a cursor or a time."""
    cursor = entry.get("__CURSOR")
    realtime = entry.get("__REALTIME_TIMESTAMP")
    if not isinstance(cursor, str) or realtime is None:
        return None
    return Event(int(str(realtime)) // 1000, message_of(entry), cursor)


@dataclass
class Batch:
    """Events waiting to be sent, within PutLogEvents' limits."""

    events: list[Event] = field(default_factory=list)
    size: int = 0
    started: float | None = None

    def fits(self, event: Event) -> bool:
        if not self.events:
            return True
        return (
            len(self.events) < MAX_EVENTS
            and self.size + event.size <= MAX_BATCH_BYTES
            and event.timestamp_ms - self.events[0].timestamp_ms <= MAX_SPAN_MS
        )

    def add(self, event: Event, now: float) -> None:
        if not self.events:
            self.started = now
        self.events.append(event)
        self.size += event.size

    def due(self, now: float, flush_after_s: float) -> bool:
        return bool(self.events) and self.started is not None and now - self.started >= flush_after_s


def read_cursor(path: Path) -> str | None:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    return text or None


def write_cursor(path: Path, cursor: str) -> None:
    """Replaces the cursor file whole (a crash leaves the old cursor, never half a new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".cursor-")
    with os.fdopen(handle, "w") as file:
        file.write(cursor + "\n")
    os.replace(temporary, path)


def ship(
    entries: Iterable[Mapping[str, object] | None],
    send: Callable[[list[Event]], None],
    cursor_file: Path,
    clock: Callable[[], float] = time.monotonic,
    flush_after_s: float = FLUSH_AFTER_S,
) -> int:
    """Sends the entries in batches, saving the cursor after each accepted batch.

    `entries` yields journal entries, or None when a while passed without one (so a batch
    that waits is sent in time). A send that raises keeps the batch and the cursor: the
    error goes up, and a restart starts again after the last batch that was accepted.
    Returns the number of events sent.
    """
    batch = Batch()
    sent = 0

    def flush() -> None:
        nonlocal batch, sent
        if not batch.events:
            return
        send(batch.events)
        write_cursor(cursor_file, batch.events[-1].cursor)
        sent += len(batch.events)
        batch = Batch()

    for entry in entries:
        if entry is not None:
            event = event_of(entry)
            if event is not None:
                if not batch.fits(event):
                    flush()
                batch.add(event, clock())
        if batch.due(clock(), flush_after_s):
            flush()
    flush()
    return sent


def journal_command(units: list[str], cursor: str | None, follow: bool = True) -> list[str]:
    """journalctl's argv: the units' entries after the cursor (or since boot), as JSON lines."""
    argv = ["journalctl", "--output", "json", "--no-pager"]
    for unit in units:
        argv += ["--unit", unit]
    argv += [f"--after-cursor={cursor}"] if cursor else ["--boot"]
    if follow:
        argv.append("--follow")
    return argv


def journal_entries(lines: Iterable[str], tick_s: float) -> Iterator[Mapping[str, object] | None]:
    """Parsed entries of a journalctl --output json stream, and None every tick_s without one."""
    waiting: queue.Queue[str | None] = queue.Queue(maxsize=10_000)

    def read() -> None:
        for line in lines:
            waiting.put(line)
        waiting.put(None)

    threading.Thread(target=read, daemon=True).start()
    while True:
        try:
            line = waiting.get(timeout=tick_s)
        except queue.Empty:
            yield None
            continue
        if line is None:
            return
        try:
            yield json.loads(line)
        except ValueError:
            continue


class CloudWatchLogs:
    """PutLogEvents and CreateLogStream, signed with the instance profile's credentials."""

    def __init__(self, region: str, group: str, stream: str, imds_url: str = IMDS_URL, url: str | None = None):
        self.region = region
        self.group = group
        self.stream = stream
        self.imds_url = imds_url
        self.url = url or f"https://logs.{region}.amazonaws.com/"
        self.credentials: dict[str, str] | None = None
        self.fetched_at = 0.0

    def _credentials(self) -> Mapping[str, str]:
        # Instance profile credentials rotate hourly and last six hours: fetched every 30 minutes.
        if self.credentials is None or time.monotonic() - self.fetched_at > 1800:
            self.credentials = instance_credentials(self.imds_url)
            self.fetched_at = time.monotonic()
        return self.credentials

    def call(self, action: str, payload: Mapping[str, object]) -> dict:
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"Logs_20140328.{action}"}
        now = datetime.datetime.now(datetime.timezone.utc)
        headers.update(sign("POST", self.url, headers, body, self._credentials(), self.region, "logs", now))
        request = urllib.request.Request(self.url, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 (fixed URL)
                text = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:300]
            if error.code in (400, 403) and "ExpiredToken" in detail:
                self.credentials = None
            raise ShipError(f"CloudWatch Logs {action}: HTTP {error.code} {detail}") from None
        except OSError as error:
            raise ShipError(f"CloudWatch Logs {action}: {error}") from None
        return json.loads(text) if text else {}

    def create_stream(self) -> None:
        try:
            self.call("CreateLogStream", {"logGroupName": self.group, "logStreamName": self.stream})
        except ShipError as error:
            if "ResourceAlreadyExistsException" not in str(error):
                raise

    def put(self, events: list[Event]) -> None:
        answer = self.call(
            "PutLogEvents",
            {
                "logGroupName": self.group,
                "logStreamName": self.stream,
                "logEvents": [{"timestamp": e.timestamp_ms, "message": e.message} for e in events],
            },
        )
        rejected = answer.get("rejectedLogEventsInfo")
        if rejected:
            # Too old (beyond the retention) or too new: said once, not retried forever.
            print(f"bakery-logs: CloudWatch rejected some events: {json.dumps(rejected)}", file=sys.stderr)


def retrying(send: Callable[[list[Event]], None], pause_s: float = 2.0, most_s: float = 60.0):
    """Sends until it succeeds, pausing longer after each failure: journald keeps the entries meanwhile."""

    def attempt(events: list[Event]) -> None:
        pause = pause_s
        while True:
            try:
                send(events)
                return
            except (ShipError, SecretsError) as error:
                print(f"bakery-logs: {error} (trying again in {pause:.0f} s)", file=sys.stderr)
                time.sleep(pause)
                pause = min(most_s, pause * 2)

    return attempt


def instance_id(imds_url: str) -> str:
    token_request = urllib.request.Request(
        f"{imds_url}/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}
    )
    with urllib.request.urlopen(token_request, timeout=TIMEOUT_S) as response:  # noqa: S310 (fixed URL)
        token = response.read().decode()
    request = urllib.request.Request(
        f"{imds_url}/latest/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": token}
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 (fixed URL)
        return response.read().decode().strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bakery-logs")
    parser.add_argument("--unit", action="append", required=True, help="a systemd unit whose journal is shipped")
    args = parser.parse_args(argv)
    logs_file = Path(os.environ.get("BAKERY_LOGS_FILE", LOGS_FILE))
    if not logs_file.exists():
        return 0
    settings = json.loads(logs_file.read_text())
    imds_url = os.environ.get("BAKERY_IMDS_URL", IMDS_URL)
    cursor_file = Path(os.environ.get("BAKERY_LOGS_CURSOR", CURSOR_FILE))
    try:
        stream = instance_id(imds_url)
        logs = CloudWatchLogs(settings["region"], settings["group"], stream, imds_url, os.environ.get("BAKERY_LOGS_URL"))
        retrying(lambda _events: logs.create_stream())([])
    except (OSError, KeyError, ValueError) as error:
        print(f"bakery-logs: {error}", file=sys.stderr)
        return 1
    print(f"bakery-logs: shipping {', '.join(args.unit)} to {settings['group']}/{stream}")
    journal = subprocess.Popen(  # noqa: S603 (fixed argv)
        journal_command(args.unit, read_cursor(cursor_file)), stdout=subprocess.PIPE, text=True, errors="replace"
    )
    assert journal.stdout is not None
    try:
        ship(journal_entries(journal.stdout, 1.0), retrying(logs.put), cursor_file)
    finally:
        journal.terminate()
    return journal.wait()


if __name__ == "__main__":
    sys.exit(main())
