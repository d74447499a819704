"""Service configuration: the values `keysvc serve` runs with.

Settings are plain values. They are read from the environment (``KEYSVC_*``) and
the command line by the `keysvc` command (`keysvc.cli`), never elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from urllib.parse import urlsplit

from scheduler.calendar import DEFAULT_CUTOFF, DEFAULT_OPENING
from signing import ALGORITHM, ALGORITHMS, Algorithm, check_status_uri

DEFAULT_DATA_DIR = Path("var")
DEFAULT_LISTEN = "127.0.0.1:50051"
# Reserved names (RFC 2606) that can never reach anyone: production sets real ones.
DEFAULT_MAIL_FROM = "keysvc <keysvc@keysvc.invalid>"
DEFAULT_MAIL_DOMAIN = "keysvc.invalid"
DEFAULT_RELEASE_BATCH_SIZE = 200
# Remembered answers of calls with a request_id (AIP-155) are forgotten after this.
DEFAULT_IDEMPOTENCY_RETENTION_DAYS = 90
MAX_IDEMPOTENCY_RETENTION_DAYS = 36_500
# Failed authentications from one address: `limit` within `window` seconds block it
# for `block` seconds (docs/auth.md). A client with a wrong token fails a few
# times and stops; an attack at hundreds a second is stopped within the second.
DEFAULT_AUTH_FAILURE_LIMIT = 20
DEFAULT_AUTH_FAILURE_WINDOW_SECONDS = 60
DEFAULT_AUTH_BLOCK_SECONDS = 300
MAX_AUTH_FAILURE_LIMIT = 1_000_000
MAX_AUTH_SECONDS = 86_400
# A batch is one transaction holding its rows' locks: keep it short.
MAX_RELEASE_BATCH_SIZE = 10_000
# Calls of our services in flight at once; beyond, refused at once (docs/operations.md).
DEFAULT_MAX_CALLS_IN_FLIGHT = 16
MAX_MAX_CALLS_IN_FLIGHT = 100_000
# On SIGTERM: answering NOT_SERVING while still serving (the drain), then the time left to
# the calls in flight (the grace); their sum should stay below the orchestrator's own limit
# (Kubernetes: 30 s).
DEFAULT_SHUTDOWN_DRAIN_SECONDS = 5
DEFAULT_SHUTDOWN_GRACE_SECONDS = 10
MAX_SHUTDOWN_SECONDS = 3_600
# Listen hosts that mean every interface: no one reaches a list at such an address.
_EVERY_INTERFACE = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 (recognised, not bound)
_WALL_TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


class ConfigError(Exception):
    """A configuration value is missing or malformed; the message names it."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service needs to start.

    `signing_passphrase` / `signing_passphrase_file` come from
    ``KEYSVC_SIGNING_KEY_PASSPHRASE`` / ``KEYSVC_SIGNING_KEY_PASSPHRASE_FILE``;
    when both are absent the service runs with a development key (see
    `keysvc.service.signing_keys`).
    """

    data_dir: Path = DEFAULT_DATA_DIR
    listen: str = DEFAULT_LISTEN
    # Any SQLAlchemy URL; None means the embedded SQLite database in the data folder.
    database_url: str | None = None
    signing_passphrase: str | None = None
    signing_passphrase_file: Path | None = None
    # The JOSE name new keys and status lists are signed with: EdDSA (what every JOSE
    # library in use knows) or Ed25519 (RFC 9864's fully-specified name).
    signing_alg: Algorithm = ALGORITHM
    # On SIGTERM: seconds answering NOT_SERVING while serving, then seconds for the calls
    # in flight to finish before they are cancelled.
    shutdown_drain_seconds: int = DEFAULT_SHUTDOWN_DRAIN_SECONDS
    shutdown_grace_seconds: int = DEFAULT_SHUTDOWN_GRACE_SECONDS
    # Calls of our services in flight at once; beyond, RESOURCE_EXHAUSTED at once.
    max_calls_in_flight: int = DEFAULT_MAX_CALLS_IN_FLIGHT
    # TLS: certificate chain and key (PEM) of the server; with a client CA, mutual TLS.
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_client_ca_file: Path | None = None
    # E-mail: SMTP when a URL is set, else the Maildir <data-dir>/mail/.
    smtp_url: str | None = None
    mail_from: str = DEFAULT_MAIL_FROM
    mail_domain: str = DEFAULT_MAIL_DOMAIN
    # Closures beyond the built-in Dec 29 - Jan 3, as a TOML file ([[closures]] tables).
    calendar_file: Path | None = None
    # JST wall times: accepted strictly before the cutoff on a business day is due that
    # day; later requests are released at the opening of their due day.
    cutoff: time = DEFAULT_CUTOFF
    opening: time = DEFAULT_OPENING
    # ICE: the secret shared with the TURN servers (coturn use-auth-secret) and their URIs.
    turn_secret: str | None = None
    turn_uris: tuple[str, ...] = ()
    # Requests released per transaction by the release loop and ReleaseDue.
    release_batch_size: int = DEFAULT_RELEASE_BATCH_SIZE
    # HOST:PORT of the Prometheus metrics endpoint; None: no endpoint (docs/metrics.md).
    metrics_listen: str | None = None
    # HOST:PORT of the status lists' HTTP listener (SPEC section 5a); None: no listener.
    status_listen: str | None = None
    # The public base of the status lists' URIs, written into every key issued; None:
    # http://<status_listen>, and without a listener either, keys carry no status claim.
    status_base_url: str | None = None
    # Days a call's remembered answer is kept for its repeats; 0 keeps them forever.
    idempotency_retention_days: int = DEFAULT_IDEMPOTENCY_RETENTION_DAYS
    # Failed authentications an address may make within the window before it is
    # refused for the block's seconds; 0 never blocks (failures are still logged).
    auth_failure_limit: int = DEFAULT_AUTH_FAILURE_LIMIT
    auth_failure_window_seconds: int = DEFAULT_AUTH_FAILURE_WINDOW_SECONDS
    auth_block_seconds: int = DEFAULT_AUTH_BLOCK_SECONDS

    @classmethod
    def from_environment(
        cls,
        environ: Mapping[str, str],
        *,
        data_dir: Path | None = None,
        listen: str | None = None,
        metrics_listen: str | None = None,
        status_listen: str | None = None,
    ) -> Settings:
        """Builds settings from ``KEYSVC_*`` variables; explicit arguments win."""
        passphrase_file = environ.get("KEYSVC_SIGNING_KEY_PASSPHRASE_FILE") or None

        def path(name: str) -> Path | None:
            value = environ.get(name)
            return Path(value) if value else None

        settings = cls(
            data_dir=data_dir or Path(environ.get("KEYSVC_DATA_DIR") or DEFAULT_DATA_DIR),
            listen=listen or environ.get("KEYSVC_LISTEN") or DEFAULT_LISTEN,
            database_url=environ.get("KEYSVC_DATABASE_URL") or None,
            signing_passphrase=environ.get("KEYSVC_SIGNING_KEY_PASSPHRASE") or None,
            signing_passphrase_file=Path(passphrase_file) if passphrase_file else None,
            signing_alg=_signing_alg(environ.get("KEYSVC_SIGNING_ALG")),
            tls_cert_file=path("KEYSVC_TLS_CERT_FILE"),
            tls_key_file=path("KEYSVC_TLS_KEY_FILE"),
            tls_client_ca_file=path("KEYSVC_TLS_CLIENT_CA_FILE"),
            smtp_url=environ.get("KEYSVC_SMTP_URL") or None,
            mail_from=environ.get("KEYSVC_MAIL_FROM") or DEFAULT_MAIL_FROM,
            mail_domain=environ.get("KEYSVC_MAIL_DOMAIN") or DEFAULT_MAIL_DOMAIN,
            calendar_file=path("KEYSVC_CALENDAR_FILE"),
            cutoff=_wall_time("KEYSVC_CUTOFF", environ.get("KEYSVC_CUTOFF"), DEFAULT_CUTOFF),
            opening=_wall_time("KEYSVC_OPENING", environ.get("KEYSVC_OPENING"), DEFAULT_OPENING),
            turn_secret=environ.get("KEYSVC_TURN_SECRET") or None,
            turn_uris=tuple(
                uri.strip() for uri in environ.get("KEYSVC_TURN_URIS", "").split(",") if uri.strip()
            ),
            release_batch_size=_whole_number(
                "KEYSVC_RELEASE_BATCH_SIZE",
                environ.get("KEYSVC_RELEASE_BATCH_SIZE"),
                DEFAULT_RELEASE_BATCH_SIZE,
                1,
                MAX_RELEASE_BATCH_SIZE,
            ),
            metrics_listen=metrics_listen or environ.get("KEYSVC_METRICS_LISTEN") or None,
            status_listen=status_listen or environ.get("KEYSVC_STATUS_LISTEN") or None,
            status_base_url=environ.get("KEYSVC_STATUS_BASE_URL") or None,
            # 0 keeps remembered calls forever.
            idempotency_retention_days=_whole_number(
                "KEYSVC_IDEMPOTENCY_RETENTION_DAYS",
                environ.get("KEYSVC_IDEMPOTENCY_RETENTION_DAYS"),
                DEFAULT_IDEMPOTENCY_RETENTION_DAYS,
                0,
                MAX_IDEMPOTENCY_RETENTION_DAYS,
            ),
            auth_failure_limit=_whole_number(
                "KEYSVC_AUTH_FAILURE_LIMIT",
                environ.get("KEYSVC_AUTH_FAILURE_LIMIT"),
                DEFAULT_AUTH_FAILURE_LIMIT,
                0,
                MAX_AUTH_FAILURE_LIMIT,
            ),
            auth_failure_window_seconds=_whole_number(
                "KEYSVC_AUTH_FAILURE_WINDOW_SECONDS",
                environ.get("KEYSVC_AUTH_FAILURE_WINDOW_SECONDS"),
                DEFAULT_AUTH_FAILURE_WINDOW_SECONDS,
                1,
                MAX_AUTH_SECONDS,
            ),
            auth_block_seconds=_whole_number(
                "KEYSVC_AUTH_BLOCK_SECONDS",
                environ.get("KEYSVC_AUTH_BLOCK_SECONDS"),
                DEFAULT_AUTH_BLOCK_SECONDS,
                1,
                MAX_AUTH_SECONDS,
            ),
            shutdown_drain_seconds=_whole_number(
                "KEYSVC_SHUTDOWN_DRAIN_SECONDS",
                environ.get("KEYSVC_SHUTDOWN_DRAIN_SECONDS"),
                DEFAULT_SHUTDOWN_DRAIN_SECONDS,
                0,
                MAX_SHUTDOWN_SECONDS,
            ),
            shutdown_grace_seconds=_whole_number(
                "KEYSVC_SHUTDOWN_GRACE_SECONDS",
                environ.get("KEYSVC_SHUTDOWN_GRACE_SECONDS"),
                DEFAULT_SHUTDOWN_GRACE_SECONDS,
                0,
                MAX_SHUTDOWN_SECONDS,
            ),
            max_calls_in_flight=_whole_number(
                "KEYSVC_MAX_CALLS_IN_FLIGHT",
                environ.get("KEYSVC_MAX_CALLS_IN_FLIGHT"),
                DEFAULT_MAX_CALLS_IN_FLIGHT,
                1,
                MAX_MAX_CALLS_IN_FLIGHT,
            ),
        )
        bad_uris = [u for u in settings.turn_uris if not u.startswith(("turn:", "turns:", "stun:"))]
        if bad_uris:
            raise ConfigError(f"KEYSVC_TURN_URIS must be turn:, turns: or stun: URIs: {bad_uris}")
        if (settings.tls_cert_file is None) != (settings.tls_key_file is None):
            raise ConfigError("set both KEYSVC_TLS_CERT_FILE and KEYSVC_TLS_KEY_FILE, or neither")
        if settings.tls_client_ca_file is not None and settings.tls_cert_file is None:
            raise ConfigError("KEYSVC_TLS_CLIENT_CA_FILE (mutual TLS) needs KEYSVC_TLS_CERT_FILE")
        if not settings.opening < settings.cutoff:
            raise ConfigError(
                f"KEYSVC_OPENING ({settings.opening:%H:%M}) must be before KEYSVC_CUTOFF "
                f"({settings.cutoff:%H:%M})"
            )
        parse_listen_address(settings.listen)
        if settings.metrics_listen is not None:
            parse_listen_address(settings.metrics_listen, name="KEYSVC_METRICS_LISTEN")
        if settings.status_listen is not None:
            parse_listen_address(settings.status_listen, name="KEYSVC_STATUS_LISTEN")
        settings.status_uri_base()
        if settings.signing_passphrase and settings.signing_passphrase_file:
            raise ConfigError(
                "set only one of KEYSVC_SIGNING_KEY_PASSPHRASE and "
                "KEYSVC_SIGNING_KEY_PASSPHRASE_FILE"
            )
        return settings

    def status_uri_base(self) -> str | None:
        """The base of the status lists' URIs, ``<base>/statuslists/<n>``, without a final
        slash: KEYSVC_STATUS_BASE_URL, else ``http://<status listen address>``; None
        when neither is set. Raises ConfigError for a base no key could carry, and for
        a listener on every interface or on port 0 without a base (its address reaches
        nobody, or changes at every start)."""
        if self.status_base_url is not None:
            base = self.status_base_url.rstrip("/")
            name = "KEYSVC_STATUS_BASE_URL"
        elif self.status_listen is not None:
            host, port = parse_listen_address(self.status_listen, name="KEYSVC_STATUS_LISTEN")
            if host.strip("[]") in _EVERY_INTERFACE:
                raise ConfigError(
                    f"KEYSVC_STATUS_LISTEN {self.status_listen} listens on every interface: "
                    "set KEYSVC_STATUS_BASE_URL to the address customers' servers reach"
                )
            if port == 0:
                # The keys would carry a port that changes at every start.
                raise ConfigError(
                    f"KEYSVC_STATUS_LISTEN {self.status_listen} picks a free port: name the "
                    "port, or set KEYSVC_STATUS_BASE_URL"
                )
            base = f"http://{self.status_listen}"
            name = "KEYSVC_STATUS_LISTEN"
        else:
            return None
        split = urlsplit(base)
        try:
            check_status_uri(f"{base}/statuslists/1")
        except ValueError as error:
            raise ConfigError(f"{name}: {error}, got {base!r}") from None
        if split.query or split.fragment or "@" in split.netloc:
            raise ConfigError(f"{name} must have no query, fragment or user, got {base!r}")
        return base

    @property
    def uses_development_key(self) -> bool:
        """True when no passphrase was configured: the embedded development default."""
        return self.signing_passphrase is None and self.signing_passphrase_file is None


def parse_listen_address(listen: str, *, name: str = "listen address") -> tuple[str, int]:
    """Splits ``HOST:PORT`` (``[::1]:PORT`` for IPv6); port 0 picks a free port.

    >>> parse_listen_address("127.0.0.1:50051")
    ('127.0.0.1', 50051)
    """
    host, sep, port_text = listen.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ConfigError(f"{name} must be HOST:PORT, got {listen!r}")
    return host, int(port_text)


def _signing_alg(text: str | None) -> Algorithm:
    """The algorithm name written in KEYSVC_SIGNING_ALG, or the default when unset."""
    if not text:
        return ALGORITHM
    for name in ALGORITHMS:
        if text == name:
            return name
    raise ConfigError(f"KEYSVC_SIGNING_ALG must be one of {', '.join(ALGORITHMS)}, got {text!r}")


def _whole_number(name: str, text: str | None, default: int, low: int, high: int) -> int:
    """A whole number from `low` to `high` written in a variable, or `default` when unset."""
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high}")
    return int(text)


def _wall_time(name: str, text: str | None, default: time) -> time:
    """A JST wall time written ``HH:MM`` (24-hour clock), or `default` when unset."""
    if not text:
        return default
    match = _WALL_TIME.fullmatch(text.strip())
    if match is None:
        raise ConfigError(f"{name} must be a time HH:MM such as 17:00, got {text!r}")
    return time(int(match[1]), int(match[2]))
