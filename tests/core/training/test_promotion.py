"""The promotion decision as a pure function, under both policies, with the lift's interval."""

from __future__ import annotations

import numpy as np
import pytest

from fx_assets.core.domain import FEATURES
from fx_assets.core.evaluation.stats import Interval
from fx_assets.core.training.promotion import DEFAULT_POLICY, decide, lift_interval


def _decide(challenger: float, champion: float | None, **kw: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "challenger_version": "7",
        "challenger_pr_auc": challenger,
        "champion_version": None if champion is None and "champion_version" not in kw else "6",
        "champion_pr_auc": champion,
        "champion_features": FEATURES if champion is not None else None,
        "features": FEATURES,
        "baseline_pr_auc": 0.5,
        "margin": 0.0,
        "policy": "margin",
    }
    args.update(kw)
    return decide(**args)  # type: ignore[arg-type]


def test_better_challenger_is_promoted() -> None:
    d = _decide(0.56, 0.55)
    assert d.promote and d.outcome == "promoted"
    assert "v7" in d.reason and "v6" in d.reason and "+0.0100" in d.reason


def test_equal_challenger_is_not_promoted() -> None:
    d = _decide(0.55, 0.55)
    assert not d.promote and d.outcome == "kept champion"
    assert "not better" in d.reason


def test_worse_challenger_is_not_promoted() -> None:
    assert not _decide(0.54, 0.55).promote


def test_margin_must_be_exceeded() -> None:
    assert not _decide(0.56, 0.55, margin=0.01).promote  # a lift equal to the margin is not enough
    assert not _decide(0.555, 0.55, margin=0.01).promote
    assert _decide(0.5601, 0.55, margin=0.01).promote


def test_no_champion_promotes_the_challenger() -> None:
    d = _decide(0.40, None)
    assert d.promote and "no champion" in d.reason
    assert d.champion_version is None


def test_incompatible_signature_is_replaced_even_by_a_weaker_challenger() -> None:
    old = [f for f in FEATURES if f != "macd"] + ["old_feature"]
    d = _decide(0.40, None, champion_version="6", champion_features=old)
    assert d.promote
    assert "signature" in d.reason and "macd" in d.reason and "old_feature" in d.reason
    reordered = list(reversed(FEATURES))
    assert _decide(0.40, None, champion_version="6", champion_features=reordered).promote


def test_unusable_champion_is_replaced_and_the_reason_says_why() -> None:
    d = _decide(0.40, None, champion_version="6", champion_features=FEATURES, champion_error="gone")
    assert d.promote and "unusable" in d.reason and "gone" in d.reason


def test_challenger_that_already_is_champion_changes_nothing() -> None:
    d = _decide(0.55, None, champion_version="7")
    assert not d.promote and "already the champion" in d.reason


def test_decision_record_has_both_scores_baseline_margin_and_reason() -> None:
    record = _decide(0.56, 0.55, margin=0.002).as_dict()
    assert record["challenger_pr_auc"] == 0.56 and record["champion_pr_auc"] == 0.55
    assert record["baseline_pr_auc"] == 0.5 and record["margin"] == 0.002
    assert record["outcome"] == "promoted" and record["reason"]


def test_an_already_decided_challenger_is_not_promoted_again() -> None:
    """A rollback rejected it: re-running the promotion alone must not undo the rollback."""
    d = _decide(0.60, 0.55, challenger_lifecycle="rejected")
    assert not d.promote and "already decided" in d.reason
    assert _decide(0.60, 0.55, challenger_lifecycle="challenger").promote


def _lift(low: float, high: float, value: float = 0.01, p: float = 0.2) -> Interval:
    return Interval(value, low, high, p)


def test_the_default_policy_is_significant() -> None:
    assert DEFAULT_POLICY == "significant"
    assert _decide(0.56, 0.55, policy=DEFAULT_POLICY, lift=_lift(-0.02, 0.04)).promote is False


def test_margin_policy_promotes_a_noisy_lift_and_significant_keeps_the_champion() -> None:
    noisy = _lift(-0.021, 0.030, value=0.004, p=0.71)
    by_margin = _decide(0.464, 0.460, policy="margin", lift=noisy)
    assert by_margin.promote
    assert "lift +0.0040 (95 % CI -0.0210..+0.0300, p = 0.71)" in by_margin.reason
    kept = _decide(0.464, 0.460, policy="significant", lift=noisy)
    assert not kept.promote
    assert kept.reason.endswith("not significant, champion kept")
    assert "lift +0.0040 (95 % CI -0.0210..+0.0300" in kept.reason


def test_significant_policy_promotes_when_the_interval_clears_the_margin() -> None:
    clear = _lift(0.012, 0.05, value=0.03, p=0.004)
    d = _decide(0.58, 0.55, policy="significant", lift=clear)
    assert d.promote and d.reason.endswith("significant, promoted")
    # The interval must clear the margin too, not only zero.
    assert not _decide(0.58, 0.55, policy="significant", lift=clear, margin=0.02).promote
    assert _decide(0.58, 0.55, policy="margin", lift=clear, margin=0.02).promote
    # Without an interval a significant lift cannot be shown: the champion stays.
    assert not _decide(0.58, 0.55, policy="significant").promote


def test_a_lift_below_the_margin_is_kept_under_either_policy() -> None:
    for policy in ("margin", "significant"):
        d = _decide(0.55, 0.56, policy=policy, lift=_lift(-0.04, 0.02, value=-0.01))
        assert not d.promote and "not better by more than the margin" in d.reason


def test_decision_record_carries_the_interval_and_policy() -> None:
    record = _decide(0.56, 0.55, policy="significant", lift=_lift(-0.02, 0.04, p=0.4)).as_dict()
    assert record["policy"] == "significant"
    assert (record["lift_ci_low"], record["lift_ci_high"], record["lift_p_value"]) == (
        -0.02,
        0.04,
        0.4,
    )


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown promotion policy"):
        _decide(0.56, 0.55, policy="vibes")


def test_lift_interval_of_identical_models_is_zero_and_of_a_better_one_excludes_zero() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    champion = rng.random(500)
    same = lift_interval(y, champion, champion, seed=1, resamples=500)
    assert (same.value, same.low, same.high) == (0.0, 0.0, 0.0) and same.p_value == 1.0
    # A challenger that knows the answer on a third of the days is clearly better.
    knows = rng.random(500) < 1 / 3
    challenger = np.where(knows, y * 0.5 + 0.25, champion)
    better = lift_interval(y, challenger, champion, seed=1, resamples=500)
    assert better.value > 0 and better.low > 0 and better.p_value < 0.01
    assert better.low < better.value < better.high
