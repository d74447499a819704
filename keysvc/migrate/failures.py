"""How ``keysvc-migrate`` ends: its exit codes, and the failure that picks one.

Scripts branch on the exit code, people read the message:

====  ===================  ===================================================
code  name                 meaning
====  ===================  ===================================================
0     OK                   done
1     REFUSED              the service refused, the key is invalid, the request
                           was rejected, or there is nothing to install yet
2     USAGE                the command line, a file it names, or this machine
                           cannot be used (unreadable file, no fingerprint, bad
                           state file); ``status`` of a key naming no status list
3     UNREACHABLE          the service could not be reached, even after retries;
                           or the status list's host, or it answered an HTTP error
4     AUTHENTICATION       no token, an unknown token, or a role that may not do it
5     TIMEOUT              ``wait`` gave up before the key was released
6     KEY_NOT_VALID        ``verify --status``, ``status``: the key is genuine, but
                           its status list says superseded, revoked (INVALID) or
                           suspended (``status`` saved the list all the same)
7     STATUS_STALE         ``verify --status``, ``status``: the status list is past
                           its ``exp``: the key's status is unknown until a fresh
                           one (``status`` saved nothing)
8     STATUS_LIST_REFUSED  ``verify --status``, ``status``: the status list was
                           refused (forged, unknown signer, not the key's, too
                           large)
130   INTERRUPTED          stopped with Ctrl-C
====  ===================  ===================================================

A command raises `Failure` with its exit code, a stable UPPER_SNAKE ``reason``
(the service's `ErrorInfo` reason, `signing`'s, or one of the tool's own) and
what to do about it; ``cli.main`` prints it and returns the code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import IntEnum

__all__ = ["ExitCode", "Failure"]


class ExitCode(IntEnum):
    """The exit codes of ``keysvc-migrate`` (table in the module docstring)."""

    OK = 0
    REFUSED = 1
    USAGE = 2
    UNREACHABLE = 3
    AUTHENTICATION = 4
    TIMEOUT = 5
    KEY_NOT_VALID = 6
    STATUS_STALE = 7
    STATUS_LIST_REFUSED = 8
    INTERRUPTED = 130


class Failure(Exception):
    """A command could not do its job; ``exit_code`` and ``reason`` say how.

    ``hint`` is the next step for the person at the terminal. ``result`` holds
    what is known anyway (the claims of a key for another server, the state of
    a request still waiting): ``--json`` prints it beside the error, and
    ``lines`` are its human form, printed on standard output.
    """

    def __init__(
        self,
        exit_code: ExitCode,
        reason: str,
        message: str,
        *,
        hint: str = "",
        metadata: Mapping[str, str] | None = None,
        result: Mapping[str, object] | None = None,
        lines: Sequence[str] = (),
    ) -> None:
        """Keep every part; the exception's text is ``REASON: message``."""
        super().__init__(f"{reason}: {message}")
        self.exit_code = exit_code
        self.reason = reason
        self.message = message
        self.hint = hint
        self.metadata = dict(metadata or {})
        self.result = dict(result or {})
        self.lines = tuple(lines)
