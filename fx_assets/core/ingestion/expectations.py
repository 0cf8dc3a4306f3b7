"""Row-level expectations on a source's bars, with three outcomes per rule.

In the manner of Delta Live Tables' ``expect`` / ``expect_or_drop`` / ``expect_or_fail``:
a *warn* rule records its rows and keeps them, a *quarantine* rule keeps its rows out of
``fx_raw`` (they go to ``fx_raw_rejected`` with the rule and a reason), and a
*fail* rule fails the whole batch, which then writes nothing. One bad bar from 2008 must
not block twenty years of good ones, but a feed that is broken as a whole must stop.

Why the thresholds are what they are (measured on the whole ECB history, 1999-2026,
7,126 fixings): the largest daily log move is 4.7 % (2008-12-19); the largest pair of
opposite consecutive moves measured against the local robust volatility (median absolute
return of the 61 surrounding days x 1.4826) is 2.9 sigma, and the largest smaller leg of
such a pair is 3.9 %. A spike therefore needs both legs above 8 sigma *and* above 3 %,
and a net move after the two legs under half the smaller leg: a real volatile day
is a few sigma, a bad tick (e.g. +17 % and back) is tens of sigma.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

import numpy as np
import pandas as pd

# The raw contract's plausible-move check: a larger move that is not an isolated spike is
# no bad tick but a broken feed (inverted quotes, another pair), so it fails the batch.
from fx_assets.core.contracts import MAX_DAILY_LOG_MOVE

BAR_COLUMNS = ["date", "open", "high", "low", "close"]
REJECTED_COLUMNS = [*BAR_COLUMNS, "rule", "reason"]
_PRICES = ("open", "high", "low", "close")

DEFAULT_MAX_REJECTED_SHARE = 0.05
# A spike's legs must both exceed SPIKE_SIGMAS local sigmas and SPIKE_FLOOR (log move).
SPIKE_SIGMAS = 8.0
SPIKE_FLOOR = 0.03
# ... and the bar after it must undo most of the jump (net move < half the smaller leg).
SPIKE_REVERT = 0.5
# Recorded, not acted on: larger than any ECB fixing-to-fixing move since 1999.
LARGE_MOVE = 0.05
_VOL_WINDOW = 61
_VOL_MIN_PERIODS = 21
_MAX_DATES_IN_MESSAGE = 5


class Outcome(StrEnum):
    WARN = "warn"
    QUARANTINE = "quarantine"
    FAIL = "fail"


class Rule(StrEnum):
    WEEKEND = "weekend"
    MISSING_PRICE = "missing_price"
    NON_POSITIVE_PRICE = "non_positive_price"
    OHLC_INCONSISTENT = "ohlc_inconsistent"
    ISOLATED_SPIKE = "isolated_spike"
    LARGE_MOVE = "large_move"


QUARANTINE_RULES = (
    Rule.WEEKEND,
    Rule.MISSING_PRICE,
    Rule.NON_POSITIVE_PRICE,
    Rule.OHLC_INCONSISTENT,
    Rule.ISOLATED_SPIKE,
)


class BadBatchError(ValueError):
    """The batch must fail as a whole; the one-line message names the rule and dates."""


@dataclass(frozen=True)
class Finding:
    """What one rule caught: its outcome and the dates, oldest first."""

    rule: str
    outcome: Outcome
    dates: list[date]

    def describe(self) -> str:
        return f"{self.rule} {len(self.dates)} ({format_dates(self.dates)})"


@dataclass(frozen=True)
class ExpectationReport:
    accepted: pd.DataFrame
    rejected: pd.DataFrame
    warnings: list[Finding] = field(default_factory=list)
    quarantined: list[Finding] = field(default_factory=list)

    def describe(self) -> str:
        """One line for logs and the terminal."""
        parts = [f"quarantined {len(self.rejected)} row(s)"]
        if self.quarantined:
            parts[0] += ": " + ", ".join(f.describe() for f in self.quarantined)
        if self.warnings:
            parts.append("warned: " + ", ".join(f.describe() for f in self.warnings))
        return "; ".join(parts)


def format_dates(dates: list[date], limit: int = _MAX_DATES_IN_MESSAGE) -> str:
    shown = ", ".join(str(d) for d in dates[:limit])
    return shown + (f" (+{len(dates) - limit} more)" if len(dates) > limit else "")


def _dates_of(frame: pd.DataFrame, mask: pd.Series | np.ndarray) -> list[date]:
    return [pd.Timestamp(d).date() for d in frame.loc[mask, "date"]]


def _structure(bars: pd.DataFrame) -> pd.DataFrame:
    """Typed copy of the bars, or BadBatchError for input that is not bars at all."""
    missing = [c for c in BAR_COLUMNS if c not in bars.columns]
    if missing:
        raise BadBatchError(f"structure: the batch lacks column(s) {', '.join(missing)}")
    out = pd.DataFrame(index=bars.index)
    dates = pd.to_datetime(bars["date"], errors="coerce")
    if dates.isna().any():
        bad = bars.loc[dates.isna(), "date"].astype(str).tolist()
        raise BadBatchError(f"structure: unparseable date(s) {format_dates(bad)}")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
    out["date"] = dates.dt.normalize().astype("datetime64[ns]")
    for col in _PRICES:
        values = pd.to_numeric(bars[col], errors="coerce")
        bad = values.isna() & bars[col].notna()
        if bad.any():
            raise BadBatchError(
                f"structure: non-numeric {col} on {format_dates(_dates_of(out, bad))}"
            )
        out[col] = values.astype(float)
    return out.reset_index(drop=True)


def _deduplicate(bars: pd.DataFrame) -> pd.DataFrame:
    """Identical repeats (overlapping pages) collapse; two different bars for one date fail."""
    bars = bars.drop_duplicates()
    clash = bars["date"][bars["date"].duplicated()]
    if len(clash):
        days = sorted({pd.Timestamp(d).date() for d in clash})
        raise BadBatchError(f"duplicate_date: two different bars for {format_dates(days)}")
    return bars.sort_values("date").reset_index(drop=True)


def _row_rules(bars: pd.DataFrame) -> list[tuple[Rule, pd.Series, pd.Series]]:
    """(rule, caught mask, reason) for the rules that look at one row at a time, in the
    order they are applied: a row is attributed to the first rule that catches it."""
    o, h, lo, c = (bars[col] for col in _PRICES)
    weekend = bars["date"].dt.dayofweek >= 5
    weekend_reason = "dated " + bars["date"].dt.day_name() + ": no trading day"

    ohl = bars[["open", "high", "low"]]
    partial = ohl.notna().any(axis=1) & ohl.isna().any(axis=1)
    missing = c.isna() | partial
    missing_reason = pd.Series(
        np.where(c.isna(), "close is missing", "open/high/low only partly given"),
        index=bars.index,
    )

    prices = bars[list(_PRICES)]
    non_positive = (prices <= 0).any(axis=1)
    np_reason = "price(s) not positive: " + prices.apply(
        lambda row: ", ".join(f"{k} {v:g}" for k, v in row.items() if v == v and v <= 0), axis=1
    ).astype(str)

    tol = 1e-12
    full = ohl.notna().all(axis=1)
    top, bottom = np.maximum(o, c), np.minimum(o, c)
    inconsistent = full & ((h < lo - tol) | (h < top - tol) | (lo > bottom + tol))
    ohlc_reason = pd.Series(
        np.where(
            h < lo - tol,
            "high below low",
            np.where(h < top - tol, "open or close above high", "open or close below low"),
        ),
        index=bars.index,
    )
    ohlc_reason = (
        ohlc_reason
        + " (o "
        + o.map("{:.5f}".format)
        + " h "
        + h.map("{:.5f}".format)
        + " l "
        + lo.map("{:.5f}".format)
        + " c "
        + c.map("{:.5f}".format)
        + ")"
    )
    return [
        (Rule.WEEKEND, weekend, weekend_reason),
        (Rule.MISSING_PRICE, missing, missing_reason),
        (Rule.NON_POSITIVE_PRICE, non_positive, np_reason),
        (Rule.OHLC_INCONSISTENT, inconsistent, ohlc_reason),
    ]


def local_sigma(log_returns: np.ndarray) -> np.ndarray:
    """Robust local daily volatility: the centred rolling median absolute return x 1.4826
    (the median ignores the spike being judged); the whole-series figure where the
    window is too short."""
    absr = pd.Series(np.abs(log_returns))
    rolling = absr.rolling(_VOL_WINDOW, center=True, min_periods=_VOL_MIN_PERIODS).median()
    overall = float(absr.median()) if len(absr) else 0.0
    return (rolling.fillna(overall) * 1.4826).to_numpy()


def spike_mask(close: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bars far from both neighbours that revert on the next bar.

    Returns (caught, jump into the bar, jump out of it) as log moves per bar; the first
    and last bar cannot be judged (one neighbour) and are never caught.
    """
    n = len(close)
    caught = np.zeros(n, dtype=bool)
    into = np.full(n, np.nan)
    out = np.full(n, np.nan)
    if n < 3:
        return caught, into, out
    r = np.diff(np.log(close))
    sigma = local_sigma(r)
    up, down = r[:-1], r[1:]
    smaller = np.minimum(np.abs(up), np.abs(down))
    threshold = np.maximum(SPIKE_FLOOR, SPIKE_SIGMAS * np.maximum(sigma[:-1], sigma[1:]))
    reverts = np.abs(up + down) < SPIKE_REVERT * smaller
    hit = (np.sign(up) == -np.sign(down)) & (smaller > threshold) & reverts
    caught[1:-1] = hit
    into[1:-1], out[1:-1] = up, down
    return caught, into, out


