"""The read-only warehouse every consumer opens, and the one line a store error becomes."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from fx_assets.core.pairs import Pair
from fx_assets.core.redaction import one_line, redact_url
from fx_assets.core.settings import sqlite_path
from fx_assets.core.warehouse import Warehouse, normalize_url

# What a consumer holds: a warehouse opened by ``open_warehouse`` (consumers never import
# the warehouse module itself; import-linter holds that line).
ReadOnlyWarehouse = Warehouse


def pair_code(pair: str) -> str:
    """``pair`` as the tables spell it (``gbp/usd`` -> ``GBPUSD``); a PairError if it is
    not a pair. Whether the book holds it is the consumer's question (its settings)."""
    return Pair.parse(pair).code


def open_warehouse(url: str) -> Warehouse:
    """The warehouse at ``url``, read-only: SQLite with ``mode=ro``, PostgreSQL in read-only
    transactions, so even a bug in a consumer cannot change a row. One engine per process."""
    return Warehouse.cached(url, read_only=True)


def missing_file(url: str) -> Path | None:
    """The SQLite file ``url`` names when it does not exist yet (nothing to read: opening it
    read-only would fail); None for an existing file or a server."""
    path = sqlite_path(url)
    return path if path is not None and not path.exists() else None


def no_data_message(url: str) -> str | None:
    """What to tell a reader of a warehouse that does not exist yet, or None."""
    path = missing_file(url)
    return None if path is None else f"No data yet: {path} does not exist. Run `fx run` to fill it."


def unreachable_message(exc: BaseException, url: str) -> str:
    """One line for a warehouse that failed to answer: where (redacted) and why, no secret."""
    password = make_url(normalize_url(url)).password
    return f"Warehouse unreachable ({redact_url(url)}): {one_line(exc, secrets=[password])}"
