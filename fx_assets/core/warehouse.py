"""The warehouse: SQLite (WAL) by default, PostgreSQL via psycopg 3.

Writes are one transaction each: delete the key range being replaced, then insert.
Rematerializing therefore leaves the same rows, and a failed write leaves none.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from fx_assets.core.tables import TABLES, metadata

_ENGINES: dict[str, Engine] = {}


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` URLs and use psycopg 3 for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def create_warehouse_engine(url: str) -> Engine:
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    return engine


class Warehouse:
    """Reads and transactional, idempotent writes of the ``eur_usd_*`` tables."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = url
        self.engine = create_warehouse_engine(url)
        if create:
            metadata.create_all(self.engine)

    @classmethod
    def cached(cls, url: str) -> Warehouse:
        """One engine per URL per process (the service and dashboard read often)."""
        wh = _ENGINES.get(url)
        if wh is None:
            wh = _ENGINES[url] = cls(url)
        return wh

    def dispose(self) -> None:
        self.engine.dispose()

    # --- reads -----------------------------------------------------------------
    def read(
        self,
        table: str,
        *,
        start: date | None = None,
        end: date | None = None,
        key: str | None = None,
        columns: Sequence[str] | None = None,
        newest: int | None = None,
    ) -> pd.DataFrame:
        """Rows of ``table`` ordered by key, optionally within [start, end] or the newest N."""
        t = TABLES[table]
        key_col = t.c[key or t.primary_key.columns.keys()[0]]
        cols = [t.c[c] for c in columns] if columns else list(t.c)
        q = sa.select(*cols)
        if start is not None:
            q = q.where(key_col >= start)
        if end is not None:
            q = q.where(key_col <= end)
        if newest is not None:
            q = q.order_by(key_col.desc()).limit(newest)
        else:
            q = q.order_by(key_col)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        # Plain str, not SQLAlchemy's quoted_name: scikit-learn records feature names only
        # when every column name is exactly a str.
        df = pd.DataFrame(rows, columns=[str(c.name) for c in cols])
        if newest is not None:
            df = df.iloc[::-1].reset_index(drop=True)
        return _coerce_types(df, t)

    def count(self, table: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(TABLES[table])).scalar())

    def date_range(self, table: str) -> tuple[date | None, date | None]:
        t = TABLES[table]
        key = t.primary_key.columns.values()[0]
        with self.engine.connect() as conn:
            lo, hi = conn.execute(sa.select(sa.func.min(key), sa.func.max(key))).one()
        return _as_date(lo), _as_date(hi)

    # --- writes ----------------------------------------------------------------
    def replace_range(self, table: str, df: pd.DataFrame, start: date, end: date) -> int:
        """Delete rows with key in [start, end] and insert ``df``, in one transaction."""
        t = TABLES[table]
        key = t.primary_key.columns.values()[0]
        records = _records(df, t)
        with self.engine.begin() as conn:
            conn.execute(sa.delete(t).where(key >= start, key <= end))
            if records:
                conn.execute(sa.insert(t), records)
        return len(records)

    def replace_all(self, table: str, df: pd.DataFrame) -> int:
        """Replace the whole table with ``df``, in one transaction."""
        t = TABLES[table]
        records = _records(df, t)
        with self.engine.begin() as conn:
            conn.execute(sa.delete(t))
            if records:
                conn.execute(sa.insert(t), records)
        return len(records)

    def replace_tables(self, frames: dict[str, pd.DataFrame]) -> dict[str, int]:
        """Replace several whole tables in one transaction: readers see all or none."""
        prepared = {name: (TABLES[name], _records(df, TABLES[name])) for name, df in frames.items()}
        with self.engine.begin() as conn:
            for t, records in prepared.values():
                conn.execute(sa.delete(t))
                if records:
                    conn.execute(sa.insert(t), records)
        return {name: len(records) for name, (_, records) in prepared.items()}

    def insert_new(self, table: str, df: pd.DataFrame) -> int:
        """Insert only rows whose key is not stored yet; stored rows are never rewritten."""
        t = TABLES[table]
        key = t.primary_key.columns.values()[0]
        records = _records(df, t)
        if not records:
            return 0
        with self.engine.begin() as conn:
            existing = {
                _as_date(v)
                for v in conn.execute(
                    sa.select(key).where(key.in_([r[key.name] for r in records]))
                ).scalars()
            }
            fresh = [r for r in records if r[key.name] not in existing]
            if fresh:
                conn.execute(sa.insert(t), fresh)
        return len(fresh)


def _as_date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        return value.date()
    return value


def _clean(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _records(df: pd.DataFrame, table: sa.Table) -> list[dict[str, Any]]:
    """DataFrame rows as plain Python values for the table's columns (NaN becomes NULL)."""
    missing = [c.name for c in table.c if c.name not in df.columns and not c.nullable]
    if missing:
        raise ValueError(f"{table.name}: missing columns {missing}")
    names = [c.name for c in table.c if c.name in df.columns]
    date_cols = {c.name for c in table.c if type(c.type) is sa.Date}
    out: list[dict[str, Any]] = []
    for row in df[names].itertuples(index=False, name=None):
        rec = {}
        for name, value in zip(names, row, strict=True):
            value = _clean(value)
            rec[name] = _as_date(value) if name in date_cols else value
        out.append(rec)
    return out


def _coerce_types(df: pd.DataFrame, table: sa.Table) -> pd.DataFrame:
    for c in table.c:
        if c.name not in df.columns:
            continue
        if isinstance(c.type, sa.DateTime):
            df[c.name] = pd.to_datetime(df[c.name], utc=True)
        elif isinstance(c.type, sa.Date):
            df[c.name] = pd.to_datetime(df[c.name])
        elif isinstance(c.type, sa.Float):
            df[c.name] = pd.to_numeric(df[c.name], errors="coerce").astype(float)
        elif isinstance(c.type, sa.Integer):
            df[c.name] = pd.array(df[c.name].tolist(), dtype="Int64")
    return df
