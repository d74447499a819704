"""Exit codes of `keysvc admin`, for scripts that branch on them."""

from __future__ import annotations

from keysvc.client import (
    AuthenticationError,
    KeysvcClientError,
    PermissionDeniedError,
    UnavailableError,
)

OK = 0
"""Done."""
REFUSED = 1
"""The service refused the request (its reason is printed), or a local file failed."""
USAGE = 2
"""The command line or the local configuration is wrong (argparse uses 2 as well)."""
UNAVAILABLE = 3
"""The service could not be reached, or did not answer in time, after the retries."""
DENIED = 4
"""The token is missing, unknown or revoked, or its role may not do that."""
INTERRUPTED = 130
"""Ctrl-C, as shells report SIGINT."""

HELP = """\
exit codes:
  0  done
  1  the service refused the request (the reason is printed), or a local file failed
  2  usage error: bad options or arguments, unreadable token or TLS files
  3  the service is unreachable or did not answer in time, after retries
  4  authentication or permission: no valid token, or not an admin token
"""


class CommandError(Exception):
    """A failure on this side of the wire (a file that cannot be read or written).

    `reason` names it for scripts, as the service's reasons do (`USAGE`,
    `TOKEN_FILE`, `KEY_FILE` ...). `reported` means the command has printed its
    result already (`licenses verify` of a key that is not valid): only the
    exit code is left to give.
    """

    def __init__(
        self,
        message: str,
        exit_code: int = REFUSED,
        *,
        reason: str = "LOCAL_ERROR",
        reported: bool = False,
    ) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.reason = reason
        self.reported = reported


def exit_code_for(error: KeysvcClientError) -> int:
    """The exit code of a failed call."""
    if isinstance(error, AuthenticationError | PermissionDeniedError):
        return DENIED
    # The client retried transient failures already; what is left is an outage.
    if isinstance(error, UnavailableError) or error.transient:
        return UNAVAILABLE
    return REFUSED