def evaluate(
    bars: pd.DataFrame,
    *,
    strict: bool = False,
    max_rejected_share: float = DEFAULT_MAX_REJECTED_SHARE,
    previous: pd.DataFrame | None = None,
) -> ExpectationReport:
    """Apply every rule to a source's batch.

    ``bars``: date, open, high, low, close (open/high/low null for close-only sources).
    ``strict`` (FX_ON_BAD_ROWS=fail) turns every quarantine rule into fail.
    ``previous``: accepted bars just before the batch (date, close), so that the first
    bar's move is judged against the stored one; they are context only, never judged.

    The rejected share counts weekday bars only: a provider that stamps a few hours of
    Sunday or Saturday trading as a bar does so every week (about 17 % of a current-year
    window), which is a known convention to quarantine, not a sign of a broken feed.
    """
    typed = _deduplicate(_structure(bars))
    reason = pd.Series(pd.NA, index=typed.index, dtype=object)
    rule_of = pd.Series(pd.NA, index=typed.index, dtype=object)
    for rule, caught, why in _row_rules(typed):
        new = caught & rule_of.isna()
        rule_of[new], reason[new] = rule.value, why[new]

    survivors = typed.index[rule_of.isna()]
    context = _context(previous)
    seq = pd.concat([context, typed.loc[survivors, ["date", "close"]]], ignore_index=True)
    close = seq["close"].to_numpy(dtype=float)
    caught, into, out = spike_mask(close)
    offset = len(context)
    for pos, idx in enumerate(survivors, start=offset):
        if caught[pos]:
            rule_of[idx] = Rule.ISOLATED_SPIKE.value
            reason[idx] = (
                f"close {close[pos]:.5f} is {np.expm1(into[pos]):+.1%} from the bar before"
                f" and {np.expm1(out[pos]):+.1%} to the bar after"
            )
    rejected_mask = rule_of.notna()
    quarantined = [
        Finding(rule.value, Outcome.QUARANTINE, _dates_of(typed, rule_of == rule.value))
        for rule in QUARANTINE_RULES
        if (rule_of == rule.value).any()
    ]
    if strict and quarantined:
        raise BadBatchError(
            "FX_ON_BAD_ROWS=fail: "
            + ", ".join(f.describe() for f in quarantined)
            + "; set FX_ON_BAD_ROWS=quarantine to keep them out instead"
        )
    _guard_share(typed, rejected_mask, max_rejected_share)

    accepted = typed.loc[~rejected_mask].reset_index(drop=True)
    warnings = _move_findings(_context(previous), accepted)
    # Positional arrays: assigning a Series to an empty frame would adopt its index.
    rejected = typed.loc[rejected_mask].assign(
        rule=rule_of[rejected_mask].astype(str).to_numpy(),
        reason=reason[rejected_mask].astype(str).to_numpy(),
    )
    rejected = rejected.loc[:, REJECTED_COLUMNS].reset_index(drop=True)
    return ExpectationReport(accepted, rejected, warnings, quarantined)


