"""The warehouse: SQLite (WAL) by default, PostgreSQL via psycopg 3.

Every read and write takes a table's contract (``fx_assets.core.contracts``). Writes are
one transaction each: delete the key range being replaced, then insert. Rematerializing
therefore leaves the same rows, and a failed write leaves none. A read-only warehouse
(the dashboard, the service) cannot write even through a bug: SQLite opens with
``mode=ro`` and ``query_only``, PostgreSQL in read-only transactions.

A writing warehouse creates the tables that do not exist, and adds to an existing table
the nullable columns its contract gained since it was created (empty on the old rows):
the one schema change a release may make without a migration step.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine, make_url

from fx_assets.core.contracts import TableContract, metadata
from fx_assets.core.settings import sqlite_path, sqlite_url

# The one engine cache: one engine per (URL, mode) per process.
_CACHE: dict[tuple[str, bool], Warehouse] = {}


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_read_only(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA query_only=ON")
    cur.close()


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` URLs and use psycopg 3 for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def create_warehouse_engine(url: str, *, read_only: bool = False) -> Engine:
    url = normalize_url(url)
    path = sqlite_path(url)
    if path is not None and read_only:
        engine = sa.create_engine(sqlite_url(path, read_only=True), connect_args={"timeout": 5})
        sa.event.listen(engine, "connect", _sqlite_read_only)
    elif make_url(url).get_backend_name() == "sqlite":
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    else:
        args: dict[str, Any] = {"connect_timeout": 5 if read_only else 10}
        if read_only:
            args["options"] = "-c default_transaction_read_only=on"
        engine = sa.create_engine(url, pool_pre_ping=True, connect_args=args)
    return engine


def _add_new_columns(engine: Engine) -> None:
    """Add the contracts' columns an existing table lacks; they must be nullable."""
    inspector = sa.inspect(engine)
    quote_name = engine.dialect.identifier_preparer.quote
    added = []
    for table in metadata.sorted_tables:
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            if not column.nullable:
                raise ValueError(
                    f"{table.name} lacks the column {column.name}, which existing rows cannot"
                    " be given: recreate the table (its asset rewrites it)"
                )
            added.append(
                f"ALTER TABLE {quote_name(table.name)} ADD COLUMN {quote_name(column.name)}"
                f" {column.type.compile(dialect=engine.dialect)}"
            )
    if added:
        with engine.begin() as conn:
            for statement in added:
                conn.execute(sa.text(statement))


