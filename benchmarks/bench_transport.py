"""Transport goodput of the runtime (issue 9): unshaped loopback, and against a shaped link.

1. Unshaped loopback: a float32 tensor of 1 KB .. 10 MB streamed to a worker's ``Sink`` (the
   real wire format, chunking, validation and gRPC path of an ``Infer`` request); goodput =
   tensor bytes / (time until the worker has the last byte). Median of several sends.
2. Shaped: the same through the in-process token bucket at a configured rate; the goodput as a
   fraction of that rate (target >= 90 %).

Prints a markdown table and writes ``benchmarks/results/transport.json``. Run:
``.venv/bin/python benchmarks/bench_transport.py``.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from splitinfer.runtime.client import WorkerClient
from splitinfer.runtime.shaping import LinkShaper
from splitinfer.runtime.wire import KIND_REQUEST, Limits, encode_frame
from splitinfer.runtime.worker import Worker, WorkerConfig

SIZES = [1_000, 10_000, 100_000, 1_000_000, 10_000_000]
SHAPED = [(10e6, 1_000_000), (50e6, 2_000_000), (200e6, 5_000_000)]  # (bit/s, bytes)


def _send(client: WorkerClient, nbytes: int, shaper: LinkShaper | None) -> float:
    x = np.zeros(nbytes // 4, np.float32)
    frame = encode_frame({"probe": nbytes}, x, KIND_REQUEST)
    receipt, sent = client.sink(frame, shaper, timeout=60)
    return float(receipt["received"]) - sent.start


def main() -> dict:
    limits = Limits(max_payload_bytes=64 * 2**20)
    worker = Worker(WorkerConfig(name="bench", models=(), limits=limits), pieces={})
    server, port = worker.serve("127.0.0.1:0")
    client = WorkerClient(f"127.0.0.1:{port}", limits, chunk_bytes=256 * 1024)
    rows = []
    try:
        _send(client, 1000, None)  # connect
        for n in SIZES:
            reps = 20 if n <= 100_000 else 5
            times = [_send(client, n, None) for _ in range(reps)]
            t = statistics.median(times)
            rows.append({"mode": "loopback", "bytes": n, "rate_bps": None, "seconds": t,
                         "goodput_bps": 8 * n / t, "fraction_of_rate": None, "repeats": reps})
        for rate, n in SHAPED:
            shaper = LinkShaper(rate=rate, chunk_bytes=64 * 1024)
            times = [_send(client, n, shaper) for _ in range(3)]
            t = statistics.median(times)
            rows.append({"mode": "bucket", "bytes": n, "rate_bps": rate, "seconds": t,
                         "goodput_bps": 8 * n / t, "fraction_of_rate": 8 * n / t / rate,
                         "repeats": 3})
    finally:
        client.close()
        server.stop(None)
    print("| mode | tensor | configured rate | time | goodput | of rate |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        rate = f"{r['rate_bps'] / 1e6:.0f} Mbit/s" if r["rate_bps"] else "-"
        frac = f"{100 * r['fraction_of_rate']:.1f} %" if r["fraction_of_rate"] else "-"
        print(f"| {r['mode']} | {r['bytes'] / 1e3:g} kB | {rate} | {r['seconds'] * 1e3:.2f} ms "
              f"| {r['goodput_bps'] / 1e6:.1f} Mbit/s | {frac} |")
    out = {"benchmark": "transport", "rows": rows, "load": list(os.getloadavg()),
           "cores": os.cpu_count(), "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
    path = Path(__file__).parent / "results" / "transport.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
