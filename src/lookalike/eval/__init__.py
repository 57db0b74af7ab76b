"""Retrieval evaluation: does the encoder + Qdrant find what a shopper means, and by how much over baselines?

Two tasks, each scored for the encoder and, in the same run, for two baselines (a random ranking and
raw-pixel cosine similarity by brute force):

* category relevance on Fashion-MNIST (`category`): a result is relevant when it has the query's class;
* same-product recall on a catalog (`same_product`): augmented photos of each product must find it.

Modules: `metrics` (pure ranking metrics), `baselines` (raw pixels, random), `fashion_mnist` (the data),
`augment` (seeded shopper-photo recipes), `category`, `same_product` (the two pipelines), `run` (both,
as one report), `report` (tables and plot).
"""

from lookalike.eval.category import default_cache_dir
from lookalike.eval.report import format_table, plot
from lookalike.eval.run import TASKS, EvalReport, run_eval

__all__ = ["TASKS", "EvalReport", "default_cache_dir", "format_table", "plot", "run_eval"]
