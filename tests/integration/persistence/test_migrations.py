"""Migrations create exactly schema.py's tables, idempotently and concurrently."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Index, MetaData, inspect, select, update
from sqlalchemy.exc import IntegrityError

from keysvc.persistence.audit_repository import NewAuditEvent, add_events
from keysvc.persistence.contract_repository import next_contract_sequence
from keysvc.persistence.database import create_database_engine
from keysvc.persistence.schema import (
    audit_events,
    contracts,
    key_requests,
    licenses,
    mail_outbox,
    metadata,
    products,
)
from keysvc.persistence.schema_migrations import (
    _alembic_config,
    current_revision,
    head_revision,
    upgrade_database,
)
from keysvc.service.audit import verify_audit_log

from . import rows

# The newest migration file; a new one updates this line.
LATEST = "0011"

SEEDED_PRODUCTS = [
    ("neo-backup", "desknet's NEO バックアップサーバー", "neo-backup"),
    ("neo-webconf", "desknet's NEO ウェブ会議 (スモールライセンス)", "neo-webconf"),
]


@pytest.fixture(
    params=[
        pytest.param("sqlite_url", id="sqlite"),
        pytest.param("postgres_url", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def empty_url(request):
    """A database nobody has migrated yet."""
    return request.getfixturevalue(request.param)


@pytest.fixture
def empty_engine(empty_url):
    engine = create_database_engine(empty_url)
    yield engine
    engine.dispose()


def _differences(engine, target: MetaData) -> list[object]:
    with engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), target))


def _products(engine) -> list[tuple[str, str, str]]:
    with engine.connect() as connection:
        return [
            tuple(row) for row in connection.execute(select(products).order_by(products.c.code))
        ]


def test_migrating_an_empty_database_gives_exactly_the_schema(empty_engine):
    assert current_revision(empty_engine) is None
    upgrade_database(empty_engine)
    assert _differences(empty_engine, metadata) == []


def test_schema_comparison_would_notice_a_difference(engine):
    # Guards the test above against comparing nothing.
    changed = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.tables.values():
        table.to_metadata(changed)
    Index("ix_closures_label", changed.tables["closures"].c.label)
    assert [diff[0] for diff in _differences(engine, changed)] == ["add_index"]


def test_partial_unique_indexes_keep_their_conditions(engine):
    inspector = inspect(engine)
    option = f"{engine.dialect.name}_where"
    conditions = {
        index["name"]: str(index.get("dialect_options", {}).get(option))
        for table in ("licenses", "signing_keys")
        for index in inspector.get_indexes(table)
        if index["unique"]
    }
    # PostgreSQL hands back its normal form: ((status)::text = 'ACTIVE'::text).
    normal = {name: re.sub(r"::\w+|[()]", "", sql) for name, sql in conditions.items()}
    assert normal["uq_licenses_one_active_per_contract"] == "status = 'ACTIVE'"
    assert normal["uq_signing_keys_one_active"] == "state = 'ACTIVE'"


def test_upgrade_is_idempotent_and_seeds_products_once(empty_engine):
    upgrade_database(empty_engine)
    upgrade_database(empty_engine)
    assert current_revision(empty_engine) == head_revision()
    assert _products(empty_engine) == SEEDED_PRODUCTS


def test_upgrade_on_an_already_migrated_database_changes_nothing(engine):
    upgrade_database(engine)
    assert current_revision(engine) == head_revision() == LATEST
    assert _products(engine) == SEEDED_PRODUCTS


def test_two_concurrent_upgrades_both_succeed(empty_url):
    # Two processes, as two servers starting at once would be: within one
    # process upgrade_database also serialises threads, which would hide a
    # missing database lock.
    command_line = [
        sys.executable,
        "-m",
        "keysvc.persistence.schema_migrations",
        "upgrade",
        "--url",
    ]
    processes = [
        subprocess.Popen([*command_line, empty_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outcomes = [(process.wait(timeout=60), *process.communicate()) for process in processes]
    assert [(code, out.strip()) for code, out, _err in outcomes] == [(0, LATEST.encode())] * 2, (
        outcomes
    )
    engine = create_database_engine(empty_url)
    try:
        assert current_revision(engine) == head_revision()
        assert _products(engine) == SEEDED_PRODUCTS
    finally:
        engine.dispose()


def test_concurrent_upgrades_in_one_process_both_succeed(empty_url):
    engines = [create_database_engine(empty_url) for _ in range(2)]
    start = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def upgrade(engine) -> None:
        try:
            start.wait()
            upgrade_database(engine)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=upgrade, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert errors == []
        assert _products(engines[0]) == SEEDED_PRODUCTS
    finally:
        for engine in engines:
            engine.dispose()


def test_downgrade_to_base_removes_everything_and_upgrade_restores_it(empty_engine):
    upgrade_database(empty_engine)
    with empty_engine.begin() as connection:
        command.downgrade(_alembic_config(connection), "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    upgrade_database(empty_engine)
    assert _differences(empty_engine, metadata) == []


def test_0002_back_fills_released_late_by_the_tokyo_date(empty_engine):
    with empty_engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "0001")
        rows.insert_contract_with_key(connection)
        # Due 1 April; released at 10:30 and at 00:30 the next day, Tokyo time.
        for request_id, serial, released_at in (
            ("R-on-time", "L-1", datetime(2025, 4, 1, 1, 30, tzinfo=UTC)),
            ("R-late", "L-2", datetime(2025, 4, 1, 15, 30, tzinfo=UTC)),
        ):
            rows.insert_license(
                connection, serial, request_id, status="SUPERSEDED", generation=int(serial[-1])
            )
            connection.execute(
                update(key_requests)
                .where(key_requests.c.id == request_id)
                .values(state="RELEASED", license_serial=serial, released_at=released_at)
            )
        connection.execute(key_requests.insert(), rows.key_request("R-waiting"))
    upgrade_database(empty_engine)
    with empty_engine.connect() as connection:
        query = select(key_requests.c.id, key_requests.c.released_late)
        flags = {row.id: row.released_late for row in connection.execute(query)}
    assert flags == {"R-on-time": False, "R-late": True, "R-waiting": False}


def test_0002_downgrades_to_0001(empty_engine):
    upgrade_database(empty_engine)
    with empty_engine.begin() as connection:
        command.downgrade(_alembic_config(connection), "0001")
    columns = {column["name"] for column in inspect(empty_engine).get_columns("key_requests")}
    assert "released_late" not in columns
    assert "at_risk" in columns
    upgrade_database(empty_engine)
    assert _differences(empty_engine, metadata) == []


def test_0003_starts_each_year_counter_after_the_numbers_already_given(empty_engine):
    with empty_engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "0002")
        for number in ("SS-2025-000007", "SS-2025-000012", "SS-2026-000003", "HAND-TYPED-1"):
            connection.execute(contracts.insert(), rows.contract(number))
    upgrade_database(empty_engine)
    with empty_engine.begin() as connection:
        assert next_contract_sequence(connection, 2025) == 13
        assert next_contract_sequence(connection, 2026) == 4
        assert next_contract_sequence(connection, 2027) == 1


def test_0007_chains_the_events_already_there_in_id_order(empty_engine):
    with empty_engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "0006")
        # Only the columns of 0006 (insert() names only the values given).
        connection.execute(
            audit_events.insert(),
            [
                {
                    "occurred_at": datetime(2026, 12, 1, 9, minute, 0, 250, tzinfo=UTC),
                    "actor_token_id": "t1",
                    "actor_role": "admin",
                    "method": "/m",
                    "resource": "tokens/x",
                    "outcome": f"outcome {minute}",
                }
                for minute in range(1, 5)
            ],
        )
        # Ids with a gap, as PostgreSQL's sequence leaves after a rollback.
        connection.execute(audit_events.delete().where(audit_events.c.id == 3))
    upgrade_database(empty_engine)
    check = verify_audit_log(empty_engine)
    assert check.intact, check.broken
    assert check.events == 3
    with empty_engine.begin() as connection:
        query = select(audit_events.c.id, audit_events.c.seq).order_by(audit_events.c.id)
        assert connection.execute(query).all() == [(1, 1), (2, 2), (4, 3)]
        add_events(
            connection,
            [NewAuditEvent(datetime(2026, 12, 2, tzinfo=UTC), "t2", "site", "/m", "r", "OK")],
        )
    check = verify_audit_log(empty_engine)
    assert (check.intact, check.events, check.head.seq) == (True, 4, 4)


def test_0007_downgrades_to_0006_keeping_the_events(empty_engine):
    upgrade_database(empty_engine)
    with empty_engine.begin() as connection:
        add_events(
            connection,
            [NewAuditEvent(datetime(2026, 12, 2, tzinfo=UTC), "t2", "site", "/m", "r", "OK")],
        )
        command.downgrade(_alembic_config(connection), "0006")
    columns = {column["name"] for column in inspect(empty_engine).get_columns("audit_events")}
    assert not {"seq", "hash"} & columns
    assert "audit_chain_head" not in inspect(empty_engine).get_table_names()
    upgrade_database(empty_engine)
    assert _differences(empty_engine, metadata) == []
    assert verify_audit_log(empty_engine).events == 1


def test_0008_back_fills_the_end_of_a_superseded_key_with_its_successors_release(empty_engine):
    released = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)
    with empty_engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "0007")
        rows.insert_contract_with_key(connection)
        rows.insert_license(connection, "L-1", "R-1", status="SUPERSEDED", generation=1)
        rows.insert_license(connection, "L-2", "R-2", generation=2, issued_at=released)
        connection.execute(
            update(licenses).where(licenses.c.serial == "L-1").values(superseded_by="L-2")
        )
    upgrade_database(empty_engine)
    with empty_engine.connect() as connection:
        query = select(licenses.c.serial, licenses.c.supersede_at).order_by(licenses.c.serial)
        assert connection.execute(query).all() == [("L-1", released), ("L-2", None)]


def test_0008_downgrades_to_0007(empty_engine):
    upgrade_database(empty_engine)
    with empty_engine.begin() as connection:
        command.downgrade(_alembic_config(connection), "0007")
    columns = {column["name"] for column in inspect(empty_engine).get_columns("licenses")}
    assert "supersede_at" not in columns
    upgrade_database(empty_engine)
    assert _differences(empty_engine, metadata) == []


def test_0009_gives_issued_licenses_no_status_entry(empty_engine):
    with empty_engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "0008")
        rows.insert_contract_with_key(connection)
        rows.insert_license(connection, "L-1", "R-1", generation=1)
    upgrade_database(empty_engine)
    with empty_engine.connect() as connection:
        query = select(licenses.c.serial, licenses.c.status_list, licenses.c.status_index)
        assert connection.execute(query).all() == [("L-1", None, None)]


def test_0009_downgrades_to_0008(empty_engine):
    upgrade_database(empty_engine)
    with empty_engine.begin() as connection:
        command.downgrade(_alembic_config(connection), "0008")
    columns = {column["name"] for column in inspect(empty_engine).get_columns("licenses")}
    assert not {"status_list", "status_index"} & columns
    assert "status_lists" not in inspect(empty_engine).get_table_names()
    upgrade_database(empty_engine)
    assert _differences(empty_engine, metadata) == []


def test_0010_lets_key_requests_be_replacements_and_keeps_every_reference(empty_engine):
    with empty_engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "0009")
        rows.insert_contract_with_key(connection)
        rows.insert_license(connection, "L-1", "R-1", generation=1)
    upgrade_database(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(
            key_requests.insert(),
            rows.key_request("R-2", kind="REPLACEMENT", previous_license_serial="L-1"),
        )
        kinds = connection.execute(
            select(key_requests.c.id, key_requests.c.kind).order_by(key_requests.c.id)
        ).all()
    assert kinds == [("R-1", "INITIAL"), ("R-2", "REPLACEMENT")]
    with pytest.raises(IntegrityError), empty_engine.begin() as connection:
        connection.execute(key_requests.insert(), rows.key_request("R-3", kind="OTHER"))
    # References are checked again after the upgrade.
    with pytest.raises(IntegrityError), empty_engine.begin() as connection:
        connection.execute(
            key_requests.insert(), rows.key_request("R-4", previous_license_serial="L-404")
        )
    assert _differences(empty_engine, metadata) == []


def test_0010_downgrades_to_0009(empty_engine):
    upgrade_database(empty_engine)
    with empty_engine.begin() as connection:
        command.downgrade(_alembic_config(connection), "0009")
    columns = {column["name"] for column in inspect(empty_engine).get_columns("signing_keys")}
    assert not {"withdrawn_at", "withdraw_reason"} & columns
    upgrade_database(empty_engine)
    assert _differences(empty_engine, metadata) == []


def test_0011_keeps_the_e_mails_and_admits_a_resend(empty_engine):
    with empty_engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "0010")
        rows.insert_contract_with_key(connection)
        rows.insert_license(connection, "L-1", "R-1", generation=1)
        connection.execute(mail_outbox.insert(), rows.mail("R-1", "<keysvc.R-1@example.jp>"))
    upgrade_database(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(
            mail_outbox.insert(), rows.mail("R-1", "<keysvc.R-1.resend1@example.jp>")
        )
        ids = connection.execute(
            select(mail_outbox.c.message_id).order_by(mail_outbox.c.id)
        ).scalars()
        assert list(ids) == ["<keysvc.R-1@example.jp>", "<keysvc.R-1.resend1@example.jp>"]
    # The same message twice is still refused.
    with pytest.raises(IntegrityError), empty_engine.begin() as connection:
        connection.execute(
            mail_outbox.insert(), rows.mail("R-1", "<keysvc.R-1.resend1@example.jp>")
        )
    assert _differences(empty_engine, metadata) == []


def test_0011_downgrades_to_0010(empty_engine):
    upgrade_database(empty_engine)
    with empty_engine.begin() as connection:
        command.downgrade(_alembic_config(connection), "0010")
    upgrade_database(empty_engine)
    assert _differences(empty_engine, metadata) == []
