"""Build the demo catalog from the product photos in the `saleor==2.10.1` wheel (artwork CC-BY 4.0).

The wheel is fetched from PyPI with pip (the only network this needs) or read from a path given by
the user; images are taken straight out of the zip, categories and names from its
`populatedb_data.json`.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lookalike.errors import LookalikeError

log = logging.getLogger(__name__)

WHEEL_NAME = "saleor-2.10.1-py3-none-any.whl"
_PLACEHOLDERS = "saleor/static/placeholders/"
_DATA = "saleor/static/populatedb_data.json"
# populatedb names images 'products/<placeholder stem>_<7-char random suffix>.<ext>'
_IMAGE_RE = re.compile(r"^products/(?P<stem>.+)_[A-Za-z0-9]{7}(?P<ext>\.\w+)$")
CREDIT = (
    "Product photos from the Saleor demo store (saleor==2.10.1, saleor/static/placeholders), "
    "artwork by Saleor Commerce, licensed CC-BY 4.0 (https://creativecommons.org/licenses/by/4.0/)."
)


# Made-up shop columns so filters and product families show in the demo: prices in EUR, a few products
# out of stock or on pre-order, invented brands, and colour variants of one model sharing an item_group_id
# (hoodies, plimsolls, parrot cushions, the space paints). Not from Saleor: invented for this demo.
SHOP_COLUMNS = ("price", "currency", "availability", "brand", "colour", "item_group_id")
_FAMILIES = {
    "black-hoodie": ("hoodie", "black"),
    "blue-hoodie": ("hoodie", "blue"),
    "mustard-hoodie": ("hoodie", "mustard"),
    "white-hoodie": ("hoodie", "white"),
    "yellow-plimsolls": ("plimsolls", "yellow"),
    "white-plimsolls": ("plimsolls", "white"),
    "colored-parrot-cushion": ("parrot-cushion", "multicolour"),
    "white-parrot-cushion": ("parrot-cushion", "white"),
    "nebula-night-sky-paint": ("space-paint", "night sky"),
    "space-dust-navy-paint": ("space-paint", "navy"),
    "red-dwarf-red-paint": ("space-paint", "red"),
    "light-speed-yellow-paint": ("space-paint", "yellow"),
    "hyperspace-turquoise-paint": ("space-paint", "turquoise"),
}
_BRANDS = {
    "Hoodies": "Orbit Wear",
    "T-shirts": "Orbit Wear",
    "Polo Shirts": "Orbit Wear",
    "Footwear": "Plim & Co",
    "Homewares": "Parrot Home",
    "Paints": "Nebula Paints",
    "Juices": "Squeeze",
    "Alcohol": "Seaman Brewery",
}
_PRICES = {
    "Hoodies": 45.0,
    "T-shirts": 19.0,
    "Polo Shirts": 29.0,
    "Footwear": 35.0,
    "Homewares": 24.0,
    "Paints": 12.5,
    "Juices": 3.2,
    "Alcohol": 6.9,
}
_NOT_IN_STOCK = {
    "blue-hoodie": "out_of_stock",
    "white-plimsolls": "out_of_stock",
    "carrot-juice": "out_of_stock",
    "nebula-night-sky-paint": "preorder",
}


def shop_columns(product_id: str, category: str, index: int) -> dict[str, str]:
    """The made-up shop columns of one demo product (the same on every run)."""
    group, colour = _FAMILIES.get(product_id, ("", ""))
    price = _PRICES.get(category, 10.0) + (index % 4) * 2  # a little spread within a category
    return {
        "price": f"{price:.2f}",
        "currency": "EUR",
        "availability": _NOT_IN_STOCK.get(product_id, "in_stock"),
        "brand": _BRANDS.get(category, "Lookalike Demo"),
        "colour": colour,
        "item_group_id": group,
    }


@dataclass(frozen=True)
class DemoImage:
    product_id: str
    title: str
    description: str
    category: str
    member: str  # path inside the wheel
    view: int


def default_cache() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("lookalike", appauthor=False))


def fetch_wheel(cache: Path | None = None) -> Path:
    """The saleor wheel from the cache, else downloaded with pip from the package registry."""
    cache = cache or default_cache()
    wheel = cache / WHEEL_NAME
    if wheel.is_file():
        return wheel
    cache.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--python-version",
        "3.8",
        "--disable-pip-version-check",
        "-q",
        "saleor==2.10.1",
        "-d",
        str(cache),
    ]
    log.info("downloading %s with pip", WHEEL_NAME)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not wheel.is_file():
        raise LookalikeError(
            f"could not download the demo photos (saleor==2.10.1 from PyPI): {proc.stderr.strip()[-400:]}\n"
            f"Download {WHEEL_NAME} by hand and pass it with --wheel."
        )
    return wheel


def plan(wheel: Path) -> list[DemoImage]:
    """Which wheel image becomes which product view; an image shared by two products goes to the first."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            data = json.loads(zf.read(_DATA))
            members = set(zf.namelist())
    except (OSError, KeyError, zipfile.BadZipFile, ValueError) as exc:
        raise LookalikeError(f"{wheel} is not the saleor 2.10.1 wheel ({exc})") from None
    categories = {r["pk"]: r["fields"]["name"] for r in data if r["model"] == "product.category"}
    products = {r["pk"]: r["fields"] for r in data if r["model"] == "product.product"}
    images = sorted(
        (r["fields"] for r in data if r["model"] == "product.productimage"),
        key=lambda f: (f["product"], f["sort_order"]),
    )
    taken: set[str] = set()
    views: dict[str, int] = {}
    out: list[DemoImage] = []
    for img in images:
        m = _IMAGE_RE.match(img["image"])
        member = f"{_PLACEHOLDERS}{m['stem']}{m['ext']}" if m else ""
        if member not in members or member in taken:
            continue
        taken.add(member)
        product = products[img["product"]]
        slug = product["slug"]
        views[slug] = views.get(slug, 0) + 1
        out.append(
            DemoImage(
                product_id=slug,
                title=product["name"],
                description=product.get("description") or "",
                category=categories[product["category"]],
                member=member,
                view=views[slug],
            )
        )
    return out


def build(target: Path, wheel: Path | None = None) -> list[Path]:
    """Write the demo catalog under `target`: <Category>/<product>-<view>.png plus products.csv (with the
    made-up shop columns of `shop_columns`)."""
    wheel = wheel or fetch_wheel()
    entries = plan(wheel)
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    rows = []
    order = {pid: i for i, pid in enumerate(dict.fromkeys(e.product_id for e in entries))}
    with zipfile.ZipFile(wheel) as zf:
        for e in entries:
            folder = e.category.replace(" ", "_")
            ext = Path(e.member).suffix
            rel = f"{folder}/{e.product_id}-{e.view}{ext}"
            path = target / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            data = zf.read(e.member)
            if not path.is_file() or path.read_bytes() != data:
                path.write_bytes(data)
            written.append(path)
            rows.append(
                {
                    "path": rel,
                    "product_id": e.product_id,
                    "title": e.title,
                    "description": e.description,
                    **shop_columns(e.product_id, e.category, order[e.product_id]),
                }
            )
    with (target / "products.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["path", "product_id", "title", "description", *SHOP_COLUMNS])
        writer.writeheader()
        writer.writerows(rows)
    (target / "CREDITS.txt").write_text(CREDIT + "\n", encoding="utf-8")
    return written
