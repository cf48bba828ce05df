"""The rendezvous stores: set/get/add/check/wait/delete/compare_set/append on HashStore, TCPStore (a master and
clients in threads) and FileStore, blocking gets released by a later set, timeouts that say which keys were
missing, and PrefixStore's namespace."""
import datetime
import threading
import time

import pytest

import tritorch.distributed as dist
from tritorch.distributed.store import FileStore, HashStore, PrefixStore, TCPStore


def _stores(tmp_path):
    master = TCPStore("127.0.0.1", 0, is_master=True, timeout=datetime.timedelta(seconds=5))
    client = TCPStore("127.0.0.1", master.port, timeout=datetime.timedelta(seconds=5))
    file_a = FileStore(str(tmp_path / "store"))
    file_b = FileStore(str(tmp_path / "store"))
    hash_store = HashStore()
    return [("hash", hash_store, hash_store), ("tcp", master, client), ("file", file_a, file_b)]


@pytest.fixture
def stores(tmp_path):
    return _stores(tmp_path)


def test_store_operations(stores):
    for name, a, b in stores:
        a.set("k", "v1")
        assert b.get("k") == b"v1", name
        assert b.add("n", 2) == 2 and a.add("n", 3) == 5 and b.add("n", 0) == 5, name
        assert a.check(["k", "n"]) and not a.check(["k", "missing"]), name
        assert b.compare_set("k", "v1", "v2") == b"v2" and a.get("k") == b"v2", name
        assert b.compare_set("k", "nope", "v3") == b"v2", name
        assert a.compare_set("fresh", "", "x") == b"x", name
        a.append("log", "ab")
        b.append("log", "cd")
        assert a.get("log") == b"abcd", name
        assert a.delete_key("k") and not b.check(["k"]) and not a.delete_key("k"), name
        assert a.num_keys() >= 3, name
        a.set("bytes", bytes([0, 255, 7]))
        assert b.get("bytes") == bytes([0, 255, 7]), name


def test_blocking_get_waits_for_a_later_set(stores):
    for name, a, b in stores:
        threading.Timer(0.2, lambda: a.set("late", "here")).start()
        start = time.monotonic()
        assert b.get("late") == b"here", name
        assert time.monotonic() - start >= 0.15, name
        b.wait(["late"])


def test_timeouts_name_the_missing_keys(stores):
    for name, a, b in stores:
        b.set_timeout(datetime.timedelta(seconds=0.3))
        with pytest.raises(RuntimeError, match=r"Wait timeout after 0.3 s for keys \['never'\]"):
            b.get("never")
        with pytest.raises(RuntimeError, match="never2"):
            b.wait(["never2"], datetime.timedelta(seconds=0.2))


def test_prefix_store_namespaces():
    base = HashStore()
    p, q = PrefixStore("a", base), PrefixStore("b", base)
    p.set("x", "1")
    q.set("x", "2")
    assert p.get("x") == b"1" and q.get("x") == b"2" and base.get("a/x") == b"1"
    assert p.add("c", 1) == 1 and q.add("c", 5) == 5 and p.check(["x"]) and not p.check(["y"])


def test_tcp_store_client_gives_up_when_no_master():
    with pytest.raises(dist.DistStoreError, match="could not connect to 127.0.0.1"):
        TCPStore("127.0.0.1", 1, timeout=datetime.timedelta(seconds=0.3))


def test_store_classes_are_exported():
    assert dist.TCPStore is TCPStore and dist.FileStore is FileStore and dist.HashStore is HashStore
    assert issubclass(TCPStore, dist.Store) and issubclass(PrefixStore, dist.Store)
