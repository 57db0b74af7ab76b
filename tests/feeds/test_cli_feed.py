"""`lookalike index-feed` as a shop owner runs it: the report, the failures listed, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lookalike.cli import app

from .conftest import Shop, merchant_tsv, stock


@pytest.fixture
def run(settings, monkeypatch):  # settings: a private LOOKALIKE_DATA_DIR for every invocation
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("LOOKALIKE_FETCH_READ_TIMEOUT", "2")
    monkeypatch.setenv("LOOKALIKE_FETCH_RETRIES", "0")
    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args])


def test_index_feed_reports_lists_failures_and_hits_carry_the_offer(
    run, shop: Shop, demo_catalog: Path
) -> None:
    products = [p for p in stock(shop, demo_catalog) if p.get("id") in ("wine-red", "gone-404", "no-photo")]
    url = shop.put("/shop.tsv", merchant_tsv(products), "text/plain")
    res = run("index-feed", url, "--no-progress")
    assert res.exit_code == 0, res.output
    assert "indexed feed 'shop' (merchant-tsv" in res.output and "1 new" in res.output
    assert "1 embedded" in res.output
    assert "missing.png: HTTP 404" in res.output  # the failed image, listed
    assert "line 4 (id 'no-photo'): no image_link" in res.output  # the skipped row, listed

    again = run("index-feed", url, "--no-progress")
    assert again.exit_code == 0, again.output
    assert "1 unchanged" in again.output and "0 embedded" in again.output and "1 not modified" in again.output

    found = run("search", demo_catalog / "Alcohol" / "red-wine-1.png", "--region", "whole", "--json")
    assert found.exit_code == 0, found.output
    top = json.loads(found.output)[0]
    assert (top["product_id"], top["title"], top["price"], top["currency"]) == (
        "wine-red",
        "Red wine",
        12.5,
        "EUR",
    )


def test_an_xml_bomb_is_a_clear_error_not_a_traceback(run, shop: Shop) -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><rss>&b;</rss>'
    res = run("index-feed", shop.put("/bomb.xml", bomb, "application/xml"))
    assert res.exit_code == 1
    assert "XML bomb" in res.output and "Traceback" not in res.output
    res = run("index-feed", shop.url("/gone.tsv"))
    assert res.exit_code == 1 and "cannot download the feed" in res.output and "404" in res.output
