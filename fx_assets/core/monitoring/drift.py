"""Feature drift: the newest feature rows against the rows the champion was trained on.

Two measures per feature, because they miss different things: the population stability
index (PSI) on the reference's deciles sees a change of shape in the bulk (a volatility
regime moves rows between deciles), and the two-sample Kolmogorov-Smirnov test gives a
p-value, so "drifted" has a known false-alarm rate. With one KS test per feature the
p-value threshold is Bonferroni-corrected (alpha / number of features), so the chance
that an unchanged distribution flags any feature stays at most alpha.

Two corrections make that hold on daily features, which are autocorrelated (vol_60 of
two neighbouring days is nearly one number) and were measured to need them: on the ECB
history the textbook rule (PSI > 0.25 or the iid KS p-value under 0.01/18) flags 12 to
17 of the 18 features for the newest 60 rows against any reference of 2 to 10 years,
every window, so an alert would mean nothing.
- The KS p-value uses effective sample sizes n (1 - rho) / (1 + rho), rho the feature's
  lag-1 autocorrelation in the reference (the AR(1) variance inflation), in the same
  asymptotic formula scipy's ``ks_2samp`` uses; for a serially independent feature it
  is ``ks_2samp``'s own asymptotic p-value.
- The PSI threshold of a feature is the larger of ``psi_threshold`` and the 99th
  percentile of the PSI of the reference's own windows of the same length: a 60-row
  window of a 60-day volatility fills one or two deciles by construction, and PSI
  alone cannot tell that from a change of regime.

Dagster-free; the ``eur_usd_drift`` asset and the dashboard call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy import stats

DEFAULT_WINDOW = 60
DEFAULT_PSI_THRESHOLD = 0.25
DEFAULT_KS_ALPHA = 0.01
DECILES = 10
# An empty bin would make PSI infinite; this floor is the usual practice and keeps one
# empty decile at about 0.05 of PSI for a 60-row window.
_PSI_FLOOR = 1e-4

DRIFT_COLUMNS = [
    "feature",
    "reference_start",
    "reference_end",
    "window_start",
    "window_end",
    "psi",
    "ks_stat",
    "ks_pvalue",
    "psi_threshold",
    "drifted",
    "model_version",
]


def decile_edges(reference: np.ndarray) -> np.ndarray:
    """Interior decile edges of ``reference``; repeated edges (discrete features) merged."""
    edges = np.quantile(reference, np.linspace(0, 1, DECILES + 1)[1:-1])
    return np.unique(edges)


def bin_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of ``values`` in each bin cut at ``edges`` (a value on an edge goes right)."""
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    return counts / max(len(values), 1)


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    """Population stability index of ``current`` on the deciles of ``reference``.

    Each term (c - r) * ln(c / r) has the sign of (c - r) twice, so PSI is never negative,
    and it is zero when both samples fill the bins alike. Usual reading: under 0.1 stable,
    0.1 to 0.25 a moderate shift, over 0.25 a large one.
    """
    reference = np.asarray(reference, dtype=float)
    current = np.asarray(current, dtype=float)
    edges = decile_edges(reference)
    r = np.maximum(bin_shares(reference, edges), _PSI_FLOOR)
    c = np.maximum(bin_shares(current, edges), _PSI_FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


@dataclass(frozen=True)
class KsResult:
    statistic: float
    pvalue: float


def lag1_autocorrelation(values: np.ndarray) -> float:
    """Lag-1 autocorrelation, clipped to [0, 0.999] (a negative one is treated as none)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 3 or np.std(values) == 0:
        return 0.0
    rho = float(np.corrcoef(values[:-1], values[1:])[0, 1])
    return float(np.clip(np.nan_to_num(rho), 0.0, 0.999))


def effective_size(n: int, rho: float) -> float:
    """Sample size an AR(1) series of ``n`` rows is worth for a mean: n (1-rho)/(1+rho)."""
    return max(1.0, n * (1.0 - rho) / (1.0 + rho))


def ks(reference: np.ndarray, current: np.ndarray, rho: float = 0.0) -> KsResult:
    """Two-sample Kolmogorov-Smirnov test, two-sided, for series with autocorrelation ``rho``.

    The statistic is scipy.stats.ks_2samp's; the p-value is the asymptotic one of
    ks_2samp on the effective sample sizes (rho = 0 gives ks_2samp's ``method="asymp"``).
    """
    reference = np.asarray(reference, dtype=float)
    current = np.asarray(current, dtype=float)
    d = float(stats.ks_2samp(reference, current, method="asymp").statistic)
    n, m = effective_size(len(reference), rho), effective_size(len(current), rho)
    en = n * m / (n + m)
    return KsResult(d, float(np.clip(stats.kstwo.sf(d, max(1, round(en))), 0.0, 1.0)))


# Windows of the reference start this many rows apart when its own PSI spread is measured:
# overlapping windows give a smooth quantile, and a stride keeps it to a few hundred PSIs.
_NULL_STRIDE = 20
NULL_QUANTILE = 0.99


def psi_null_quantile(reference: np.ndarray, window: int, q: float = NULL_QUANTILE) -> float:
    """The ``q`` quantile of PSI of the reference's own ``window``-row windows against it."""
    reference = np.asarray(reference, dtype=float)
    starts = range(0, len(reference) - window + 1, _NULL_STRIDE)
    if len(reference) < 2 * window or not starts:
        return 0.0
    edges = decile_edges(reference)
    r = np.maximum(bin_shares(reference, edges), _PSI_FLOOR)
    values = []
    for i in starts:
        c = np.maximum(bin_shares(reference[i : i + window], edges), _PSI_FLOOR)
        values.append(float(np.sum((c - r) * np.log(c / r))))
    return float(np.quantile(values, q))


def is_drifted(
    psi_value: float,
    ks_pvalue: float,
    n_features: int,
    psi_threshold: float = DEFAULT_PSI_THRESHOLD,
    alpha: float = DEFAULT_KS_ALPHA,
) -> bool:
    """PSI above its threshold, or a KS p-value under alpha / n_features (Bonferroni)."""
    return bool(psi_value > psi_threshold or ks_pvalue < alpha / max(n_features, 1))


def _day(value: object) -> date:
    return pd.Timestamp(value).date()


def compare(
    reference: pd.DataFrame,
    window: pd.DataFrame,
    features: Sequence[str],
    model_version: str,
    psi_threshold: float = DEFAULT_PSI_THRESHOLD,
    alpha: float = DEFAULT_KS_ALPHA,
) -> pd.DataFrame:
    """One ``eur_usd_drift`` row per feature: ``window`` rows against ``reference`` rows.

    Both frames carry ``date`` and the feature columns; rows with a missing value of a
    feature are left out of that feature's comparison. ``psi_threshold`` is the threshold
    each feature's PSI was held to (see the module docstring).
    """
    if reference.empty or window.empty:
        return pd.DataFrame(columns=DRIFT_COLUMNS)
    span = {
        "reference_start": _day(reference["date"].min()),
        "reference_end": _day(reference["date"].max()),
        "window_start": _day(window["date"].min()),
        "window_end": _day(window["date"].max()),
    }
    reference = reference.sort_values("date")
    rows = []
    for feature in features:
        ref = reference[feature].dropna().to_numpy(float)
        cur = window[feature].dropna().to_numpy(float)
        value = psi(ref, cur)
        test = ks(ref, cur, lag1_autocorrelation(ref))
        threshold = max(psi_threshold, psi_null_quantile(ref, len(cur)))
        rows.append(
            {
                "feature": feature,
                **span,
                "psi": value,
                "ks_stat": test.statistic,
                "ks_pvalue": test.pvalue,
                "psi_threshold": threshold,
                "drifted": is_drifted(value, test.pvalue, len(features), threshold, alpha),
                "model_version": str(model_version),
            }
        )
    return pd.DataFrame(rows, columns=DRIFT_COLUMNS)


def feature_drift(
    final: pd.DataFrame,
    features: Sequence[str],
    training_cutoff: date,
    model_version: str,
    window: int = DEFAULT_WINDOW,
    training_start: date | None = None,
    psi_threshold: float = DEFAULT_PSI_THRESHOLD,
    alpha: float = DEFAULT_KS_ALPHA,
) -> pd.DataFrame:
    """The ``eur_usd_drift`` rows: the newest ``window`` rows of ``final`` against the
    champion's training rows (``training_start`` to ``training_cutoff`` inclusive)."""
    rows = final.sort_values("date")
    dates = pd.to_datetime(rows["date"])
    in_training = dates <= pd.Timestamp(training_cutoff)
    if training_start is not None:
        in_training &= dates >= pd.Timestamp(training_start)
    return compare(
        rows[in_training],
        rows.tail(window),
        features,
        model_version,
        psi_threshold=psi_threshold,
        alpha=alpha,
    )


def drifted_features(drift: pd.DataFrame) -> dict[str, float]:
    """Drifted feature -> its PSI, largest PSI first (what the check and alert name)."""
    hit = drift[drift["drifted"].astype(bool)].sort_values("psi", ascending=False)
    return {str(f): round(float(p), 4) for f, p in zip(hit["feature"], hit["psi"], strict=True)}