def _context(previous: pd.DataFrame | None) -> pd.DataFrame:
    if previous is None or previous.empty:
        return pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "close": []})
    ctx = previous[["date", "close"]].dropna().sort_values("date")
    return ctx.assign(date=pd.to_datetime(ctx["date"]).astype("datetime64[ns]"))


def _guard_share(typed: pd.DataFrame, rejected: pd.Series, limit: float) -> None:
    weekday = typed["date"].dt.dayofweek < 5
    total = int(weekday.sum())
    bad = rejected & weekday
    if total and bad.sum() / total > limit:
        raise BadBatchError(
            f"rejected_share: {int(bad.sum())} of {total} weekday bars "
            f"({bad.sum() / total:.1%}) would be quarantined, above FX_MAX_REJECTED_SHARE="
            f"{limit:g} (a broken feed?), on {format_dates(_dates_of(typed, bad))}"
        )


def _move_findings(context: pd.DataFrame, accepted: pd.DataFrame) -> list[Finding]:
    """Moves between consecutive accepted bars: too large fails, large is recorded."""
    seq = pd.concat([context, accepted[["date", "close"]]], ignore_index=True)
    moves = np.abs(np.log(seq["close"].astype(float)).diff()).iloc[len(context) :]
    dates = seq["date"].iloc[len(context) :]
    huge = moves > MAX_DAILY_LOG_MOVE
    if huge.any():
        days = [pd.Timestamp(d).date() for d in dates[huge]]
        raise BadBatchError(
            f"implausible_move: a move above {MAX_DAILY_LOG_MOVE:.0%} that does not revert "
            f"on {format_dates(days)}; check the source (wrong pair or inverted quotes?)"
        )
    large = moves > LARGE_MOVE
    if not large.any():
        return []
    return [Finding(Rule.LARGE_MOVE.value, Outcome.WARN, [d.date() for d in dates[large]])]
