#!/usr/bin/env python3
"""Throughput producer for bench/run.

Usage: producer.py K LINES [--hold SECONDS]

Writes LINES lines of exactly LINE_SIZE bytes (newline included) to standard output in fixed
BLOCK-byte write(2) calls, as C stdio does, so block boundaries split lines. After the last
line it writes ``BENCHDONE K`` and then sleeps (``--hold``, default 300 s) with its output
still open, so that a runner does not see it exit while its output is being measured.

Line K, I is ``T<K>:<I, 7 digits>:<payload>:E`` where the payload depends only on I, so
bench/run can check every line's content whatever prefix a runner adds (see ``line``).
"""

import argparse
import os
import sys
import time

LINE_SIZE = 100
BLOCK = 4096
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
# "T0:0000000:" is 11 bytes and ":E\n" is 3.
PAYLOAD = LINE_SIZE - 14
_WHEEL = ALPHABET * (PAYLOAD // len(ALPHABET) + 2)


def line(k: int, i: int) -> bytes:
    """Line I of producer K, without its newline."""
    start = i % len(ALPHABET)
    return f"T{k}:{i:07d}:{_WHEEL[start:start + PAYLOAD]}:E".encode()


def payload(k: int, lines: int) -> bytes:
    return b"".join(line(k, i) + b"\n" for i in range(lines))


def write_all(fd: int, data: memoryview) -> None:
    while data:
        written = os.write(fd, data)
        data = data[written:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("k", type=int, help="producer number (0-9)")
    parser.add_argument("lines", type=int, help="number of lines to write")
    parser.add_argument("--hold", type=float, default=300.0, help="seconds to sleep at the end")
    args = parser.parse_args()

    data = memoryview(payload(args.k, args.lines))
    whole = len(data) - len(data) % BLOCK
    fd = sys.stdout.fileno()
    for offset in range(0, whole, BLOCK):
        write_all(fd, data[offset:offset + BLOCK])
    write_all(fd, memoryview(bytes(data[whole:]) + f"BENCHDONE {args.k}\n".encode()))
    time.sleep(args.hold)
    return 0


if __name__ == "__main__":
    sys.exit(main())
