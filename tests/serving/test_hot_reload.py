"""Champion hot reload in a real uvicorn process: a new champion, and no failed request."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import numpy as np

from fx_assets.core.domain import FEATURES
from fx_assets.core.models.champion import load_champion
from tests.support.champions import (
    CUTOFF,
    build_world,
    mlflow_db_template,  # noqa: F401  (fixture)
    register_champion,
    use_home,
    uvicorn_process,
)


def test_hot_reload_serves_a_new_champion_without_failing_a_request(
    tmp_path: Path,
    mlflow_db_template: Path,  # noqa: F811
) -> None:
    home = tmp_path / "fxhome"
    interval = 1.0
    with use_home(home):
        world = build_world(home, mlflow_db_template, predictions=False)
        rows = [{f: float(world.final[f].iloc[i]) for f in FEATURES} for i in range(-5, 0)]
        seen: list[tuple[int, str, tuple[float, ...]]] = []
        stop = threading.Event()

        with uvicorn_process(home, {"FX_CHAMPION_RELOAD_SECONDS": str(interval)}) as url:

            def hammer() -> None:
                with httpx.Client(base_url=url, timeout=10) as http:
                    while not stop.is_set():
                        r = http.post("/predict", json={"rows": rows})
                        body = r.json() if r.status_code == 200 else {}
                        probs = tuple(p["probability_up"] for p in body.get("predictions", []))
                        seen.append((r.status_code, body.get("model_version", ""), probs))

            worker = threading.Thread(target=hammer)
            worker.start()
            try:
                new = register_champion(world.final, CUTOFF, c=0.001)
                promoted = time.monotonic()
                while time.monotonic() - promoted < interval + 30:
                    if seen and seen[-1][1] == new:
                        break
                    time.sleep(0.05)
                switched_after = time.monotonic() - promoted
                time.sleep(0.3)
            finally:
                stop.set()
                worker.join()
        new_champion = load_champion()

    assert new != world.version
    assert [s for s in seen if s[0] != 200] == []
    versions = [v for _, v, _ in seen]
    assert versions[0] == world.version and versions[-1] == new
    # One swap: never back to the old version once the new one answered.
    assert versions.index(new) == len(versions) - versions[::-1].index(world.version)
    # Loading takes a moment on a busy machine; the check itself runs every `interval`.
    assert switched_after < interval + 10
    x = np.array([[r[f] for f in FEATURES] for r in rows])
    expected = tuple(new_champion.probability_up(x).tolist())
    assert all(np.allclose(p, expected, atol=1e-12) for _, v, p in seen if v == new)
    assert all(not np.allclose(p, expected, atol=1e-6) for _, v, p in seen if v != new)
