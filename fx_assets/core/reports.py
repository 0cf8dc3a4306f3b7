"""What each step of the graph reports, in one typed form.

An asset builds its report, records ``report.to_metadata()`` with its materialization
(the keys the Dagster UI shows) and ``fx run`` reads it back with ``from_metadata``: the
keys are the field names, spelled here once, so the UI and the command line cannot drift
apart and no consumer matches a metadata key or a check name as a string.

Dagster-free: plain values in, plain values out (the code location adds its markdown
previews beside them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field

from fx_assets.core.contracts import BACKTEST, BACKTEST_SUMMARY, RAW
from fx_assets.core.ingestion.expectations import ExpectationReport, Outcome
from fx_assets.core.ingestion.freshness import Gap

# Dagster's own key for a table's row count: the UI shows it as the asset's row count.
ROW_COUNT = "dagster/row_count"
# A rule's newest dates in the metadata: enough to find them, not a page of them.
DATES_SHOWN = 20
# Gaps named in the check's description; its metadata lists them all.
GAPS_SHOWN = 5


class StepReport(BaseModel):
    """A step's report: ``ASSET`` (or ``ASSET`` and ``CHECK``) says whose it is."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    ASSET: ClassVar[str]

    def to_metadata(self) -> dict[str, Any]:
        """The materialization's (or check's) metadata: one key per field that is set."""
        return self.model_dump(by_alias=True, exclude_none=True)

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> Self:
        """The report back from recorded metadata (plain values, as ``to_metadata`` wrote)."""
        return cls.model_validate(dict(metadata))


class RuleFinding(BaseModel):
    """Rows one data-quality rule caught in a batch, and the newest of their dates."""

    model_config = ConfigDict(frozen=True)

    outcome: Outcome
    rule: str
    count: int
    dates: list[str]


class RawReport(StepReport):
    """``fx_raw``: the window, where the bars came from, what the row rules caught."""

    ASSET: ClassVar[str] = RAW.name

    window_start: str
    window_end: str
    source: str
    # The ECB's current file: where it came from, and why a cached copy was used.
    ecb_origin: str | None = None
    ecb_fallback: str | None = None
    quarantined: int = 0
    findings: list[RuleFinding] = Field(default_factory=list)
    data_quality: str = ""

    @classmethod
    def of(
        cls, report: ExpectationReport, *, start: str, end: str, source: str, **origin: str
    ) -> RawReport:
        findings = [
            RuleFinding(
                outcome=f.outcome,
                rule=f.rule,
                count=len(f.dates),
                dates=[str(d) for d in f.dates[-DATES_SHOWN:]],
            )
            for f in (*report.quarantined, *report.warnings)
        ]
        return cls(
            window_start=start,
            window_end=end,
            source=source,
            quarantined=len(report.rejected),
            findings=findings,
            data_quality=report.describe(),
            **origin,
        )

    @classmethod
    def book(cls, reports: Mapping[str, RawReport]) -> RawReport:
        """One batch's report for the book's pairs: the widest window, the rules' rows added
        up (their rule names prefixed with the pair), each pair's data quality in a line."""
        if len(reports) == 1:
            return next(iter(reports.values()))
        every = list(reports.values())
        findings = [
            f.model_copy(update={"rule": f"{pair}_{f.rule}"})
            for pair, r in reports.items()
            for f in r.findings
        ]
        quality = "; ".join(
            f"{pair}: {r.data_quality}" for pair, r in reports.items() if r.has_findings
        )
        return cls(
            window_start=min(r.window_start for r in every),
            window_end=max(r.window_end for r in every),
            source=every[0].source,
            ecb_origin=every[0].ecb_origin,
            ecb_fallback=every[0].ecb_fallback,
            quarantined=sum(r.quarantined for r in every),
            findings=findings,
            data_quality=quality,
        )

    def window_metadata(self) -> dict[str, Any]:
        """The window and the source alone (the rejects' materialization carries them too)."""
        return self.model_dump(
            exclude_none=True, exclude={"quarantined", "findings", "data_quality"}
        )

    @property
    def has_findings(self) -> bool:
        """Something was quarantined or warned about: a person should read ``data_quality``."""
        return bool(self.quarantined or self.findings)

    def to_metadata(self) -> dict[str, Any]:
        # One key per rule (rows, newest dates), as the Dagster UI has always shown them.
        meta = self.model_dump(exclude_none=True, exclude={"findings", "data_quality"})
        for f in self.findings:
            meta[f"{f.outcome.value}_{f.rule}"] = f.count
            meta[f"{f.outcome.value}_{f.rule}_dates"] = ", ".join(f.dates)
        meta["data_quality"] = self.data_quality
        return meta

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> Self:
        findings = []
        for key, dates in metadata.items():
            outcome = next((o for o in Outcome if key.startswith(f"{o.value}_")), None)
            if outcome is None or not key.endswith("_dates"):
                continue
            rule = key.removeprefix(f"{outcome.value}_").removesuffix("_dates")
            count = metadata.get(f"{outcome.value}_{rule}", 0)
            findings.append(
                RuleFinding(outcome=outcome, rule=rule, count=count, dates=_split(dates))
            )
        return cls.model_validate({**metadata, "findings": findings})


def _split(joined: object) -> list[str]:
    return [d for d in str(joined or "").split(", ") if d]


