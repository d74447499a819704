"""Core statements run on the driver's own cursor: the hot paths' way to the database.

`Connection.execute` costs SQLAlchemy 20-70 µs of Python per statement on top
of the driver's 5-15 µs (cache key, parameter processing, execution context,
result object; docs/benchmarks.md, B1). A mutating call runs a dozen statements
and the release of a key a handful per row, so on the paths that issue keys
that overhead was the largest single cost. A `DriverStatement` keeps what
SQLAlchemy is good at and skips the rest:

- the statement is written in Core, against `schema.py`, and compiled by the
  dialect, once per dialect and per size of its ``IN`` lists;
- values go through the column types' own bind and result processors, so
  what is stored and read back is exactly what Core stores and reads;
- it runs on the DBAPI connection of the caller's `Connection`, inside the
  transaction (and savepoint) that `Connection` began, and driver errors
  come out as SQLAlchemy's (`IntegrityError`, `OperationalError` …), the
  connection invalidated on a disconnect as Core would.

What it does not do: statement events (``before_cursor_execute``) and echo do
not see these statements, and Python-side column defaults are not applied
(the schema has none). Use it where a path runs often; Core everywhere else.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, TypeVar

from sqlalchemy import Connection, Table, bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["DriverInsert", "DriverStatement"]

Processor = Callable[[Any], Any]
Params = Mapping[str, Any]


class _Slot:
    """Stands for a caller's value while a plan is made, to find where it goes."""

    __slots__ = ("index", "name")

    def __init__(self, name: str, index: int | None) -> None:
        self.name = name
        self.index = index


@dataclass(frozen=True, slots=True)
class _Source:
    """Where one driver parameter's value comes from: the caller's parameter `name`
    (item `index` of it, for an IN list), or a `constant` of the statement's."""

    key: str  # the driver's parameter name (pyformat), or its position's name
    name: str | None
    index: int | None
    constant: Any
    processor: Processor | None


@dataclass(frozen=True, slots=True)
class _Plan:
    """A statement as the driver takes it, for one dialect and one set of list sizes."""

    sql: str
    positional: bool
    sources: tuple[_Source, ...]
    result_processors: tuple[Processor | None, ...]
    has_result_processors: bool

    def bind(self, params: Params) -> tuple[Any, ...] | dict[str, Any]:
        """The driver's parameters for the caller's `params`."""

        def value_of(name: str, index: int | None) -> Any:  # noqa: ANN401 - a caller's value
            return params[name] if index is None else params[name][index]

        return self._parameters(value_of)

    def bind_rows(self, rows: Sequence[Params]) -> tuple[Any, ...] | dict[str, Any]:
        """The parameters of a multi-row INSERT: item `index` of the rows, column `name`."""

        def value_of(name: str, index: int | None) -> Any:  # noqa: ANN401 - a row's value
            assert index is not None, "a row insert's parameters each name their row"
            return rows[index][name]

        return self._parameters(value_of)

    def _parameters(
        self, value_of: Callable[[str, int | None], Any]
    ) -> tuple[Any, ...] | dict[str, Any]:
        values = []
        try:
            for source in self.sources:
                if source.name is None:
                    values.append(source.constant)
                    continue
                value = value_of(source.name, source.index)
                if source.processor is not None and value is not None:
                    value = source.processor(value)
                values.append(value)
        except Exception as error:
            raise _statement_error(self.sql, error) from error
        if self.positional:
            return tuple(values)
        return {source.key: value for source, value in zip(self.sources, values, strict=True)}

    def process(self, rows: list[Any]) -> list[tuple[Any, ...]]:
        if not self.has_result_processors:
            return [tuple(row) for row in rows]
        processors = self.result_processors
        return [
            tuple(
                value if processor is None or value is None else processor(value)
                for processor, value in zip(processors, row, strict=True)
            )
            for row in rows
        ]


def _statement_error(sql: str, error: Exception) -> StatementError:
    """A value the statement cannot take (a naive datetime, a missing parameter), as
    Core reports it."""
    return StatementError(
        f"({type(error).__module__}.{type(error).__name__}) {error}", sql, None, error
    )


