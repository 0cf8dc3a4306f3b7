"""The guard against inputs a model never saw: its features' training ranges.

At registration a version gets the min and max of each feature over its training rows
(the ``feature_ranges`` tag, JSON); the champion loader reads them back. A feature row
outside them is named with how far: ``vol_20 is 5.8x the largest value the model was
trained on``. The check is two vectorised comparisons against two arrays, so the
service's hot path pays about a microsecond for it (bench/serving.py).

Stored with a prediction (``fx_predictions.out_of_range``) and served by
``/predict`` and ``/forecast/latest`` as a JSON object: feature -> {side, value, limit,
factor}, where ``factor`` is value / limit (the bound passed), empty when all is in range.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

TAG_FEATURE_RANGES = "feature_ranges"


@dataclass(frozen=True)
class Ranges:
    """Each feature's [low, high] over the training rows, in model input order."""

    features: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def of(cls, rows: pd.DataFrame, features: Sequence[str]) -> Ranges:
        values = rows[list(features)].to_numpy(dtype=float)
        return cls(tuple(features), np.nanmin(values, axis=0), np.nanmax(values, axis=0))

    def to_tag(self) -> str:
        """Compact JSON for the version tag: {"vol_20": [low, high], ...}."""
        spans = {
            f: [float(lo), float(hi)]
            for f, lo, hi in zip(self.features, self.low, self.high, strict=True)
        }
        return json.dumps(spans, separators=(",", ":"))

    @classmethod
    def from_tag(cls, text: str | None, features: Sequence[str]) -> Ranges | None:
        """None when the tag is missing or unreadable (a version of an older release), or
        lacks one of ``features``: such a champion is served without the guard."""
        try:
            spans = json.loads(text or "")
            pairs = [(float(spans[f][0]), float(spans[f][1])) for f in features]
        except (ValueError, KeyError, TypeError, IndexError):
            return None
        low, high = (np.array(side) for side in zip(*pairs, strict=True))
        return cls(tuple(features), low, high)


def out_of_range(row: np.ndarray, ranges: Ranges | None) -> dict[str, dict[str, Any]]:
    """Features of one row (model input order) outside the training ranges, with how far."""
    if ranges is None:
        return {}
    x = np.asarray(row, dtype=float)
    above, below = x > ranges.high, x < ranges.low
    if not (above.any() or below.any()):  # the common case: nothing to build
        return {}
    found: dict[str, dict[str, Any]] = {}
    for i in np.flatnonzero(above | below):
        side = "above" if above[i] else "below"
        limit = float(ranges.high[i] if above[i] else ranges.low[i])
        value = float(x[i])
        factor = round(value / limit, 2) if limit else None
        found[ranges.features[i]] = {
            "side": side,
            "value": value,
            "limit": limit,
            "factor": factor,
        }
    return found


def out_of_range_rows(x: np.ndarray, ranges: Ranges | None) -> list[dict[str, dict[str, Any]]]:
    """``out_of_range`` of each row of a 2-D array, with one comparison for all rows."""
    if ranges is None:
        return [{} for _ in range(len(x))]
    outside = (x > ranges.high) | (x < ranges.low)
    hit = outside.any(axis=1)
    return [out_of_range(x[i], ranges) if hit[i] else {} for i in range(len(x))]


def describe(flags: dict[str, dict[str, Any]] | None) -> str:
    """In words: ``vol_20 is 5.8x the largest value the model was trained on``."""
    if not flags:
        return ""
    parts = []
    for feature, f in flags.items():
        extreme = "largest" if f["side"] == "above" else "smallest"
        how = (
            f"{f['factor']:g}x the {extreme} value"
            if f.get("factor") is not None and f["factor"] > 0
            else f"{f['value']:.4g}, {f['side']} the {extreme} value ({f['limit']:.4g})"
        )
        parts.append(f"{feature} is {how} the model was trained on")
    return "; ".join(parts)


def caution(flags: dict[str, dict[str, Any]] | None) -> str:
    """The forecast line's suffix: empty, or ``; <describe>: treat with caution``."""
    text = describe(flags)
    return f"; {text}: treat with caution" if text else ""


def to_column(flags: dict[str, dict[str, Any]]) -> str | None:
    """The predictions table's ``out_of_range`` text: JSON, or None when all is in range."""
    return json.dumps(flags, separators=(",", ":")) if flags else None


def from_column(text: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(text, str) or not text:
        return {}
    try:
        found = json.loads(text)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
