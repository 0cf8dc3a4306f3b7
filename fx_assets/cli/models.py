"""``fx models``, ``fx promote VERSION`` and ``fx rollback``: the registry from the terminal.

Each takes ``--pair`` (default EURUSD): the pair's own registered model
(``eur_usd_direction``, ``gbp_usd_direction``, ...); no command moves another pair's.
An explicit champion change is logged like the automatic one: an MLflow decision run
with both models' PR-AUC on the pair's current test set (when ``fx_test`` has its rows),
the always-up baseline and the reason, and the same lifecycle tags on the versions.
"""

from __future__ import annotations

import argparse
import getpass
from typing import Any

from fx_assets.core.alerts import announce, champion_changed
from fx_assets.core.models import registry
from fx_assets.core.models.registry import RegistryError
from fx_assets.core.pairs import DEFAULT_PAIR, Pair, PairError


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        return "unknown"


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _lift(v: registry.Version) -> str:
    """The decision's PR-AUC lift with its 95 % interval and policy, when it faced a champion."""
    lift = v.number(registry.TAG_DECISION_LIFT)
    low, high = v.number(registry.TAG_DECISION_LIFT_LOW), v.number(registry.TAG_DECISION_LIFT_HIGH)
    if lift is None or low is None or high is None:
        return ""
    policy = v.tags.get(registry.TAG_DECISION_POLICY, "")
    return f"{lift:+.4f} ({low:+.4f}..{high:+.4f}) {policy}".rstrip()


def _name(args: argparse.Namespace) -> str:
    """The registered model of ``--pair``."""
    return Pair.parse(args.pair).model_name


def cmd_models(args: argparse.Namespace) -> int:
    from fx_assets.core.readmodel.registry import RegistryReader
    from fx_assets.core.settings import load_settings

    name = _name(args)
    # A read: the read model's reader, which creates no experiment and no store.
    reader = RegistryReader(load_settings().mlflow_tracking_uri)
    versions = registry.list_versions(reader.client, name=name) if reader.exists else []
    if not versions:
        print(f"no version of {name} is registered yet; `fx run` trains the first")
        return 0
    rows = [
        (
            v.version,
            ",".join(v.aliases),
            v.lifecycle or "",
            v.tags.get(registry.TAG_FAMILY, ""),
            _fmt(v.number(registry.TAG_TEST_PR_AUC)),
            _fmt(v.number(registry.TAG_BASELINE_PR_AUC)),
            v.tags.get(registry.TAG_TRAINING_CUTOFF, ""),
            _lift(v),
            f"{v.created_at:%Y-%m-%d %H:%M}" if v.created_at else "",
        )
        for v in versions
    ]
    head = (
        "version",
        "aliases",
        "lifecycle",
        "family",
        "test PR-AUC",
        "always-up",
        "cutoff",
        "lift (95 % CI) policy",
    )
    table = [(*head, "registered (UTC)"), *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _test_scores(
    client: Any, versions: list[registry.Version], pair: str
) -> tuple[dict[str, float], float | None]:
    """PR-AUC of each usable version on ``pair``'s current test rows, and the baseline."""
    from fx_assets.core.models import lifecycle
    from fx_assets.core.readmodel.data import test_set
    from fx_assets.core.readmodel.stores import open_warehouse
    from fx_assets.core.settings import load_settings

    test = test_set(open_warehouse(load_settings().warehouse_url), pair=pair)
    return lifecycle.test_scores(client, versions, test)


def _log(
    client: Any, pair: str, kind: str, crowned: str, replaced: str | None, reason: str
) -> None:
    from fx_assets.core.training.tracking import log_decision

    name = Pair.parse(pair).model_name
    versions = [registry.get_version(client, crowned, name=name)]
    if replaced:
        versions.append(registry.get_version(client, replaced, name=name))
    scores, baseline = _test_scores(client, versions, pair)
    log_decision(
        client,
        run_name=f"{kind} v{crowned}",
        pair=pair,
        record={
            "kind": kind,
            "outcome": "promoted",
            "reason": reason,
            "challenger_version": crowned,
            "champion_version": replaced,
            "challenger_pr_auc": scores.get(crowned),
            "champion_pr_auc": scores.get(replaced) if replaced else None,
            "baseline_pr_auc": baseline,
            "by": _user(),
        },
    )
    shown = ", ".join(f"v{v} {s:.4f}" for v, s in scores.items())
    if shown:
        print(f"  test PR-AUC now: {shown} (always up {baseline:.4f})")


def cmd_promote(args: argparse.Namespace) -> int:
    from fx_assets.core.models import lifecycle

    pair, name = args.pair, _name(args)
    client = registry.client()
    target = registry.get_version(client, args.version, name=name)
    problem = lifecycle.feature_problem(target)
    if problem:
        raise RegistryError(f"{name} version {problem}; predictions could not use it")
    reason = f"manual promotion (fx promote): {args.reason}"
    previous = registry.promote(client, target.version, reason=reason, name=name)
    was = f"v{previous.version}, now archived" if previous else "none"
    print(f"fx promote: {name} v{target.version} is the champion (previous champion: {was})")
    _log(client, pair, "manual", target.version, previous.version if previous else None, reason)
    announce(
        champion_changed(
            "promotion", target.version, previous and previous.version, reason, pair=pair
        )
    )
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    pair, name = args.pair, _name(args)
    client = registry.client()
    reason = f"rollback (fx rollback): {args.reason}"
    demoted, restored = registry.rollback(client, reason=reason, name=name)
    print(
        f"fx rollback: {name} v{restored.version} is the champion again;"
        f" v{demoted.version} is tagged rejected"
    )
    _log(client, pair, "rollback", restored.version, demoted.version, reason)
    announce(champion_changed("rollback", restored.version, demoted.version, reason, pair=pair))
    return 0


def _pair(text: str) -> str:
    """``--pair``'s value as a pair code; argparse reports a bad one in a line."""
    try:
        return Pair.parse(text).code
    except PairError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def models_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pair",
        type=_pair,
        default=DEFAULT_PAIR,
        help=f"the pair whose registered model to act on (default {DEFAULT_PAIR})",
    )


def promote_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("version", help="the registered version to make champion (see fx models)")
    parser.add_argument("--reason", default="no reason given", help="recorded in the decision")
    models_args(parser)


def rollback_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reason", default="no reason given", help="recorded in the decision")
    models_args(parser)
