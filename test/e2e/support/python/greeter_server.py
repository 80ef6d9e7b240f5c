"""A plain gRPC Greeter backend on gRPC C-core (Python grpcio), no xDS on the server side.

The twin of examples/quickstart/greeter-server.ts, so the same e2e assertions apply:

  /usr/bin/python3 greeter_server.py --name v1 [--address 127.0.0.1:0] [--fail-rate 0.3] [--delay-ms 400]

Prints {"msg":"greeter listening","name":...,"address":"127.0.0.1:PORT",...} once bound (port 0
picks a free port). Every reply waits --delay-ms, then fails with UNAVAILABLE with probability
--fail-rate, else answers with `backend` = --name. SIGUSR1 makes every call fail with UNAVAILABLE
(a sick backend, for outlier detection), SIGUSR2 makes it healthy again; each prints a JSON line.
SIGTERM/SIGINT: graceful shutdown (bounded), "greeter stopped", exit 0.
"""

import argparse
import json
import random
import re
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc

from greeter_wire import METHODS, SERVICE, decode_hello_request, encode_hello_reply

# Calls in flight at once; tests run at most a few dozen, a delayed call holds a worker.
MAX_WORKERS = 64
GRACE_SECONDS = 3


def emit(line: dict) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def fatal(message: str, **extra) -> None:
    sys.stderr.write(json.dumps({"msg": message, **extra}) + "\n")
    sys.exit(1)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Greeter backend for the meshplane e2e tests")
    parser.add_argument("--name", required=True)
    parser.add_argument("--address", default="127.0.0.1:0")
    parser.add_argument("--fail-rate", default="0")
    parser.add_argument("--delay-ms", default="0")
    args = parser.parse_args()
    try:
        args.fail_rate = float(args.fail_rate)
    except ValueError:
        args.fail_rate = -1.0
    if not 0 <= args.fail_rate <= 1:
        fatal("--fail-rate must be a number in [0, 1]")
    if not re.fullmatch(r"\d{1,5}", args.delay_ms) or int(args.delay_ms) > 60_000:
        fatal("--delay-ms must be an integer number of milliseconds in [0, 60000]")
    args.delay_ms = int(args.delay_ms)
    match = re.fullmatch(r"(127\.0\.0\.1|\[::1\]|localhost):(\d{1,5})", args.address)
    if not match:
        fatal("--address must be a loopback HOST:PORT such as 127.0.0.1:20061", address=args.address)
    args.host = match.group(1)
    return args


# Handled one at a time on the main thread (sigwait), never inside a write in progress.
HANDLED_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2}


def main() -> None:
    # Before any thread exists, so gRPC's threads inherit the mask and the signals queue for sigwait.
    signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED_SIGNALS)
    args = parse_args()
    sick = threading.Event()

    def handler(verb: str):
        def answer(request: bytes, context: grpc.ServicerContext) -> bytes:
            if args.delay_ms > 0:
                time.sleep(args.delay_ms / 1000)
            if sick.is_set():
                context.abort(grpc.StatusCode.UNAVAILABLE, f"{args.name} is sick (SIGUSR1)")
            if args.fail_rate > 0 and random.random() < args.fail_rate:
                context.abort(
                    grpc.StatusCode.UNAVAILABLE,
                    f"injected failure at {args.name} (fail-rate {args.fail_rate:g})",
                )
            try:
                who = decode_hello_request(request) or "stranger"
            except ValueError as error:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"bad HelloRequest: {error}")
            return encode_hello_reply(f"{verb}, {who}, from {args.name}", args.name)

        # No (de)serializers: the handler gets and returns raw bytes.
        return grpc.unary_unary_rpc_method_handler(answer)

    verbs = {"SayHello": "Hello", "SayGoodbye": "Goodbye"}
    handlers = {method: handler(verbs[method]) for method in METHODS}
    # No SO_REUSEPORT (C-core's default): a busy port must fail, as it does for the grpc-js greeter.
    server = grpc.server(ThreadPoolExecutor(max_workers=MAX_WORKERS), options=[("grpc.so_reuseport", 0)])
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    try:
        port = server.add_insecure_port(args.address)
    except RuntimeError as error:
        fatal("greeter failed to bind", name=args.name, address=args.address, error=str(error))
    if port == 0:
        fatal("greeter failed to bind", name=args.name, address=args.address)
    server.start()

    emit(
        {
            "msg": "greeter listening",
            "name": args.name,
            "address": f"{args.host}:{port}",
            "failRate": args.fail_rate,
            "delayMs": args.delay_ms,
            "grpcVersion": grpc.__version__,
        }
    )
    while True:
        received = signal.sigwait(HANDLED_SIGNALS)
        if received == signal.SIGUSR1:
            sick.set()
            emit({"msg": "greeter sick", "name": args.name})
        elif received == signal.SIGUSR2:
            sick.clear()
            emit({"msg": "greeter healthy", "name": args.name})
        else:
            break
    # Calls in flight get GRACE_SECONDS, then are cancelled.
    server.stop(GRACE_SECONDS).wait(GRACE_SECONDS + 1)
    emit({"msg": "greeter stopped", "name": args.name, "signal": signal.Signals(received).name})


if __name__ == "__main__":
    main()
