"""The `keysvc` command: reads the settings, then runs what `keysvc.bootstrap` builds.

    keysvc serve [--config FILE] [--data-dir DIR] [--listen HOST:PORT]
                 [--metrics-listen HOST:PORT] [--status-listen HOST:PORT]
    keysvc scheduler [--config FILE] [--data-dir DIR] [--metrics-listen HOST:PORT]
    keysvc db upgrade [--config FILE] [--data-dir DIR]
    keysvc tokens create --role ROLE [--description TEXT] [--config FILE] [--data-dir DIR]
    keysvc status export DIR [--config FILE] [--data-dir DIR]
    keysvc audit verify [--anchor SEQ:HASH ...] [--config FILE] [--data-dir DIR]
    keysvc health [--address HOST:PORT] [--service NAME] [--timeout SECONDS]
    keysvc mail check-addresses [--json] [--config FILE] [--data-dir DIR]
    keysvc admin ...          (keysvc.admin_cli, dispatched by keysvc.launcher)

This is the one place that reads environment variables.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import hashlib
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.exc import SQLAlchemyError

from keysvc.background import run_background_work
from keysvc.bootstrap import Services, build_services, migrate_database, open_database
from keysvc.config import DEFAULT_LISTEN, ConfigError, Settings
from keysvc.config_file import CONFIG_FILE_VARIABLE, read_config_file
from keysvc.domain.audit_chain import ChainCheck
from keysvc.domain.tokens import Role
from keysvc.observability.logs import configure_logging
from keysvc.observability.metrics import MetricsEndpoint
from keysvc.server import serve
from keysvc.service.access_tokens import create_token
from keysvc.service.addresses import undeliverable_addresses
from keysvc.service.audit import verify_audit_log
from keysvc.service.status_documents import export_status_documents, read_status_documents
from scheduler.clock import Clock, SystemClock
from signing import SigningError

logger = logging.getLogger("keysvc")

EXIT_OK = 0
EXIT_UNHEALTHY = 1
EXIT_FOUND = 1  # a check found what it looks for (mail check-addresses)
EXIT_AUDIT_BROKEN = 1
EXIT_CONFIG = 2


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None) -> int:
    """Runs a `keysvc` subcommand and returns its exit code.

    `clock` is for programs that embed keysvc, such as the end-to-end tests'
    test-only launcher; the installed command always runs on the system clock.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    args.clock = clock or SystemClock()
    code: int = args.handler(args)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keysvc",
        description="License-key issuance service (gRPC).",
        epilog="keysvc admin ...: the support staff's commands over gRPC (keysvc admin --help).",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve_parser = commands.add_parser(
        "serve", help="run the gRPC server", description="Run the gRPC server until SIGTERM."
    )
    _add_settings_options(serve_parser)
    serve_parser.add_argument(
        "--listen",
        help=f"HOST:PORT to listen on (default {DEFAULT_LISTEN}, or KEYSVC_LISTEN); port 0 "
        "picks a free port",
    )
    _add_metrics_listen(serve_parser)
    serve_parser.add_argument(
        "--status-listen",
        help="HOST:PORT of the status lists' HTTP listener (or KEYSVC_STATUS_LISTEN; "
        "default: none); keys name http://HOST:PORT/statuslists/<n> unless "
        "KEYSVC_STATUS_BASE_URL is set (docs/configuration.md)",
    )
    serve_parser.set_defaults(handler=_serve)

    scheduler_parser = commands.add_parser(
        "scheduler",
        help="release due requests and deliver e-mail, without serving RPCs",
        description="Run the release loop and the mail sender until SIGTERM (keysvc serve "
        "runs them too; several may share one PostgreSQL database).",
    )
    _add_settings_options(scheduler_parser)
    _add_metrics_listen(scheduler_parser)
    scheduler_parser.set_defaults(handler=_scheduler)

    db_parser = commands.add_parser("db", help="database schema")
    db_commands = db_parser.add_subparsers(required=True, metavar="COMMAND")
    upgrade_parser = db_commands.add_parser(
        "upgrade",
        help="migrate the database to this version's schema",
        description="Apply pending migrations to KEYSVC_DATABASE_URL, or to the embedded "
        "SQLite database of the data folder.",
    )
    _add_settings_options(upgrade_parser)
    upgrade_parser.set_defaults(handler=_db_upgrade)

    tokens_parser = commands.add_parser("tokens", help="API bearer tokens")
    token_commands = tokens_parser.add_subparsers(required=True, metavar="COMMAND")
    create_parser = token_commands.add_parser(
        "create",
        help="make a bearer token",
        description="Make a bearer token for one role; it is printed once, as the last "
        "line, and only its hash is stored.",
    )
    create_parser.add_argument("--role", required=True, choices=[role.value for role in Role])
    create_parser.add_argument("--description", default="", help="who or what holds it")
    _add_settings_options(create_parser)
    create_parser.set_defaults(handler=_tokens_create)

    status_parser = commands.add_parser("status", help="the published key status")
    status_commands = status_parser.add_subparsers(required=True, metavar="COMMAND")
    export_parser = status_commands.add_parser(
        "export",
        help="write the status lists and the JWKS for a static host",
        description="Write the published Status List Tokens to DIR/statuslists/<n> and the "
        "JWKS to DIR/.well-known/jwks.json, the bytes the status listener serves, for a "
        "static host or CDN; serve them as application/statuslist+jwt and "
        "application/jwk-set+json (docs/operations.md).",
    )
    export_parser.add_argument("directory", type=Path, metavar="DIR", help="where to write")
    _add_settings_options(export_parser)
    export_parser.set_defaults(handler=_status_export)

    mail_parser = commands.add_parser("mail", help="the key e-mails")
    mail_commands = mail_parser.add_subparsers(required=True, metavar="COMMAND")
    check_parser = mail_commands.add_parser(
        "check-addresses",
        help="list stored contact addresses that cannot be mailed",
        description="List the contracts and waiting key requests whose stored contact "
        "address is not deliverable (docs/mail.md); exit 1 when there is any, 0 when none.",
    )
    check_parser.add_argument("--json", action="store_true", help="one JSON document")
    _add_settings_options(check_parser)
    check_parser.set_defaults(handler=_mail_check_addresses)

    audit_parser = commands.add_parser("audit", help="the audit log")
    audit_commands = audit_parser.add_subparsers(required=True, metavar="COMMAND")
    verify_parser = audit_commands.add_parser(
        "verify",
        help="check the audit log's hash chain",
        description="Check the audit log's hash chain in the database: exit 0 and print "
        "the head (record it elsewhere) when intact, 1 naming the first broken event "
        "otherwise (docs/operations.md).",
    )
    verify_parser.add_argument(
        "--anchor",
        type=_anchor,
        action="append",
        default=[],
        metavar="SEQ:HASH",
        help="a head printed before (seq and hex hash) and kept outside the database: "
        "its event must still have that hash (repeatable)",
    )
    _add_settings_options(verify_parser)
    verify_parser.set_defaults(handler=_audit_verify)

    health_parser = commands.add_parser(
        "health",
        help="ask a server's gRPC health check",
        description="Exit 0 when the server answers SERVING, 1 otherwise (for HEALTHCHECK).",
    )
    health_parser.add_argument("--address", default=DEFAULT_LISTEN, help="HOST:PORT of the server")
    health_parser.add_argument("--service", default="", help="service name (default: the server)")
    health_parser.add_argument("--timeout", type=float, default=3.0, help="seconds to wait")
    health_parser.add_argument("--tls-ca", type=Path, help="CA certificate (PEM): connect with TLS")
    health_parser.add_argument("--tls-cert", type=Path, help="client certificate for mutual TLS")
    health_parser.add_argument("--tls-key", type=Path, help="client key for mutual TLS")
    health_parser.set_defaults(handler=_health)
    return parser


