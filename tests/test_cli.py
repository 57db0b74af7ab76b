"""The CLI as a user runs it: exit codes, tables, JSON, clear errors without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lookalike.cli import app


@pytest.fixture
def run(settings, monkeypatch):  # settings: private LOOKALIKE_DATA_DIR for every invocation
    monkeypatch.setenv("COLUMNS", "200")  # tables as wide as a real terminal, not wrapped at 80
    runner = CliRunner()

    def _run(*args: str):
        return runner.invoke(app, [str(a) for a in args])

    return _run


def test_index_search_info_end_to_end(run, catalog_copy: Path) -> None:
    res = run("index", catalog_copy, "--no-progress")
    assert res.exit_code == 0, res.output
    assert "45 new" in res.output and "45 embedded" in res.output

    query = catalog_copy / "Footwear" / "yellow-plimsolls-3.png"
    res = run("search", query, "--top-k", "3", "--json")
    assert res.exit_code == 0, res.output
    hits = json.loads(res.output)
    assert [h["rank"] for h in hits] == [1, 2, 3]
    assert hits[0]["product_id"] == "yellow-plimsolls"
    assert hits[0]["score"] >= hits[1]["score"] >= hits[2]["score"]

    res = run("search", query, "--category", "Juices", "--json")
    assert res.exit_code == 0, res.output
    assert {h["category"] for h in json.loads(res.output)} == {"Juices"}

    res = run("search", query, "-k", "2")
    assert res.exit_code == 0 and "yellow-plimsolls" in res.output and "rank" in res.output

    res = run("similar", "white-hoodie", "--unlike", "black-hoodie", "--json")
    assert res.exit_code == 0, res.output
    ids = [h["product_id"] for h in json.loads(res.output)]
    assert "white-hoodie" not in ids and "black-hoodie" not in ids

    res = run("info", "--json")
    info = json.loads(res.output)
    assert info["points"] == 45 and info["encoder"] == "efficientnet-lite0" and info["dim"] == 1280
    assert info["categories"]["Polo Shirts"] == 4


def test_empty_folder_fails_with_a_clear_message(run, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    res = run("index", tmp_path / "empty")
    assert res.exit_code != 0
    assert "no product images found" in res.output
    assert "Traceback" not in res.output


def test_bad_query_and_unknown_category_are_clear_errors(run, catalog_copy: Path, tmp_path: Path) -> None:
    run("index", catalog_copy, "--no-progress")
    bad = tmp_path / "q.jpg"
    bad.write_text("not a photo")
    res = run("search", bad)
    assert res.exit_code == 1 and "not an image" in res.output
    res = run("search", catalog_copy / "Juices" / "orange-juice-1.png", "--category", "Nope")
    assert res.exit_code == 1 and "no category 'Nope'" in res.output


def test_info_before_any_index_says_what_to_do(run) -> None:
    res = run("info")
    assert res.exit_code == 0, res.output
    assert "images      0" in res.output and "run `lookalike index FOLDER`" in res.output


def test_encoders_lists_the_default(run) -> None:
    res = run("encoders")
    assert res.exit_code == 0 and "efficientnet-lite0" in res.output and "present" in res.output


def test_eval_command_prints_the_encoder_against_both_baselines(
    run, demo_catalog: Path, tmp_path: Path
) -> None:
    import shutil

    small = tmp_path / "small"
    for category in (
        "Hoodies",
        "Paints",
    ):  # a small catalog keeps this test quick; test_evaluate does the rest
        shutil.copytree(demo_catalog / category, small / category)
    res = run("eval", "--task", "same-product", "--catalog", small, "--json")
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    methods = {m["method"]: m for m in report["same_product"]["methods"]}
    assert set(methods) == {"efficientnet-lite0", "raw pixels", "random"}
    res = run("eval", "--task", "nope")
    assert res.exit_code == 1 and "unknown evaluation task" in res.output


def test_serving_off_loopback_without_a_key_or_login_is_refused(run) -> None:
    res = run("serve", "--host", "0.0.0.0")
    assert res.exit_code == 2 and "LOOKALIKE_API_KEY" in res.output
    res = run("serve", "--host", "127.example.com")  # a name, not 127.0.0.0/8 (and it does not resolve)
    assert res.exit_code == 2 and "LOOKALIKE_API_KEY" in res.output
    res = run("ui", "--host", "0.0.0.0")
    assert res.exit_code == 2 and "--auth" in res.output
    res = run("ui", "--auth", "nocolon")
    assert res.exit_code == 2 and "user:password" in res.output
