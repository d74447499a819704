"""A fake file-system tree with the files the fingerprint reads, under a test's own root."""

from __future__ import annotations

from pathlib import Path

MACHINE_ID = "0123456789abcdef0123456789abcdef"
PRODUCT_UUID = "4c4c4544-0042-3510-8052-b4c04f564433"


class FakeMachine:
    """Writes ``/etc/machine-id``, DMI and ``/sys/class/net`` files below ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="ascii")
        return path

    def machine_id(self, text: str = MACHINE_ID + "\n") -> Path:
        return self.write("etc/machine-id", text)

    def dbus_machine_id(self, text: str = MACHINE_ID + "\n") -> Path:
        return self.write("var/lib/dbus/machine-id", text)

    def product_uuid(self, text: str = PRODUCT_UUID + "\n") -> Path:
        return self.write("sys/class/dmi/id/product_uuid", text)

    def interface(
        self,
        name: str,
        address: str,
        *,
        physical: bool = True,
        permanent: str | None = None,
    ) -> Path:
        """Add ``/sys/class/net/<name>``; physical ones get a ``device`` directory."""
        directory = self.root / "sys/class/net" / name
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "address").write_text(address, encoding="ascii")
        if physical:
            (directory / "device").mkdir(exist_ok=True)
        if permanent is not None:
            (directory / "bonding_slave").mkdir(exist_ok=True)
            (directory / "bonding_slave" / "perm_hwaddr").write_text(permanent, encoding="ascii")
        return directory

    def full(self) -> FakeMachine:
        """Every source present: machine-id, UUID, two NICs, plus lo and a bridge."""
        self.machine_id()
        self.product_uuid()
        self.interface("eno1", "3c:ec:ef:10:20:31\n")
        self.interface("eno2", "3c:ec:ef:10:20:30\n")
        self.interface("lo", "00:00:00:00:00:00\n", physical=False)
        self.interface("br0", "3c:ec:ef:10:20:31\n", physical=False)
        return self
