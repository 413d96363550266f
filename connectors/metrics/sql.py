"""A SQL metric source: one read-only SELECT (or WITH … SELECT) through
SQLAlchemy.  SQLite is built in; any other database needs its driver
installed (psycopg, a BigQuery dialect, ...).  A dialect no installed
package provides is refused at load; a missing driver is said, with the
package to install, by `check` and by the sync's warning.

Read-only three ways, as far as the database allows: the statement is
parsed and refused unless it is a single SELECT; SQLite files are opened
read-only (`mode=ro`) with `query_only` on; PostgreSQL and MySQL run it in a
read-only transaction, which is always rolled back.  A timeout bounds it.
"""
from __future__ import annotations

import time
from datetime import date, timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import Literal

import sqlparse
from pydantic import field_validator

from sync.core.config import Duration, Strict
from sync.core.errors import ConfigError, DataError, RemoteError
from sync.core.strict import accepted

from connectors.files.source import beside_config

MAX_ROWS = 100_000          # more readings than any Metrics tab should hold
COLUMNS = ("date", "metric", "value")
# (said without `://user:password@` in one piece: the redactor would take it for a real one)
URL_EXPECTED = ("not a database URL SQLAlchemy can read (dialect+driver:// then user:password@host:port"
                "/database, such as sqlite:///metrics.db); a password with @, : or / must be "
                "percent-encoded (%40, %3A, %2F)")
BUILT_IN = ("postgresql", "mysql", "mariadb", "sqlite", "oracle", "mssql")   # SQLAlchemy's own dialects
# The module a driver imports, and the package on PyPI that installs it.
PACKAGES = {"psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary", "MySQLdb": "mysqlclient",
            "pymysql": "PyMySQL", "oracledb": "oracledb", "cx_Oracle": "cx-Oracle", "pyodbc": "pyodbc",
            "pymssql": "pymssql", "pg8000": "pg8000", "asyncpg": "asyncpg", "mariadb": "mariadb"}


def select_only(query: str) -> str:
    """The query if it is one SELECT (a WITH query counts by what it finally
    does); why not, otherwise.  sqlparse reads comments and quoted `;` right."""
    statements = [s for s in sqlparse.parse(query) if s.value.strip().strip(";").strip()]
    if len(statements) != 1:
        raise ValueError(f"expected one SELECT statement, got {len(statements)} statements")
    kind = statements[0].get_type()
    if kind != "SELECT":
        raise ValueError(f"expected a SELECT or WITH … SELECT query (a source is only read), "
                         f"got a {kind} statement")
    return query


class SqlMetricsConfig(Strict):
    type: Literal["sql"]
    name: str
    url: str                          # any SQLAlchemy URL; credentials from ${ENV}
    query: str
    timeout: Duration = timedelta(seconds=30)

    @field_validator("query")
    @classmethod
    def _select(cls, query: str) -> str:
        return select_only(query)

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        # lazy: SQLAlchemy (0.2 s to import) loads only for a config with a sql metric source
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError
        # The URL may hold a password: say what is wrong without repeating any of
        # it.  A password with `@` or `:` splits the URL in the wrong place, and
        # SQLAlchemy's own words (int() of the "port") quote the password's end.
        accepted(url, make_url, URL_EXPECTED, (ArgumentError, ValueError))
        parsed = make_url(url)
        if "@" in (parsed.host or ""):      # split at the password's own `@`: the host holds its end
            raise ValueError(URL_EXPECTED)
        problem = dialect_problem(parsed)
        if problem:
            raise ValueError(problem)
        return url


def dialect_problem(url) -> str | None:
    """Why no SQLAlchemy dialect answers to the URL's `name+driver`, found
    without importing a database driver (one is imported only to connect);
    None when one does."""
    # lazy: SQLAlchemy (0.2 s to import) loads only for a config with a sql metric source
    from sqlalchemy.exc import NoSuchModuleError
    backend = url.get_backend_name()
    if backend in BUILT_IN:
        try:
            url.get_dialect()          # SQLAlchemy's own module for name+driver: no driver import
        except NoSuchModuleError:
            return (f"the {backend} dialect has no driver {url.get_driver_name()!r}; expected "
                    f"{backend}:// (its default driver) or {backend}+DRIVER:// naming a driver "
                    f"SQLAlchemy has for {backend}")
        return None
    # A dialect from another package (sqlalchemy-bigquery, ...) registers its name here.
    if any(ep.name.split(".")[0] == backend for ep in entry_points(group="sqlalchemy.dialects")):
        return None
    return (f"no SQL dialect {backend!r} is installed; expected one of SQLAlchemy's "
            f"({', '.join(BUILT_IN)}) or one a package adds (install it in align-sync's environment, "
            "such as sqlalchemy-bigquery for bigquery://)")


