"""`lookalike` command line: a thin front end over SearchService."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from lookalike.config import Settings
from lookalike.errors import LookalikeError
from lookalike.fetch import AddressPolicy, Fetcher, FetchLimits
from lookalike.net import is_loopback
from lookalike.records import Hit, IndexReport, RegionHits
from lookalike.result_shape import ResultShape
from lookalike.search import SearchService

if TYPE_CHECKING:
    from lookalike.feeds import FeedReport

app = typer.Typer(
    help="Reverse product-image search: index a folder of product photos, then search it by photo.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

TopK = Annotated[int, typer.Option("--top-k", "-k", min=1, max=1000, help="How many products to return.")]
CategoryOpt = Annotated[str | None, typer.Option("--category", "-c", help="Only this category.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
InStockOpt = Annotated[bool, typer.Option("--in-stock", help="Only products in stock.")]
MinPriceOpt = Annotated[
    float | None, typer.Option("--min-price", help="Only products costing at least this.")
]
MaxPriceOpt = Annotated[float | None, typer.Option("--max-price", help="Only products costing at most this.")]
BrandOpt = Annotated[str | None, typer.Option("--brand", help="Only this brand (exact name).")]
FamiliesOpt = Annotated[
    bool, typer.Option("--families", help="One result per product family (item_group_id), variants listed.")
]
DiverseOpt = Annotated[bool, typer.Option("--diverse", help="Varied results: near-duplicates do not crowd.")]


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )


def _settings() -> Settings:
    """The settings, or a clear error naming what is wrong with them (never a traceback)."""
    try:
        return Settings()
    except ValidationError as exc:
        why = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        err.print(f"[bold red]error:[/] invalid settings: {why}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None


def _service() -> SearchService:
    return SearchService(_settings())


def _fail(exc: LookalikeError) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


def _print_hits(hits: list[Hit], as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps([{"rank": i, **h.to_dict()} for i, h in enumerate(hits, 1)]))
        return
    if not hits:
        out.print("no matching products")
        return
    with_region = any(h.region is not None for h in hits)
    with_offer = any(h.product.offer.price is not None or h.product.offer.availability for h in hits)
    with_variants = any(h.variants for h in hits)
    table = Table("rank", "score", "product id", "category", "title", *(["matched at x,y,w,h"] * with_region))
    if with_offer:
        table.add_column("price")
        table.add_column("stock")
    if with_variants:
        table.add_column("other variants", overflow="fold")
    table.add_column("path", overflow="fold")  # a path is useless cut short: wrap it instead
    for i, h in enumerate(hits, 1):
        p = h.product
        where = [str(h.region) if h.region else "whole photo"] if with_region else []
        offer = [_price(p.offer.price, p.offer.currency), p.offer.availability or ""] if with_offer else []
        variants = [", ".join(v.colour or v.product_id for v in h.variants)] if with_variants else []
        row = [str(i), f"{h.score:.3f}", p.product_id, p.category, p.title or "", *where, *offer, *variants]
        table.add_row(*row, str(p.path))
    out.print(table)


def _price(price: float | None, currency: str | None) -> str:
    return "" if price is None else f"{price:.2f} {currency or ''}".strip()


def _shape(
    in_stock: bool,
    min_price: float | None,
    max_price: float | None,
    brand: str | None,
    families: bool = False,
    diverse: bool = False,
) -> ResultShape:
    """The result shape the flags ask for (a FilterError, printed as any error, when they make no sense)."""
    return ResultShape.from_options(
        in_stock=in_stock,
        min_price=min_price,
        max_price=max_price,
        brand=brand,
        families=families,
        diverse=diverse,
    )


def _print_regions(groups: list[RegionHits], as_json: bool) -> None:
    if as_json:
        out.print_json(
            json.dumps(
                [
                    {
                        "region": asdict(g.region),
                        "hits": [{"rank": i, **h.to_dict()} for i, h in enumerate(g.hits, 1)],
                    }
                    for g in groups
                ]
            )
        )
        return
    if not groups:
        out.print("no products found in this photo")
    for n, g in enumerate(groups, 1):
        out.print(f"[bold]product {n} of the photo[/] at x,y,w,h = {g.region}")
        _print_hits(g.hits, False)


def _print_report(r: IndexReport) -> None:
    rate = r.embedded / r.seconds if r.seconds else 0.0
    out.print(
        f"indexed {r.root}: {r.scanned} images scanned, {r.new} new, {r.changed} changed, "
        f"{r.unchanged} unchanged, {r.removed} removed, {r.embedded} embedded "
        f"in {r.seconds:.1f}s ({rate:.1f} img/s)",
        soft_wrap=True,
    )
    if r.stale:
        out.print(
            f"[yellow]{r.stale} indexed images have no file any more; re-run with --prune to remove them[/]",
            soft_wrap=True,
        )
    if r.failed:
        err.print(f"[yellow]skipped {len(r.failed)} files that could not be indexed:[/]")
        for rel, why in r.failed:
            err.print(f"  {rel}: {why}", highlight=False, markup=False)


@app.command()
def index(
    path: Annotated[Path, typer.Argument(help="Folder of product images; sub-folders are categories.")],
    prune: Annotated[bool, typer.Option("--prune", help="Remove indexed images whose file is gone.")] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show progress bars.")] = True,
) -> None:
    """Index (or update) a catalog folder: only new or changed images are embedded."""
    try:
        with _service() as svc:
            report = svc.index(path, prune=prune, progress=progress)
    except LookalikeError as exc:
        raise _fail(exc) from None
    _print_report(report)


def _print_feed_report(r: FeedReport) -> None:
    rate = r.embedded / r.seconds if r.seconds else 0.0
    out.print(
        f"indexed feed '{r.name}' ({r.format}, {r.feed}): {r.products} products, {r.images} images: "
        f"{r.new} new, {r.changed} changed, {r.unchanged} unchanged, {r.removed} removed, "
        f"{r.embedded} embedded; {r.downloaded} downloaded, {r.not_modified} not modified "
        f"in {r.seconds:.1f}s ({rate:.1f} img/s)",
        soft_wrap=True,
        highlight=False,
        markup=False,
    )
    if r.stale:
        out.print(
            f"[yellow]{r.stale} indexed images are no longer in the feed; "
            "re-run with --prune to remove them[/]",
            soft_wrap=True,
        )
    for title, rows in (
        ("rows skipped (not products)", r.skipped),
        ("values left out", r.warnings),
        ("images that could not be indexed", r.failed),
    ):
        if rows:
            err.print(f"[yellow]{len(rows)} {title}:[/]")
            for what, why in rows:
                err.print(f"  {what}: {why}", highlight=False, markup=False, soft_wrap=True)


@app.command("index-feed")
def index_feed(
    feed: Annotated[
        str,
        typer.Argument(
            help="A product feed, a local file or an http(s) URL: Google Merchant Center TSV or RSS/Atom "
            "XML, or a CSV/JSON list with the sidecar's columns plus image_url."
        ),
    ],
    prune: Annotated[
        bool, typer.Option("--prune", help="Remove this feed's products that are no longer in it.")
    ] = False,
    name: Annotated[
        str | None,
        typer.Option(help="The name this feed is indexed under (default: its file name); one per feed."),
    ] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show progress bars.")] = True,
) -> None:
    """Index (or update) a product feed: images are downloaded; only new or changed ones are embedded."""
    try:
        with _service() as svc:
            report = svc.index_feed(feed, name=name, prune=prune, progress=progress, owner=True)
    except LookalikeError as exc:
        raise _fail(exc) from None
    _print_feed_report(report)


@app.command()
def search(
    image: Annotated[
        str | None,
        typer.Argument(help="A photo of the product you are looking for: a file, or an http(s) URL."),
    ] = None,
    text: Annotated[
        str | None, typer.Option("--text", "-t", help="Words, alone or refining the photo.")
    ] = None,
    audio: Annotated[Path | None, typer.Option("--audio", help="A sound (encoders with audio only).")] = None,
    weight: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of the words with a photo.")] = 0.5,
    region: Annotated[
        str,
        typer.Option(
            help="auto: find the product inside the photo (default); whole: compare the whole photo."
        ),
    ] = "auto",
    box: Annotated[
        str | None,
        typer.Option(help="Search only this part of the photo: X,Y,W,H in pixels or fractions 0–1."),
    ] = None,
    regions: Annotated[
        int | None,
        typer.Option(
            min=1, max=5, help="Products in this photo: up to N regions, each with its own results."
        ),
    ] = None,
    top_k: TopK = 10,
    category: CategoryOpt = None,
    in_stock: InStockOpt = False,
    min_price: MinPriceOpt = None,
    max_price: MaxPriceOpt = None,
    brand: BrandOpt = None,
    families: FamiliesOpt = False,
    diverse: DiverseOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Find products by photo (IMAGE), by words (--text), both, or by a sound (--audio).

    An IMAGE that is an http(s) URL is downloaded first (under the LOOKALIKE_FETCH_* limits). This is
    your own command, so it may fetch from your local network; the API refuses such URLs from callers.
    """
    given = [x is not None for x in (image or text, audio)]
    if sum(given) != 1 or (regions and image is None):
        err.print("[bold red]error:[/] give a photo and/or --text, or --audio (--regions needs a photo)")
        raise typer.Exit(code=2)
    if (regions or audio) and (families or diverse):
        err.print("[bold red]error:[/] --families and --diverse are for photo and word searches")
        raise typer.Exit(code=2)
    where = box or region
    verdict: str | None = None  # the photo search's match line
    try:
        shape = _shape(in_stock, min_price, max_price, brand, families, diverse)
        with _service() as svc:
            photo = None if image is None else _photo(image, svc.settings)
            name = image if isinstance(photo, bytes) else None
            if regions is not None and photo is not None:
                groups = svc.search_regions(
                    photo, max_products=regions, top_k=top_k, category=category, name=name, shop=shape.shop
                )
                _print_regions(groups, as_json)
                return
            if audio is not None:
                hits = svc.search_audio(audio, top_k=top_k, category=category, shop=shape.shop)
            elif photo is not None and text:
                hits = svc.search_combined(
                    photo,
                    text,
                    weight=weight,
                    top_k=top_k,
                    category=category,
                    region=where,
                    name=name,
                    shape=shape,
                )
            elif photo is not None:
                hits = svc.search_image(
                    photo, top_k=top_k, category=category, region=where, name=name, shape=shape
                )
                verdict = _match_line(svc, hits)
            else:
                hits = svc.search_text(text or "", top_k=top_k, category=category, shape=shape)
    except LookalikeError as exc:
        raise _fail(exc) from None
    _print_hits(hits, as_json)
    if verdict and not as_json:
        out.print(verdict, highlight=False, markup=False, soft_wrap=True)


