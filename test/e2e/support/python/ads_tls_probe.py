"""One ADS request to an xDS server over TLS from gRPC C-core (Python grpcio): a TLS peer for
`meshplane serve --xds-tls` where the gRPC xDS client itself cannot be one (C-core 1.51 knows no
"tls" channel credentials in its bootstrap).

  /usr/bin/python3 ads_tls_probe.py ADDRESS ROOTS [KEY CERT]

Opens a secure channel to ADDRESS that trusts the PEM roots in ROOTS (and presents KEY/CERT when
given), with "localhost" as the name checked against the server certificate, asks for every
Cluster (state of the world), and prints one JSON line: {"typeUrl": ..., "resources": N,
"versionInfo": ...} for the first response, or {"error": "<status code name>", "details": ...}.
The messages are encoded by hand (envoy.service.discovery.v3 DiscoveryRequest/Response).
"""

import json
import sys
import threading

import grpc

from greeter_wire import _LENGTH_DELIMITED, _read_varint, _varint

CLUSTER = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
METHOD = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"


def _field(number: int, raw: bytes) -> bytes:
    return _varint(number << 3 | _LENGTH_DELIMITED) + _varint(len(raw)) + raw


def discovery_request(node_id: str) -> bytes:
    node = _field(1, node_id.encode())
    return _field(2, node) + _field(4, CLUSTER.encode())


def length_delimited_fields(data: bytes) -> list[tuple[int, bytes]]:
    """The length-delimited fields of a message; other wire types are skipped."""
    fields, at = [], 0
    while at < len(data):
        key, at = _read_varint(data, at)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            _, at = _read_varint(data, at)
        elif wire_type == 1:
            at += 8
        elif wire_type == 5:
            at += 4
        elif wire_type == _LENGTH_DELIMITED:
            length, at = _read_varint(data, at)
            fields.append((number, data[at : at + length]))
            at += length
        else:
            raise ValueError(f"field {number}: unsupported wire type {wire_type}")
    return fields


def main() -> None:
    address, roots = sys.argv[1], sys.argv[2]
    with open(roots, "rb") as file:
        root_pem = file.read()
    key = cert = None
    if len(sys.argv) == 5:
        with open(sys.argv[3], "rb") as file:
            key = file.read()
        with open(sys.argv[4], "rb") as file:
            cert = file.read()
    credentials = grpc.ssl_channel_credentials(root_pem, key, cert)
    options = [("grpc.ssl_target_name_override", "localhost")]
    with grpc.secure_channel(address, credentials, options=options) as channel:
        call = channel.stream_stream(METHOD, request_serializer=None, response_deserializer=None)
        answered = threading.Event()

        def requests():
            yield discovery_request("c-core-probe")
            # Half-closing now would end the stream before the answer: wait for it.
            answered.wait(10)

        try:
            responses = call(requests(), timeout=10)
            first = next(responses)
        except grpc.RpcError as error:
            print(json.dumps({"error": error.code().name, "details": error.details()}))
            return
        finally:
            answered.set()
        fields = length_delimited_fields(first)
        print(
            json.dumps(
                {
                    "typeUrl": next((v.decode() for n, v in fields if n == 4), ""),
                    "versionInfo": next((v.decode() for n, v in fields if n == 1), ""),
                    "resources": sum(1 for n, _ in fields if n == 2),
                }
            )
        )


if __name__ == "__main__":
    main()
