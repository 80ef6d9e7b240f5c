"""A long-running proxyless gRPC client on gRPC C-core (Python grpcio), configured by xDS.

The twin of examples/quickstart/xds-client.ts, speaking the same line protocol
(examples/quickstart/lib/protocol.ts), so the e2e harness drives either implementation alike:

  GRPC_XDS_BOOTSTRAP=bootstrap.json /usr/bin/python3 xds_client.py

One JSON command per stdin line, e.g.
  {"id":1,"target":"xds:///greeter:50051","calls":1000,"method":"SayHello","concurrency":20}
answered by one JSON line on stdout:
  {"id":1,"target":...,"method":...,"ok":1000,"counts":{"v1":903,"v2":97},"errors":{},
   "errorSamples":[],"elapsedMs":812}
One channel per target lives as long as the process, so a configuration pushed by the control
plane is observed by the same channel between commands. Commands run concurrently, each on its
own threads. When stdin closes, the commands already received are finished and the client exits
0; to stay bounded, no new call starts after a further 60 s (partial results are still written).
"""

import json
import os
import re
import sys
import threading
import time

import grpc

from greeter_wire import METHODS, SERVICE, decode_hello_reply, encode_hello_request

MAX_CALLS = 100_000
MAX_CONCURRENCY = 1_000
MAX_DEADLINE_MS = 120_000
MAX_ERROR_SAMPLES = 3
DRAIN_SECONDS = 60
DEFAULTS = {
    "calls": 1,
    "method": "SayHello",
    "deadlineMs": 5_000,
    "concurrency": 10,
    "name": "meshplane",
    "waitForReady": False,
}
KNOWN_FIELDS = set(DEFAULTS) | {"id", "target", "metadata"}
# gRPC metadata keys: lower-case token characters; -bin keys carry binary, not text.
METADATA_KEY = re.compile(r"[0-9a-z_.-]+")

output_lock = threading.Lock()
channels: dict[str, grpc.Channel] = {}
channels_lock = threading.Lock()
closing = threading.Event()


def emit(line: dict) -> None:
    with output_lock:
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()


def channel_for(target: str) -> grpc.Channel:
    with channels_lock:
        channel = channels.get(target)
        if channel is None:
            channel = grpc.insecure_channel(target)
            channels[target] = channel
        return channel


