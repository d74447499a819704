"""This machine's fingerprint: ``fp1:`` + hex SHA-256 of its stable identifiers.

The sources, in the fixed order of the canonical text (SPEC section 5):

==============  ==============================================  =============================
name            read from                                       value
==============  ==============================================  =============================
machine-id      ``/etc/machine-id``, else                       32 lowercase hex digits
                ``/var/lib/dbus/machine-id``
product-uuid    ``/sys/class/dmi/id/product_uuid``              lowercase UUID, not all-0/all-f
                (often readable by root only)
mac-addresses   ``/sys/class/net/<if>/address`` of every        6-byte MACs, lowercase, not
                interface with a ``device`` (physical)          all-zero, sorted, comma-joined
hostname        ``socket.gethostname()``                        lowercase
==============  ==============================================  =============================

Every source is optional; one that cannot be read, or reads as something else
than its kind of value, is *absent*, with a note saying why. The canonical text
is one ``name=value`` line, ending in ``\\n``, per present source in the order
above; absent sources leave no line. Values are printable ASCII without spaces,
so no value can hold a line break or pass for another line: the text, and so
the hash, is unambiguous. The fingerprint is ``fp1:`` + the lowercase hex
SHA-256 of the text's ASCII bytes; with no source at all there is no
fingerprint (`FingerprintUnavailable`).

Reading takes a ``root`` (``/`` by default) under which the paths above are
looked up, so tests build a fake tree, and the host name as an argument.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = [
    "FINGERPRINT_PREFIX",
    "HOSTNAME",
    "MACHINE_ID",
    "MAC_ADDRESSES",
    "PRODUCT_UUID",
    "SOURCE_NAMES",
    "FingerprintSource",
    "FingerprintUnavailable",
    "MachineFingerprint",
    "canonical_text",
    "fingerprint_from_sources",
    "machine_fingerprint",
    "read_sources",
]

FINGERPRINT_PREFIX: Final = "fp1:"
"""Names the recipe: a different choice of sources or text would be ``fp2:``."""

MACHINE_ID: Final = "machine-id"
PRODUCT_UUID: Final = "product-uuid"
MAC_ADDRESSES: Final = "mac-addresses"
HOSTNAME: Final = "hostname"
SOURCE_NAMES: Final = (MACHINE_ID, PRODUCT_UUID, MAC_ADDRESSES, HOSTNAME)
"""Every source, in the order of the canonical text."""

_MACHINE_ID_PATHS: Final = ("etc/machine-id", "var/lib/dbus/machine-id")
_PRODUCT_UUID_PATH: Final = "sys/class/dmi/id/product_uuid"
_NET_PATH: Final = "sys/class/net"

_ASCII_WHITESPACE: Final = " \t\n\r\x0b\x0c"
# Every file read is a line or two; more means the path holds something else.
_MAX_FILE_BYTES: Final = 4096
_SHOWN_CHARACTERS: Final = 40

_VALUE: Final = re.compile(r"[!-~]+")  # printable ASCII, no space
_HEX_MACHINE_ID: Final = re.compile(r"[0-9a-f]{32}")
_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# SMBIOS: all ones means "no UUID", all zeros "not set yet"; neither names a machine.
_PLACEHOLDER_UUIDS: Final = frozenset(
    {"00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"}
)
# Six bytes only: longer link-layer addresses (IPoIB's 20 bytes) embed a queue
# pair number that can change at every boot.
_MAC: Final = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}")
_ZERO_MAC: Final = "00:00:00:00:00:00"


@dataclass(frozen=True, slots=True)
class FingerprintSource:
    """One identifier of the machine, as ``--explain`` shows it.

    ``location`` is the file (or call) the value came from, or where it was
    looked for. ``value`` is the normalised value, or None when the source is
    absent; ``note`` then says why, and otherwise says what was left out
    (a fallback file, ignored interfaces) or is empty.
    """

    name: str
    location: str
    value: str | None
    note: str = ""

    def __post_init__(self) -> None:
        """Hold the invariants that keep the canonical text unambiguous."""
        if self.name not in SOURCE_NAMES:
            raise ValueError(f"unknown fingerprint source {self.name!r}")
        if self.value is None and not self.note:
            raise ValueError(f"absent source {self.name} needs a note saying why")
        if self.value is not None and _VALUE.fullmatch(self.value) is None:
            raise ValueError(f"{self.name} value must be printable ASCII without spaces")

    @property
    def present(self) -> bool:
        """Whether the source has a value (and so a line in the canonical text)."""
        return self.value is not None


@dataclass(frozen=True, slots=True)
class MachineFingerprint:
    """A fingerprint, the canonical text it hashes, and every source, present or not."""

    fingerprint: str
    canonical: str
    sources: tuple[FingerprintSource, ...]


class FingerprintUnavailable(Exception):
    """Not one source could be read: the machine has nothing stable to be named by.

    ``sources`` holds every source with the note saying why it is absent.
    """

    def __init__(self, sources: Iterable[FingerprintSource]) -> None:
        """Name every source and why it is absent in the message."""
        self.sources = tuple(sources)
        reasons = "; ".join(f"{source.name}: {source.note}" for source in self.sources)
        super().__init__(f"no stable identifier of this machine could be read ({reasons})")


def canonical_text(sources: Iterable[FingerprintSource]) -> str:
    """Return the text the fingerprint hashes: ``name=value\\n`` per present source.

    Lines follow `SOURCE_NAMES` whatever the order of ``sources``; absent
    sources leave no line. Raises `ValueError` when a source is given twice.

    >>> canonical_text([
    ...     FingerprintSource("hostname", "socket.gethostname()", "neo01"),
    ...     FingerprintSource("product-uuid", "/sys/class/dmi/id/product_uuid", None, "denied"),
    ...     FingerprintSource("machine-id", "/etc/machine-id", "0123456789abcdef" * 2),
    ... ])
    'machine-id=0123456789abcdef0123456789abcdef\\nhostname=neo01\\n'
    """
    present = sorted(
        (source for source in sources if source.value is not None),
        key=lambda source: SOURCE_NAMES.index(source.name),
    )
    names = [source.name for source in present]
    if len(set(names)) != len(names):
        raise ValueError(f"each source may be given once, got {', '.join(names)}")
    return "".join(f"{source.name}={source.value}\n" for source in present)


def fingerprint_from_sources(sources: Iterable[FingerprintSource]) -> MachineFingerprint:
    """Return the fingerprint of ``sources``: ``fp1:`` + hex SHA-256 of `canonical_text`.

    Raises `FingerprintUnavailable` when no source is present.

    >>> fingerprint_from_sources(
    ...     [FingerprintSource("hostname", "socket.gethostname()", "neo01")]
    ... ).fingerprint
    'fp1:ba3c61c0bb2dd58b24589f08081824f185a2efc6a8fe139aa9ebf9ad591415c7'
    """
    sources = tuple(sources)
    text = canonical_text(sources)
    if not text:
        raise FingerprintUnavailable(sources)
    digest = hashlib.sha256(text.encode("ascii")).hexdigest()
    return MachineFingerprint(FINGERPRINT_PREFIX + digest, text, sources)


def read_sources(
    root: Path = Path("/"), hostname: str | None = None
) -> tuple[FingerprintSource, ...]:
    """Read every source under ``root``, in `SOURCE_NAMES` order, present or absent.

    ``hostname`` replaces ``socket.gethostname()`` when given. Never raises
    for an unreadable source: it is reported absent with the reason.
    """
    return (
        _machine_id(root),
        _product_uuid(root),
        _mac_addresses(root),
        _hostname(hostname),
    )


def machine_fingerprint(root: Path = Path("/"), hostname: str | None = None) -> MachineFingerprint:
    """Return this machine's fingerprint, read under ``root`` (see `read_sources`).

    Raises `FingerprintUnavailable` when no source can be read.
    """
    return fingerprint_from_sources(read_sources(root, hostname))


class _Absent(Exception):
    """A file could not be read; the message says why, for ``--explain``."""


class _Denied(_Absent):
    """The file exists but this user may not read it."""


def _read_value(path: Path) -> str:
    """Return the ASCII text of a small file, whitespace trimmed, lowercased."""
    try:
        with path.open("rb") as file:
            data = file.read(_MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise _Absent(f"{path}: not found") from None
    except PermissionError:
        raise _Denied(f"{path}: permission denied") from None
    except OSError as exc:
        raise _Absent(f"{path}: cannot read ({exc.strerror})") from None
    if len(data) > _MAX_FILE_BYTES:
        raise _Absent(f"{path}: over {_MAX_FILE_BYTES} bytes")
    if not data.isascii():
        raise _Absent(f"{path}: not ASCII text")
    return data.decode("ascii").strip(_ASCII_WHITESPACE).lower()


def _unexpected(path: Path, value: str, expected: str) -> str:
    if not value:
        return f"{path}: empty"
    return f"{path}: {value[:_SHOWN_CHARACTERS]!r} is not {expected}"


def _machine_id(root: Path) -> FingerprintSource:
    notes: list[str] = []
    for relative in _MACHINE_ID_PATHS:
        path = root / relative
        try:
            value = _read_value(path)
        except _Absent as absent:
            notes.append(str(absent))
            continue
        if _HEX_MACHINE_ID.fullmatch(value):
            return FingerprintSource(MACHINE_ID, str(path), value, "; ".join(notes))
        # systemd writes "uninitialized" early in the first boot; images ship it empty.
        notes.append(_unexpected(path, value, "32 hexadecimal digits"))
    tried = ", ".join(str(root / relative) for relative in _MACHINE_ID_PATHS)
    return FingerprintSource(MACHINE_ID, tried, None, "; ".join(notes))


def _product_uuid(root: Path) -> FingerprintSource:
    path = root / _PRODUCT_UUID_PATH
    try:
        value = _read_value(path)
    except _Denied as denied:
        # Run once as root and once not, the same machine gets two fingerprints: say so.
        note = f"{denied} (only root can read it; run as root to include it)"
        return FingerprintSource(PRODUCT_UUID, str(path), None, note)
    except _Absent as absent:
        return FingerprintSource(PRODUCT_UUID, str(path), None, str(absent))
    if _UUID.fullmatch(value) is None:
        return FingerprintSource(PRODUCT_UUID, str(path), None, _unexpected(path, value, "a UUID"))
    if value in _PLACEHOLDER_UUIDS:
        note = f"{path}: {value} is the firmware's placeholder, not a UUID of this machine"
        return FingerprintSource(PRODUCT_UUID, str(path), None, note)
    return FingerprintSource(PRODUCT_UUID, str(path), value)


def _mac_addresses(root: Path) -> FingerprintSource:
    net = root / _NET_PATH
    try:
        # Sorted only so that notes read the same every time; the value is sorted itself.
        interfaces = sorted(entry.name for entry in net.iterdir())
    except OSError as exc:
        return FingerprintSource(MAC_ADDRESSES, str(net), None, f"{net}: {exc.strerror}")
    addresses: set[str] = set()
    read_from: list[str] = []
    ignored: list[str] = []
    for name in interfaces:
        interface = net / name
        # Only physical interfaces have a device; bridges, bonds, veth, tun and lo do not.
        if not os.path.exists(interface / "device"):
            ignored.append(f"{name} (virtual)")
            continue
        # A bonded interface shows the bond's address, which follows enslavement
        # order; its own permanent address is kept here.
        path = interface / "bonding_slave" / "perm_hwaddr"
        if not os.path.exists(path):
            path = interface / "address"
        try:
            value = _read_value(path)
        except _Absent as absent:
            ignored.append(f"{name} ({absent})")
            continue
        if not value:
            ignored.append(f"{name} (no address)")
        elif _MAC.fullmatch(value) is None:
            ignored.append(f"{name} ({value[:_SHOWN_CHARACTERS]!r} is not a 6-byte MAC address)")
        elif value == _ZERO_MAC:
            ignored.append(f"{name} (all-zero address)")
        else:
            addresses.add(value)
            read_from.append(str(path))
    note = f"ignored: {', '.join(ignored)}" if ignored else ""
    if not addresses:
        return FingerprintSource(
            MAC_ADDRESSES, str(net), None, note or f"{net}: no network interfaces"
        )
    return FingerprintSource(MAC_ADDRESSES, ", ".join(read_from), ",".join(sorted(addresses)), note)


def _hostname(hostname: str | None) -> FingerprintSource:
    location = "socket.gethostname()" if hostname is None else "host name given by the caller"
    raw = socket.gethostname() if hostname is None else hostname
    value = raw.strip(_ASCII_WHITESPACE).lower()
    if not value:
        return FingerprintSource(HOSTNAME, location, None, "the host name is empty")
    if _VALUE.fullmatch(value) is None:
        note = f"{raw[:_SHOWN_CHARACTERS]!r} has characters other than printable ASCII"
        return FingerprintSource(HOSTNAME, location, None, note)
    return FingerprintSource(HOSTNAME, location, value)
