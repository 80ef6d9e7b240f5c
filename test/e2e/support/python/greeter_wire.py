"""The Greeter messages of examples/quickstart/greeter.proto in protobuf wire format, by hand.

The Python test programs use grpcio's generic handlers and raw-bytes (un)serializers, so they need
no code generation: HelloRequest is {1: name} and HelloReply is {1: message, 2: backend}, all
strings (length-delimited, wire type 2). Unknown fields are skipped, as protobuf requires.
"""

SERVICE = "meshplane.demo.Greeter"
METHODS = ("SayHello", "SayGoodbye")

_VARINT, _FIXED64, _LENGTH_DELIMITED, _FIXED32 = 0, 1, 2, 5


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if at >= len(data) or shift > 63:
            raise ValueError("truncated or overlong varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def _encode_strings(fields: dict[int, str]) -> bytes:
    out = bytearray()
    for number, text in fields.items():
        if not text:
            continue  # proto3: a default value is not sent
        raw = text.encode("utf-8")
        out += _varint(number << 3 | _LENGTH_DELIMITED) + _varint(len(raw)) + raw
    return bytes(out)


def _decode_strings(data: bytes) -> dict[int, str]:
    fields: dict[int, str] = {}
    at = 0
    while at < len(data):
        key, at = _read_varint(data, at)
        number, wire_type = key >> 3, key & 7
        if wire_type == _VARINT:
            _, at = _read_varint(data, at)
        elif wire_type == _FIXED64:
            at += 8
        elif wire_type == _FIXED32:
            at += 4
        elif wire_type == _LENGTH_DELIMITED:
            length, at = _read_varint(data, at)
            if at + length > len(data):
                raise ValueError(f"field {number}: {length} bytes announced, {len(data) - at} left")
            fields[number] = data[at : at + length].decode("utf-8")
            at += length
        else:
            raise ValueError(f"field {number}: unsupported wire type {wire_type}")
        if at > len(data):
            raise ValueError(f"field {number}: truncated")
    return fields


def encode_hello_request(name: str) -> bytes:
    return _encode_strings({1: name})


def decode_hello_request(data: bytes) -> str:
    return _decode_strings(data).get(1, "")


def encode_hello_reply(message: str, backend: str) -> bytes:
    return _encode_strings({1: message, 2: backend})


def decode_hello_reply(data: bytes) -> tuple[str, str]:
    fields = _decode_strings(data)
    return fields.get(1, ""), fields.get(2, "")
