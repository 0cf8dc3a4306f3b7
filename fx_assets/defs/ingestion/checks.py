"""Checks of the raw bars: the stored tables honour their contracts (blocking), and two
warnings for a person: the data is behind (freshness) or trading days are missing (gaps)."""

from collections.abc import Iterator
from datetime import UTC, datetime

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, multi_asset_check

from fx_assets.core.contracts import RAW, RAW_REJECTED
from fx_assets.core.ingestion.freshness import Gap, find_gaps, freshness
from fx_assets.core.reports import GapsReport
from fx_assets.defs.contracts import check_stored, contract_check
from fx_assets.defs.resources import MarketDataResource, WarehouseResource

eur_usd_raw_schema = contract_check(
    RAW, "Stored bars: unique weekday dates, positive prices, consistent OHLC, plausible moves."
)


def _gaps_result(gaps: list[Gap]) -> AssetCheckResult:
    report = GapsReport.of(gaps)
    return AssetCheckResult(
        check_name=GapsReport.CHECK,
        passed=report.passed,
        severity=AssetCheckSeverity.WARN,
        description=report.describe(),
        metadata=report.to_metadata(),
    )


# One step for the three: each asset check is a step of its own, and on the embedded
# SQLite instance a step's events cost about a third of a second.
@multi_asset_check(
    specs=[
        AssetCheckSpec(
            "eur_usd_raw_rejected_schema",
            asset=RAW.name,
            blocking=True,
            description="Stored rejects (written by eur_usd_raw): one row per date and rule.",
        ),
        AssetCheckSpec(
            "eur_usd_raw_freshness",
            asset=RAW.name,
            description="The newest bar is at most FX_STALE_AFTER_DAYS trading days behind.",
        ),
        AssetCheckSpec(
            GapsReport.CHECK,
            asset=RAW.name,
            description="No trading day is missing beyond TARGET holidays.",
        ),
    ],
)
def eur_usd_raw_quality(
    warehouse: WarehouseResource, market_data: MarketDataResource
) -> Iterator[AssetCheckResult]:
    """The rejects' contract (blocking), then freshness and gaps (warnings for a person)."""
    rejects = check_stored(warehouse, RAW_REJECTED)
    yield AssetCheckResult(
        check_name="eur_usd_raw_rejected_schema",
        passed=rejects.passed,
        severity=rejects.severity,
        description=rejects.description,
        metadata=rejects.metadata,
    )
    wh = warehouse.get()
    newest = wh.date_range(RAW)[1]
    fresh = freshness(newest, datetime.now(UTC).date(), market_data.stale_after_days)
    yield AssetCheckResult(
        check_name="eur_usd_raw_freshness",
        passed=not fresh.stale,
        severity=AssetCheckSeverity.WARN,
        description=fresh.describe(),
        metadata={
            "newest_bar": str(newest) if newest else "",
            "last_completed_trading_day": str(fresh.expected),
            "trading_days_behind": fresh.behind,
            "stale_after_days": fresh.stale_after,
        },
    )
    dates = wh.read(RAW, columns=["date"])["date"]
    quarantined = wh.read(RAW_REJECTED, columns=["date"])["date"].dt.date
    yield _gaps_result(find_gaps(dates, explained=quarantined))
