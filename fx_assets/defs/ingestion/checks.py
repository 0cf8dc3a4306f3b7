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

fx_raw_schema = contract_check(
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
            f"{RAW_REJECTED.name}_schema",
            asset=RAW.name,
            blocking=True,
            description="Stored rejects (written by fx_raw): one row per pair, date and rule.",
        ),
        AssetCheckSpec(
            f"{RAW.name}_freshness",
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
def fx_raw_quality(
    warehouse: WarehouseResource, market_data: MarketDataResource
) -> Iterator[AssetCheckResult]:
    """The rejects' contract (blocking), then freshness and gaps (warnings for a person)."""
    rejects = check_stored(warehouse, RAW_REJECTED)
    yield AssetCheckResult(
        check_name=f"{RAW_REJECTED.name}_schema",
        passed=rejects.passed,
        severity=rejects.severity,
        description=rejects.description,
        metadata=rejects.metadata,
    )
    wh = warehouse.get()
    today = datetime.now(UTC).date()
    pairs = wh.pairs(RAW)
    # The stalest pair decides: a book is as current as its most behind pair.
    newest = {pair: wh.date_range(RAW, pair=pair)[1] for pair in pairs}
    behind = {
        pair: freshness(day, today, market_data.stale_after_days) for pair, day in newest.items()
    }
    stalest = max(pairs, key=lambda p: behind[p].behind, default=None)
    fresh = behind[stalest] if stalest else freshness(None, today, market_data.stale_after_days)
    yield AssetCheckResult(
        check_name=f"{RAW.name}_freshness",
        passed=not fresh.stale,
        severity=AssetCheckSeverity.WARN,
        description=(f"{stalest}: " if stalest and len(pairs) > 1 else "") + fresh.describe(),
        metadata={
            "stalest_pair": stalest or "",
            "newest_bar": str(newest[stalest]) if stalest and newest[stalest] else "",
            "last_completed_trading_day": str(fresh.expected),
            "trading_days_behind": fresh.behind,
            "stale_after_days": fresh.stale_after,
        },
    )
    gaps: list[Gap] = []
    for pair in pairs:
        dates = wh.read(RAW, pair=pair, columns=["date"])["date"]
        quarantined = wh.read(RAW_REJECTED, pair=pair, columns=["date"])["date"].dt.date
        gaps += [gap.for_pair(pair) for gap in find_gaps(dates, explained=quarantined)]
    yield _gaps_result(gaps)
