"""Key-value stores for the ranks' rendezvous (torch.distributed's Store API): TCPStore, FileStore, HashStore,
PrefixStore.

A store holds byte values under string keys; `get` and `wait` block until the keys exist (or the store's timeout
passes), `add` is an atomic counter. The ranks publish their addresses through one, and barriers count in one.

TCPStore: the master process serves the keys from a thread (one thread per connected client); every process,
the master included, talks to it over a socket. The wire format is tritorch's own (not PyTorch's): a request is
one op byte, an argument count byte, then each argument as an 8-byte little-endian length and its bytes; a reply
is a status byte (0 ok, 1 timeout) and one such argument. FileStore keeps an append-only log of records in one
file, locked with flock for each read-modify-write, so that processes sharing a file system can meet through it.
"""
from __future__ import annotations

import datetime
import fcntl
import os
import socket
import struct
import threading
import time

__all__ = ["Store", "TCPStore", "FileStore", "HashStore", "PrefixStore", "DistError", "DistStoreError",
           "DistNetworkError", "DistBackendError"]


class DistError(RuntimeError):
    """torch.distributed.DistError: what the distributed package raises (a RuntimeError)."""


class DistStoreError(DistError):
    """A store's wait timed out or its master could not be reached."""


class DistNetworkError(DistError):
    """A connection to another rank failed or timed out."""


class DistBackendError(DistError):
    """A collective failed in the backend."""

DEFAULT_TIMEOUT = datetime.timedelta(seconds=300)
_LEN = struct.Struct("<Q")
_SET, _GET, _ADD, _CHECK, _WAIT, _DELETE, _NUM_KEYS, _COMPARE_SET, _APPEND = range(9)
_OK, _TIMEOUT = 0, 1


def _seconds(timeout) -> float:
    return timeout.total_seconds() if isinstance(timeout, datetime.timedelta) else float(timeout)


def _as_bytes(value) -> bytes:
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (list, tuple)):   # PyTorch's bindings take a list of ints as bytes too
        return bytes(value)
    return bytes(value)


def _timeout_error(keys, seconds: float) -> RuntimeError:
    return DistStoreError(f"Wait timeout after {seconds:g} s for keys {list(keys)} (the other ranks did not set them: "
                        "did every rank start and call the same collectives?)")


class Store:
    """The Store API over one dict-like backend: subclasses implement _set/_get/_add/_check/_delete/_num_keys/
    _compare_set/_append; blocking get/wait poll or wait on a condition with the store's timeout."""

    def __init__(self, timeout=DEFAULT_TIMEOUT):
        self._timeout = timeout if isinstance(timeout, datetime.timedelta) else \
            datetime.timedelta(seconds=float(timeout))

    @property
    def timeout(self) -> datetime.timedelta:
        return self._timeout

    def set_timeout(self, timeout) -> None:
        self._timeout = timeout if isinstance(timeout, datetime.timedelta) else \
            datetime.timedelta(seconds=float(timeout))

    def set(self, key: str, value) -> None:
        self._set(key, _as_bytes(value))

    def get(self, key: str) -> bytes:
        self.wait([key])
        return self._get(key)

    def add(self, key: str, amount: int) -> int:
        return self._add(key, int(amount))

    def check(self, keys) -> bool:
        return self._check(list(keys))

    def wait(self, keys, timeout=None) -> None:
        seconds = _seconds(self._timeout if timeout is None else timeout)
        deadline = time.monotonic() + seconds
        delay = 0.001
        while not self._check(list(keys)):
            if time.monotonic() > deadline:
                raise _timeout_error(keys, seconds)
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def delete_key(self, key: str) -> bool:
        return self._delete(key)

    def num_keys(self) -> int:
        return self._num_keys()

    def compare_set(self, key: str, expected_value, desired_value) -> bytes:
        return self._compare_set(key, _as_bytes(expected_value), _as_bytes(desired_value))

    def append(self, key: str, value) -> None:
        self._append(key, _as_bytes(value))

    def multi_get(self, keys) -> list:
        return [self.get(k) for k in keys]

    def multi_set(self, keys, values) -> None:
        for k, v in zip(keys, values):
            self.set(k, v)


