"""Photos of things no shop catalog here holds, from files that installed packages ship (no download).

They stand for "a shopper photographed something we do not sell": calibration (lookalike.calibration)
scores them against the catalog to learn where "no match" ends, and `lookalike eval` checks the
decision on the other half of them. Photos are split into halves by name (`half_of`), so the photos
a decision is tested on were never seen while it was tuned.
"""

from __future__ import annotations

import functools
import logging
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from lookalike.eval.augment import seed_for, to_rgb
from lookalike.eval.scenes import BACKGROUNDS

log = logging.getLogger(__name__)

# scikit-image's sample photographs (inside its wheel): the scene backgrounds of the eval (real clutter:
# people, animals, objects, textures), and more that are no product either
SKIMAGE = (*BACKGROUNDS, "horse", "page", "text", "cell", "logo", "colorwheel", "microaneurysms")
# (package, path inside it): sample photos other dependencies ship; missing ones are skipped.
PACKAGE_FILES = (
    ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
    ("matplotlib", "mpl-data/sample_data/Minduka_Present_Blue_Pack.png"),
    ("sklearn", "datasets/images/china.jpg"),
    ("sklearn", "datasets/images/flower.jpg"),
    ("gradio", "media_assets/images/cheetah.jpg"),
    ("gradio", "media_assets/images/lion.jpg"),
    ("gradio", "media_assets/images/tower.jpg"),
    ("gradio", "media_assets/images/groot.jpeg"),
    ("gradio", "test_data/cheetah2.jpg"),
)
CROP_RANGE = (0.6, 1.0)  # fraction of each side a variant keeps


@dataclass(frozen=True)
class OutsidePhoto:
    name: str
    image: Image.Image


def half_of(name: str) -> str:
    """'tune' or 'test': which half a photo belongs to, from its name alone (stable across runs)."""
    return "test" if seed_for("outside", name) % 2 else "tune"


def _skimage(name: str) -> Image.Image | None:
    try:
        import skimage.data

        arr = getattr(skimage.data, name)()
    except Exception:  # noqa: BLE001 - not installed, or a photo this version does not ship
        return None
    if isinstance(arr, tuple):  # stereo pairs
        arr = arr[0]
    arr = np.asarray(arr)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    elif arr.dtype != np.uint8:
        arr = (arr.astype(np.float32) * (255.0 / max(float(arr.max()), 1.0))).astype(np.uint8)
    return Image.fromarray(arr).convert("RGB") if arr.ndim in (2, 3) else None


def _package_file(package: str, rel: str) -> Image.Image | None:
    try:
        module = __import__(package)
        path = Path(module.__file__).parent / rel  # type: ignore[arg-type]
        with Image.open(path) as img:
            img.load()
            return to_rgb(img.convert("RGBA"))
    except Exception:  # noqa: BLE001 - package or file absent: one photo fewer
        return None


@functools.cache
def photos() -> tuple[OutsidePhoto, ...]:
    """Every outside photo available here, in a fixed order."""
    found: list[OutsidePhoto] = []
    for name in SKIMAGE:
        if (img := _skimage(name)) is not None:
            found.append(OutsidePhoto(f"skimage:{name}", img))
    for package, rel in PACKAGE_FILES:
        if (img := _package_file(package, rel)) is not None:
            found.append(OutsidePhoto(f"{package}:{Path(rel).stem}", img))
    if not found:
        log.warning("no outside photos found (scikit-image missing?): 'no match' cannot be calibrated")
    return tuple(found)


def variant(photo: Image.Image, seed: int) -> Image.Image:
    """A shopper-like shot: seed 0 is the photo itself, other seeds a random crop, maybe mirrored."""
    if seed == 0:
        return photo
    rng = random.Random(seed)
    w, h = photo.size
    cw, ch = round(w * rng.uniform(*CROP_RANGE)), round(h * rng.uniform(*CROP_RANGE))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    out = photo.crop((x, y, x + cw, y + ch))
    return ImageOps.mirror(out) if rng.random() < 0.5 else out


def queries(half: str, per_photo: int) -> list[tuple[str, Image.Image]]:
    """(label, image) for the photos of one half: each photo whole, then per_photo - 1 crops."""
    return [
        (f"{p.name}#{j}", variant(p.image, 0 if j == 0 else seed_for(p.name, j)))
        for p in photos()
        if half_of(p.name) == half
        for j in range(per_photo)
    ]
