"""What monitoring found: one pair's newest drift and performance rows, and the alerts sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa

from fx_assets.core.alerts import newest_alerts
from fx_assets.core.contracts import DRIFT, PERFORMANCE, TableContract
from fx_assets.core.pairs import DEFAULT_PAIR
from fx_assets.core.readmodel.stores import pair_code
from fx_assets.core.warehouse import Warehouse

ALERTS_SHOWN = 8


def _version_order(version: str) -> tuple[int, str]:
    # Registry versions are integers as text: "10" is newer than "9".
    return (len(version), version)


def newest_rows(
    wh: Warehouse, contract: TableContract, *, pair: str = DEFAULT_PAIR
) -> pd.DataFrame:
    """``pair``'s rows of ``contract``'s table with its newest ``window_end`` (of the newest
    model version, where the table has one); empty when the table does not exist yet."""
    if not wh.has(contract):
        return pd.DataFrame(columns=contract.column_names)
    t = contract.table
    mine = t.c.pair == pair_code(pair)
    newest = sa.select(sa.func.max(t.c.window_end)).where(mine).scalar_subquery()
    with wh.engine.connect() as conn:
        found = conn.execute(sa.select(t).where(mine, t.c.window_end == newest)).mappings().all()
    rows = pd.DataFrame(found, columns=contract.column_names)
    if "model_version" in rows and len(rows):
        latest = max(rows["model_version"].astype(str), key=_version_order)
        rows = rows[rows["model_version"].astype(str) == latest]
    return rows.reset_index(drop=True)


@dataclass(frozen=True)
class Monitoring:
    """The newest window's rows: drift by feature, largest PSI first; performance by window."""

    drift: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=DRIFT.column_names))
    performance: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=PERFORMANCE.column_names)
    )
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def window(self, label: str) -> dict[str, Any] | None:
        """The performance row of window ``label`` ("20", "60", "250", "all"), or None."""
        rows = self.performance[self.performance["window"] == label]
        return None if rows.empty else rows.iloc[0].to_dict()


def read_monitoring(wh: Warehouse, *, alerts: int = 0, pair: str = DEFAULT_PAIR) -> Monitoring:
    """``pair``'s newest drift and performance rows, and the newest ``alerts`` alerts sent
    (the platform's, every pair's: an alert names its pair in its title)."""
    drift = newest_rows(wh, DRIFT, pair=pair)
    if len(drift):
        drift = drift.sort_values("ks_stat", ascending=False, ignore_index=True)
    return Monitoring(
        drift=drift,
        performance=newest_rows(wh, PERFORMANCE, pair=pair),
        alerts=newest_alerts(wh.engine, alerts) if alerts else [],
    )
