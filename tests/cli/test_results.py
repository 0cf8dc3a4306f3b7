"""``fx run`` reads what a real Dagster run recorded: each step's report, and why it failed."""

from __future__ import annotations

import pytest
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    DagsterInstance,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
    materialize,
)

from fx_assets.cli.results import read_gaps, read_report
from fx_assets.core.reports import GapsReport, StepReport
from fx_assets.defs.contracts import fail
from fx_assets.defs.monitoring.alerting import REASON_CHARS, failure_reason
from tests.support.report_samples import SAMPLES

STEP_REPORTS = [r for r in SAMPLES if not isinstance(r, GapsReport)]


@pytest.mark.parametrize("report", STEP_REPORTS, ids=lambda r: type(r).__name__)
def test_a_recorded_report_reads_back_the_same(report: StepReport) -> None:
    @asset(name=report.ASSET)
    def step() -> MaterializeResult:
        # As the assets record it: the report beside a markdown preview.
        return MaterializeResult(
            metadata={"preview": MetadataValue.md("| a |\n|---|"), **report.to_metadata()}
        )

    result = materialize([step], instance=DagsterInstance.ephemeral())

    assert read_report(result, type(report)) == report


def test_a_step_that_did_not_materialize_has_no_report() -> None:
    @asset
    def something_else() -> None:
        return None

    result = materialize([something_else], instance=DagsterInstance.ephemeral())
    assert all(read_report(result, type(r)) is None for r in SAMPLES)


def _raw_with_gaps_check(report: GapsReport):  # type: ignore[no-untyped-def]
    @asset(name=GapsReport.ASSET)
    def raw() -> None:
        return None

    @asset_check(asset=raw, name=GapsReport.CHECK)
    def gaps() -> AssetCheckResult:
        return AssetCheckResult(
            passed=report.passed,
            severity=AssetCheckSeverity.WARN,
            description=report.describe(),
            metadata=report.to_metadata(),
        )

    return materialize([raw, gaps], instance=DagsterInstance.ephemeral())


def test_the_gaps_check_reads_back_as_its_report() -> None:
    (report,) = [r for r in SAMPLES if isinstance(r, GapsReport)]
    result = _raw_with_gaps_check(report)
    read = read_gaps(result)
    assert read == report and not read.passed
    assert read.describe() == result.get_asset_check_evaluations()[0].description


def _failed_run(*assets):  # type: ignore[no-untyped-def]
    result = materialize(list(assets), instance=DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    return failure_reason(result.all_events)


def test_a_dagster_failure_is_its_description_alone() -> None:
    @asset
    def eur_usd_split() -> None:
        raise fail("eur_usd_final has 90 rows; training needs at least 1000")

    assert _failed_run(eur_usd_split) == (
        "step eur_usd_split",
        "eur_usd_final has 90 rows; training needs at least 1000",
    )


def test_any_other_error_is_its_class_and_first_line() -> None:
    @asset
    def flaky_source() -> None:
        raise ValueError("feed answered 503 7 times\nsecond line nobody needs")

    assert _failed_run(flaky_source) == (
        "step flaky_source",
        "ValueError: feed answered 503 7 times",
    )


def test_a_blocking_check_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    @asset
    def table() -> None:
        return None

    @asset_check(asset=table, blocking=True)
    def table_schema() -> AssetCheckResult:
        return AssetCheckResult(passed=False, description="column close has nulls")

    assert _failed_run(table, table_schema) == ("check table_schema", "column close has nulls")


def test_the_reason_is_one_bounded_line_without_a_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "td-key-7f3a9"
    monkeypatch.setenv("TWELVEDATA_API_KEY", secret)

    @asset
    def eur_usd_raw() -> None:
        raise fail(f"source refused key {secret}:\n" + "2012-05-02 " * 200)

    where, why = _failed_run(eur_usd_raw)
    assert where == "step eur_usd_raw"
    assert secret not in why and "\n" not in why
    assert len(why) == REASON_CHARS and why.endswith("...")
