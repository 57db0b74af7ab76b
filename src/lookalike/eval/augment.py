"""Seeded photo augmentations (PIL only) that turn a catalog photo into what a shopper might upload.

Each augmentation takes an image and a `random.Random` and returns a new image; the same seed always
gives the same pixels, so evaluations are reproducible. Images travel as RGBA so that transparent
product shots keep their cut-out until the last step (`to_rgb` puts them on white, as indexing does).
"""

from __future__ import annotations

import hashlib
import io
import math
import random
from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image, ImageChops, ImageEnhance, ImageFilter, ImageOps

from lookalike.errors import LookalikeError

Augmentation = Callable[[Image.Image, random.Random], Image.Image]

CROP_RANGE = (0.70, 0.90)  # fraction of each side kept
BRIGHTNESS_RANGE = (0.75, 1.25)
SATURATION_RANGE = (0.70, 1.30)
CHANNEL_GAIN_RANGE = (0.90, 1.10)  # per-channel gain: a white-balance (colour cast) shift
MAX_ROTATION = 15.0  # degrees, either way
JPEG_QUALITY = 40
PASTE_SCALE_RANGE = (0.60, 0.90)  # product size on the new background, fraction of the canvas side
_WHITE = (255, 255, 255)


def open_rgba(path: Path | str) -> Image.Image:
    """A catalog file as upright RGBA (alpha kept for `new_background`)."""
    with Image.open(path) as img:
        img.load()
        return (ImageOps.exif_transpose(img) or img).convert("RGBA")


def to_rgb(img: Image.Image) -> Image.Image:
    """Flatten onto white, the way `lookalike.images.load_image` reads transparent product shots."""
    if img.mode == "RGB":
        return img
    rgba = img.convert("RGBA")
    out = Image.new("RGB", rgba.size, _WHITE)
    out.paste(rgba, mask=rgba.getchannel("A"))
    return out


