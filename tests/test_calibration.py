"""'Not in our catalog': match thresholds learnt at index time (lookalike.calibration), with the real
encoder and the real embedded store; the threshold search itself as pure unit tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lookalike import calibration, outside_photos
from lookalike.calibration import Calibration, separate
from lookalike.catalog import scan
from lookalike.config import Settings
from lookalike.eval import augment
from lookalike.search import SearchService


# -- the threshold search ------------------------------------------------------------------------------
def test_separable_scores_get_the_middle_of_the_gap() -> None:
    assert separate([0.1, 0.3, 0.4], [0.6, 0.8, 0.9]) == pytest.approx(0.5)


def test_overlapping_scores_get_the_best_balanced_accuracy() -> None:
    # 0.55 is below one high score and above none of the low ones; every other cut does worse
    low, high = [0.1, 0.2, 0.3, 0.5], [0.45, 0.6, 0.7, 0.8, 0.9]
    t = separate(low, high)
    assert 0.5 < t < 0.6


def test_balanced_accuracy_does_not_let_the_larger_set_outvote_the_smaller() -> None:
    # one negative at 0.62 among 20 positives: cutting above it costs 1/20 of recall, not 1/21 of accuracy
    high = [0.6 + 0.02 * i for i in range(20)]
    t = separate([0.2, 0.3, 0.62], high)
    assert 0.62 < t <= 0.64


def test_one_sided_inputs_and_nothing() -> None:
    assert separate([], [0.7, 0.8]) < 0.7
    assert separate([0.2, 0.4], []) > 0.4
    with pytest.raises(Exception, match="nothing to calibrate"):
        separate([], [])


def test_verdicts_and_round_trip() -> None:
    cal = Calibration(0.8, 0.55, "enc", 10, 8, 8, "2026-12-07T00:00:00+00:00")
    assert [cal.verdict(s) for s in (0.9, 0.8, 0.7, 0.55, 0.54, None)] == [
        "exact",
        "exact",
        "similar",
        "similar",
        "none",
        "none",
    ]
    assert Calibration.from_dict({**cal.to_dict(), "unknown_field": 1}) == cal


def test_outside_photos_are_split_in_two_halves_by_name() -> None:
    photos = outside_photos.photos()
    assert len(photos) >= 20  # scikit-image alone ships 22 of them
    halves = {p.name: outside_photos.half_of(p.name) for p in photos}
    assert set(halves.values()) == {"tune", "test"}
    tune = {label.split("#")[0] for label, _ in outside_photos.queries("tune", 2)}
    test = {label.split("#")[0] for label, _ in outside_photos.queries("test", 2)}
    assert tune and test and not tune & test


# -- on the demo catalog ---------------------------------------------------------------------------------
def test_indexing_calibrates_the_collection(demo_service: SearchService) -> None:
    cal = demo_service.calibration
    assert cal is not None
    assert cal.encoder == "efficientnet-lite0" and cal.points == 45
    assert 0 < cal.similar <= cal.exact < 1
    assert cal.positives == calibration.MAX_POSITIVES and cal.negatives >= 20
    assert demo_service.store.read_note("calibration") == cal.to_dict()


def test_a_photo_of_a_product_we_sell_is_a_match(demo_service: SearchService, demo_catalog: Path) -> None:
    files = {f.rel_path: f for f in scan(demo_catalog)}
    photo = augment.apply("combined", augment.open_rgba(files["Footwear/yellow-plimsolls-2.png"].path), 7)
    hits = demo_service.search_image(photo, top_k=3)
    assert hits[0].product.product_id == "yellow-plimsolls"
    assert hits[0].match == "exact"
    assert demo_service.best_match(hits) == "exact"
    assert all(h.match in ("similar", "none") for h in hits[1:])  # one product in the photo: one exact


def test_photos_of_things_the_shop_does_not_sell_are_not_matches(demo_service: SearchService) -> None:
    """Outside photos of the test half (never used to calibrate): none of them is called a match."""
    verdicts = {
        label: demo_service.best_match(demo_service.search_image(img, top_k=3, region="whole"))
        for label, img in outside_photos.queries("test", 1)[:8]
    }
    assert set(verdicts.values()) == {"none"}, verdicts


def test_recomputed_when_a_reindex_changes_the_catalog_and_kept_otherwise(
    settings: Settings, encoder, demo_catalog: Path, tmp_path: Path
) -> None:
    catalog = tmp_path / "shop"
    for folder in ("Juices", "Homewares", "Footwear"):
        shutil.copytree(demo_catalog / folder, catalog / folder)
    with SearchService(settings, encoder=encoder) as svc:
        svc.index(catalog)
        first = svc.calibration
        assert first is not None and first.points == svc.store.count()
        svc.index(catalog)  # nothing changed: the stored calibration stands
        assert svc.calibration == first
        shutil.rmtree(catalog / "Footwear")
        svc.index(catalog, prune=True)
        second = svc.calibration
        assert second is not None and second.points == svc.store.count() < first.points
        # a catalog file broken after indexing: the index run lists it, calibration leaves it out
        broken = next((catalog / "Juices").iterdir())
        broken.write_bytes(b"no longer a photo")
        report = svc.index(catalog)
        assert report.failed and svc.calibration is not None
        assert calibration.calibrate(svc) is not None  # every product is sampled: the broken one too
        second = svc.calibration
    with SearchService(settings, encoder=encoder) as svc:  # read back from the store
        assert svc.calibration == second


def test_too_few_products_leave_the_collection_uncalibrated(
    service: SearchService, demo_catalog: Path, tmp_path: Path
) -> None:
    catalog = tmp_path / "tiny"
    catalog.mkdir()
    for f in scan(demo_catalog)[:3]:
        shutil.copy(f.path, catalog / Path(f.rel_path).name)
    service.index(catalog)
    assert service.calibration is None
    hits = service.search_image(catalog / next(p.name for p in catalog.iterdir()), top_k=2, region="whole")
    assert hits and hits[0].match is None and service.best_match(hits) is None
