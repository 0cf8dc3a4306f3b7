"""Per-request scoring without scikit-learn's per-call input checks.

A generic ``predict_proba`` on one row costs about a millisecond in scikit-learn 1.9
(input validation, feature-name and fitted checks on every step), ten times the
arithmetic itself. The service scores already-validated float rows, so for the model
families training produces the same numbers come straight from the fitted state:

- a Pipeline of StandardScaler steps ending in a binary LogisticRegression: one affine
  map and a logistic;
- a scikit-learn RandomForestClassifier (champions registered before the forest family
  moved to XGBoost's random-forest mode): each tree's Cython ``predict``, averaged in
  the same order;
- an XGBClassifier, or an XGBRFClassifier (the forest family): its trees walked in
  numpy, else the booster's ``inplace_predict``. A forest's parallel trees are stored
  with their leaf values already divided by their number, so the sum is their mean.

A pipeline whose first step is the pooled family's volatility scaler: that step's numpy
transform, then any of the above for the rest of the pipeline.

``candidates`` lists none for anything else, and the caller uses the first path that
agrees with ``predict_proba`` on probe rows (to 1e-6: XGBoost works in float32).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.special import expit

Probability = Callable[[np.ndarray], np.ndarray]


def _linear(estimator: Any, positive: int) -> Probability | None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    steps = [s for _, s in estimator.steps] if isinstance(estimator, Pipeline) else [estimator]
    *scalers, last = [s for s in steps if s not in (None, "passthrough")]
    if not isinstance(last, LogisticRegression) or len(last.classes_) != 2:
        return None
    if not all(isinstance(s, StandardScaler) for s in scalers):
        return None
    coef = np.asarray(last.coef_, dtype=float).ravel()
    intercept = float(np.asarray(last.intercept_).ravel()[0])
    # Fold every (x - mean) / scale into the coefficients: x @ w + b.
    for scaler in reversed(scalers):
        mean = scaler.mean_ if scaler.mean_ is not None else 0.0
        scale = scaler.scale_ if scaler.scale_ is not None else 1.0
        coef = coef / scale
        intercept = intercept - float(np.sum(coef * mean))
    sign = 1.0 if positive == 1 else -1.0

    def probability(x: np.ndarray) -> np.ndarray:
        return expit(sign * (x @ coef + intercept))

    return probability


def _forest(estimator: Any, positive: int) -> Probability | None:
    from sklearn.ensemble import RandomForestClassifier

    if not isinstance(estimator, RandomForestClassifier) or estimator.n_outputs_ != 1:
        return None
    trees = [t.tree_ for t in estimator.estimators_]
    n_classes = int(estimator.n_classes_)
    count = len(trees)

    def probability(x: np.ndarray) -> np.ndarray:
        x32 = np.ascontiguousarray(x, dtype=np.float32)
        total = np.zeros((len(x32), n_classes), dtype=np.float64)
        for tree in trees:
            total += tree.predict(x32)[:, :n_classes]
        return (total / count)[:, positive]

    return probability


def _binary_xgboost(estimator: Any) -> bool:
    try:
        from xgboost import XGBClassifier
    except ImportError:
        return False
    return isinstance(estimator, XGBClassifier) and getattr(estimator, "n_classes_", 2) == 2


def _xgboost_trees(estimator: Any, positive: int) -> Probability | None:
    """The boosted trees walked in numpy, all trees one level per step (about 6x faster
    than ``inplace_predict`` for one row). Plain numeric splits only; XGBoost compares in
    float32 and sums leaves in float32, so results agree to about 1e-7."""
    import json

    if not _binary_xgboost(estimator):
        return None
    learner = json.loads(estimator.get_booster().save_raw("json"))["learner"]
    booster = learner["gradient_booster"]
    if learner["objective"]["name"] != "binary:logistic" or booster["name"] != "gbtree":
        return None
    trees = booster["model"]["trees"]
    best = getattr(estimator, "best_iteration", None)
    if best is not None:
        trees = trees[: best + 1]
    lefts, rights, features, values, roots, depth, offset = [], [], [], [], [], 0, 0
    for tree in trees:
        if tree.get("categories_nodes"):
            return None
        left, right = np.array(tree["left_children"]), np.array(tree["right_children"])
        leaf, nodes = left == -1, np.arange(len(left))
        # A leaf points at itself, so walking past it changes nothing.
        lefts.append(offset + np.where(leaf, nodes, left))
        rights.append(offset + np.where(leaf, nodes, right))
        features.append(np.where(leaf, 0, np.array(tree["split_indices"])))
        # Split thresholds at inner nodes, leaf values at leaves.
        values.append(np.array(tree["split_conditions"], dtype=np.float32))
        levels = np.zeros(len(left), dtype=int)
        for node in nodes[~leaf]:  # parents come before their children
            levels[left[node]] = levels[right[node]] = levels[node] + 1
        roots.append(offset)
        depth, offset = max(depth, int(levels.max())), offset + len(left)
    go_left, go_right = np.concatenate(lefts), np.concatenate(rights)
    feature, value, root = np.concatenate(features), np.concatenate(values), np.array(roots)
    base = float(str(learner["learner_model_param"]["base_score"]).strip("[]"))
    base_margin = np.float32(np.log(base / (1 - base)))
    sign = 1.0 if positive == 1 else -1.0

    def probability(x: np.ndarray) -> np.ndarray:
        x32 = np.ascontiguousarray(x, dtype=np.float32)
        flat, row = x32.ravel(), (np.arange(len(x32)) * x32.shape[1])[:, None]
        node = np.tile(root, (len(x32), 1))
        for _ in range(depth):
            node = np.where(flat[row + feature[node]] < value[node], go_left[node], go_right[node])
        margin = base_margin + value[node].sum(axis=1, dtype=np.float32)
        return expit(sign * margin.astype(np.float64))

    return probability


def _xgboost(estimator: Any, positive: int) -> Probability | None:
    if not _binary_xgboost(estimator):
        return None
    booster = estimator.get_booster().copy()
    # Requests are a few rows: waking an OpenMP team per call costs more than it saves,
    # and under CPU contention (2 cores) it costs milliseconds.
    booster.set_param({"nthread": 1})
    best = getattr(estimator, "best_iteration", None)
    rounds = (0, best + 1) if best is not None else (0, 0)

    def probability(x: np.ndarray) -> np.ndarray:
        # Column order was checked against the fitted names at load.
        raw = booster.inplace_predict(x, iteration_range=rounds, validate_features=False)
        p = np.asarray(raw, dtype=float)
        return p if positive == 1 else 1.0 - p

    return probability


def _after_row_transform(estimator: Any, positive: int) -> list[Probability]:
    """A Pipeline opening with a row-wise numpy step of ours (the pooled family's
    ``VolatilityScaler``, known by its ``fast_transform``): that step, then the paths of
    the rest of the pipeline."""
    from sklearn.pipeline import Pipeline

    if not isinstance(estimator, Pipeline) or len(estimator.steps) < 2:
        return []
    first = estimator.steps[0][1]
    transform = getattr(first, "fast_transform", None)
    if not callable(transform):
        return []
    rest = estimator.steps[1:]
    inner = rest[0][1] if len(rest) == 1 else Pipeline(rest)

    def composed(fast: Probability) -> Probability:
        return lambda x: fast(transform(x))

    return [composed(fast) for fast in candidates(inner, positive)]


def candidates(estimator: Any, positive: int) -> list[Probability]:
    """Direct P(class ``positive``) paths for known model families, fastest first."""
    built = (build(estimator, positive) for build in (_linear, _forest, _xgboost_trees, _xgboost))
    direct = [fast for fast in built if fast is not None]
    return direct or _after_row_transform(estimator, positive)


def agrees(
    fast: Probability, slow: Probability, n_features: int, *, tolerance: float = 1e-6
) -> bool:
    """True when both give the same probabilities on deterministic probe rows."""
    rng = np.random.default_rng(0)
    probe = np.vstack([np.zeros(n_features), rng.normal(size=(63, n_features))])
    # Realistic magnitudes too: returns near 0, RSI near 50, weekday up to 4.
    probe = np.vstack([probe, probe * 0.01, probe * 50 + 50])
    try:
        return bool(np.allclose(fast(probe), slow(probe), rtol=0, atol=tolerance))
    except Exception:
        return False