_NO_LISTS: Final[tuple[int, ...]] = ()


class DriverStatement:
    """A Core statement compiled once per dialect, executed on the driver's cursor.

    Parameters named in `lists` are ``bindparam(..., expanding=True)`` lists
    (``IN``); the others are plain values. Build one at import time and reuse it::

        _OPEN = DriverStatement(
            select(t.c.id).where(t.c.contract_number.in_(bindparam("numbers", expanding=True))),
            lists=("numbers",),
        )
        rows = _OPEN.rows(connection, {"numbers": ["SS-2026-000001"]})
    """

    __slots__ = ("_lists", "_plans", "_statement")

    def __init__(self, statement: Executable, *, lists: Sequence[str] = ()) -> None:
        self._statement = statement
        self._lists = tuple(lists)
        # Plans per dialect instance (engines, and so dialects, come and go in tests),
        # then per size of each IN list.
        self._plans: weakref.WeakKeyDictionary[Dialect, dict[tuple[int, ...], _Plan]] = (
            weakref.WeakKeyDictionary()
        )

    def rows(self, connection: Connection, params: Params | None = None) -> list[tuple[Any, ...]]:
        """Runs the statement once and returns every row it gives (SELECT, RETURNING),
        each value as Core would return it."""
        plan = self._plan(connection.dialect, params or {})
        cursor = _run(connection, plan, plan.bind(params or {}), many=False)
        try:
            return plan.process(cursor.fetchall())
        finally:
            cursor.close()

    def run(self, connection: Connection, params: Params | None = None) -> int:
        """Runs the statement once; returns how many rows it changed."""
        plan = self._plan(connection.dialect, params or {})
        cursor = _run(connection, plan, plan.bind(params or {}), many=False)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def run_many(self, connection: Connection, rows: Sequence[Params]) -> None:
        """Runs the statement for each parameter set, in one driver call (executemany)."""
        if not rows:
            return
        plan = self._plan(connection.dialect, rows[0])
        _run(connection, plan, [plan.bind(row) for row in rows], many=True).close()

    def _plan(self, dialect: Dialect, params: Params) -> _Plan:
        sizes = tuple(len(params[name]) for name in self._lists) if self._lists else _NO_LISTS
        plans = _plans_of(self._plans, dialect)
        plan = plans.get(sizes)
        if plan is None:
            plan = plans[sizes] = _make_plan(self._statement, dialect, self._lists, sizes)
        return plan


PlanKey = TypeVar("PlanKey")


def _plans_of(
    plans: weakref.WeakKeyDictionary[Dialect, dict[PlanKey, _Plan]], dialect: Dialect
) -> dict[PlanKey, _Plan]:
    """A statement's plans for one dialect (made when first asked for)."""
    found = plans.get(dialect)
    return plans.setdefault(dialect, {}) if found is None else found


def _run(connection: Connection, plan: _Plan, parameters: Any, *, many: bool) -> Any:  # noqa: ANN401 - the driver's parameters and cursor
    """Executes on the connection's DBAPI connection, in its transaction; returns the cursor."""
    if not connection.in_transaction():
        # As Core would autobegin: the engine's begin event (SQLite's BEGIN
        # IMMEDIATE) must run before the first statement.
        connection.begin()
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None, "a connection in a transaction has its DBAPI one"
    cursor: Any = dbapi_connection.cursor()
    dialect = connection.dialect
    try:
        if many:
            cursor.executemany(plan.sql, parameters)
        else:
            cursor.execute(plan.sql, parameters)
    except dialect.loaded_dbapi.Error as error:
        cursor.close()
        invalidated = dialect.is_disconnect(error, dbapi_connection, cursor)
        if invalidated:
            connection.invalidate(error)
        raise DBAPIError.instance(
            plan.sql,
            None,
            error,
            dialect.loaded_dbapi.Error,
            hide_parameters=True,
            connection_invalidated=invalidated,
            dialect=dialect,
            ismulti=many,
        ) from error
    return cursor


