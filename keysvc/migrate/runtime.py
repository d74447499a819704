"""What ``keysvc-migrate`` takes from the world it runs in, gathered in one place.

The installed command runs on `Runtime.system()`: the process environment,
the system clock, this machine's fingerprint, real gRPC connections. Tests
replace a part with `dataclasses.replace` (a fixed clock, a fake machine, a
fake service) and call ``cli.main(argv, runtime=...)``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from keysvc.migrate.fingerprint import MachineFingerprint, machine_fingerprint

if TYPE_CHECKING:
    # Only for annotations: importing the client loads grpc, which the offline
    # commands must never need.
    from keysvc.client import ClientConfig
    from keysvc.migrate.connection import KeyService

__all__ = ["Runtime"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _is_root() -> bool:
    return os.geteuid() == 0


@dataclass(frozen=True)
class Runtime:
    """The environment, clock, machine, terminal and connections a command uses.

    ``connect`` opens the service (a `keysvc.client.LicenseClient` when None).
    ``interactive`` says whether standard error is a terminal, where ``wait``
    may draw its progress spinner.
    """

    environ: Mapping[str, str]
    now: Callable[[], datetime]
    machine: Callable[[], MachineFingerprint]
    is_root: Callable[[], bool]
    stdout: TextIO
    stderr: TextIO
    interactive: bool
    connect: Callable[[ClientConfig], KeyService] | None = None

    @classmethod
    def system(cls) -> Runtime:
        """The real world: ``os.environ``, the system clock, ``/``, the process's streams."""
        return cls(
            environ=os.environ,
            now=_utc_now,
            machine=machine_fingerprint,
            is_root=_is_root,
            stdout=sys.stdout,
            stderr=sys.stderr,
            interactive=sys.stderr.isatty(),
        )
