"""The steps' typed reports: what an asset records is what ``fx run`` reads back."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from fx_assets.core.ingestion.expectations import evaluate
from fx_assets.core.ingestion.freshness import Gap
from fx_assets.core.reports import (
    GAPS_SHOWN,
    ROW_COUNT,
    BacktestReport,
    GapsReport,
    RawReport,
    StepReport,
)
from tests.support.report_samples import SAMPLES


@pytest.mark.parametrize("report", SAMPLES, ids=lambda r: type(r).__name__)
def test_every_report_survives_its_metadata(report: StepReport) -> None:
    metadata = report.to_metadata()
    # Keys the UI shows beside a report (previews, counts) do not disturb reading it.
    back = type(report).from_metadata({**metadata, "preview": "| a |", "extra": 1})
    assert back == report
    assert all(isinstance(k, str) for k in metadata)


def test_the_ui_keys_are_the_ones_it_always_showed() -> None:
    by_type = {type(r): r.to_metadata() for r in SAMPLES}
    assert {"verdict", "model_accuracy_ci_low", ROW_COUNT} <= set(by_type[type(SAMPLES[-1])])
    candidates = next(m for t, m in by_type.items() if t.__name__ == "CandidatesReport")
    assert candidates["cv_pr_auc_logistic"] == 0.55 and "cv_pr_auc" not in candidates
    backtest = by_type[BacktestReport]
    assert backtest[ROW_COUNT] == 1200 and "days" not in backtest


def test_raw_report_of_a_real_batch_keeps_every_rule_and_its_newest_dates() -> None:
    days = pd.bdate_range("2024-01-01", periods=60)
    bars = pd.DataFrame({"date": days, "open": 1.1, "high": 1.101, "low": 1.099, "close": 1.1})
    saturdays = pd.DataFrame(
        {
            "date": pd.date_range("2024-01-06", periods=25, freq="W-SAT"),
            "open": 1.1,
            "high": 1.101,
            "low": 1.099,
            "close": 1.1,
        }
    )
    batch = pd.concat([bars, saturdays]).sort_values("date").reset_index(drop=True)
    checked = evaluate(batch, max_rejected_share=0.5)

    report = RawReport.of(checked, start="2024-01-01", end="2024-06-30", source="csv")
    metadata = report.to_metadata()

    assert metadata["quarantined"] == 25 and metadata["quarantine_weekend"] == 25
    assert len(metadata["quarantine_weekend_dates"].split(", ")) == 20  # the newest 20
    assert metadata["data_quality"] == checked.describe()
    back = RawReport.from_metadata(metadata)
    assert back == report and back.has_findings
    (weekend,) = back.findings
    assert weekend.count == 25 and weekend.dates[-1] == str(saturdays["date"].iloc[-1].date())


def test_a_clean_batch_has_nothing_to_say() -> None:
    report = RawReport(window_start="2024-01-01", window_end="2024-12-31", source="ecb")
    assert not report.has_findings
    assert "ecb_fallback" not in report.to_metadata()  # not the ECB's live file: no key


def test_gaps_report_describes_the_newest_gaps_and_counts_the_rest() -> None:
    gaps = [Gap(date(2020, 1, d), date(2020, 1, d + 1), 2) for d in range(1, 2 * GAPS_SHOWN + 1, 2)]
    gaps.append(Gap(date(2021, 3, 1), date(2021, 3, 1), 1))
    report = GapsReport.of(gaps)
    text = report.describe()
    assert not report.passed
    assert text.startswith(f"{2 * GAPS_SHOWN + 1} trading day(s) missing in 6 gap(s), newest: ")
    assert text.endswith("2021-03-01 (+1 older)")
    assert GapsReport.from_metadata(report.to_metadata()) == report
    assert GapsReport.of([]).passed
    assert GapsReport.of([]).describe() == "no trading day missing beyond TARGET holidays"


def test_a_missing_float_is_nan_not_an_error() -> None:
    promotion = next(r for r in SAMPLES if type(r).__name__ == "PromotionReport")
    first = promotion.model_copy(update={"champion_pr_auc": None, "lift": math.nan})
    back = type(first).from_metadata(first.to_metadata())
    assert back.champion_pr_auc is None and math.isnan(back.lift)