class _Table:
    """A dict of keys to bytes with a condition that wakes waiters on every change (HashStore, TCPStore's server)."""

    def __init__(self):
        self.data: dict[str, bytes] = {}
        self.changed = threading.Condition()

    def set(self, key, value):
        with self.changed:
            self.data[key] = value
            self.changed.notify_all()

    def add(self, key, amount) -> int:
        with self.changed:
            value = int(self.data.get(key, b"0")) + amount
            self.data[key] = str(value).encode()
            self.changed.notify_all()
            return value

    def wait(self, keys, seconds: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: all(k in self.data for k in keys), timeout=seconds)

    def delete(self, key) -> bool:
        with self.changed:
            return self.data.pop(key, None) is not None

    def compare_set(self, key, expected, desired) -> bytes:
        with self.changed:
            current = self.data.get(key)
            if (current is None and expected == b"") or current == expected:
                self.data[key] = desired
                self.changed.notify_all()
                return desired
            return expected if current is None else current

    def append(self, key, value):
        with self.changed:
            self.data[key] = self.data.get(key, b"") + value
            self.changed.notify_all()


class HashStore(Store):
    """A store inside one process (threads share it)."""

    def __init__(self):
        super().__init__()
        self._table = _Table()

    def _set(self, key, value):
        self._table.set(key, value)

    def _get(self, key):
        return self._table.data[key]

    def _add(self, key, amount):
        return self._table.add(key, amount)

    def _check(self, keys):
        return all(k in self._table.data for k in keys)

    def wait(self, keys, timeout=None):
        seconds = _seconds(self._timeout if timeout is None else timeout)
        if not self._table.wait(list(keys), seconds):
            raise _timeout_error(keys, seconds)

    def _delete(self, key):
        return self._table.delete(key)

    def _num_keys(self):
        return len(self._table.data)

    def _compare_set(self, key, expected, desired):
        return self._table.compare_set(key, expected, desired)

    def _append(self, key, value):
        self._table.append(key, value)


class PrefixStore(Store):
    """Every key of `store` under `prefix` + "/" (a process group's own namespace)."""

    def __init__(self, prefix: str, store: Store):
        super().__init__(store.timeout)
        self.prefix = prefix
        self.underlying_store = store

    def _k(self, key):
        return f"{self.prefix}/{key}"

    def set(self, key, value):
        self.underlying_store.set(self._k(key), value)

    def get(self, key):
        return self.underlying_store.get(self._k(key))

    def add(self, key, amount):
        return self.underlying_store.add(self._k(key), amount)

    def check(self, keys):
        return self.underlying_store.check([self._k(k) for k in keys])

    def wait(self, keys, timeout=None):
        self.underlying_store.wait([self._k(k) for k in keys], timeout)

    def delete_key(self, key):
        return self.underlying_store.delete_key(self._k(key))

    def num_keys(self):
        return self.underlying_store.num_keys()

    def compare_set(self, key, expected_value, desired_value):
        return self.underlying_store.compare_set(self._k(key), expected_value, desired_value)

    def append(self, key, value):
        self.underlying_store.append(self._k(key), value)


# ------------------------------------------------------------------------------------------------ TCPStore

def _send_frame(sock, head: bytes, args) -> None:
    parts = [head]
    for a in args:
        parts += [_LEN.pack(len(a)), a]
    sock.sendall(b"".join(parts))


def _recv_exact(sock, n: int) -> bytes:
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = sock.recv_into(view[got:])
        if k == 0:
            raise ConnectionError("the store's connection closed")
        got += k
    return bytes(buf)


