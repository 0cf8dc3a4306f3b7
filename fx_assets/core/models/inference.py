"""Next-day predictions: which feature dates to score, how, and the rows to store.

Dagster-free. Scoring goes through the champion loaded in process by default, or
through the model service (``FX_MODEL_SERVICE_URL``) over HTTP; both return the same
probabilities for the same rows and the same model version.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd

from fx_assets.core.calendar import next_weekday
from fx_assets.core.domain import FEATURES, THRESHOLD
from fx_assets.core.models.champion import Champion, ChampionError, NoChampionError
from fx_assets.core.models.ranges import Ranges, out_of_range_rows, to_column
from fx_assets.core.pairs import DEFAULT_PAIR, Pair

# Rows per request to the model service; the service accepts up to MAX_BATCH.
MAX_BATCH = 512


class ServiceUnavailableError(RuntimeError):
    """The model service did not answer; worth a retry, unlike a ChampionError."""


@dataclass(frozen=True)
class ModelInfo:
    """What the stored predictions and the leakage rule need to know of the scoring model."""

    name: str
    version: str
    features: tuple[str, ...]
    training_cutoff: date
    ranges: Ranges | None = None  # its features' training ranges: the out-of-range guard


class Scorer(Protocol):
    def model(self) -> ModelInfo: ...

    def probability_up(self, x: np.ndarray) -> np.ndarray:
        """Probabilities for rows whose columns are ``model().features``."""
        ...

    def close(self) -> None: ...


class InProcessScorer:
    """The champion loaded into this process."""

    def __init__(self, champion: Champion) -> None:
        self.champion = champion

    def model(self) -> ModelInfo:
        c = self.champion
        return ModelInfo(c.name, c.version, c.features, c.training_cutoff, c.ranges)

    def probability_up(self, x: np.ndarray) -> np.ndarray:
        return self.champion.probability_up(x)

    def close(self) -> None:
        """Nothing to release: the champion stays loaded for the process."""


class ServiceScorer:
    """``pair``'s champion behind the model service's ``/model?pair=`` and ``/predict``
    (``pair`` in the body)."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        timeout: float = 30.0,
        pair: str = DEFAULT_PAIR,
    ) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.pair = Pair.parse(pair)
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)
        self._model: ModelInfo | None = None

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ServiceUnavailableError(
                f"model service at {self.base_url} unreachable ({type(exc).__name__}); "
                "check FX_MODEL_SERVICE_URL and that `fx api` is running"
            ) from None
        if response.status_code == 503:
            raise NoChampionError(
                f"model service at {self.base_url} ({self.pair.code}): {_detail(response)}"
            )
        if response.status_code >= 400:
            raise ChampionError(
                f"model service at {self.base_url} answered {response.status_code} "
                f"to {response.request.url.path} for {self.pair.code}: {_detail(response)}"
            )
        return response.json()

    def model(self) -> ModelInfo:
        if self._model is None:
            body = self._call("GET", "/model", params={"pair": self.pair.code})
            if body["name"] != self.pair.model_name:
                # A service that ignored the pair would score another pair's model.
                raise ChampionError(
                    f"model service at {self.base_url} answered {body['name']} for "
                    f"{self.pair.code}, not {self.pair.model_name}; upgrade the service"
                )
            spans = body.get("feature_ranges")
            self._model = ModelInfo(
                name=body["name"],
                version=str(body["version"]),
                # /predict takes every feature by name and picks the champion's own.
                features=tuple(FEATURES),
                training_cutoff=date.fromisoformat(body["training_cutoff"]),
                ranges=Ranges.from_tag(json.dumps(spans), FEATURES) if spans else None,
            )
        return self._model

    def probability_up(self, x: np.ndarray) -> np.ndarray:
        info = self.model()
        out: list[float] = []
        for lo in range(0, len(x), MAX_BATCH):
            rows = [
                dict(zip(info.features, map(float, r), strict=True)) for r in x[lo : lo + MAX_BATCH]
            ]
            body = self._call("POST", "/predict", json={"pair": self.pair.code, "rows": rows})
            if str(body["model_version"]) != info.version:
                # The service swapped champions mid-run: one run, one model version.
                raise ChampionError(
                    f"model service switched {self.pair.code} from version {info.version} to "
                    f"{body['model_version']} during scoring; rerun predictions"
                )
            out.extend(p["probability_up"] for p in body["predictions"])
        return np.asarray(out, dtype=float)

    def close(self) -> None:
        self.http.close()


def _detail(response: Any) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        return response.text[:200]
    return detail if isinstance(detail, str) else str(detail)[:200]


def dates_to_predict(
    final: pd.DataFrame, stored: Iterable[date], training_cutoff: date
) -> pd.DataFrame:
    """Rows of ``final`` after the training cutoff that have no stored prediction.

    That is the newest row (tomorrow's forecast) and any earlier date missed so far;
    a date at or before the cutoff was seen in training and is never scored.
    """
    stored_ts = {pd.Timestamp(d) for d in stored}
    dates = pd.to_datetime(final["date"])
    keep = (dates > pd.Timestamp(training_cutoff)) & ~dates.isin(stored_ts)
    return final.loc[keep].reset_index(drop=True)


def build_predictions(
    rows: pd.DataFrame,
    probability_up: np.ndarray,
    model: ModelInfo,
    predicted_at: datetime | None = None,
) -> pd.DataFrame:
    """The ``fx_predictions`` rows for scored feature rows, each with the features
    outside the model's training ranges."""
    feature_dates = pd.to_datetime(rows["date"]).reset_index(drop=True)
    p = np.asarray(probability_up, dtype=float)
    flags: list[dict[str, Any]] = [{} for _ in range(len(rows))]
    if model.ranges is not None:
        flags = out_of_range_rows(rows[list(model.features)].to_numpy(dtype=float), model.ranges)
    return pd.DataFrame(
        {
            "feature_date": feature_dates,
            "target_date": pd.to_datetime([next_weekday(d.date()) for d in feature_dates]),
            "probability_up": p,
            "direction": (p >= THRESHOLD).astype(int),
            "model_name": model.name,
            "model_version": model.version,
            "predicted_at": pd.Timestamp(predicted_at or datetime.now(UTC)),
            "out_of_range": [to_column(f) for f in flags],
        }
    )


def predict(final: pd.DataFrame, stored: Iterable[date], scorer: Scorer) -> pd.DataFrame:
    """Score every feature date that needs a prediction; empty when none does."""
    info = scorer.model()
    rows = dates_to_predict(final, stored, info.training_cutoff)
    x = rows[list(info.features)].to_numpy(dtype=float)
    p = scorer.probability_up(x) if len(rows) else np.empty(0)
    return build_predictions(rows, p, info)
