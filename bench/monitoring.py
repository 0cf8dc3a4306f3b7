"""Drift's false alarms and power on the real ECB history, and the monitoring step's time.

Calibration (``calibration.py`` beside this file): every month-end since 2005 taken as
the newest 60-row window against all rows before it (the share of months that flag any
feature, against the rate ``drift`` states), the newest window of the unchanged
history, and planted regimes on the newest 1 to 4 months (volatility x3 and x5, a 5 %
level shift, a frozen feed) with the features each flags.

Timing: a fresh FX_HOME holds the whole ECB history's modelling table (1999 onwards) in a SQLite
warehouse, a logistic-regression champion trained up to 500 trading days before the
end (registered as training registers it) and its stored predictions for those days.
Then ``model_monitoring`` (both tables and the three WARN checks) is materialized, and
the pure computation is timed on its own.

    python bench/monitoring.py          # target: the asset step under 3 s
    python bench/monitoring.py --no-timing   # the calibration figures only
    python bench/monitoring.py --timing      # the timing only
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOLDOUT = 500
REPEATS = 3


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from bench.calibration import report_calibration

    if "--timing" not in sys.argv:
        report_calibration()
    if "--no-timing" not in sys.argv:
        timing()


def timing() -> None:
    home = Path(tempfile.mkdtemp(prefix="fx-bench-monitoring-"))
    os.environ["FX_HOME"] = str(home)
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    (home / "dagster").mkdir()
    (home / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    for var in (
        "FX_WAREHOUSE_URL",
        "MLFLOW_TRACKING_URI",
        "FX_ALERT_WEBHOOK_URL",
        "FX_ALERT_EMAIL_TO",
    ):
        os.environ.pop(var, None)
    sys.path.insert(0, str(ROOT))

    import mlflow
    import mlflow.sklearn
    import pandas as pd
    from dagster import DagsterInstance, materialize
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from fx_assets.core.contracts import FINAL, PREDICTIONS
    from fx_assets.core.domain import FEATURES, TARGET
    from fx_assets.core.features import build_features, build_final
    from fx_assets.core.ingestion.sources import EcbSource
    from fx_assets.core.models import registry
    from fx_assets.core.models.champion import load_champion
    from fx_assets.core.models.loader import TRUSTED_TYPES, record_artifact_hash
    from fx_assets.core.monitoring import report
    from fx_assets.core.settings import load_settings
    from fx_assets.core.warehouse import Warehouse
    from fx_assets.defs.monitoring.assets import model_monitoring
    from fx_assets.defs.resources import build_resources

    final = build_final(build_features(EcbSource.history()))
    cutoff = final["date"].iloc[-HOLDOUT - 1]
    train = final[final["date"] <= cutoff]
    x, y = train[FEATURES].astype(float), train[TARGET].astype(int)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y)
    registry.configure_mlflow()
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(x.head(20), model.predict_proba(x.head(20))),
            registered_model_name=registry.MODEL_NAME,
            pip_requirements=["scikit-learn"],
            # As training stores it: skops with our trusted types, never pickle.
            serialization_format="skops",
            skops_trusted_types=list(TRUSTED_TYPES),
        )
    version = str(info.registered_model_version)
    client = registry.client()
    record_artifact_hash(client, version)  # the loader refuses a version without it
    for key, value in {
        registry.TAG_LIFECYCLE: "champion",
        registry.TAG_FEATURES: ",".join(FEATURES),
        registry.TAG_TRAINING_CUTOFF: str(cutoff.date()),
    }.items():
        client.set_model_version_tag(registry.MODEL_NAME, version, key, value)
    client.set_registered_model_alias(registry.MODEL_NAME, registry.CHAMPION, version)
    champion = load_champion(client)

    later = final[final["date"] > cutoff]
    p = champion.probability_up(later[FEATURES].to_numpy(float))
    predictions = pd.DataFrame({
        "feature_date": later["date"], "target_date": later["date"] + pd.offsets.BDay(1),
        "probability_up": p, "direction": (p >= 0.5).astype(int),
        "model_name": registry.MODEL_NAME, "model_version": version,
        "predicted_at": datetime.now(UTC),
    })  # fmt: skip
    wh = Warehouse(load_settings().warehouse_url)
    wh.replace_all(FINAL, final)
    wh.insert_new(PREDICTIONS, predictions)
    print(f"{len(final)} feature rows ({final['date'].min():%Y-%m-%d} .. "
          f"{final['date'].max():%Y-%m-%d}), {len(predictions)} stored predictions")  # fmt: skip

    core = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        tables = report.monitor(wh.read(FINAL), wh.read(PREDICTIONS), champion)
        core.append(time.perf_counter() - t0)
    resources = build_resources(load_settings())
    instance = DagsterInstance.get()
    steps = []
    for _ in range(REPEATS):
        result = materialize([model_monitoring], resources=resources, instance=instance)
        assert result.success
        steps.append(_step_seconds(instance, result.run_id))
    print(f"report.monitor (read + compute): median {statistics.median(core):.2f} s")
    print(f"model_monitoring step (champion load, read, compute, write, checks): "
          f"median {statistics.median(steps):.2f} s (target < 3 s)")  # fmt: skip
    from fx_assets.core.monitoring import findings

    print("what the checks say on the bundled history (champion trained to "
          f"{cutoff:%Y-%m-%d}):")  # fmt: skip
    print(f"  feature_drift: {findings.feature_drift(tables.drift).summary}")
    print(f"  performance_decay: {findings.performance_decay(tables.performance).summary}")
    print(f"  prediction_drift: {findings.prediction_drift(tables.performance).summary}")


def _step_seconds(instance: object, run_id: str) -> float:
    stats = instance.get_run_step_stats(run_id)  # type: ignore[attr-defined]
    return sum(s.end_time - s.start_time for s in stats if s.end_time and s.start_time)


if __name__ == "__main__":
    main()
