"""The committed gRPC code under keysvc/v1 is exactly what protos/generate.py makes now."""

from __future__ import annotations

import filecmp
import runpy
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def generator() -> dict[str, object]:
    saved = sys.argv
    try:
        sys.argv = ["generate.py"]
        return runpy.run_path(str(ROOT / "protos" / "generate.py"), run_name="generate")
    finally:
        sys.argv = saved


def test_committed_generated_code_is_up_to_date(tmp_path: Path, generator) -> None:
    generate = generator["generate"]
    assert callable(generate)
    fresh = {path.name for path in generate(tmp_path)}
    committed_dir = ROOT / "keysvc" / "v1"
    committed = {p.name for p in committed_dir.iterdir() if p.is_file()}
    assert fresh == committed, "run `make gen`: the set of generated files changed"
    _, mismatch, errors = filecmp.cmpfiles(
        committed_dir, tmp_path / "keysvc" / "v1", sorted(fresh), shallow=False
    )
    assert not mismatch, f"run `make gen`: stale generated files {mismatch}"
    assert not errors, f"run `make gen`: unreadable generated files {errors}"


def test_every_proto_file_is_generated(generator) -> None:
    proto_files = generator["proto_files"]
    assert callable(proto_files)
    names = [Path(name).stem for name in proto_files()]
    assert names == sorted(p.stem for p in (ROOT / "protos" / "keysvc" / "v1").glob("*.proto"))
    for stem in names:
        assert (ROOT / "keysvc" / "v1" / f"{stem}_pb2.py").is_file()
