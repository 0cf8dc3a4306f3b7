"""Row types derived from the table contracts: a column is declared once, in its contract.

``row_model(contract)`` builds a pydantic model whose fields are the contract's columns:
the Python type from the column's SQL type, ``None`` allowed (and the default) where the
column is nullable, the description from the column's. The service's responses are built
from these, so a nullable column added to a contract appears in the response and in the
OpenAPI schema with no other edit. ``records`` turns a frame of a table's rows into plain
values those models accept (dates as dates, NaN and NaT as None).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from pydantic import BaseModel, Field, create_model

from fx_assets.core.contracts import TableContract

PYTHON_TYPES: dict[type[sa.types.TypeEngine[Any]], type] = {
    sa.Date: date,
    sa.DateTime: datetime,
    sa.Float: float,
    sa.Integer: int,
    sa.String: str,
    sa.Boolean: bool,
}


def row_model(
    contract: TableContract,
    *,
    name: str | None = None,
    doc: str | None = None,
    exclude: Iterable[str] = (),
) -> type[BaseModel]:
    """A pydantic model of one row of ``contract``'s table (minus ``exclude``)."""
    skip = set(exclude)
    fields: dict[str, Any] = {}
    for col in contract.columns:
        if col.name in skip:
            continue
        kind: Any = PYTHON_TYPES[col.sql]
        if col.nullable:
            fields[col.name] = (kind | None, Field(None, description=col.description))
        else:
            fields[col.name] = (kind, Field(description=col.description))
    return create_model(  # type: ignore[call-overload, no-any-return]
        name or "".join(part.capitalize() for part in contract.name.split("_")) + "Row",
        __doc__=doc or f"One row of {contract.name}: {contract.description}",
        **fields,
    )


def _plain(value: Any) -> Any:
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()  # numpy scalars
    return value


def records(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """``rows`` as a list of dicts of plain Python values (missing values as None)."""
    return [{k: _plain(v) for k, v in r.items()} for r in rows.to_dict("records")]
