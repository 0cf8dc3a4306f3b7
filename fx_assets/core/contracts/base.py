"""What a table contract is, and what derives from it.

A ``TableContract`` holds a table's name, description, columns, key and checks. From it
come the SQLAlchemy table (``.table``), the pandera schema (``.schema``, used on every
batch before it is written and by the blocking asset check on the stored table), and
the column list the Dagster UI shows (``.columns``, turned into ``dagster/column_schema``
by the code location). Readers and writers of the warehouse take the contract.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import sqlalchemy as sa

metadata = sa.MetaData()

# The column every book table is keyed by first.
PAIR = "pair"


class DataValidationError(ValueError):
    """A batch broke its table's contract; the message names the offending rows."""


@dataclass(frozen=True)
class Col:
    """One column: its SQL type, nullability, meaning and value checks."""

    name: str
    sql: type[sa.types.TypeEngine[Any]]
    description: str
    nullable: bool = False
    checks: tuple[pa.Check, ...] = ()
    dtype: Any = None  # the pandera dtype; None: derived from ``sql``
    size: int | None = None  # String length
    # False: a batch may lack it (filled by the writer, e.g. ``ingested_at``).
    required: bool = True

    def pandera_dtype(self) -> Any:
        if self.dtype is not None:
            return self.dtype
        return {
            sa.Date: "datetime64[ns]",
            sa.DateTime: "datetime64[ns, UTC]",
            sa.Float: float,
            sa.Integer: "Int64",
            sa.String: str,
            sa.Boolean: bool,
        }[self.sql]

    def sql_column(self, key: bool) -> sa.Column[Any]:
        kind = self.sql(timezone=True) if self.sql is sa.DateTime else self.sql()
        if self.sql is sa.String:
            kind = sa.String(self.size or 64)
        return sa.Column(self.name, kind, primary_key=key, nullable=self.nullable and not key)

    @property
    def type_name(self) -> str:
        return {
            sa.Date: "date",
            sa.DateTime: "timestamp",
            sa.Float: "float",
            sa.Integer: "integer",
            sa.String: "string",
            sa.Boolean: "boolean",
        }[self.sql]


# eq=False: a contract is equal only to itself, and hashable (a dict key of writes).
@dataclass(frozen=True, eq=False)
class TableContract:
    """Everything about one warehouse table; see the module docstring."""

    name: str
    description: str
    columns: tuple[Col, ...]
    key: tuple[str, ...]
    checks: tuple[pa.Check, ...] = ()
    # "filter": extra columns of a batch are dropped before writing (the model tables).
    strict: bool | str = False
    # The seed's name of the table (``eur_usd_raw``): kept as a read-only view of the first
    # pair's rows with the seed's columns, and migrated from on first open.
    seed_name: str | None = None
    table: sa.Table = field(init=False, repr=False, compare=False)
    schema: pa.DataFrameSchema = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.seed_name is not None:
            # Keyed by pair first. A batch may leave the column out: the warehouse writes a
            # batch for one pair and fills it in, so the row rules see one pair's rows.
            pair = Col(PAIR, sa.String, "currency pair, base then quote (EURUSD)", size=6)
            object.__setattr__(self, "columns", (replace(pair, required=False), *self.columns))
            object.__setattr__(self, "key", (PAIR, *self.key))
        names = [c.name for c in self.columns]
        missing = [k for k in self.key if k not in names]
        if missing:
            raise ValueError(f"{self.name}: key {missing} is not a column")
        table = sa.Table(
            self.name, metadata, *[c.sql_column(c.name in self.key) for c in self.columns]
        )
        schema = pa.DataFrameSchema(
            {
                c.name: pa.Column(
                    c.pandera_dtype(),
                    checks=list(c.checks),
                    nullable=c.nullable,
                    required=c.required,
                )
                for c in self.columns
            },
            checks=list(self.checks),
            coerce=True,
            strict=self.strict,
            name=self.name,
        )
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "schema", schema)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def by_pair(self) -> bool:
        """Rows are keyed by pair (every table but the platform's own bookkeeping)."""
        return self.seed_name is not None

    @property
    def first_key(self) -> str:
        """The key ranges are taken on: the first key after the pair (a date, mostly)."""
        return next((k for k in self.key if k != PAIR), self.key[0])

    @property
    def seed_columns(self) -> list[str]:
        """The columns of the seed's view: all but the pair."""
        return [c.name for c in self.columns if c.name != PAIR]

    def validate(self, df: pd.DataFrame, *, max_rows: int = 5) -> pd.DataFrame:
        """The batch coerced to the contract, or one ``DataValidationError`` line."""
        return validate(self.schema, df, max_rows=max_rows)


def validate(schema: pa.DataFrameSchema, df: pd.DataFrame, *, max_rows: int = 5) -> pd.DataFrame:
    """Validate every check at once; on failure raise one line naming the bad rows."""
    try:
        return schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        raise DataValidationError(
            describe_failures(schema.name or "batch", df, exc, max_rows)
        ) from None


def describe_failures(
    name: str, df: pd.DataFrame, exc: pa.errors.SchemaErrors, max_rows: int = 5
) -> str:
    cases = exc.failure_cases
    parts: list[str] = []
    date_col = next((c for c in ("date", "feature_date") if c in df.columns), None)
    for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=False):
        where = str(column) if isinstance(column, str) else "table"
        idx = [int(i) for i in group["index"].dropna().unique()[:max_rows] if i == i]
        if idx and date_col:
            dates = [str(pd.Timestamp(df[date_col].iloc[i]).date()) for i in idx if i < len(df)]
            rows = ", ".join(dates)
        else:
            rows = ", ".join(str(v) for v in group["failure_case"].unique()[:max_rows])
        more = len(group) - len(idx) if idx else 0
        suffix = f" (+{more} more)" if more > 0 else ""
        parts.append(f"{where} failed {check} at {rows}{suffix}")
    return f"{name}: {len(cases)} failing value(s): " + "; ".join(parts)


# --- reusable checks -----------------------------------------------------------------------
def sorted_unique(column: str = "date") -> pa.Check:
    """The one "dates sorted and unique" rule every dated table shares."""

    def check(df: pd.DataFrame) -> bool:
        return bool(df[column].is_monotonic_increasing and df[column].is_unique)

    return pa.Check(check, name=f"{column}s_sorted_unique")


def unique(columns: Sequence[str], name: str | None = None) -> pa.Check:
    """No two rows share the key ``columns``."""

    def check(df: pd.DataFrame) -> bool:
        return not bool(df.duplicated(subset=list(columns)).any())

    return pa.Check(check, name=name or f"unique_{'_'.join(columns)}")


def weekday() -> pa.Check:
    return pa.Check(lambda s: pd.to_datetime(s).dt.dayofweek < 5, name="weekday")


def finite() -> pa.Check:
    return pa.Check(lambda s: np.isfinite(s), name="finite")


def binary() -> pa.Check:
    return pa.Check.isin([0, 1])


def positive() -> pa.Check:
    return pa.Check.gt(0)


def probability() -> pa.Check:
    return pa.Check.in_range(0.0, 1.0)


def non_empty() -> pa.Check:
    return pa.Check(lambda s: s.astype(str).str.strip().str.len() > 0, name="non_empty")


def rows_check(name: str, fn: Callable[[pd.DataFrame], Any]) -> pa.Check:
    """A named check over the whole frame (a row mask or one bool)."""
    return pa.Check(fn, name=name)