def whole_number(value):
    """JSON has one number type: 5.0 is the integer 5, as in lib/protocol.ts."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def optional(raw: dict, field: str):
    """lib/protocol.ts reads these fields with `??`: null means the default."""
    value = raw.get(field)
    return DEFAULTS[field] if value is None else value


def integer(raw: dict, field: str, low: int, high: int, problems: list[str]) -> int:
    value = whole_number(raw.get(field, DEFAULTS[field]))
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.append(f"{field} must be an integer in [{low}, {high}]")
        return DEFAULTS[field]
    return value


def parse_command(line: str) -> tuple[dict | None, dict | None]:
    """(command, None) or (None, error line); every problem is named, none silently defaulted."""
    try:
        raw = json.loads(line)
    except ValueError as error:
        return None, {"id": None, "error": f"not JSON: {error}"}
    if not isinstance(raw, dict):
        return None, {"id": None, "error": "expected a JSON object"}
    command_id = whole_number(raw.get("id"))
    if isinstance(command_id, bool) or not isinstance(command_id, int):
        return None, {"id": None, "error": "id must be an integer"}
    problems = [f"unknown field {key}" for key in raw if key not in KNOWN_FIELDS]
    target = raw.get("target")
    if not isinstance(target, str) or not target:
        problems.append("target must be a non-empty string")
    calls = integer(raw, "calls", 1, MAX_CALLS, problems)
    concurrency = integer(raw, "concurrency", 1, MAX_CONCURRENCY, problems)
    deadline_ms = integer(raw, "deadlineMs", 1, MAX_DEADLINE_MS, problems)
    method = optional(raw, "method")
    if method not in METHODS:
        problems.append("method must be SayHello or SayGoodbye")
    name = optional(raw, "name")
    if not isinstance(name, str):
        problems.append("name must be a string")
    wait_for_ready = optional(raw, "waitForReady")
    if not isinstance(wait_for_ready, bool):
        problems.append("waitForReady must be a boolean")
    metadata = raw.get("metadata")
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, dict):
        problems.append("metadata must be an object of string values")
        metadata = {}
    for key, value in metadata.items():
        if not isinstance(value, str):
            problems.append(f"metadata.{key} must be a string")
        if not METADATA_KEY.fullmatch(key) or key.endswith("-bin"):
            quoted = json.dumps(key, ensure_ascii=False)
            problems.append(f"metadata key {quoted} must be lower-case [0-9a-z_.-] and not end in -bin")
    if problems:
        return None, {"id": command_id, "error": "; ".join(problems)}
    return {
        "id": command_id,
        "target": target,
        "calls": calls,
        "concurrency": min(concurrency, calls),
        "deadlineMs": deadline_ms,
        "method": method,
        "name": name,
        "waitForReady": wait_for_ready,
        "metadata": metadata,
    }, None


def run(command: dict) -> dict:
    # No (de)serializers: requests and replies are raw bytes (greeter_wire encodes them).
    call = channel_for(command["target"]).unary_unary(f"/{SERVICE}/{command['method']}")
    request = encode_hello_request(command["name"])
    metadata = tuple(command["metadata"].items())
    timeout = command["deadlineMs"] / 1000
    result = {
        "id": command["id"],
        "target": command["target"],
        "method": command["method"],
        "ok": 0,
        "counts": {},
        "errors": {},
        "errorSamples": [],
        "elapsedMs": 0,
    }
    lock = threading.Lock()
    handed_out = 0

    def take() -> bool:
        nonlocal handed_out
        with lock:
            if handed_out >= command["calls"] or closing.is_set():
                return False
            handed_out += 1
            return True

    def worker() -> None:
        while take():
            try:
                reply = call(
                    request, timeout=timeout, metadata=metadata, wait_for_ready=command["waitForReady"]
                )
                backend = decode_hello_reply(reply)[1] or "(empty)"
                with lock:
                    result["ok"] += 1
                    result["counts"][backend] = result["counts"].get(backend, 0) + 1
            except grpc.RpcError as error:
                code = error.code().name
                sample = f"{code}: {error.details()}"
                with lock:
                    result["errors"][code] = result["errors"].get(code, 0) + 1
                    samples = result["errorSamples"]
                    if len(samples) < MAX_ERROR_SAMPLES and sample not in samples:
                        samples.append(sample)

    started = time.monotonic()
    workers = [threading.Thread(target=worker, daemon=True) for _ in range(command["concurrency"])]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    result["elapsedMs"] = round((time.monotonic() - started) * 1000)
    return result


def handle(line: str, tasks: list[threading.Thread]) -> None:
    if not line.strip():
        return
    command, error = parse_command(line)
    if error is not None:
        emit(error)
        return

    def task() -> None:
        try:
            emit(run(command))
        except Exception as failure:  # one command's failure is reported, not fatal
            emit({"id": command["id"], "error": repr(failure)})

    thread = threading.Thread(target=task, daemon=True)
    thread.start()
    tasks.append(thread)


def main() -> int:
    emit(
        {
            "msg": "xds client ready",
            "bootstrap": os.environ.get("GRPC_XDS_BOOTSTRAP"),
            "grpcVersion": grpc.__version__,
        }
    )
    tasks: list[threading.Thread] = []
    for line in iter(sys.stdin.readline, ""):
        handle(line, tasks)
    # stdin closed: finish what was asked, within bounds.
    drain_until = time.monotonic() + DRAIN_SECONDS
    for thread in tasks:
        thread.join(max(0.0, drain_until - time.monotonic()))
    closing.set()
    # After `closing`, every call in flight ends by its deadline.
    give_up = time.monotonic() + MAX_DEADLINE_MS / 1000 + 5
    for thread in tasks:
        thread.join(max(0.0, give_up - time.monotonic()))
    finished = not any(thread.is_alive() for thread in tasks)
    with channels_lock:
        for channel in channels.values():
            channel.close()
    return 0 if finished else 1


if __name__ == "__main__":
    sys.exit(main())
