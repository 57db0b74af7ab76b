"""Find a product inside a larger photo: region boxes, region vectors, and the rules that fuse their results.

A shopper's photo often shows the product in a corner of a cluttered scene; one vector for the whole
photo then describes mostly the clutter. Here each candidate region gets its own vector, every vector
is searched, and a product's score is its best over the whole photo and the regions (`fuse`), so the
answer also says *where* the product was (a `Box` in query pixels). For "which products are in this
photo", `group` keeps the best few regions whose boxes and products differ (non-maximum suppression).

Region vectors come cheaply from one forward pass at a higher resolution (`pooled_vectors`: the
encoder's feature map, mean-pooled over the cells of each box, as the encoder pools the whole image);
the best few regions are then re-encoded as crops (`crop_vectors`) when the encoder can do that.
Everything here except the two vector functions is pure and has no model or store in it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image

from lookalike.encoders.base import Encoder, l2_normalise
from lookalike.errors import LookalikeError


class RegionError(LookalikeError):
    """A region box that does not describe part of the image (malformed, empty, outside)."""


_NUMBER = r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*"
_BOX_RE = re.compile(rf"^{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}$")


@dataclass(frozen=True)
class Box:
    """A rectangle in image pixels: left, top, width, height."""

    x: int
    y: int
    w: int
    h: int

    @classmethod
    def parse(cls, text: str, image_size: tuple[int, int]) -> Box:
        """'X,Y,W,H' in pixels, or in fractions of the image (0–1) when all four are ≤ 1; checked."""
        m = _BOX_RE.match(text or "")
        if not m:
            raise RegionError(
                f"a region is four numbers 'X,Y,W,H' (pixels, or fractions 0–1 of the photo), not '{text}'"
            )
        values = [float(v) for v in m.groups()]
        return cls.from_numbers(values, image_size)

    @classmethod
    def from_numbers(cls, values: Sequence[float], image_size: tuple[int, int]) -> Box:
        """Pixels, or fractions of the image when every value is within 0–1; checked against the image."""
        if len(values) != 4:
            raise RegionError(f"a region needs four numbers X, Y, W, H, not {len(values)}")
        if not all(math.isfinite(v) for v in values):
            raise RegionError("a region's X, Y, W, H must be ordinary numbers (not NaN or infinite)")
        if any(v < 0 for v in values):
            raise RegionError(f"a region cannot have negative numbers: {_show(values)}")
        W, H = image_size
        if all(v <= 1 for v in values):
            x, y, w, h = values[0] * W, values[1] * H, values[2] * W, values[3] * H
        else:
            x, y, w, h = values
        box = cls(round(x), round(y), round(w), round(h))
        return box.check(image_size)

    def check(self, image_size: tuple[int, int]) -> Box:
        """This box if it has an area and lies inside an image of `image_size`, else a RegionError."""
        W, H = image_size
        if self.w <= 0 or self.h <= 0:
            raise RegionError(f"the region {self} is empty: width and height must be at least 1 pixel")
        if self.x < 0 or self.y < 0 or self.x + self.w > W or self.y + self.h > H:
            raise RegionError(f"the region {self} reaches outside the {W}×{H} photo")
        return self

    @property
    def area(self) -> int:
        return self.w * self.h

    def corners(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom), as PIL's crop takes it."""
        return self.x, self.y, self.x + self.w, self.y + self.h

    def iou(self, other: Box) -> float:
        ix = max(0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def __str__(self) -> str:
        return f"{self.x},{self.y},{self.w},{self.h}"


def _show(values: Sequence[float]) -> str:
    return ",".join(f"{v:g}" for v in values)


# -- proposals ---------------------------------------------------------------------------------------
def grid(
    image_size: tuple[int, int], scales: Sequence[float] = (0.75, 0.5), overlap: float = 0.5
) -> list[Box]:
    """Square windows of `scale` × the photo's shorter side, sliding with `overlap`, at each scale.

    Windows are clipped to the photo; duplicates (a window as large as the photo) are dropped.
    """
    if not 0 <= overlap < 1:
        raise RegionError(f"overlap must be in [0, 1), not {overlap}")
    W, H = image_size
    boxes: dict[Box, None] = {}
    for s in scales:
        if not 0 < s <= 1:
            raise RegionError(f"a window scale is a fraction of the photo in (0, 1], not {s}")
        side = max(1, round(min(W, H) * s))
        bw, bh = min(side, W), min(side, H)
        for y in _starts(H, bh, overlap):
            for x in _starts(W, bw, overlap):
                boxes[Box(x, y, bw, bh)] = None
    return list(boxes)


MIN_REGION_SIDE = 64  # px: a photo whose shorter side is smaller has no product regions worth a search
MAX_ASPECT = 4.0  # a strip longer than this (e.g. 2 × 50,000 px) is searched whole: its grid would be huge


def has_regions(image_size: tuple[int, int]) -> bool:
    """Whether a photo is large and square enough to look inside: the window grid follows the shorter
    side, so a thin strip would otherwise get tens of thousands of windows (one search each)."""
    short, long = sorted(image_size)
    return short >= MIN_REGION_SIDE and long <= MAX_ASPECT * short


def _starts(total: int, size: int, overlap: float) -> list[int]:
    """Evenly spread window starts that cover [0, total) with at least `overlap` between neighbours."""
    if size >= total:
        return [0]
    step = size * (1 - overlap)
    n = math.ceil((total - size) / step) + 1
    return [round(i * (total - size) / (n - 1)) for i in range(n)]


# -- vectors -----------------------------------------------------------------------------------------
@runtime_checkable
class FeatureMapEncoder(Protocol):
    """An encoder that can also hand out its feature map before pooling (EfficientNet-Lite0 can)."""

    def feature_maps(
        self, images: Sequence[Image.Image], side: int, pad: bool = True
    ) -> list[np.ndarray]: ...


def cell_span(start: int, length: int, total: int, cells: int) -> tuple[int, int]:
    """Feature-map cells [a, b) covered by pixels [start, start + length) of `total`: at least one cell."""
    a = math.floor(start / total * cells + 1e-6)
    b = math.ceil((start + length) / total * cells - 1e-6)
    a = min(max(a, 0), cells - 1)
    return a, max(b, a + 1)


def pool(fmap: np.ndarray, boxes: Sequence[Box], image_size: tuple[int, int]) -> np.ndarray:
    """Mean of the feature-map cells under each box, L2-normalised: [len(boxes), channels].

    `fmap` is [channels, rows, cols] of the whole (unpadded) image; boxes are in its pixels.
    """
    W, H = image_size
    _, rows, cols = fmap.shape
    out = np.empty((len(boxes), fmap.shape[0]), dtype=np.float32)
    # integral image: each box's sum in four lookups
    integral = np.zeros((fmap.shape[0], rows + 1, cols + 1), dtype=np.float64)
    integral[:, 1:, 1:] = fmap.cumsum(1).cumsum(2)
    for i, b in enumerate(boxes):
        c0, c1 = cell_span(b.x, b.w, W, cols)
        r0, r1 = cell_span(b.y, b.h, H, rows)
        s = integral[:, r1, c1] - integral[:, r0, c1] - integral[:, r1, c0] + integral[:, r0, c0]
        out[i] = s / ((r1 - r0) * (c1 - c0))
    return l2_normalise(out)


def pooled_vectors(
    encoder: FeatureMapEncoder, image: Image.Image, boxes: Sequence[Box], side: int
) -> np.ndarray:
    """One forward pass of `image` at `side` px (longer side), then one pooled vector per box."""
    fmap = encoder.feature_maps([image], side, pad=False)[0]
    return pool(fmap, boxes, image.size)


def crop_vectors(encoder: Encoder, image: Image.Image, boxes: Sequence[Box]) -> np.ndarray:
    """Each box cut out and encoded like any query photo, all in one batch."""
    if not boxes:
        return np.zeros((0, encoder.dim), dtype=np.float32)
    return encoder.embed_images([image.crop(b.corners()) for b in boxes])


# -- fusion and grouping (pure) ---------------------------------------------------------------------
@dataclass(frozen=True)
class RegionResult:
    """What one region's vector found: (product id, score) best first. box None = the whole photo."""

    box: Box | None
    hits: Sequence[tuple[str, float]]


@dataclass(frozen=True)
class ProductMatch:
    product_id: str
    score: float
    box: Box | None  # where in the query it matched best; None = the whole photo


def fuse(results: Sequence[RegionResult], margin: float = 0.0, top_k: int = 10) -> list[ProductMatch]:
    """Best score per product over the whole photo and its regions; regions pay `margin`.

    The margin keeps a region from stealing the answer of a photo that shows just the product: a
    region then has to beat the whole photo's score by more than `margin`.
    """
    best: dict[str, ProductMatch] = {}
    for r in results:
        penalty = 0.0 if r.box is None else margin
        for pid, score in r.hits:
            s = score - penalty
            if pid not in best or s > best[pid].score:
                best[pid] = ProductMatch(pid, s, r.box)
    return sorted(best.values(), key=lambda m: m.score, reverse=True)[:top_k]


def best_regions(results: Sequence[RegionResult], k: int) -> list[RegionResult]:
    """The k regions whose best hit scores highest (the whole photo is never among them)."""
    regions = [r for r in results if r.box is not None and r.hits]
    return sorted(regions, key=lambda r: r.hits[0][1], reverse=True)[:k]


@dataclass(frozen=True)
class Group:
    """One product found in the photo: its region and that region's ranking."""

    box: Box
    hits: Sequence[tuple[str, float]]


def group(
    results: Sequence[RegionResult], max_products: int = 3, iou: float = 0.3, min_score: float = 0.0
) -> list[Group]:
    """Up to `max_products` regions, best first, whose boxes overlap less than `iou` and whose best
    products differ: one per product seen in the photo (greedy non-maximum suppression)."""
    kept: list[Group] = []
    for r in sorted(
        (r for r in results if r.box is not None and r.hits), key=lambda r: r.hits[0][1], reverse=True
    ):
        assert r.box is not None
        top_pid, top_score = r.hits[0]
        if top_score < min_score:
            break
        if any(g.box.iou(r.box) >= iou or g.hits[0][0] == top_pid for g in kept):
            continue
        kept.append(Group(r.box, r.hits))
        if len(kept) == max_products:
            break
    return kept


# -- the whole pipeline ------------------------------------------------------------------------------
Search = Callable[[np.ndarray, int], Sequence[tuple[str, float]]]


@dataclass(frozen=True)
class RegionSettings:
    """Tuned on the tuning half of the scene recipes (benchmarks/regions.py)."""

    side: int = 448  # px of the one pass whose feature map scores the grid windows
    scales: tuple[float, ...] = (0.9, 0.7, 0.5)  # grid windows, fraction of the shorter side
    overlap: float = 0.5
    crops: int = 3  # distinct windows re-encoded as crops
    nms_iou: float = 0.5  # windows overlapping a chosen one this much are not chosen again
    margin: float = 0.0  # a region must beat the whole photo by this much to win


@dataclass(frozen=True)
class Located:
    matches: list[ProductMatch]  # products best first, each with where it matched
    groups: list[Group]  # one region per distinct product seen (for "products in this photo")


def locate(
    image: Image.Image,
    encoder: Encoder,
    search: Search,
    top_k: int = 10,
    settings: RegionSettings | None = None,
) -> Located:
    """Products in `image`, wherever they are in it.

    `search(vector, k)` returns (product id, score) best first, one per product (SearchService's
    search_vector). Grid windows are scored from one feature map (`pooled_vectors`); the best few
    distinct windows are cut out and encoded in one batch with the whole photo; each is searched and
    the results fused. Without a feature map (another encoder) every window is encoded as a crop.
    """
    s = settings or RegionSettings()
    boxes = grid(image.size, s.scales, s.overlap) if has_regions(image.size) else []
    if boxes and isinstance(encoder, FeatureMapEncoder):
        pooled = pooled_vectors(encoder, image, boxes, s.side)
        proposals = [RegionResult(b, search(v, 1)) for v, b in zip(pooled, boxes, strict=True)]
        boxes = [g.box for g in group(proposals, max_products=s.crops, iou=s.nms_iou)]
    vectors = encoder.embed_images([image] + [image.crop(b.corners()) for b in boxes])
    results = [RegionResult(b, search(v, top_k)) for v, b in zip(vectors, [None, *boxes], strict=True)]
    return Located(fuse(results, s.margin, top_k), group(results, max_products=3, iou=0.3))
