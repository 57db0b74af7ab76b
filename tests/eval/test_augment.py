"""Augmentations: seeded and reproducible, each doing what its name says, always ending in RGB."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image, ImageChops, ImageDraw

from lookalike.errors import LookalikeError
from lookalike.eval import augment


def _cutout(size: int = 200) -> Image.Image:
    """A red, asymmetric product on a transparent background, like most demo photos."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rectangle((40, 50, 120, 170), fill=(200, 30, 30, 255))
    d.ellipse((110, 30, 160, 80), fill=(30, 30, 200, 255))
    return img


def _opaque(size: int = 200) -> Image.Image:
    """The same product photographed on a flat light-grey background (no alpha)."""
    bg = Image.new("RGB", (size, size), (235, 235, 235))
    bg.paste(augment.to_rgb(_cutout(size)), mask=_cutout(size).getchannel("A"))
    return bg


def _same(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox() is None


@pytest.mark.parametrize("recipe", augment.RECIPE_NAMES)
def test_every_recipe_is_reproducible_and_returns_rgb(recipe):
    src = _cutout()
    a = augment.apply(recipe, src, seed=7)
    b = augment.apply(recipe, src, seed=7)
    assert a.mode == "RGB"
    assert _same(a, b)
    assert not _same(a, augment.to_rgb(src))  # it changed something


@pytest.mark.parametrize("recipe", ["crop", "colour", "rotate", "background", "combined"])
def test_other_seeds_give_other_images(recipe):
    src = _opaque()
    assert not _same(augment.apply(recipe, src, seed=1), augment.apply(recipe, src, seed=2))


def test_crop_keeps_70_to_90_percent_of_each_side():
    src = Image.new("RGB", (1000, 500))
    for seed in range(50):
        w, h = augment.random_crop(src, random.Random(seed)).size
        assert 700 <= w <= 900 and 350 <= h <= 450


def test_flip_mirrors():
    src = _cutout()
    assert _same(augment.hflip(src, random.Random(0)), src.transpose(Image.Transpose.FLIP_LEFT_RIGHT))


def test_colour_shift_keeps_alpha_and_size():
    src = _cutout()
    out = augment.colour_shift(src, random.Random(3))
    assert out.mode == "RGBA" and out.size == src.size
    assert _same(out.getchannel("A"), src.getchannel("A"))


def test_rotation_stays_within_15_degrees_and_fills_with_the_background():
    out = augment.rotate(_opaque(), random.Random(0))
    assert out.size == (200, 200)
    assert out.getpixel((0, 0))[:3] == (235, 235, 235)  # the corner took the background colour
    assert augment.MAX_ROTATION == 15.0


def test_jpeg_reencodes_at_quality_40():
    src = Image.effect_noise((128, 128), 60).convert("RGB")
    out = augment.jpeg(src, random.Random(0))
    assert out.mode == "RGB" and out.size == src.size and not _same(out, src)
    assert augment.JPEG_QUALITY == 40


def test_background_paste_puts_the_product_on_a_new_backdrop():
    src = _cutout()
    out = augment.apply("background", src, seed=5)
    assert out.size == src.size
    assert augment.to_rgb(src).getpixel((0, 0)) == (255, 255, 255)
    corners = [out.getpixel(p) for p in [(0, 0), (199, 0), (0, 199), (199, 199)]]
    assert any(c != (255, 255, 255) for c in corners)  # no longer the white of a flattened cut-out
    px = np.asarray(out).reshape(-1, 3).astype(int)
    assert ((px[:, 0] > 150) & (px[:, 1] < 90) & (px[:, 2] < 90)).any()  # the red product is still there


def test_product_mask_from_alpha_or_from_the_background_colour():
    alpha = augment.product_mask(_cutout())
    assert alpha.getpixel((80, 100)) == 255 and alpha.getpixel((5, 5)) == 0
    estimated = augment.product_mask(_opaque())
    assert estimated.getpixel((80, 100)) > 200 and estimated.getpixel((5, 5)) < 50
    texture = Image.new("RGB", (100, 100), (200, 60, 50))  # a full-frame fabric shot: all product
    assert augment.product_mask(texture).getextrema() == (255, 255)


def test_to_rgb_flattens_on_white():
    assert augment.to_rgb(_cutout()).getpixel((0, 0)) == (255, 255, 255)


def test_open_rgba_reads_a_file(tmp_path):
    path = tmp_path / "p.png"
    _cutout().save(path)
    img = augment.open_rgba(path)
    assert img.mode == "RGBA" and img.getpixel((0, 0))[3] == 0


def test_seeds_are_stable_across_processes():
    assert augment.seed_for(0, "a.png", "crop", 0) == 3169446958263596627  # sha256, not hash()
    assert augment.seed_for(0, "a.png", "crop", 1) != augment.seed_for(0, "a.png", "crop", 0)


@pytest.mark.parametrize("recipe", sorted(augment.DETERMINISTIC))
def test_deterministic_recipes_ignore_the_seed(recipe):
    src = _opaque()
    assert _same(augment.apply(recipe, src, seed=1), augment.apply(recipe, src, seed=2))


def test_unknown_recipes_are_refused():
    with pytest.raises(LookalikeError, match="unknown augmentation"):
        augment.apply("sepia", _cutout(), 0)
    with pytest.raises(LookalikeError, match="sepia"):
        augment.check_recipes(["crop", "sepia"])
    assert augment.check_recipes(["crop", "flip", "crop"]) == ("crop", "flip")
