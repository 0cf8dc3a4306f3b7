"""The promotion decision as a pure function."""

from __future__ import annotations

from fx_assets.core.domain import FEATURES
from fx_assets.core.training.promotion import decide


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
