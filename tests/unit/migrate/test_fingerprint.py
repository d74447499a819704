"""The machine fingerprint: its sources, their normal form, and the canonical text."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path
from typing import Any

import pytest

from keysvc.migrate import (
    FingerprintSource,
    FingerprintUnavailable,
    canonical_text,
    machine_fingerprint,
    read_sources,
)
from keysvc.migrate.fingerprint import SOURCE_NAMES
from signing import fingerprint_hash, normalise_fingerprint
from tests.unit.migrate.fake_machine import MACHINE_ID, PRODUCT_UUID, FakeMachine


def fingerprint_of(root: Path, hostname: str = "neo01") -> str:
    return machine_fingerprint(root, hostname=hostname).fingerprint


def source(root: Path, name: str, hostname: str = "neo01") -> FingerprintSource:
    return {found.name: found for found in read_sources(root, hostname=hostname)}[name]


@pytest.fixture
def machine(tmp_path: Path) -> FakeMachine:
    return FakeMachine(tmp_path / "machine")


def test_canonical_text_is_one_line_per_source_in_fixed_order(machine: FakeMachine) -> None:
    result = machine_fingerprint(machine.full().root, hostname="NEO01")
    assert result.canonical == (
        f"machine-id={MACHINE_ID}\n"
        f"product-uuid={PRODUCT_UUID}\n"
        "mac-addresses=3c:ec:ef:10:20:30,3c:ec:ef:10:20:31\n"
        "hostname=neo01\n"
    )
    digest = hashlib.sha256(result.canonical.encode("ascii")).hexdigest()
    assert result.fingerprint == "fp1:" + digest


def test_fingerprint_is_accepted_by_the_signing_normaliser_unchanged(
    machine: FakeMachine,
) -> None:
    fingerprint = fingerprint_of(machine.full().root)
    assert normalise_fingerprint(fingerprint) == fingerprint
    assert len(fingerprint) == 68
    assert len(fingerprint_hash(fingerprint)) == 43


def test_every_source_is_reported_in_order_with_where_it_was_read(machine: FakeMachine) -> None:
    sources = read_sources(machine.full().root, hostname="neo01")
    assert [found.name for found in sources] == list(SOURCE_NAMES)
    assert all(found.present for found in sources)
    assert sources[0].location == str(machine.root / "etc/machine-id")
    assert sources[1].location == str(machine.root / "sys/class/dmi/id/product_uuid")
    assert sources[2].location == (
        f"{machine.root}/sys/class/net/eno1/address, {machine.root}/sys/class/net/eno2/address"
    )
    assert sources[3].location == "host name given by the caller"


def test_whitespace_and_case_do_not_change_the_fingerprint(tmp_path: Path) -> None:
    plain = FakeMachine(tmp_path / "plain").full()
    sloppy = FakeMachine(tmp_path / "sloppy")
    sloppy.machine_id("  " + MACHINE_ID.upper() + "\r\n\n")
    sloppy.product_uuid(PRODUCT_UUID.upper())
    sloppy.interface("eno1", "3C:EC:EF:10:20:31")
    sloppy.interface("eno2", "\t3c:ec:ef:10:20:30 \n")
    assert fingerprint_of(sloppy.root, " Neo01\n") == fingerprint_of(plain.root, "neo01")


def test_interface_names_and_order_do_not_change_the_fingerprint(tmp_path: Path) -> None:
    first = FakeMachine(tmp_path / "first")
    first.interface("eth0", "3c:ec:ef:10:20:30\n")
    first.interface("eth1", "3c:ec:ef:10:20:31\n")
    # After a reboot or a new kernel the same cards come up under other names.
    second = FakeMachine(tmp_path / "second")
    second.interface("enp2s0", "3c:ec:ef:10:20:31\n")
    second.interface("enp1s0", "3c:ec:ef:10:20:30\n")
    assert fingerprint_of(first.root) == fingerprint_of(second.root)


def test_a_changed_mac_address_changes_the_fingerprint(machine: FakeMachine) -> None:
    before = fingerprint_of(machine.full().root)
    machine.interface("eno2", "3c:ec:ef:10:20:32\n")
    assert fingerprint_of(machine.root) != before


def test_a_new_physical_interface_changes_the_fingerprint(machine: FakeMachine) -> None:
    before = fingerprint_of(machine.full().root)
    machine.interface("enp5s0", "a0:36:9f:00:00:01\n")
    assert fingerprint_of(machine.root) != before


def test_a_changed_host_name_changes_the_fingerprint(machine: FakeMachine) -> None:
    machine.full()
    assert fingerprint_of(machine.root, "neo01") != fingerprint_of(machine.root, "neo02")


def test_virtual_interfaces_without_a_device_are_ignored(machine: FakeMachine) -> None:
    before = fingerprint_of(machine.full().root)
    machine.interface("docker0", "02:42:ac:11:00:01\n", physical=False)
    machine.interface("veth1a2b3c", "9a:1e:33:44:55:66\n", physical=False)
    assert fingerprint_of(machine.root) == before
    note = source(machine.root, "mac-addresses").note
    assert note == "ignored: br0 (virtual), docker0 (virtual), lo (virtual), veth1a2b3c (virtual)"


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("00:00:00:00:00:00\n", "all-zero address"),
        ("\n", "no address"),
        ("", "no address"),
        # IPoIB: 20 bytes, the first four change between boots.
        (
            "80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0a:bc:de\n",
            "is not a 6-byte MAC address",
        ),
    ],
)
def test_physical_interfaces_without_a_usable_address_are_ignored(
    machine: FakeMachine, address: str, why: str
) -> None:
    before = fingerprint_of(machine.full().root)
    machine.interface("ib0", address)
    assert fingerprint_of(machine.root) == before
    assert why in source(machine.root, "mac-addresses").note


def test_a_bonded_interface_counts_its_permanent_address(tmp_path: Path) -> None:
    standalone = FakeMachine(tmp_path / "standalone")
    standalone.interface("eno1", "3c:ec:ef:10:20:30\n")
    standalone.interface("eno2", "3c:ec:ef:10:20:31\n")
    # Enslaved, both show the bond's address; which one depends on enslavement order.
    bonded = FakeMachine(tmp_path / "bonded")
    bonded.interface("eno1", "3c:ec:ef:10:20:31\n", permanent="3c:ec:ef:10:20:30\n")
    bonded.interface("eno2", "3c:ec:ef:10:20:31\n", permanent="3c:ec:ef:10:20:31\n")
    bonded.interface("bond0", "3c:ec:ef:10:20:31\n", physical=False)
    assert fingerprint_of(bonded.root) == fingerprint_of(standalone.root)


def test_no_network_interfaces_leaves_the_macs_absent(machine: FakeMachine) -> None:
    machine.machine_id()
    found = source(machine.root, "mac-addresses")
    assert found.value is None
    assert "sys/class/net" in found.note


def test_an_unreadable_product_uuid_is_absent_and_left_out(tmp_path: Path) -> None:
    without = FakeMachine(tmp_path / "without")
    without.machine_id()
    unreadable = FakeMachine(tmp_path / "unreadable")
    unreadable.machine_id()
    # Tests run as root, who reads any file: a directory in its place cannot be read either.
    (unreadable.root / "sys/class/dmi/id/product_uuid").mkdir(parents=True)
    found = source(unreadable.root, "product-uuid")
    assert found.value is None
    assert found.note.startswith(f"{unreadable.root}/sys/class/dmi/id/product_uuid: cannot read")
    assert fingerprint_of(unreadable.root) == fingerprint_of(without.root)


def test_a_product_uuid_only_root_may_read_says_so(
    machine: FakeMachine, monkeypatch: pytest.MonkeyPatch
) -> None:
    uuid_path = machine.product_uuid()
    real_open = Path.open

    def deny_uuid(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == uuid_path:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    # As root a chmod 000 file stays readable, so the refusal is simulated.
    monkeypatch.setattr(Path, "open", deny_uuid)
    found = source(machine.root, "product-uuid")
    assert found.value is None
    assert found.note == (
        f"{uuid_path}: permission denied (only root can read it; run as root to include it)"
    )


@pytest.mark.parametrize(
    "placeholder", ["00000000-0000-0000-0000-000000000000", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"]
)
def test_a_placeholder_product_uuid_is_absent(machine: FakeMachine, placeholder: str) -> None:
    machine.product_uuid(placeholder + "\n")
    found = source(machine.root, "product-uuid")
    assert found.value is None
    assert "placeholder" in found.note


def test_a_product_uuid_that_is_no_uuid_is_absent(machine: FakeMachine) -> None:
    machine.product_uuid("Not Settable\n")
    found = source(machine.root, "product-uuid")
    assert found.value is None
    assert found.note.endswith("'not settable' is not a UUID")


def test_machine_id_falls_back_to_the_dbus_copy(machine: FakeMachine) -> None:
    dbus = machine.dbus_machine_id()
    found = source(machine.root, "machine-id")
    assert found.value == MACHINE_ID
    assert found.location == str(dbus)
    assert found.note == f"{machine.root}/etc/machine-id: not found"


@pytest.mark.parametrize(("text", "why"), [("uninitialized\n", "'uninitialized'"), ("", "empty")])
def test_a_machine_id_that_is_not_an_id_is_absent(
    machine: FakeMachine, text: str, why: str
) -> None:
    machine.machine_id(text)
    found = source(machine.root, "machine-id")
    assert found.value is None
    assert why in found.note
    assert "var/lib/dbus/machine-id: not found" in found.note


def test_a_huge_file_is_not_read_as_a_value(machine: FakeMachine) -> None:
    machine.machine_id(MACHINE_ID + "\n" * 5000)
    assert "over 4096 bytes" in source(machine.root, "machine-id").note


def test_host_name_comes_from_the_system_when_not_given(
    machine: FakeMachine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: "Neo-Server.example.co.jp")
    found = read_sources(machine.root)[-1]
    assert found.value == "neo-server.example.co.jp"
    assert found.location == "socket.gethostname()"


@pytest.mark.parametrize("hostname", ["neo 01", "サーバー", "neo\x0001"])
def test_a_host_name_with_spaces_or_non_ascii_is_absent(
    machine: FakeMachine, hostname: str
) -> None:
    found = source(machine.root, "hostname", hostname=hostname)
    assert found.value is None
    assert "printable ASCII" in found.note


def test_absent_sources_leave_no_line(machine: FakeMachine) -> None:
    assert machine_fingerprint(machine.root, hostname="neo01").canonical == "hostname=neo01\n"


def test_no_source_at_all_is_refused(machine: FakeMachine) -> None:
    with pytest.raises(FingerprintUnavailable, match="no stable identifier") as caught:
        machine_fingerprint(machine.root, hostname=" ")
    assert [found.name for found in caught.value.sources] == list(SOURCE_NAMES)
    assert not any(found.present for found in caught.value.sources)
    assert "hostname: the host name is empty" in str(caught.value)


def test_canonical_text_ignores_the_order_sources_are_given_in() -> None:
    sources = [
        FingerprintSource("hostname", "here", "neo01"),
        FingerprintSource("machine-id", "there", MACHINE_ID),
    ]
    assert canonical_text(sources) == canonical_text(reversed(sources))


def test_canonical_text_refuses_a_source_given_twice() -> None:
    twice = [FingerprintSource("hostname", "here", "a"), FingerprintSource("hostname", "here", "b")]
    with pytest.raises(ValueError, match="once"):
        canonical_text(twice)


@pytest.mark.parametrize(
    ("name", "value", "note"),
    [
        ("hostname", None, ""),  # absent, but nobody says why
        ("hostname", "neo\n01", ""),  # would forge a line
        ("hostname", "neo 01", ""),
        ("hostname", "", ""),
        ("serial-number", "x", ""),
    ],
)
def test_a_source_that_would_make_the_text_ambiguous_cannot_exist(
    name: str, value: str | None, note: str
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - three messages, one rule
        FingerprintSource(name, "here", value, note)
