"""Same seed, same bytes: each of ``twin flood|traffic|crowd|respond`` run twice (separate
processes, so hash randomisation and import order differ) writes identical files; another
seed changes the random parts (traffic demand, crowd speeds, response incidents).

Short runs on the Monaco sample (skipped without it): the flood for 2 min, traffic and
crowd for 15 min, the response over its scenario's day.

``run.json`` records when the run started and ended and the command line (whose ``--out``
differs between the runs); it is compared with those three fields removed, every other
file byte for byte (GeoPackages included: their change time is fixed, see
:func:`twin.city.export.fixed_gpkg_date`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TWIN = Path(sys.executable).with_name("twin")
#: run.json fields that legitimately differ between two runs of the same command: the
#: wall-clock start and end, and the command line (another --out folder).
RUN_ONLY = ("started", "ended", "command_line")

CASES = {
    "flood": (["flood", "monaco_flash_flood.yaml", "--until", "120"], None),
    "traffic": (["traffic", "monaco_flash_flood.yaml", "--until", "900"], "seed: 20240914"),
    "crowd": (["crowd", "monaco_stadium_exit.yaml", "--until", "900"], "seed: 7"),
    "respond": (
        ["respond", "monaco_busy_day.yaml", "--plan", "plans/monaco_tiered.yaml"],
        "seed: 2025",
    ),
}


@pytest.fixture
def scenarios(tmp_path, monaco_dir) -> Path:
    """A copy of the ready scenarios (and their plans), to change seeds in."""
    folder = tmp_path / "scenarios"
    shutil.copytree(REPO / "scenarios", folder)
    return folder


def _run(args: list[str], folder: Path, out: Path) -> dict[str, str]:
    """Run ``twin`` in ``folder``; SHA-256 of every file it wrote, by relative path."""
    env = {**os.environ, "PYTHONHASHSEED": "random"}
    result = subprocess.run(
        [str(TWIN), *args, "--out", str(out), "--no-progress"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert files
    return {str(p.relative_to(out)): _digest(p) for p in files}


def _digest(path: Path) -> str:
    """SHA-256 of a file's bytes; of ``run.json`` without the :data:`RUN_ONLY` fields."""
    data = path.read_bytes()
    if path.name == "run.json":
        record = json.loads(data)
        for field in RUN_ONLY:
            assert field in record, f"run.json lacks {field}"
            del record[field]
        data = json.dumps(record, sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("command", CASES)
def test_same_seed_same_bytes_other_seed_other_draws(command, scenarios, tmp_path):
    args, seed_line = CASES[command]
    first = _run(args, scenarios, tmp_path / "a")
    second = _run(args, scenarios, tmp_path / "b")
    assert first == second
    if seed_line is None:  # the flood draws no random numbers
        return
    path = scenarios / args[1]
    text = path.read_text()
    assert seed_line in text
    path.write_text(text.replace(seed_line, "seed: 99", 1))
    other = _run(args, scenarios, tmp_path / "c")
    assert set(other) == set(first)
    changed = [name for name in first if other[name] != first[name]]
    assert changed, "another seed changed no output file"
