"""Monitoring tables for a model, and the findings the WARN checks report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pytest

from fx_assets.core.features import FEATURES, build_features, build_final
from fx_assets.core.ingestion.sources import EcbSource
from fx_assets.core.models.champion import THRESHOLD
from fx_assets.core.monitoring import findings, report


@dataclass(frozen=True)
class Momentum:
    """A real, tiny model: P(up) rises with the last 20-day return."""

    version: str
    training_cutoff: date
    features: tuple[str, ...] = tuple(FEATURES)

    def probability_up(self, x: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-20 * x[:, self.features.index("ret_20d")]))


def _predictions(final: pd.DataFrame, model: Momentum) -> pd.DataFrame:
    rows = final[final["date"] > pd.Timestamp(model.training_cutoff)]
    p = model.probability_up(rows[FEATURES].to_numpy(float))
    return pd.DataFrame(
        {
            "feature_date": rows["date"],
            "probability_up": p,
            "direction": (p >= THRESHOLD).astype(int),
            "model_version": model.version,
        }
    )


@pytest.fixture(scope="module")
def ecb_bars() -> pd.DataFrame:
    return EcbSource.history()


def _model_before_last_window(final: pd.DataFrame, window: int = 60) -> Momentum:
    first_of_window = final["date"].iloc[-window]
    return Momentum("4", (first_of_window - pd.Timedelta(days=1)).date())


def test_ecb_history_is_quiet_and_a_planted_regime_fires(ecb_bars: pd.DataFrame) -> None:
    final = build_final(build_features(ecb_bars))
    model = _model_before_last_window(final)
    quiet = report.monitor(final, _predictions(final, model), model)
    finding = findings.feature_drift(quiet.drift)
    assert not finding.fired, finding.summary
    assert finding.metadata["features"] == len(FEATURES)

    bars = ecb_bars.copy()
    returns = np.log(bars["close"]).diff().fillna(0.0).to_numpy()
    returns[-80:] *= 4
    bars["close"] = bars["close"].iloc[0] * np.exp(np.cumsum(returns))
    shifted = build_final(build_features(bars))
    fired = findings.feature_drift(
        report.monitor(shifted, _predictions(shifted, model), model).drift
    )
    assert fired.fired and fired.summary.startswith("drifted: ")
    # The regime's feature is named with the rule that decided and its numbers.
    assert "vol_20" in fired.metadata["drifted"]
    assert "vol_20 (" in fired.summary and fired.metadata["rules"]["vol_20"] in ("ks", "range")
    assert "vol_20" in fired.alert_text()


def test_performance_tables_use_only_the_models_predictions(ecb_bars: pd.DataFrame) -> None:
    final = build_final(build_features(ecb_bars))
    model = Momentum("4", final["date"].iloc[-400].date())
    predictions = _predictions(final, model)
    other = predictions.assign(model_version="3")
    tables = report.monitor(final, pd.concat([predictions.iloc[:100], other.iloc[100:]]), model)
    assert tables.performance.loc[tables.performance["window"] == "all", "n"].item() == 100
    tables = report.monitor(final, predictions, model)
    perf = tables.performance
    assert list(perf["window"]) == ["20", "60", "250", "all"]
    # 399 rows after the cutoff row, the newest of which has no outcome yet.
    assert perf.loc[perf["window"] == "all", "n"].item() == 398
    assert set(perf["model_version"]) == {"4"}
    train_share = perf["train_up_share"].iloc[0]
    assert 0.2 < train_share < 0.8
    decay = findings.performance_decay(perf)
    assert set(decay.metadata) == {"20", "60", "250", "all"}
    assert decay.fired == bool(perf.loc[perf["window"] == "60", "degraded"].item())


def _perf_row(window: str, n: int, **kw: object) -> dict[str, object]:
    row: dict[str, object] = {
        "window": window, "n": n, "accuracy": 0.3, "baseline_accuracy": 0.55, "brier": 0.27,
        "p_value": 0.001, "degraded": True, "up_share": 0.9, "train_up_share": 0.5,
        "mean_probability_up": 0.6, "train_mean_probability_up": 0.5, "prediction_drifted": True,
    }  # fmt: skip
    return row | kw


def test_decay_and_prediction_drift_findings() -> None:
    rows = pd.DataFrame([_perf_row("20", 20), _perf_row("60", 60), _perf_row("all", 60)])
    decay = findings.performance_decay(rows)
    assert decay.fired and decay.summary.startswith("decayed: accuracy 30.0% vs always-up 55.0%")
    assert "worse than always-up: p=0.001" in decay.summary
    assert decay.metadata["60"]["p_value_worse_than_always_up"] == 0.001
    shares = findings.prediction_drift(rows)
    assert shares.fired and "90% of the last 60 against 50%" in shares.summary
    calm = pd.DataFrame(
        [_perf_row("60", 60, degraded=False, prediction_drifted=False, p_value=0.6, rule="none")]
    )
    assert not findings.performance_decay(calm).fired
    assert not findings.prediction_drift(calm).fired
    few = pd.DataFrame([_perf_row("60", 12)])
    assert not findings.performance_decay(few).fired  # too few outcomes to call it
    assert not findings.performance_decay(pd.DataFrame()).fired
    assert not findings.feature_drift(pd.DataFrame()).fired


def test_a_finding_said_of_a_pair_names_it_first() -> None:
    drift = findings.Finding("feature_drift", True, "drifted: 1 of 9 features: vol_5", {"n": 3})
    named = drift.for_pair("GBPUSD")
    assert named.summary == "GBPUSD: drifted: 1 of 9 features: vol_5"
    assert named.metadata == {"pair": "GBPUSD", "n": 3}
    assert named.alert_text().startswith("GBPUSD: drifted: ")
    assert (named.check, named.fired) == ("feature_drift", True)
