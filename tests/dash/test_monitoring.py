"""The dashboard's monitoring panel: its data, empty states and figures (no browser)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from fx_assets.core.alerts import Alert, AlertConfig, Notifier
from fx_assets.core.contracts import FINAL, PREDICTIONS
from fx_assets.core.domain import FEATURES
from fx_assets.core.monitoring import drift, performance
from fx_assets.core.readmodel.monitoring import Monitoring
from fx_assets.core.warehouse import Warehouse
from fx_dash.monitoring import MonitoringPanel, load_monitoring, monitoring_panel, psi_figure


def _text(children: object) -> str:
    """All strings in a Dash component tree."""
    if isinstance(children, str):
        return children
    if isinstance(children, list | tuple):
        return " ".join(_text(c) for c in children)
    inner = getattr(children, "children", None)
    return "" if inner is None else _text(inner)


def test_a_missing_warehouse_gives_every_empty_state(tmp_path: Path) -> None:
    data = load_monitoring(f"sqlite:///{tmp_path / 'none.db'}")
    text = _text(monitoring_panel(data, today=date(2026, 12, 1)))
    assert "no bars stored yet" in text
    assert "No drift measured yet" in text
    assert "No alert sent yet" in text


def test_an_unreachable_warehouse_is_one_line_without_its_password() -> None:
    data = load_monitoring("postgresql://fx:hunter2@127.0.0.1:1/none")
    assert data.message and "hunter2" not in data.message
    assert "unreachable" in _text(monitoring_panel(data))


def test_predictions_and_alerts_fill_the_panel(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    wh = Warehouse(url).for_pair("EURUSD")
    dates = pd.bdate_range("2024-01-01", periods=120)
    rng = np.random.default_rng(0)
    final = pd.DataFrame({"date": dates, **{f: rng.normal(size=120) for f in FEATURES}})
    final["target"] = rng.integers(0, 2, 120)
    wh.replace_all(FINAL, final)
    p = rng.uniform(0.3, 0.7, 120)
    wh.insert_new(
        PREDICTIONS,
        pd.DataFrame(
            {
                "feature_date": dates,
                "target_date": dates + pd.offsets.BDay(1),
                "probability_up": p,
                "direction": (p >= 0.5).astype(int),
                "model_name": "eur_usd_direction",
                "model_version": "1",
                "predicted_at": datetime.now(UTC),
            }
        ),
    )
    Notifier(
        AlertConfig(webhook_url="http://127.0.0.1:1/hook", attempts=1, timeout=0.5), wh.engine
    ).send(Alert("check:feature_drift", "feature drift: vol_5", "PSI 3.1"))
    data = load_monitoring(url)
    assert data.newest_bar is None and len(data.found.alerts) == 1
    text = _text(monitoring_panel(data))
    # Realized accuracy is the page's one accuracy chart, not drawn again here.
    assert "Realized accuracy" not in text
    assert "feature drift: vol_5 (not delivered yet)" in text


def test_psi_figure_marks_the_drifted_features() -> None:
    rng = np.random.default_rng(2)
    reference = pd.DataFrame(
        {
            "date": pd.date_range("2020-01-01", periods=1000, freq="D"),
            "a": rng.normal(size=1000),
            "b": rng.normal(size=1000),
        }
    )
    window = pd.DataFrame(
        {
            "date": pd.bdate_range("2024-01-01", periods=60),
            # a: the reference's own quantiles, as alike as 60 rows can be; b: shifted.
            "a": np.quantile(reference["a"], np.linspace(0.01, 0.99, 60))[rng.permutation(60)],
            "b": rng.normal(3, size=60),
        }
    )
    rows = drift.compare(reference, window, ["a", "b"], "1")
    figure = psi_figure(rows)
    bar, marks = figure["data"]
    assert bar["y"] == ["a", "b"]  # sorted by KS distance, largest at the top
    assert bar["marker"]["color"][1] != bar["marker"]["color"][0]
    # Each feature is marked at its own threshold, and its hover text is its reason.
    assert marks["y"] == bar["y"]
    by_feature = rows.set_index("feature")["ks_threshold"]
    assert marks["x"] == [round(by_feature[f], 4) for f in marks["y"]]
    assert bar["text"][1].startswith("drifted: b (")
    # b's bar passes its mark, a's does not.
    assert bar["x"][1] > marks["x"][1] and bar["x"][0] < marks["x"][0]
    # Rows written before the column existed have no mark.
    old = psi_figure(rows.assign(ks_threshold=None))
    assert old["data"][1]["x"] == [None, None]
    text = _text(monitoring_panel(MonitoringPanel(Monitoring(drift=rows))))
    assert "drifted: 1 of 2 features: b (" in text


def test_prediction_share_table_from_the_performance_rows() -> None:
    resolved = pd.DataFrame(
        {
            "feature_date": pd.bdate_range("2024-01-01", periods=30),
            "probability_up": 0.6,
            "direction": 1,
            "actual": [1, 0] * 15,
        }
    )
    rows = performance.performance(resolved, performance.Reference(0.5, 0.4, 0.5))
    text = _text(monitoring_panel(MonitoringPanel(Monitoring(performance=rows))))
    assert "Prediction drift" in text and "100.0%" in text and "40.0%" in text
