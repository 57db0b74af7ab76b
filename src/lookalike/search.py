"""SearchService: the one API every front end (CLI, REST, web UI) calls; it knows no UI."""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from PIL import Image

from lookalike import calibration, encoders, regions
from lookalike.catalog import CategoryRule, is_utf8
from lookalike.config import Settings
from lookalike.diverse import mmr
from lookalike.encoders import Modality
from lookalike.errors import (
    ImageError,
    LookalikeError,
    NotFoundError,
    UnsupportedModalityError,
    UploadTooLargeError,
)
from lookalike.families import collapse as families_collapse
from lookalike.families import family_key as families_key
from lookalike.families import family_members
from lookalike.families import merge as families_merge
from lookalike.families import with_variants as families_with_variants
from lookalike.images import load_image, to_rgb
from lookalike.ingest import IngestOptions, index_catalog
from lookalike.records import CollectionInfo, Hit, IndexReport, Product, RegionHits, Variant
from lookalike.regions import Box
from lookalike.result_shape import ResultShape
from lookalike.shop_filter import ShopFilter
from lookalike.store import PointFilter, Schema, ScoredPoint, VectorQuery, VectorStore, open_store
from lookalike.words import vectors as word_vectors
from lookalike.words.fusion import fuse_rankings
from lookalike.words.query import word_queries

if TYPE_CHECKING:
    from lookalike.feeds import FeedReport

MAX_TOP_K = 1000
MAX_EXAMPLES = 32  # product ids one 'similar' query may name (each is read from the store)
MAX_FETCH = 20_000  # points one query may pull while collecting distinct products
FIRST_PAGE = 3  # points per product asked first when collecting distinct products (more if too few)
MAX_REGIONS = 5  # product regions one "products in this photo" query may return
POOL = 4  # candidates per result that families collapse and diverse results are picked from
ImageInput = Image.Image | bytes | str | Path
AUTO, WHOLE = "auto", "whole"
Region = str | Box  # "auto", "whole", "X,Y,W,H" (pixels or fractions 0–1), or a Box
T = TypeVar("T")


@dataclass(frozen=True)
class ImageQuery:
    """One photo query of a batch (SearchService.search_batch); `region` and `shape` as in
    search_image, but region "whole" by default: finding the product inside the photo costs a search
    per candidate region."""

    image: ImageInput
    top_k: int = 10
    category: str | None = None
    region: Region = "whole"
    name: str | None = None
    shape: ResultShape | None = None


BatchAnswer = list[Hit] | LookalikeError  # the hits of one query, or why that query failed


def region_of(img: Image.Image, region: Region | None) -> Box | str:
    """AUTO, WHOLE or a Box checked against the photo (a bad box is a RegionError: the caller's mistake)."""
    if isinstance(region, Box):
        return region.check(img.size)
    text = (region or AUTO).strip()
    if text.lower() in (AUTO, WHOLE):
        return text.lower()
    return Box.parse(text, img.size)


