"""The dashboard in headless Chromium, following the real pipeline as it fills a home.

One `fx dash` process and one open page, never reloaded: first an empty home (messages,
nothing created), then the pipeline's ETL on a short ECB range (a close-only chart, no
forecast, no model yet), then `fx run` on a CSV source with open/high/low that runs past
the ECB file's last day (ETL, training, promotion, predictions). The interval refresh must
bring every change to the open page. Expected figures come from the stores themselves (SQL
on the warehouse and on the MLflow database), not from the dashboard's code.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from fx_assets.core.contracts import RAW
from fx_assets.core.domain import FEATURES
from fx_assets.core.ingestion.freshness import freshness
from fx_assets.core.ingestion.sources import EcbSource
from fx_assets.core.warehouse import Warehouse
from tests.conftest import FX_VARS
from tests.support import ROOT
from tests.support.champions import (  # noqa: F401  (mlflow_db_template is a fixture)
    add_pair,
    build_world,
    free_port,
    mlflow_db_template,
    seed_home,
    stop_process,
    use_home,
)
from tests.support.frames import digest

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1300,2100",
)
# Enough ECB days for features (60-day windows), two CV folds of 50 and a 30-day test.
ECB_DAYS = 260
CSV_OVERLAP_DAYS, CSV_EXTRA_DAYS = 30, 6
TRAINING_ENV = {
    "FX_TEST_DAYS": "30",
    "FX_CV_FOLDS": "2",
    "FX_TUNING_BUDGET": "1",
    # A short history: the backtest starts after 100 rows and refits every 30.
    "FX_BACKTEST_MIN_TRAIN_DAYS": "100",
    "FX_BACKTEST_REFIT_DAYS": "30",
}
# The first step of `fx run` on its own: ingestion through fx_final.
ETL_ONLY = (
    "from fx_assets.cli.main import prepare_environment; prepare_environment(); "
    "from fx_assets.cli.run import run_etl; run_etl(print)"
)
REFRESH_SECONDS = 3
WAIT_S = 90
CLOSE_ONLY = ("scatter", "close (close-only source: no open/high/low)")

RENDERED_JS = """
const plots = document.querySelectorAll('.js-plotly-plot');
const model = document.querySelector('#model-panel');
return plots.length === 2 && Array.from(plots).every(p => p._fullLayout)
    && model !== null && !model.innerText.includes('Loading');
"""


def _chromium() -> Any:
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        if os.environ.get("CI") == "true":
            pytest.fail("chromium and chromium-driver are not installed; .ci/run installs them")
        pytest.skip("chromium / chromium-driver not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='fx-chromium-')}")
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    driver = _chromium()
    try:
        yield driver
    finally:
        driver.quit()


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in FX_VARS}
    # The page's one pair (its CSV source holds one pair, without a pair column).
    home_env = {"FX_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"), "FX_PAIRS": "EURUSD"}
    return env | home_env | extra


def fx(home: Path, *args: str, **extra: str) -> str:
    """Run the `fx` command to completion; its output."""
    return python(home, "-m", "fx_assets.cli.main", *args, **extra)


def python(home: Path, *args: str, **extra: str) -> str:
    done = subprocess.run(
        [sys.executable, *args],
        env=_env(home, **extra),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@contextlib.contextmanager
def dash_server(home: Path, **extra: str) -> Iterator[str]:
    """`fx dash` as a real process on a free loopback port (settings ``extra``); its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = home.parent / f"dash-{port}.log"
    env = _env(home, FX_DASH_REFRESH_SECONDS=str(REFRESH_SECONDS), **extra)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fx_assets.cli.main", "dash", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + WAIT_S
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"fx dash did not come up:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        stop_process(proc)
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


