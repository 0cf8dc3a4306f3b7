"""The split, per pair: the newest known days held out as the test set, after a gap.

Its own module: the train and test tables are what every later step of the training and
the champion check read.
"""

import pandas as pd
from dagster import AssetExecutionContext, AssetSpec, MaterializeResult, multi_asset

from fx_assets.core.contracts import FINAL, TEST, TRAIN, DataValidationError
from fx_assets.core.domain import FEATURES, TARGET
from fx_assets.core.training.splits import (
    InsufficientHistoryError,
    known_rows,
    min_train_rows,
    split_train_test,
    validate_split,
)
from fx_assets.defs.contracts import asset_metadata, fail, table_metadata, validated
from fx_assets.defs.ingestion.partitions import PAIRS
from fx_assets.defs.resources import TrainingResource, WarehouseResource

_KINDS = {"pandas", "sql"}


def _preview(df: pd.DataFrame, **extra: object) -> dict[str, object]:
    known = df[TARGET].astype(float)
    return table_metadata(
        df[["date", *FEATURES[:4], TARGET]], up_share=float(known.mean()), **extra
    )


@multi_asset(
    specs=[
        AssetSpec(
            TRAIN.name,
            deps=[FINAL.name],
            description="Days the models learn from: every known day before the test window's gap.",
            kinds=_KINDS,
            metadata=asset_metadata(TRAIN),
        ),
        AssetSpec(
            TEST.name,
            deps=[FINAL.name],
            description="The newest trading days, held out to score challenger and champion alike.",
            kinds=_KINDS,
            metadata=asset_metadata(TEST),
        ),
    ],
    group_name="training",
    partitions_def=PAIRS,
)
def fx_split(
    context: AssetExecutionContext, warehouse: WarehouseResource, training: TrainingResource
):
    """Time-ordered train/test split of the modelling table, with a gap between them."""
    pair = context.partition_key
    wh = warehouse.get().for_pair(pair)
    final = wh.read(FINAL)
    try:
        split = split_train_test(
            final,
            test_days=training.test_days,
            gap_days=training.gap_days,
            min_train=min_train_rows(training.cv_folds),
        )
    except (InsufficientHistoryError, ValueError) as exc:
        raise fail(f"{pair}: {exc}") from None
    train = validated(TRAIN, split.train)
    test = validated(TEST, split.test)
    try:
        validate_split(train, test, known_rows(final)["date"], training.gap_days)
    except DataValidationError as exc:
        raise fail(f"{pair}: {exc}") from None
    wh.replace_tables({TRAIN: train, TEST: test})
    cutoff = str(split.training_cutoff.date())
    yield MaterializeResult(
        asset_key=TRAIN.name,
        metadata=_preview(train, pair=pair, training_cutoff=cutoff, gap_days=training.gap_days),
    )
    yield MaterializeResult(
        asset_key=TEST.name, metadata=_preview(test, pair=pair, test_days=training.test_days)
    )
