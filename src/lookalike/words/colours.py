"""Colour words ↔ a small colour histogram, so "red" or "navy" can find products by their pixels.

Each image gets a histogram over a fixed palette of colour names, counted on its foreground
(pixels that differ from the white/near-white studio background); a query's colour words become
a vector over the same palette, and cosine similarity does the rest.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from lookalike.images import to_rgb

# name → reference sRGB; several references may share a name (e.g. two reds)
_PALETTE: list[tuple[str, tuple[int, int, int]]] = [
    ("black", (20, 20, 20)),
    ("white", (245, 245, 245)),
    ("grey", (128, 128, 128)),
    ("grey", (190, 190, 190)),
    ("red", (200, 30, 40)),
    ("red", (150, 20, 30)),
    ("orange", (240, 130, 30)),
    ("yellow", (240, 210, 40)),
    ("green", (40, 150, 60)),
    ("green", (120, 180, 80)),
    ("turquoise", (40, 190, 190)),
    ("blue", (40, 90, 200)),
    ("blue", (110, 160, 230)),
    ("navy", (25, 35, 90)),
    ("purple", (120, 50, 160)),
    ("pink", (240, 140, 180)),
    ("brown", (120, 75, 40)),
    ("beige", (220, 200, 160)),
]
COLOURS: tuple[str, ...] = tuple(dict.fromkeys(name for name, _ in _PALETTE))
_INDEX = {name: i for i, name in enumerate(COLOURS)}
_REF = np.array([rgb for _, rgb in _PALETTE], dtype=np.float32)
_REF_TO_COLOUR = np.array([_INDEX[name] for name, _ in _PALETTE])
SYNONYMS = {
    "gray": "grey",
    "silver": "grey",
    "charcoal": "grey",
    "scarlet": "red",
    "crimson": "red",
    "burgundy": "red",
    "maroon": "red",
    "gold": "yellow",
    "golden": "yellow",
    "mustard": "yellow",
    "lime": "green",
    "olive": "green",
    "teal": "turquoise",
    "cyan": "turquoise",
    "aqua": "turquoise",
    "violet": "purple",
    "lilac": "purple",
    "magenta": "pink",
    "rose": "pink",
    "tan": "beige",
    "cream": "beige",
    "ivory": "white",
    "khaki": "beige",
    "chocolate": "brown",
    "dark blue": "navy",
}


def histogram(img: Image.Image, size: int = 64) -> np.ndarray:
    """Fraction of foreground pixels nearest each palette colour (L2-normalised for cosine)."""
    # reducing_gap: a large photo is box-reduced first (fast); from 224 px (indexing) nothing changes
    small = to_rgb(img).resize((size, size), Image.BILINEAR, reducing_gap=3.0)
    small = np.asarray(small, dtype=np.float32).reshape(-1, 3)
    foreground = small[(small < 235).any(axis=1)]
    pixels = foreground if len(foreground) >= 0.02 * len(small) else small  # a white product is white
    nearest = ((pixels[:, None, :] - _REF[None, :, :]) ** 2).sum(-1).argmin(1)
    hist = np.bincount(_REF_TO_COLOUR[nearest], minlength=len(COLOURS)).astype(np.float32)
    return hist / max(float(np.linalg.norm(hist)), 1e-12)


def parse(text: str) -> tuple[list[str], str]:
    """Split a query into colour words (canonical names) and the rest: 'navy hoodie' → ['navy'], 'hoodie'."""
    words = text.lower().replace("-", " ").split()
    colours: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(words):
        pair = " ".join(words[i : i + 2])
        if pair in SYNONYMS:
            colours.append(SYNONYMS[pair])
            i += 2
            continue
        word = words[i].strip(".,;:!?")
        name = SYNONYMS.get(word, word)
        (colours if name in _INDEX else rest).append(name if name in _INDEX else words[i])
        i += 1
    return list(dict.fromkeys(colours)), " ".join(rest)


def query_vector(colours: list[str]) -> np.ndarray:
    """The histogram a product of exactly these colours (in equal parts) would have."""
    vec = np.zeros(len(COLOURS), dtype=np.float32)
    for c in colours:
        vec[_INDEX[c]] = 1.0
    return vec / max(float(np.linalg.norm(vec)), 1e-12)
