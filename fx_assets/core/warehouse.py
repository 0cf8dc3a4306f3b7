"""The warehouse: SQLite (WAL) by default, PostgreSQL via psycopg 3.

Every read and write takes a table's contract (``fx_assets.core.contracts``). Writes are
one transaction each: delete the key range being replaced, then insert. Rematerializing
therefore leaves the same rows, and a failed write leaves none. A read-only warehouse
(the dashboard, the service) cannot write even through a bug: SQLite opens with
``mode=ro`` and ``query_only``, PostgreSQL in read-only transactions.

A writing warehouse creates the tables that do not exist and brings an older schema up
to date on open (``fx_assets.core.migrations``).
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
from fx_assets.core.contracts.base import PAIR
from fx_assets.core.migrations import migrate
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


class Warehouse:
    """Reads and transactional, idempotent writes of the tables, by contract."""

    def __init__(self, url: str, *, create: bool = True, read_only: bool = False) -> None:
        self.url = url
        self.read_only = read_only
        self.engine = create_warehouse_engine(url, read_only=read_only)
        if create and not read_only:
            metadata.create_all(self.engine)
            migrate(self.engine)

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
        pair: str | None = None,
    ) -> pd.DataFrame:
        """Rows ordered by key, optionally within [start, end] or the newest N.

        With ``pair``, that pair's rows without the pair column (what one pair's code
        reads); without it, a book table's rows of every pair, the pair first.
        """
        t = contract.table
        key_col = t.c[key or contract.first_key]
        if columns:
            cols = [t.c[c] for c in columns]
        else:
            cols = [c for c in t.c if not (pair is not None and c.name == PAIR)]
        q = sa.select(*cols).where(*_pair_filter(contract, pair))
        if start is not None:
            q = q.where(key_col >= start)
        if end is not None:
            q = q.where(key_col <= end)
        if newest is not None:
            q = q.order_by(key_col.desc()).limit(newest)
        else:
            by = [key] if key else [k for k in contract.key if not (pair and k == PAIR)]
            q = q.order_by(*[t.c[k] for k in by])
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        # Plain str, not SQLAlchemy's quoted_name: scikit-learn records feature names only
        # when every column name is exactly a str.
        df = pd.DataFrame(rows, columns=[str(c.name) for c in cols])
        if newest is not None:
            df = df.iloc[::-1].reset_index(drop=True)
        return _coerce_types(df, t)

    def count(self, contract: TableContract, *, pair: str | None = None) -> int:
        q = sa.select(sa.func.count()).select_from(contract.table)
        with self.engine.connect() as conn:
            return int(conn.execute(q.where(*_pair_filter(contract, pair))).scalar())

    def date_range(
        self, contract: TableContract, *, pair: str | None = None
    ) -> tuple[date | None, date | None]:
        key = contract.table.c[contract.first_key]
        q = sa.select(sa.func.min(key), sa.func.max(key)).where(*_pair_filter(contract, pair))
        with self.engine.connect() as conn:
            lo, hi = conn.execute(q).one()
        return _as_date(lo), _as_date(hi)

    def pairs(self, contract: TableContract) -> list[str]:
        """The pairs a book table holds rows of, in order."""
        column = contract.table.c[PAIR]
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.select(column).distinct().order_by(column))]

    def for_pair(self, pair: str) -> PairWarehouse:
        """This warehouse seen by one pair's code: its reads and writes touch that pair only."""
        return PairWarehouse(self, pair)

    # --- writes ----------------------------------------------------------------
    def _writable(self) -> None:
        if self.read_only:
            raise PermissionError("this warehouse connection is read-only")

    def replace_range(
        self,
        contract: TableContract,
        df: pd.DataFrame,
        start: date,
        end: date,
        *,
        pair: str | None = None,
    ) -> int:
        """Delete rows with first key in [start, end] and insert ``df``, in one transaction."""
        return self.replace_ranges({contract: df}, start, end, pair=pair)[contract.name]

    def replace_ranges(
        self,
        frames: Mapping[TableContract, pd.DataFrame],
        start: date,
        end: date,
        *,
        pair: str | None = None,
    ) -> dict[str, int]:
        """``replace_range`` for several tables in one transaction (rows and their rejects)."""
        self._writable()
        prepared = [(c, _records(df, c, pair)) for c, df in frames.items()]
        with self.engine.begin() as conn:
            for c, records in prepared:
                key = c.table.c[c.first_key]
                where = [key >= start, key <= end, *_pair_filter(c, pair)]
                conn.execute(sa.delete(c.table).where(*where))
                if records:
                    conn.execute(sa.insert(c.table), records)
        return {c.name: len(records) for c, records in prepared}

    def replace_all(
        self, contract: TableContract, df: pd.DataFrame, *, pair: str | None = None
    ) -> int:
        """Replace the whole table (a book table: the pair's rows) with ``df``, in one go."""
        return self.replace_tables({contract: df}, pair=pair)[contract.name]

    def replace_tables(
        self, frames: Mapping[TableContract, pd.DataFrame], *, pair: str | None = None
    ) -> dict[str, int]:
        """Replace several whole tables (a book table: the pair's rows) in one transaction:
        readers see all or none."""
        self._writable()
        prepared = [(c, _records(df, c, pair)) for c, df in frames.items()]
        with self.engine.begin() as conn:
            for c, records in prepared:
                conn.execute(sa.delete(c.table).where(*_pair_filter(c, pair)))
                if records:
                    conn.execute(sa.insert(c.table), records)
        return {c.name: len(records) for c, records in prepared}

    def replace_where(
        self, contract: TableContract, df: pd.DataFrame, *, pair: str | None = None, **equals: Any
    ) -> int:
        """Delete the rows whose columns equal ``equals`` and insert ``df``, in one go.

        For tables keyed by more than a date (drift per feature and model version): a rerun
        on the same data replaces its own rows and never duplicates them.
        """
        self._writable()
        t = contract.table
        records = _records(df, contract, pair)
        where = [*[t.c[k] == v for k, v in equals.items()], *_pair_filter(contract, pair)]
        with self.engine.begin() as conn:
            conn.execute(sa.delete(t).where(*where))
            if records:
                conn.execute(sa.insert(t), records)
        return len(records)

    def insert_new(
        self, contract: TableContract, df: pd.DataFrame, *, pair: str | None = None
    ) -> int:
        """Insert only rows whose key is not stored yet; stored rows are never rewritten.

        ``INSERT ... ON CONFLICT DO NOTHING``: two overlapping runs cannot collide, the
        second simply inserts nothing for the keys the first wrote.
        """
        self._writable()
        t = contract.table
        records = _records(df, contract, pair)
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


