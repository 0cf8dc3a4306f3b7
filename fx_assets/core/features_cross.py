"""Cross-currency features: what the rest of the book did, causally, per (pair, date).

Input is the book's closes as one long frame (``pair``, ``date``, ``close``). Two kinds:

- ``usd_move_{k}d``: the dollar's move, the mean over the book's USD pairs of their k-bar
  log return, each signed so that positive means the dollar strengthened (USDJPY rising is
  the dollar up, EURUSD rising is the dollar down). It is one number per date, given to
  every pair of the book that day, a pair without a USD leg (EURGBP) included.
- ``mom_rank_{k}``: the rank of the pair's own k-bar log return among the book's pairs on
  that date, scaled to [0, 1] (0 the weakest, 1 the strongest, ties share their mean
  rank); 0.5 when the pair is the only one ranked that day.

Each pair's returns run over its own bars: a k-bar return is from its k-th previous bar,
however many calendar days back that is (as ``ret_5d`` in ``features``). A date counts
only the pairs that have a bar on it, and a return only when the pair has k earlier bars;
a pair without a bar on a date has no row there, and the others' figures that day are
from the pairs present. So every value at date t is a function of closes dated t or
earlier: appending rows dated after t, of any pair, changes nothing at t (tested as a
property). A date on which no USD pair has a k-bar return has a null ``usd_move_{k}d``,
so a book without any USD pair has no dollar move at all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fx_assets.core.domain import CROSS_FEATURES, MOM_RANK_WINDOWS, USD_MOVE_WINDOWS
from fx_assets.core.features import build_features
from fx_assets.core.pairs import Pair

USD = "USD"


def usd_sign(pair: str) -> float:
    """+1 when a rise of ``pair`` is the dollar strengthening, -1 when weakening, else NaN."""
    parsed = Pair.parse(pair)
    if parsed.base == USD:
        return 1.0
    if parsed.quote == USD:
        return -1.0
    return float("nan")


def _book_bars(closes: pd.DataFrame) -> pd.DataFrame:
    missing = {"pair", "date", "close"} - set(closes.columns)
    if missing:
        raise ValueError(
            f"the book's closes lack column(s) {', '.join(sorted(missing))}; pass pair, date, close"
        )
    bars = closes[["pair", "date", "close"]].copy()
    bars["pair"] = bars["pair"].map(lambda p: Pair.parse(str(p)).code)
    bars["date"] = pd.to_datetime(bars["date"])
    repeated = bars.duplicated(["pair", "date"])
    if repeated.any():
        first = bars.loc[repeated].iloc[0]
        raise ValueError(
            f"{first['pair']} has more than one close on {first['date'].date()}; keep one per day"
        )
    return bars.sort_values(["pair", "date"]).reset_index(drop=True)


def cross_features(closes: pd.DataFrame) -> pd.DataFrame:
    """``pair``, ``date`` and CROSS_FEATURES for every row of ``closes`` (see the module)."""
    bars = _book_bars(closes)
    log_close = np.log(bars["close"].astype(float))
    by_pair = log_close.groupby(bars["pair"])
    by_date = bars["date"]
    out = bars[["pair", "date"]].copy()
    sign = bars["pair"].map(usd_sign)
    for k in USD_MOVE_WINDOWS:
        # The mean skips the pairs without a USD leg (NaN sign) or without k earlier bars.
        dollar = (sign * by_pair.diff(k)).groupby(by_date).mean()
        out[f"usd_move_{k}d"] = by_date.map(dollar).to_numpy()
    for k in MOM_RANK_WINDOWS:
        ret = by_pair.diff(k)
        rank = ret.groupby(by_date).rank(method="average")
        ranked = ret.groupby(by_date).transform("count")
        scaled = ((rank - 1) / (ranked - 1)).where(ranked > 1, 0.5)
        out[f"mom_rank_{k}"] = scaled.where(ret.notna())
    return out[["pair", "date", *CROSS_FEATURES]]


def build_book_features(raw: pd.DataFrame) -> pd.DataFrame:
    """The book's staging rows: ``pair``, ``date``, ``close``, each pair's own features
    (``features.build_features``) and CROSS_FEATURES, pairs in order of first appearance,
    each pair's rows oldest first."""
    bars = _book_bars(raw)
    order = list(dict.fromkeys(Pair.parse(str(p)).code for p in raw["pair"]))
    own = [build_features(bars[bars["pair"] == pair]).assign(pair=pair) for pair in order]
    if not own:
        raise ValueError("the book's closes have no rows; ingest at least one pair")
    rows = pd.concat(own, ignore_index=True)
    rows = rows.merge(cross_features(bars), on=["pair", "date"], how="left", validate="1:1")
    return rows[["pair", *[c for c in rows.columns if c != "pair"]]]
