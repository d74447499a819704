"""Runs coturn's `turnserver` as a real process on a free loopback port, for end-to-end tests.

coturn comes from Debian's ``coturn`` package. `require_coturn` installs it when
its tools are missing; when that is not possible the test is skipped — except
under CI=true, where it fails: CI must not pass without the TURN test. Test runs
at once install one after another (a file lock), and apt-get waits for other
users of apt and dpkg instead of failing on their locks.

The server is started with ``-n`` (no configuration file: Debian's
/etc/turnserver.conf would send the log to syslog) and takes everything from
the command line: TURN REST API authentication (``use-auth-secret``) with a
static secret, UDP/TCP on 127.0.0.1 only, no TLS/DTLS, no CLI, its SQLite
database, pid file and log in the test's directory. A system-wide turnserver,
if there is one, is neither needed nor touched.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

HOST = "127.0.0.1"
TURNSERVER = "turnserver"
UCLIENT = "turnutils_uclient"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
INSTALL_TIMEOUT = 600.0
APT_LOCK_TIMEOUT = 300  # seconds apt-get waits for another apt or dpkg to finish
# Held while installing, so that two test runs at once do not race for apt's locks.
INSTALL_LOCK = Path(tempfile.gettempdir()) / "keysvc-tests-coturn-install.lock"
UCLIENT_TIMEOUT = 60.0

_STUN_MAGIC_COOKIE = 0x2112A442
_STUN_BINDING_REQUEST = 0x0001
_STUN_BINDING_SUCCESS = 0x0101


def _unavailable(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _missing_tools() -> list[str]:
    return [tool for tool in (TURNSERVER, UCLIENT) if shutil.which(tool) is None]


def _apt_get(*args: str) -> str:
    """Runs apt-get, waiting for apt's locks; returns "" on success, else what went wrong.

    ``DPkg::Lock::Timeout`` makes an install wait for the dpkg lock, but apt-get
    2.6's ``update`` fails at once on the package lists' lock whatever it says,
    so a refusal for a lock is retried here until the same timeout.
    """
    command = ["apt-get", "-o", f"DPkg::Lock::Timeout={APT_LOCK_TIMEOUT}", *args]
    deadline = time.monotonic() + APT_LOCK_TIMEOUT
    while True:
        try:
            result = subprocess.run(
                command,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return str(error)
        if result.returncode == 0:
            return ""
        if "Could not get lock" not in result.stderr or time.monotonic() > deadline:
            return f"exit status {result.returncode}: {result.stderr.strip()[-2000:]}"
        time.sleep(1)


def require_coturn() -> None:
    """Makes sure `turnserver` and `turnutils_uclient` are on PATH, installing coturn if not."""
    if not _missing_tools():
        return
    if shutil.which("apt-get") is None:
        problem = "apt-get not found"
    else:
        with INSTALL_LOCK.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            problem = _install_coturn()
    missing = _missing_tools()
    if missing:
        _unavailable(
            f"the TURN test needs coturn: {' and '.join(missing)} not found on PATH, "
            f"and installing it failed ({problem or 'installed, yet still not found'})"
        )


def _install_coturn() -> str:
    """Installs Debian's coturn unless another test run just did; "" or what went wrong."""
    if not _missing_tools():
        return ""
    install = ("install", "-y", "--no-install-recommends", "coturn")
    problem = _apt_get(*install)
    if problem:
        # A fresh image may have no package lists yet.
        problem = _apt_get("update") or _apt_get(*install)
    return problem


