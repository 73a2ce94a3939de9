"""The committed protobuf code must be what `make protos` generates from protos/ now."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _tree(folder: Path) -> dict[str, Path]:
    return {str(p.relative_to(folder)): p for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_protos.py"), str(tmp_path)],
                   check=True, capture_output=True)
    fresh = _tree(tmp_path / "cdsp")
    committed = _tree(ROOT / "services" / "cdsp")
    assert sorted(fresh) == sorted(committed), "run `make protos`: generated files differ"
    stale = [name for name in fresh if not filecmp.cmp(fresh[name], committed[name],
                                                       shallow=False)]
    assert not stale, f"run `make protos`: stale generated code in {stale}"