def _recv_arg(sock) -> bytes:
    (n,) = _LEN.unpack(_recv_exact(sock, _LEN.size))
    return _recv_exact(sock, n)


class _Server:
    """The master's side of a TCPStore: accepts clients and answers their requests from one _Table."""

    def __init__(self, host: str, port: int):
        self.table = _Table()
        self.listener = socket.create_server((host, port), reuse_port=False, backlog=128)
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, name="tritorch-store-accept", daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), name="tritorch-store-client", daemon=True).start()

    def _serve(self, conn):
        t = self.table
        try:
            while True:
                op, nargs = _recv_exact(conn, 2)
                args = [_recv_arg(conn) for _ in range(nargs)]
                status, reply = _OK, b""
                if op == _SET:
                    t.set(args[0].decode(), args[1])
                elif op == _GET or op == _WAIT:
                    keys = [a.decode() for a in (args[:1] if op == _GET else args[1:])]
                    seconds = float(args[1].decode()) if op == _GET else float(args[0].decode())
                    if not t.wait(keys, seconds):
                        status = _TIMEOUT
                    elif op == _GET:
                        reply = t.data[keys[0]]
                elif op == _ADD:
                    reply = str(t.add(args[0].decode(), int(args[1]))).encode()
                elif op == _CHECK:
                    reply = b"1" if all(a.decode() in t.data for a in args) else b"0"
                elif op == _DELETE:
                    reply = b"1" if t.delete(args[0].decode()) else b"0"
                elif op == _NUM_KEYS:
                    reply = str(len(t.data)).encode()
                elif op == _COMPARE_SET:
                    reply = t.compare_set(args[0].decode(), args[1], args[2])
                elif op == _APPEND:
                    t.append(args[0].decode(), args[1])
                _send_frame(conn, bytes([status]), [reply])
        except (ConnectionError, OSError, ValueError):
            pass
        finally:
            conn.close()

    def close(self):
        self.closed = True
        self.listener.close()


class TCPStore(Store):
    """torch.distributed.TCPStore(host_name, port, world_size=None, is_master=False, timeout=300 s,
    wait_for_workers=True): the master serves the keys (port 0 picks a free port: read .port); every process
    connects as a client, retrying until the timeout while the master starts."""

    def __init__(self, host_name: str, port: int, world_size: int | None = None, is_master: bool = False,
                 timeout=DEFAULT_TIMEOUT, wait_for_workers: bool = True, multi_tenant: bool = False,
                 master_listen_fd=None, use_libuv: bool = True):
        super().__init__(timeout)
        self.host = host_name
        self._server = _Server("" if host_name in ("", "0.0.0.0") else host_name, port) if is_master else None
        self.port = self._server.port if is_master else int(port)
        self._lock = threading.Lock()
        self._sock = self._connect(_seconds(self._timeout))
        self.world_size = world_size
        if world_size is not None and world_size > 0:
            self.add("__tritorch_store_clients", 1)
            if is_master and wait_for_workers:
                self._wait_value("__tritorch_store_clients", world_size)

    def _connect(self, seconds: float):
        deadline = time.monotonic() + seconds
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        delay = 0.01
        while True:
            try:
                sock = socket.create_connection((host, self.port), timeout=max(1.0, seconds))
                sock.settimeout(None)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return sock
            except OSError as e:
                if time.monotonic() > deadline:
                    raise DistStoreError(f"TCPStore: could not connect to {host}:{self.port} within {seconds:g} s "
                                       f"({e}): is the master (rank 0) running and reachable?") from e
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    def local_address(self) -> str:
        """The address this process reaches the master from (the one peers on other hosts can reach it at)."""
        return self._sock.getsockname()[0]

    def _request(self, op: int, *args: bytes, keys=()) -> bytes:
        with self._lock:
            _send_frame(self._sock, bytes([op, len(args)]), args)
            status = _recv_exact(self._sock, 1)[0]
            reply = _recv_arg(self._sock)
        if status == _TIMEOUT:
            raise _timeout_error(keys, _seconds(self._timeout))
        return reply

    def _wait_value(self, key: str, value: int) -> None:
        deadline = time.monotonic() + _seconds(self._timeout)
        while self.add(key, 0) < value:
            if time.monotonic() > deadline:
                raise DistStoreError(f"TCPStore: timed out waiting for {value} clients (got {self.add(key, 0)})")
            time.sleep(0.005)

    def _set(self, key, value):
        self._request(_SET, key.encode(), value)

    def get(self, key):
        return self._request(_GET, key.encode(), str(_seconds(self._timeout)).encode(), keys=[key])

    def _add(self, key, amount):
        return int(self._request(_ADD, key.encode(), str(amount).encode()))

    def _check(self, keys):
        return self._request(_CHECK, *(k.encode() for k in keys)) == b"1"

    def wait(self, keys, timeout=None):
        seconds = _seconds(self._timeout if timeout is None else timeout)
        self._request(_WAIT, str(seconds).encode(), *(k.encode() for k in keys), keys=keys)

    def _delete(self, key):
        return self._request(_DELETE, key.encode()) == b"1"

    def _num_keys(self):
        return int(self._request(_NUM_KEYS))

    def _compare_set(self, key, expected, desired):
        return self._request(_COMPARE_SET, key.encode(), expected, desired)

    def _append(self, key, value):
        self._request(_APPEND, key.encode(), value)

    def __del__(self):
        try:
            self._sock.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


