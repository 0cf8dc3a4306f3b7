"""Reading the monitoring tables back: the newest window's rows, for the service and the page."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

DRIFT_TABLE = "eur_usd_drift"
PERFORMANCE_TABLE = "eur_usd_performance"


def _version_order(version: str) -> tuple[int, str]:
    # Registry versions are integers as text: "10" is newer than "9".
    return (len(version), version)


def newest_rows(conn: sa.Connection, table: str) -> pd.DataFrame:
    """The rows of ``table`` with its newest ``window_end`` (of the newest model version,
    where the table has one); empty when the table does not exist yet."""
    if not sa.inspect(conn).has_table(table):
        return pd.DataFrame()
    t = sa.Table(table, sa.MetaData(), autoload_with=conn)
    newest = sa.select(sa.func.max(t.c.window_end)).scalar_subquery()
    rows = pd.DataFrame(conn.execute(sa.select(t).where(t.c.window_end == newest)).mappings().all())
    if "model_version" in rows and len(rows):
        latest = max(rows["model_version"].astype(str), key=_version_order)
        rows = rows[rows["model_version"].astype(str) == latest]
    return rows.reset_index(drop=True)
