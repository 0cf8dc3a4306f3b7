"""Serve one champion two ways and time single-row scoring: fx_serving vs `mlflow models serve`.

Both servers run on loopback with the same registered champion and get the same
single-row requests over keep-alive connections, from client processes of their own:
latency p50/p99 at concurrency 1 (a raw-socket Python client, a fixed number of
requests) and throughput at concurrency 16 (wrk for a fixed time when it is installed,
else the Python client). It also reports each server's resident memory.

    python bench/serving.py                      # fresh home, an XGBoost champion
    python bench/serving.py --model logistic     # or random_forest
    python bench/serving.py --home .fx           # the champion `fx run` promoted

Without --home the champion is trained on ECB features (2015 to the package's last
date) and registered following the training contract (mlflow.sklearn, FEATURES
signature, version tags, alias champion) in a temporary FX_HOME.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


# --- the client (runs in its own process) ---------------------------------------------


def _read_response(sock: socket.socket, buf: bytearray) -> int:
    """Read one HTTP/1.1 response with Content-Length from ``sock``; its status code."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = bytearray(rest)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        body += chunk
    buf[:] = body[length:]
    return status


def drive(port: int, path: str, body: bytes, requests: int, concurrency: int) -> dict[str, float]:
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    share = [requests // concurrency + (i < requests % concurrency) for i in range(concurrency)]
    start = threading.Barrier(concurrency + 1)

    def worker(count: int) -> None:
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = bytearray()
        mine: list[float] = []
        bad = 0
        start.wait()
        for _ in range(count):
            t0 = time.perf_counter()
            sock.sendall(request)
            status = _read_response(sock, buf)
            mine.append(time.perf_counter() - t0)
            bad += status != 200
        sock.close()
        with lock:
            latencies.extend(mine)
            errors.append(bad)

    threads = [threading.Thread(target=worker, args=(n,)) for n in share]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "errors": sum(errors),
        "seconds": wall,
        "rps": len(ordered) / wall,
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
    }


def client_main(spec: str) -> None:
    args = json.loads(spec)
    body = args["body"].encode()
    drive(args["port"], args["path"], body, args["warmup"], 1)
    out = {"c1": drive(args["port"], args["path"], body, args["requests_c1"], 1)}
    if args["requests_c16"]:
        out["c16"] = drive(args["port"], args["path"], body, args["requests_c16"], 16)
    print(json.dumps(out))


# Throughput only: wrk's latency percentiles are corrected for coordinated omission (one
# 100 ms stall adds a hundred synthetic samples at c=1), so latency comes from the
# Python client. wrk runs for a fixed time (-d), not a request count.
WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = os.getenv("FX_BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %f, "p50_ms": %f, "p99_ms": %f, "errors": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, e.status + e.connect + e.read + e.write + e.timeout))
end
"""


def drive_wrk(
    port: int, path: str, body: str, seconds: float, concurrency: int, script: Path
) -> dict[str, float]:
    threads = min(2, concurrency)
    env = dict(os.environ, FX_BENCH_BODY=body)
    command = ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{seconds:g}s", "--timeout", "10s"]
    command += ["-s", str(script), f"http://127.0.0.1:{port}{path}"]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["rps"] = result["requests"] / result["seconds"]
    return result


# --- servers and the champion ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children, in MiB."""
    total = 0
    pids = [pid]
    while pids:
        p = pids.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except FileNotFoundError:
            continue
        total += next(int(line.split()[1]) for line in status.splitlines() if "VmRSS" in line)
        pids += [int(c) for c in children]
    return total / 1024


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 180) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited ({proc.returncode}): {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    sys.exit(f"no answer from {url} within {timeout:.0f} s: {log.read_text()[-2000:]}")


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        # Own process group: mlflow starts its server as a child; both stop together.
        return subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def make_champion(family: str, name: str | None = None) -> str:
    """Train ``family`` on ECB features, register it by the training contract (as ``name``,
    a pair's registered model; default EUR/USD's), crown it."""
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    from fx_assets.core.domain import FEATURES, TARGET
    from fx_assets.core.features import build_features, build_final
    from fx_assets.core.ingestion.sources import EcbSource
    from fx_assets.core.models import registry
    from fx_assets.core.models.loader import TRUSTED_TYPES, record_artifact_hash
    from fx_assets.core.models.ranges import TAG_FEATURE_RANGES, Ranges

    final = build_final(build_features(EcbSource().fetch(date(2015, 1, 1), date(2100, 1, 1))))
    known = final[final[TARGET].notna()]
    x, y = known[FEATURES].astype(float), known[TARGET].astype(int)
    if family == "xgboost":
        from xgboost import XGBClassifier

        model: Any = XGBClassifier(n_estimators=200, max_depth=4, learning_rate=0.05)
    elif family == "random_forest":
        from fx_assets.core.training.modeling import DEFAULT_PARAMS, make_estimator

        # The forest family as training builds it (XGBoost's random-forest mode).
        model = make_estimator(family, DEFAULT_PARAMS[family])
    else:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(x, y)
    name = name or registry.MODEL_NAME
    registry.configure_mlflow()
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(x.head(50), model.predict_proba(x.head(50))),
            registered_model_name=name,
            pyfunc_predict_fn="predict_proba",
            pip_requirements=["scikit-learn", "xgboost-cpu"],
            # As training does: trees and boosters are the only non-sklearn types to trust.
            skops_trusted_types=list(TRUSTED_TYPES),
        )
    version = str(info.registered_model_version)
    client = registry.client()
    record_artifact_hash(client, version, name)  # the loader refuses a version without it
    tags = {
        registry.TAG_LIFECYCLE: "champion",
        registry.TAG_FEATURES: ",".join(FEATURES),
        registry.TAG_TRAINING_CUTOFF: str(known["date"].max().date()),
        # The out-of-range guard is on, as training registers every version.
        TAG_FEATURE_RANGES: Ranges.of(known, FEATURES).to_tag(),
    }
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    client.set_registered_model_alias(name, registry.CHAMPION, version)
    return version


