"""Which proposal windows of a photo to re-encode as crops, and where exactly to cut them.

`regions.locate` scores every grid window cheaply (pooled from one feature map, one batched store
query) and can afford to re-encode only a few as crops. Taking the best-scoring windows in turn (with
non-maximum suppression and one window per best product) piles the crops around the strongest match:
in a photo of two or three products the first product's look-alikes win every ranking and the other
products' windows are never cut out. `choose` therefore charges each window for the part of it the
windows already chosen cover (`coverage` × covered fraction ** `gamma`), so after the best window the
next ones go where the photo has not been looked at yet, unless they score clearly better. A single
product scores far above the clutter, so its window still comes first.

A grid window is fixed in size and place, and the one that scores best often holds only a corner or a
side of its product, the rest of which its neighbours hold. `merge` moves each chosen window to the
score-weighted mean of the windows that found the same product (weighted box fusion).

At the same 4 crops (docs/regions-results.md), multi-product scenes with every product found went from
0.713 to 0.925 on the tuning half of the scene recipes and from 0.650 to 0.840 on the test half;
single-product recall@1 from 0.967 to 0.989 (tuning) and 0.932 to 0.955 (test).
Pure functions over boxes and scores: no model, no store.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # regions imports this module
    from lookalike.regions import Box

COVER_CELLS = 40  # cells along the photo's longer side in which coverage is counted


def coverage_masks(boxes: Sequence[Box], image_size: tuple[int, int], cells: int = COVER_CELLS) -> np.ndarray:
    """[len(boxes), rows, cols] booleans: the coarse cells of the photo each box touches."""
    W, H = image_size
    cell = max(W, H) / cells
    cols, rows = max(1, math.ceil(W / cell)), max(1, math.ceil(H / cell))
    masks = np.zeros((len(boxes), rows, cols), dtype=bool)
    for i, b in enumerate(boxes):
        c0, c1 = _span(b.x, b.w, cell, cols)
        r0, r1 = _span(b.y, b.h, cell, rows)
        masks[i, r0:r1, c0:c1] = True
    return masks


def _span(start: int, length: int, cell: float, n: int) -> tuple[int, int]:
    a = min(int(start // cell), n - 1)
    b = min(max(math.ceil((start + length) / cell - 1e-6), a + 1), n)
    return a, b


def choose(
    boxes: Sequence[Box],
    best: Sequence[Sequence[tuple[str, float]]],
    image_size: tuple[int, int],
    n: int,
    nms_iou: float = 0.5,
    coverage: float = 0.2,
    gamma: float = 0.5,
) -> list[int]:
    """Indices of up to `n` windows to re-encode, in the order chosen.

    `best[i]` is window i's best (product id, score) first (windows without hits are skipped). Greedy:
    each step takes the window with the highest score − `coverage` × (fraction of it already covered by
    the chosen windows) ** `gamma`, among windows whose best product differs from every chosen one's and
    that overlap each chosen window less than `nms_iou`. With `coverage` 0 this is plain non-maximum
    suppression by score (what `regions.group` does).
    """
    live = [i for i, h in enumerate(best) if h]
    if not live or n <= 0:
        return []
    scores = np.array([best[i][0][1] for i in live], dtype=np.float64)
    tops = [best[i][0][0] for i in live]
    masks = coverage_masks([boxes[i] for i in live], image_size)
    area = masks.sum(axis=(1, 2)).astype(np.float64)
    covered = np.zeros(masks.shape[1:], dtype=bool)
    taken: list[int] = []  # positions in `live`
    while len(taken) < n:
        gain = scores
        if coverage > 0 and taken:
            frac = (masks & covered).sum(axis=(1, 2)) / area
            gain = scores - coverage * frac**gamma
        pick = None
        for j in np.argsort(-gain, kind="stable"):
            j = int(j)
            if j in taken or any(tops[j] == tops[t] for t in taken):
                continue
            if any(boxes[live[j]].iou(boxes[live[t]]) >= nms_iou for t in taken):
                continue
            pick = j
            break
        if pick is None:
            break
        taken.append(pick)
        covered |= masks[pick]
    return [live[j] for j in taken]


def merge(
    boxes: Sequence[Box],
    best: Sequence[Sequence[tuple[str, float]]],
    i: int,
    within: float = 0.05,
    link_iou: float = 0.0,
) -> Box:
    """Window i moved to the score-weighted mean of the windows that agree with it: same best product,
    a score within `within` of its own, overlapping it more than `link_iou` (window i among them).

    The best-scoring window often holds only part of its product (a corner, a side), and its
    neighbours that found the same product hold other parts; their mean sits on the product (weighted
    box fusion). `within` 0 leaves the window as it is.
    """
    window = boxes[i]
    if within <= 0 or not best[i]:
        return window
    pid, score = best[i][0]
    members = [
        j
        for j, h in enumerate(best)
        if h and h[0][0] == pid and h[0][1] >= score - within and (j == i or boxes[j].iou(window) > link_iou)
    ]
    weights = np.array([best[j][0][1] for j in members], dtype=np.float64)
    if weights.min() <= 0:  # cosine scores can be negative: weigh them equally then
        weights = np.ones_like(weights)
    weights /= weights.sum()
    edges = np.array(
        [[boxes[j].x, boxes[j].y, boxes[j].x + boxes[j].w, boxes[j].y + boxes[j].h] for j in members]
    )
    left, top, right, bottom = (round(float(v)) for v in weights @ edges)  # inside the photo, as they are
    return replace(window, x=left, y=top, w=max(1, right - left), h=max(1, bottom - top))