def ohlc_csv(path: Path, first: pd.Timestamp, last_ecb: pd.Timestamp) -> pd.Timestamp:
    """ECB closes from ``first`` with open/high/low around them, plus a few days past the
    ECB file (never past yesterday); returns the last date written."""
    history = EcbSource.history()
    closes = history[history["date"] >= first - pd.offsets.BDay(3)][["date", "close"]]
    newest_allowed = pd.Timestamp.today().normalize() - pd.offsets.BDay(1)
    extra = pd.bdate_range(last_ecb + pd.offsets.BDay(1), periods=CSV_EXTRA_DAYS)
    extra = extra[extra <= newest_allowed]
    rng = np.random.default_rng(5)
    walk = closes["close"].iloc[-1] * np.exp(np.cumsum(rng.normal(0, 0.004, len(extra))))
    bars = pd.concat([closes, pd.DataFrame({"date": extra, "close": walk})], ignore_index=True)
    bars["open"] = bars["close"].shift(1)
    bars = bars[bars["date"] >= first].copy()
    spread = 0.0008 + 0.0005 * rng.random(len(bars))
    bars["high"] = bars[["open", "close"]].max(axis=1) + spread
    bars["low"] = bars[["open", "close"]].min(axis=1) - spread
    bars["date"] = bars["date"].dt.strftime("%Y-%m-%d")
    bars[["date", "open", "high", "low", "close"]].round(5).to_csv(path, index=False)
    return pd.Timestamp(bars["date"].iloc[-1])


@dataclass
class World:
    home: Path

    def sql(self, query: str, db: str = "warehouse.db") -> list[tuple[Any, ...]]:
        uri = f"file:{self.home / db}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            return conn.execute(query).fetchall()

    def newest_prediction(self) -> tuple[str, str, float, int, str]:
        return self.sql(
            "SELECT feature_date, target_date, probability_up, direction, model_version "
            "FROM eur_usd_predictions ORDER BY feature_date DESC LIMIT 1"
        )[0]

    def scores(self, newest: int | None = None) -> tuple[int, int, int]:
        """(n, model right, up days) over the newest resolved predictions, by SQL."""
        limit = f"LIMIT {newest}" if newest else ""
        return self.sql(
            "SELECT count(*), coalesce(sum(direction = target), 0), coalesce(sum(target = 1), 0) "
            "FROM (SELECT p.direction, f.target FROM eur_usd_predictions p "
            "JOIN eur_usd_final f ON f.date = p.feature_date WHERE f.target IS NOT NULL "
            f"ORDER BY p.feature_date DESC {limit})"
        )[0]

    def versions(self) -> dict[str, str]:
        """Version -> lifecycle tag, from the MLflow database."""
        rows = self.sql(
            "SELECT version, value FROM model_version_tags WHERE key = 'lifecycle'", "mlflow.db"
        )
        return {str(v): tag for v, tag in rows}

    def champion(self) -> str:
        query = "SELECT version FROM registered_model_aliases WHERE alias = 'champion'"
        return str(self.sql(query, "mlflow.db")[0][0])


def wait_for(driver: Any, condition: Callable[[Any], Any], what: str) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, WAIT_S, poll_frequency=0.25).until(condition)
    except Exception:
        body = driver.find_element("tag name", "body").text
        raise AssertionError(f"timed out waiting for {what}; the page says:\n{body}") from None


def text(driver: Any, css: str) -> str:
    """Visible text of ``css``; the refresh may swap the element while it is read."""
    from selenium.common.exceptions import StaleElementReferenceException

    for _ in range(20):
        with contextlib.suppress(StaleElementReferenceException):
            return str(driver.find_element("css selector", css).text)
        time.sleep(0.1)
    raise AssertionError(f"{css} kept changing under the reader")


def price_traces(driver: Any) -> list[tuple[str, str]]:
    return [
        (t["type"], t["name"])
        for t in driver.execute_script(
            "return document.querySelector('#price-chart .js-plotly-plot').data"
        )
    ]


SHAPE_JS = """
return document.querySelector('#price-chart .js-plotly-plot').data
    .map(t => [t.type, t.name, t.x.length, t.x[0]].join('|')).join(';');
"""


def choose_range(driver: Any, key: str) -> list[tuple[str, str]]:
    """Click a range button and wait for the chart to change; its traces."""
    before = driver.execute_script(SHAPE_JS)
    driver.find_element("css selector", f"#range input[value='{key}']").click()
    wait_for(driver, lambda d: d.execute_script(SHAPE_JS) != before, f"the {key} range to load")
    return price_traces(driver)


