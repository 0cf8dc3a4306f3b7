"""Time the dashboard to a fully rendered page in headless Chromium, and weigh the page.

Runs `fx dash` as a real process on an FX_HOME filled by `fx run` with the full ECB
history (1999 to the package's last day). Building that home takes about half a minute; it
is kept (default `.fx/bench-dashboard`, gitignored) and reused by later runs.

"Fully rendered" is measured inside the page, from navigation start: both Plotly charts
drawn with their traces, the forecast, the accuracy cards, the first table page and the
model panel filled. A cold load uses a fresh browser profile (empty HTTP cache); a warm
load is a reload in the same browser. Bytes are the Performance API's transferSize
(compressed, on the wire) and decodedBodySize of the document and every resource.

    python bench/dashboard.py [--home DIR] [--runs 5]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = (
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
FX_VARS = ("FX_WAREHOUSE_URL", "FX_SOURCE", "FX_START_DATE", "MLFLOW_TRACKING_URI", "DAGSTER_HOME")

# Installed before any page script runs: records when everything is on screen.
PROBE = """
(function () {
  function done() {
    const plots = document.querySelectorAll('.js-plotly-plot');
    const model = document.querySelector('#model-panel');
    return plots.length === 2
      && Array.from(plots).every(p => p._fullLayout && p.querySelector('.main-svg'))
      && document.querySelector('#price-chart .js-plotly-plot').data.length > 0
      && document.querySelector('#forecast .forecast-direction')
      && document.querySelectorAll('#accuracy .stat').length === 3
      && document.querySelector('#predictions-table td')
      && model && !model.innerText.includes('Loading');
  }
  function poll() {
    if (done()) { window.__fxRendered = performance.now(); return; }
    requestAnimationFrame(poll);
  }
  document.addEventListener('DOMContentLoaded', poll);
})();
"""

BYTES_JS = """
const entries = [...performance.getEntriesByType('navigation'),
                 ...performance.getEntriesByType('resource')];
return entries.map(e => [e.name, e.transferSize, e.decodedBodySize, e.initiatorType]);
"""


def env_for(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in FX_VARS}
    return env | {"FX_HOME": str(home), "FX_DASH_REFRESH_SECONDS": "0"}


def ensure_history(home: Path) -> None:
    """`fx run` on the full ECB history unless ``home`` already holds predictions."""
    import sqlite3

    warehouse = home / "warehouse.db"
    if warehouse.exists():
        uri = f"file:{warehouse}?mode=ro"
        with (
            contextlib.closing(sqlite3.connect(uri, uri=True)) as conn,
            contextlib.suppress(sqlite3.OperationalError),
        ):
            if conn.execute("SELECT count(*) FROM eur_usd_predictions").fetchone()[0]:
                return
    print(f"building the full-history home at {home} with `fx run` (several minutes) ...")
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "fx_assets.cli.main", "run"], env=env_for(home), check=True, cwd=ROOT
    )
    print(f"built in {time.perf_counter() - started:.0f} s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def dash_server(home: Path) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = subprocess.Popen(
        [sys.executable, "-m", "fx_assets.cli.main", "dash", "--port", str(port)],
        env=env_for(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(OSError):
                if urlopen(url, timeout=2).status == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("fx dash did not come up")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def chromium() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='fx-bench-')}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PROBE})
    return driver


def rendered_ms(driver: Any, timeout: float = 60) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script("return window.__fxRendered")
        if value is not None:
            return float(value)
        time.sleep(0.05)
    raise RuntimeError("the page did not finish rendering")


def page_bytes(driver: Any) -> tuple[int, int, int]:
    entries = driver.execute_script(BYTES_JS)
    return len(entries), sum(e[1] for e in entries), sum(e[2] for e in entries)


def load(driver: Any, url: str) -> tuple[float, tuple[int, int, int]]:
    driver.get(url)
    ms = rendered_ms(driver)
    return ms, page_bytes(driver)


def range_switch_ms(driver: Any, key: str) -> float:
    """Click a range button; milliseconds until the chart shows the new window's traces."""
    driver.execute_script(
        """
        const plot = document.querySelector('#price-chart .js-plotly-plot');
        const shape = () => plot.data.map(t => t.x.length).join(',');
        const before = shape();
        window.__fxRange = null;
        const clicked = performance.now();
        function poll() {
          if (shape() !== before) { window.__fxRange = performance.now() - clicked; return; }
          requestAnimationFrame(poll);
        }
        document.querySelector(`#range input[value='${arguments[0]}']`).click();
        requestAnimationFrame(poll);
        """,
        key,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        took = driver.execute_script("return window.__fxRange")
        if took is not None:
            return float(took)
        time.sleep(0.05)
    raise RuntimeError(f"the {key} range did not draw")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=ROOT / ".fx" / "bench-dashboard")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    home = args.home.resolve()
    ensure_history(home)

    with dash_server(home) as url:
        # One throwaway load lets the server finish its own warm-up (MLflow import).
        warmup = chromium()
        load(warmup, url)
        warmup.quit()

        cold, warm, ranges = [], [], []
        weight = (0, 0, 0)
        for _ in range(args.runs):
            driver = chromium()
            try:
                ms, weight = load(driver, url)
                cold.append(ms)
                ms, _ = load(driver, url)
                warm.append(ms)
                ranges.append(range_switch_ms(driver, "All"))
            finally:
                driver.quit()

    requests, transferred, decoded = weight
    print(f"home: {home}")
    print(f"runs: {args.runs}")
    print(
        f"cold load to fully rendered: median {statistics.median(cold):.0f} ms, "
        f"min {min(cold):.0f} ms (target < 2000 ms)"
    )
    print(
        f"warm reload to fully rendered: median {statistics.median(warm):.0f} ms, "
        f"min {min(warm):.0f} ms"
    )
    print(f"switch to the All range (full history): median {statistics.median(ranges):.0f} ms")
    print(
        f"cold page weight: {requests} requests, {transferred / 1024:.0f} KiB transferred, "
        f"{decoded / 1024:.0f} KiB decoded"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
