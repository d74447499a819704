"""Support service numbers: one sequence per year, no number given twice under concurrency."""

from __future__ import annotations

import threading

from keysvc.persistence.contract_repository import next_contract_sequence

WRITERS = 6
EACH = 15


def test_concurrent_transactions_take_distinct_consecutive_numbers(engine):
    taken: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(WRITERS)

    def take() -> None:
        start.wait()
        try:
            for _ in range(EACH):
                with engine.begin() as connection:
                    sequence = next_contract_sequence(connection, 2026)
                with lock:
                    taken.append(sequence)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=take) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(taken) == list(range(1, WRITERS * EACH + 1))


def test_each_year_counts_on_its_own_and_a_rollback_gives_the_number_back(engine):
    with engine.begin() as connection:
        assert next_contract_sequence(connection, 2026) == 1
        assert next_contract_sequence(connection, 2027) == 1
    connection = engine.connect()
    transaction = connection.begin()
    assert next_contract_sequence(connection, 2026) == 2
    transaction.rollback()
    connection.close()
    with engine.begin() as connection:
        assert next_contract_sequence(connection, 2026) == 2
