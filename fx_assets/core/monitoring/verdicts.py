"""Monitoring verdicts in words: which rule decided, with its numbers and its baseline.

One function per verdict, Dagster-free. The text is stored beside the figures
(``fx_drift.reason``, ``fx_performance.verdict``) and read back unchanged by
every surface: the checks, the alerts, ``fx run``, ``/monitoring`` and the page. A
p-value printed is the p-value of the rule that decided, with its direction stated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

# Decay: "worse than always-up" at this level (the exact one-sided binomial test).
ALPHA = 0.05


def _nan(value: Any) -> bool:
    return value is None or bool(pd.isna(value))


def feature_reason(row: Mapping[str, Any]) -> str:
    """One feature's verdict: ``vol_20 (78% of the window outside the reference range
    [0.0021, 0.0093], held to 50%)``, prefixed by ``drifted:`` or ``not drifted:``."""
    f = row["feature"]
    outside = (
        f"{row['outside_share']:.0%} of the window outside the reference range"
        f" [{row['range_low']:.4g}, {row['range_high']:.4g}],"
        f" held to {row['outside_threshold']:.0%}"
    )
    ks = (
        f"KS distance {row['ks_stat']:.2f} {{}} {row['ks_threshold']:.2f}, the threshold from"
        f" the reference's own past windows (p={row['ks_pvalue']:.3f})"
    )
    if row["rule"] == "range":
        return f"drifted: {f} ({outside})"
    if row["rule"] == "ks":
        return f"drifted: {f} ({ks.format('above')})"
    return f"not drifted: {f} ({ks.format('within')}; {outside})"


def drift_verdict(rows: pd.DataFrame) -> str:
    """The whole window: each drifted feature with its reason, or the closest call."""
    if rows.empty:
        return "no drift rows: nothing to compare yet"
    if "reason" not in rows or rows["reason"].isna().any():
        # Rows of an older release carry no reason: say only what they say.
        named = rows[rows["drifted"].astype(bool)]["feature"].tolist()
        return f"drifted: {', '.join(named)}" if named else "not drifted"
    hit = rows[rows["drifted"].astype(bool)].sort_values("ks_stat", ascending=False)
    if len(hit):
        reasons = [str(r).removeprefix("drifted: ") for r in hit["reason"]]
        return f"drifted: {len(hit)} of {len(rows)} features: " + "; ".join(reasons)
    closeness = rows["ks_stat"].astype(float) / rows["ks_threshold"].astype(float)
    closest = rows.loc[closeness.idxmax()]
    return f"not drifted: none of {len(rows)} features beyond its thresholds; closest " + str(
        closest["reason"]
    ).removeprefix("not drifted: ")


def decay_rule(p_value: float, brier: float, constant_brier: float, alpha: float = ALPHA) -> str:
    """``binomial`` (significantly worse than always-up) decides before ``brier``."""
    if not _nan(p_value) and p_value < alpha:
        return "binomial"
    if not _nan(brier) and not _nan(constant_brier) and brier > constant_brier:
        return "brier"
    return "none"


def performance_verdict(row: Mapping[str, Any], alpha: float = ALPHA) -> str:
    """``decayed: Brier 0.2509 over the last 60 is worse than the constant forecast's
    0.2497 ...`` or ``not decayed: accuracy 43.3% vs always-up 36.7% ...``."""
    n = int(row["n"])
    if n == 0:
        return "not judged: no resolved forecast yet"
    span = f"the last {n}" if str(row["window"]) != "all" else f"all {n} resolved"
    accuracy = f"accuracy {row['accuracy']:.1%} vs always-up {row['baseline_accuracy']:.1%}"
    # The one-sided test's question, not a claim: 45% vs 40% once read "worse than always-up".
    test = f"test for worse than always-up: p={row['p_value']:.3f}"
    brier = f"Brier {row['brier']:.4f}"
    constant = row.get("constant_brier")
    constant_text = "" if _nan(constant) else f" vs the constant forecast's {constant:.4f}"
    rule = row.get("rule") or decay_rule(row["p_value"], row["brier"], constant, alpha)
    if rule == "binomial":
        return f"decayed: {accuracy} over {span} ({test} < {alpha}); {brier}{constant_text}"
    if rule == "brier":
        return (
            f"decayed: {brier} over {span} is worse than the constant forecast's {constant:.4f}"
            f" ({accuracy}, {test}: not significant)"
        )
    return f"not decayed: {accuracy} over {span} ({test}); {brier}{constant_text}"
