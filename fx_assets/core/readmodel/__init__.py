"""The read model: every read a consumer (the service, the dashboard, ``fx``) makes.

Dagster-free, and read-only by construction: the warehouse is opened with ``mode=ro``
(SQLite) or in read-only transactions (PostgreSQL), the registry through a reader that
never creates an experiment, writes nothing to MLflow and sets no environment variable.
Consumers hold presentation only; each read and each statistic is written here once.
Every read is one pair's (``pair=``, default ``DEFAULT_PAIR``, EUR/USD), but the book's.

Modules, by topic:
- ``stores``: the read-only warehouse factory and the one-line store errors.
- ``rows``: response and row types derived from the table contracts.
- ``predictions``: stored forecasts joined to their outcomes (the one join), the newest.
- ``accuracy``: realized accuracy, one definition per window, one interval method.
- ``monitoring``: the newest drift and performance rows, and the alerts sent.
- ``backtest``: the backtest's summaries, yearly rows, equity curves and verdicts.
- ``data``: how current the bars are, table spans, quarantined rows.
- ``registry``: the read-only registry reader, the champion and the version history.
- ``book``: one row per pair of the book (forecast, champion, skill, drift, decay,
  freshness) and the book's skill headline.
"""
