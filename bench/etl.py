"""Time the ETL: a full-history ECB backfill through eur_usd_final, and a one-day update.

Runs on SQLite and, when FX_BENCH_POSTGRES_URL (or FX_TEST_POSTGRES_URL) names a server,
on a fresh PostgreSQL database. Each run uses a fresh FX_HOME and a persistent SQLite
Dagster instance, as `fx run` does. The row rules (quarantine, spikes, the share guard)
are on in every load; their own cost is also timed alone on the whole ECB history. The
``ecb-live`` backend loads through the live ECB source from a local HTTP server serving
the ECB's zip: first a download, then a 304 (cache reused).

    python bench/etl.py [--start 1999-01-04] [--backends sqlite,postgres,ecb-live]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from fx_assets.core.contracts import FINAL, RAW


def _prepare(home: Path, warehouse_url: str) -> None:
    os.environ["FX_HOME"] = str(home)
    os.environ["FX_WAREHOUSE_URL"] = warehouse_url
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(dagster_home)


def bench_backend(name: str, warehouse_url: str, start: str) -> dict[str, float]:
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    from fx_assets.cli.run import etl_range, execute
    from fx_assets.core.warehouse import Warehouse
    from fx_assets.defs.ingestion.partitions import partition_key_for

    # Importing dagster, mlflow, xgboost and the definitions is paid once per process (the
    # second backend finds them loaded): timed apart, and added for the cold figure.
    t0 = time.perf_counter()
    from fx_assets.cli.run import definitions

    definitions()  # loading the defs folder imports every asset module and its libraries
    imports = time.perf_counter() - t0
    first, last = etl_range()
    t0 = time.perf_counter()
    execute(
        "etl_job",
        tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last},
    )
    full = time.perf_counter() - t0
    wh = Warehouse(warehouse_url)
    rows = {t.name: wh.count(t) for t in (RAW, FINAL)}
    newest = wh.date_range(RAW)[1]

    # The daily scheduled run: the newest trading day's partition (its year), then downstream.
    t0 = time.perf_counter()
    execute("etl_job", tags={"dagster/partition": partition_key_for(newest)})
    one_day = time.perf_counter() - t0
    print(
        f"{name:<9} full history {start}..{newest} (partitions {first}..{last}): {full:6.1f} s "
        f"(+ {imports:.1f} s imports) "
        f"({rows['eur_usd_raw']} raw rows, {rows['eur_usd_final']} final rows); "
        f"daily update ({partition_key_for(newest)}): {one_day:5.2f} s"
    )
    return {"full": full, "imports": imports, "one_day": one_day}


def bench_rules() -> None:
    """The row rules alone on the whole ECB history: the part of the load they add."""
    from fx_assets.core.ingestion.expectations import evaluate
    from fx_assets.core.ingestion.sources import EcbSource

    history = EcbSource.history()
    evaluate(history)  # warm
    t0 = time.perf_counter()
    for _ in range(10):
        report = evaluate(history)
    each = (time.perf_counter() - t0) / 10
    print(
        f"rules     {len(history)} ECB bars: {each * 1000:.0f} ms per evaluation, "
        f"{len(report.rejected)} quarantined"
    )


class _EcbHandler(BaseHTTPRequestHandler):
    body = b""
    etag = '"bench"'

    def do_GET(self) -> None:
        if self.headers.get("If-None-Match") == self.etag:
            self.send_response(304)
            self.send_header("ETag", self.etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("ETag", self.etag)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


def bench_ecb_live(start: str) -> None:
    from fx_assets.core.ingestion.sources import EcbSource

    _EcbHandler.body = EcbSource.data_file().read_bytes()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EcbHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        tmp = Path(tempfile.mkdtemp(prefix="fx-bench-ecb-live-"))
        _prepare(tmp, f"sqlite:///{tmp / 'warehouse.db'}")
        os.environ["FX_SOURCE"] = "ecb-live"
        os.environ["FX_ECB_URL"] = f"http://127.0.0.1:{server.server_port}/eurofxref-hist.zip"
        bench_backend("ecb-live", os.environ["FX_WAREHOUSE_URL"], start)
    finally:
        server.shutdown()
        os.environ.pop("FX_SOURCE", None)
        os.environ.pop("FX_ECB_URL", None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--start", default="1999-01-04")
    parser.add_argument("--backends", default="sqlite,postgres,ecb-live")
    args = parser.parse_args()
    os.environ["FX_START_DATE"] = args.start
    bench_rules()
    for backend in args.backends.split(","):
        tmp = Path(tempfile.mkdtemp(prefix=f"fx-bench-{backend}-"))
        if backend == "ecb-live":
            bench_ecb_live(args.start)
            continue
        if backend == "sqlite":
            _prepare(tmp, f"sqlite:///{tmp / 'warehouse.db'}")
            bench_backend("sqlite", os.environ["FX_WAREHOUSE_URL"], args.start)
            continue
        server = os.environ.get("FX_BENCH_POSTGRES_URL") or os.environ.get("FX_TEST_POSTGRES_URL")
        if not server:
            print("postgres  skipped: set FX_BENCH_POSTGRES_URL")
            continue
        import sqlalchemy as sa
        from sqlalchemy.engine import make_url

        admin_url = make_url(server).set(drivername="postgresql+psycopg")
        db = f"fx_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
        try:
            url = admin_url.set(database=db).render_as_string(hide_password=False)
            _prepare(tmp, url)
            bench_backend("postgres", url, args.start)
        finally:
            from fx_assets.core.warehouse import _CACHE

            for wh in _CACHE.values():
                wh.dispose()
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