class GapsReport(StepReport):
    """The ``fx_raw_gaps`` check: trading days missing beyond the TARGET holidays."""

    ASSET: ClassVar[str] = RAW.name
    CHECK: ClassVar[str] = f"{RAW.name}_gaps"

    gaps: int
    missing_trading_days: int
    gap_list: str

    @classmethod
    def of(cls, gaps: list[Gap]) -> GapsReport:
        return cls(
            gaps=len(gaps),
            missing_trading_days=sum(g.missing for g in gaps),
            gap_list="; ".join(g.describe() for g in gaps),
        )

    @property
    def passed(self) -> bool:
        return self.gaps == 0

    def describe(self) -> str:
        if self.passed:
            return "no trading day missing beyond TARGET holidays"
        listed = self.gap_list.split("; ")
        more = f" (+{len(listed) - GAPS_SHOWN} older)" if len(listed) > GAPS_SHOWN else ""
        return (
            f"{self.missing_trading_days} trading day(s) missing in {self.gaps} gap(s),"
            f" newest: {', '.join(listed[-GAPS_SHOWN:])}{more}"
        )


class CandidatesReport(StepReport):
    """``model_candidates``: every family's cross-validated PR-AUC and the winner, per pair.

    ``challenger_model`` reads it back from the pair's newest materialization of
    ``model_candidates`` (the Dagster instance's event log, not a file) and tunes
    ``best_family``: steps on different workers share nothing but the stores.
    """

    ASSET: ClassVar[str] = "model_candidates"
    _SCORE: ClassVar[str] = "cv_pr_auc_"

    pair: str
    best_family: str
    best_cv_pr_auc: float
    cv_baseline_pr_auc: float
    train_rows: int
    cv_folds: int
    mlflow_parent_run_id: str
    cv_pr_auc: dict[str, float]

    def to_metadata(self) -> dict[str, Any]:
        # One key per family: the UI's plots follow a family's score from run to run.
        meta = self.model_dump(exclude={"cv_pr_auc"})
        meta.update({self._SCORE + family: s for family, s in self.cv_pr_auc.items()})
        return meta

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> Self:
        scores = {
            key.removeprefix(cls._SCORE): value
            for key, value in metadata.items()
            if key.startswith(cls._SCORE)
        }
        return cls.model_validate({**metadata, "cv_pr_auc": scores})


class ChallengerReport(StepReport):
    """``challenger_model``: the tuned, registered challenger and its holdout scores."""

    ASSET: ClassVar[str] = "challenger_model"

    pair: str
    model_version: str
    model_uri: str
    family: str
    params: dict[str, Any]
    cv_pr_auc: float
    configs_tried: int
    trials_pruned: int
    tuning_seconds: float
    study_best_trial: int
    test_pr_auc: float
    test_roc_auc: float
    test_accuracy: float
    test_brier: float
    test_baseline_pr_auc: float
    test_baseline_accuracy: float
    training_cutoff: str
    mlflow_run_id: str


class PromotionReport(StepReport):
    """``champion_model``: the decision, both scores, the lift's interval and the champion."""

    ASSET: ClassVar[str] = "champion_model"

    pair: str
    decision: str
    reason: str
    champion_version: str
    previous_champion_version: str
    challenger_version: str
    challenger_pr_auc: float
    champion_pr_auc: float | None = None
    baseline_pr_auc: float
    margin: float
    policy: str
    lift: float
    lift_ci_low: float
    lift_ci_high: float
    lift_p_value: float
    mlflow_run_id: str


class BacktestReport(StepReport):
    """``fx_backtest``: the span walked forward, by which champion, with how many refits."""

    ASSET: ClassVar[str] = BACKTEST.name

    pair: str
    days: int = Field(alias=ROW_COUNT)
    first_date: str
    last_date: str
    champion_version: str
    family: str
    refits: int
    refit_days: int
    min_train_days: int
    gap_days: int
    accuracy: float
    always_up_accuracy: float
    seconds: float


class BacktestSummaryReport(StepReport):
    """``fx_backtest_summary``: the verdicts and the model's accuracy with its interval."""

    ASSET: ClassVar[str] = BACKTEST_SUMMARY.name

    pair: str
    strategies: int = Field(alias=ROW_COUNT)
    verdict: str
    verdict_persistence: str
    verdict_momentum: str
    model_accuracy: float
    model_accuracy_ci_low: float
    model_accuracy_ci_high: float
    trading_note: str
    mlflow_run_id: str


class BookReport(StepReport):
    """``fx_backtest_book``: the book's verdict, adjusted for the number of pairs tested,
    and the cross-sectional illustration's figures (an illustration, not advice)."""

    ASSET: ClassVar[str] = "fx_backtest_book"

    pairs: int
    skilful_unadjusted: int
    skilful_bh: int
    skilful_holm: int
    expected_false_positives: float
    adjustment: str
    headline: str
    cross_section: dict[str, Any] = Field(default_factory=dict)
    mlflow_run_id: str | None = None

    @classmethod
    def of(
        cls, figures: Mapping[str, Any], cross: Mapping[str, Any], *, mlflow_run_id: str
    ) -> BookReport:
        return cls(**dict(figures), cross_section=dict(cross), mlflow_run_id=mlflow_run_id)

    def to_metadata(self) -> dict[str, Any]:
        meta = self.model_dump(exclude_none=True, exclude={"cross_section"})
        meta.update({f"cross_section_{k}": v for k, v in self.cross_section.items()})
        return meta

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> Self:
        cross = {
            k.removeprefix("cross_section_"): v
            for k, v in metadata.items()
            if k.startswith("cross_section_")
        }
        return cls.model_validate({**metadata, "cross_section": cross})
