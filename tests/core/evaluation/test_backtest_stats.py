"""The backtest's statistics on simulated data with known answers, and stated tolerances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom, norm
from sklearn.metrics import average_precision_score

from fx_assets.core.evaluation import stats
from fx_assets.core.evaluation.backtest import backtest
from fx_assets.core.evaluation.figures import accuracy_figure, equity_figure, to_html
from fx_assets.core.evaluation.summary import (
    STRATEGIES,
    SUMMARY_COLUMNS,
    YEARLY_COLUMNS,
    equity_curves,
    summarize,
    summarize_by_year,
    verdict,
)
from fx_assets.core.features import build_features, build_final
from fx_assets.core.training.modeling import DEFAULT_PARAMS

TRUE_MEAN = 0.55


def _dependent_hits(rng: np.random.Generator, n: int, phi: float, mean: float) -> np.ndarray:
    """0/1 days with a known mean, dependent like runs of a trend: a thresholded AR(1)."""
    e = rng.normal(size=n)
    z = np.empty(n)
    z[0] = e[0]
    scale = np.sqrt(1 - phi**2)
    for t in range(1, n):
        z[t] = phi * z[t - 1] + scale * e[t]
    return (z < norm.ppf(mean)).astype(float)


def test_average_precision_matches_scikit_learn_with_ties() -> None:
    rng = np.random.default_rng(3)
    for trial in range(200):
        n = int(rng.integers(2, 80))
        y = rng.integers(0, 2, n)
        score = rng.integers(0, 4, n) / 3 if trial % 2 else rng.random(n)
        if y.sum() == 0:
            assert np.isnan(stats.average_precision_rows(y, score)[0])
            continue
        assert stats.average_precision_rows(y, score)[0] == pytest.approx(
            average_precision_score(y, score), abs=1e-12
        )


@pytest.mark.parametrize(("n", "block"), [(1500, 20), (331, 20), (7, 20), (250, 1), (97, 13)])
def test_mean_draws_are_the_means_of_the_resampled_days(n: int, block: int) -> None:
    """The window-sum shortcut draws exactly what averaging the block-bootstrap days does:
    bit for bit on 0/1 hits and their differences (exact integer sums), to 1e-12 on floats."""
    rng = np.random.default_rng(n)
    hits = rng.integers(0, 2, n).astype(float) - rng.integers(0, 2, n)
    noise = rng.normal(size=n)
    for x, exact in ((hits, True), (noise, False)):
        fast = stats._mean_draws(x, block=block, resamples=600, seed=4)
        slow = np.concatenate(
            [x[i].mean(axis=1) for i in stats.block_indices(n, block=block, resamples=600, seed=4)]
        )
        assert fast.shape == (600,)
        if exact:
            np.testing.assert_array_equal(fast, slow)
        else:
            np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)


@pytest.mark.parametrize("phi", [0.0, 0.8])
def test_block_bootstrap_intervals_cover_the_true_accuracy_at_about_95_percent(phi: float) -> None:
    """300 simulated series of 1,000 days: coverage within [0.89, 0.99] (binomial sd 0.013).

    Percentile intervals of a moving-block bootstrap undercover slightly on dependent
    data (0.93-0.94 here), hence the lower bound 0.89, about four standard deviations
    below 0.95; an i.i.d. bootstrap of the same dependent series covers about 0.63.
    """
    reps = 300
    covered = naive = 0
    for r in range(reps):
        hits = _dependent_hits(np.random.default_rng(r), 1000, phi, TRUE_MEAN)
        iv = stats.mean_interval(hits, resamples=400, seed=r)
        covered += iv.low <= TRUE_MEAN <= iv.high
        if phi > 0:
            iid = stats.mean_interval(hits, block=1, resamples=400, seed=r)
            naive += iid.low <= TRUE_MEAN <= iid.high
    assert 0.89 <= covered / reps <= 0.99
    if phi > 0:
        assert naive / reps < 0.80  # why blocks: ignoring the runs gives too narrow intervals


def test_paired_p_value_is_calibrated_under_the_null_and_powerful_under_an_effect() -> None:
    """Two strategies of equal accuracy with runs of hits (AR(1) coefficient 0.5): p < 0.05
    in at most 10 % of 300
    simulations (nominal 5 %; P(more than 30 of 300 at 5 %) < 0.001); with a 10-point
    accuracy edge on 2,000 days (about 4.5 standard errors), p < 0.05 in at least 90 %."""
    reps = 300
    false_alarms = 0
    for r in range(reps):
        rng = np.random.default_rng(1000 + r)
        a, b = (_dependent_hits(rng, 1000, 0.5, 0.52) for _ in range(2))
        false_alarms += stats.paired_difference(a, b, resamples=400, seed=r).p_value < 0.05
    assert false_alarms / reps <= 0.10
    assert binom.sf(30, reps, 0.05) < 1e-3
    detected = 0
    for r in range(50):
        rng = np.random.default_rng(5000 + r)
        a = _dependent_hits(rng, 2000, 0.5, 0.60)
        b = _dependent_hits(rng, 2000, 0.5, 0.50)
        detected += stats.paired_difference(a, b, resamples=400, seed=r).p_value < 0.05
    assert detected / 50 >= 0.90


def _random_walk_final(seed: int, n: int = 1300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 1.1 * np.exp(np.cumsum(rng.normal(0, 0.006, n)))
    dates = pd.bdate_range("2010-01-04", periods=n)
    return build_final(build_features(pd.DataFrame({"date": dates, "close": close})))


def _plant(final: pd.DataFrame, seed: int, strength: float = 0.3) -> pd.DataFrame:
    """Leak the next move's sign into one feature, noisily: a test-only cheat with real skill."""
    sign = 2 * final["target"].fillna(0).astype(float) - 1
    noise = np.random.default_rng(seed).normal(size=len(final))
    return final.assign(rsi_14=strength * sign + noise)


