"""Kill `lookalike index` with SIGKILL at random moments, several times; each resume must end with
exactly the catalog in the index: every file once, by id and by content hash, nothing extra."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lookalike.catalog import point_id, scan, sha256_file
from lookalike.config import Settings
from lookalike.store import open_store

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def _index_cmd(catalog: Path) -> list[str]:
    return [sys.executable, "-m", "lookalike.cli", "index", str(catalog), "--no-progress"]


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOKALIKE_")}
    env.update(LOOKALIKE_DATA_DIR=str(data_dir), LOOKALIKE_BATCH_SIZE="4")
    return env


def test_sigkill_at_random_points_then_resume_is_exact(catalog_copy: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    rng = random.Random(1234)
    for _ in range(3):
        proc = subprocess.Popen(
            _index_cmd(catalog_copy), env=_env(data_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(3.0, 9.0))  # model load takes a few seconds; kills land during embedding
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)

    done = subprocess.run(
        _index_cmd(catalog_copy), env=_env(data_dir), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr

    expected = {point_id(f.rel_path): (f.rel_path, sha256_file(f.path)) for f in scan(catalog_copy)}
    settings = Settings(data_dir=data_dir, qdrant_url=None)
    with open_store(settings, None) as store:
        points = list(store.iter_points())
        assert store.count() == len(points) == len(expected) == 45
    got = {p.id: (p.payload["rel_path"], p.payload["sha256"]) for p in points}
    assert got == expected


def test_a_second_process_on_the_same_data_dir_gets_in_use(catalog_copy: Path, tmp_path: Path) -> None:
    """While one process holds the embedded store, another gets a clear error, and nothing is damaged."""
    data_dir = tmp_path / "data"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from lookalike.search import SearchService\n"
            "s = SearchService().store\n"
            "print('open', flush=True)\n"
            "sys.stdin.readline()\n",
        ],
        env=_env(data_dir),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        res = subprocess.run(
            _index_cmd(catalog_copy), env=_env(data_dir), capture_output=True, text=True, timeout=300
        )
        assert res.returncode == 1
        assert "in use by another lookalike process" in res.stderr
        assert "Traceback" not in res.stderr
    finally:
        holder.communicate("\n", timeout=30)
