"""Reading the monitoring tables back: the newest window's rows, for the service and the page."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from fx_assets.core.contracts import TableContract
from fx_assets.core.warehouse import Warehouse


def _version_order(version: str) -> tuple[int, str]:
    # Registry versions are integers as text: "10" is newer than "9".
    return (len(version), version)


def newest_rows(wh: Warehouse, contract: TableContract) -> pd.DataFrame:
    """The rows of ``contract``'s table with its newest ``window_end`` (of the newest model
    version, where the table has one); empty when the table does not exist yet."""
    if not wh.has(contract):
        return pd.DataFrame(columns=contract.column_names)
    t = contract.table
    newest = sa.select(sa.func.max(t.c.window_end)).scalar_subquery()
    with wh.engine.connect() as conn:
        found = conn.execute(sa.select(t).where(t.c.window_end == newest)).mappings().all()
    rows = pd.DataFrame(found, columns=contract.column_names)
    if "model_version" in rows and len(rows):
        latest = max(rows["model_version"].astype(str), key=_version_order)
        rows = rows[rows["model_version"].astype(str) == latest]
    return rows.reset_index(drop=True)
