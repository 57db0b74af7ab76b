"""Seeded "product in a shopper's photo" scenes: catalog products cut out and placed on real photographs.

A scene is what a shopper uploads when the product is only part of the picture: the product (40–80 %
of the frame) on a cluttered real photo (scikit-image's sample photographs, randomly cropped and
flipped), optionally shot with a phone (tilt, perspective skew, blur, noise, JPEG), or two or three
products side by side. Every scene records each product's ground-truth box, and the same seed always
gives the same pixels. Query seeds are split into a tuning half and a test half (`split_of`), so a
method is tuned on one half and reported on the other.
"""

from __future__ import annotations

import functools
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from lookalike.errors import LookalikeError
from lookalike.eval.augment import open_rgba, product_mask, seed_for

# scikit-image sample photos that ship inside the wheel (no download): real clutter, colour and grey.
BACKGROUNDS: tuple[str, ...] = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "stereo_motorcycle",
    "camera",
    "coins",
    "brick",
    "grass",
    "gravel",
    "clock",
    "moon",
)
SCALE_RANGE = (0.40, 0.80)  # product size, fraction of the frame it must fit in
MULTI_SCALE_RANGE = (0.45, 0.75)  # each of 2–3 products in one frame
CANVAS_SIDE = 640  # longer side of a scene
BG_CROP_RANGE = (0.5, 1.0)  # fraction of each side of the background photo kept
MAX_TILT = 12.0  # degrees (phone)
MAX_SKEW = 0.12  # perspective: corner displacement, fraction of the product side (phone)
Kind = Literal["single", "phone", "multi"]
KINDS: tuple[Kind, ...] = ("single", "phone", "multi")
Half = Literal["tune", "test"]


@dataclass(frozen=True)
class Placed:
    """One product in a scene: which catalog photo and where, (x, y, w, h) in scene pixels."""

    source: int
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class Scene:
    image: Image.Image
    products: tuple[Placed, ...]


@dataclass(frozen=True)
class SceneQuery:
    """A recipe for one scene: which photos go in, what kind, and the seed that fixes everything else."""

    kind: Kind
    sources: tuple[int, ...]
    seed: int

    @property
    def half(self) -> Half:
        return split_of(self.seed)


def split_of(seed: int) -> Half:
    """Tuning or test half, from the seed alone (a hash, so the halves are not one parity of an id)."""
    return "test" if seed_for("half", seed) % 2 else "tune"


@functools.cache
def _background_photo(name: str) -> Image.Image:
    try:
        import skimage.data
    except ImportError:
        raise LookalikeError("scene recipes need scikit-image: pip install scikit-image") from None
    arr = getattr(skimage.data, name)()
    if isinstance(arr, tuple):  # stereo pairs
        arr = arr[0]
    arr = np.asarray(arr)
    if arr.dtype != np.uint8:
        arr = (arr.astype(np.float32) * (255.0 / max(float(arr.max()), 1.0))).astype(np.uint8)
    img = Image.fromarray(arr)
    return img.convert("RGB")


