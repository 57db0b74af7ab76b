"""The product-in-scene evaluation end to end on a small catalog (real encoder, real embedded store)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lookalike.errors import LookalikeError
from lookalike.eval.scene_search import METHODS, format_scene_table, scene_eval


@pytest.fixture(scope="module")
def six_photos(demo_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("six") / "catalog"
    for category in ("Footwear", "Juices", "Wine"):
        src = sorted((demo_catalog / category).glob("*.png"))[:2]
        (root / category).mkdir(parents=True)
        for f in src:
            shutil.copy(f, root / category / f.name)
    return root


@pytest.mark.slow  # ~1–2 min on 2 idle cores: every query twice, localised ones ~4 encodes
def test_scene_eval_scores_both_methods_on_every_kind(encoder, six_photos: Path) -> None:
    report = scene_eval(encoder, six_photos, half="tune", per_photo=2, progress=False)
    kinds = [r.kind for r in report.rows]
    assert kinds[:2] == ["scene (single)", "scene (phone)"] and kinds[-1] == "clean catalog photos"
    for row in report.rows:
        assert set(row.recall_at_1) == set(METHODS) and row.queries > 0
        assert all(0.0 <= v <= 1.0 for v in [*row.recall_at_1.values(), *row.recall_at_5.values()])
    clean = report.rows[-1]
    assert clean.recall_at_1 == {m: 1.0 for m in METHODS}  # localisation never costs a clean photo
    table = format_scene_table(report)
    assert "tune half" in table and "localised (region auto)" in table
    with pytest.raises(LookalikeError, match="half"):
        scene_eval(encoder, six_photos, half="both")
