"""Run the demo under the launcher (Waitress) in a subprocess, as systemd does."""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

SERVICE_DIR = Path(__file__).resolve().parent.parent
LAUNCHER_DIR = SERVICE_DIR.parent / "launcher"
LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


class ServiceProcess:
    """The demo under bakery's launcher, as the unit runs it, on a free loopback port, output captured."""

    def __init__(self, env: dict[str, str]) -> None:
        """Start the child with the APP_* settings in env; APP_PORT=0 picks a free port."""
        child_env = {key: value for key, value in os.environ.items() if not key.startswith("APP_")}
        child_env.update(PYTHONPATH=f"{SERVICE_DIR}:{LAUNCHER_DIR}", PYTHONDONTWRITEBYTECODE="1")
        child_env.update({"APP_HOST": "127.0.0.1", "APP_PORT": "0", **env})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bakery_launcher", "--entrypoint", "bakery_service:create_app()"],
            cwd=SERVICE_DIR,
            env=child_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()
        self.port = 0

    def wait_until_listening(self, timeout_s: float = 10) -> ServiceProcess:
        """Wait for the "listening on" line and remember the port."""
        self.port = int(self.wait_for_line(LISTENING, timeout_s).group(1))
        return self

    def wait_for_line(self, pattern: str | re.Pattern[str], timeout_s: float = 10) -> re.Match[str]:
        """Return the first output line matching pattern, waiting up to timeout_s."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                for line in self.lines:
                    if match := regex.search(line):
                        return match
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.process.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no line matching {regex.pattern!r} in output:\n{self.output()}")
                self._changed.wait(remaining)

    def connection(self) -> http.client.HTTPConnection:
        """Open a keep-alive HTTP connection to the service."""
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)

    def signal(self, signum: int = signal.SIGTERM) -> None:
        """Send signum to the service."""
        self.process.send_signal(signum)

    def wait(self, timeout_s: float) -> int:
        """Wait for the service to exit and return its exit status."""
        status = self.process.wait(timeout=timeout_s)
        self._reader.join(timeout=5)
        return status

    def output(self) -> str:
        """Return everything the service printed so far."""
        with self._changed:
            return "".join(self.lines)

    def kill(self) -> None:
        """Kill the service if a test left it running, and release its pipe."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        self._reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def _read_output(self) -> None:
        """Collect output lines as they arrive, waking waiters."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()
