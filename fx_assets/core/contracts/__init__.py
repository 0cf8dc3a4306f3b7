"""One contract per warehouse table: its name, columns, key, description and checks.

Everything about a table is here: the SQL table (``.table``), the pandera schema
(``.schema``) every batch and the blocking asset check validate against, and the
columns the Dagster UI shows. Its producer is the asset of the same name under
``fx_assets/defs/<domain>/``.
"""

from fx_assets.core.contracts.base import (
    Col,
    DataValidationError,
    TableContract,
    describe_failures,
    metadata,
    validate,
)
from fx_assets.core.contracts.book import BACKTEST_BOOK
from fx_assets.core.contracts.bootstrap import BOOTSTRAP
from fx_assets.core.contracts.evaluation import BACKTEST, BACKTEST_SUMMARY, BACKTEST_YEARLY
from fx_assets.core.contracts.market import (
    FINAL,
    MAX_DAILY_LOG_MOVE,
    RAW,
    RAW_REJECTED,
    STAGING,
    TEST,
    TRAIN,
)
from fx_assets.core.contracts.models import PREDICTIONS
from fx_assets.core.contracts.monitoring import ALERTS, DRIFT, PERFORMANCE

CONTRACTS: dict[str, TableContract] = {
    c.name: c
    for c in (
        RAW,
        RAW_REJECTED,
        STAGING,
        FINAL,
        TRAIN,
        TEST,
        PREDICTIONS,
        DRIFT,
        PERFORMANCE,
        ALERTS,
        BACKTEST,
        BACKTEST_SUMMARY,
        BACKTEST_YEARLY,
        BACKTEST_BOOK,
        BOOTSTRAP,
    )
}

__all__ = [
    "ALERTS",
    "BACKTEST",
    "BACKTEST_BOOK",
    "BACKTEST_SUMMARY",
    "BACKTEST_YEARLY",
    "BOOTSTRAP",
    "CONTRACTS",
    "DRIFT",
    "FINAL",
    "MAX_DAILY_LOG_MOVE",
    "PERFORMANCE",
    "PREDICTIONS",
    "RAW",
    "RAW_REJECTED",
    "STAGING",
    "TEST",
    "TRAIN",
    "Col",
    "DataValidationError",
    "TableContract",
    "describe_failures",
    "metadata",
    "validate",
]