def _add_settings_options(parser: argparse.ArgumentParser) -> None:
    """--config and --data-dir, for the commands that read the service's settings."""
    parser.add_argument(
        "--config",
        type=Path,
        help=f"TOML configuration file (or {CONFIG_FILE_VARIABLE}); the environment "
        "wins over it (docs/configuration.md)",
    )
    parser.add_argument(
        "--data-dir", type=Path, help="data folder (default ./var, or KEYSVC_DATA_DIR)"
    )


def _settings(args: argparse.Namespace, **overrides: str | None) -> Settings:
    """The settings of the command line, the environment and the configuration file, in
    that order of precedence."""
    environ = {name: value for name, value in os.environ.items() if value}
    config_file = args.config or environ.get(CONFIG_FILE_VARIABLE)
    if config_file:
        environ = read_config_file(Path(config_file)) | environ
    return Settings.from_environment(environ, data_dir=args.data_dir, **overrides)


def _add_metrics_listen(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--metrics-listen",
        help="HOST:PORT of the Prometheus metrics endpoint (or KEYSVC_METRICS_LISTEN; "
        "default: none); port 0 picks a free port",
    )


def _serve(args: argparse.Namespace) -> int:
    return _run(args, serve, listen=args.listen, status_listen=args.status_listen)


def _scheduler(args: argparse.Namespace) -> int:
    return _run(args, _schedule)