def background(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A random crop (and maybe a mirror) of a random real photo, resized to `size`."""
    photo = _background_photo(rng.choice(BACKGROUNDS))
    w, h = photo.size
    target = size[0] / size[1]
    frac = rng.uniform(*BG_CROP_RANGE)
    cw, ch = w * frac, h * frac
    # match the canvas aspect ratio inside the kept fraction
    if cw / ch > target:
        cw = ch * target
    else:
        ch = cw / target
    cw, ch = max(8, round(cw)), max(8, round(ch))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    out = photo.crop((x, y, x + cw, y + ch)).resize(size, Image.Resampling.BICUBIC)
    return ImageOps.mirror(out) if rng.random() < 0.5 else out


def cutout(img: Image.Image) -> Image.Image:
    """The product alone as RGBA, cropped to itself: alpha where the photo has it, else a background mask."""
    rgba = img.convert("RGBA")
    mask = product_mask(rgba)
    box = mask.getbbox() or (0, 0, *rgba.size)
    product = rgba.crop(box)
    product.putalpha(mask.crop(box))
    return product


def _perspective(product: Image.Image, rng: random.Random) -> Image.Image:
    """Skew: move each corner by up to MAX_SKEW of the side, as a photo taken a little from the side."""
    w, h = product.size
    d = [rng.uniform(-MAX_SKEW, MAX_SKEW) for _ in range(8)]
    # quad = source corners (UL, LL, LR, UR) the output corners are sampled from
    quad = (
        d[0] * w, d[1] * h,
        d[2] * w, h + d[3] * h,
        w + d[4] * w, h + d[5] * h,
        w + d[6] * w, d[7] * h,
    )  # fmt: skip
    out = product.transform((w, h), Image.Transform.QUAD, quad, Image.Resampling.BICUBIC)
    return out.crop(out.getchannel("A").getbbox() or (0, 0, w, h))


def _phone_product(product: Image.Image, rng: random.Random) -> Image.Image:
    product = _perspective(product, rng)
    product = product.rotate(rng.uniform(-MAX_TILT, MAX_TILT), Image.Resampling.BICUBIC, expand=True)
    return product.crop(product.getchannel("A").getbbox() or (0, 0, *product.size))


def _phone_finish(scene: Image.Image, rng: random.Random) -> Image.Image:
    """Blur, sensor noise and JPEG over the whole photo."""
    scene = scene.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.5)))
    w, h = scene.size
    noise = np.frombuffer(rng.randbytes(w * h * 3), dtype=np.uint8).reshape(h, w, 3).astype(np.int16)
    sigma = rng.uniform(2.0, 8.0)
    arr = np.asarray(scene, dtype=np.int16) + ((noise - 127.5) * (sigma / 73.9)).astype(np.int16)
    scene = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    scene.save(buf, format="JPEG", quality=rng.randint(35, 75))
    buf.seek(0)
    with Image.open(buf) as out:
        return out.convert("RGB")


def _canvas_size(rng: random.Random, n: int) -> tuple[int, int]:
    if n == 1:
        aspect = rng.choice((4 / 3, 3 / 4, 1.0, 3 / 2, 2 / 3))
    else:  # side by side: a wider frame
        aspect = rng.uniform(1.4, 2.0) if n == 2 else rng.uniform(1.8, 2.4)
    if aspect >= 1:
        return CANVAS_SIDE, round(CANVAS_SIDE / aspect)
    return round(CANVAS_SIDE * aspect), CANVAS_SIDE


def _resize_to(product: Image.Image, frac: float, frame: tuple[int, int]) -> Image.Image:
    scale = frac * min(frame[0] / product.width, frame[1] / product.height)
    size = (max(1, round(product.width * scale)), max(1, round(product.height * scale)))
    return product.resize(size, Image.Resampling.BICUBIC)


def compose(products: Sequence[Image.Image], sources: Sequence[int], seed: int, phone: bool) -> Scene:
    """Paste cut-outs (RGBA) onto a background from `seed`; several products never overlap."""
    rng = random.Random(seed)
    n = len(products)
    size = _canvas_size(rng, n)
    canvas = background(rng, size)
    W, H = size
    placed: list[Placed] = []
    slots = rng.sample(range(n), n)
    for product, source in zip(products, sources, strict=True):
        if phone:
            product = _phone_product(product, rng)
        if n == 1:
            product = _resize_to(product, rng.uniform(*SCALE_RANGE), size)
        else:  # each product gets its own slot across the frame, so they cannot overlap
            product = _resize_to(product, rng.uniform(*MULTI_SCALE_RANGE), (W, H))
            product = _resize_to(product, 1.0, (min(product.width, W // n - 4), product.height))
        w, h = product.size
        if n == 1:
            box = (rng.randint(0, W - w), rng.randint(0, H - h), w, h)
        else:  # its own vertical strip (in shuffled order): never overlapping another product
            strip = W // n
            left = slots[len(placed)] * strip
            box = (left + rng.randint(0, strip - w), rng.randint(0, H - h), w, h)
        canvas.paste(product.convert("RGB"), box[:2], product.getchannel("A"))
        placed.append(Placed(source, box))
    image = _phone_finish(canvas, rng) if phone else canvas
    return Scene(image, tuple(placed))


def queries(
    n_photos: int, kind: Kind, per_photo: int = 1, seed: int = 0, n_products: Sequence[int] = (2, 3)
) -> list[SceneQuery]:
    """Scene recipes over a catalog of `n_photos`: `per_photo` per photo (single/phone), or the same
    number of multi-product scenes whose photos are drawn at random (all different)."""
    if kind not in KINDS:
        raise LookalikeError(f"unknown scene kind '{kind}'; choose from {', '.join(KINDS)}")
    if n_photos < (max(n_products) if kind == "multi" else 1):
        raise LookalikeError(f"a catalog of {n_photos} photo(s) is too small for '{kind}' scenes")
    out = []
    for i in range(n_photos):
        for j in range(per_photo):
            s = seed_for("scene", seed, kind, i, j)
            if kind == "multi":
                r = random.Random(s)
                sources = tuple(r.sample(range(n_photos), r.choice(tuple(n_products))))
            else:
                sources = (i,)
            out.append(SceneQuery(kind, sources, s))
    return out


def render(query: SceneQuery, photos: Sequence[Image.Image]) -> Scene:
    """The scene of `query`; `photos` are the catalog photos (RGBA via `open_rgba`, or anything PIL)."""
    cut = [_cutout_cached(photos[i]) for i in query.sources]
    return compose(cut, query.sources, query.seed, phone=query.kind == "phone")


_CUT_CACHE: dict[int, tuple[Image.Image, Image.Image]] = {}


def _cutout_cached(photo: Image.Image) -> Image.Image:
    key = id(photo)
    hit = _CUT_CACHE.get(key)
    if hit is None or hit[0] is not photo:
        if len(_CUT_CACHE) > 256:
            _CUT_CACHE.clear()
        hit = (photo, cutout(photo))
        _CUT_CACHE[key] = hit
    return hit[1]


__all__ = [
    "BACKGROUNDS",
    "KINDS",
    "Placed",
    "Scene",
    "SceneQuery",
    "background",
    "compose",
    "cutout",
    "open_rgba",
    "queries",
    "render",
    "split_of",
]
