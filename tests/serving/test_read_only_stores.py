"""The service and the page read with a SELECT-only PostgreSQL role, and never write to MLflow."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import mlflow
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from fx_assets.core.contracts import PREDICTIONS, RAW
from fx_assets.core.ingestion.sources import EcbSource
from fx_assets.core.warehouse import Warehouse
from fx_dash.monitoring import load_monitoring
from fx_dash.reader import load_snapshot
from fx_dash.skill import load_skill
from tests.support.champions import (
    END,
    START,
    fill_warehouse,
    mlflow_db_template,  # noqa: F401  (fixture)
    seed_home,
    uvicorn_process,
)
from tests.support.frames import digest

NOW = datetime(2024, 10, 1, tzinfo=UTC)


@pytest.fixture
def reader_url(postgres_url: str) -> Iterator[str]:
    """A login role with CONNECT, USAGE and SELECT only, on a filled warehouse; its URL."""
    final = fill_warehouse(postgres_url, START, END)
    wh = Warehouse(postgres_url).for_pair("EURUSD")
    wh.replace_all(RAW, EcbSource().fetch(START, END).assign(source="ecb", ingested_at=NOW))
    days = pd.to_datetime(final["date"]).iloc[-31:-1].reset_index(drop=True)
    wh.insert_new(
        PREDICTIONS,
        pd.DataFrame(
            {
                "feature_date": days,
                "target_date": days.shift(-1).fillna(days.iloc[-1] + pd.offsets.BDay(1)),
                "probability_up": 0.6,
                "direction": 1,
                "model_name": "eur_usd_direction",
                "model_version": "1",
                "predicted_at": NOW,
            }
        ),
    )
    wh.warehouse.dispose()
    role = f"fx_reader_{uuid.uuid4().hex[:8]}"
    url = make_url(postgres_url)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE ROLE {role} LOGIN"))
        conn.execute(sa.text(f'GRANT CONNECT ON DATABASE "{url.database}" TO {role}'))
        conn.execute(sa.text(f"GRANT USAGE ON SCHEMA public TO {role}"))
        conn.execute(sa.text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"))
    try:
        yield url.set(username=role, password=None).render_as_string(hide_password=False)
    finally:
        from fx_assets.core.warehouse import _CACHE

        for key in [k for k in _CACHE if role in k[0]]:
            _CACHE.pop(key).dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP OWNED BY {role}"))
            conn.execute(sa.text(f"DROP ROLE {role}"))
        admin.dispose()


@pytest.mark.postgres
def test_the_service_and_the_page_read_with_a_select_only_role(
    reader_url: str,
    fx_home: Path,
    mlflow_db_template: Path,  # noqa: F811
) -> None:
    # The role really cannot write: a consumer that tried would fail, not succeed quietly.
    engine = sa.create_engine(make_url(reader_url).set(drivername="postgresql+psycopg"))
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), engine.begin() as c:
        c.execute(sa.text("DELETE FROM eur_usd_predictions"))
    engine.dispose()

    seed_home(fx_home, mlflow_db_template)
    with (
        uvicorn_process(fx_home, {"FX_WAREHOUSE_URL": reader_url}) as service,
        httpx.Client(base_url=service, timeout=30) as http,
    ):
        latest = http.get("/forecast/latest")
        assert latest.status_code == 200, latest.text
        assert latest.json()["data_as_of"] == f"{END:%Y-%m-%d}"
        history = http.get("/predictions").json()
        assert len(history) == 30 and all(r["actual"] is not None for r in history)
        assert http.get("/monitoring").json() == {"pair": "EURUSD", "drift": [], "performance": []}
        assert http.get("/backtest").status_code == 404  # no backtest yet, not a 503

    snapshot = load_snapshot(reader_url, "All")
    assert snapshot.message is None and len(snapshot.predictions) == 30
    assert len(snapshot.prices) > 300 and snapshot.rejected is not None
    assert load_monitoring(reader_url).message is None
    assert load_skill(reader_url, cost_pips=0.5).summary is None


def _experiments(uri: str) -> list[str]:
    client = mlflow.MlflowClient(tracking_uri=uri)
    return sorted(e.name for e in client.search_experiments())


def test_the_service_creates_no_experiment_and_no_store(
    fx_home: Path,
    mlflow_db_template: Path,  # noqa: F811
) -> None:
    # No store at all: the service says there is no champion, and creates none.
    with uvicorn_process(fx_home) as service:
        ready = httpx.get(f"{service}/ready", timeout=30)
    assert ready.status_code == 503 and "no champion" in ready.json()["detail"]
    assert not (fx_home / "mlflow.db").exists()

    # An empty store: read, never written (no experiment, no change to the file).
    seed_home(fx_home, mlflow_db_template)
    store = fx_home / "mlflow.db"
    uri = f"sqlite:///{store}"
    before, names = digest(store), _experiments(uri)
    with uvicorn_process(fx_home) as service:
        ready = httpx.get(f"{service}/ready", timeout=30)
        assert httpx.get(f"{service}/model", timeout=30).status_code == 503
    assert ready.status_code == 503 and "no champion" in ready.json()["detail"]
    assert _experiments(uri) == names == ["Default"]
    assert digest(store) == before