class SearchService:
    """Wires settings, encoder and store together; opens each lazily and once."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        store: VectorStore | None = None,
        encoder: encoders.Encoder | None = None,
    ):
        self.settings = settings or Settings()
        self._store = store
        self._encoder = encoder
        self._lock = threading.Lock()
        # Catalog writes (add, replace, delete, clean) hold this while they touch the store or the uploads
        # folder, so concurrent writes to one product apply one after the other, each whole.
        self.write_lock = threading.RLock()
        self._calibration: calibration.Calibration | None = None
        self._calibration_read = False

    # -- components --------------------------------------------------------------------------------
    @property
    def encoder(self) -> encoders.Encoder:
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    s = self.settings
                    self._encoder = encoders.get_encoder(
                        s.encoder, s.device, s.threads, runtime=s.runtime, model_dir=s.models_dir
                    )
        return self._encoder

    @property
    def schema(self) -> Schema:
        if self._encoder is not None:
            e = self._encoder
            return Schema(e.name, e.dim, word_vectors.extras(encoders.can_classify(e)))
        spec = encoders.spec(self.settings.encoder)  # name and dim without loading the weights
        return Schema(spec.name, spec.dim, word_vectors.extras(spec.classifies))

    @property
    def store(self) -> VectorStore:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = open_store(self.settings, self.schema)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> SearchService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- indexing ------------------------------------------------------------------------------------
    def ingest_options(self, *, prune: bool = False, progress: bool = False) -> IngestOptions:
        s = self.settings
        return IngestOptions(
            batch_size=s.batch_size,
            rule=CategoryRule(
                mode=s.category_from, separator=s.category_separator, uncategorized=s.uncategorized
            ),
            max_pixels=s.max_image_pixels,
            max_bytes=s.max_image_bytes,
            prune=prune,
            progress=progress,
        )

    def index(
        self,
        root: Path,
        *,
        prune: bool = False,
        progress: bool = False,
        after_batch: Callable[[int], None] | None = None,
    ) -> IndexReport:
        opts = self.ingest_options(prune=prune, progress=progress)
        report = index_catalog(Path(root), self.store, self.encoder, opts, after_batch=after_batch)
        self.recalibrate(changed=bool(report.new or report.changed or report.removed))
        return report

    def index_feed(
        self,
        feed: str | Path,
        *,
        name: str | None = None,
        prune: bool = False,
        progress: bool = False,
        owner: bool = False,
        after_batch: Callable[[int], None] | None = None,
    ) -> FeedReport:
        """Index (or update) a product feed (Merchant TSV/XML, CSV, JSON): see lookalike.feeds.

        `owner=True` is the shop owner's own command line: the feed may be a local file and its URLs may
        reach private and loopback addresses. Anyone else (an API caller) gets public http(s) URLs only,
        plus the hosts Settings.fetch_allow names.
        """
        from lookalike.feeds import FeedOptions, index_feed
        from lookalike.fetch import AddressPolicy, Fetcher, FetchLimits

        s = self.settings
        base = self.ingest_options(prune=prune, progress=progress)
        opts = FeedOptions(
            data_dir=s.data_dir,
            name=name,
            prune=prune,
            progress=progress,
            batch_size=s.batch_size,
            rule=base.rule,
            max_pixels=s.max_image_pixels,
            max_bytes=s.max_image_bytes,
            max_feed_bytes=s.fetch_max_feed_bytes,
            local_files=owner,
        )
        policy = AddressPolicy.from_settings(s, allow_private=owner)
        with Fetcher(FetchLimits.from_settings(s), policy) as fetcher:
            report = index_feed(
                str(feed), lambda: self.store, lambda: self.encoder, fetcher, opts, after_batch=after_batch
            )
        self.recalibrate(changed=bool(report.new or report.changed or report.removed))
        return report

    # -- "is it in the catalog?" (lookalike.calibration) ----------------------------------------------------
    @property
    def calibration(self) -> calibration.Calibration | None:
        """The collection's match thresholds, read once (None: never calibrated: re-index)."""
        if not self._calibration_read:
            self._calibration = calibration.load(self)
            self._calibration_read = True
        return self._calibration

    def recalibrate(self, changed: bool = True) -> calibration.Calibration | None:
        """Learn the match thresholds again when the collection changed or has none (index runs call it)."""
        self._calibration = calibration.refresh(self, changed)
        self._calibration_read = True
        return self._calibration

    def best_match(self, hits: Sequence[Hit]) -> str | None:
        """The verdict of a photo search's answer: exact, similar or none (None: not calibrated)."""
        return calibration.best_match(hits, self.calibration)

    # -- queries -------------------------------------------------------------------------------------
    def load_query_image(self, image: ImageInput, name: str | None = None) -> Image.Image:
        if isinstance(image, Image.Image):
            return to_rgb(image)  # any mode: alpha on white, 16-bit scaled, as a loaded file
        s = self.settings
        return load_image(image, name=name, max_pixels=s.max_image_pixels, max_bytes=s.max_image_bytes)

    def embed_image(self, image: ImageInput, name: str | None = None) -> np.ndarray:
        """The query image's embedding; an image that decodes but the model cannot take is an ImageError
        (the caller's photo), not a crash. The file is checked before the model is loaded."""
        img = self.load_query_image(image, name)
        return self._model_call(image, name, lambda: self.encoder.embed_images([img])[0])

    def _model_call(self, image: ImageInput, name: str | None, call: Callable[[], T]) -> T:
        try:
            return call()
        except LookalikeError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever the model raises on this one image
            label = name or (str(image) if isinstance(image, str | Path) else "")
            why = str(exc).strip() or type(exc).__name__
            where = f"{label}: " if label else ""
            raise ImageError(f"{where}the image model could not process this image ({why[:200]})") from None

    def search_image(
        self,
        image: ImageInput,
        top_k: int = 10,
        category: str | None = None,
        region: Region = AUTO,
        name: str | None = None,
        *,
        shape: ResultShape | None = None,
    ) -> list[Hit]:
        """Products that look most like `image`, best first, one hit per product.

        region "auto" (the default) also looks for the product inside the photo (a shelf, a table, a
        scene: see lookalike.regions) and each hit says where it matched; "whole" compares the whole
        photo only; a Box or "X,Y,W,H" (pixels, or fractions 0–1) searches that part of the photo.
        `shape` narrows to in-stock / price / brand, shows each product family once with its other
        variants, or picks varied results (see lookalike.result_shape).
        """
        shape = shape or ResultShape()
        self._check_query(top_k, category)
        img = self.load_query_image(image, name)
        where = region_of(img, region)
        if where == WHOLE:
            vector, _ = self._region_vector(image, name, img, where)
            hits = self.search_vector(vector, top_k=top_k, category=category, shape=shape)
            return self._judged(hits)
        want = top_k * POOL if shape.pooled else top_k
        if isinstance(where, Box):  # the shopper's box, searched as locate searches its own crops
            box, index = where, self.region_index(category, shape.shop)
            ranking = self._model_call(
                image, name, lambda: regions.search_box(img, box, self.encoder, index, want)
            )
            hits = [replace(index.seen[pid], score=score, region=box) for pid, score in ranking]
        else:
            located, best = self._locate(image, name, img, want, category, shape.shop)
            hits = [replace(best[m.product_id], score=m.score, region=m.box) for m in located.matches]
        return self._judged(self._shaped(hits, top_k, PointFilter(category=category, shop=shape.shop), shape))

    def _judged(self, hits: list[Hit]) -> list[Hit]:
        """Photo hits with their match verdict (lookalike.calibration); as they are when not calibrated."""
        return calibration.judge(self.calibration, hits)

    def search_batch(self, queries: Sequence[ImageQuery]) -> list[BatchAnswer]:
        """Several photo queries at once: one encoder batch, one batch query to the store.

        Answers come in order; a query that fails (a bad image, an unknown category, a box outside
        the photo) gets its LookalikeError in its place and the others are answered. The photos of
        one batch may hold settings.max_upload_pixels pixels in all (later ones over it fail), and at
        most settings.max_batch queries. A query with a region ("auto" or a box) is answered on
        its own, by search_image, outside the batch (it searches once per candidate region).
        """
        limit = self.settings.max_batch
        if not queries:
            raise LookalikeError("give at least one photo to search for")
        if len(queries) > limit:
            raise LookalikeError(
                f"a batch holds at most {limit} queries, not {len(queries)} (LOOKALIKE_MAX_BATCH)"
            )
        answers: list[BatchAnswer | None] = [None] * len(queries)
        parts: list[tuple[int, Image.Image]] = []  # query index, whole photo to embed
        pixels = 0
        for i, q in enumerate(queries):
            try:
                self._check_query(q.top_k, q.category)
                img = self.load_query_image(q.image, q.name)
                pixels += img.width * img.height
                if pixels > self.settings.max_upload_pixels:
                    raise UploadTooLargeError(
                        f"the photos of this batch hold more than {self.settings.max_upload_pixels:,} pixels "
                        "in all; send fewer or smaller photos per batch (LOOKALIKE_MAX_UPLOAD_PIXELS)"
                    )
                where = region_of(img, q.region)
                if where != WHOLE:  # a region is searched as search_image searches it (crops, colour)
                    answers[i] = self.search_image(
                        img,
                        q.top_k,
                        q.category,
                        where,
                        q.name,
                        shape=q.shape,
                    )
                    continue
                parts.append((i, img))
            except LookalikeError as exc:
                answers[i] = exc
        searches: list[tuple[int, np.ndarray]] = []
        for (i, _), vector in zip(parts, self._embed_parts(queries, parts), strict=True):
            if isinstance(vector, LookalikeError):
                answers[i] = vector
            else:
                searches.append((i, vector))
        shapes = {i: queries[i].shape or ResultShape() for i, _ in searches}
        flts = {i: PointFilter(category=queries[i].category, shop=shapes[i].shop) for i, _ in searches}
        pages = self._first_pages([(v, queries[i].top_k, flts[i]) for i, v in searches])
        for (i, _), query in zip(searches, pages, strict=True):
            q = queries[i]
            hits = self._results(query, q.top_k, flts[i], shapes[i])
            answers[i] = self._judged(hits)
        return [a if a is not None else LookalikeError("not answered") for a in answers]

    def _embed_parts(
        self, queries: Sequence[ImageQuery], parts: list[tuple[int, Image.Image]]
    ) -> list[np.ndarray | LookalikeError]:
        """Every part's vector from one encoder call; if the model refuses the batch, image by image,
        so that one photo it cannot take fails alone."""
        if not parts:
            return []
        try:
            return list(self.encoder.embed_images([img for _, img in parts]))
        except LookalikeError:
            raise  # the model itself is unavailable: no query can be answered
        except Exception:  # noqa: BLE001 - find the photo the model could not take
            vectors: list[np.ndarray | LookalikeError] = []
            for i, img in parts:
                q = queries[i]
                try:
                    vectors.append(
                        self._model_call(q.image, q.name, lambda img=img: self.encoder.embed_images([img])[0])
                    )
                except LookalikeError as exc:
                    vectors.append(exc)
            return vectors

    def search_regions(
        self,
        image: ImageInput,
        max_products: int = 3,
        top_k: int = 5,
        category: str | None = None,
        name: str | None = None,
        *,
        shop: ShopFilter | None = None,
    ) -> list[RegionHits]:
        """ "Products in this photo": up to `max_products` distinct product regions found in the photo,
        best first, each with its own ranked hits."""
        if not 1 <= max_products <= MAX_REGIONS:
            raise LookalikeError(f"max_products must be between 1 and {MAX_REGIONS}, not {max_products}")
        self._check_query(top_k, category)
        img = self.load_query_image(image, name)
        # a crop for every product asked for, and a few spare: windows can land on the same product
        crops = max(regions.RegionSettings().crops, max_products + 3)
        located, best = self._locate(image, name, img, top_k, category, shop, crops)
        return [
            RegionHits(
                g.box,
                self._judged(
                    [replace(best[pid], score=score, region=g.box) for pid, score in g.hits[:top_k]]
                ),
            )
            for g in located.groups[:max_products]
        ]

    def _locate(
        self,
        image: ImageInput,
        name: str | None,
        img: Image.Image,
        top_k: int,
        category: str | None,
        shop: ShopFilter | None = None,
        crops: int | None = None,
    ) -> tuple[regions.Located, dict[str, Hit]]:
        """regions.locate over this index (`crops` windows re-encoded: the default's when None);
        `best` keeps each product's best-scoring view seen."""
        index = self.region_index(category, shop)
        settings = regions.RegionSettings()
        if crops is not None:
            settings = replace(settings, crops=crops)
        located = self._model_call(
            image, name, lambda: regions.locate(img, self.encoder, index, top_k, settings)
        )
        return located, index.seen

    def region_index(self, category: str | None = None, shop: ShopFilter | None = None) -> RegionIndex:
        """This index as lookalike.regions asks for it, narrowed by `category` and `shop`."""
        return RegionIndex(self, PointFilter(category=category, shop=shop))

    def _region_vector(
        self,
        image: ImageInput,
        name: str | None,
        img: Image.Image,
        where: Box | str,
        category: str | None = None,
        shop: ShopFilter | None = None,
    ) -> tuple[np.ndarray, Box | None]:
        """The vector of the part of the photo `where` names ("auto": where the product was found),
        and that part's box (None: the whole photo)."""
        if where == AUTO:
            located, _ = self._locate(image, name, img, 1, category, shop)
            best = located.matches[0].box if located.matches else None
            if best in located.vectors:  # locate encoded it already
                return located.vectors[best], best
            where = best or WHOLE
        if not isinstance(where, Box):
            return self._model_call(image, name, lambda: self.encoder.embed_images([img])[0]), None
        box = where
        return self._model_call(image, name, lambda: regions.region_vector(img, box, self.encoder)), box

    def search_text(
        self,
        text: str,
        top_k: int = 10,
        category: str | None = None,
        *,
        shape: ResultShape | None = None,
    ) -> list[Hit]:
        """Products matching words: in the joint space where the encoder embeds text, else by the
        fused word routes (titles, ImageNet classes, colours); see `text_mode`."""
        shape = shape or ResultShape()
        text = self._check_text(text)
        self._check_query(top_k, category)
        if Modality.TEXT in self.encoder.modalities:
            vector = self.encoder.embed_texts([text])[0]
            return self.search_vector(vector, top_k=top_k, category=category, shape=shape)
        flt = PointFilter(category=category, shop=shape.shop)
        want = top_k * POOL if shape.pooled else top_k
        rankings = [(ranking, 1.0) for ranking in self._word_rankings(text, want * 3, flt)]
        return self._shaped(fuse_rankings(rankings, want), top_k, flt, shape)

    def search_combined(
        self,
        image: ImageInput,
        text: str,
        weight: float = 0.5,
        top_k: int = 10,
        category: str | None = None,
        region: Region = AUTO,
        name: str | None = None,
        *,
        shape: ResultShape | None = None,
    ) -> list[Hit]:
        """A photo refined by words ("…but in blue"); `weight` is the share of the words, 0..1.
        `region` picks the part of the photo as in search_image ("auto": where the product was found).

        With a joint encoder: the weighted sum of the two normalised embeddings. Otherwise the photo's
        nearest products are re-scored: (1 - weight) · image similarity + weight · word similarity,
        the latter the mean cosine over the word routes (title, colour, ImageNet concepts).
        """
        shape = shape or ResultShape()
        if not 0.0 <= weight <= 1.0:
            raise LookalikeError(f"weight must be between 0 and 1, not {weight}")
        text = self._check_text(text)
        self._check_query(top_k, category)
        img = self.load_query_image(image, name)
        image_vec, box = self._region_vector(image, name, img, region_of(img, region), category, shape.shop)
        flt = PointFilter(category=category, shop=shape.shop)
        hits = self._combined(image_vec, text, weight, top_k, flt, shape)
        return [replace(h, region=box) for h in hits] if box else hits

    def _combined(
        self,
        image_vec: np.ndarray,
        text: str,
        weight: float,
        top_k: int,
        flt: PointFilter,
        shape: ResultShape,
    ) -> list[Hit]:
        """`flt` holds `shape.shop` (and the category): the filter every store query here runs with."""
        if Modality.TEXT in self.encoder.modalities:
            mixed = encoders.l2_normalise(
                (1 - weight) * image_vec + weight * self.encoder.embed_texts([text])[0]
            )
            return self.search_vector(mixed, top_k, flt.category, shape=shape)
        candidates = self.store.search(image_vec, max(100, top_k * 10), flt)
        if not candidates:
            return []
        only = PointFilter(ids=tuple(p.id for p in candidates))
        routes = self._word_queries(text)
        word_scores: dict[str, float] = {}
        for vector, using in routes:
            for p in self.store.search(vector, len(candidates), only, using=using):
                word_scores[p.id] = word_scores.get(p.id, 0.0) + p.score / len(routes)
        rescored = [
            ScoredPoint(
                id=p.id, score=(1 - weight) * p.score + weight * word_scores.get(p.id, 0.0), payload=p.payload
            )
            for p in candidates
        ]
        rescored.sort(key=lambda p: p.score, reverse=True)
        return self._results(lambda limit: rescored[:limit], top_k, flt, shape)

    def search_audio(
        self,
        audio: str | Path,
        top_k: int = 10,
        category: str | None = None,
        *,
        shop: ShopFilter | None = None,
    ) -> list[Hit]:
        """Products that sound like a recording (e.g. a coffee machine), where the encoder hears."""
        encoder = self.encoder
        if not isinstance(encoder, encoders.AudioEncoder):
            raise UnsupportedModalityError(
                f"the '{self.encoder.name}' encoder does not embed audio; audio search needs "
                "LOOKALIKE_ENCODER=imagebind (see `lookalike encoders`)"
            )
        self._check_query(top_k, category)
        vec = encoder.embed_audio([audio])[0]
        return self.search_vector(vec, top_k=top_k, category=category, shape=ResultShape(shop=shop))

    @property
    def modalities(self) -> frozenset[Modality]:
        """What the configured encoder embeds, known without loading its weights."""
        if self._encoder is not None:
            return self._encoder.modalities
        return encoders.spec(self.settings.encoder).modalities

    @property
    def text_mode(self) -> str:
        """How words are searched: 'joint' (the encoder's own text side) or 'words' (fused routes)."""
        return "joint" if Modality.TEXT in self.modalities else "words"

    def text_note(self) -> str:
        """How words are matched with the current encoder, so a shopper knows what to expect."""
        name = self.settings.encoder
        if self.text_mode == "joint":
            return f"Words and photos share one embedding space ('{name}'): describe the product freely."
        return (
            f"The current encoder ('{name}') sees pixels only, so words are matched against product titles "
            "and descriptions, the ~1000 everyday objects the image model recognises (e.g. 'running shoe', "
            "'sweatshirt', 'wine bottle') and colour names ('red', 'navy'). Brands, fits and materials are "
            "found only when the titles say them. A joint image-text encoder (ImageBind) understands more."
        )

    def _word_queries(self, text: str) -> list[tuple[np.ndarray, str]]:
        return word_queries(text, self.store.schema.vectors, cache_dir=self.settings.data_dir / "cache")

    def _word_rankings(self, text: str, limit: int, flt: PointFilter) -> list[list[ScoredPoint]]:
        return [self.store.search(vec, limit, flt, using=using) for vec, using in self._word_queries(text)]

    def _check_text(self, text: str) -> str:
        """Whitespace-normalised text without control characters, or a LookalikeError saying why not.

        Text must hold something to read: a letter or digit in any script. Emoji and other symbols
        alone pass only when the encoder has its own text side (a joint model's tokenizer reads them);
        the word routes (MiniLM titles, ImageNet class names, colour words) would return arbitrary hits.
        """
        text = " ".join(_without_controls(text or "").split())
        if not text:
            raise LookalikeError("type some words to search for")
        if len(text) > 500:
            raise LookalikeError("the search text is too long (500 characters at most)")
        kinds = {unicodedata.category(c)[0] for c in text}
        if not kinds & {"L", "N"} and not ("S" in kinds and self.text_mode == "joint"):
            what = "only symbols or emoji" if "S" in kinds else "no letters or digits"
            raise LookalikeError(
                f"the search text has no words to search for ({what}); type words such as 'red hoodie'"
            )
        return text

    def search_vector(
        self,
        vector: np.ndarray,
        top_k: int = 10,
        category: str | None = None,
        exclude_products: Sequence[str] = (),
        *,
        shape: ResultShape | None = None,
    ) -> list[Hit]:
        shape = shape or ResultShape()
        flt = PointFilter(category=category, exclude_product_ids=tuple(exclude_products), shop=shape.shop)
        if not shape.families:
            return self._results(lambda limit: self.store.search(vector, limit, flt), top_k, flt, shape)
        # families: the store groups by item_group_id (Qdrant's group_by on a server); products without
        # a family come from a second query and the two rankings merge by score
        want = top_k * POOL if shape.diverse else top_k
        grouped = [self._hit(p) for p in self.store.search_families(vector, want, flt)]
        alone = replace(flt, grouped=False)
        single = self._best_per_product(lambda limit: self.store.search(vector, limit, alone), want)
        return self._shaped(families_merge(grouped, single), top_k, flt, shape)

    def similar(
        self,
        positive: Sequence[str],
        negative: Sequence[str] = (),
        top_k: int = 10,
        category: str | None = None,
        *,
        shape: ResultShape | None = None,
    ) -> list[Hit]:
        """More like these products, less like those: Qdrant's recommend over every view of each.

        Ids are taken once each (a positive wins over the same negative) and at most MAX_EXAMPLES in all:
        every id costs a store read, so a request repeating one id 700 times must not cost 700 reads.
        """
        shape = shape or ResultShape()
        positive = list(dict.fromkeys(positive))
        negative = [n for n in dict.fromkeys(negative) if n not in positive]
        if not positive:
            raise LookalikeError("give at least one product to find more like")
        if "" in positive or "" in negative:  # an empty id would stand for every product
            raise LookalikeError("product ids must not be empty")
        if len(positive) + len(negative) > MAX_EXAMPLES:
            raise LookalikeError(
                f"name at most {MAX_EXAMPLES} products in all (positive and negative); "
                f"this asked for {len(positive) + len(negative)}"
            )
        self._check_query(top_k, category)
        pos = [v for pid in positive for v in self._product_vectors(pid)]
        neg = [v for pid in negative for v in self._product_vectors(pid)]
        flt = PointFilter(
            category=category,
            exclude_product_ids=tuple(dict.fromkeys([*positive, *negative])),
            shop=shape.shop,
        )
        query = lambda limit: self.store.recommend(pos, neg, limit, flt)  # noqa: E731
        return self._results(query, top_k, flt, shape)

    def _product_vectors(self, product_id: str) -> list[np.ndarray]:
        ids = [p.id for p in self.store.iter_points(PointFilter(product_id=product_id))]
        vectors = [p.vector for p in self.store.retrieve(ids, with_vectors=True) if p.vector is not None]
        if not vectors:
            raise NotFoundError(f"no product '{product_id}' in the index")
        return vectors

    def _best_per_product(
        self,
        query: Callable[[int], list[ScoredPoint]],
        top_k: int,
        key: Callable[[Product], str] | None = None,
    ) -> list[Hit]:
        """Best view per product (per `key`): fetch more points than asked until top_k distinct ones."""
        limit = top_k * FIRST_PAGE
        while True:
            points = query(limit)
            hits: dict[str, Hit] = {}
            for p in points:  # records only for the hits returned: a Product costs ~15 µs
                if key is None:
                    k = str(p.payload["product_id"])
                    if k in hits:
                        continue
                    product = Product.from_payload(p.payload)
                else:
                    product = Product.from_payload(p.payload)
                    k = key(product)
                    if k in hits:
                        continue
                hits[k] = Hit(product=product, score=p.score, point_id=p.id)
                if len(hits) == top_k:
                    break
            if len(hits) >= top_k or len(points) < limit or limit >= MAX_FETCH:
                return list(hits.values())[:top_k]  # at MAX_FETCH: fewer products than asked, never unbounded
            limit = min(limit * 4, MAX_FETCH)

    def _first_pages(
        self, asks: Sequence[tuple[np.ndarray, int, PointFilter]]
    ) -> list[Callable[[int], list[ScoredPoint]]]:
        """For each (vector, top_k, filter), a point query as `_best_per_product` takes it, whose first
        page (top_k × FIRST_PAGE) all come from one store batch; a larger page searches that vector
        alone (only when the first held too few distinct products)."""
        firsts = [top_k * FIRST_PAGE for _, top_k, _ in asks]
        pages = self.store.search_batch(
            [VectorQuery(v, first, flt) for (v, _, flt), first in zip(asks, firsts, strict=True)]
        )
        queries = []
        for (vector, _, flt), first, points in zip(asks, firsts, pages, strict=True):

            def query(limit: int, vector=vector, flt=flt, first=first, points=points) -> list[ScoredPoint]:
                return points if limit == first else self.store.search(vector, limit, flt)

            queries.append(query)
        return queries

    @staticmethod
    def _hit(p: ScoredPoint) -> Hit:
        return Hit(product=Product.from_payload(p.payload), score=p.score, point_id=p.id)

    def _results(
        self,
        query: Callable[[int], list[ScoredPoint]],
        top_k: int,
        flt: PointFilter,
        shape: ResultShape,
    ) -> list[Hit]:
        """top_k hits from a point ranking: one per product, or per family; diverse: picked by MMR
        from POOL times as many candidates."""
        if not shape.pooled:
            return self._best_per_product(query, top_k)
        want = top_k * POOL if shape.diverse else top_k
        key = families_key if shape.families else None
        return self._shaped(self._best_per_product(query, want, key), top_k, flt, shape)

    def _shaped(self, hits: list[Hit], top_k: int, flt: PointFilter, shape: ResultShape) -> list[Hit]:
        """Candidates (best first, one per product) → one per family, diverse picks, variants listed
        (`flt`: the query's filter, which the listed variants pass too)."""
        if shape.families:
            hits = families_collapse(hits)
        if shape.diverse and len(hits) > 1:
            hits = self._diversify(hits, top_k)
        hits = hits[:top_k]
        return families_with_variants(self.store, hits, flt) if shape.families else hits

    def _diversify(self, hits: list[Hit], top_k: int) -> list[Hit]:
        """Maximal marginal relevance over the hits' image vectors (see lookalike.diverse)."""
        stored = {p.id: p.vector for p in self.store.retrieve([h.point_id for h in hits], with_vectors=True)}
        keep = [h for h in hits if stored.get(h.point_id) is not None]
        if len(keep) < 2:
            return hits
        vectors = np.stack([stored[h.point_id] for h in keep])
        order = mmr(np.array([h.score for h in keep]), vectors, top_k)
        return [keep[i] for i in order]

    def variants(self, product_id: str, shop: ShopFilter | None = None) -> list[Variant]:
        """The other products of this product's family ("other colours of this"), best first by colour;
        [] for a product without an item_group_id. An unknown product is a NotFoundError."""
        product = self.product(product_id)[0]
        group = product.offer.item_group_id
        if not group:
            return []
        members = family_members(self.store, [group], PointFilter(shop=shop))
        return [v for v in members.get(group, []) if v.product_id != product_id]

    def _check_query(self, top_k: int, category: str | None) -> None:
        if not 1 <= top_k <= MAX_TOP_K:
            raise LookalikeError(f"top_k must be between 1 and {MAX_TOP_K}, not {top_k}")
        # one point is proof enough: an exact count walks every point of the category (~30 ms at 30k)
        if category is not None and not (
            is_utf8(category) and self.store.scroll(PointFilter(category=category), limit=1)[0]
        ):
            raise NotFoundError(f"no category '{category}' in the index")

    # -- catalog views ---------------------------------------------------------------------------------
    def categories(self) -> dict[str, int]:
        """Indexed images per category, read from the index (never from the file system)."""
        return dict(sorted(self.store.categories().items()))

    def product(self, product_id: str) -> list[Product]:
        views = [
            Product.from_payload(p.payload)
            for p in self.store.iter_points(PointFilter(product_id=product_id))
        ]
        if not views:
            raise NotFoundError(f"no product '{product_id}' in the index")
        return sorted(views, key=lambda p: p.rel_path)

    def info(self) -> CollectionInfo:
        store = self.store
        return CollectionInfo(
            collection=self.settings.collection,
            backend=store.backend,
            location=store.location,
            encoder=store.schema.encoder,
            dim=store.schema.dim,
            points=store.count(),
            categories=self.categories(),
        )


