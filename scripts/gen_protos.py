"""Generates the Python code (messages, gRPC stubs, mypy stubs) for every proto under protos/.

    python scripts/gen_protos.py [OUT_DIR]      (default: services/, which holds the cdsp package)

The output is committed; tests/unit/test_generated_code.py regenerates into a temporary folder
and fails when the committed code differs, so a proto change without regeneration cannot land.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"


def generate(out_dir: Path) -> None:
    package_dir = out_dir / "cdsp"
    if package_dir.exists():
        shutil.rmtree(package_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    # protoc-gen-mypy lives beside this interpreter (the project venv)
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    include = str(Path(grpc_tools.__file__).parent / "_proto")
    code = protoc.main(["protoc", f"-I{PROTOS}", f"-I{include}", f"--python_out={out_dir}",
                        f"--grpc_python_out={out_dir}", f"--mypy_out={out_dir}",
                        f"--mypy_grpc_out={out_dir}", *files])
    if code != 0:
        raise SystemExit(f"protoc failed with {code}")
    for folder in [package_dir, *(p for p in package_dir.rglob("*") if p.is_dir())]:
        (folder / "__init__.py").touch()


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "services")
