"""The transport under a multi-process group: one TCP connection between every pair of ranks, and the collective
algorithms over them on NumPy arrays (host memory; cuda tensors are staged through it by the caller).

Connections: each rank listens on a free port and publishes host:port in the group's store; a rank connects to
every lower rank and accepts every higher one, and each connection starts with the connecting rank's number. A
message is an 8-byte length then the bytes; a receiver checks the length against what it expects, so ranks that
disagree on a tensor's size get an error naming both sizes instead of garbled data.

Algorithms (n ranks): all_reduce is a ring reduce-scatter then a ring all-gather (each rank sends 2 (n - 1) / n
of the data; every chunk is reduced in one fixed order, so all ranks end with the same bits); all_gather and
reduce_scatter are the two halves; broadcast, gather and scatter go straight between the root and each rank.
In every exchange a rank sends on a helper thread while it receives, so two ranks sending each other more than
the sockets buffer never block each other.
"""
from __future__ import annotations

import concurrent.futures
import selectors
import socket
import struct
import threading

import numpy as np

from .store import DistNetworkError

_LEN = struct.Struct("<Q")
_HELLO = struct.Struct("<q")


def _bytes_view(arr) -> memoryview:
    """The bytes of a C-contiguous array, writable where it is (through a uint8 view: the buffer protocol has no
    format for ml_dtypes' bfloat16, so memoryview() of such an array fails)."""
    return memoryview(arr.reshape(-1).view(np.uint8) if isinstance(arr, np.ndarray) else arr).cast("B")


def _recv_exact_into(sock, view: memoryview) -> None:
    got, n = 0, len(view)
    while got < n:
        try:
            k = sock.recv_into(view[got:])
        except socket.timeout:
            raise DistNetworkError(f"timed out after {sock.gettimeout():g} s waiting for a peer (did every rank call "
                                   "the same collectives in the same order?)") from None
        if k == 0:
            raise DistNetworkError("a peer's connection closed (did another rank fail or exit early?)")
        got += k


