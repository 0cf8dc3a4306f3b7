"""Small markdown renderers for Dagster metadata (no tabulate dependency)."""

from __future__ import annotations

import math

import pandas as pd


def _fmt(value: object) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    if isinstance(value, pd.Timestamp):
        return str(value.date()) if value == value.normalize() else value.isoformat()
    return str(value)


def markdown_table(df: pd.DataFrame, *, max_rows: int = 5) -> str:
    """The last ``max_rows`` rows of ``df`` as a GitHub markdown table."""
    tail = df.tail(max_rows)
    head = "| " + " | ".join(str(c) for c in tail.columns) + " |"
    rule = "|" + "|".join("---" for _ in tail.columns) + "|"
    body = ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in tail.itertuples(index=False)]
    return "\n".join([head, rule, *body])
