"""The Dagster side of the table contracts: column schemas, batch validation, checks.

Every asset's ``dagster/column_schema`` and every blocking schema check is derived here
from its table's contract (``fx_assets.core.contracts``), so the UI, the writer and the
check can never disagree about a table.
"""

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    Failure,
    MetadataValue,
    MultiPartitionKey,
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


def run_pair(context: AssetCheckExecutionContext) -> str | None:
    """The pair a run is for: its partition key (or the key's ``pair`` dimension), None
    for a run of a range (the ETL's) or of no partition."""
    if not context.has_partition_key:
        return None
    key = context.partition_key
    if isinstance(key, MultiPartitionKey):
        return key.keys_by_dimension.get("pair")
    return key


def check_stored(
    warehouse: WarehouseResource,
    contract: TableContract,
    pair: str | None = None,
    *,
    named: bool = False,
) -> AssetCheckResult:
    """The stored table against its contract, each pair's rows on their own (the rules
    are a series' rules: sorted dates, moves): a failure blocks every consumer.

    ``pair``: that pair's rows only, as a pair's run checks what it wrote; each pair's run
    checks its own, so a book's checks read each pair once, not once per pair's run.
    ``named``: the result says which check it is (``schema_spec``'s), as a step of several
    checks must.
    """
    wh = warehouse.get()
    if not contract.by_pair:
        pairs: list[str | None] = [None]
    else:
        pairs = [pair] if pair is not None else list(wh.pairs(contract))
    rows, problems = 0, []
    for each in pairs:
        df = wh.read(contract, pair=each)
        rows += len(df)
        try:
            contract.validate(df)
        except DataValidationError as exc:
            problems.append(f"{each}: {exc}" if each else str(exc))
    metadata: dict[str, object] = {"rows": rows}
    if contract.by_pair:
        metadata |= {"pair": pair} if pair is not None else {"pairs": len(pairs)}
    which = {"asset_key": contract.name, "check_name": schema_name(contract)} if named else {}
    if problems:
        return AssetCheckResult(
            passed=False,
            severity=AssetCheckSeverity.ERROR,
            description="; ".join(problems),
            metadata=metadata,
            **which,
        )
    return AssetCheckResult(passed=True, metadata=metadata, **which)


def schema_name(contract: TableContract) -> str:
    return f"{contract.name}_schema"


def schema_spec(contract: TableContract, description: str) -> AssetCheckSpec:
    """The blocking ``<table>_schema`` check of ``contract``'s table, for a step that runs
    several checks of one asset step's tables (``check_stored(..., named=True)``)."""
    return AssetCheckSpec(
        schema_name(contract), asset=contract.name, blocking=True, description=description
    )


def contract_check(contract: TableContract, description: str) -> AssetChecksDefinition:
    """The blocking ``<table>_schema`` check of the asset that writes ``contract``'s table."""

    @asset_check(
        asset=contract.name,
        name=schema_name(contract),
        blocking=True,
        description=description,
    )
    def _check(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> AssetCheckResult:
        return check_stored(warehouse, contract, run_pair(context))

    return _check
