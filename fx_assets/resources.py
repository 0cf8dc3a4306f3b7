"""Dagster resources: thin, typed wrappers over the Dagster-free modules."""

from __future__ import annotations

from datetime import date

from dagster import ConfigurableResource

from fx_assets.sources import Source, make_source
from fx_assets.twelvedata import DEFAULT_BASE_URL
from fx_assets.warehouse import Warehouse


class WarehouseResource(ConfigurableResource):
    """The SQL warehouse holding the ``eur_usd_*`` tables."""

    url: str

    def get(self) -> Warehouse:
        return Warehouse.cached(self.url)


class MarketDataResource(ConfigurableResource):
    """Where daily EUR/USD bars come from: ``ecb``, ``twelvedata`` or ``csv:PATH``."""

    source: str = "ecb"
    start_date: str | None = None
    twelvedata_api_key: str | None = None
    twelvedata_base_url: str = DEFAULT_BASE_URL

    def client(self) -> Source:
        return make_source(
            self.source,
            api_key=self.twelvedata_api_key,
            base_url=self.twelvedata_base_url,
        )

    def first_date(self) -> date:
        if self.start_date:
            return date.fromisoformat(self.start_date)
        return self.client().first_date()