# ------------------------------------------------------------------------------------------------ FileStore

class FileStore(Store):
    """torch.distributed.FileStore(file_name, world_size=-1): the keys as an append-only log of (key, value)
    records in one file; each operation reads the log under an exclusive flock."""

    def __init__(self, file_name: str, world_size: int = -1):
        super().__init__()
        self.path = file_name
        self.world_size = world_size
        with open(self.path, "ab"):
            pass

    def _locked(self, fn):
        with open(self.path, "r+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                return fn(fh)
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    @staticmethod
    def _read(fh) -> dict:
        fh.seek(0)
        raw, table, pos = fh.read(), {}, 0
        while pos < len(raw):
            parts = []
            for _ in range(2):
                (n,) = _LEN.unpack_from(raw, pos)
                parts.append(raw[pos + 8:pos + 8 + n])
                pos += 8 + n
            key = parts[0].decode()
            if parts[1] == b"\x00deleted":
                table.pop(key, None)
            else:
                table[key] = parts[1]
        return table

    @staticmethod
    def _write(fh, key: str, value: bytes) -> None:
        fh.seek(0, os.SEEK_END)
        k = key.encode()
        fh.write(_LEN.pack(len(k)) + k + _LEN.pack(len(value)) + value)
        fh.flush()

    def _set(self, key, value):
        self._locked(lambda fh: self._write(fh, key, value))

    def _get(self, key):
        return self._locked(lambda fh: self._read(fh)[key])

    def _add(self, key, amount):
        def fn(fh):
            value = int(self._read(fh).get(key, b"0")) + amount
            self._write(fh, key, str(value).encode())
            return value
        return self._locked(fn)

    def _check(self, keys):
        table = self._locked(self._read)
        return all(k in table for k in keys)

    def _delete(self, key):
        def fn(fh):
            present = key in self._read(fh)
            if present:
                self._write(fh, key, b"\x00deleted")
            return present
        return self._locked(fn)

    def _num_keys(self):
        return len(self._locked(self._read))

    def _compare_set(self, key, expected, desired):
        def fn(fh):
            current = self._read(fh).get(key)
            if (current is None and expected == b"") or current == expected:
                self._write(fh, key, desired)
                return desired
            return expected if current is None else current
        return self._locked(fn)

    def _append(self, key, value):
        def fn(fh):
            self._write(fh, key, self._read(fh).get(key, b"") + value)
        self._locked(fn)
