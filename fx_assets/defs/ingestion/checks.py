"""Checks of the raw bars: the stored tables honour their contracts (blocking), and two
warnings for a person: the data is behind (freshness) or trading days are missing (gaps)."""

from datetime import UTC, datetime

from dagster import AssetCheckResult, AssetCheckSeverity, asset_check

from fx_assets.core.contracts import RAW, RAW_REJECTED
from fx_assets.core.ingestion.freshness import find_gaps, freshness
from fx_assets.defs.contracts import check_stored, contract_check
from fx_assets.defs.resources import MarketDataResource, WarehouseResource

eur_usd_raw_schema = contract_check(
    RAW, "Stored bars: unique weekday dates, positive prices, consistent OHLC, plausible moves."
)


# On eur_usd_raw, which writes the rejects (eur_usd_raw_rejected is reported, not run).
@asset_check(asset=RAW.name, blocking=True)
def eur_usd_raw_rejected_schema(warehouse: WarehouseResource) -> AssetCheckResult:
    """Stored rejects: one row per date and rule, each with its reason."""
    return check_stored(warehouse, RAW_REJECTED)


# Listed in the description; the metadata holds them all.
_GAPS_SHOWN = 5


@asset_check(asset=RAW.name, blocking=False)
def eur_usd_raw_freshness(
    warehouse: WarehouseResource, market_data: MarketDataResource
) -> AssetCheckResult:
    """The newest bar is at most FX_STALE_AFTER_DAYS trading days behind the last completed one."""
    newest = warehouse.get().date_range(RAW)[1]
    today = datetime.now(UTC).date()
    fresh = freshness(newest, today=today, stale_after=market_data.stale_after_days)
    return AssetCheckResult(
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


@asset_check(asset=RAW.name, blocking=False)
def eur_usd_raw_gaps(warehouse: WarehouseResource) -> AssetCheckResult:
    """No trading day is missing between the first and the newest bar, beyond TARGET holidays."""
    wh = warehouse.get()
    dates = wh.read(RAW, columns=["date"])["date"]
    quarantined = wh.read(RAW_REJECTED, columns=["date"])["date"].dt.date
    gaps = find_gaps(dates, explained=quarantined)
    missing = sum(g.missing for g in gaps)
    shown = ", ".join(g.describe() for g in gaps[-_GAPS_SHOWN:])
    more = f" (+{len(gaps) - _GAPS_SHOWN} older)" if len(gaps) > _GAPS_SHOWN else ""
    return AssetCheckResult(
        passed=not gaps,
        severity=AssetCheckSeverity.WARN,
        description=(
            f"{missing} trading day(s) missing in {len(gaps)} gap(s), newest: {shown}{more}"
            if gaps
            else "no trading day missing beyond TARGET holidays"
        ),
        metadata={
            "gaps": len(gaps),
            "missing_trading_days": missing,
            "gap_list": "; ".join(g.describe() for g in gaps),
        },
    )
