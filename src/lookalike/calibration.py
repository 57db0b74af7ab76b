"""Is the best hit a match? Thresholds learnt from the catalog itself, at index time.

Every search returns its top k whatever the scores; a shop also wants to say "we don't seem to carry
this". Cosine scores mean different things per encoder and per catalog, so two thresholds are learnt
from the collection when it is indexed (and again whenever a re-index changes it):

* positives: augmented photos of catalog products (crop, colour, rotation, new background…, the
  recipes of lookalike.eval.augment), searched against the index: the score a shopper's photo of a
  product we sell gets;
* "similar": for the same photos, the best score of any *other* product: what the photo would get if
  that product were not in the catalog (a colour variant, the same kind of thing);
* negatives: photos of things the shop does not sell (lookalike.outside_photos: photos that installed
  packages ship, never the catalog).

`similar` separates positives from negatives ("none" below it), `exact` separates positives whose
best hit is the right product from the "similar" scores. Both sit where the two score sets are best
told apart (balanced accuracy, then the middle of the widest gap). Only the "tune" half of the query
seeds and of the outside photos is used here; `lookalike eval` tests the decision on the other half.

The scores are whole-photo scores: one batched encoder call of a few dozen photos (the outside
photos' vectors are cached per encoder), so calibrating costs seconds, not a localised search per
photo. A collection never calibrated answers `match: null` until the next `lookalike index`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from PIL import Image

from lookalike.errors import LookalikeError
from lookalike.records import Hit, Product

if TYPE_CHECKING:
    from lookalike.encoders import Encoder
    from lookalike.search import SearchService

log = logging.getLogger(__name__)

Match = Literal["exact", "similar", "none"]
NOTE_KEY = "calibration"  # the store note the thresholds are kept under
RECIPES = ("combined", "crop", "colour", "rotate", "background")
MAX_POSITIVES = 16  # augmented catalog photos per calibration (one encoder batch)
MIN_PRODUCTS = 4  # fewer products than this: too little to learn from, no calibration
WORK_SIDE = 512  # catalog photos are shrunk to this before augmenting (the encoder sees 224 px)
OUTSIDE_PER_PHOTO = 2  # each outside photo whole and one crop
SAMPLE_POINTS = 512  # catalog points read to pick the positives from (one scroll page)
NOT_CALIBRATED = (
    "no match calibration for this collection (it is calibrated by `lookalike index` once it holds at "
    f"least {MIN_PRODUCTS} products)"
)


@dataclass(frozen=True)
class Calibration:
    """The two thresholds (cosine scores) and what they were learnt from."""

    exact: float  # best score ≥ exact: this is the product
    similar: float  # similar ≤ best score < exact: we sell things like it; below: none
    encoder: str
    points: int  # images in the collection when calibrated
    positives: int
    negatives: int
    computed_at: str
    seconds: float = 0.0

    def verdict(self, score: float | None) -> Match:
        if score is None or score < self.similar:
            return "none"
        return "exact" if score >= self.exact else "similar"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibration:
        fields = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in fields})


def separate(low: Sequence[float], high: Sequence[float]) -> float:
    """The threshold t that best tells `high` (score ≥ t) from `low` (score < t).

    Maximises balanced accuracy (mean of the two hit rates, so the larger set does not outvote the
    smaller); among equally good thresholds, the middle of the widest gap between scores.
    """
    if not high and not low:
        raise LookalikeError("nothing to calibrate on")
    if not low:
        return min(high) - 1e-6
    if not high:
        return max(low) + 1e-6
    lo, hi = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    values = np.unique(np.concatenate([lo, hi]))
    candidates = np.concatenate([[values[0] - 1e-3], (values[:-1] + values[1:]) / 2, [values[-1] + 1e-3]])
    best: tuple[float, float, float] | None = None
    for t in candidates:
        accuracy = (np.mean(hi >= t) + np.mean(lo < t)) / 2
        gap = float(np.min(np.abs(values - t)))
        key = (round(float(accuracy), 9), gap, float(t))
        if best is None or key[:2] > best[:2]:
            best = key
    assert best is not None
    return best[2]


# -- reading and storing -----------------------------------------------------------------------------------
def load(service: SearchService) -> Calibration | None:
    """The collection's stored calibration (None: never calibrated, or made with another encoder)."""
    note = service.store.read_note(NOTE_KEY)
    if not note:
        return None
    try:
        cal = Calibration.from_dict(note)
    except (TypeError, ValueError) as exc:
        log.warning("ignoring a damaged match calibration (%s); the next index recomputes it", exc)
        return None
    return cal if cal.encoder == service.store.schema.encoder else None


def refresh(service: SearchService, changed: bool) -> Calibration | None:
    """After an index run: recompute when the collection changed or has no calibration; store it."""
    current = load(service)
    if current is not None and not changed:
        return current
    try:
        cal = calibrate(service)
    except Exception as exc:  # noqa: BLE001 - the index run itself succeeded: never fail it over this
        log.warning("match calibration skipped (%s); the previous one, if any, stays", exc, exc_info=True)
        return current
    if cal is not None:
        service.store.write_note(NOTE_KEY, cal.to_dict())
    return cal


