"""Find a product inside a larger photo: region boxes, region vectors, and the rules that fuse their results.

A shopper's photo often shows the product in a corner of a cluttered scene; one vector for the whole
photo then describes mostly the clutter. Here each candidate region gets its own vector, every vector
is searched, and a product's score is its best over the whole photo and the regions (`fuse`), so the
answer also says *where* the product was (a `Box` in query pixels). For "which products are in this
photo", `group` keeps the best few regions whose boxes and products differ (non-maximum suppression).

Candidate windows (squares, tall and wide ones, at three sizes) are scored cheaply from one forward
pass at a higher resolution (`pool`: the encoder's feature map, mean-pooled over the cells of
each box) with one batched store query; a few windows are then chosen (`proposals.choose`: by score,
each paying for the part of it the chosen ones already cover, so every product in the photo gets one),
each is moved onto its product (`proposals.merge`: the mean of the windows that found the same
product), and they are re-encoded as crops.
A crop still holds clutter in its corners (a product is rarely a rectangle), so its feature map is
pooled with more weight at the centre (`centre_pool`), and its hits are re-ranked by colour: the
histogram of the crop's middle against each candidate's stored colour histogram. Clutter and photo
blur leave a plain hoodie's shape alike in every colour; the colour tells them apart.
Everything here except the vector functions is pure and has no model or store in it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image

from lookalike import proposals
from lookalike.encoders.base import Encoder, l2_normalise
from lookalike.errors import LookalikeError
from lookalike.words import colours


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
    image_size: tuple[int, int],
    scales: Sequence[float] = (0.75, 0.5),
    overlap: float = 0.5,
    aspects: Sequence[float] = (1.0,),
) -> list[Box]:
    """Windows of `scale` × the photo's shorter side, sliding with `overlap`, at each scale and shape.

    An aspect is width / height at the same area as the square (0.6: a bottle, 1.6: a shoe). Windows
    are clipped to the photo; duplicates (a window as large as the photo) are dropped.
    """
    if not 0 <= overlap < 1:
        raise RegionError(f"overlap must be in [0, 1), not {overlap}")
    W, H = image_size
    boxes: dict[Box, None] = {}
    for a in aspects:
        if not 0.1 <= a <= 10:
            raise RegionError(f"a window aspect is width / height in [0.1, 10], not {a}")
        for s in scales:
            if not 0 < s <= 1:
                raise RegionError(f"a window scale is a fraction of the photo in (0, 1], not {s}")
            side = min(W, H) * s
            bw = min(max(1, round(side * math.sqrt(a))), W)
            bh = min(max(1, round(side / math.sqrt(a))), H)
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
    if not boxes:
        return np.zeros((0, fmap.shape[0]), dtype=np.float32)
    # integral image: each box's sum in four lookups, all boxes at once
    integral = np.zeros((rows + 1, cols + 1, fmap.shape[0]), dtype=np.float64)
    integral[1:, 1:] = fmap.transpose(1, 2, 0).cumsum(0).cumsum(1)
    c0, c1 = np.array([cell_span(b.x, b.w, W, cols) for b in boxes]).T
    r0, r1 = np.array([cell_span(b.y, b.h, H, rows) for b in boxes]).T
    sums = integral[r1, c1] - integral[r0, c1] - integral[r1, c0] + integral[r0, c0]
    return l2_normalise((sums / ((r1 - r0) * (c1 - c0))[:, None]).astype(np.float32))


def centre_pool(fmap: np.ndarray, sigma: float) -> np.ndarray:
    """One L2-normalised vector from a [channels, rows, cols] map, cells weighted by a Gaussian around
    the middle (`sigma` in fractions of the map's side): the product, not the clutter in the corners."""
    _, rows, cols = fmap.shape
    y = (np.arange(rows) + 0.5) / rows - 0.5
    x = (np.arange(cols) + 0.5) / cols - 0.5
    weights = np.exp(-(y[:, None] ** 2 + x[None, :] ** 2) / (2 * sigma**2))
    vector = (fmap * (weights / weights.sum())).sum(axis=(1, 2))
    return l2_normalise(vector[None, :])[0]


def photo_vectors(
    encoder: Encoder,
    image: Image.Image,
    boxes: Sequence[Box],
    sigma: float,
    whole: bool = True,
    side: int = 224,
    pad: bool = True,
) -> np.ndarray:
    """The whole photo's vector first (as `embed_images` gives it; left out when not `whole`), then
    each box's crop, in one batch (pad=False: each crop at its own shape, longer side `side`).

    With a feature map, crops are pooled towards their centre (`centre_pool`); other encoders
    embed every crop as a photo."""
    parts = ([image] if whole else []) + [image.crop(b.corners()) for b in boxes]
    if not parts:
        return np.zeros((0, encoder.dim), dtype=np.float32)
    if not isinstance(encoder, FeatureMapEncoder) or sigma <= 0:
        return encoder.embed_images(parts)
    if pad:
        maps = encoder.feature_maps(parts, side, pad=True)
    else:  # crops at their own shape (one pass each); the whole photo padded as the index's photos
        maps = encoder.feature_maps(parts[:1], side, pad=True) if whole else []
        maps += encoder.feature_maps(parts[1:] if whole else parts, side, pad=False)
    vectors = [centre_pool(m, sigma) for m in (maps[1:] if whole else maps)]
    if whole:
        vectors.insert(0, l2_normalise(maps[0].mean(axis=(1, 2))[None, :])[0])
    return np.stack(vectors)


def middle(image: Image.Image, margin: float) -> Image.Image:
    """The photo without `margin` of each side: where a region's product is, not its clutter."""
    W, H = image.size
    box = (round(W * margin), round(H * margin), round(W * (1 - margin)), round(H * (1 - margin)))
    return image.crop(box) if box[2] > box[0] and box[3] > box[1] else image


def recoloured(
    hits: Sequence[tuple[str, float]], similarity: dict[str, float], weight: float
) -> list[tuple[str, float]]:
    """Hits re-scored as (1 - weight) × look + weight × colour similarity, best first; a product
    without a stored colour keeps its score."""
    out = [(pid, (1 - weight) * s + weight * similarity[pid] if pid in similarity else s) for pid, s in hits]
    return sorted(out, key=lambda h: h[1], reverse=True)


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
Hits = Sequence[tuple[str, float]]


@runtime_checkable
class RegionIndex(Protocol):
    """What `locate` asks of a product index (SearchService.region_index gives one)."""

    def search(self, vector: np.ndarray, k: int) -> Hits:
        """(product id, score) best first, one per product."""
        ...

    def search_many(self, vectors: np.ndarray, k: int) -> list[Hits]:
        """`search` for each of many vectors (the whole photo and its crops), in one store query."""
        ...

    def best(self, vectors: np.ndarray) -> list[Hits]:
        """The best product for each of many vectors (proposal windows), in one store query."""
        ...

    def colours_many(
        self, histograms: Sequence[np.ndarray], product_ids: Sequence[Sequence[str]]
    ) -> list[dict[str, float]]:
        """For each histogram (lookalike.words.colours), its cosine with each of its candidate
        products' stored colour histograms, in one store query; empty when the index keeps none."""
        ...


@dataclass(frozen=True)
class RegionSettings:
    """Tuned on the tuning half of the scene recipes (benchmarks/regions.py --half tune)."""

    side: int = 448  # px of the one pass whose feature map scores the grid windows
    scales: tuple[float, ...] = (0.9, 0.7, 0.5)  # grid windows, fraction of the shorter side
    aspects: tuple[float, ...] = (1.0, 0.6, 1.6)  # window width / height: square, tall, wide
    overlap: float = 0.5
    crops: int = 4  # distinct windows re-encoded as crops
    nms_iou: float = 0.5  # windows overlapping a chosen one this much are not chosen again
    coverage: float = 0.2  # a window pays this × (its part already covered by chosen ones) ** gamma
    coverage_gamma: float = 0.5  # (proposals.choose; 0 coverage = plain NMS by score)
    merge_within: float = 0.05  # a chosen window moves to the mean of the windows that found its
    merge_iou: float = 0.0  # product within this score (0 = off) and overlap it more than this
    margin: float = 0.0  # a region must beat the whole photo by this much to win
    centre_sigma: float = 0.25  # crop pooling: Gaussian weight around the middle (0 = plain mean)
    colour_weight: float = 0.1  # share of a region's score that is colour similarity (0 = off)
    colour_margin: float = 0.2  # the region's colours are counted without this much of each side
    crop_side: int = 224  # px a crop is encoded at (the index's photos: 224)
    whole_from_proposals: bool = False  # the whole photo's vector = the proposal pass's map, mean-pooled
    crop_pad: bool = True  # crops padded to a white square (as indexed photos are); False: their own shape


@dataclass(frozen=True)
class Located:
    matches: list[ProductMatch]  # products best first, each with where it matched
    groups: list[Group]  # one region per distinct product seen (for "products in this photo")
    vectors: dict[Box | None, np.ndarray] = field(default_factory=dict)  # each region searched; None: whole


def search_crop(
    image: Image.Image, box: Box, vector: np.ndarray, index: RegionIndex, k: int, s: RegionSettings
) -> Hits:
    """One region's ranking: its vector's hits, re-ranked by the colours of its middle."""
    return by_colour(image, [box], [index.search(vector, k)], index, s)[0]


def by_colour(
    image: Image.Image, boxes: Sequence[Box], hits: Sequence[Hits], index: RegionIndex, s: RegionSettings
) -> list[Hits]:
    """Each region's hits re-ranked by the colours of its middle (one store query for all)."""
    if s.colour_weight <= 0:
        return list(hits)
    asked = [i for i, h in enumerate(hits) if h]
    crops = [middle(image.crop(boxes[i].corners()), s.colour_margin) for i in asked]
    histograms = [colours.histogram(c, size=32) for c in crops]
    found = index.colours_many(histograms, [[pid for pid, _ in hits[i]] for i in asked])
    out = list(hits)
    for i, similarity in zip(asked, found, strict=True):
        out[i] = recoloured(hits[i], similarity, s.colour_weight)
    return out


def region_vector(
    image: Image.Image, box: Box, encoder: Encoder, settings: RegionSettings | None = None
) -> np.ndarray:
    """The vector `locate` gives the crop `box` (pooled towards its middle)."""
    s = settings or RegionSettings()
    return photo_vectors(encoder, image, [box], s.centre_sigma, False, s.crop_side, s.crop_pad)[0]


def search_box(
    image: Image.Image,
    box: Box,
    encoder: Encoder,
    index: RegionIndex,
    k: int,
    settings: RegionSettings | None = None,
) -> Hits:
    """The shopper's own box, searched as `locate` searches its crops."""
    s = settings or RegionSettings()
    return search_crop(image, box, region_vector(image, box, encoder, s), index, k, s)


def locate(
    image: Image.Image,
    encoder: Encoder,
    index: RegionIndex,
    top_k: int = 10,
    settings: RegionSettings | None = None,
) -> Located:
    """Products in `image`, wherever they are in it.

    Grid windows are scored from one feature map (`pool`) in one batched store query; a
    few windows spread over the photo are chosen (`proposals.choose`) and moved onto their products
    (`proposals.merge`), cut out and encoded in one batch with the whole photo; each is
    searched (crops re-ranked by colour: `by_colour`) and the results fused. Without a feature map
    (another encoder) the square windows are all encoded as crops.
    """
    s = settings or RegionSettings()
    boxes = []
    whole = None  # the whole photo's vector, when the proposal pass gives it
    if has_regions(image.size):
        if isinstance(encoder, FeatureMapEncoder):
            boxes = grid(image.size, s.scales, s.overlap, s.aspects)
            fmap = encoder.feature_maps([image], s.side, pad=False)[0]
            if s.whole_from_proposals:
                whole = l2_normalise(fmap.mean(axis=(1, 2))[None, :])
            best = index.best(pool(fmap, boxes, image.size))
            chosen = proposals.choose(
                boxes, best, image.size, s.crops, s.nms_iou, s.coverage, s.coverage_gamma
            )
            boxes = [proposals.merge(boxes, best, i, s.merge_within, s.merge_iou) for i in chosen]
        else:
            boxes = grid(image.size, s.scales, s.overlap)
    vectors = photo_vectors(encoder, image, boxes, s.centre_sigma, whole is None, s.crop_side, s.crop_pad)
    if whole is not None:
        vectors = np.concatenate([whole, vectors])
    hits = index.search_many(vectors, top_k)  # the whole photo, then each crop
    crops = by_colour(image, boxes, hits[1:], index, s)
    results = [RegionResult(None, hits[0])] + [RegionResult(b, h) for b, h in zip(boxes, crops, strict=True)]
    searched = dict(zip([None, *boxes], vectors, strict=True))
    return Located(fuse(results, s.margin, top_k), group(results, max_products=3, iou=0.3), searched)
