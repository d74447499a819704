"""Regenerates the Python gRPC code of the keysvc.v1 API from protos/.

    .venv/bin/python protos/generate.py [--out DIR]

Writes keysvc/v1/*_pb2.py, *_pb2_grpc.py and their mypy stubs (*.pyi) under DIR
(default: the repository root). The output is committed; tests/test_generated_code.py
runs this into a temporary folder and fails when the committed files differ.
The generator versions are pinned exactly in pyproject.toml (grpcio-tools,
mypy-protobuf) so that the output is reproducible.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
PACKAGE_DIR = Path("keysvc") / "v1"


def proto_files() -> list[str]:
    """The API's .proto files, relative to protos/, in a stable order."""
    return sorted(
        str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / PACKAGE_DIR).glob("*.proto")
    )


def generate(out: Path) -> list[Path]:
    """Runs protoc into `out` and returns the files written, sorted."""
    target = out / PACKAGE_DIR
    if target.exists():
        for old in target.glob("*_pb2*.py*"):
            old.unlink()
    target.mkdir(parents=True, exist_ok=True)
    well_known = Path(protoc.__file__).parent / "_proto"
    bin_dir = Path(sys.executable).parent
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--plugin=protoc-gen-mypy={bin_dir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bin_dir / 'protoc-gen-mypy_grpc'}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
        *proto_files(),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    init = target / "__init__.py"
    init.write_text('"""Generated gRPC code of the keysvc.v1 API (protos/generate.py)."""\n')
    return sorted(target.iterdir())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT, help="output root (default: repo root)")
    out = parser.parse_args().out
    written = generate(out)
    cache = out / PACKAGE_DIR / "__pycache__"
    shutil.rmtree(cache, ignore_errors=True)
    print(f"wrote {len(written)} files under {out / PACKAGE_DIR}")


if __name__ == "__main__":
    main()