def _verdict_p(final: pd.DataFrame) -> tuple[float, float]:
    bt = backtest(
        final,
        family="logistic_regression",
        params=DEFAULT_PARAMS["logistic_regression"],
        min_train=400,
        refit_days=100,
        n_jobs=1,
    )
    summary = summarize(bt, resamples=400).set_index("strategy")
    diff = summary.at["model", "accuracy"] - summary.at["always_up", "accuracy"]
    return float(diff), float(summary.at["always_up", "p_value"])


def test_a_planted_signal_is_significant_and_a_random_walk_is_not_most_of_the_time() -> None:
    """End to end (features, walk-forward, summary) over seeds, ~840 backtest days each.

    Random walk: the model cannot beat always-up, so p < 0.05 should happen in about 5 %
    of seeds; we allow at most 6 of 40 (P(7 or more at 5 %) = 0.003). Planted signal
    (model accuracy about 0.6): better than always-up with p < 0.05 in at least 9 of 10.
    """
    null = [_verdict_p(_random_walk_final(seed)) for seed in range(40)]
    assert sum(p < 0.05 for _, p in null) <= 6
    assert binom.sf(6, 40, 0.05) < 0.005
    planted = [_verdict_p(_plant(_random_walk_final(100 + s), s)) for s in range(10)]
    assert sum(p < 0.05 and diff > 0 for diff, p in planted) >= 9