async def _schedule(settings: Settings, services: Services, stop: asyncio.Event) -> None:
    logger.info("scheduler running", extra={"data_dir": str(settings.data_dir)})
    await run_background_work(services, stop)
    logger.info("stopped")


def _run(
    args: argparse.Namespace,
    main: Callable[[Settings, Services, asyncio.Event], Awaitable[None]],
    listen: str | None = None,
    status_listen: str | None = None,
) -> int:
    """Builds the services and runs `main` until SIGTERM or SIGINT."""
    configure_logging()
    try:
        settings = _settings(
            args, listen=listen, metrics_listen=args.metrics_listen, status_listen=status_listen
        )
        services = build_services(settings, args.clock)
    except (ConfigError, SigningError, SQLAlchemyError) as error:
        logger.error("cannot start: %s", error)
        return EXIT_CONFIG
    try:
        endpoint = _metrics_endpoint(settings, services)
    except ConfigError as error:
        services.close()
        logger.error("cannot start: %s", error)
        return EXIT_CONFIG

    async def until_signalled() -> None:
        await main(settings, services, _stop_on_signals())

    try:
        asyncio.run(until_signalled())
    except ConfigError as error:
        logger.error("cannot serve: %s", error)
        return EXIT_CONFIG
    finally:
        if endpoint is not None:
            endpoint.close()
        services.close()
    return EXIT_OK


def _metrics_endpoint(settings: Settings, services: Services) -> MetricsEndpoint | None:
    """Starts answering Prometheus's scrapes, when an address is configured."""
    if settings.metrics_listen is None:
        return None
    endpoint = MetricsEndpoint(settings.metrics_listen, services.metrics)
    logger.info("serving metrics", extra={"metrics": f"http://{endpoint.address}/metrics"})
    return endpoint


def _stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT (call inside the running loop)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop


def _db_upgrade(args: argparse.Namespace) -> int:
    configure_logging()
    try:
        settings = _settings(args)
        before, after = migrate_database(settings)
    except (ConfigError, SQLAlchemyError) as error:
        logger.error("cannot upgrade: %s", error)
        return EXIT_CONFIG
    print(f"database schema: {before or 'empty'} -> {after}")
    return EXIT_OK


def _tokens_create(args: argparse.Namespace) -> int:
    configure_logging()
    role = Role(args.role)
    try:
        settings = _settings(args)
        engine = open_database(settings)
    except (ConfigError, SQLAlchemyError) as error:
        logger.error("cannot create a token: %s", error)
        return EXIT_CONFIG
    try:
        token = create_token(
            engine, role, args.description, user=_host_user(), now=args.clock.now()
        )
    finally:
        engine.dispose()
    print(f"created {role.value} token {token.token_id}; keep it secret, it is shown only once:")
    print(token.text)
    return EXIT_OK


def _status_export(args: argparse.Namespace) -> int:
    configure_logging()
    try:
        settings = _settings(args)
        engine = open_database(settings)
    except (ConfigError, SQLAlchemyError) as error:
        logger.error("cannot export the status lists: %s", error)
        return EXIT_CONFIG
    try:
        documents = read_status_documents(engine, settings.signing_alg)
    except SQLAlchemyError as error:
        logger.error("cannot export the status lists: %s", error)
        return EXIT_CONFIG
    finally:
        engine.dispose()
    try:
        written = export_status_documents(documents, args.directory)
    except OSError as error:
        logger.error("cannot export the status lists: %s", error)
        return EXIT_CONFIG
    for file in written:
        print(f"wrote {file.path} ({file.content_type})")
    if not documents.lists:
        print(
            "no status list is published yet (keys carry no status claim, or the "
            "publisher has not run since the first key was issued)"
        )
    return EXIT_OK


