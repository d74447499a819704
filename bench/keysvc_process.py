"""A real `keysvc serve` for the benchmarks that call it over gRPC, and its tokens."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final

KEYSVC: Final = Path(sys.executable).with_name("keysvc")
PROJECT: Final = Path(__file__).resolve().parents[1]
PASSPHRASE: Final = "keysvc benchmark passphrase, not a secret"  # noqa: S105
START_TIMEOUT: Final = 60.0


@contextmanager
def keysvc_serve(
    data_dir: Path, env: dict[str, str], log: Path, launcher: Sequence[str] = (str(KEYSVC),)
) -> Iterator[tuple[int, str]]:
    """`keysvc serve` on a free port, logging to `log`: yields its pid and address; stops it.

    `launcher` replaces the `keysvc` command, e.g. with the tests' clocked launcher.
    """
    with log.open("w") as output:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and console script
            [*launcher, "serve", "--data-dir", str(data_dir), "--listen", "127.0.0.1:0"],
            cwd=PROJECT,
            # No load balancer to drain for: stop at once (unless `env` says otherwise).
            env={"KEYSVC_SHUTDOWN_DRAIN_SECONDS": "0", **env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=output,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        address = ""
        while not address:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"keysvc serve did not start:\n{log.read_text()}")
            for line in log.read_text().splitlines():
                if '"serving"' in line:
                    address = json.loads(line)["listen"]
            time.sleep(0.05)
        yield process.pid, address
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def create_token(data_dir: Path, env: dict[str, str], role: str) -> str:
    """A fresh token for `role`, from `keysvc tokens create`."""
    result = subprocess.run(  # noqa: S603 - our own console script
        [str(KEYSVC), "tokens", "create", "--role", role, "--data-dir", str(data_dir)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]
