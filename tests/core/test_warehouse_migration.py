"""A warehouse made by an earlier release is brought up to date in place, data kept: a
table gains its contract's new nullable columns, and the seed's one-pair tables become the
book's tables keyed by pair, their old names views of EUR/USD's rows."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from fx_assets.core.contracts import CONTRACTS, DRIFT, FINAL, RAW
from fx_assets.core.contracts.base import PAIR
from fx_assets.core.warehouse import Warehouse, create_warehouse_engine, normalize_url


def _old_drift_table(url: str, *, without: str) -> sa.Engine:
    """``eur_usd_drift`` as a release without the column ``without`` created it."""
    engine = create_warehouse_engine(normalize_url(url))
    old = sa.MetaData()
    columns = [
        c.sql_column(key=c.name in DRIFT.key)
        for c in DRIFT.columns
        if c.name not in (without, PAIR)
    ]
    sa.Table(DRIFT.seed_name, old, *columns).create(engine)
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
        conn.execute(sa.text(f"INSERT INTO {DRIFT.seed_name} ({', '.join(old)}) VALUES "
                             f"({', '.join(':' + k for k in old)})"), old)  # fmt: skip
    engine.dispose()

    wh = Warehouse(warehouse_url)

    rows = wh.read(DRIFT)
    assert rows.columns.tolist() == DRIFT.column_names
    assert len(rows) == 1 and rows["psi"].iloc[0] == 8.28 and rows["pair"].iloc[0] == "EURUSD"
    assert pd.isna(rows["rule"].iloc[0])
    # The release's own rows now land with the column, next to the old one.
    new = pd.DataFrame([_row(feature="vol_20", psi=6.9, rule="range")])
    new[["window_end", "reference_start", "reference_end", "window_start"]] = new[
        ["window_end", "reference_start", "reference_end", "window_start"]
    ].apply(pd.to_datetime)
    wh.insert_new(DRIFT, DRIFT.validate(new), pair="EURUSD")
    rows = wh.read(DRIFT).set_index("feature")
    assert rows.loc["vol_20", "rule"] == "range" and pd.isna(rows.loc["vol_60", "rule"])
    # Opening it again changes nothing.
    assert Warehouse(warehouse_url).read(DRIFT).equals(wh.read(DRIFT))


def test_a_missing_required_column_is_a_clear_error(warehouse_url: str) -> None:
    _old_drift_table(warehouse_url, without="psi").dispose()
    with pytest.raises(
        ValueError, match="eur_usd_drift lacks the column psi, which existing rows cannot"
    ):
        Warehouse(warehouse_url)


def _seed_tables(url: str) -> sa.Engine:
    """Every ``eur_usd_*`` table as the release before the book made it (no pair column),
    with a row or two in the market tables."""
    engine = create_warehouse_engine(normalize_url(url))
    old = sa.MetaData()
    for contract in CONTRACTS.values():
        if contract.seed_name is None:
            continue
        columns = [
            c.sql_column(key=c.name in contract.key) for c in contract.columns if c.name != PAIR
        ]
        sa.Table(contract.seed_name, old, *columns).create(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO eur_usd_raw (date, close, source, ingested_at) VALUES"
                    " ('2024-01-02', 1.0956, 'ecb', '2024-01-03 08:00:00+00:00'),"
                    " ('2024-01-03', 1.0919, 'ecb', '2024-01-04 08:00:00+00:00')")
        )  # fmt: skip
    return engine


def test_a_previous_release_warehouse_is_migrated_in_place_and_its_names_stay_readable(
    warehouse_url: str,
) -> None:
    _seed_tables(warehouse_url).dispose()

    wh = Warehouse(warehouse_url)

    # The rows moved into the book's table as EUR/USD's...
    raw = wh.read(RAW)
    assert raw["pair"].tolist() == ["EURUSD", "EURUSD"]
    assert raw["close"].tolist() == [1.0956, 1.0919]
    # ... and the seed's name answers them with the seed's columns, as a view.
    with wh.engine.connect() as conn:
        assert "eur_usd_raw" in sa.inspect(conn).get_view_names()
        seed = conn.execute(sa.text("SELECT * FROM eur_usd_raw ORDER BY date")).mappings().all()
    assert [r["close"] for r in seed] == [1.0956, 1.0919]
    assert "pair" not in seed[0]
    # Another pair's rows never show under the seed's names.
    gbp = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-02"]),
            "close": [1.2700],
            "source": ["ecb"],
            "ingested_at": [pd.Timestamp("2024-01-03 08:00", tz="UTC")],
        }
    )
    wh.replace_range(RAW, gbp, date(2024, 1, 1), date(2024, 12, 31), pair="GBPUSD")
    with wh.engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM eur_usd_raw")).scalar()
    assert n == 2 and wh.count(RAW) == 3
    # Opening again migrates nothing twice.
    again = Warehouse(warehouse_url)
    assert again.read(RAW, pair="EURUSD")["close"].tolist() == [1.0956, 1.0919]
    wh.dispose()
    again.dispose()


def test_every_seed_name_is_a_view_of_the_first_pair_in_a_new_warehouse(
    warehouse_url: str,
) -> None:
    wh = Warehouse(warehouse_url)
    with wh.engine.connect() as conn:
        views = set(sa.inspect(conn).get_view_names())
    seeds = {c.seed_name for c in CONTRACTS.values() if c.seed_name}
    assert seeds <= views
    assert {"eur_usd_raw", "eur_usd_final", "eur_usd_predictions", "eur_usd_train"} <= seeds
    final = pd.DataFrame({"date": pd.to_datetime(["2024-01-02", "2024-01-03"])})
    for f in FINAL.column_names[2:]:
        final[f] = 0.5 if f != "target" else 1
    for pair in ("EURUSD", "USDJPY"):
        wh.replace_all(FINAL, final, pair=pair)
    with wh.engine.connect() as conn:
        seen = conn.execute(sa.text("SELECT * FROM eur_usd_final")).mappings().all()
    assert len(seen) == 2 and list(seen[0]) == FINAL.seed_columns
    wh.dispose()