TABLE_JS = """
return Array.from(document.querySelectorAll('#predictions-table tbody tr')).map(tr => [
    tr.querySelector('td.col-feature_date').innerText,
    tr.querySelector('td.col-result').innerText,
    getComputedStyle(tr.querySelector('td')).backgroundColor,
]);
"""


def table_rows(driver: Any) -> list[tuple[str, str, str]]:
    """(feature date, result, background colour) of each row shown, read in one go."""
    return [tuple(row) for row in driver.execute_script(TABLE_JS)]


def table_dates(driver: Any) -> list[str]:
    return [date for date, _, _ in table_rows(driver)]


def check_accuracy(driver: Any, world: World) -> None:
    cards = driver.execute_script(
        "return Array.from(document.querySelectorAll('#accuracy .stat')).map(c => c.innerText)"
    )
    assert len(cards) == 3
    for body, window in zip(cards, (None, 60, 20), strict=True):
        n, hits, ups = world.scores(window)
        assert n > 0
        assert f"{hits / n:.1%}\n95 % CI " in body and f"\nn = {n} ({hits} right)" in body, body
        low, high = re.search(r"95 % CI ([\d.]+)%\.\.([\d.]+)%", body).groups()  # type: ignore[union-attr]
        assert float(low) <= 100 * hits / n <= float(high), body
        assert f"always up: {ups / n:.1%} ({ups} of the same {n} days)" in body, body
        if window and n < window:
            assert f"only {n} of {window} resolved so far" in body


def check_forecast(driver: Any, world: World) -> None:
    feature, target, probability, direction, version = world.newest_prediction()
    forecast = text(driver, "#forecast")
    assert f"Forecast for {pd.Timestamp(target):%a %Y-%m-%d}" in forecast
    assert ("UP" if direction == 1 else "DOWN OR FLAT") in forecast
    assert f"p(up) {probability:.1%}" in forecast
    assert f"feature date {feature[:10]} by eur_usd_direction version {version}" in forecast
    # The bundled history ends weeks ago: the page says so, exactly when the data is stale.
    newest = date.fromisoformat(world.sql("SELECT max(date) FROM eur_usd_raw")[0][0][:10])
    stale = freshness(newest, datetime.now(UTC).date()).stale
    banner = driver.find_elements("id", "stale-banner")
    assert bool(banner) == stale
    if stale:
        assert f"Stale data: the newest bar is {newest:%Y-%m-%d}" in banner[0].text
    assert text(driver, "#data-quality").startswith("Data quality:")


