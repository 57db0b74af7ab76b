"""Presenting an EvalReport: markdown tables (encoder next to both baselines) and a PNG plot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lookalike.errors import LookalikeError
from lookalike.eval import augment, fashion_mnist
from lookalike.eval.diversity import format_diversity_table
from lookalike.eval.match_decision import format_match_table
from lookalike.eval.metrics import K
from lookalike.eval.run import EvalReport
from lookalike.eval.scene_search import format_scene_table


def _md(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def format_table(report: EvalReport) -> str:
    """Markdown tables: the encoder next to both baselines, measured in the same run."""
    out: list[str] = [f"## Retrieval evaluation: {report.encoder} ({report.dim}-d), seed {report.seed}", ""]
    if report.category is not None:
        c = report.category
        methods = c.methods
        out += [f"### Category relevance: {c.dataset}, {c.n_index:,} indexed, {c.n_query:,} queries", ""]
        if c.n_index < c.n_train or c.n_query < c.n_test:
            out += [
                f"A sample of the {c.n_train:,} train / {c.n_test:,} test images (`lookalike eval --full` "
                "runs them all, about 40 minutes on two cores).",
                "",
            ]
        rows = [
            ("precision@1", "precision_at_1"),
            ("precision@10", "precision_at_10"),
            ("recall@10 (hit rate: ≥1 same class in top 10)", "hit_rate_at_10"),
            ("mAP@10", "map_at_10"),
        ]
        out += _md(
            ["metric", *(m.method for m in methods)],
            [[label, *(f"{getattr(m, attr):.3f}" for m in methods)] for label, attr in rows],
        )
        out += ["", "Precision@10 per class:", ""]
        out += _md(
            ["class", "queries", *(m.method for m in methods)],
            [
                [
                    name,
                    str(c.query_per_class.get(name, 0)),
                    *(f"{m.per_class_precision_at_10.get(name, 0):.3f}" for m in methods),
                ]
                for name in fashion_mnist.CLASS_NAMES
                if c.query_per_class.get(name)
            ],
        )
        out += ["", f"Raw pixels: {c.pixel_baseline}. Encoder input: {c.rendering}.", ""]
    if report.same_product is not None:
        s = report.same_product
        methods = s.methods
        out += [
            f"### Same-product recall: {s.photos} photos of {s.products} products, "
            f"{s.queries} augmented queries ({s.n_per_recipe} per photo and recipe; one for the "
            f"deterministic {', '.join(sorted(augment.DETERMINISTIC))})",
            "",
        ]
        rows = []
        for scope, pick in [("all recipes", lambda m: m.overall), ("core recipes", lambda m: m.core)]:
            for label, attr in [
                ("recall@1", "recall_at_1"),
                ("recall@5", "recall_at_5"),
                ("recall@10", "recall_at_10"),
                ("MRR@10", "mrr"),
            ]:
                rows.append([f"{label} ({scope})", *(f"{getattr(pick(m), attr):.3f}" for m in methods)])
        out += _md(["metric", *(m.method for m in methods)], rows)
        out += ["", "Per augmentation (recall@1 / recall@5):", ""]
        out += _md(
            ["recipe", "queries", *(m.method for m in methods)],
            [
                [
                    r + (" (core)" if r in s.core_recipes else ""),
                    str(methods[0].per_recipe[r].queries),
                    *(
                        f"{m.per_recipe[r].recall_at_1:.3f} / {m.per_recipe[r].recall_at_5:.3f}"
                        for m in methods
                    ),
                ]
                for r in s.recipes
            ],
        )
        out += ["", f"Raw pixels: {s.pixel_baseline}. Core recipes: {', '.join(s.core_recipes)}.", ""]
        if s.diversity is not None:
            out += [format_diversity_table(s.diversity)]
    if report.scene is not None:
        out += [format_scene_table(report.scene)]
    if report.match is not None:
        out += [format_match_table(report.match)]
    out.append(f"Total time {report.seconds:.0f}s.")
    return "\n".join(out)


def plot(report: EvalReport, path: Path | str) -> Path:
    """PNG: precision@10 per class (bars) and recall@k curves, encoder vs baselines (Agg, no display)."""
    from matplotlib.figure import Figure  # no pyplot: no global backend state, safe inside a server

    panels = int(report.category is not None) * 2 + int(report.same_product is not None)
    if not panels:
        raise LookalikeError("the report has no results to plot")
    fig = Figure(figsize=(6 * panels, 4.5))
    axes = fig.subplots(1, panels, squeeze=False)
    ax_iter = iter(axes[0])
    ks = list(range(1, K + 1))
    if report.category is not None:
        c = report.category
        ax = next(ax_iter)
        names = [n for n in fashion_mnist.CLASS_NAMES if c.query_per_class.get(n)]
        width = 0.8 / len(c.methods)
        for j, m in enumerate(c.methods):
            xs = np.arange(len(names)) + (j - (len(c.methods) - 1) / 2) * width
            ax.bar(xs, [m.per_class_precision_at_10.get(n, 0) for n in names], width, label=m.method)
        ax.set_xticks(np.arange(len(names)), names, rotation=45, ha="right")
        ax.set_ylim(0, 1)
        ax.set_ylabel("precision@10")
        ax.set_title(f"Fashion-MNIST precision@10 per class ({c.n_index:,} indexed)")
        ax.legend(fontsize=8)
        ax = next(ax_iter)
        for j, m in enumerate(c.methods):
            colour = f"C{j}"
            ax.plot(ks, m.hit_rate_curve, marker="o", color=colour, label=f"{m.method} hit rate@k")
            ax.plot(ks, m.precision_curve, ls="--", marker=".", color=colour, label=f"{m.method} precision@k")
        ax.set_xlabel("k")
        ax.set_ylim(0, 1.02)
        ax.set_title("Fashion-MNIST: recall (hit rate) and precision @k")
        ax.legend(fontsize=7)
    if report.same_product is not None:
        s = report.same_product
        ax = next(ax_iter)
        for m in s.methods:
            ax.plot(ks, m.recall_curve, marker="o", label=m.method)
        ax.set_xlabel("k")
        ax.set_ylabel("recall@k (source product in top k)")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"Same-product recall@k, {s.queries} augmented queries")
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)  # Agg renders PNG
    return path
