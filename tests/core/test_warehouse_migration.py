"""A table made by an earlier release gains its contract's new nullable columns, data kept."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from fx_assets.core.contracts import DRIFT
from fx_assets.core.warehouse import Warehouse, create_warehouse_engine, normalize_url


def _old_drift_table(url: str, *, without: str) -> sa.Engine:
    """``eur_usd_drift`` as a release without the column ``without`` created it."""
    engine = create_warehouse_engine(normalize_url(url))
    old = sa.MetaData()
    columns = [c.sql_column(key=c.name in DRIFT.key) for c in DRIFT.columns if c.name != without]
    sa.Table(DRIFT.name, old, *columns).create(engine)
    return engine


def _row(**overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "feature": "vol_60",
        "window_end": date(2026, 10, 30),
        "model_version": "1",
        "reference_start": date(1999, 3, 29),
        "reference_end": date(2024, 11, 11),
        "window_start": date(2026, 8, 10),
        "psi": 8.28,
        "ks_stat": 0.93,
        "ks_pvalue": 0.14,
        "ks_threshold": 0.98,
        "outside_share": 0.0,
        "outside_threshold": 0.5,
        "range_low": 0.0017,
        "range_high": 0.0131,
        "drifted": False,
        "rule": "none",
        "reason": "not drifted: vol_60",
    }
    row.update(overrides)
    return row


def test_a_new_nullable_column_is_added_and_the_old_rows_stay(warehouse_url: str) -> None:
    engine = _old_drift_table(warehouse_url, without="rule")
    old = {k: v for k, v in _row().items() if k != "rule"}
    with engine.begin() as conn:
        conn.execute(sa.text(f"INSERT INTO {DRIFT.name} ({', '.join(old)}) VALUES "
                             f"({', '.join(':' + k for k in old)})"), old)  # fmt: skip
    engine.dispose()

    wh = Warehouse(warehouse_url)

    rows = wh.read(DRIFT)
    assert rows.columns.tolist() == DRIFT.column_names
    assert len(rows) == 1 and rows["psi"].iloc[0] == 8.28
    assert pd.isna(rows["rule"].iloc[0])
    # The release's own rows now land with the column, next to the old one.
    new = pd.DataFrame([_row(feature="vol_20", psi=6.9, rule="range")])
    new[["window_end", "reference_start", "reference_end", "window_start"]] = new[
        ["window_end", "reference_start", "reference_end", "window_start"]
    ].apply(pd.to_datetime)
    wh.insert_new(DRIFT, DRIFT.validate(new))
    rows = wh.read(DRIFT).set_index("feature")
    assert rows.loc["vol_20", "rule"] == "range" and pd.isna(rows.loc["vol_60", "rule"])
    # Opening it again changes nothing.
    assert Warehouse(warehouse_url).read(DRIFT).equals(wh.read(DRIFT))


def test_a_missing_required_column_is_a_clear_error(warehouse_url: str) -> None:
    _old_drift_table(warehouse_url, without="psi").dispose()
    with pytest.raises(ValueError, match="eur_usd_drift lacks the column psi, which existing"):
        Warehouse(warehouse_url)