class PairWarehouse:
    """One pair's view of the warehouse: the same reads and writes, bound to the pair.

    A pair's asset reads and writes its own rows only: rematerializing one pair can never
    touch another's, and the code that builds one pair's rows does not know of the book.
    """

    def __init__(self, warehouse: Warehouse, pair: str) -> None:
        self.warehouse = warehouse
        self.pair = pair
        self.engine = warehouse.engine

    def read(self, contract: TableContract, **kwargs: Any) -> pd.DataFrame:
        return self.warehouse.read(contract, pair=self._pair(contract), **kwargs)

    def count(self, contract: TableContract) -> int:
        return self.warehouse.count(contract, pair=self._pair(contract))

    def date_range(self, contract: TableContract) -> tuple[date | None, date | None]:
        return self.warehouse.date_range(contract, pair=self._pair(contract))

    def has(self, contract: TableContract) -> bool:
        return self.warehouse.has(contract)

    def replace_range(
        self, contract: TableContract, df: pd.DataFrame, start: date, end: date
    ) -> int:
        return self.warehouse.replace_range(contract, df, start, end, pair=self._pair(contract))

    def replace_ranges(
        self, frames: Mapping[TableContract, pd.DataFrame], start: date, end: date
    ) -> dict[str, int]:
        return self.warehouse.replace_ranges(frames, start, end, pair=self.pair)

    def replace_all(self, contract: TableContract, df: pd.DataFrame) -> int:
        return self.warehouse.replace_all(contract, df, pair=self._pair(contract))

    def replace_tables(self, frames: Mapping[TableContract, pd.DataFrame]) -> dict[str, int]:
        return self.warehouse.replace_tables(frames, pair=self.pair)

    def replace_where(self, contract: TableContract, df: pd.DataFrame, **equals: Any) -> int:
        return self.warehouse.replace_where(contract, df, pair=self._pair(contract), **equals)

    def insert_new(self, contract: TableContract, df: pd.DataFrame) -> int:
        return self.warehouse.insert_new(contract, df, pair=self._pair(contract))

    def _pair(self, contract: TableContract) -> str | None:
        # The platform's own tables (alerts, bootstrap) are not the pair's: read them whole.
        return self.pair if contract.by_pair else None


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


def _pair_filter(contract: TableContract, pair: str | None) -> list[sa.ColumnElement[bool]]:
    """The WHERE clause that keeps one pair's rows of a book table (none: every pair)."""
    if pair is not None:
        if not contract.by_pair:
            raise ValueError(f"{contract.name} is not keyed by pair")
        return [contract.table.c[PAIR] == pair]
    return []


def _records(
    df: pd.DataFrame, contract: TableContract, pair: str | None = None
) -> list[dict[str, Any]]:
    """DataFrame rows as plain Python values for the table's columns (NaN becomes NULL);
    with ``pair``, every row is that pair's."""
    table = contract.table
    if pair is not None:
        df = df.assign(**{PAIR: pair})
    elif contract.by_pair and len(df) and PAIR not in df.columns:
        raise ValueError(f"{contract.name}: a batch without a pair column needs pair=")
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
