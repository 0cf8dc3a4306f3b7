"""The one definition of every warehouse table: writers, schemas and readers use it."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
)

from fx_assets.core.features import FEATURES, TARGET

metadata = MetaData()


def _feature_columns() -> list[Column]:
    return [Column(name, Float, nullable=True) for name in FEATURES]


RAW = Table(
    "eur_usd_raw",
    metadata,
    Column("date", Date, primary_key=True),
    Column("open", Float, nullable=True),
    Column("high", Float, nullable=True),
    Column("low", Float, nullable=True),
    Column("close", Float, nullable=False),
    Column("source", String(32), nullable=False),
    Column("ingested_at", DateTime(timezone=True), nullable=False),
)

STAGING = Table(
    "eur_usd_staging",
    metadata,
    Column("date", Date, primary_key=True),
    Column("close", Float, nullable=False),
    *_feature_columns(),
)


def _model_table(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("date", Date, primary_key=True),
        *[Column(c, Float, nullable=False) for c in FEATURES],
        Column(TARGET, Integer, nullable=True),
    )


FINAL = _model_table("eur_usd_final")
TRAIN = _model_table("eur_usd_train")
TEST = _model_table("eur_usd_test")

PREDICTIONS = Table(
    "eur_usd_predictions",
    metadata,
    Column("feature_date", Date, primary_key=True),
    Column("target_date", Date, nullable=False),
    Column("probability_up", Float, nullable=False),
    Column("direction", Integer, nullable=False),
    Column("model_name", String(128), nullable=False),
    Column("model_version", String(32), nullable=False),
    Column("predicted_at", DateTime(timezone=True), nullable=False),
)

TABLES: dict[str, Table] = {t.name: t for t in metadata.sorted_tables}
