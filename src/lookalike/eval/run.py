"""`lookalike eval`: run the chosen tasks and score the encoder against both baselines in one run."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lookalike.encoders import Encoder
from lookalike.errors import LookalikeError
from lookalike.eval import augment
from lookalike.eval.category import CategoryReport, category_eval
from lookalike.eval.match_decision import MatchReport, match_eval
from lookalike.eval.same_product import SameProductReport, same_product_eval
from lookalike.eval.scene_search import SceneReport, scene_eval

TASKS = ("category", "same-product", "match")


@dataclass
class EvalReport:
    """Everything `lookalike eval` measured; `dataclasses.asdict` of it is plain JSON."""

    encoder: str
    dim: int
    seed: int
    category: CategoryReport | None
    same_product: SameProductReport | None
    seconds: float
    scene: SceneReport | None = None  # product-in-scene, run with the same-product task
    match: MatchReport | None = None  # "not in our catalog": precision and recall of the verdict


def run_eval(
    encoder: Encoder,
    *,
    tasks: Sequence[str] = TASKS,
    fmnist_dir: Path | str | None = None,
    n_index: int | None = None,
    n_query: int | None = None,
    catalog: Path | None = None,
    recipes: Sequence[str] = augment.RECIPE_NAMES,
    n_per_recipe: int = 1,
    seed: int = 0,
    batch_size: int = 64,
    cache_dir: Path | None = None,
    progress: bool = True,
    full: bool = False,
) -> EvalReport:
    """Run the chosen tasks and score the encoder against both baselines.

    n_index/n_query None = a sample of 5,000/1,000 (minutes), or with full=True all 60,000/10,000 (about
    40 minutes on two cores; `cache_dir` keeps the embeddings for the next run). catalog None = the demo
    catalog.
    """
    unknown = [t for t in tasks if t not in TASKS]
    if unknown or not tasks:
        raise LookalikeError(
            f"unknown evaluation task(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(TASKS)}"
        )
    started = time.perf_counter()
    category = same = scene = match = None
    if "category" in tasks:
        category = category_eval(
            encoder,
            fmnist_dir=fmnist_dir,
            n_index=n_index,
            n_query=n_query,
            seed=seed,
            batch_size=batch_size,
            cache_dir=cache_dir,
            progress=progress,
            full=full,
        )
    if "same-product" in tasks:
        same = same_product_eval(
            encoder,
            catalog,
            recipes=recipes,
            n_per_recipe=n_per_recipe,
            seed=seed,
            batch_size=min(batch_size, 32),
            progress=progress,
        )
        scene = scene_eval(encoder, catalog, seed=seed, progress=progress)
    if "match" in tasks:
        match = match_eval(encoder, catalog, seed=seed, progress=progress)
    return EvalReport(
        encoder=encoder.name,
        dim=encoder.dim,
        seed=seed,
        category=category,
        same_product=same,
        seconds=time.perf_counter() - started,
        scene=scene,
        match=match,
    )
