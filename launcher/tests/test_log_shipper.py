"""bakery_launcher.log_shipper: batching and the cursor against a fake journal, the calls against a fake CloudWatch."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bakery_launcher import log_shipper
from bakery_launcher.log_shipper import MAX_EVENTS, CloudWatchLogs, ShipError, journal_command, ship


def entry(n, message=None, at_us=1_700_000_000_000_000):
    """A journal entry as journalctl --output json writes it (numbers as strings)."""
    return {
        "__CURSOR": f"s=abc;i={n}",
        "__REALTIME_TIMESTAMP": str(at_us + n * 1000),
        "SYSLOG_IDENTIFIER": "shop",
        "_PID": "42",
        "MESSAGE": message if message is not None else f"line {n}",
    }


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Recorder:
    def __init__(self, fail_times=0):
        self.batches = []
        self.fail_times = fail_times

    def __call__(self, events):
        if self.fail_times > 0:
            self.fail_times -= 1
            raise ShipError("CloudWatch Logs PutLogEvents: HTTP 503")
        self.batches.append([(e.timestamp_ms, e.message) for e in events])


def test_every_entry_is_sent_in_order_and_the_cursor_names_the_last(tmp_path):
    cursor = tmp_path / "cursor"
    sent = Recorder()
    assert ship([entry(1), entry(2), entry(3)], sent, cursor) == 3
    assert sent.batches == [[(1_700_000_000_001, "shop[42]: line 1"), (1_700_000_000_002, "shop[42]: line 2"),
                             (1_700_000_000_003, "shop[42]: line 3")]]
    assert cursor.read_text() == "s=abc;i=3\n"


def test_a_batch_never_exceeds_the_event_count_limit(tmp_path):
    sent = Recorder()
    ship((entry(n) for n in range(MAX_EVENTS + 5)), sent, tmp_path / "cursor")
    assert [len(b) for b in sent.batches] == [MAX_EVENTS, 5]


def test_a_batch_never_exceeds_the_byte_limit(tmp_path):
    sent = Recorder()
    big = "x" * 200_000
    ship((entry(n, big) for n in range(12)), sent, tmp_path / "cursor")
    sizes = [sum(len(m.encode()) + 26 for _, m in batch) for batch in sent.batches]
    assert all(size <= log_shipper.MAX_BATCH_BYTES for size in sizes), sizes
    assert sum(len(b) for b in sent.batches) == 12 and len(sent.batches) == 3


def test_a_waiting_batch_is_sent_after_the_flush_interval_without_new_entries(tmp_path):
    clock = Clock()
    sent = Recorder()
    cursor = tmp_path / "cursor"

    def journal():
        yield entry(1)
        clock.now = 2.0
        yield None  # a tick: nothing new, not yet due
        assert sent.batches == []
        clock.now = 5.5
        yield None  # due now
        assert sent.batches == [[(1_700_000_000_001, "shop[42]: line 1")]]
        assert cursor.read_text() == "s=abc;i=1\n"
        yield entry(2)

    ship(journal(), sent, cursor, clock=clock, flush_after_s=5.0)
    assert len(sent.batches) == 2


def test_a_refused_batch_keeps_the_previous_cursor_so_a_restart_sends_it_again(tmp_path):
    cursor = tmp_path / "cursor"
    cursor.write_text("s=abc;i=0\n")
    with pytest.raises(ShipError):
        ship([entry(1), entry(2)], Recorder(fail_times=1), cursor)
    assert log_shipper.read_cursor(cursor) == "s=abc;i=0"
    # The restart reads after that cursor: the entries the refused batch held come again.
    assert journal_command(["shop.service"], log_shipper.read_cursor(cursor)) == [
        "journalctl", "--output", "json", "--no-pager", "--unit", "shop.service", "--after-cursor=s=abc;i=0", "--follow",
    ]


def test_without_a_cursor_the_journal_is_read_from_this_boot():
    assert journal_command(["shop.service", "shop-secrets.service"], None, follow=False) == [
        "journalctl", "--output", "json", "--no-pager", "--unit", "shop.service", "--unit", "shop-secrets.service",
        "--boot",
    ]


def test_retrying_sends_a_refused_batch_again(monkeypatch, tmp_path):
    monkeypatch.setattr(log_shipper.time, "sleep", lambda _s: None)
    sent = Recorder(fail_times=2)
    ship([entry(1)], log_shipper.retrying(sent), tmp_path / "cursor")
    assert len(sent.batches) == 1


def test_messages_that_are_not_utf8_or_too_long_still_ship():
    assert log_shipper.message_of({"MESSAGE": [104, 105, 255], "SYSLOG_IDENTIFIER": "shop"}) == "shop: hi\ufffd"
    long = log_shipper.message_of({"MESSAGE": "é" * 300_000, "SYSLOG_IDENTIFIER": "shop"})
    assert len(long.encode()) <= log_shipper.MAX_MESSAGE_BYTES and long.endswith("[truncated]")
    assert log_shipper.event_of({"MESSAGE": "no cursor"}) is None


def test_journal_entries_yields_ticks_while_the_journal_is_quiet():
    lines = threading.Event()

    def stream():
        yield json.dumps(entry(1)) + "\n"
        lines.wait(2)
        yield "not json\n"

    seen = []
    for item in log_shipper.journal_entries(stream(), tick_s=0.05):
        seen.append(item)
        if item is None:
            lines.set()
    assert seen[0]["__CURSOR"] == "s=abc;i=1" and None in seen and len([s for s in seen if s]) == 1


class FakeLogs(BaseHTTPRequestHandler):
    """IMDSv2 and CloudWatch Logs' JSON protocol, as much as the shipper uses."""

    calls: list = []
    streams: set = set()

    def log_message(self, *args):
        pass

    def _send(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        self._send(200, "imds-token")

    def do_GET(self):
        if self.path.endswith("/security-credentials/"):
            return self._send(200, "shop-role")
        if self.path.endswith("/shop-role"):
            return self._send(200, json.dumps({"AccessKeyId": "AKID", "SecretAccessKey": "secret", "Token": "t"}))
        if self.path.endswith("/instance-id"):
            return self._send(200, "i-0abc")
        return self._send(404, "")

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        action = self.headers["X-Amz-Target"].split(".")[1]
        FakeLogs.calls.append((action, body, self.headers["Authorization"]))
        if action == "CreateLogStream" and body["logStreamName"] in FakeLogs.streams:
            return self._send(400, json.dumps({"__type": "ResourceAlreadyExistsException"}))
        FakeLogs.streams.add(body.get("logStreamName"))
        return self._send(200, "{}")


@pytest.fixture
def fake_logs():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeLogs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    FakeLogs.calls, FakeLogs.streams = [], set()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_events_go_to_the_instances_stream_signed_for_the_logs_service(fake_logs):
    logs = CloudWatchLogs("eu-west-1", "/bakery/shop/prod", log_shipper.instance_id(fake_logs), fake_logs, f"{fake_logs}/")
    logs.create_stream()
    logs.create_stream()  # a restart: the stream exists, which is fine
    logs.put([log_shipper.Event(1_700_000_000_001, "shop[42]: hello", "c1")])
    actions = [action for action, _, _ in FakeLogs.calls]
    assert actions == ["CreateLogStream", "CreateLogStream", "PutLogEvents"]
    _, body, authorization = FakeLogs.calls[-1]
    assert body == {
        "logGroupName": "/bakery/shop/prod",
        "logStreamName": "i-0abc",
        "logEvents": [{"timestamp": 1_700_000_000_001, "message": "shop[42]: hello"}],
    }
    assert "/eu-west-1/logs/aws4_request" in authorization
