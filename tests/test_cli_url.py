"""`lookalike search URL`: the shop owner's command fetches the photo, from the local network too."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from lookalike.cli import app


def test_search_by_url_fetches_the_photo(settings, catalog_copy: Path, site, monkeypatch) -> None:
    for folder in catalog_copy.iterdir():  # two categories: quick to index
        if folder.is_dir() and folder.name not in ("Juices", "Footwear"):
            shutil.rmtree(folder)
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    assert runner.invoke(app, ["index", str(catalog_copy), "--no-progress"]).exit_code == 0
    photo = catalog_copy / "Footwear" / "yellow-plimsolls-3.png"
    site.pages["/shop/plimsolls.png"] = (200, {"Content-Type": "image/png"}, photo.read_bytes())

    res = runner.invoke(
        app, ["search", site.url("/shop/plimsolls.png", host="localhost"), "-k", "2", "--json"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)[0]["product_id"] == "yellow-plimsolls"
    assert site.paths() == ["/shop/plimsolls.png"]  # loopback is fine on the owner's own command line

    res = runner.invoke(app, ["search", site.url("/shop/gone.png")])
    assert res.exit_code == 1 and "HTTP 404" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["search", "ftp://127.0.0.1/x.png"])
    assert res.exit_code == 1 and "only http and https" in res.output
