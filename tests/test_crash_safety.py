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


_HOLDER = """
import sys
import numpy as np
from lookalike.search import SearchService
store = SearchService().store
dim = store.schema.vectors["image"]
ids = [f"00000000-0000-4000-8000-00000000000{i}" for i in (1, 2)]
# a write, as a running server makes them: it leaves a mutable segment with open journals
store.upsert(ids[:1], np.ones((1, dim), np.float32), [{"product_id": "p1", "category": "c"}])
print("open", flush=True)
sys.stdin.readline()  # the other processes try the same data dir meanwhile
store.upsert(ids[1:], np.ones((1, dim), np.float32), [{"product_id": "p2", "category": "c"}])
store.delete(ids)
print("wrote", store.count(), flush=True)
store.close()
"""


def _index_files(data_dir: Path) -> dict[str, bytes]:
    store = data_dir / "store"
    return {str(p.relative_to(store)): p.read_bytes() for p in sorted(store.rglob("*")) if p.is_file()}


def test_a_second_process_is_refused_before_it_touches_the_index(catalog_copy: Path, tmp_path: Path) -> None:
    """While one process holds the embedded store, `index`, `info` and `search` in another get a clear
    'in use' error having changed no file of the index, and the holder goes on writing."""
    data_dir = tmp_path / "data"
    built = subprocess.run(_index_cmd(catalog_copy), env=_env(data_dir), capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER],
        env=_env(data_dir),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        before = _index_files(data_dir)
        query = str(next(catalog_copy.rglob("*.png")))
        cli = [sys.executable, "-m", "lookalike.cli"]
        for args in (["index", str(catalog_copy), "--no-progress"], ["info"], ["search", query]):
            res = subprocess.run(cli + args, env=_env(data_dir), capture_output=True, text=True, timeout=300)
            assert res.returncode == 1, (args, res.stdout, res.stderr)
            assert "in use by another lookalike process" in res.stderr, args
            assert "Traceback" not in res.stderr
        assert _index_files(data_dir) == before  # not one byte of the holder's index changed
        out, _ = holder.communicate("\n", timeout=60)
        assert holder.returncode == 0
        assert out.strip() == "wrote 45"  # the holder's writes still work
    finally:
        if holder.poll() is None:
            holder.kill()