class SqlMetrics:
    def __init__(self, config: SqlMetricsConfig, base_dir: Path | None = None):
        self.config = config
        self.name = config.name
        self.base_dir = base_dir

    def _engine(self):
        # lazy: SQLAlchemy (0.2 s to import) loads only for a config with a sql metric source
        from sqlalchemy import create_engine, event
        from sqlalchemy.engine import make_url
        url = make_url(self.config.url)
        seconds = self.config.timeout.total_seconds()
        if url.get_backend_name() != "sqlite":
            args = {"connect_timeout": int(seconds)} if url.get_backend_name() in (
                "postgresql", "mysql", "mariadb") else {}
            return self._create(create_engine, url, connect_args=args, poolclass=_null_pool())
        if not url.database or url.database == ":memory:":
            raise ConfigError(f"metrics {self.name}: url: expected a SQLite file, such as "
                              "sqlite:///metrics.db")
        path = beside_config(url.database, self.base_dir)
        if not path.exists():
            raise ConfigError(f"metrics {self.name}: url: no SQLite file at {path}")
        # Read-only at the file: nothing this connection runs can write.
        ro = url.set(database=f"file:{path.resolve()}?mode=ro", query={"uri": "true"})
        engine = self._create(create_engine, ro, poolclass=_null_pool())

        @event.listens_for(engine, "connect")
        def _read_only(dbapi, _record):
            dbapi.execute("PRAGMA query_only = ON")
            deadline = time.monotonic() + seconds
            # Called every 10k VM steps: a non-zero answer interrupts the query.
            dbapi.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        return engine

    def _create(self, create_engine, url, **options):
        """`create_engine`, which loads the dialect and imports its driver:
        either missing is said in words, with what to install."""
        # lazy: SQLAlchemy (0.2 s to import) loads only for a config with a sql metric source
        from sqlalchemy.exc import NoSuchModuleError
        try:
            return create_engine(url, **options)
        except NoSuchModuleError:
            problem = dialect_problem(url) or f"no SQL dialect {url.drivername!r} could be loaded"
        except ImportError as exc:       # the driver (psycopg, ...) is not installed, or broken
            module = exc.name or url.get_driver_name()
            problem = (f"no SQL driver for {url.drivername}:// (the Python module {module!r} "
                       f"{'is not installed' if exc.name else f'failed to load: {exc}'}; install "
                       f"{PACKAGES.get(module, module)} in align-sync's environment)")
        raise ConfigError(f"metrics {self.name}: url: {problem}")

    def read(self, since: date) -> list[tuple]:
        # lazy: SQLAlchemy (0.2 s to import) loads only for a config with a sql metric source
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError
        select_only(self.config.query)              # checked again: nothing else ever runs
        statement = text(self.config.query)
        engine = self._engine()
        # SQLite keeps dates as ISO text; every other driver binds a date as a DATE.
        bound = since.isoformat() if engine.url.get_backend_name() == "sqlite" else since
        params = {"since": bound} if "since" in statement.compile().params else {}
        try:
            with engine.connect() as conn:
                backend = engine.url.get_backend_name()
                ms = int(self.config.timeout.total_seconds() * 1000)
                if backend == "postgresql":
                    conn = conn.execution_options(postgresql_readonly=True)
                    conn.exec_driver_sql(f"SET LOCAL statement_timeout = {ms}")
                elif backend in ("mysql", "mariadb"):
                    conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                    conn.exec_driver_sql(f"SET SESSION max_execution_time = {ms}")
                result = conn.execute(statement, params)
                names = [str(k).lower() for k in result.keys()]
                missing = [c for c in COLUMNS if c not in names]
                if missing:
                    raise DataError(f"the query's columns are {', '.join(names) or 'none'}; expected "
                                    f"date, metric and value (name them with AS)")
                at = [names.index(c) for c in COLUMNS]
                rows = result.fetchmany(MAX_ROWS + 1)
                conn.rollback()
        except SQLAlchemyError as exc:
            raise RemoteError(_reason(exc)) from None
        finally:
            engine.dispose()
        if len(rows) > MAX_ROWS:
            raise DataError(f"the query returned more than {MAX_ROWS:,} rows; narrow it "
                            "(WHERE day >= :since)")
        return [tuple(row[i] for i in at) for row in rows]

    def probe(self) -> str:
        """`check`: the dialect and driver load and the database answers; on
        SQLite the query is compiled too (EXPLAIN: planned, not run).  The
        query itself is not run here: with no LIMIT it may be costly."""
        # lazy: SQLAlchemy (0.2 s to import) loads only for a config with a sql metric source
        from sqlalchemy import text
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import SQLAlchemyError
        url = make_url(self.config.url)
        sqlite = url.get_backend_name() == "sqlite"
        engine = self._engine()
        try:
            with engine.connect() as conn:
                if sqlite:
                    statement = text("EXPLAIN " + select_only(self.config.query).strip().rstrip(";"))
                    params = {"since": date.today().isoformat()} \
                        if "since" in statement.compile().params else {}
                    conn.execute(statement, params).fetchall()
                conn.rollback()
        except SQLAlchemyError as exc:
            raise RemoteError(_reason(exc)) from None
        finally:
            engine.dispose()
        if sqlite:
            return f"SQLite file {url.database}: the query compiles (it runs at the sync)"
        return (f"{url.get_backend_name()} at {url.host or 'localhost'}: connected "
                "(the query runs at the sync)")


def _null_pool():
    # lazy: SQLAlchemy (0.2 s to import) loads only for a config with a sql metric source
    from sqlalchemy.pool import NullPool
    return NullPool          # one connection per sync, closed after: no idle socket between syncs


def _reason(exc: Exception) -> str:
    """The driver's own first line, without the statement or parameters
    SQLAlchemy appends (the URL never appears in them)."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).splitlines()[0] if str(orig) else type(orig).__name__
    if "interrupted" in text.lower():
        return "the query ran past its timeout and was stopped"
    return f"the database refused the query: {text[:200]}"


def register(registry) -> None:
    registry.add("metric", "sql", SqlMetricsConfig,
                 lambda config, runtime, sink: SqlMetrics(config, runtime.base_dir),
                 probe=lambda source: source.probe(), secrets=(), credentials=("url",))