class Warehouse:
    """Reads and transactional, idempotent writes of the tables, by contract."""

    def __init__(self, url: str, *, create: bool = True, read_only: bool = False) -> None:
        self.url = url
        self.read_only = read_only
        self.engine = create_warehouse_engine(url, read_only=read_only)
        if create and not read_only:
            metadata.create_all(self.engine)
            _add_new_columns(self.engine)

    @classmethod
    def cached(cls, url: str, *, read_only: bool = False) -> Warehouse:
        """One engine per URL and mode per process (the service and dashboard read often)."""
        wh = _CACHE.get((url, read_only))
        if wh is None:
            wh = _CACHE[(url, read_only)] = cls(url, read_only=read_only)
        return wh

    def dispose(self) -> None:
        self.engine.dispose()

    def has(self, contract: TableContract) -> bool:
        with self.engine.connect() as conn:
            return sa.inspect(conn).has_table(contract.name)

    # --- reads -----------------------------------------------------------------
    def read(
        self,
        contract: TableContract,
        *,
        start: date | None = None,
        end: date | None = None,
        key: str | None = None,
        columns: Sequence[str] | None = None,
        newest: int | None = None,
    ) -> pd.DataFrame:
        """Rows ordered by key, optionally within [start, end] or the newest N."""
        t = contract.table
        key_col = t.c[key or contract.first_key]
        cols = [t.c[c] for c in columns] if columns else list(t.c)
        q = sa.select(*cols)
        if start is not None:
            q = q.where(key_col >= start)
        if end is not None:
            q = q.where(key_col <= end)
        if newest is not None:
            q = q.order_by(key_col.desc()).limit(newest)
        else:
            q = q.order_by(*[t.c[k] for k in ([key] if key else contract.key)])
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        # Plain str, not SQLAlchemy's quoted_name: scikit-learn records feature names only
        # when every column name is exactly a str.
        df = pd.DataFrame(rows, columns=[str(c.name) for c in cols])
        if newest is not None:
            df = df.iloc[::-1].reset_index(drop=True)
        return _coerce_types(df, t)

    def count(self, contract: TableContract) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(contract.table)).scalar()
            )

    def date_range(self, contract: TableContract) -> tuple[date | None, date | None]:
        key = contract.table.c[contract.first_key]
        with self.engine.connect() as conn:
            lo, hi = conn.execute(sa.select(sa.func.min(key), sa.func.max(key))).one()
        return _as_date(lo), _as_date(hi)

    # --- writes ----------------------------------------------------------------
    def _writable(self) -> None:
        if self.read_only:
            raise PermissionError("this warehouse connection is read-only")

    def replace_range(
        self, contract: TableContract, df: pd.DataFrame, start: date, end: date
    ) -> int:
        """Delete rows with first key in [start, end] and insert ``df``, in one transaction."""
        return self.replace_ranges({contract: df}, start, end)[contract.name]

    def replace_ranges(
        self, frames: Mapping[TableContract, pd.DataFrame], start: date, end: date
    ) -> dict[str, int]:
        """``replace_range`` for several tables in one transaction (rows and their rejects)."""
        self._writable()
        prepared = [(c, _records(df, c.table)) for c, df in frames.items()]
        with self.engine.begin() as conn:
            for c, records in prepared:
                key = c.table.c[c.first_key]
                conn.execute(sa.delete(c.table).where(key >= start, key <= end))
                if records:
                    conn.execute(sa.insert(c.table), records)
        return {c.name: len(records) for c, records in prepared}

    def replace_all(self, contract: TableContract, df: pd.DataFrame) -> int:
        """Replace the whole table with ``df``, in one transaction."""
        return self.replace_tables({contract: df})[contract.name]

    def replace_tables(self, frames: Mapping[TableContract, pd.DataFrame]) -> dict[str, int]:
        """Replace several whole tables in one transaction: readers see all or none."""
        self._writable()
        prepared = [(c, _records(df, c.table)) for c, df in frames.items()]
        with self.engine.begin() as conn:
            for c, records in prepared:
                conn.execute(sa.delete(c.table))
                if records:
                    conn.execute(sa.insert(c.table), records)
        return {c.name: len(records) for c, records in prepared}

    def replace_where(self, contract: TableContract, df: pd.DataFrame, **equals: Any) -> int:
        """Delete the rows whose columns equal ``equals`` and insert ``df``, in one go.

        For tables keyed by more than a date (drift per feature and model version): a rerun
        on the same data replaces its own rows and never duplicates them.
        """
        self._writable()
        t = contract.table
        records = _records(df, t)
        with self.engine.begin() as conn:
            conn.execute(sa.delete(t).where(*[t.c[k] == v for k, v in equals.items()]))
            if records:
                conn.execute(sa.insert(t), records)
        return len(records)

    def insert_new(self, contract: TableContract, df: pd.DataFrame) -> int:
        """Insert only rows whose key is not stored yet; stored rows are never rewritten.

        ``INSERT ... ON CONFLICT DO NOTHING``: two overlapping runs cannot collide, the
        second simply inserts nothing for the keys the first wrote.
        """
        self._writable()
        t = contract.table
        records = _records(df, t)
        if not records:
            return 0
        dialect = self.engine.dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = (
            insert(t)
            .on_conflict_do_nothing(index_elements=list(contract.key))
            .returning(*[t.c[k] for k in contract.key])
        )
        with self.engine.begin() as conn:
            # RETURNING names the rows actually inserted (rowcount is not reliable for
            # multi-row ON CONFLICT inserts across drivers).
            return len(conn.execute(stmt, records).all())


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
