"""``fx run`` as a user meets it, in real processes: a data failure is a few lines (no
traceback, the offending dates, the run id, never a secret); two runs on one fresh home
never break it (one refuses cleanly or both finish, a third succeeds, no duplicates); a
killed run does not block the next one."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tests.support.fx_process import fx_env
from tests.support.market_data import provider_series, write_provider_csv

SECRET = "td-never-printed-71c2"


def fx_run(home: Path, *args: str, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "fx_assets.cli.main", "run", *args],
        env=fx_env(home, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 400) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def test_a_data_failure_is_a_few_lines_with_the_dates_and_the_run_id(tmp_path: Path) -> None:
    series = provider_series()
    bars = series.bars.copy()
    shifted = bars["date"] >= "2012-05-02"
    bars.loc[shifted, ["open", "high", "low", "close"]] *= 1.3  # another pair from here on
    csv = write_provider_csv(replace(series, bars=bars), tmp_path / "bad.csv")

    code, out, err = finish(
        fx_run(
            tmp_path / "home",
            FX_SOURCE=f"csv:{csv}",
            FX_START_DATE="",
            TWELVEDATA_API_KEY=SECRET,
        )
    )

    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) <= 4, err
    assert lines[0] == "fx run: error: etl_job failed at step fx_raw for EURUSD"
    assert "implausible_move" in lines[1] and "2012-05-02" in lines[1]
    assert lines[2].startswith("  run id: ") and len(lines[2].split()[2]) == 36
    assert "Traceback" not in err + out and SECRET not in err + out
    # The "etl: ..." line and the pair's: nothing past the failed stage.
    assert out.strip().splitlines()[1:] == [
        "  EURUSD  failed: its bars were not written (see the end)"
    ]


def test_provider_data_says_what_was_quarantined_and_where_days_are_missing(
    tmp_path: Path,
) -> None:
    series = provider_series()  # weekend bars, one bad tick, a 12-trading-day hole
    csv = write_provider_csv(series, tmp_path / "provider.csv")
    etl_only = (
        "from fx_assets.cli.main import prepare_environment; prepare_environment(); "
        "from fx_assets.cli.run import run_etl; run_etl(print)"
    )
    out = subprocess.run(
        [sys.executable, "-c", etl_only],
        env=fx_env(tmp_path / "home", FX_SOURCE=f"csv:{csv}", FX_START_DATE=""),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    (quality,) = [line for line in out.splitlines() if "data quality:" in line]
    weekend = len(series.weekend_dates)
    assert f"weekend {weekend}" in quality and f"isolated_spike 1 ({series.bad_tick})" in quality
    (gap,) = [line for line in out.splitlines() if "fx_raw_gaps" in line]
    first, last = series.hole
    assert gap.startswith("  warning: 12 trading day(s) missing in 1 gap(s)")
    assert f"{first}..{last} (12 trading days)" in gap


def keys_unique(home: Path) -> None:
    with sqlite3.connect(home / "warehouse.db") as conn:
        for table, key in (
            ("fx_raw", "pair || date"),
            ("fx_final", "pair || date"),
            ("fx_predictions", "pair || feature_date"),
        ):
            n, distinct = conn.execute(
                f"SELECT count(*), count(DISTINCT {key}) FROM {table}"
            ).fetchone()
            assert n == distinct > 0, table


def registered_versions(home: Path) -> int:
    with sqlite3.connect(home / "mlflow.db") as conn:
        return conn.execute("SELECT count(*) FROM model_versions").fetchone()[0]


@pytest.mark.timeout(900)
def test_two_runs_on_one_fresh_home_then_a_third(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first, second = fx_run(home), fx_run(home)
    results = [finish(first), finish(second)]

    codes = sorted(code for code, _, _ in results)
    assert codes in ([0, 0], [0, 75]), results
    for code, out, err in results:
        if code == 75:
            (line,) = err.strip().splitlines()
            assert line.startswith("fx run: another fx run (pid ") and "--wait" in line
            assert out == ""
        else:
            assert "forecast for" in out, err
    code, out, err = finish(fx_run(home))
    assert code == 0, err
    keys_unique(home)
    # One challenger registered per run that trained.
    assert registered_versions(home) == codes.count(0) + 1


@pytest.mark.timeout(900)
def test_a_killed_run_does_not_block_the_next(tmp_path: Path) -> None:
    home = tmp_path / "home"
    victim = fx_run(home)
    pid_file = home / ".fx-run.lock.pid"
    deadline = time.monotonic() + 120
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert pid_file.read_text() == str(victim.pid)
    time.sleep(3)  # into the ETL
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()

    code, out, err = finish(fx_run(home))

    assert code == 0, err
    assert "forecast for" in out
    keys_unique(home)