def run_client(spec: dict[str, Any], client: str, workdir: Path) -> dict[str, Any]:
    """Latency at c=1 from the Python client, throughput at c=16 from ``client``; each in a
    process of its own, so a client never shares a GIL with a server."""
    if client == "wrk":
        spec = spec | {"requests_c16": 0}
    out = subprocess.run(
        [sys.executable, __file__, "--drive", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout)
    if client == "wrk":
        script = workdir / "bench.lua"
        script.write_text(WRK_SCRIPT)
        result["c16"] = drive_wrk(
            spec["port"], spec["path"], spec["body"], spec["seconds"], 16, script
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="an FX_HOME that already has a champion")
    parser.add_argument(
        "--model", default="xgboost", choices=["xgboost", "random_forest", "logistic"]
    )
    parser.add_argument(
        "--pairs",
        type=int,
        default=7,
        help="champions the service holds (the first N of the seven majors); requests go to"
        " the last one's",
    )
    parser.add_argument("--requests-c1", type=int, default=3000)
    parser.add_argument("--requests-c16", type=int, default=5000, help="python client only")
    parser.add_argument("--mlflow-requests-c1", type=int, default=500)
    parser.add_argument("--mlflow-requests-c16", type=int, default=800, help="python client only")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10, help="wrk's run at c=16")
    parser.add_argument(
        "--client",
        choices=["wrk", "python"],
        default="wrk" if shutil.which("wrk") else "python",
        help="load generator at c=16: wrk (apt-get install wrk) or the Python client",
    )
    parser.add_argument("--drive", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        client_main(args.drive)
        return

    home = args.home.resolve() if args.home else Path(tempfile.mkdtemp(prefix="fx-bench-"))
    os.environ["FX_HOME"] = str(home)
    for var in ("FX_WAREHOUSE_URL", "MLFLOW_TRACKING_URI", "FX_API_TOKEN"):
        os.environ.pop(var, None)
    sys.path.insert(0, str(ROOT))
    from fx_assets.core.pairs import DEFAULT_BOOK, model_name

    book = DEFAULT_BOOK[: max(1, args.pairs)]
    os.environ["FX_PAIRS"] = ",".join(book)
    from fx_assets.core.domain import FEATURES
    from fx_assets.core.ingestion.sources import EcbSource
    from fx_assets.core.models.champion import load_champion
    from fx_assets.core.settings import load_settings

    if not args.home:
        print(f"training {len(book)} {args.model} champion(s) in {home} ...", flush=True)
        for pair in book:
            make_champion(args.model, model_name(pair))
    champion = load_champion(name=model_name(book[-1]))
    print(
        f"champion: {champion.name} v{champion.version} "
        f"({type(champion.estimator).__name__}, {len(champion.features)} features, "
        f"fast path: {'yes' if champion.fast else 'no'})"
    )
    features = list(champion.features)
    bars = EcbSource().fetch(date(2024, 1, 1), date(2100, 1, 1))
    from fx_assets.core.features import build_features, build_final

    last = build_final(build_features(bars)).iloc[-1]
    row = {f: float(last[f]) for f in FEATURES}
    # The book's last pair: the request goes through the service's pair routing.
    ours_body = json.dumps({"pair": book[-1], "rows": [row]})
    mlflow_body = json.dumps(
        {"dataframe_split": {"columns": features, "data": [[row[f] for f in features]]}}
    )

    env = dict(os.environ)
    env["MLFLOW_TRACKING_URI"] = load_settings().mlflow_tracking_uri
    env.setdefault("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    env["PYTHONPATH"] = str(ROOT)
    # A loopback benchmark, like `mlflow models serve` beside it: no token on either side.
    env["FX_API_ANONYMOUS"] = "true"
    # mlflow starts `uvicorn` by name: the one of this interpreter's environment.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    ours_port, mlflow_port = free_port(), free_port()
    ours = start(
        [sys.executable, "-m", "fx_assets.cli.main", "api", "--port", str(ours_port)],
        env,
        home / "bench-fx-api.log",
    )
    theirs = start(
        [
            sys.executable, "-m", "mlflow", "models", "serve",
            "-m", f"models:/{champion.name}@champion",
            "--env-manager", "local", "-h", "127.0.0.1", "-p", str(mlflow_port),
        ],
        env,
        home / "bench-mlflow.log",
    )  # fmt: skip
    try:
        wait_http(f"http://127.0.0.1:{ours_port}/ready", ours, home / "bench-fx-api.log")
        wait_http(f"http://127.0.0.1:{mlflow_port}/ping", theirs, home / "bench-mlflow.log")
        import httpx

        json_type = {"Content-Type": "application/json"}
        a = httpx.post(
            f"http://127.0.0.1:{ours_port}/predict", content=ours_body, headers=json_type
        ).json()
        b = httpx.post(
            f"http://127.0.0.1:{mlflow_port}/invocations", content=mlflow_body, headers=json_type
        ).json()
        p_ours = a["predictions"][0]["probability_up"]
        p_mlflow = b["predictions"][0]
        p_mlflow = p_mlflow[champion.positive_column] if isinstance(p_mlflow, list) else p_mlflow
        print(f"same row, P(up): fx_serving {p_ours:.6f}  mlflow {float(p_mlflow):.6f}")

        results: dict[str, dict[str, Any]] = {}
        for name, port, path, body, n1, n16 in (
            ("fx_serving", ours_port, "/predict", ours_body, args.requests_c1, args.requests_c16),
            (
                "mlflow models serve",
                mlflow_port,
                "/invocations",
                mlflow_body,
                args.mlflow_requests_c1,
                args.mlflow_requests_c16,
            ),
        ):
            print(f"driving {name} ...", flush=True)
            spec = {"port": port, "path": path, "body": body, "warmup": args.warmup}
            spec["seconds"] = args.seconds
            spec |= {"requests_c1": n1, "requests_c16": n16}
            results[name] = run_client(spec, args.client, home)
        results["fx_serving"]["rss_mb"] = rss_mb(ours.pid)
        results["mlflow models serve"]["rss_mb"] = rss_mb(theirs.pid)
    finally:
        stop(ours)
        stop(theirs)

    print(f"\nclient: {args.client}; load average at the end: {os.getloadavg()[0]:.2f}")
    print(
        f"{'server':<22}{'p50 c=1':>10}{'p99 c=1':>10}{'req/s c=16':>12}{'p99 c=16':>10}{'RSS':>9}"
    )
    for name, r in results.items():
        print(
            f"{name:<22}{r['c1']['p50_ms']:>9.2f}ms{r['c1']['p99_ms']:>9.2f}ms"
            f"{r['c16']['rps']:>11.0f}{r['c16']['p99_ms']:>9.1f}ms{r['rss_mb']:>8.0f}MiB"
        )
        errors = r["c1"]["errors"] + r["c16"]["errors"]
        if errors:
            print(f"  {name}: {errors} non-200 responses")
    ours_r, theirs_r = results["fx_serving"], results["mlflow models serve"]
    ratio = ours_r["c16"]["rps"] / theirs_r["c16"]["rps"]
    print(
        f"\nthroughput ratio at c=16: {ratio:.1f}x (target >= 20x, guard and metrics on); "
        f"p99 at c=1: {ours_r['c1']['p99_ms']:.2f} ms (target <= 2 ms)"
    )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