class DriverInsert:
    """An INSERT of many rows as one statement (multi-row ``VALUES``) on the driver's cursor.

    One statement rather than the driver's executemany: on PostgreSQL that is
    one round trip instead of a pipeline of one per row (about three times
    faster for a batch's rows). Each row is a mapping with every one of
    `columns`; a statement holds at most `MAX_ROWS` rows, more go in several.
    """

    __slots__ = ("_columns", "_plans", "_table")

    MAX_ROWS: Final = 250

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self._table = table
        self._columns = tuple(columns)
        self._plans: weakref.WeakKeyDictionary[Dialect, dict[int, _Plan]] = (
            weakref.WeakKeyDictionary()
        )

    def run(self, connection: Connection, rows: Sequence[Params]) -> None:
        """Inserts the rows, in their order, in the caller's transaction."""
        for first in range(0, len(rows), self.MAX_ROWS):
            chunk = rows[first : first + self.MAX_ROWS]
            plan = self._plan(connection.dialect, len(chunk))
            _run(connection, plan, plan.bind_rows(chunk), many=False).close()

    def _plan(self, dialect: Dialect, count: int) -> _Plan:
        plans = _plans_of(self._plans, dialect)
        plan = plans.get(count)
        if plan is None:
            names = {
                (f"{column}__{row}"): (column, row)
                for row in range(count)
                for column in self._columns
            }
            statement = insert(self._table).values(
                [
                    {column: bindparam(f"{column}__{row}") for column in self._columns}
                    for row in range(count)
                ]
            )
            generic = _make_plan(statement, dialect, (), ())
            sources = tuple(
                source
                if source.name is None
                else _Source(source.key, *names[source.name], None, source.processor)
                for source in generic.sources
            )
            plan = plans[count] = replace(generic, sources=sources)
        return plan


def _make_plan(
    statement: Executable, dialect: Dialect, lists: tuple[str, ...], sizes: tuple[int, ...]
) -> _Plan:
    compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    assert isinstance(compiled, SQLCompiler), "a Core statement compiles with the SQL compiler"
    if compiled.literal_execute_params:
        raise TypeError("literal_execute parameters would make the SQL differ per value")
    list_sizes = dict(zip(lists, sizes, strict=True))
    # The caller's parameters are the bindparam()s without a value; the others are the
    # statement's own constants (literals, .values(released_late=False)).
    slots: dict[str, _Slot | list[_Slot]] = {}
    for name, bind in compiled.binds.items():
        if not bind.required:
            continue
        if bind.expanding != (name in list_sizes):
            raise TypeError(f"{name!r}: name exactly the IN lists (expanding) in `lists`")
        if bind.expanding:
            slots[name] = [_Slot(name, index) for index in range(list_sizes[name])]
        else:
            slots[name] = _Slot(name, None)
    expanded = compiled.construct_expanded_state(slots)
    order = expanded.positiontup if dialect.positional else list(expanded.parameters)
    assert order is not None, "a positional dialect gives the parameters' order"
    sources = []
    for key in order:
        value = expanded.parameters[key]
        if isinstance(value, _Slot):
            processor = _bind_processor(compiled, value.name, dialect)
            sources.append(_Source(key, value.name, value.index, None, processor))
        else:
            processor = _bind_processor(compiled, key, dialect)
            constant = value if processor is None or value is None else processor(value)
            sources.append(_Source(key, None, None, constant, None))
    result_processors = tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, None)
        for column in getattr(statement, "exported_columns", ())
    )
    return _Plan(
        sql=expanded.statement,
        positional=dialect.positional,
        sources=tuple(sources),
        result_processors=result_processors,
        has_result_processors=any(processor is not None for processor in result_processors),
    )


def _bind_processor(compiled: SQLCompiler, name: str, dialect: Dialect) -> Processor | None:
    # An IN list's items are named after it: state_1_1, state_1_2 … of state_1.
    bind = compiled.binds[name if name in compiled.binds else name.rsplit("_", 1)[0]]
    processor: Processor | None = bind.type.dialect_impl(dialect).bind_processor(dialect)
    return processor