def _match_line(svc: SearchService, hits: list[Hit]) -> str:
    """What the photo search's best hit is: exact, similar, none (and the thresholds that said so)."""
    from lookalike.calibration import NOT_CALIBRATED

    cal = svc.calibration
    if cal is None:
        return f"match: unknown ({NOT_CALIBRATED})"
    match = svc.best_match(hits)
    why = f"best score {hits[0].score:.3f}; " if hits else ""
    line = f"match: {match} ({why}exact ≥ {cal.exact:.3f}, similar ≥ {cal.similar:.3f})"
    if match == "none":
        line += "\nWe don't seem to carry this — here are the closest products."
    return line


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def _photo(image: str, settings: Settings) -> Path | bytes:
    """A file path as given, or the bytes behind a URL (the owner's policy: private addresses allowed,
    cloud metadata never)."""
    if not _URL.match(image):
        return Path(image)
    policy = AddressPolicy.from_settings(settings, allow_private=True)
    with Fetcher(FetchLimits.from_settings(settings), policy) as fetcher:
        return fetcher.fetch(image, expect="image").content


@app.command()
def similar(
    product_id: Annotated[list[str], typer.Argument(help="Indexed product id(s) to find more like.")],
    unlike: Annotated[list[str], typer.Option("--unlike", help="Product id(s) to steer away from.")] = [],  # noqa: B006
    top_k: TopK = 10,
    category: CategoryOpt = None,
    in_stock: InStockOpt = False,
    min_price: MinPriceOpt = None,
    max_price: MaxPriceOpt = None,
    brand: BrandOpt = None,
    families: FamiliesOpt = False,
    diverse: DiverseOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """More like these products (and less like --unlike ones), from the index."""
    try:
        shape = _shape(in_stock, min_price, max_price, brand, families, diverse)
        with _service() as svc:
            hits = svc.similar(product_id, unlike, top_k=top_k, category=category, shape=shape)
    except LookalikeError as exc:
        raise _fail(exc) from None
    _print_hits(hits, as_json)


@app.command()
def variants(
    product_id: Annotated[str, typer.Argument(help="An indexed product id.")],
    in_stock: InStockOpt = False,
    min_price: MinPriceOpt = None,
    max_price: MaxPriceOpt = None,
    brand: BrandOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Other colours and sizes of a product: the products sharing its item_group_id."""
    try:
        shop = _shape(in_stock, min_price, max_price, brand).shop
        with _service() as svc:
            found = svc.variants(product_id, shop=shop)
    except LookalikeError as exc:
        raise _fail(exc) from None
    if as_json:
        out.print_json(json.dumps([v.to_dict() for v in found]))
        return
    if not found:
        out.print(
            f"no other variants of '{product_id}' (no item_group_id, or none matching)", highlight=False
        )
        return
    table = Table("product id", "colour", "title", "price", "stock")
    for v in found:
        table.add_row(
            v.product_id, v.colour or "", v.title or "", _price(v.price, v.currency), v.availability or ""
        )
    out.print(table)


@app.command()
def info(as_json: JsonOpt = False) -> None:
    """What is indexed: collection, encoder, dimension, images per category, where the data lives."""
    try:
        with _service() as svc:
            i = svc.info()
    except LookalikeError as exc:
        raise _fail(exc) from None
    if as_json:
        out.print_json(json.dumps(i.__dict__))
        return
    out.print(f"collection  {i.collection}\nbackend     {i.backend}\nlocation    {i.location}")
    out.print(f"encoder     {i.encoder} ({i.dim}-d)\nimages      {i.points}")
    if not i.points:
        out.print("nothing is indexed yet: run `lookalike index FOLDER`")
        return
    table = Table("category", "images")
    for cat, n in i.categories.items():
        table.add_row(cat, str(n))
    out.print(table)


Host = Annotated[str, typer.Option(help="Interface to listen on (loopback by default).")]
Insecure = Annotated[
    bool, typer.Option("--insecure", help="Allow serving off loopback with nobody's key asked for writes.")
]


def _ready_service() -> SearchService:
    """Open the store and load the model before serving: a locked index fails here, clearly, and the
    first request does not pay (or time out on) the model load."""
    svc = _service()
    try:
        svc.info()
        _ = svc.encoder
    except LookalikeError as exc:
        svc.close()
        raise _fail(exc) from None
    return svc


@app.command()
def serve(
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    insecure: Insecure = False,
) -> None:
    """Run the REST API (OpenAPI docs at /docs)."""
    import uvicorn

    from lookalike.api import create_app

    if not is_loopback(host) and _settings().api_key is None and not insecure:
        err.print(
            f"[bold red]error:[/] refusing to serve on {host} with writes open to anyone: set "
            "LOOKALIKE_API_KEY (or pass --insecure)",
            soft_wrap=True,
        )
        raise typer.Exit(code=2)
    svc = _ready_service()
    out.print(f"lookalike API on http://{host}:{port}  (docs: http://{host}:{port}/docs)")
    try:
        uvicorn.run(
            create_app(svc),
            host=host,
            port=port,
            log_level="warning",
            timeout_keep_alive=5,
            limit_concurrency=64,  # past this, 503 at once instead of an unbounded queue
        )
    finally:
        svc.close()


@app.command()
def ui(
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 7860,
    auth: Annotated[
        str | None,
        typer.Option(envvar="LOOKALIKE_UI_AUTH", help="user:password asked by the UI (needed off loopback)."),
    ] = None,
    insecure: Insecure = False,
) -> None:
    """Run the web UI (Gradio): search by photo or words, browse, add products."""
    from lookalike.ui import launch_ui

    if auth is not None and ":" not in auth:
        err.print("[bold red]error:[/] --auth takes user:password", soft_wrap=True)
        raise typer.Exit(code=2)
    if not is_loopback(host) and auth is None and not insecure:
        err.print(
            f"[bold red]error:[/] refusing to serve the UI on {host} without a login (anyone could add "
            "products): pass --auth user:password (or LOOKALIKE_UI_AUTH), or --insecure",
            soft_wrap=True,
        )
        raise typer.Exit(code=2)
    options = {"auth": tuple(auth.split(":", 1))} if auth else {}
    svc = _ready_service()
    out.print(f"lookalike web UI on http://{host}:{port}  (Ctrl+C to stop)")
    try:
        launch_ui(svc, host=host, port=port, block=True, **options)
    finally:
        svc.close()


@app.command("eval")
def evaluate_cmd(
    task: Annotated[
        list[str],
        typer.Option(
            "--task",
            help="category (Fashion-MNIST), same-product (demo catalog, and scenes), match ('not in "
            "our catalog': precision and recall of the match verdict on the catalog).",
        ),
    ] = ["category", "same-product", "match"],  # noqa: B006
    fmnist_dir: Annotated[Path | None, typer.Option(help="Folder with the Fashion-MNIST .gz files.")] = None,
    n_index: Annotated[
        int | None, typer.Option(min=1, help="Train images to index (default: a 5,000 sample; --full: all).")
    ] = None,
    n_query: Annotated[
        int | None, typer.Option(min=1, help="Test images to query (default: a 1,000 sample; --full: all).")
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="All 60,000 train / 10,000 test images (about 40 min).")
    ] = False,
    catalog: Annotated[
        Path | None, typer.Option(help="Catalog for same-product recall (default: demo).")
    ] = None,
    views: Annotated[int, typer.Option(min=1, help="Augmented queries per photo and augmentation.")] = 1,
    seed: int = 0,
    plot: Annotated[
        Path | None, typer.Option(help="Write a PNG plot (per-class precision, recall@k).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Measure retrieval quality against random and raw-pixel baselines, in the same run."""
    import dataclasses

    from lookalike import eval as evaluate

    try:
        with _service() as svc:
            report = evaluate.run_eval(
                svc.encoder,
                tasks=task,
                fmnist_dir=fmnist_dir,
                n_index=n_index,
                n_query=n_query,
                catalog=catalog,
                n_per_recipe=views,
                seed=seed,
                batch_size=max(svc.settings.batch_size, 32),
                cache_dir=evaluate.default_cache_dir(),
                progress=not as_json,
                full=full,
            )
        if plot is not None:
            evaluate.plot(report, plot)
    except LookalikeError as exc:
        raise _fail(exc) from None
    if as_json:
        out.print_json(json.dumps(dataclasses.asdict(report), default=str))
    else:
        out.print(evaluate.format_table(report), markup=False, highlight=False, soft_wrap=True)
        if plot is not None:
            out.print(f"plot written to {plot}")


@app.command()
def clean(
    apply: Annotated[
        bool, typer.Option("--yes", "--apply", help="Remove what is listed (default: only list it).")
    ] = False,
) -> None:
    """Find leftovers of interrupted writes: upload files no indexed image refers to, and indexed
    images whose file is gone. Lists them; with --yes removes them (index entries first, then files)."""
    from lookalike.catalog_service import CatalogService

    try:
        with _service() as svc:
            found = CatalogService(svc).clean(apply=apply)
    except LookalikeError as exc:
        raise _fail(exc) from None
    if found.empty:
        out.print("nothing to clean: every indexed image has its file and every uploaded file is indexed")
        return
    for p in found.missing_files:
        out.print(
            f"indexed, file gone: {p.product_id} ({p.category}): {p.path}", highlight=False, markup=False
        )
    for f in found.orphan_files:
        out.print(f"upload file not in the index: {f}", highlight=False, markup=False)
    n, m = len(found.missing_files), len(found.orphan_files)
    if apply:
        out.print(f"removed {n} index entr{'y' if n == 1 else 'ies'} and {m} file(s)")
    else:
        out.print(
            f"{n} index entr{'y' if n == 1 else 'ies'} and {m} file(s) to clean: run `lookalike clean --yes`"
        )


@app.command("encoders")
def list_encoders() -> None:
    """The encoders lookalike knows, their dimension, modalities, licence and whether weights are here."""
    from lookalike import encoders

    table = Table("name", "dim", "modalities", "licence", "weights", "about")
    for s in encoders.available():
        table.add_row(
            s.name,
            str(s.dim),
            ", ".join(sorted(s.modalities)),
            s.licence,
            "present" if s.weights_present() else "missing",
            s.description,
        )
    out.print(table)


@app.command("demo-data")
def demo_data(
    target: Annotated[Path, typer.Argument(help="Folder to write the demo catalog into.")],
    wheel: Annotated[Path | None, typer.Option(help="A saleor-2.10.1 wheel already on disk.")] = None,
) -> None:
    """Build the demo catalog (45 product photos from the Saleor demo store, CC-BY 4.0)."""
    from lookalike import demo_data as demo

    try:
        written = demo.build(target, wheel)
    except LookalikeError as exc:
        raise _fail(exc) from None
    cats = sorted({p.parent.name for p in written})
    out.print(f"wrote {len(written)} product photos in {len(cats)} categories to {target}")
    out.print(demo.CREDIT, style="dim")


if __name__ == "__main__":  # pragma: no cover
    app()
