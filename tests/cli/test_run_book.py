"""``fx run`` on a book of three pairs, in a real process: a line per pair per stage, the
pairs side by side, the pooled candidate beside the per-pair ones, the book's verdict, and
a pair that fails stopping alone while the others go through, named at the end."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from fx_assets.core.ingestion.sources import EcbSource
from tests.support.fx_process import fx_env

START, END = date(2016, 1, 4), date(2026, 10, 30)


def _book_csv(path: Path) -> Path:
    """EUR/USD and GBP/USD since 2016, and only USD/JPY's last 150 days: too little for
    its training, enough for its bars and features."""
    frames = []
    for pair in ("EURUSD", "GBPUSD", "USDJPY"):
        bars = EcbSource().fetch(START, END, pair=pair).assign(pair=pair)
        frames.append(bars.tail(150) if pair == "USDJPY" else bars)
    book = pd.concat(frames, ignore_index=True)
    book["date"] = book["date"].dt.strftime("%Y-%m-%d")
    book.to_csv(path, index=False)
    return path


@pytest.mark.timeout(1200)
def test_fx_run_runs_the_book_and_a_failed_pair_stops_alone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    csv = _book_csv(tmp_path / "book.csv")
    done = subprocess.run(
        [sys.executable, "-m", "fx_assets.cli.main", "run"],
        env=fx_env(
            home,
            FX_SOURCE=f"csv:{csv}",
            FX_PAIRS="EURUSD,GBPUSD,USDJPY",
            FX_MAX_PARALLEL="2",
        ),
        capture_output=True,
        text=True,
        timeout=1100,
    )
    out, err = done.stdout, done.stderr
    assert done.returncode == 1, err[-3000:]
    lines = out.splitlines()

    def stage(name: str) -> list[str]:
        """The indented lines under the stage's header, up to the next header."""
        start = next(i for i, line in enumerate(lines) if line.startswith(f"{name}:"))
        block = []
        for line in lines[start + 1 :]:
            if not line.startswith("  "):
                break
            block.append(line)
        return block

    # One run of the book's bars, a line per pair.
    assert lines[0].startswith("etl: 3 pair(s)") and "1 run(s)" in lines[0]
    etl = stage("etl")
    assert any(line.split()[:3] == ["USDJPY", "150", "bars"] for line in etl), etl
    # Training: two champions, the pooled candidate scored beside each winner, and
    # USD/JPY (150 rows) failing alone.
    training = [line for line in lines if line.startswith("  ") and "champion v" in line]
    assert [line.split()[0] for line in training] == ["EURUSD", "GBPUSD"], out
    assert all("pooled " in line or line.split()[1] == "pooled" for line in training)
    assert "  USDJPY  failed (see the end)" in lines
    forecasts = [line for line in lines if "forecast for" in line]
    assert [line.split()[0] for line in forecasts] == ["EURUSD", "GBPUSD"]
    assert "GBP/USD" in forecasts[1] and "[gbp_usd_direction v1]" in forecasts[1]
    (book,) = [line for line in lines if line.startswith("book: ")]
    assert "of 2 pairs at p < 0.05 unadjusted" in book and "after adjustment (Holm" in book
    # The end names the failed pair and its step, in a few lines, with no traceback.
    errors = err.strip().splitlines()
    at = next(i for i, line in enumerate(errors) if line.startswith("fx run: error:"))
    assert at == 0, err  # and nothing before it (MLflow once printed "Successfully registered")
    assert errors[at] == "fx run: error: 1 of 3 pairs failed: USDJPY"
    assert errors[at + 1] == "training_job failed at step fx_split for USDJPY"
    assert "Traceback" not in err

    # Each pair has its own registered model and rows; the seed's names answer EUR/USD's.
    with sqlite3.connect(home / "warehouse.db") as conn:
        pairs = conn.execute("SELECT DISTINCT pair FROM fx_predictions ORDER BY pair").fetchall()
        assert pairs == [("EURUSD",), ("GBPUSD",)]
        seed = conn.execute("SELECT count(*) FROM eur_usd_predictions").fetchone()[0]
        eur = conn.execute("SELECT count(*) FROM fx_predictions WHERE pair = 'EURUSD'").fetchone()[
            0
        ]
        assert seed == eur > 0
        verdict = conn.execute("SELECT pair FROM fx_backtest_book ORDER BY pair").fetchall()
        assert verdict == [("EURUSD",), ("GBPUSD",)]
    with sqlite3.connect(home / "mlflow.db") as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM registered_models")}
    assert names == {"eur_usd_direction", "gbp_usd_direction"}