def test_summary_rows_and_the_verdict_in_words() -> None:
    final = _plant(_random_walk_final(7), 7, strength=0.5)
    bt = backtest(final, family="logistic_regression", params={"C": 1.0}, min_train=400, n_jobs=1)
    summary = summarize(bt, resamples=300)
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert summary["strategy"].tolist() == list(STRATEGIES)
    rows = summary.set_index("strategy")
    assert (rows["n"] == len(bt)).all()
    assert (rows["accuracy_ci_low"] < rows["accuracy"]).all()
    assert (rows["accuracy"] < rows["accuracy_ci_high"]).all()
    assert rows.at["always_up", "accuracy"] == pytest.approx(bt["actual"].mean())
    assert rows.at["always_up", "pr_auc"] == pytest.approx(bt["actual"].mean())
    assert rows.at["model", "pr_auc_ci_low"] < rows.at["model", "pr_auc"]
    assert rows.at["model", "brier"] == pytest.approx(
        ((bt["probability_up"] - bt["actual"]) ** 2).mean()
    )
    assert pd.isna(rows.at["model", "p_value"]) and pd.isna(rows.at["momentum", "pr_auc"])
    yearly = summarize_by_year(bt, resamples=200)
    assert list(yearly.columns) == YEARLY_COLUMNS
    years = sorted(pd.to_datetime(bt["feature_date"]).dt.year.unique())
    assert sorted(yearly["year"].unique()) == years
    for strategy, part in yearly.groupby("strategy"):
        assert part["n"].sum() == len(bt), strategy
    # Accuracy per year weights back to the whole.
    model = yearly[yearly["strategy"] == "model"]
    overall = (model["accuracy"] * model["n"]).sum() / model["n"].sum()
    assert overall == pytest.approx(rows.at["model", "accuracy"])
    text = verdict(summary)
    assert text.startswith("better than always-up, p = 0.00"), text
    assert stats.verdict(0.01, 0.41, "always-up") == "not distinguishable from always-up, p = 0.41"
    assert stats.verdict(0.02, 0.003, "always-up") == "better than always-up, p = 0.003"
    assert stats.verdict(-0.02, 0.03, "momentum") == "worse than momentum, p = 0.03"


def test_trading_columns_and_equity_curves_agree_with_buy_and_hold() -> None:
    rng = np.random.default_rng(11)
    close = 1.1 * np.exp(np.cumsum(rng.normal(0, 0.006, 900)))
    staging = build_features(
        pd.DataFrame({"date": pd.bdate_range("2015-01-05", periods=900), "close": close})
    )
    closes = dict(zip(staging["date"], staging["close"], strict=True))
    bt = backtest(
        build_final(staging),
        family="logistic_regression",
        params={"C": 1.0},
        min_train=300,
        refit_days=50,
        n_jobs=1,
    )
    summary = summarize(bt, closes, resamples=100).set_index("strategy")
    curves = equity_curves(bt, closes)
    assert curves["date"].tolist() == bt["target_date"].tolist()
    assert curves["model"].iloc[-1] - 1 == pytest.approx(summary.at["model", "cumulative_return"])
    # Buy-and-hold is the always-up row: the price ratio, less one entry cost of 0.8 pips.
    first, last = closes[bt["feature_date"].iloc[0]], closes[bt["target_date"].iloc[-1]]
    held = last / first - 0.8e-4 / first  # to first order in the cost
    assert summary.at["always_up", "cumulative_return"] == pytest.approx(held - 1, abs=1e-4)
    assert curves["buy_and_hold"].iloc[-1] - 1 == pytest.approx(
        summary.at["always_up", "cumulative_return"]
    )
    assert summary.at["always_up", "max_drawdown"] <= 0
    # The same forecasts at a yen pip (0.01): buy-and-hold's one entry, on its first day,
    # costs 0.8 * 0.01 instead of 0.8 * 0.0001 of the price.
    yen = summarize(bt, closes, resamples=10, pip=0.01).set_index("strategy")
    entry_next = closes[bt["target_date"].iloc[0]]
    ratio = (entry_next - 0.8e-2) / (entry_next - 0.8e-4)
    assert 1 + yen.at["always_up", "cumulative_return"] == pytest.approx(
        ratio * (1 + summary.at["always_up", "cumulative_return"]), rel=1e-12
    )
    assert equity_curves(bt, closes, pip=0.01)["buy_and_hold"].iloc[-1] - 1 == pytest.approx(
        yen.at["always_up", "cumulative_return"]
    )
    assert "<html>" in to_html(equity_figure(curves))
    dots = accuracy_figure(summary.reset_index())["data"][0]
    assert dots["y"][-1] == "the model" and len(dots["error_x"]["array"]) == 4
    with pytest.raises(ValueError, match="no close for"):
        summarize(bt, {}, resamples=10)
