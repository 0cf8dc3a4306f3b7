"""The time-ordered train/test split of the modelling table, leak-free by construction.

Test is the newest ``test_days`` rows with a known target; train is every row before
it except the last ``gap_days``. The target of the row at t is decided by the close of
the next trading day, so without a gap the last train label would be the first test
day's price move. With the default gap of one trading day no train label, and no train
feature, uses a price inside the test window (tested as a property).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa

from fx_assets.core.contracts import FINAL, validate
from fx_assets.core.domain import TARGET

DEFAULT_GAP_DAYS = 1
# Each cross-validation fold scores at least this many rows.
MIN_ROWS_PER_FOLD = 50


class InsufficientHistoryError(ValueError):
    """Too few modelled rows to split; the message says how many are needed."""


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    test: pd.DataFrame

    @property
    def training_cutoff(self) -> pd.Timestamp:
        """The date of the last training row."""
        return pd.Timestamp(self.train["date"].iloc[-1])


def min_train_rows(cv_folds: int) -> int:
    """Training rows needed so that each of ``cv_folds`` folds scores MIN_ROWS_PER_FOLD rows."""
    return MIN_ROWS_PER_FOLD * (cv_folds + 1)


def known_rows(final: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``fx_final`` whose target is known, oldest first."""
    known = final[final[TARGET].notna()].sort_values("date").reset_index(drop=True)
    return known.astype({TARGET: int})


def split_train_test(
    final: pd.DataFrame, *, test_days: int, gap_days: int, min_train: int
) -> Split:
    """Split ``fx_final`` rows into train and test (see the module docstring)."""
    if test_days < 1:
        raise ValueError(f"test_days must be at least 1, not {test_days}")
    if gap_days < 0:
        raise ValueError(f"gap_days must be 0 or more, not {gap_days}")
    known = known_rows(final)
    need = test_days + gap_days + min_train
    if len(known) < need:
        raise InsufficientHistoryError(
            f"{FINAL.name} has {len(known)} rows with a known target; training needs at least"
            f" {need} ({min_train} train + {gap_days} gap + {test_days} test): ingest more"
            " history (an earlier FX_START_DATE) or lower FX_TEST_DAYS"
        )
    test = known.iloc[len(known) - test_days :].reset_index(drop=True)
    train = known.iloc[: len(known) - test_days - gap_days].reset_index(drop=True)
    return Split(train=train, test=test)


def _gap_at_least(known_dates: pd.Series, gap_days: int):  # type: ignore[no-untyped-def]
    dates = pd.to_datetime(known_dates)

    def check(df: pd.DataFrame) -> bool:
        train_end = df.loc[df["part"] == "train", "date"].max()
        test_start = df.loc[df["part"] == "test", "date"].min()
        between = int(((dates > train_end) & (dates < test_start)).sum())
        return between >= gap_days

    return check


def split_schema(known_dates: pd.Series, gap_days: int) -> pa.DataFrameSchema:
    """Train rows then test rows: both present, disjoint, ordered, ``gap_days`` rows apart."""
    return pa.DataFrameSchema(
        {
            "date": pa.Column("datetime64[ns]"),
            "part": pa.Column(str, pa.Check.isin(["train", "test"])),
        },
        checks=[
            pa.Check(lambda df: df["part"].nunique() == 2, name="train_and_test_present"),
            pa.Check(
                lambda df: bool(df["date"].is_monotonic_increasing and df["date"].is_unique),
                name="disjoint_and_test_after_train",
            ),
            pa.Check(_gap_at_least(known_dates, gap_days), name=f"gap_of_{gap_days}_rows"),
        ],
        coerce=True,
        name="eur_usd_train/eur_usd_test",
    )


def validate_split(
    train: pd.DataFrame, test: pd.DataFrame, known_dates: pd.Series, gap_days: int
) -> None:
    """Raise ``DataValidationError`` (one line) unless the split honours its contract."""
    parts = pd.concat(
        [
            pd.DataFrame({"date": pd.to_datetime(train["date"]), "part": "train"}),
            pd.DataFrame({"date": pd.to_datetime(test["date"]), "part": "test"}),
        ],
        ignore_index=True,
    )
    validate(split_schema(known_dates, gap_days), parts)
