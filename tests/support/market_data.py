"""Builders for realistic provider data (not a test module).

``provider_series()`` makes what a real Twelve Data export of daily EUR/USD looks like:
about 5,000 weekday bars with open/high/low/close, no bar on 25 December and 1 January,
weekend-dated bars (Saturday timestamps with a tiny range) since late 2025, one bad tick
in 2008 (one bar about 17 % above both neighbours, back the next day) and a hole of 12
trading days. Seeded: every call gives the same bars.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

END = date(2026, 11, 27)
N_WEEKDAY_BARS = 5000
BAD_TICK = date(2008, 3, 12)
BAD_TICK_FACTOR = 1.17
HOLE = (date(2015, 6, 8), date(2015, 6, 23))  # 12 weekdays, Monday to Tuesday
WEEKEND_FROM = date(2025, 11, 1)


@dataclass(frozen=True)
class ProviderSeries:
    bars: pd.DataFrame  # date, open, high, low, close; oldest first
    weekend_dates: list[date]
    bad_tick: date
    hole: tuple[date, date]

    @property
    def quarantine_expected(self) -> dict[date, str]:
        return {**{d: "weekend" for d in self.weekend_dates}, self.bad_tick: "isolated_spike"}


def _weekdays() -> pd.DatetimeIndex:
    # Enough weekdays back from END that N_WEEKDAY_BARS remain after holidays and the hole.
    days = pd.bdate_range(end=END, periods=N_WEEKDAY_BARS + 200)
    closed = (days.month == 12) & (days.day == 25) | (days.month == 1) & (days.day == 1)
    hole = (days >= pd.Timestamp(HOLE[0])) & (days <= pd.Timestamp(HOLE[1]))
    return days[~closed & ~hole][-N_WEEKDAY_BARS:]


def _ohlc(rng: np.random.Generator, close: np.ndarray, range_scale: np.ndarray) -> pd.DataFrame:
    prev = np.concatenate([[close[0]], close[:-1]])
    opens = prev * np.exp(rng.normal(0, 0.0004, len(close)))
    top, bottom = np.maximum(opens, close), np.minimum(opens, close)
    high = top * (1 + np.abs(rng.normal(0, 1, len(close))) * range_scale)
    low = bottom * (1 - np.abs(rng.normal(0, 1, len(close))) * range_scale)
    return pd.DataFrame({"open": opens, "high": high, "low": low, "close": close})


def provider_series(seed: int = 20260101) -> ProviderSeries:
    rng = np.random.default_rng(seed)
    days = _weekdays()
    # Calm years at ~0.55 % a day, the 2008-09 crisis at ~1.1 %.
    crisis = (days >= pd.Timestamp("2008-09-01")) & (days <= pd.Timestamp("2009-06-30"))
    vol = np.where(crisis, 0.011, 0.0055)
    # A weak pull towards 1.20 keeps two decades of random walk in EUR/USD's real range.
    shocks = rng.normal(0, vol)
    level = np.empty(len(days))
    x = np.log(1.30)
    for i, shock in enumerate(shocks):
        x += shock - 0.003 * (x - np.log(1.20))
        level[i] = x
    close = np.exp(level)
    weekday_bars = _ohlc(rng, close, vol * 0.5).assign(date=days)

    tick = weekday_bars["date"] == pd.Timestamp(BAD_TICK)
    assert tick.sum() == 1, "the bad tick's date must be a bar"
    for col in ("open", "high", "low", "close"):
        weekday_bars.loc[tick, col] *= BAD_TICK_FACTOR

    saturdays = pd.date_range(WEEKEND_FROM, END, freq="W-SAT")
    friday_close = weekday_bars.set_index("date")["close"]
    sat_rows = []
    for sat in saturdays:
        base = float(friday_close.asof(sat))
        sat_rows.append(
            {
                "date": sat,
                "open": base,
                "high": base * 1.00008,
                "low": base * 0.99994,
                "close": base * 1.00002,
            }
        )
    bars = pd.concat([weekday_bars, pd.DataFrame(sat_rows)], ignore_index=True)
    bars = bars.sort_values("date").reset_index(drop=True)[["date", "open", "high", "low", "close"]]
    bars[["open", "high", "low", "close"]] = bars[["open", "high", "low", "close"]].round(5)
    return ProviderSeries(
        bars=bars,
        weekend_dates=[d.date() for d in saturdays],
        bad_tick=BAD_TICK,
        hole=HOLE,
    )


def write_provider_csv(series: ProviderSeries, path: Path) -> Path:
    """The export as a Twelve Data CSV download has it: datetime, open, high, low, close."""
    out = series.bars.assign(datetime=series.bars["date"].dt.strftime("%Y-%m-%d"))
    out[["datetime", "open", "high", "low", "close"]].to_csv(path, index=False)
    return path


def twelvedata_values(bars: pd.DataFrame) -> list[dict[str, str]]:
    """Bars in the /time_series answer's shape: string prices, newest first."""
    ordered = bars.sort_values("date", ascending=False)
    return [
        {
            "datetime": f"{row.date:%Y-%m-%d}",
            **{col: f"{getattr(row, col):.5f}" for col in ("open", "high", "low", "close")},
        }
        for row in ordered.itertuples(index=False)
    ]