@dataclass
class TurnServer:
    """A started turnserver: where it listens and what it has logged."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    host: str = HOST

    def log_size(self) -> int:
        """The log's current length, to read what is logged after it with `log_since`."""
        return self.log_path.stat().st_size

    def log_since(self, offset: int = 0) -> str:
        """What the server has logged after `offset`."""
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", "replace")

    def wait_for_log(self, text: str, offset: int = 0, timeout: float = 5.0) -> bool:
        """Whether `text` is (or within `timeout` becomes) part of the log after `offset`."""
        deadline = time.monotonic() + timeout
        while text not in self.log_since(offset):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self) -> int:
        """Sends SIGTERM and waits; kills it if it does not stop in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
        return self.process.returncode


def _free_port() -> int:
    """A loopback port free for both UDP and TCP (turnserver listens on both)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((HOST, 0))
            port: int = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((HOST, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no loopback port free for both UDP and TCP")


def _answers_stun(port: int) -> bool:
    """Whether a STUN Binding request to the port gets its success response."""
    transaction = secrets.token_bytes(12)
    request = struct.pack("!HHI", _STUN_BINDING_REQUEST, 0, _STUN_MAGIC_COOKIE) + transaction
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        try:
            sock.sendto(request, (HOST, port))
            response = sock.recv(2048)
        except OSError:
            return False
    return (
        len(response) >= 20
        and struct.unpack("!H", response[:2])[0] == _STUN_BINDING_SUCCESS
        and response[8:20] == transaction
    )


def turnserver_command(directory: Path, port: int, secret: str, realm: str) -> list[str]:
    """The turnserver command line (see the module docstring)."""
    return [
        TURNSERVER,
        "-n",  # no configuration file: not /etc/turnserver.conf nor any other
        f"--listening-ip={HOST}",
        f"--relay-ip={HOST}",
        f"--listening-port={port}",
        "--use-auth-secret",  # TURN REST API: password = base64(HMAC-SHA1(secret, username))
        f"--static-auth-secret={secret}",
        f"--realm={realm}",
        # Relay endpoints are on 127.0.0.1, so loopback peers must be allowed for
        # two allocations to reach each other (coturn answers 403 Forbidden IP otherwise).
        "--allow-loopback-peers",
        "--no-tls",
        "--no-dtls",
        "--no-cli",  # no telnet CLI on port 5766, which parallel servers would share
        "--no-rfc5780",  # no alternative port for NAT discovery
        f"--userdb={directory / 'turndb'}",  # not /var/lib/turn/turndb
        f"--pidfile={directory / 'turnserver.pid'}",  # not /var/run/turnserver.pid
        "--log-file=stdout",  # redirected to turnserver.log below
    ]


@contextmanager
def turn_server(directory: Path, secret: str, realm: str = "keysvc.test") -> Iterator[TurnServer]:
    """Starts turnserver on a free 127.0.0.1 port; stops it on exit, also on failure.

    Ready once it answers a STUN Binding request.
    """
    directory.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    log_path = directory / "turnserver.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            turnserver_command(directory, port, secret, realm),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = TurnServer(process, port, log_path)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers_stun(port):
            if process.poll() is not None:
                raise RuntimeError(
                    f"turnserver exited with {process.returncode}:\n{server.log_since()}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"turnserver did not start:\n{server.log_since()}")
            time.sleep(0.05)
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class UclientRun:
    """What `turnutils_uclient` did: its exit status and output."""

    returncode: int
    output: str

    @property
    def relay_addresses(self) -> list[str]:
        """The relayed transport addresses the server allocated."""
        return re.findall(r"Received relay addr: (\S+)", self.output)

    @property
    def messages_received(self) -> int:
        """How many messages came back through the relays (0 when none did)."""
        found = re.search(r"tot_send_msgs=\d+, tot_recv_msgs=(\d+)\s*$", self.output, re.M)
        return int(found.group(1)) if found else 0


def run_uclient(host: str, port: int, username: str, password: str) -> UclientRun:
    """Allocates relays with the given long-term credentials and sends one message through.

    `-y`: two clients, each allocating a relay and sending to the other's relay
    address through its own (so the data really crosses the TURN server);
    `-c`: no extra RTCP allocation; `-n 1`: one message each; `-m 1`: one client
    pair; `-v`: print the allocated relay addresses.
    """
    command = [UCLIENT, "-v", "-y", "-c", "-n", "1", "-m", "1", "-p", str(port)]
    command += ["-u", username, "-w", password, host]
    result = subprocess.run(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        timeout=UCLIENT_TIMEOUT,
        check=False,
    )
    return UclientRun(result.returncode, result.stdout)