def _mail_check_addresses(args: argparse.Namespace) -> int:
    configure_logging()
    try:
        engine = open_database(_settings(args))
    except (ConfigError, SQLAlchemyError) as error:
        logger.error("cannot check addresses: %s", error)
        return EXIT_CONFIG
    try:
        with engine.connect() as connection:
            found = list(undeliverable_addresses(connection))
    except SQLAlchemyError as error:
        logger.error("cannot check addresses: %s", error)
        return EXIT_CONFIG
    finally:
        engine.dispose()
    if args.json:
        items = [dataclasses.asdict(item) for item in found]
        print(json.dumps({"undeliverable": items}, ensure_ascii=False))
    elif found:
        print(
            f"送信できない連絡先メールアドレス: {len(found)} 件 / "
            f"{len(found)} stored contact addresses cannot be mailed (docs/operations.md):"
        )
        for item in found:
            where = f" ({item.state})" if item.state else ""
            # repr: a stored value may hold line breaks or control characters.
            print(f"{item.resource}{where}\t{item.address!r}\t{item.problem}")
    else:
        print(
            "送信できない連絡先メールアドレスはありません / every stored contact address "
            "can be mailed"
        )
    return EXIT_FOUND if found else EXIT_OK


def _host_user() -> str:
    """Who runs this command, for the audit log."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a uid without a name, as in some containers
        return f"uid-{os.getuid()}"


def _audit_verify(args: argparse.Namespace) -> int:
    configure_logging()
    try:
        settings = _settings(args)
        engine = open_database(settings)
    except (ConfigError, SQLAlchemyError) as error:
        logger.error("cannot verify the audit log: %s", error)
        return EXIT_CONFIG
    try:
        check = verify_audit_log(engine, dict(args.anchor))
    except SQLAlchemyError as error:
        logger.error("cannot verify the audit log: %s", error)
        return EXIT_CONFIG
    finally:
        engine.dispose()
    print(_chain_report(check))
    return EXIT_OK if check.intact else EXIT_AUDIT_BROKEN


def _anchor(text: str) -> tuple[int, bytes]:
    """``SEQ:HASH`` as `keysvc audit verify` printed it (seq, then the hash in hex)."""
    seq, _, hex_hash = text.partition(":")
    try:
        anchored = (int(seq), bytes.fromhex(hex_hash))
    except ValueError:
        anchored = (0, b"")
    if anchored[0] < 1 or len(anchored[1]) != hashlib.sha256().digest_size:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected SEQ:HASH, e.g. 1234:9f2c… (64 hex digits)"
        )
    return anchored


def _chain_report(check: ChainCheck) -> str:
    """What `keysvc audit verify` prints: Japanese first, then English."""
    if check.broken is None:
        assert check.head is not None, "an intact chain has its head"
        return (
            f"監査ログのハッシュチェーンに異常はありません ({check.events} 件)\n"
            f"the audit log's hash chain is intact ({check.events} events)\n"
            f"head (seq:sha256, for --anchor): {check.head.seq}:{check.head.hash.hex()}"
        )
    broken = check.broken
    where = f"seq {broken.seq}" + (f" (id {broken.event_id})" if broken.event_id else "")
    return (
        f"監査ログのハッシュチェーンが {where} で壊れています\n"
        f"the audit log's hash chain is broken at {where}: {broken.kind}\n"
        f"{broken.detail}"
    )


def _health(args: argparse.Namespace) -> int:
    with _channel(args) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            # types-grpcio-health-checking declares HealthStub without its methods.
            response = stub.Check(  # type: ignore[attr-defined]
                health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout
            )
        except grpc.RpcError as error:
            print(f"unhealthy: {error.code().name} {error.details()}", file=sys.stderr)
            return EXIT_UNHEALTHY
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    print(status)
    return EXIT_OK if response.status == health_pb2.HealthCheckResponse.SERVING else EXIT_UNHEALTHY


def _channel(args: argparse.Namespace) -> grpc.Channel:
    if args.tls_ca is None:
        return grpc.insecure_channel(args.address)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=args.tls_ca.read_bytes(),
        private_key=args.tls_key.read_bytes() if args.tls_key else None,
        certificate_chain=args.tls_cert.read_bytes() if args.tls_cert else None,
    )
    return grpc.secure_channel(args.address, credentials)