def judge(calibration: Calibration | None, hits: list[Hit]) -> list[Hit]:
    """Each hit with its own verdict (the response's verdict is its first hit's); unchanged without one.

    Only the best-scoring hit can be "exact": the photo shows one product, so a runner-up over the exact
    threshold (the same shoe in another colour) is "similar", not a second exact match."""
    if calibration is None:
        return hits
    top = max((h.score for h in hits), default=0.0)

    def verdict(score: float) -> Match:
        v = calibration.verdict(score)
        return "similar" if v == "exact" and score < top else v

    return [replace(h, match=verdict(h.score)) for h in hits]


def best_match(hits: Sequence[Hit], calibration: Calibration | None) -> Match | None:
    """The verdict of a whole answer: its best hit's, "none" for no hits, None when not calibrated."""
    if calibration is None:
        return None
    return calibration.verdict(hits[0].score if hits else None)


# -- computing ---------------------------------------------------------------------------------------------
_OUTSIDE: dict[tuple[str, int], np.ndarray] = {}  # (encoder and half, dim) → vectors


def outside_vectors(encoder: Encoder, half: str = "tune", per_photo: int = OUTSIDE_PER_PHOTO) -> np.ndarray:
    """Embeddings of the outside photos of one half, computed once per encoder and process."""
    from lookalike import outside_photos  # eval's helpers sit above the service: imported when used

    key = (f"{encoder.name}:{half}:{per_photo}", encoder.dim)  # same name, same weights: same vectors
    if key not in _OUTSIDE:
        images = [img for _, img in outside_photos.queries(half, per_photo)]
        _OUTSIDE[key] = encoder.embed_images(images) if images else np.zeros((0, encoder.dim), np.float32)
    return _OUTSIDE[key]


@dataclass(frozen=True)
class _Positive:
    product: Product
    recipe: str
    seed: int


def _positives(service: SearchService, seed: int, limit: int) -> list[_Positive]:
    """Up to `limit` (catalog image, recipe, seed) from the tune half, spread over the products."""
    points, _ = service.store.scroll(limit=SAMPLE_POINTS)
    products = [Product.from_payload(p.payload) for p in points]
    products = [p for p in products if p.path.is_file()]
    random.Random(seed).shuffle(products)
    by_product: dict[str, Product] = {}
    for p in products:  # one image per product first, then more views
        by_product.setdefault(p.product_id, p)
    order = list(by_product.values()) + [p for p in products if by_product[p.product_id] is not p]
    chosen: list[_Positive] = []
    for j in range(min(limit, len(order) * len(RECIPES))):
        product = order[j % len(order)]
        recipe = RECIPES[(j + j // len(order)) % len(RECIPES)]  # each round shifts the recipes along
        chosen.append(_Positive(product, recipe, query_seed(seed, product.rel_path, recipe, "tune")))
    return chosen


def query_half(qseed: int) -> str:
    """'tune' or 'test': the half of an augmented catalog query, from its seed alone."""
    from lookalike.eval.augment import seed_for

    return "test" if seed_for("half", qseed) % 2 else "tune"


def query_seed(seed: int, rel_path: str, recipe: str, half: str, k: int = 0) -> int:
    """The k-th augmentation seed of this photo and recipe that falls in `half`."""
    from lookalike.eval.augment import seed_for

    n = 0
    while True:
        qseed = seed_for("calibrate", seed, rel_path, recipe, n)
        n += 1
        if query_half(qseed) == half:
            if k == 0:
                return qseed
            k -= 1


def _small(img: Image.Image) -> Image.Image:
    img.thumbnail((WORK_SIDE, WORK_SIDE))
    return img


def calibrate(
    service: SearchService, *, seed: int = 0, max_positives: int = MAX_POSITIVES
) -> Calibration | None:
    """Learn the thresholds for this collection (None: fewer than MIN_PRODUCTS products). Costs one
    encoder call of up to `max_positives` photos, plus the outside photos once per process."""
    from lookalike.eval import augment

    started = time.perf_counter()
    points = service.store.count()
    if not points:
        return None
    chosen, images = [], []
    for c in _positives(service, seed, max_positives):
        try:
            images.append(augment.apply(c.recipe, _small(augment.open_rgba(c.product.path)), c.seed))
            chosen.append(c)
        except (OSError, ValueError, Image.DecompressionBombError) as exc:  # changed on disk since indexed
            log.info("calibration leaves out %s (%s)", c.product.rel_path, exc)
    if len({c.product.product_id for c in chosen}) < MIN_PRODUCTS:
        log.info("match calibration skipped: fewer than %d products with readable images", MIN_PRODUCTS)
        return None
    encoder = service.encoder
    vectors = encoder.embed_images(images)
    right, other, best = [], [], []
    for c, vector in zip(chosen, vectors, strict=True):
        hits = service.search_vector(vector, top_k=2)
        best.append(hits[0].score)
        if hits[0].product.product_id == c.product.product_id:
            right.append(hits[0].score)
        wrong = [h.score for h in hits if h.product.product_id != c.product.product_id]
        if wrong:
            other.append(wrong[0])
    negatives = [
        hits[0].score for v in outside_vectors(encoder) if (hits := service.search_vector(v, top_k=1))
    ]
    similar = separate(negatives, best)
    exact = max(separate(other + negatives, right), similar) if right else 1.0
    cal = Calibration(
        exact=round(exact, 4),
        similar=round(similar, 4),
        encoder=service.store.schema.encoder,
        points=points,
        positives=len(best),
        negatives=len(negatives),
        computed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        seconds=round(time.perf_counter() - started, 2),
    )
    log.info("match calibration: exact ≥ %.3f, similar ≥ %.3f (%s)", cal.exact, cal.similar, cal)
    return cal
