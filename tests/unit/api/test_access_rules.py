from __future__ import annotations

import re
from pathlib import Path

import pytest

from keysvc.api.access_rules import METHOD_ROLES, allowed_roles, is_public
from keysvc.domain.tokens import Role
from keysvc.v1 import admin_service_pb2, license_service_pb2

LICENSE = license_service_pb2.DESCRIPTOR.services_by_name["LicenseService"]
ADMIN = admin_service_pb2.DESCRIPTOR.services_by_name["AdminService"]


def test_every_rpc_of_both_services_has_a_decided_set_of_roles() -> None:
    methods = {f"/{s.full_name}/{m.name}" for s in (LICENSE, ADMIN) for m in s.methods}
    assert set(METHOD_ROLES) == methods
    assert all(METHOD_ROLES[m] for m in methods)


def test_admin_service_is_for_admins_only() -> None:
    for method in ADMIN.methods:
        assert allowed_roles(f"/{ADMIN.full_name}/{method.name}") == {Role.ADMIN}


@pytest.mark.parametrize("method", [m.name for m in LICENSE.methods])
def test_admins_may_call_every_license_service_method(method: str) -> None:
    assert Role.ADMIN in allowed_roles(f"/{LICENSE.full_name}/{method}")


def test_the_migration_tool_cannot_read_support_status_or_ice_credentials() -> None:
    for method in ("GetSupportStatus", "IssueIceCredentials"):
        assert Role.MIGRATION not in allowed_roles(f"/{LICENSE.full_name}/{method}")
    for method in ("SubmitKeyRequest", "GetKeyRequest", "VerifyLicenseKey", "ListSigningKeys"):
        assert Role.MIGRATION in allowed_roles(f"/{LICENSE.full_name}/{method}")


def test_unknown_methods_are_closed_to_everyone() -> None:
    assert allowed_roles("/keysvc.v1.LicenseService/Nope") == frozenset()
    assert allowed_roles("/other.Service/Method") == frozenset()


def test_only_health_and_reflection_are_public() -> None:
    assert is_public("/grpc.health.v1.Health/Check")
    assert is_public("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
    assert not is_public(f"/{LICENSE.full_name}/ListSigningKeys")


def test_the_table_in_docs_auth_md_is_the_policy() -> None:
    text = (Path(__file__).parents[3] / "docs" / "auth.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `LicenseService\.(\w+)` \|(.*)\|$", text, re.MULTILINE)
    documented = {
        name: frozenset(
            role for role, cell in zip(Role, cells.split("|"), strict=True) if "✓" in cell
        )
        for name, cells in rows
    }
    assert documented == {
        m.name: allowed_roles(f"/{LICENSE.full_name}/{m.name}") for m in LICENSE.methods
    }
    assert "| every `AdminService` RPC | | | ✓ |" in text
