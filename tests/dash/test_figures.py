"""Figure builders and panels of the dashboard, as plain functions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd

from fx_assets.core.models.registry import (
    TAG_LIFECYCLE,
    TAG_TEST_PR_AUC,
    TAG_TRAINING_CUTOFF,
    Version,
)
from fx_assets.core.readmodel.accuracy import rolling_accuracy
from fx_assets.core.readmodel.predictions import join_outcomes
from fx_assets.core.readmodel.registry import ModelHistory
from fx_dash.figures import (
    CLOSE_ONLY_LABEL,
    price_figure,
    rolling_accuracy_figure,
)
from fx_dash.panels import (
    accuracy_panel,
    forecast_panel,
    model_panel,
    table_page,
    table_records,
)
from fx_dash.reader import Snapshot, window_start
from tests.support.frames import final_frame, predictions_frame


def bars(n: int, *, ohlc: bool, start: str = "2024-01-01") -> pd.DataFrame:
    dates = pd.bdate_range(start, periods=n)
    close = 1.10 + 0.001 * np.arange(n)
    frame = pd.DataFrame({"date": dates, "close": close})
    for col, shift in (("open", 0.0), ("high", 0.002), ("low", -0.002)):
        frame[col] = close + shift if ohlc else np.nan
    return frame[["date", "open", "high", "low", "close"]]


def text_of(component: Any) -> str:
    """All text inside a Dash component tree."""
    if isinstance(component, (list, tuple)):
        return " ".join(text_of(c) for c in component)
    if isinstance(component, str):
        return component
    children = getattr(component, "children", None)
    return text_of(children) if children is not None else ""


def test_close_only_source_draws_a_labelled_close_line() -> None:
    prices = bars(30, ohlc=False)
    fig = price_figure(prices)
    assert [t["type"] for t in fig["data"]] == ["scatter"]
    assert fig["data"][0]["name"] == CLOSE_ONLY_LABEL
    assert fig["data"][0]["mode"] == "lines"
    assert len(fig["data"][0]["y"]) == 30


def test_the_price_axis_counts_the_quote_per_one_of_the_pairs_base() -> None:
    prices = bars(30, ohlc=False)
    assert price_figure(prices)["layout"]["yaxis"]["title"]["text"] == "USD per EUR"
    gbp = price_figure(prices, label="GBP/USD")
    assert gbp["layout"]["yaxis"]["title"]["text"] == "USD per GBP"
    jpy = price_figure(prices, label="USD/JPY")
    assert jpy["layout"]["yaxis"]["title"]["text"] == "JPY per USD"


def test_ohlc_source_draws_candlesticks() -> None:
    prices = bars(30, ohlc=True)
    fig = price_figure(prices)
    assert [t["type"] for t in fig["data"]] == ["candlestick"]
    candles = fig["data"][0]
    assert candles["high"][0] == round(1.10 + 0.002, 5)
    assert fig["layout"]["xaxis"]["rangeslider"]["visible"] is False


def test_source_change_inside_the_window_draws_both() -> None:
    prices = pd.concat([bars(10, ohlc=False), bars(10, ohlc=True, start="2024-01-15")])
    fig = price_figure(prices)
    kinds = {t["type"]: t for t in fig["data"]}
    assert set(kinds) == {"candlestick", "scatter"}
    assert kinds["scatter"]["x"][-1] < kinds["candlestick"]["x"][0]


def test_prediction_markers_sit_at_the_target_date_on_the_feature_close() -> None:
    prices = bars(10, ohlc=True)
    preds = predictions_frame([1, 0, 1], start="2024-01-03")
    joined = join_outcomes(preds, final_frame(preds["feature_date"], [1, 1, None]))
    fig = price_figure(prices, joined)
    markers = {t["name"]: t for t in fig["data"] if t.get("mode") == "markers"}
    up, down = markers["predicted up"], markers["predicted down or flat"]
    assert up["x"] == ["2024-01-04", "2024-01-08"]  # Friday 01-05's target is Monday
    assert up["y"][0] == round(prices.set_index("date").loc["2024-01-03", "close"], 5)
    assert up["marker"]["symbol"] == "triangle-up" and down["marker"]["symbol"] == "triangle-down"
    assert "came true" in up["hovertext"][0]
    assert "did not come true" in down["hovertext"][0]
    assert "not resolved yet" in up["hovertext"][1]
    assert len(price_figure(prices, None)["data"]) == 1


def test_empty_inputs_give_explanations_not_errors() -> None:
    fig = price_figure(bars(0, ohlc=False))
    assert fig["data"] == [] and "No prices yet" in fig["layout"]["annotations"][0]["text"]
    rolling = rolling_accuracy_figure(rolling_accuracy(join_outcomes(None, None)))
    assert "No resolved prediction yet" in rolling["layout"]["annotations"][0]["text"]


def test_rolling_figure_has_the_band_the_model_and_the_baseline() -> None:
    preds = predictions_frame([1] * 30)
    joined = join_outcomes(preds, final_frame(preds["feature_date"], [1, 0] * 15))
    fig = rolling_accuracy_figure(rolling_accuracy(joined))
    names = [t["name"] for t in fig["data"]]
    assert names == ["95% band", "95% band", "model, last 60", "always up, same days"]
    assert fig["data"][1]["fill"] == "tonexty"
    # Every resolved forecast has a point: the window holds what there is (n says how many).
    assert fig["data"][2]["y"][-1] == 0.5 and len(fig["data"][2]["y"]) == 30
    low, high, model = (fig["data"][i]["y"] for i in (0, 1, 2))
    assert all(lo <= m <= hi for lo, m, hi in zip(low, model, high, strict=True))


def test_window_start_for_each_range() -> None:
    newest = date(2024, 6, 28)
    assert window_start(newest, "1M") == date(2024, 5, 28)
    assert window_start(newest, "5Y") == date(2019, 6, 28)
    assert window_start(newest, "All") is None
    assert window_start(None, "6M") is None


def test_forecast_panel_states() -> None:
    preds = predictions_frame([1, 0])
    joined = join_outcomes(preds, final_frame(preds["feature_date"], [1, None]))
    text = text_of(forecast_panel(Snapshot(predictions=joined, newest_final=date(2024, 1, 2))))
    assert "Forecast for Wed 2024-01-03" in text
    assert "DOWN OR FLAT" in text and "p(up) 40.0%" in text
    assert "feature date 2024-01-02" in text and "eur_usd_direction version 3" in text
    stale = Snapshot(predictions=joined, newest_final=date(2024, 1, 5))
    assert "newer than this forecast" in text_of(forecast_panel(stale))
    assert "No forecast yet" in text_of(forecast_panel(Snapshot()))
    assert "Nothing to show" in text_of(forecast_panel(Snapshot(message="x")))


def test_accuracy_panel_shows_n_beside_every_percentage() -> None:
    preds = predictions_frame([1, 1, 0, 1, 0, 1, 1])
    joined = join_outcomes(preds, final_frame(preds["feature_date"], [1, 0, 0, 1, 1, 1, None]))
    text = text_of(accuracy_panel(Snapshot(predictions=joined)))
    assert text.count("66.7%") == 6  # model and always-up, in each of the three cards
    assert text.count("n = 6 (4 right)") == 3
    assert "(4 of the same 6 days)" in text
    assert "only 6 of 20 resolved so far" in text
    pending = join_outcomes(predictions_frame([1]), None)
    assert "No prediction resolved yet" in text_of(accuracy_panel(Snapshot(predictions=pending)))


def test_table_records_newest_first_with_results() -> None:
    preds = predictions_frame([1, 0, 1])
    joined = join_outcomes(preds, final_frame(preds["feature_date"], [1, 1, None]))
    rows = table_records(joined)
    assert [r["result"] for r in rows] == ["pending", "wrong", "correct"]
    assert rows[0]["actual"] == "pending" and rows[1]["predicted"] == "down or flat"
    assert rows[2]["probability_up"] == "60.0%" and rows[2]["feature_date"] == "2024-01-01"


def _version(number: str, lifecycle: str, aliases: tuple[str, ...] = ()) -> Version:
    return Version(
        version=number,
        aliases=aliases,
        tags={TAG_LIFECYCLE: lifecycle, TAG_TRAINING_CUTOFF: "2024-06-28", TAG_TEST_PR_AUC: "0.53"},
        run_id=None,
        created_at=datetime(2024, 7, 1, tzinfo=UTC),
    )


def test_model_panel_lists_champion_and_versions() -> None:
    champion = _version("4", "champion", ("champion",))
    challenger = _version("5", "rejected", ("challenger",))
    panel = ModelHistory(
        champion=champion,
        challenger=challenger,
        versions=[challenger, champion, _version("3", "archived")],
    )
    text = text_of(model_panel(panel))
    assert "eur_usd_direction version 4" in text
    assert "2024-06-28" in text and "0.530" in text
    assert "version 5 (rejected)" in text
    for state in ("champion", "rejected", "archived"):
        assert state in text
    message = text_of(model_panel(ModelHistory(message="No champion yet: x")))
    assert message.startswith("No champion yet")


def test_table_pages_ten_rows_newest_first() -> None:
    preds = predictions_frame([1, 0] * 12 + [1])
    joined = join_outcomes(preds, final_frame(preds["feature_date"], [1] * 24 + [None]))
    records = table_records(joined)
    rows, page, label = table_page(records, 0)
    body = rows[1].children
    assert (page, label, len(body)) == (0, "page 1 of 3", 10)
    assert body[0].className == "pending" and body[1].className == "wrong"
    assert body[2].className == "correct"
    assert text_of(body[0].children[0]) == records[0]["feature_date"]
    rows, page, label = table_page(records, 99)
    assert (page, label, len(rows[1].children)) == (2, "page 3 of 3", 5)
    assert table_page([], -1)[1:] == (0, "page 1 of 1")
