"""Group commit and the lean Register path: answers only after the COMMIT, a failing write fails
its whole group, a write outside the group is durable at once, and the Register answer is a
piggybacked ACK with the Location-Path."""

import asyncio
import os
import socket
import sqlite3
import sys
from pathlib import Path

import pytest
from aiocoap import Message
from aiocoap.numbers.codes import Code
from aiocoap.numbers.types import ACK
from cloud_testkit import run, running

from harness.cloud.commit_group import CommitGroup
from harness.cloud.sqlite_db import SqliteDb

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from bench_registration_scale import register_message  # noqa: E402 - the benchmark's own encoder


class _Failed(Exception):
    pass


def _db(path: Path) -> SqliteDb:
    sql = SqliteDb(path / "g.sqlite3", name="test db", error=_Failed, wal=True)
    sql.executescript("CREATE TABLE t (k TEXT PRIMARY KEY)")
    return sql


def _stored(path: Path) -> set[str]:
    with sqlite3.connect(path / "g.sqlite3") as other:  # another connection sees only commits
        return {row[0] for row in other.execute("SELECT k FROM t")}


def test_grouped_writes_are_committed_together_before_the_follow_ups_run(tmp_path):
    sql = _db(tmp_path)
    seen: list[tuple[bool, set[str]]] = []

    async def scenario():
        group = CommitGroup(sql, asyncio.get_running_loop())
        for key in ("a", "b", "c"):
            with group.joined(), sql.transaction() as db:
                db.execute("INSERT INTO t VALUES (?)", (key,))
            group.after_commit(lambda ok: seen.append((ok, _stored(tmp_path))))
        assert _stored(tmp_path) == set()  # nothing committed within the loop turn
        assert await group.committed() is True

    run(scenario())
    assert seen == [(True, {"a", "b", "c"})] * 3
    sql.close()


def test_a_grouped_write_failing_after_a_change_fails_the_whole_group(tmp_path):
    sql = _db(tmp_path)

    async def scenario():
        group = CommitGroup(sql, asyncio.get_running_loop())
        with group.joined(), sql.transaction() as db:
            db.execute("INSERT INTO t VALUES ('x')")
        outcome: list[bool] = []
        group.after_commit(outcome.append)
        with pytest.raises(sqlite3.IntegrityError), group.joined(), sql.transaction() as db:
            db.execute("INSERT INTO t VALUES ('x')")  # only a duplicate key: nothing written
        with pytest.raises(sqlite3.IntegrityError), group.joined(), sql.transaction() as db:
            db.execute("INSERT INTO t VALUES ('z')")
            db.execute("INSERT INTO t VALUES ('x')")  # half written: the group is lost
        assert await group.committed() is False  # the same group, settled on the next turn
        assert outcome == [False]
        with group.joined(), sql.transaction() as db:  # the next group is fine again
            db.execute("INSERT INTO t VALUES ('y')")
        assert await group.committed() is True

    run(scenario())
    assert _stored(tmp_path) == {"y"}
    sql.close()


def test_a_write_outside_the_group_commits_the_open_group_first(tmp_path):
    sql = _db(tmp_path)

    async def scenario():
        group = CommitGroup(sql, asyncio.get_running_loop())
        with group.joined(), sql.transaction() as db:
            db.execute("INSERT INTO t VALUES ('grouped')")
        with sql.transaction() as db:
            db.execute("INSERT INTO t VALUES ('own')")
        assert _stored(tmp_path) == {"grouped", "own"}  # durable when transaction() returns
        assert await group.committed() is True

    run(scenario())
    sql.close()


def test_the_lean_register_answer_is_a_piggybacked_ack_with_the_location(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            acc = svc.create_account("lean", device_quota=10)
            port = int(svc.lwm2m_uri("udp").rsplit(":", 1)[1].split("/")[0])
            token = os.urandom(4)
            loop = asyncio.get_running_loop()
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.setblocking(False)
                await loop.sock_sendto(sock, register_message(4242, token, "ep-lean", acc.id),
                                       ("127.0.0.1", port))
                answer = await asyncio.wait_for(loop.sock_recv(sock, 2048), 10)
            [device] = svc.store.list_devices(acc.id)

            return answer, token, device

    answer, token, device = run(scenario())
    message = Message.decode(answer)
    assert message.mtype is ACK and message.mid == 4242 and message.token == token
    assert message.code == Code.CREATED
    assert message.opt.location_path == ("rd", device.account_id, device.id)


def test_a_grouped_write_that_changed_nothing_leaves_the_group_alone(tmp_path):
    sql = _db(tmp_path)

    async def scenario():
        group = CommitGroup(sql, asyncio.get_running_loop())
        with group.joined(), sql.transaction() as db:
            db.execute("INSERT INTO t VALUES ('kept')")
        with pytest.raises(sqlite3.IntegrityError), group.joined(), sql.transaction() as db:
            db.execute("INSERT INTO t VALUES ('kept')")  # refused statement, no row changed
        assert await group.committed() is True

    run(scenario())
    assert _stored(tmp_path) == {"kept"}
    sql.close()
