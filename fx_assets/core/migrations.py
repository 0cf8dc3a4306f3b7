"""What a writing warehouse does on open to a schema an earlier release left.

Two changes, both in place and idempotent:
- a table's contract gained a nullable column: it is added (empty on the old rows), the
  one schema change a release may make without a migration step;
- the seed's one-pair tables (``eur_usd_raw`` and the rest) became the book's ``fx_*``
  tables keyed by pair: their rows move in as the first pair's, and the old name becomes
  a read-only view of that pair's rows with the seed's columns.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from fx_assets.core.contracts import CONTRACTS, metadata
from fx_assets.core.contracts.base import PAIR
from fx_assets.core.pairs import DEFAULT_PAIR


def migrate(engine: Engine) -> None:
    """Bring the schema on ``engine`` to this release's contracts (tables already created)."""
    _add_new_columns(engine)
    _seed_views(engine)


def _seed_views(engine: Engine) -> None:
    """The seed's tables as views of the first pair's rows, migrating a seed table first.

    A warehouse written by a release before the book holds ``eur_usd_raw`` and the rest as
    tables: their rows move into the ``fx_*`` table as the first pair's, in the same
    transaction that drops the old table and creates the view in its place.
    """
    inspector = sa.inspect(engine)
    tables = set(inspector.get_table_names())
    views = set(inspector.get_view_names())
    quote_name = engine.dialect.identifier_preparer.quote
    statements: list[str] = []
    for contract in CONTRACTS.values():
        seed = contract.seed_name
        if seed is None:
            continue
        name, columns = quote_name(contract.name), contract.seed_columns
        if seed in tables:
            have = {col["name"] for col in inspector.get_columns(seed)}
            kept = [c for c in columns if c in have]
            lacking = [c.name for c in contract.columns if c.name not in have and c.name != PAIR]
            required = [c for c in lacking if not contract.table.c[c].nullable]
            if required:
                raise ValueError(
                    f"{seed} lacks the column {required[0]}, which existing rows cannot be"
                    f" given: drop {seed} (its asset rewrites {contract.name})"
                )
            listed = ", ".join(quote_name(c) for c in kept)
            statements += [
                f"INSERT INTO {name} ({quote_name(PAIR)}, {listed})"
                f" SELECT '{DEFAULT_PAIR}', {listed} FROM {quote_name(seed)}",
                f"DROP TABLE {quote_name(seed)}",
            ]
        elif seed in views:
            if [c["name"] for c in inspector.get_columns(seed)] == columns:
                continue
            statements.append(f"DROP VIEW {quote_name(seed)}")
        listed = ", ".join(quote_name(c) for c in columns)
        statements.append(
            f"CREATE VIEW {quote_name(seed)} AS SELECT {listed} FROM {name}"
            f" WHERE {quote_name(PAIR)} = '{DEFAULT_PAIR}'"
        )
    _execute(engine, statements)


def _add_new_columns(engine: Engine) -> None:
    """Add the contracts' columns an existing table lacks; they must be nullable."""
    inspector = sa.inspect(engine)
    quote_name = engine.dialect.identifier_preparer.quote
    added = []
    for table in metadata.sorted_tables:
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            if not column.nullable:
                raise ValueError(
                    f"{table.name} lacks the column {column.name}, which existing rows cannot"
                    " be given: recreate the table (its asset rewrites it)"
                )
            added.append(
                f"ALTER TABLE {quote_name(table.name)} ADD COLUMN {quote_name(column.name)}"
                f" {column.type.compile(dialect=engine.dialect)}"
            )
    _execute(engine, added)


def _execute(engine: Engine, statements: list[str]) -> None:
    """``statements`` in one transaction: a migration step lands whole or not at all."""
    if statements:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
