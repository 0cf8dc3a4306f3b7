"""Contracts of the monitoring tables: feature drift, realized performance, alerts sent."""

from __future__ import annotations

import sqlalchemy as sa

from fx_assets.core.contracts.base import Col, TableContract, probability, unique

DRIFT = TableContract(
    name="fx_drift",
    seed_name="eur_usd_drift",
    description="Each model feature's newest window against the champion's training rows.",
    columns=(
        Col("feature", sa.String, "model feature", size=64),
        Col("window_end", sa.Date, "newest feature date of the window"),
        Col(
            "model_version",
            sa.String,
            "champion version whose training rows are the reference",
            size=32,
        ),
        Col("reference_start", sa.Date, "first training row"),
        Col("reference_end", sa.Date, "last training row (the training cutoff)"),
        Col("window_start", sa.Date, "oldest feature date of the window"),
        Col("psi", sa.Float, "population stability index on reference deciles"),
        Col("ks_stat", sa.Float, "two-sample Kolmogorov-Smirnov statistic"),
        Col(
            "ks_pvalue",
            sa.Float,
            "share of the training rows' past windows at least this far from their past"
            " (rows of older releases: an autocorrelation-corrected asymptotic p-value)",
            checks=(probability(),),
        ),
        Col(
            "ks_threshold",
            sa.Float,
            "the KS distance this feature is held to: the 99th percentile of the training rows'"
            " own past windows against the rows before them, below 1 - 1/window",
            # Added after the table's first release: older rows have none (so below).
            nullable=True,
        ),
        Col(
            "outside_share",
            sa.Float,
            "share of the window (or its newest third) outside the reference range",
            nullable=True,
        ),
        Col(
            "outside_threshold",
            sa.Float,
            "the share this feature is held to: its past windows' 99th percentile, at most 0.5",
            nullable=True,
        ),
        Col("range_low", sa.Float, "the reference's 0.5 % quantile", nullable=True),
        Col("range_high", sa.Float, "the reference's 99.5 % quantile", nullable=True),
        Col("drifted", sa.Boolean, "the range rule or the KS rule fired"),
        Col("rule", sa.String, "the rule that decided: range, ks or none", nullable=True, size=8),
        Col("reason", sa.String, "the verdict in words, with its numbers", nullable=True, size=400),
    ),
    key=("feature", "window_end", "model_version"),
    checks=(unique(("feature", "window_end", "model_version")),),
)

PERFORMANCE = TableContract(
    name="fx_performance",
    seed_name="eur_usd_performance",
    description="Realized accuracy of the stored forecasts over the newest resolved ones.",
    columns=(
        Col("window", sa.String, "20, 60, 250 or all resolved forecasts", size=8),
        Col("window_end", sa.Date, "newest resolved feature date in the window"),
        Col("n", sa.Integer, "resolved forecasts in the window"),
        Col("accuracy", sa.Float, "share right", nullable=True, checks=(probability(),)),
        Col("baseline_accuracy", sa.Float, "always-up on the same days", nullable=True),
        Col("brier", sa.Float, "mean squared error of P(up)", nullable=True),
        Col(
            "p_value",
            sa.Float,
            "exact one-sided binomial test: is the model worse than always-up",
            nullable=True,
        ),
        Col(
            "constant_brier",
            sa.Float,
            "Brier of the constant forecast (training's up share) on the same days",
            nullable=True,
        ),
        Col("degraded", sa.Boolean, "significantly worse than always-up, or Brier worse"),
        Col(
            "rule",
            sa.String,
            "the rule that decided: binomial, brier or none",
            nullable=True,
            size=8,
        ),
        Col(
            "verdict", sa.String, "the verdict in words, with its numbers", nullable=True, size=400
        ),
        Col("up_share", sa.Float, "share of up forecasts in the window", nullable=True),
        Col("mean_probability_up", sa.Float, "mean P(up) in the window", nullable=True),
        Col(
            "train_up_share",
            sa.Float,
            "share of up forecasts the champion makes on its training rows",
            nullable=True,
        ),
        Col(
            "train_mean_probability_up",
            sa.Float,
            "mean P(up) the champion gives its training rows",
            nullable=True,
        ),
        Col("prediction_drifted", sa.Boolean, "the up share moved from training's"),
    ),
    key=("window", "window_end"),
    checks=(unique(("window", "window_end")),),
    # The rows carry the champion's version for the asset's metadata only.
    strict="filter",
)

ALERTS = TableContract(
    name="fx_alerts",
    description="Alerts to a person: one per condition, day and channel at most.",
    columns=(
        Col("condition", sa.String, "what fired (run failure, check, promotion)", size=200),
        Col("day", sa.Date, "the day it was raised (UTC)"),
        Col("channel", sa.String, "webhook or email", size=16),
        Col("severity", sa.String, "info, warning or error", size=16),
        Col("title", sa.String, "the subject line, redacted", size=300),
        Col("text", sa.String, "the message, redacted", size=4000),
        Col("created_at", sa.DateTime, "when it was raised"),
        Col("delivered_at", sa.DateTime, "when the receiver took it", nullable=True),
        Col("attempts", sa.Integer, "deliveries tried"),
        Col("last_error", sa.String, "why the last try failed", nullable=True, size=300),
    ),
    # The primary key is what makes "once per day" hold across processes: the sensor and
    # the run that both see one failure cannot both claim its row.
    key=("condition", "day", "channel"),
)