def _without_controls(text: str) -> str:
    """Control characters become spaces; format, surrogate, private-use and unassigned ones go.

    Zero-width joiners inside emoji sequences go too, which leaves the emoji themselves.
    """
    return "".join(
        " " if cat == "Cc" else "" if cat[0] == "C" else c for c in text for cat in (unicodedata.category(c),)
    )


class RegionIndex:
    """SearchService as lookalike.regions.RegionIndex: searches one filter's products and remembers
    each product's best-scoring hit seen (`seen`), whose view the answer then shows."""

    def __init__(self, service: SearchService, flt: PointFilter) -> None:
        self.service, self.flt = service, flt
        self.seen: dict[str, Hit] = {}

    def _keep(self, hits: Sequence[Hit]) -> list[tuple[str, float]]:
        for h in hits:
            pid = h.product.product_id
            if pid not in self.seen or h.score > self.seen[pid].score:
                self.seen[pid] = h
        return [(h.product.product_id, h.score) for h in hits]

    def search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        f = self.flt
        shape = ResultShape(shop=f.shop)
        return self._keep(self.service.search_vector(vector, top_k=k, category=f.category, shape=shape))

    def search_many(self, vectors: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        """`search` for each vector, in one store query (the whole photo and its crops)."""
        service = self.service
        pages = service._first_pages([(v, k, self.flt) for v in vectors])
        return [self._keep(service._best_per_product(query, k)) for query in pages]

    def best(self, vectors: np.ndarray) -> list[list[tuple[str, float]]]:
        store = self.service.store
        answers = store.search_batch([VectorQuery(v, 1, self.flt) for v in vectors])
        out = []
        for points in answers:  # a Product record only for a product's best point so far (~15 µs each)
            for p in points:
                pid = str(p.payload["product_id"])
                if pid not in self.seen or p.score > self.seen[pid].score:
                    self.seen[pid] = self.service._hit(p)
            out.append([(str(p.payload["product_id"]), p.score) for p in points])
        return out

    def colours_many(
        self, histograms: Sequence[np.ndarray], product_ids: Sequence[Sequence[str]]
    ) -> list[dict[str, float]]:
        """`colours` for each (histogram, candidates) pair, in one store query."""
        store = self.service.store
        out: list[dict[str, float]] = [{} for _ in histograms]
        if word_vectors.COLOUR not in store.schema.vectors:
            return out
        asked: list[tuple[int, dict[str, str]]] = []
        for i, pids in enumerate(product_ids):
            points = {self.seen[pid].point_id: pid for pid in pids if pid in self.seen}
            if points:
                asked.append((i, points))
        queries = [
            VectorQuery(histograms[i], len(points), PointFilter(ids=tuple(points)), using=word_vectors.COLOUR)
            for i, points in asked
        ]
        for (i, points), found in zip(asked, store.search_batch(queries), strict=True):
            out[i] = {points[p.id]: p.score for p in found}
        return out
