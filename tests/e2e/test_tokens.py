"""Tokens over the admin API: listed without secrets, revoked at once."""

from __future__ import annotations

import grpc
import pytest

from keysvc.v1 import admin_service_pb2, license_service_pb2

from .server_process import bearer, error_info

pytestmark = pytest.mark.e2e


def _list(clients, **fields):
    return clients.admin("ListTokens", admin_service_pb2.ListTokensRequest(**fields))


def test_tokens_are_listed_by_id_and_role_never_with_their_secret(clients) -> None:
    text = clients.make_token("migration")
    token_id = text.split(".")[1]
    listed = {token.id: token for token in _list(clients, page_size=100).tokens}
    assert listed[token_id].role == "migration"
    assert not listed[token_id].HasField("revoke_time")
    assert text.split(".")[2] not in str(_list(clients, page_size=100))


def test_a_revoked_token_is_refused_at_once_and_listed_only_on_request(clients) -> None:
    text = clients.make_token("site")
    token_id = text.split(".")[1]
    jwks = license_service_pb2.ListSigningKeysRequest()
    assert clients.license.ListSigningKeys(jwks, timeout=10, metadata=bearer(text)).jwks_json

    revoked = clients.admin("RevokeToken", admin_service_pb2.RevokeTokenRequest(id=token_id))
    assert revoked.HasField("revoke_time")
    with pytest.raises(grpc.RpcError) as refused:
        clients.license.ListSigningKeys(jwks, timeout=10, metadata=bearer(text))
    assert error_info(refused.value)[:2] == (grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED")

    assert token_id not in [t.id for t in _list(clients, page_size=100).tokens]
    assert token_id in [t.id for t in _list(clients, page_size=100, show_revoked=True).tokens]


def test_revoking_an_unknown_token_or_one_s_own_is_refused(clients) -> None:
    with pytest.raises(grpc.RpcError) as unknown:
        clients.admin("RevokeToken", admin_service_pb2.RevokeTokenRequest(id="0000000000000000"))
    assert error_info(unknown.value)[:2] == (grpc.StatusCode.NOT_FOUND, "TOKEN_NOT_FOUND")
    own = clients.tokens["admin"].split(".")[1]
    with pytest.raises(grpc.RpcError) as itself:
        clients.admin("RevokeToken", admin_service_pb2.RevokeTokenRequest(id=own))
    assert error_info(itself.value)[:2] == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "TOKEN_IS_CALLERS",
    )


def test_token_lists_page(clients) -> None:
    for _ in range(3):
        clients.make_token("site")
    first = _list(clients, page_size=2)
    second = _list(clients, page_size=2, page_token=first.next_page_token)
    assert len(first.tokens) == 2
    assert first.next_page_token
    assert not {t.id for t in first.tokens} & {t.id for t in second.tokens}


def _audited(clients, token_id: str):
    """The audit events about one token, oldest first."""
    request = admin_service_pb2.ListAuditEventsRequest(resource=f"tokens/{token_id}")
    return list(reversed(clients.admin("ListAuditEvents", request).audit_events))


def test_making_a_token_on_the_host_is_audited(clients) -> None:
    token_id = clients.make_token("site").split(".")[1]
    (made,) = _audited(clients, token_id)
    assert (made.method, made.outcome, made.actor_role) == ("keysvc tokens create", "OK", "host")
    assert made.actor_token_id.startswith("host:")


def test_revoking_a_token_and_each_refusal_are_audited(clients) -> None:
    token_id = clients.make_token("site").split(".")[1]
    clients.admin("RevokeToken", admin_service_pb2.RevokeTokenRequest(id=token_id))
    own = clients.tokens["admin"].split(".")[1]
    with pytest.raises(grpc.RpcError):
        clients.admin("RevokeToken", admin_service_pb2.RevokeTokenRequest(id=own))
    unknown = "00000000000000ff"
    with pytest.raises(grpc.RpcError):
        clients.admin("RevokeToken", admin_service_pb2.RevokeTokenRequest(id=unknown))

    revoke = "/keysvc.v1.AdminService/RevokeToken"
    outcomes = [(e.method, e.outcome, e.actor_token_id) for e in _audited(clients, token_id)]
    assert outcomes == [("keysvc tokens create", "OK", outcomes[0][2]), (revoke, "OK", own)]
    assert [(e.method, e.outcome) for e in _audited(clients, own)][-1:] == [
        (revoke, "TOKEN_IS_CALLERS")
    ]
    assert [(e.method, e.outcome) for e in _audited(clients, unknown)] == [
        (revoke, "TOKEN_NOT_FOUND")
    ]


def test_the_audit_chain_of_a_running_server_verifies(clients) -> None:
    clients.make_token("site")
    verified = clients.keysvc("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "the audit log's hash chain is intact" in verified.stdout
    assert "head (seq:sha256, for --anchor): " in verified.stdout
