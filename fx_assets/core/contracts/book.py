"""Contract of the book's verdict: each pair's backtest skill, corrected for testing many."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from fx_assets.core.contracts.base import Col, TableContract, probability, rows_check, unique

# Adjusted p-values are never below the raw one, and Holm's never below BH's
# ((m - i + 1) >= m / i for every rank i); the tolerance absorbs float rounding.
_TOLERANCE = 1e-12


def _adjusted_in_order(df: pd.DataFrame) -> pd.Series:
    return (df["p_bh"] >= df["p_value"] - _TOLERANCE) & (df["p_holm"] >= df["p_bh"] - _TOLERANCE)


def _adjusted_implies_unadjusted(df: pd.DataFrame) -> pd.Series:
    return df["skilful"] | ~(df["skilful_bh"] | df["skilful_adjusted"])


def _p(name: str, description: str) -> Col:
    return Col(name, sa.Float, description, checks=(probability(),))


BACKTEST_BOOK = TableContract(
    name="fx_backtest_book",
    description=(
        "The book's verdict: each pair's backtest accuracy and p-value against always-up,"
        " adjusted for the number of pairs tested (Holm for the verdict, BH beside it)."
    ),
    columns=(
        Col("pair", sa.String, "currency pair, base then quote (EURUSD)", size=6),
        Col("n", sa.Integer, "backtest days scored"),
        _p("accuracy", "the model's share of directions right"),
        _p("ci_low", "95 % block-bootstrap interval of the accuracy, low"),
        _p("ci_high", "95 % block-bootstrap interval of the accuracy, high"),
        _p("always_up_accuracy", "always-up's accuracy on the same days (the up share)"),
        _p("p_value", "the model against always-up on the same days, two-sided, unadjusted"),
        _p("p_bh", "p-value adjusted by Benjamini-Hochberg (false discovery rate)"),
        _p("p_holm", "p-value adjusted by Holm (family-wise error)"),
        Col("skilful", sa.Boolean, "better than always-up at p < 0.05, unadjusted"),
        Col("skilful_bh", sa.Boolean, "better than always-up at BH-adjusted p < 0.05"),
        Col(
            "skilful_adjusted",
            sa.Boolean,
            "better than always-up at Holm-adjusted p < 0.05: the book's verdict",
        ),
    ),
    key=("pair",),
    checks=(
        unique(("pair",)),
        rows_check("adjusted_p_values_in_order", _adjusted_in_order),
        rows_check("adjusted_skill_implies_unadjusted", _adjusted_implies_unadjusted),
    ),
)
