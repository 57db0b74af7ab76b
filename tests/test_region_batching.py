"""The region search's batched store look-ups answer exactly what one look-up per crop answers, and
the speed knobs of RegionSettings (whole photo from the proposal pass, crop side) keep their promises.
Real encoder, real embedded store, the demo catalog."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lookalike import regions
from lookalike.catalog import scan
from lookalike.eval import augment
from lookalike.regions import Box, RegionSettings
from lookalike.words import colours


@pytest.fixture(scope="module")
def photos(demo_catalog):
    files = scan(demo_catalog)
    return files, [augment.open_rgba(f.path) for f in files]


def test_search_many_equals_one_search_per_vector(demo_service, photos) -> None:
    _, images = photos
    vectors = demo_service.encoder.embed_images(images[:6])
    batched = demo_service.region_index().search_many(vectors, 5)
    one_by_one = [demo_service.region_index().search(v, 5) for v in vectors]
    assert len(batched) == 6
    for got, want in zip(batched, one_by_one, strict=True):
        assert [p for p, _ in got] == [p for p, _ in want]
        assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-5)


def test_search_many_gives_each_product_once(demo_service, photos) -> None:
    """k = every product of the catalog (several have more than one photo): each comes exactly once."""
    files, images = photos
    n = len({f.product_id for f in files})
    vector = demo_service.encoder.embed_images(images[:1])
    [hits] = demo_service.region_index().search_many(vector, n)
    assert len({p for p, _ in hits}) == len(hits) == n


def test_colours_many_equals_one_colour_query_each(demo_service, photos) -> None:
    files, images = photos
    index = demo_service.region_index()
    hits = index.search_many(demo_service.encoder.embed_images(images[:3]), 4)
    histograms = [colours.histogram(demo_service.encoder.prepare(img)) for img in images[:3]]
    asked = [[p for p, _ in h] + ["not-seen"] for h in hits]
    batched = index.colours_many(histograms, asked)
    assert batched == [index.colours_many([h], [a])[0] for h, a in zip(histograms, asked, strict=True)]
    own = files[0].product_id
    assert batched[0][own] == pytest.approx(1.0, abs=1e-3) and "not-seen" not in batched[0]
    assert index.colours_many([], []) == []


def test_the_whole_photo_from_the_proposal_pass_still_finds_a_clean_photo(demo_service, photos) -> None:
    files, images = photos
    s = dataclasses.replace(RegionSettings(), whole_from_proposals=True)
    for f, img in list(zip(files, images, strict=True))[::9]:
        found = regions.locate(augment.to_rgb(img), demo_service.encoder, demo_service.region_index(), 3, s)
        assert found.matches[0].product_id == f.product_id


def test_a_crop_is_encoded_at_crop_side(demo_service, photos) -> None:
    _, images = photos
    img = augment.to_rgb(images[0])
    box = Box(0, 0, img.size[0] // 2, img.size[1] // 2)
    small = dataclasses.replace(RegionSettings(), crop_side=160)
    at_224 = regions.region_vector(img, box, demo_service.encoder, dataclasses.replace(small, crop_side=224))
    at_160 = regions.region_vector(img, box, demo_service.encoder, small)
    assert at_160.shape == at_224.shape and np.linalg.norm(at_160) == pytest.approx(1.0, abs=1e-5)
    assert 0.5 < float(at_160 @ at_224) < 0.9999  # the same crop, seen at another size


def test_located_keeps_each_searched_vector_for_photo_and_words(demo_service, photos) -> None:
    """Photo + words with region auto reuses the winning region's vector instead of encoding it again:
    the kept vectors are what a fresh encode of the whole photo or of that box gives."""
    from lookalike.eval import scenes

    files, images = photos
    q = scenes.queries(len(files), "single", seed=3)[0]
    scene = scenes.render(q, images).image
    found = regions.locate(scene, demo_service.encoder, demo_service.region_index(), 5)
    boxes = [b for b in found.vectors if b is not None]
    assert None in found.vectors and boxes and found.matches[0].box in found.vectors
    whole = demo_service.encoder.embed_images([scene])[0]
    assert float(found.vectors[None] @ whole) == pytest.approx(1.0, abs=1e-4)
    for box in boxes:
        again = regions.region_vector(scene, box, demo_service.encoder)
        assert float(found.vectors[box] @ again) == pytest.approx(1.0, abs=1e-4)
