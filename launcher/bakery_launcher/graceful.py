"""Graceful stop for Waitress, which has none built in.

On SIGTERM the service must finish what it already accepted and refuse the rest,
so that a rolling replacement never cuts a request in half:

1. the signal handler only records the signal; a wake-up socket interrupts the
   event loop at once (no logging or socket work inside a handler, which may run
   in the middle of the loop);
2. responses from then on carry ``Connection: close`` so keep-alive clients
   (the load balancer) open new connections elsewhere;
3. connections the kernel already completed are accepted, then the listening
   socket is closed: later connection attempts are refused;
4. the event loop keeps running until every connection is idle or closed, or the
   shutdown timeout passes; idle keep-alive connections are closed.

This relies on attributes of Waitress 2.1 channels (``requests``, ``request``,
``total_outbufs_len``, ``close_when_flushed``, ``will_close``), which Debian 12
pins; the shutdown tests run against the real server and fail if they change.
"""

from __future__ import annotations

import select
import signal
import socket
import threading
import time

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import WSGITask


# A connection accepted this recently that has sent nothing yet is probably
# about to send its request; closing it at once would reset that request.
NEW_CONNECTION_GRACE_S = 1.0
DRAIN_POLL_INTERVAL_S = 0.05
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class DrainAwareTask(WSGITask):
    """A request task that asks the client to close the connection once draining."""

    def build_response_header(self):
        """Mark the request Connection: close when draining, then build the header."""
        if self.channel.server.draining.is_set():
            # A WSGI app may not set hop-by-hop headers (PEP 3333, Waitress
            # enforces it), so let Waitress's own rule apply: a request that says
            # "close" gets "Connection: close" and the socket closes once flushed.
            self.request.headers["CONNECTION"] = "close"
        return super().build_response_header()


class DrainAwareChannel(HTTPChannel):
    """A connection whose responses close it once the server drains."""

    task_class = DrainAwareTask


class DrainableServer(TcpWSGIServer):
    """A Waitress TCP server that can stop listening and wait for its connections."""

    channel_class = DrainAwareChannel

    def __init__(self, application, adjustments, socket_map: dict) -> None:
        """Bind and listen at once, with connections tracked in socket_map."""
        self.draining = threading.Event()
        super().__init__(application, map=socket_map, adj=adjustments)

    def stop_listening(self) -> None:
        """Mark responses Connection: close, accept what the kernel queued, close the listener."""
        self.draining.set()
        self._accept_backlog()
        # BaseWSGIServer.close() would also close the trigger that worker threads
        # use to wake the event loop while their responses are still flushing.
        wasyncore.dispatcher.close(self)

    def _accept_backlog(self) -> None:
        """Accept completed connections so closing the listener resets none of them."""
        poller = select.poll()
        poller.register(self.socket, select.POLLIN)
        for _ in range(self.adj.backlog):
            if not poller.poll(0):
                return
            self.handle_accept()


class StopSignals:
    """Record SIGTERM/SIGINT and wake the event loop, while in a with block."""

    def __init__(self, socket_map: dict) -> None:
        """Prepare to watch for stop signals on the loop driving socket_map."""
        self.socket_map = socket_map
        self.received: str | None = None

    def __enter__(self) -> StopSignals:
        """Install the handlers and the wake-up socket."""
        reader, writer = socket.socketpair()
        writer.setblocking(False)
        self._writer = writer
        self._reader = _WakeupReader(reader, self.socket_map)
        self._previous_wakeup_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        self._previous_handlers = {signum: signal.signal(signum, self._record) for signum in STOP_SIGNALS}
        return self

    def __exit__(self, *exc_info) -> None:
        """Restore the previous handlers and close the wake-up socket."""
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(self._previous_wakeup_fd)
        self._reader.close()
        self._writer.close()

    def _record(self, signum: int, frame) -> None:
        """Remember the first stop signal; later ones change nothing."""
        if self.received is None:
            self.received = signal.Signals(signum).name


class _WakeupReader(wasyncore.dispatcher):
    """Drain the bytes Python writes on a signal, which is what wakes poll()."""

    def readable(self) -> bool:
        """Always watch for signal bytes."""
        return True

    def writable(self) -> bool:
        """Never wait to write; a True here would make poll() spin."""
        return False

    def handle_read(self) -> None:
        """Discard the signal numbers; StopSignals already recorded the signal."""
        self.recv(64)


def serve_until_stopped(server: DrainableServer, stop: StopSignals) -> None:
    """Run the event loop until a stop signal arrives."""
    while stop.received is None:
        wasyncore.loop(
            timeout=server.adj.asyncore_loop_timeout,
            map=server._map,
            use_poll=True,
            count=1,
        )


def finish_in_flight(server: DrainableServer, timeout_s: float) -> int:
    """Run the loop until no connection is left or timeout_s passes; return how many requests were cut."""
    deadline = time.monotonic() + timeout_s
    while server.active_channels and time.monotonic() < deadline:
        _close_idle_channels(server)
        wasyncore.loop(timeout=DRAIN_POLL_INTERVAL_S, map=server._map, use_poll=True, count=1)

    remaining = list(server.active_channels.values())
    cut = sum(1 for channel in remaining if _is_busy(channel))
    for channel in remaining:
        channel.handle_close()
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
    return cut


def _close_idle_channels(server: DrainableServer) -> None:
    """Ask every connection with nothing in flight to close on the next loop turn."""
    for channel in list(server.active_channels.values()):
        if _is_busy(channel) or _has_unread_bytes(channel) or _is_new(channel):
            continue
        channel.will_close = True


def _is_busy(channel: HTTPChannel) -> bool:
    """Tell whether a request is queued, running, half received or still being sent."""
    return bool(
        channel.requests or channel.request is not None or channel.total_outbufs_len or channel.close_when_flushed
    )


def _has_unread_bytes(channel: HTTPChannel) -> bool:
    """Tell whether the client has sent bytes the event loop has not read yet."""
    if channel.socket is None:
        return False
    try:
        return bool(channel.socket.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except OSError:  # BlockingIOError when nothing is waiting; reset sockets too
        return False


def _is_new(channel: HTTPChannel) -> bool:
    """Tell whether the connection was accepted moments ago and has had no traffic."""
    # Waitress stamps both times with time.time(); compare in its clock.
    never_active = channel.last_activity == channel.creation_time
    return never_active and time.time() - channel.creation_time < NEW_CONNECTION_GRACE_S