def _border_colour(img: Image.Image) -> tuple[int, ...]:
    """Per-channel median of the corners and edge midpoints: the photo's background colour."""
    w, h = img.size
    xs, ys = (0, w // 2, w - 1), (0, h // 2, h - 1)
    samples = [img.getpixel((x, y)) for x in xs for y in ys if (x, y) != (w // 2, h // 2)]
    samples = [s if isinstance(s, tuple) else (s,) for s in samples]
    return tuple(sorted(channel)[len(channel) // 2] for channel in zip(*samples, strict=True))


def random_crop(img: Image.Image, rng: random.Random) -> Image.Image:
    """Keep 70–90 % of each side at a random position: a shopper framing the product loosely or tightly."""
    w, h = img.size
    cw = max(1, round(w * rng.uniform(*CROP_RANGE)))
    ch = max(1, round(h * rng.uniform(*CROP_RANGE)))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    return img.crop((x, y, x + cw, y + ch))


def hflip(img: Image.Image, rng: random.Random) -> Image.Image:
    """Mirror left-right (a selfie camera, or the product photographed from its other side)."""
    return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def maybe_hflip(img: Image.Image, rng: random.Random) -> Image.Image:
    return hflip(img, rng) if rng.random() < 0.5 else img


def colour_shift(img: Image.Image, rng: random.Random) -> Image.Image:
    """Brightness, saturation and a per-channel colour cast: other lighting, another white balance."""
    rgba = img.convert("RGBA")
    alpha = rgba.getchannel("A")
    rgb = rgba.convert("RGB")
    rgb = ImageEnhance.Brightness(rgb).enhance(rng.uniform(*BRIGHTNESS_RANGE))
    rgb = ImageEnhance.Color(rgb).enhance(rng.uniform(*SATURATION_RANGE))
    gains = [rng.uniform(*CHANNEL_GAIN_RANGE) for _ in range(3)]
    bands = [
        band.point(lambda v, g=g: min(255, round(v * g))) for band, g in zip(rgb.split(), gains, strict=True)
    ]
    return Image.merge("RGBA", (*bands, alpha))


def rotate(img: Image.Image, rng: random.Random) -> Image.Image:
    """Tilt by up to ±15°; the uncovered corners take the photo's background colour."""
    rgba = img.convert("RGBA")
    angle = rng.uniform(-MAX_ROTATION, MAX_ROTATION)
    return rgba.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=_border_colour(rgba))


def jpeg(img: Image.Image, rng: random.Random) -> Image.Image:
    """Re-encode as JPEG quality 40: the blocky, smeared colours of a compressed upload."""
    buf = io.BytesIO()
    to_rgb(img).save(buf, format="JPEG", quality=JPEG_QUALITY)
    buf.seek(0)
    with Image.open(buf) as out:
        return out.convert("RGB")


def product_mask(img: Image.Image, threshold: int = 30, min_cover: float = 0.08) -> Image.Image:
    """Where the product is: the alpha channel of a cut-out, else pixels unlike the background colour.

    A photo whose "product" would cover under `min_cover` of it is a full-frame shot (a fabric close-up):
    then the whole photo is the product and is pasted as a picture.
    """
    rgba = img.convert("RGBA")
    alpha = rgba.getchannel("A")
    if alpha.getextrema()[0] < 255:
        return alpha
    rgb = rgba.convert("RGB")
    background = Image.new("RGB", rgb.size, _border_colour(rgb))
    diff = ImageChops.difference(rgb, background).convert("L")
    mask = diff.point(lambda v: 255 if v > threshold else 0)
    mask = mask.filter(ImageFilter.MedianFilter(5)).filter(ImageFilter.GaussianBlur(1))
    cover = mask.histogram()[-1] / (mask.width * mask.height)
    return mask if cover >= min_cover else Image.new("L", mask.size, 255)


def _random_background(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """A two-colour gradient in a random direction with a little grain: a table, a wall, a floor."""
    c1 = tuple(rng.randint(0, 255) for _ in range(3))
    c2 = tuple(rng.randint(0, 255) for _ in range(3))
    # Rotate a gradient as large as the canvas diagonal, then cut the canvas out of its middle: no corners.
    w, h = size
    d = math.ceil(math.hypot(w, h))
    gradient = (
        Image.linear_gradient("L").resize((d, d)).rotate(rng.uniform(0, 360), Image.Resampling.BILINEAR)
    )
    left, top = (d - w) // 2, (d - h) // 2
    gradient = gradient.crop((left, top, left + w, top + h))
    bg = Image.composite(Image.new("RGB", size, c1), Image.new("RGB", size, c2), gradient)
    grain = Image.frombytes("L", size, rng.randbytes(w * h)).convert("RGB")  # seeded, unlike effect_noise
    return Image.blend(bg, grain, rng.uniform(0.03, 0.12))


def new_background(img: Image.Image, rng: random.Random) -> Image.Image:
    """Cut the product out and paste it, smaller and off-centre, onto a new random background."""
    rgba = img.convert("RGBA")
    mask = product_mask(rgba)
    box = mask.getbbox() or (0, 0, *rgba.size)
    product, mask = rgba.crop(box), mask.crop(box)
    w, h = rgba.size
    scale = rng.uniform(*PASTE_SCALE_RANGE) * min(w / product.width, h / product.height)
    size = (max(1, round(product.width * scale)), max(1, round(product.height * scale)))
    product = product.resize(size, Image.Resampling.BICUBIC)
    mask = mask.resize(size, Image.Resampling.BICUBIC)
    canvas = _random_background((w, h), rng)
    canvas.paste(product.convert("RGB"), (rng.randint(0, w - size[0]), rng.randint(0, h - size[1])), mask)
    return canvas


def compose(*steps: Augmentation) -> Augmentation:
    def run(img: Image.Image, rng: random.Random) -> Image.Image:
        for step in steps:
            img = step(img, rng)
        return img

    return run


RECIPES: dict[str, Augmentation] = {
    "crop": random_crop,
    "flip": hflip,
    "colour": colour_shift,
    "jpeg": jpeg,
    "rotate": rotate,
    "background": new_background,
    # crop, flip (half the time), colour shift and JPEG in one photo: the acceptance set at once
    "combined": compose(random_crop, maybe_hflip, colour_shift, jpeg),
}
RECIPE_NAMES: tuple[str, ...] = tuple(RECIPES)
# Recipes that ignore their RNG: one query per photo is all they can make.
DETERMINISTIC: frozenset[str] = frozenset({"flip", "jpeg"})
# The recipes the same-product targets (recall@1 ≥ 0.9, recall@5 ≥ 0.98) are stated for.
CORE_RECIPES: tuple[str, ...] = ("crop", "flip", "colour", "jpeg", "combined")


def seed_for(*parts: object) -> int:
    """A stable seed from any parts (Python's hash() of a str changes with every process)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def apply(recipe: str, img: Image.Image, seed: int) -> Image.Image:
    """`recipe` applied to `img` with its own RNG; always returns RGB."""
    try:
        fn = RECIPES[recipe]
    except KeyError:
        raise LookalikeError(
            f"unknown augmentation '{recipe}'; choose from {', '.join(RECIPE_NAMES)}"
        ) from None
    return to_rgb(fn(img.convert("RGBA"), random.Random(seed)))


def check_recipes(recipes: Sequence[str]) -> tuple[str, ...]:
    unknown = [r for r in recipes if r not in RECIPES]
    if unknown:
        raise LookalikeError(
            f"unknown augmentation(s) {', '.join(unknown)}; choose from {', '.join(RECIPE_NAMES)}"
        )
    return tuple(dict.fromkeys(recipes))
