"""The Dagster side of the table contracts: column schemas, batch validation, checks.

Every asset's ``dagster/column_schema`` and every blocking schema check is derived here
from its table's contract (``fx_assets.core.contracts``), so the UI, the writer and the
check can never disagree about a table.
"""

from __future__ import annotations

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    Failure,
    MetadataValue,
    TableColumn,
    TableColumnConstraints,
    TableSchema,
    asset_check,
)

from fx_assets.core.contracts import DataValidationError, TableContract
from fx_assets.core.markdown import markdown_table
from fx_assets.defs.resources import WarehouseResource


def column_schema(contract: TableContract) -> TableSchema:
    """The table's columns as the Dagster UI shows them."""
    return TableSchema(
        columns=[
            TableColumn(
                name=c.name,
                type=c.type_name,
                description=c.description,
                constraints=TableColumnConstraints(
                    nullable=c.nullable, unique=contract.key == (c.name,)
                ),
            )
            for c in contract.columns
        ]
    )


def asset_metadata(contract: TableContract) -> dict[str, object]:
    """Definition-time metadata of the asset that produces ``contract``'s table."""
    return {"dagster/column_schema": column_schema(contract), "dagster/table_name": contract.name}


def table_metadata(df: pd.DataFrame, key: str = "date", **extra: object) -> dict[str, object]:
    """Row count, date range and a preview of the newest rows: what a reader checks first."""
    meta: dict[str, object] = {"dagster/row_count": len(df)}
    if len(df):
        meta["first_date"] = str(pd.Timestamp(df[key].min()).date())
        meta["last_date"] = str(pd.Timestamp(df[key].max()).date())
        meta["preview"] = MetadataValue.md(markdown_table(df))
    meta.update(extra)
    return meta


def fail(message: str, **metadata: str) -> Failure:
    """A deterministic failure: retrying cannot fix bad data or too little history."""
    return Failure(description=message, metadata=metadata or None, allow_retries=False)


def validated(contract: TableContract, df: pd.DataFrame) -> pd.DataFrame:
    """The batch checked against its contract before it is written, or a failed step."""
    try:
        return contract.validate(df.reset_index(drop=True))
    except DataValidationError as exc:
        raise fail(str(exc)) from None


def check_stored(warehouse: WarehouseResource, contract: TableContract) -> AssetCheckResult:
    """The stored table against its contract, each pair's rows on their own (the rules
    are a series' rules: sorted dates, moves): a failure blocks every consumer."""
    wh = warehouse.get()
    pairs = wh.pairs(contract) if contract.by_pair else [None]
    rows, problems = 0, []
    for pair in pairs:
        df = wh.read(contract, pair=pair)
        rows += len(df)
        try:
            contract.validate(df)
        except DataValidationError as exc:
            problems.append(f"{pair}: {exc}" if pair else str(exc))
    metadata = {"rows": rows, "pairs": len(pairs)} if contract.by_pair else {"rows": rows}
    if problems:
        return AssetCheckResult(
            passed=False,
            severity=AssetCheckSeverity.ERROR,
            description="; ".join(problems),
            metadata=metadata,
        )
    return AssetCheckResult(passed=True, metadata=metadata)


def contract_check(contract: TableContract, description: str) -> AssetChecksDefinition:
    """The blocking ``<table>_schema`` check of the asset that writes ``contract``'s table."""

    @asset_check(
        asset=contract.name,
        name=f"{contract.name}_schema",
        blocking=True,
        description=description,
    )
    def _check(warehouse: WarehouseResource) -> AssetCheckResult:
        return check_stored(warehouse, contract)

    return _check