def check_table(driver: Any, world: World) -> None:
    n_predictions = world.sql("SELECT count(*) FROM eur_usd_predictions")[0][0]
    assert text(driver, "#table-note") == (
        f"{n_predictions} predictions, {world.scores()[0]} resolved, newest first."
    )
    newest = [
        r[0][:10]
        for r in world.sql(
            "SELECT feature_date FROM eur_usd_predictions ORDER BY feature_date DESC LIMIT 20"
        )
    ]
    assert table_dates(driver) == newest[:10]
    colours = {result: colour for _, result, colour in table_rows(driver)}
    assert set(colours) - {"pending"}, "the first page has resolved predictions"
    expected = {"correct": "rgb(218, 251, 225)", "wrong": "rgb(255, 235, 233)"}
    for result, colour in colours.items():
        if result in expected:
            assert colour == expected[result], (result, colour)
    assert colours["pending"] not in expected.values()
    pages = -(-n_predictions // 10)
    assert text(driver, "#page-label") == f"page 1 of {pages}"
    driver.find_element("id", "page-older").click()
    wait_for(driver, lambda d: table_dates(d) == newest[10:20], "the second table page")
    assert text(driver, "#page-label") == f"page 2 of {pages}"
    driver.find_element("id", "page-newest").click()
    wait_for(driver, lambda d: table_dates(d) == newest[:10], "the first table page again")
    # Oldest, then one page newer: relative moves start from the page shown, not past it.
    driver.find_element("id", "page-oldest").click()
    label = f"page {pages} of {pages}"
    wait_for(driver, lambda d: text(d, "#page-label") == label, "the oldest page")
    driver.find_element("id", "page-newer").click()
    label = f"page {pages - 1} of {pages}"
    wait_for(driver, lambda d: text(d, "#page-label") == label, "the page before the oldest")
    driver.find_element("id", "page-newest").click()
    wait_for(driver, lambda d: table_dates(d) == newest[:10], "the first page once more")


def check_model_panel(driver: Any, world: World) -> None:
    champion = world.champion()
    panel = text(driver, "#model-panel")
    assert f"champion\neur_usd_direction version {champion}" in panel
    tags = dict(
        world.sql(
            f"SELECT key, value FROM model_version_tags WHERE version = {champion}", "mlflow.db"
        )
    )
    pr_auc, baseline = float(tags["test_pr_auc"]), float(tags["baseline_pr_auc"])
    cutoff = tags["training_cutoff"]
    assert f"training cutoff\n{cutoff}" in panel
    assert f"test PR-AUC\n{pr_auc:.3f} (always-up baseline {baseline:.3f})" in panel
    assert "promoted\n20" in panel  # an ISO timestamp from the promotion
    for version, lifecycle in world.versions().items():
        assert f"\n{version} {lifecycle}" in panel, panel
    # Predictions start after the champion's training data.
    first_prediction = world.sql("SELECT min(feature_date) FROM eur_usd_predictions")[0][0]
    assert first_prediction[:10] > cutoff


def check_skill_panel(driver: Any) -> None:
    """The "Is there skill?" panel: the verdict in words, dots with whiskers, the charts."""
    wait_for(driver, lambda d: "The model is" in text(d, "#skill-panel"), "the skill panel")
    verdict = text(driver, "#skill-verdict")
    assert "always-up, p = " in verdict, verdict
    dots = driver.execute_script(
        "return document.querySelector('#skill-accuracy .js-plotly-plot').data[0]"
    )
    assert sorted(dots["y"]) == ["always-up", "momentum", "persistence", "the model"]
    assert len(dots["error_x"]["array"]) == 4
    for chart in ("#skill-equity", "#skill-yearly"):
        assert (
            driver.execute_script(
                f"return document.querySelector('{chart} .js-plotly-plot').data.length"
            )
            == 2
        )
    assert "not investment advice" in text(driver, "#skill-panel")
    assert "95 % CI" in text(driver, "#accuracy")  # the accuracy cards' intervals


PSI_BARS_JS = "return document.querySelector('#psi-chart .js-plotly-plot').data[0].y.length"


def check_monitoring_panel(driver: Any) -> None:
    """After fx run: PSI per feature and the prediction shares render (realized accuracy is
    the page's one accuracy chart, above)."""
    wait_for(driver, lambda d: "Feature drift, window ending" in text(d, "#monitoring-panel"),
             "the monitoring panel")  # fmt: skip
    assert driver.execute_script(PSI_BARS_JS) == len(FEATURES)
    panel = text(driver, "#monitoring-panel")
    assert "Data freshness: newest bar" in panel
    assert "Prediction drift" in panel and "Newest alerts" in panel


def test_dashboard_follows_the_pipeline(
    browser: Any,
    tmp_path: Path,
    mlflow_db_template: Path,  # noqa: F811
) -> None:
    home = tmp_path / "fxhome"
    seed_home(home, mlflow_db_template)  # a migrated empty MLflow store saves ~10 s
    world = World(home=home)
    registry_before = digest(home / "mlflow.db")
    ecb_dates = EcbSource.history()["date"]
    ecb_first, ecb_last = ecb_dates.iloc[-ECB_DAYS], ecb_dates.iloc[-1]
    ARTIFACTS.mkdir(exist_ok=True)

    with dash_server(home) as url:
        browser.get(f"{url}pair/EURUSD")  # the detail page; the book has its own test
        wait_for(browser, lambda d: d.execute_script(RENDERED_JS), "the page to render")

        # 1. Nothing yet: messages in the page, and the page creates nothing.
        status = text(browser, "#status")
        assert status.startswith("No data yet:") and "Run `fx run` to fill it." in status
        assert "Nothing to show" in text(browser, "#forecast")
        assert "Nothing to show" in text(browser, "#accuracy")
        assert price_traces(browser) == []
        assert text(browser, "#model-panel").startswith("No model registered as eur_usd_direction")
        wait_for(browser, lambda d: "No drift" in text(d, "#monitoring-panel"), "monitoring")
        assert "No alert sent yet" in text(browser, "#monitoring-panel")
        body = text(browser, "body")
        assert "Traceback" not in body and "Error" not in body
        browser.save_screenshot(str(ARTIFACTS / "dashboard-empty.png"))
        assert not (home / "warehouse.db").exists()

        # 2. The pipeline's ETL on a short ECB range: prices, no model, no forecast.
        python(home, "-c", ETL_ONLY, FX_SOURCE="ecb", FX_START_DATE=f"{ecb_first:%Y-%m-%d}")
        wait_for(browser, lambda d: price_traces(d), "the ECB prices")
        assert text(browser, "#status") == ""
        assert price_traces(browser) == [CLOSE_ONLY]
        assert text(browser, "#forecast").startswith("No forecast yet")
        assert text(browser, "#accuracy").startswith("No prediction resolved yet")
        assert text(browser, "#model-panel").startswith("No model registered as eur_usd_direction")
        assert text(browser, "#skill-panel").startswith("No backtest yet")
        assert digest(home / "mlflow.db") == registry_before

        # 3. `fx run` on a CSV source with OHLC, past the ECB file's last day.
        csv_first = ecb_last - pd.offsets.BDay(CSV_OVERLAP_DAYS)
        csv = tmp_path / "ohlc.csv"
        csv_last = ohlc_csv(csv, csv_first, ecb_last)
        assert csv_last > ecb_last
        source = {"FX_SOURCE": f"csv:{csv}", "FX_START_DATE": f"{csv_first:%Y-%m-%d}"}
        out = fx(home, "run", **source, **TRAINING_ENV)
        assert "promoted, champion v1" in out and "[eur_usd_direction v1]" in out, out
        wait_for(browser, lambda d: "Forecast for" in text(d, "#forecast"), "the forecast")
        wait_for(browser, lambda d: "champion\n" in text(d, "#model-panel"), "the champion")
        assert world.newest_prediction()[0][:10] == f"{csv_last:%Y-%m-%d}"
        check_forecast(browser, world)

        # Candlesticks where the CSV gave OHLC, the close line for the ECB days before.
        six_months = price_traces(browser)
        assert six_months[:2] == [("candlestick", "EUR/USD (OHLC)"), CLOSE_ONLY]
        assert {"predicted up", "predicted down or flat"} & {name for _, name in six_months}
        one_month = choose_range(browser, "1M")
        assert one_month[0] == ("candlestick", "EUR/USD (OHLC)")
        assert CLOSE_ONLY not in one_month
        everything = choose_range(browser, "All")
        assert everything[:2] == [("candlestick", "EUR/USD (OHLC)"), CLOSE_ONLY]
        line_x = browser.execute_script(
            "return document.querySelector('#price-chart .js-plotly-plot').data[1].x"
        )
        assert line_x[0] == f"{ecb_first:%Y-%m-%d}"
        assert line_x[-1] < f"{csv_first:%Y-%m-%d}"
        choose_range(browser, "6M")

        check_accuracy(browser, world)
        check_table(browser, world)
        check_model_panel(browser, world)
        check_skill_panel(browser)
        check_monitoring_panel(browser)
        browser.save_screenshot(str(ARTIFACTS / "dashboard.png"))


BOOK_ROWS_JS = """
return Array.from(document.querySelectorAll('#book-table tbody tr'))
    .filter(tr => tr.querySelector('td'))
    .map(tr => Array.from(tr.querySelectorAll('td')).map(td => td.innerText.trim()));
"""


def book_rows(driver: Any) -> list[list[str]]:
    return [list(r) for r in driver.execute_script(BOOK_ROWS_JS)]


def test_the_book_overview_opens_each_pairs_page(
    browser: Any,
    tmp_path: Path,
    mlflow_db_template: Path,  # noqa: F811
) -> None:
    """EUR/USD and GBP/USD with champions and forecasts (GBP/USD's tables written directly,
    its history ending earlier), USD/JPY in the book with nothing yet."""
    from selenium.webdriver.common.by import By

    home = tmp_path / "fxhome"
    with use_home(home):
        world = build_world(home, mlflow_db_template)
        gbp_version = add_pair(world, "GBPUSD", end=date(2024, 9, 20), c=0.01)
        for pair, end in (("EURUSD", date(2024, 9, 30)), ("GBPUSD", date(2024, 9, 20))):
            bars = EcbSource().fetch(date(2023, 6, 1), end)
            stamped = bars.assign(source="ecb", ingested_at=pd.Timestamp.now(tz="UTC"))
            Warehouse(world.warehouse_url).for_pair(pair).replace_all(RAW, stamped)
    book = {"FX_PAIRS": "EURUSD,GBPUSD,USDJPY"}
    with dash_server(home, **book) as url:
        browser.get(url)
        wait_for(browser, lambda d: len(book_rows(d)) == 3, "the book's three rows")
        rows = {r[0]: r for r in book_rows(browser)}
        assert list(rows) == ["EUR/USD", "GBP/USD", "USD/JPY"]
        assert "for Tue 2024-10-01" in rows["EUR/USD"][1]
        assert "for Mon 2024-09-23" in rows["GBP/USD"][1]
        assert rows["GBP/USD"][3].startswith(f"v{gbp_version} ")
        assert rows["USD/JPY"][1] == "no forecast yet" and rows["USD/JPY"][3] == "no champion yet"
        assert rows["USD/JPY"][-1] == "no bars yet"
        # Sortable: the P(up) header orders the rows by it, one way then the other.
        header = browser.find_element(By.CSS_SELECTOR, "th[data-dash-column='probability_up']")
        orders = []
        for _ in range(2):
            header.find_element(By.CSS_SELECTOR, ".column-header--sort").click()
            time.sleep(0.5)
            shown = [float(r[2].rstrip("%")) for r in book_rows(browser) if r[2]]
            orders.append(shown)
        assert orders[0] == sorted(orders[0]) and orders[1] == sorted(orders[1], reverse=True)
        assert orders[0] != orders[1]
        browser.save_screenshot(str(ARTIFACTS / "dashboard-book.png"))

        # Drill down: a click on GBP/USD's row opens its page, the pair in the URL.
        cell = next(
            td
            for td in browser.find_elements(By.CSS_SELECTOR, "#book-table td")
            if td.text.strip() == "GBP/USD"
        )
        cell.click()
        wait_for(browser, lambda d: d.current_url == f"{url}pair/GBPUSD", "the URL to change")
        wait_for(browser, lambda d: d.execute_script(RENDERED_JS), "GBP/USD's page")
        assert text(browser, "#pair-title") == "GBP/USD next-day direction"
        assert "Forecast for Mon 2024-09-23" in text(browser, "#forecast")
        assert "by gbp_usd_direction version" in text(browser, "#forecast")
        model = text(browser, "#model-panel")
        assert f"champion\ngbp_usd_direction version {gbp_version}" in model
        assert all("EUR/USD" not in name for _, name in price_traces(browser))

        # The URL can be shared: opened afresh, it shows the same pair.
        browser.get(f"{url}pair/GBPUSD")
        wait_for(browser, lambda d: d.execute_script(RENDERED_JS), "GBP/USD's page again")
        assert text(browser, "#pair-title") == "GBP/USD next-day direction"

        # The empty state of a pair of the book with no champion yet.
        browser.get(f"{url}pair/USDJPY")
        wait_for(browser, lambda d: d.execute_script(RENDERED_JS), "USD/JPY's page")
        assert text(browser, "#pair-title") == "USD/JPY next-day direction"
        assert "No data yet: fx_raw has no USD/JPY bars." in text(browser, "#status")
        assert "Nothing to show" in text(browser, "#forecast")
        assert text(browser, "#model-panel").startswith(
            "No model registered as usd_jpy_direction yet"
        )
        browser.save_screenshot(str(ARTIFACTS / "dashboard-empty-pair.png"))
        body = text(browser, "body")
        assert "Traceback" not in body and "Error" not in body
