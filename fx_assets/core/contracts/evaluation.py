"""Contracts of the walk-forward backtest and its summaries."""

from __future__ import annotations

import sqlalchemy as sa

from fx_assets.core.contracts.base import (
    Col,
    TableContract,
    binary,
    probability,
    sorted_unique,
    unique,
)


def _direction(name: str, description: str) -> Col:
    return Col(name, sa.Integer, description, checks=(binary(),))


BACKTEST = TableContract(
    name="fx_backtest",
    seed_name="eur_usd_backtest",
    description="Walk-forward forecasts of the champion's recipe, each by a model trained earlier.",
    columns=(
        Col("feature_date", sa.Date, "the day whose features were scored"),
        Col("target_date", sa.Date, "the trading day forecast"),
        Col("trained_through", sa.Date, "last training row of the model that forecast"),
        Col("probability_up", sa.Float, "P(up) of that model", checks=(probability(),)),
        _direction("direction", "the model's direction"),
        _direction("actual", "what happened"),
        _direction("always_up", "baseline: always up"),
        _direction("persistence", "baseline: yesterday's direction"),
        _direction("momentum", "baseline: sign of the 20-day return"),
    ),
    key=("feature_date",),
    checks=(sorted_unique("feature_date"),),
)

_SUMMARY_COLUMNS = (
    Col("n", sa.Integer, "forecasts scored"),
    Col("accuracy", sa.Float, "share right"),
    Col("accuracy_ci_low", sa.Float, "95 % moving-block bootstrap interval, low"),
    Col("accuracy_ci_high", sa.Float, "95 % moving-block bootstrap interval, high"),
    Col("pr_auc", sa.Float, "PR-AUC (the model; always-up's is the up share)", nullable=True),
    Col("pr_auc_ci_low", sa.Float, "its interval, low", nullable=True),
    Col("pr_auc_ci_high", sa.Float, "its interval, high", nullable=True),
    Col("brier", sa.Float, "Brier score (model only)", nullable=True),
    Col("p_value", sa.Float, "the model against this strategy on the same days", nullable=True),
)

BACKTEST_SUMMARY = TableContract(
    name="fx_backtest_summary",
    seed_name="eur_usd_backtest_summary",
    description="Skill of the model and of each baseline over the whole backtest.",
    columns=(
        Col("strategy", sa.String, "model, always_up, persistence or momentum", size=32),
        *_SUMMARY_COLUMNS,
        Col(
            "cumulative_return",
            sa.Float,
            "illustration, not advice: long/short with costs",
            nullable=True,
        ),
        Col("annualized_return", sa.Float, "its annualized return", nullable=True),
        Col("annualized_volatility", sa.Float, "its annualized volatility", nullable=True),
        Col("sharpe", sa.Float, "annualized return over volatility", nullable=True),
        Col("max_drawdown", sa.Float, "largest fall from a peak", nullable=True),
    ),
    key=("strategy",),
    checks=(unique(("strategy",)),),
)

BACKTEST_YEARLY = TableContract(
    name="fx_backtest_yearly",
    seed_name="eur_usd_backtest_yearly",
    description="The backtest's skill per calendar year, per strategy.",
    columns=(
        Col("strategy", sa.String, "model, always_up, persistence or momentum", size=32),
        Col("year", sa.Integer, "calendar year of the feature dates"),
        *_SUMMARY_COLUMNS,
    ),
    key=("strategy", "year"),
    checks=(unique(("strategy", "year")),),
)
