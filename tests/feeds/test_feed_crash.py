"""Kill `lookalike index-feed` (SIGKILL) right after its first batch is stored, then resume: the index
ends with exactly the feed's images, each once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from lookalike.config import Settings
from lookalike.store import open_store

from .conftest import Shop, merchant_tsv, stock
from .test_index_feed import _expected_ids

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def _env(data_dir: Path, read_timeout: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOKALIKE_")}
    env.update(
        LOOKALIKE_DATA_DIR=str(data_dir),
        LOOKALIKE_BATCH_SIZE="4",
        LOOKALIKE_FETCH_READ_TIMEOUT=str(read_timeout),
        LOOKALIKE_FETCH_RETRIES="0",
    )
    return env


def test_kill_after_the_first_batch_then_resume_is_exact(
    shop: Shop, demo_catalog: Path, tmp_path: Path
) -> None:
    by_id = {p.get("id"): p for p in stock(shop, demo_catalog)}
    # 4 images (one batch), then an image whose host stalls: the run is certainly still going when killed
    order = [
        "hoodie-black",
        "hoodie-white",
        "juice-orange",
        "slow-host",
        "plimsolls-yellow",
        "wine-red",
        "gone-404",
    ]
    products = [by_id[i] for i in order]
    url = shop.put("/feeds/google.tsv", merchant_tsv(products), "text/plain")
    data_dir = tmp_path / "data"
    cmd = [sys.executable, "-m", "lookalike.cli", "-v", "index-feed", url, "--no-progress"]

    proc = subprocess.Popen(
        cmd, env=_env(data_dir, 60.0), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if "batch 1 stored" in line:
                proc.send_signal(signal.SIGKILL)
                break
        else:
            pytest.fail("index-feed ended without storing a batch:\n" + "".join(seen[-20:]))
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    with open_store(Settings(data_dir=data_dir, qdrant_url=None), None) as store:
        assert store.count() == 4  # the first batch, and nothing after the stalled image

    done = subprocess.run(
        [*cmd[:3], *cmd[4:]], env=_env(data_dir, 2.0), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert "4 new" in done.stdout and "4 unchanged" in done.stdout and "4 embedded" in done.stdout
    assert "slow.png: timed out" in done.stderr and "missing.png: HTTP 404" in done.stderr
    with open_store(Settings(data_dir=data_dir, qdrant_url=None), None) as store:
        ids = [p.id for p in store.iter_points()]
        assert store.count() == len(ids) == 8
    assert not [i for i, n in Counter(ids).items() if n > 1]
    assert set(ids) == _expected_ids(products, "google")
