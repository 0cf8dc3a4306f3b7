"""A verdict for the book: each pair's skill against always-up, corrected for testing many.

Dagster-free. A pair's row is what its own backtest summary says of the model (accuracy
with its block-bootstrap interval, and the paired p-value against always-up on the same
days), computed by the same ``stats`` functions with the same resamples, so the numbers
agree with the pair's summary to the last digit. Testing seven pairs at the 5 % level,
about 7 x 0.05 = 0.35 of them would reach p < 0.05 by chance alone when no model has any
skill (half of those look better than always-up, half worse), so the single-pair
verdict cannot be the book's.

Two adjustments, both reported:

- *Holm* (step-down Bonferroni) controls the family-wise error: the chance of calling
  even one pair skilful when none is stays at most ``alpha``, under any dependence
  between the pairs' p-values.
- *Benjamini-Hochberg* controls the false discovery rate: the expected share of false
  claims among the pairs called skilful. It finds more, but its guarantee needs
  independent or positively dependent p-values.

The verdict uses Holm. Every pair in the book shares the dollar leg, so the p-values
are dependent in ways BH's guarantee does not cover, and the claim a reader acts on is
about each pair ("EUR/USD shows skill"): one false claim is the error to avoid, not a
tolerable share of many. A pair is skilful when the model beats always-up (higher
accuracy) and its p-value is below ``alpha``; a model significantly worse than
always-up is not skilful.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import false_discovery_control

from fx_assets.core.contracts.book import BACKTEST_BOOK
from fx_assets.core.evaluation import stats, summary
from fx_assets.core.pairs import Pair

ALPHA = stats.ALPHA
VERDICT_METHOD = "Holm"
# One row per pair: what the adjustment needs, before it.
SKILL_COLUMNS = ["pair", "n", "accuracy", "ci_low", "ci_high", "always_up_accuracy", "p_value"]
BOOK_COLUMNS = BACKTEST_BOOK.column_names


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the order given.

    The i-th smallest of m is multiplied by m - i + 1, the running maximum keeps them
    in order, and they are capped at 1 (as statsmodels' ``multipletests(method="holm")``).
    """
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1 or np.isnan(p).any() or ((p < 0) | (p > 1)).any():
        raise ValueError("Holm's adjustment needs one p-value in [0, 1] per pair, none missing")
    m = len(p)
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (scipy's ``false_discovery_control``)."""
    return np.asarray(false_discovery_control(np.asarray(p_values, dtype=float), method="bh"))


def pair_skill(
    pair: str,
    backtest: pd.DataFrame,
    *,
    block: int = stats.DEFAULT_BLOCK,
    resamples: int = stats.DEFAULT_RESAMPLES,
    seed: int = 0,
) -> dict[str, object]:
    """One pair's row of SKILL_COLUMNS from its backtest (the pair's summary's numbers)."""
    if backtest.empty:
        raise ValueError(f"{pair} has no backtest rows: run its backtest before the book's")
    bt = backtest.sort_values("feature_date").reset_index(drop=True)
    y = bt["actual"].to_numpy(dtype=int)
    model = (summary.directions(bt, "model") == y).astype(float)
    up = (summary.directions(bt, "always_up") == y).astype(float)
    boot = {"block": block, "resamples": resamples, "seed": seed}
    accuracy = stats.mean_interval(model, **boot)
    vs = stats.paired_difference(model, up, **boot)
    return {
        "pair": Pair.parse(pair).code,
        "n": len(bt),
        "accuracy": accuracy.value,
        "ci_low": accuracy.low,
        "ci_high": accuracy.high,
        "always_up_accuracy": float(up.mean()),
        "p_value": vs.p_value,
    }


def skill_from_backtests(
    backtests: Mapping[str, pd.DataFrame],
    *,
    block: int = stats.DEFAULT_BLOCK,
    resamples: int = stats.DEFAULT_RESAMPLES,
    seed: int = 0,
) -> pd.DataFrame:
    """SKILL_COLUMNS for every pair, in the mapping's order, from each pair's backtest."""
    rows = [
        pair_skill(pair, bt, block=block, resamples=resamples, seed=seed)
        for pair, bt in backtests.items()
    ]
    return pd.DataFrame(rows, columns=SKILL_COLUMNS)


def skill_from_summary(backtest_summary: pd.DataFrame) -> pd.DataFrame:
    """SKILL_COLUMNS from the pairs' backtest summaries (a ``pair`` column, one row per
    pair and strategy): the model's row and always-up's, no bootstrap run twice."""
    rows = []
    for pair, part in backtest_summary.groupby("pair", sort=False):
        by = part.set_index("strategy")
        if not {"model", "always_up"} <= set(by.index):
            raise ValueError(
                f"the backtest summary of {pair} lacks the model's or always-up's row:"
                " rematerialize its backtest summary"
            )
        rows.append(
            {
                "pair": str(pair),
                "n": int(by.at["model", "n"]),
                "accuracy": float(by.at["model", "accuracy"]),
                "ci_low": float(by.at["model", "accuracy_ci_low"]),
                "ci_high": float(by.at["model", "accuracy_ci_high"]),
                "always_up_accuracy": float(by.at["always_up", "accuracy"]),
                "p_value": float(by.at["always_up", "p_value"]),
            }
        )
    return pd.DataFrame(rows, columns=SKILL_COLUMNS)


@dataclass(frozen=True)
class BookVerdict:
    """The book's table (BOOK_COLUMNS, one row per pair), its counts and its headline."""

    table: pd.DataFrame
    alpha: float
    pairs: int
    skilful: int  # unadjusted
    skilful_bh: int
    skilful_holm: int
    expected_by_chance: float  # pairs at p < alpha if no model had skill: m x alpha
    headline: str
    method: str = VERDICT_METHOD

    @property
    def skilful_adjusted(self) -> int:
        """The count the verdict uses (Holm's)."""
        return self.skilful_holm

    def figures(self) -> dict[str, float | int | str]:
        """Flat figures for run metadata and tracking."""
        return {
            "pairs": self.pairs,
            "alpha": self.alpha,
            "skilful_unadjusted": self.skilful,
            "skilful_bh": self.skilful_bh,
            "skilful_holm": self.skilful_holm,
            "expected_false_positives": self.expected_by_chance,
            "adjustment": self.method,
            "headline": self.headline,
        }


def _headline(table: pd.DataFrame, alpha: float, expected: float, bh: int) -> str:
    m = len(table)
    unadjusted = int(table["skilful"].sum())
    found = [Pair.parse(p).label for p in table.loc[table["skilful_adjusted"], "pair"]]
    verdict = f"skill in {', '.join(found)}" if found else "no pair shows skill"
    return (
        f"{unadjusted} of {m} {'pair' if m == 1 else 'pairs'} at p < {alpha:g} unadjusted"
        f" ({expected:.2f} expected by chance alone), {len(found)} after adjustment"
        f" ({VERDICT_METHOD}; BH {bh}): {verdict}"
    )


def judge(skill: pd.DataFrame, *, alpha: float = ALPHA) -> BookVerdict:
    """The book's verdict from SKILL_COLUMNS rows: adjusted p-values, counts, headline."""
    if skill.empty:
        raise ValueError("the book has no pair with a backtest: run the pairs' backtests first")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha}")
    table = skill[SKILL_COLUMNS].reset_index(drop=True).copy()
    p = table["p_value"].to_numpy(dtype=float)
    better = (table["accuracy"] > table["always_up_accuracy"]).to_numpy()
    table["p_bh"] = benjamini_hochberg(p)
    table["p_holm"] = holm(p)
    table["skilful"] = better & (p < alpha)
    table["skilful_bh"] = better & (table["p_bh"].to_numpy() < alpha)
    table["skilful_adjusted"] = better & (table["p_holm"].to_numpy() < alpha)
    expected = len(table) * alpha
    bh = int(table["skilful_bh"].sum())
    return BookVerdict(
        table=table[BOOK_COLUMNS],
        alpha=alpha,
        pairs=len(table),
        skilful=int(table["skilful"].sum()),
        skilful_bh=bh,
        skilful_holm=int(table["skilful_adjusted"].sum()),
        expected_by_chance=expected,
        headline=_headline(table, alpha, expected, bh),
    )
