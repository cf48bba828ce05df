"""The bytes of TensorBoard's event files, without TensorFlow or protobuf: a protocol-buffer encoder for the few
messages summaries use (fields written in field-number order, proto3 defaults left out, repeated numbers packed,
as protobuf's own serializer writes them) and the TFRecord framing (length, masked CRC-32C of the length, data,
masked CRC-32C of the data)."""
from __future__ import annotations

import struct

# ------------------------------------------------------------------------------------------------ CRC-32C

_CRC32C_POLY = 0x82F63B78   # Castagnoli, reflected


def _crc_table() -> list:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ _CRC32C_POLY if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tf_record(data: bytes) -> bytes:
    """One record of a TFRecord file."""
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", masked_crc32c(header)) + data + struct.pack("<I", masked_crc32c(data))


# --------------------------------------------------------------------------------------- protobuf encoding

def _varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64    # negative int32/int64 values are ten-byte two's complement varints
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def varint_field(number: int, value: int, always: bool = False) -> bytes:
    """An int32/int64/enum/bool field (wire type 0); 0 is the default and is left out unless `always`."""
    return _varint(number << 3) + _varint(int(value)) if value or always else b""


def double_field(number: int, value: float, always: bool = False) -> bytes:
    """A double field (wire type 1): left out when its bits are all zero (0.0, proto3's default) unless `always`
    (a field of a oneof, which has presence)."""
    data = struct.pack("<d", value)
    return _varint(number << 3 | 1) + data if always or data != bytes(8) else b""


def float_field(number: int, value: float, always: bool = False) -> bytes:
    data = struct.pack("<f", value)
    return _varint(number << 3 | 5) + data if always or data != bytes(4) else b""


def bytes_field(number: int, value: bytes, keep_empty: bool = False) -> bytes:
    """A string/bytes/message field (wire type 2); an empty one is left out unless it is a message that is set
    (`keep_empty`)."""
    if not value and not keep_empty:
        return b""
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def string_field(number: int, value: str) -> bytes:
    return bytes_field(number, value.encode("utf-8"))


def packed_doubles(number: int, values) -> bytes:
    values = list(values)
    return bytes_field(number, struct.pack(f"<{len(values)}d", *values)) if values else b""


def packed_floats(number: int, values) -> bytes:
    values = list(values)
    return bytes_field(number, struct.pack(f"<{len(values)}f", *values)) if values else b""
