"""The read model per pair, and the book's rows: each pair sees its own rows only, and the
book's skill verdict is the adjusted one once the evaluation's table exists."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from fx_assets.core.contracts import BACKTEST_SUMMARY, DRIFT, FINAL, PREDICTIONS, RAW
from fx_assets.core.contracts.book import BACKTEST_BOOK
from fx_assets.core.domain import FEATURES
from fx_assets.core.evaluation.book import judge
from fx_assets.core.pairs import PairError
from fx_assets.core.readmodel import data
from fx_assets.core.readmodel.book import read_book
from fx_assets.core.readmodel.monitoring import read_monitoring
from fx_assets.core.readmodel.predictions import newest_forecast, predictions_with_outcomes
from fx_assets.core.readmodel.status import monitoring_status
from fx_assets.core.readmodel.stores import open_warehouse
from fx_assets.core.warehouse import Warehouse
from tests.support.frames import backtest_summary_frame, predictions_frame, raw_bars

EUR_DAYS = pd.bdate_range("2024-01-01", periods=80)
# GBP/USD: a shorter, later history, so a read of the wrong pair shows at once.
GBP_DAYS = pd.bdate_range("2024-02-01", periods=50)
TODAY = date(2024, 5, 1)


def fill_pair(url: str, pair: str, days: pd.DatetimeIndex, forecasts: int, p: float) -> None:
    wh = Warehouse(url).for_pair(pair)
    final = pd.DataFrame({"date": days, **{f: 0.0 for f in FEATURES}})
    final["target"] = pd.array([1] * (len(days) - 1) + [None], "Int64")
    wh.replace_all(RAW, raw_bars(days))
    wh.replace_all(FINAL, final)
    preds = predictions_frame([1] * forecasts, start=str(days[-forecasts].date()))
    wh.replace_all(PREDICTIONS, preds.assign(model_name=f"{pair[:3].lower()}_usd_direction"))
    wh.replace_all(BACKTEST_SUMMARY, backtest_summary_frame(always_up_p=p, pair=pair))


def drift_rows(drifted: bool) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "feature": ["vol_5"],
            "window_end": [pd.Timestamp("2024-04-01")],
            "model_version": ["1"],
            "reference_start": [pd.Timestamp("2020-01-01")],
            "reference_end": [pd.Timestamp("2023-12-29")],
            "window_start": [pd.Timestamp("2024-03-01")],
            "psi": [0.5 if drifted else 0.01],
            "ks_stat": [0.5 if drifted else 0.01],
            "ks_pvalue": [0.5],
            "drifted": [drifted],
        }
    )


@pytest.fixture
def two_pairs(warehouse_url: str) -> str:
    fill_pair(warehouse_url, "EURUSD", EUR_DAYS, 30, p=0.41)
    fill_pair(warehouse_url, "GBPUSD", GBP_DAYS, 12, p=0.004)
    Warehouse(warehouse_url).for_pair("GBPUSD").replace_all(DRIFT, drift_rows(True))
    Warehouse(warehouse_url).for_pair("EURUSD").replace_all(DRIFT, drift_rows(False))
    return warehouse_url


def test_every_read_is_one_pairs(two_pairs: str) -> None:
    wh = open_warehouse(two_pairs)
    # The default is EUR/USD: today's callers read what they read before the book.
    assert len(predictions_with_outcomes(wh)) == 30
    gbp = predictions_with_outcomes(wh, pair="GBPUSD")
    assert len(gbp) == 12 and set(gbp["pair"]) == {"GBPUSD"}
    assert gbp["feature_date"].iloc[-1] == GBP_DAYS[-1]
    newest = newest_forecast(wh, pair="gbp/usd")  # any spelling of the pair
    assert newest is not None and newest["pair"] == "GBPUSD"
    assert newest["model_name"] == "gbp_usd_direction"
    assert data.newest_bar(wh, pair="GBPUSD") == GBP_DAYS[-1].date()
    assert data.newest_bar(wh) == EUR_DAYS[-1].date()
    assert len(data.prices(wh, pair="GBPUSD")) == 50
    assert data.spans(wh, pair="GBPUSD")[0].rows == 50
    assert read_monitoring(wh, pair="GBPUSD").drift["drifted"].tolist() == [True]
    assert read_monitoring(wh).drift["drifted"].tolist() == [False]
    assert monitoring_status(wh, pair="GBPUSD").checks_failed == {"feature_drift": True}
    assert monitoring_status(wh).checks_failed == {"feature_drift": False}
    # A pair with no rows reads empty, never another pair's rows.
    assert predictions_with_outcomes(wh, pair="USDJPY").empty
    assert newest_forecast(wh, pair="USDJPY") is None
    with pytest.raises(PairError, match="not a currency pair"):
        newest_forecast(wh, pair="EUR")


def test_the_book_has_a_row_per_pair_in_its_order(two_pairs: str) -> None:
    wh = open_warehouse(two_pairs)
    book = read_book(wh, ("GBPUSD", "EURUSD", "USDJPY"), registry=None, today=TODAY, stale_after=3)
    assert [r.pair for r in book.rows] == ["GBPUSD", "EURUSD", "USDJPY"]
    gbp, eur, jpy = book.rows
    assert gbp.label == "GBP/USD" and gbp.model_name == "gbp_usd_direction"
    assert gbp.forecast is not None and gbp.forecast["feature_date"] == GBP_DAYS[-1]
    assert gbp.probability_up == pytest.approx(0.6)
    assert gbp.newest_bar == GBP_DAYS[-1].date() and gbp.stale  # April 10 is weeks behind
    assert gbp.drift is not None and gbp.drift.fired
    assert eur.drift is not None and not eur.drift.fired
    assert gbp.decay is None  # no performance rows yet
    assert gbp.skill is not None and gbp.skill.skilful and not gbp.skill.adjusted
    assert gbp.skill.shown == "better than always-up, p = 0.004 (unadjusted)"
    assert eur.skill is not None and eur.skill.skilful is False
    # The pair with nothing yet: every part empty, none borrowed from another pair.
    assert jpy.forecast is None and jpy.skill is None and jpy.drift is None
    assert jpy.newest_bar is None and jpy.stale
    assert book.headline == (
        "1 of 2 pairs at p < 0.05 against always-up, not yet adjusted for testing 2 pairs:"
        " by chance alone about 0.10 would be"
    )
    assert not book.adjusted


def test_the_adjusted_verdict_slots_in_once_the_book_table_exists(two_pairs: str) -> None:
    """The book's table as the verdict asset writes it: GBP/USD at p = 0.03 is skilful
    unadjusted, not after Holm's adjustment for two pairs (0.06)."""
    skill = pd.DataFrame(
        {
            "pair": ["EURUSD", "GBPUSD"],
            "n": [500, 500],
            "accuracy": [0.49, 0.55],
            "ci_low": [0.45, 0.51],
            "ci_high": [0.53, 0.59],
            "always_up_accuracy": [0.50, 0.50],
            "p_value": [0.41, 0.03],
        }
    )
    verdict = judge(skill)
    Warehouse(two_pairs).replace_all(BACKTEST_BOOK, BACKTEST_BOOK.validate(verdict.table))
    book = read_book(
        open_warehouse(two_pairs), ("EURUSD", "GBPUSD"), registry=None, today=TODAY, stale_after=3
    )
    gbp = book.row("GBPUSD")
    assert gbp is not None and gbp.skill is not None and gbp.skill.adjusted
    assert gbp.skill.p_holm == pytest.approx(0.06) and gbp.skill.skilful_adjusted is False
    assert gbp.skill.shown == "no skill after adjusting for the book (Holm p = 0.06)"
    assert book.adjusted
    # The asset's headline, word for word, from the stored p-values.
    assert book.headline == verdict.headline
    assert book.headline.startswith("1 of 2 pairs at p < 0.05 unadjusted")
    assert book.headline.endswith("0 after adjustment (Holm; BH 0): no pair shows skill")
