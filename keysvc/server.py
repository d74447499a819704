"""The gRPC server: our services, the standard health check and server reflection."""

from __future__ import annotations

import asyncio
import logging

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from keysvc.api.admin_servicer import AdminServicer
from keysvc.api.admission import Admission, AdmissionInterceptor
from keysvc.api.database_health import DatabaseHealth
from keysvc.api.interceptor import ServiceInterceptor
from keysvc.api.license_servicer import LicenseServicer
from keysvc.api.metrics_interceptor import RpcMetricsInterceptor
from keysvc.api.status_http import DocumentCache, StatusListener, status_app
from keysvc.background import run_background_work
from keysvc.bootstrap import Services
from keysvc.config import ConfigError, Settings, parse_listen_address
from keysvc.service.status_documents import read_status_documents
from keysvc.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    license_service_pb2,
    license_service_pb2_grpc,
)

logger = logging.getLogger(__name__)

_OUR_SERVICES = (
    license_service_pb2.DESCRIPTOR.services_by_name["LicenseService"],
    admin_service_pb2.DESCRIPTOR.services_by_name["AdminService"],
)
SERVED = tuple(service.full_name for service in _OUR_SERVICES)
MAX_PENDING_CALLS = 10_000


async def serve(settings: Settings, services: Services, stop: asyncio.Event) -> None:
    """Serves until `stop` is set, then shuts down in three steps (docs/operations.md):

    1. the health check answers NOT_SERVING while calls are still served, for
       `shutdown_drain_seconds`, so that load balancers stop sending new ones;
    2. the port closes to new calls, and those in flight have
       `shutdown_grace_seconds` to finish;
    3. any still running then are cancelled.
    """
    admission = Admission(settings.max_calls_in_flight)
    server = grpc.aio.server(
        # The metrics' interceptor first: it sees the status that the others send. Admission
        # before authentication: a refusal costs nothing, not even a token lookup.
        interceptors=[
            RpcMetricsInterceptor(services.metrics, _OUR_SERVICES),
            AdmissionInterceptor(admission, _OUR_SERVICES, services.metrics),
            ServiceInterceptor(services.authenticator, services.executor, services.auth_watch),
        ],
        options=[
            # gRPC shares a port with whoever holds it already by default: a second
            # server on the same address would silently get half the calls.
            ("grpc.so_reuseport", 0),
            # Calls gRPC holds until the event loop takes them up. Beyond the limit it
            # cancels new ones at once (CANCELLED, no RetryInfo), and its default of 1,000
            # is reached by a burst of 1,000 clients: up to here admission control
            # answers them instead, with a delay to retry after.
            ("grpc.server.max_pending_requests", MAX_PENDING_CALLS),
            ("grpc.server.max_pending_requests_hard_limit", MAX_PENDING_CALLS),
        ],
    )
    license_servicer = LicenseServicer(
        services.runner,
        clock=services.clock,
        calendar=services.calendar,
        signing_keys=services.signing_keys,
        mail=services.mail,
        turn_secret=settings.turn_secret.encode() if settings.turn_secret else None,
        turn_uris=settings.turn_uris,
        products=services.products,
        status_base_url=services.status_base_url,
    )
    license_service_pb2_grpc.add_LicenseServiceServicer_to_server(license_servicer, server)
    admin_servicer = AdminServicer(
        services.runner,
        signing_keys=services.signing_keys,
        clock=services.clock,
        calendar=services.calendar,
        mail=services.mail,
        release_loop=services.release_loop,
        authenticator=services.authenticator,
        products=services.products,
        page_tokens=services.page_tokens,
        status_base_url=services.status_base_url,
    )
    admin_service_pb2_grpc.add_AdminServiceServicer_to_server(admin_servicer, server)
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflection.enable_server_reflection(
        (
            *SERVED,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    host, port = parse_listen_address(settings.listen)
    credentials = server_credentials(settings)
    try:
        if credentials is None:
            bound_port = server.add_insecure_port(f"{host}:{port}")
        else:
            bound_port = server.add_secure_port(f"{host}:{port}", credentials)
    except RuntimeError as error:
        raise ConfigError(f"cannot listen on {host}:{port} (in use?): {error}") from error
    # Before the gRPC server starts: a port in use stops the start with nothing to undo.
    status_listener = await start_status_listener(settings, services)
    await server.start()
    health_names = ("", *SERVED)
    for name in health_names:
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    logger.info(
        "serving",
        extra={
            "listen": f"{host}:{bound_port}",
            "data_dir": str(settings.data_dir),
            "tls": "mutual" if settings.tls_client_ca_file else bool(credentials),
        },
    )
    background = asyncio.create_task(run_background_work(services, stop))
    database_health = asyncio.create_task(
        DatabaseHealth(services.engine, health, health_names).watch(stop)
    )
    await stop.wait()
    logger.info(
        "draining",
        extra={
            "drain_seconds": settings.shutdown_drain_seconds,
            "in_flight": admission.in_flight,
        },
    )
    # NOT_SERVING at once, and for good: the database's probe can set health no more.
    await health.enter_graceful_shutdown()
    # The probe ends with `stop` (a probe under way is awaited, within the drain).
    await asyncio.gather(asyncio.sleep(settings.shutdown_drain_seconds), database_health)
    logger.info(
        "shutting down",
        extra={"grace_seconds": settings.shutdown_grace_seconds, "in_flight": admission.in_flight},
    )
    # The status listener closes with the gRPC port: it served through the drain.
    await asyncio.gather(
        server.stop(settings.shutdown_grace_seconds),
        *([status_listener.close()] if status_listener is not None else []),
    )
    await background
    logger.info("stopped")


async def start_status_listener(settings: Settings, services: Services) -> StatusListener | None:
    """Starts serving the status lists and the JWKS over HTTP, when an address is
    configured (``--status-listen``, KEYSVC_STATUS_LISTEN); `ConfigError` when it cannot."""
    if settings.status_listen is None:
        return None
    engine = services.engine
    alg = services.signing_keys.alg
    documents = DocumentCache(lambda: read_status_documents(engine, alg), services.executor)
    listener = await StatusListener.start(
        settings.status_listen,
        status_app(documents, services.clock),
        shutdown_seconds=settings.shutdown_grace_seconds,
    )
    logger.info(
        "serving status lists",
        extra={
            "status_lists": f"http://{listener.address}/statuslists/",
            "status_base_url": services.status_base_url,
        },
    )
    return listener


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """TLS credentials from the configured PEM files; None for plaintext.

    With a client CA, clients must present a certificate it signed (mutual TLS).
    """
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    try:
        chain = settings.tls_cert_file.read_bytes()
        key = settings.tls_key_file.read_bytes()
        client_ca = (
            settings.tls_client_ca_file.read_bytes() if settings.tls_client_ca_file else None
        )
    except OSError as error:
        raise ConfigError(f"cannot read a TLS file: {error}") from error
    return grpc.ssl_server_credentials(
        [(key, chain)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )
