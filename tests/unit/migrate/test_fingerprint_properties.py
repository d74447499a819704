"""Properties of the fingerprint recipe (hypothesis)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from keysvc.migrate import (
    FingerprintSource,
    canonical_text,
    fingerprint_from_sources,
    machine_fingerprint,
)
from keysvc.migrate.fingerprint import SOURCE_NAMES
from signing import normalise_fingerprint
from tests.unit.migrate.fake_machine import FakeMachine

macs = st.lists(
    st.binary(min_size=6, max_size=6)
    .filter(any)  # the all-zero address is never counted
    .map(lambda raw: ":".join(f"{byte:02x}" for byte in raw)),
    min_size=1,
    max_size=6,
    unique=True,
)
# Whatever a source may hold: printable ASCII without spaces.
values = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40)
source_values = st.fixed_dictionaries({name: st.none() | values for name in SOURCE_NAMES})


def sources_of(chosen: dict[str, str | None]) -> list[FingerprintSource]:
    return [FingerprintSource(name, "test", value, "absent") for name, value in chosen.items()]


def fingerprint_of_interfaces(addresses: list[str], names: list[str]) -> str:
    with tempfile.TemporaryDirectory() as root:
        machine = FakeMachine(Path(root))
        for name, address in zip(names, addresses, strict=True):
            machine.interface(name, address + "\n")
        return machine_fingerprint(machine.root, hostname="neo01").fingerprint


@given(addresses=macs, data=st.data())
def test_the_order_and_names_of_interfaces_never_change_the_fingerprint(
    addresses: list[str], data: st.DataObject
) -> None:
    names = [f"eth{index}" for index in range(len(addresses))]
    shuffled = data.draw(st.permutations(addresses))
    renamed = data.draw(st.permutations([f"enp{index}s0" for index in range(len(addresses))]))
    assert fingerprint_of_interfaces(addresses, names) == fingerprint_of_interfaces(
        list(shuffled), list(renamed)
    )


@given(source_values)
def test_the_canonical_text_gives_back_exactly_the_present_sources(
    chosen: dict[str, str | None],
) -> None:
    lines = canonical_text(sources_of(chosen)).split("\n")
    assert lines[-1] == ""  # every line ends in a newline, the last one too
    parsed = dict(line.split("=", 1) for line in lines[:-1])
    assert parsed == {name: value for name, value in chosen.items() if value is not None}


@given(source_values.filter(lambda chosen: any(chosen.values())))
def test_every_fingerprint_is_accepted_unchanged_by_signing(
    chosen: dict[str, str | None],
) -> None:
    fingerprint = fingerprint_from_sources(sources_of(chosen)).fingerprint
    assert normalise_fingerprint(fingerprint) == fingerprint
