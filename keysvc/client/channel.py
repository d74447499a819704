"""Where the service is and how to reach it: address, token, TLS, deadlines, retries."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from keysvc.client.retry import RetryPolicy

DEFAULT_ADDRESS = "127.0.0.1:50051"
DEFAULT_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class ClientConfig:
    """How a client connects.

    `timeout` is the deadline of each attempt; `retry` says how often and how
    patiently transient failures are tried again. Without `tls_ca` the channel
    is plaintext (a local or development server); with it, TLS, and with
    `tls_cert`/`tls_key` as well, mutual TLS.
    """

    address: str = DEFAULT_ADDRESS
    token: str = field(default="", repr=False)
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        # gRPC would refuse such metadata only when calling, as an INTERNAL error that
        # seems to come from the service. The message never shows the token.
        if not all("!" <= character <= "~" for character in self.token):
            raise ValueError(
                "not a keysvc token: a token is printable ASCII without spaces (ksv1.<id>.<secret>)"
            )

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] = os.environ, **overrides: object
    ) -> ClientConfig:
        """`KEYSVC_ADDRESS`, `KEYSVC_TOKEN` (or `KEYSVC_TOKEN_FILE`), `KEYSVC_TLS_CA`,
        `KEYSVC_TLS_CLIENT_CERT`, `KEYSVC_TLS_CLIENT_KEY`; keyword arguments that are
        not None win (a token given here means the token variables are not read).

        Raises `ValueError` when the token file cannot be read, or the token is not
        printable ASCII without spaces (as every token keysvc makes is).
        """
        token = overrides.get("token")
        if token is None:
            token = environ.get("KEYSVC_TOKEN", "")
            if not token and environ.get("KEYSVC_TOKEN_FILE"):
                token = _read_token(Path(environ["KEYSVC_TOKEN_FILE"]))

        def path(name: str) -> Path | None:
            return Path(environ[name]) if environ.get(name) else None

        values: dict[str, object] = {
            "address": environ.get("KEYSVC_ADDRESS") or DEFAULT_ADDRESS,
            "token": token,
            "tls_ca": path("KEYSVC_TLS_CA"),
            "tls_cert": path("KEYSVC_TLS_CLIENT_CERT"),
            "tls_key": path("KEYSVC_TLS_CLIENT_KEY"),
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)  # type: ignore[arg-type]

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """The call metadata: the bearer token, when there is one."""
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()


def open_channel(
    config: ClientConfig, interceptors: Sequence[grpc.UnaryUnaryClientInterceptor] = ()
) -> grpc.Channel:
    """A channel to `config.address`, secured as configured, through `interceptors`."""
    if (config.tls_cert is None) != (config.tls_key is None):
        raise ValueError("a client certificate needs its key, and the other way round")
    if config.tls_ca is None:
        if config.tls_cert is not None:
            raise ValueError("a client certificate (mutual TLS) needs tls_ca as well")
        channel = grpc.insecure_channel(config.address)
    else:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=config.tls_ca.read_bytes(),
            private_key=config.tls_key.read_bytes() if config.tls_key else None,
            certificate_chain=config.tls_cert.read_bytes() if config.tls_cert else None,
        )
        channel = grpc.secure_channel(config.address, credentials)
    return grpc.intercept_channel(channel, *interceptors) if interceptors else channel


def _read_token(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        why = f"cannot read the token file {path} (KEYSVC_TOKEN_FILE): {error}"
        raise ValueError(why) from None