def twelvedata_body(bars: pd.DataFrame) -> str:
    meta = {"symbol": "EUR/USD", "interval": "1day", "type": "Physical Currency"}
    return json.dumps({"meta": meta, "values": twelvedata_values(bars), "status": "ok"})


def ecb_zip(extra: dict[date, float] | None = None, *, drop_after: date | None = None) -> bytes:
    """The bundled ECB zip, with fixings added on top (the file is newest first) or the
    newest ones dropped: what the ECB publishes on a later or an earlier day."""
    import io
    import zipfile

    from fx_assets.core.ingestion.sources import EcbSource

    with zipfile.ZipFile(EcbSource.data_file()) as zf:
        text = zf.read("eurofxref-hist.csv").decode()
    header, *rows = text.splitlines()
    if drop_after is not None:
        rows = [r for r in rows if r.split(",", 1)[0] <= drop_after.isoformat()]
    n_cols = header.rstrip(",").count(",")
    added = [
        f"{day.isoformat()},{usd}," + ",".join(["N/A"] * (n_cols - 1)) + ","
        for day, usd in sorted((extra or {}).items(), reverse=True)
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        # A fixed timestamp: the same fixings give the same bytes, call after call.
        member = zipfile.ZipInfo("eurofxref-hist.csv", date_time=(2026, 11, 30, 16, 0, 0))
        member.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(member, "\n".join([header, *added, *rows]) + "\n")
    return buffer.getvalue()


NO_DATA = {
    "code": 400,
    "message": "No data is available on the specified dates. "
    "Try setting different start/end dates.",
    "status": "error",
}


def twelvedata_replay(bars: pd.DataFrame, api_key: str | None = None):  # type: ignore[no-untyped-def]
    """A pytest-httpserver handler standing in for /time_series: the given bars (weekend
    ones included) in [start_date, end_date), newest first, as the provider answers."""
    from werkzeug import Request, Response

    def handle(request: Request) -> Response:
        if api_key is not None and request.headers.get("Authorization") != f"apikey {api_key}":
            body = {"code": 401, "message": "**apikey** parameter is incorrect", "status": "error"}
            return Response(json.dumps(body), status=401, content_type="application/json")
        lo = pd.Timestamp(request.args["start_date"])
        hi = pd.Timestamp(request.args["end_date"])
        window = bars[(bars["date"] >= lo) & (bars["date"] < hi)]
        if window.empty:
            return Response(json.dumps(NO_DATA), content_type="application/json")
        return Response(twelvedata_body(window), content_type="application/json")

    return handle