class Mesh:
    """The connections of one rank to every other rank of its group."""

    def __init__(self, store, rank: int, size: int, advertise: str, timeout: float | None = None):
        self.rank, self.size = rank, size
        self.timeout = timeout   # seconds a send or receive may wait (the group's timeout): then an error
        self.peers: dict[int, socket.socket] = {}
        self._sender = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, size - 1),
                                                             thread_name_prefix="tritorch-dist-send")
        self._send_locks = {r: threading.Lock() for r in range(size)}
        if size == 1:
            return
        listener = socket.create_server(("", 0), backlog=size)
        store.set(f"addr/{rank}", f"{advertise}:{listener.getsockname()[1]}")
        try:
            for peer in range(rank):
                host, port = store.get(f"addr/{peer}").decode().rsplit(":", 1)
                sock = socket.create_connection((host, int(port)))
                sock.sendall(_HELLO.pack(rank))
                self._keep(peer, sock)
            for _ in range(size - 1 - rank):
                sock, _ = listener.accept()
                hello = bytearray(_HELLO.size)
                _recv_exact_into(sock, memoryview(hello))
                self._keep(_HELLO.unpack(hello)[0], sock)
        finally:
            listener.close()

    def _keep(self, peer: int, sock) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self.timeout)
        self.peers[peer] = sock

    def close(self) -> None:
        for sock in self.peers.values():
            sock.close()
        self.peers.clear()
        self._sender.shutdown(wait=False)

    # ----------------------------------------------------------------------------------- messages

    def send(self, peer: int, data) -> None:
        """One message of `data` (bytes or a C-contiguous array) to `peer`."""
        view = memoryview(data) if isinstance(data, (bytes, bytearray)) else _bytes_view(data)
        with self._send_locks[peer]:
            sock = self.peers[peer]
            sock.sendall(_LEN.pack(len(view)))
            sock.sendall(view)

    def send_async(self, peer: int, data) -> concurrent.futures.Future:
        return self._sender.submit(self.send, peer, data)

    def recv_length(self, peer: int) -> int:
        head = bytearray(_LEN.size)
        _recv_exact_into(self.peers[peer], memoryview(head))
        return _LEN.unpack(head)[0]

    def recv_into(self, peer: int, out: np.ndarray, what: str = "tensor") -> None:
        """The next message from `peer` into the C-contiguous array `out`, which must be its size."""
        n = self.recv_length(peer)
        if n != out.nbytes:
            raise RuntimeError(f"rank {self.rank}: rank {peer} sent a {what} of {n} bytes where {out.nbytes} were "
                               "expected (the ranks' tensors differ in shape or dtype)")
        _recv_exact_into(self.peers[peer], _bytes_view(out))

    def recv_bytes(self, peer: int) -> bytes:
        buf = bytearray(self.recv_length(peer))
        _recv_exact_into(self.peers[peer], memoryview(buf))
        return bytes(buf)

    def exchange(self, send_to: int, data, recv_from: int, out: np.ndarray) -> None:
        """Send `data` to one peer while receiving `out` from another (a ring step)."""
        pending = self.send_async(send_to, data)
        try:
            self.recv_into(recv_from, out)
        finally:
            pending.result()

    def first_ready(self, peers) -> int:
        """The first of `peers` with a message waiting (recv from any source)."""
        with selectors.DefaultSelector() as sel:
            for p in peers:
                sel.register(self.peers[p], selectors.EVENT_READ, p)
            return sel.select()[0][0].data

    # ---------------------------------------------------------------------------------- collectives

    def _ring(self):
        return (self.rank + 1) % self.size, (self.rank - 1) % self.size

    def reduce_scatter_chunks(self, chunks: list, reduce, shift: int) -> None:
        """Ring reduce-scatter over `chunks` (n contiguous arrays, reduced in place): afterwards this rank's chunk
        (rank + 1 - shift) % n holds the reduction over all ranks (reduce(acc, incoming) updates acc in place)."""
        n = self.size
        right, left = self._ring()
        scratch = np.empty(max(c.size for c in chunks), chunks[0].dtype)
        for s in range(n - 1):
            send_i = (self.rank - s - shift) % n
            recv_i = (self.rank - s - 1 - shift) % n
            incoming = scratch[:chunks[recv_i].size].reshape(chunks[recv_i].shape)
            self.exchange(right, chunks[send_i], left, incoming)
            reduce(chunks[recv_i], incoming)

    def all_gather_chunks(self, chunks: list, have: int) -> None:
        """Ring all-gather: this rank holds chunks[have]; afterwards it holds all of them (filled in place)."""
        n = self.size
        right, left = self._ring()
        for s in range(n - 1):
            self.exchange(right, chunks[(have - s) % n], left, chunks[(have - s - 1) % n])

    def all_reduce(self, flat: np.ndarray, reduce) -> None:
        """flat (1-D, contiguous) reduced over all ranks in place."""
        if self.size == 1 or flat.size == 0:
            return
        chunks = np.array_split(flat, self.size)
        self.reduce_scatter_chunks(chunks, reduce, 0)
        self.all_gather_chunks(chunks, (self.rank + 1) % self.size)

    def broadcast(self, arr: np.ndarray, src: int) -> None:
        if self.rank == src:
            for f in [self.send_async(p, arr) for p in range(self.size) if p != src]:
                f.result()
        else:
            self.recv_into(src, arr)

    def broadcast_bytes(self, data: bytes | None, src: int) -> bytes:
        if self.rank == src:
            for f in [self.send_async(p, data) for p in range(self.size) if p != src]:
                f.result()
            return data
        return self.recv_bytes(src)

    def gather(self, arr: np.ndarray, outs: list | None, dst: int) -> None:
        """outs[r] (at dst) receives rank r's arr."""
        if self.rank != dst:
            self.send(dst, arr)
            return
        for r in range(self.size):
            if r == dst:
                np.copyto(outs[r], arr)
            else:
                self.recv_into(r, outs[r])

    def scatter(self, ins: list | None, out: np.ndarray, src: int) -> None:
        """Rank r's out receives ins[r] (given at src)."""
        if self.rank != src:
            self.recv_into(src, out)
            return
        pending = [self.send_async(r, ins[r]) for r in range(self.size) if r != src]
        np.copyto(out, ins[src])
        for f in pending:
            f.result()

    def all_to_all(self, ins: list, outs: list) -> None:
        """outs[r] receives rank r's ins[self.rank]: one exchange with each peer, nearest first."""
        np.copyto(outs[self.rank], ins[self.rank])
        for d in range(1, self.size):
            to, frm = (self.rank + d) % self.size, (self.rank - d) % self.size
            self.exchange(to, ins[to], frm, outs[frm])
