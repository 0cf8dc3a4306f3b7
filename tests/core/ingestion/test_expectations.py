"""Row-level expectations: every rule caught and not caught, strict mode, the share guard,
the whole ECB history, and a realistic provider series with weekend bars and a bad tick."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fx_assets.core.ingestion.expectations import (
    REJECTED_COLUMNS,
    BadBatchError,
    ExpectationReport,
    Outcome,
    evaluate,
)
from fx_assets.core.ingestion.freshness import find_gaps
from fx_assets.core.ingestion.sources import EcbSource
from tests.support.market_data import HOLE, provider_series


def bars_from_closes(closes: list[float] | np.ndarray, start: str = "2024-01-01") -> pd.DataFrame:
    """Weekday OHLC bars around the given closes (open = previous close, a small range)."""
    closes = np.asarray(closes, dtype=float)
    opens = np.concatenate([[closes[0]], closes[:-1]])
    return pd.DataFrame(
        {
            "date": pd.bdate_range(start, periods=len(closes)),
            "open": opens,
            "high": np.maximum(opens, closes) * 1.001,
            "low": np.minimum(opens, closes) * 0.999,
            "close": closes,
        }
    )


def calm(n: int = 80, vol: float = 0.003, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 1.10 * np.exp(np.cumsum(rng.normal(0, vol, n)))


def rules(report: ExpectationReport) -> dict[date, str]:
    rejected = report.rejected
    return {
        pd.Timestamp(d).date(): r for d, r in zip(rejected["date"], rejected["rule"], strict=True)
    }


def one_line(excinfo: pytest.ExceptionInfo[BadBatchError]) -> str:
    message = str(excinfo.value)
    assert message and "\n" not in message
    return message


# --- the data the rules are tuned on ---------------------------------------------------
def test_the_whole_ecb_history_quarantines_nothing() -> None:
    history = EcbSource.history()

    report = evaluate(history)

    assert report.rejected.empty and report.quarantined == [] and report.warnings == []
    assert len(report.accepted) == len(history)
    assert find_gaps(history["date"]) == []


def test_provider_series_quarantines_exactly_the_weekend_bars_and_the_bad_tick() -> None:
    series = provider_series()

    report = evaluate(series.bars)

    assert rules(report) == series.quarantine_expected
    spike = report.rejected.loc[report.rejected["rule"] == "isolated_spike", "reason"].item()
    assert "from the bar before" in spike and "to the bar after" in spike
    assert len(report.accepted) + len(report.rejected) == len(series.bars)
    assert list(report.rejected.columns) == REJECTED_COLUMNS
    counts = {f.rule: len(f.dates) for f in (*report.quarantined, *report.warnings)}
    assert counts == {"weekend": len(series.weekend_dates), "isolated_spike": 1}
    # The hole is a warn-level gap; the quarantined tick is accounted for, not a gap.
    gaps = find_gaps(report.accepted["date"], explained=report.rejected["date"].dt.date)
    assert [(g.first, g.last, g.missing) for g in gaps] == [(*HOLE, 12)]


# --- row rules: caught and not caught --------------------------------------------------
def test_weekend_bars_are_quarantined_weekdays_are_not() -> None:
    bars = bars_from_closes(calm(10))
    saturday = bars.iloc[[4]].assign(date=pd.Timestamp("2024-01-06"))
    sunday = bars.iloc[[4]].assign(date=pd.Timestamp("2024-01-07"))

    report = evaluate(pd.concat([bars, saturday, sunday]))

    assert rules(report) == {date(2024, 1, 6): "weekend", date(2024, 1, 7): "weekend"}
    assert "Saturday" in report.rejected["reason"].iloc[0]
    assert len(report.accepted) == 10


@pytest.mark.parametrize(
    "change, rule, reason",
    [
        ({"close": np.nan}, "missing_price", "close is missing"),
        ({"high": np.nan}, "missing_price", "partly"),
        ({"close": 0.0, "low": 0.0}, "non_positive_price", "close 0"),
        ({"open": -1.1}, "non_positive_price", "open -1.1"),
        ({"high": 1.0, "low": 1.2}, "ohlc_inconsistent", "high below low"),
        ({"close": 1.2}, "ohlc_inconsistent", "above high"),
        ({"open": 1.0}, "ohlc_inconsistent", "below low"),
    ],
)
def test_bad_rows_are_quarantined_with_their_reason(
    change: dict[str, float], rule: str, reason: str
) -> None:
    bars = bars_from_closes(np.full(30, 1.1))
    for col, value in change.items():
        bars.loc[10, col] = value

    report = evaluate(bars)

    assert rules(report) == {bars["date"].iloc[10].date(): rule}
    assert reason in report.rejected["reason"].item()
    assert len(report.accepted) == 29


def test_close_only_and_exactly_touching_bars_are_kept() -> None:
    close_only = bars_from_closes(calm(30)).assign(open=np.nan, high=np.nan, low=np.nan)
    touching = bars_from_closes(calm(30))
    touching["high"] = touching[["open", "close"]].max(axis=1)
    touching["low"] = touching[["open", "close"]].min(axis=1)

    for bars in (close_only, touching):
        report = evaluate(bars)
        assert report.rejected.empty and len(report.accepted) == 30


# --- the spike rule: caught and not caught ---------------------------------------------
def test_a_bad_tick_that_reverts_is_quarantined() -> None:
    bars = bars_from_closes(calm(80))
    bars.loc[40, ["open", "high", "low", "close"]] *= 1.17

    report = evaluate(bars)

    assert rules(report) == {bars["date"].iloc[40].date(): "isolated_spike"}


@pytest.mark.parametrize(
    "legs",
    [
        (0.025, -0.02),  # a volatile day in a calm regime, mostly given back
        (0.045, -0.04),  # the 2008-12 pattern in a crisis-level regime
        (0.04, 0.0),  # a jump that stays: news, not a bad tick
        (0.06, 0.06),  # two moves the same way
    ],
)
def test_volatile_real_days_are_not_spikes(legs: tuple[float, float]) -> None:
    vol = 0.012 if legs[0] >= 0.045 else 0.003
    closes = calm(80, vol=vol)
    closes[40:] *= np.exp(legs[0])
    closes[41:] *= np.exp(legs[1])

    report = evaluate(bars_from_closes(closes))

    assert report.rejected.empty


def test_the_first_bar_of_a_window_is_judged_against_the_stored_bar_before() -> None:
    closes = calm(60)
    previous = bars_from_closes(closes[:30])
    batch = bars_from_closes(closes[30:], start="2024-02-12")
    batch.loc[0, ["open", "high", "low", "close"]] *= 1.17

    caught = evaluate(batch, previous=previous)

    assert rules(caught) == {date(2024, 2, 12): "isolated_spike"}
    # Without the bar before, the first bar has one neighbour and cannot be judged as a
    # spike; its 15 % fall to the next bar then fails the batch rather than slip in.
    with pytest.raises(BadBatchError, match=r"implausible_move.*2024-02-13"):
        evaluate(batch)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(min_value=3, max_value=400),
    vol=st.floats(min_value=0.001, max_value=0.02),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_random_normal_volatility_series_quarantine_nothing(n: int, vol: float, seed: int) -> None:
    closes = calm(n, vol=vol, seed=seed)

    report = evaluate(bars_from_closes(closes))

    assert report.rejected.empty and len(report.accepted) == n


# --- warn and fail -------------------------------------------------------------------
def test_a_large_move_is_kept_and_recorded() -> None:
    closes = calm(40)
    closes[20:] *= 1.07

    report = evaluate(bars_from_closes(closes))

    assert report.rejected.empty
    (warning,) = report.warnings
    assert warning.rule == "large_move" and warning.outcome is Outcome.WARN
    assert warning.dates == [pd.bdate_range("2024-01-01", periods=40)[20].date()]


def test_an_implausible_move_that_stays_fails_the_batch() -> None:
    closes = calm(40)
    closes[20:] *= 1.25

    with pytest.raises(BadBatchError) as excinfo:
        evaluate(bars_from_closes(closes))

    message = one_line(excinfo)
    assert message.startswith("implausible_move") and "2024-01-29" in message


def test_strict_mode_turns_quarantine_into_fail() -> None:
    bars = bars_from_closes(calm(30))
    saturday = bars.iloc[[4]].assign(date=pd.Timestamp("2024-01-06"))
    batch = pd.concat([bars, saturday])

    with pytest.raises(BadBatchError) as excinfo:
        evaluate(batch, strict=True)

    message = one_line(excinfo)
    assert "FX_ON_BAD_ROWS=fail" in message and "weekend 1 (2024-01-06)" in message
    assert len(evaluate(bars, strict=True).accepted) == 30


def test_rejected_share_guard_fails_a_broken_feed_and_ignores_weekend_bars() -> None:
    bars = bars_from_closes(np.full(100, 1.1))
    broken = bars.copy()
    broken.loc[::16, "high"] = 1.0  # 7 of 100 rows: high below low
    few = bars.copy()
    few.loc[::25, "high"] = 1.0  # 4 of 100
    saturdays = bars.iloc[:20].assign(date=pd.date_range("2024-01-06", periods=20, freq="W-SAT"))

    with pytest.raises(BadBatchError) as excinfo:
        evaluate(broken)
    message = one_line(excinfo)
    assert "rejected_share: 7 of 100 weekday bars (7.0%)" in message and "2024-01-01" in message

    assert len(evaluate(few).rejected) == 4
    assert len(evaluate(broken, max_rejected_share=0.1).rejected) == 7
    assert len(evaluate(pd.concat([bars, saturdays])).rejected) == 20


@pytest.mark.parametrize(
    "mangle, expected",
    [
        (lambda b: b.drop(columns=["low"]), "lacks column(s) low"),
        (lambda b: b.assign(date=b["date"].astype(str).where(b.index != 3, "soon")), "soon"),
        (lambda b: b.assign(close=b["close"].astype(object).where(b.index != 2, "1.1x")), "close"),
        (
            lambda b: pd.concat([b, b.iloc[[5]].assign(close=1.2, high=1.3)]),
            "duplicate_date: two different bars for 2024-01-08",
        ),
    ],
    ids=["missing-column", "bad-date", "bad-number", "conflicting-duplicate"],
)
def test_structural_problems_fail_the_batch(mangle, expected: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadBatchError) as excinfo:
        evaluate(mangle(bars_from_closes(calm(20))))
    assert expected in one_line(excinfo)


def test_identical_duplicates_collapse() -> None:
    bars = bars_from_closes(calm(20))

    report = evaluate(pd.concat([bars, bars.iloc[[3, 7]]]))

    assert len(report.accepted) == 20 and report.rejected.empty
    assert report.accepted["date"].is_monotonic_increasing
