"""Kernel-mode shaping: namespaces, veth pairs, tc tbf (skipped where not permitted)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from splitinfer.runtime.netns import CONTROLLER_NODE, NetnsTopology, netns_permitted
from splitinfer.system.load import scenario_from_dict

pytestmark = [pytest.mark.netns,
              pytest.mark.skipif(not netns_permitted(), reason="ip netns add is not permitted")]

_SERVER = """
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 47001)); s.listen(1); print("ready", flush=True)
c, _ = s.accept(); n = 0; t0 = None
while True:
    b = c.recv(65536)
    if not b: break
    t0 = t0 or time.monotonic(); n += len(b)
print(n, time.monotonic() - t0, flush=True)
"""
_CLIENT = """
import socket, sys
c = socket.create_connection((sys.argv[1], 47001), timeout=10)
c.sendall(b"x" * int(sys.argv[2])); c.close()
"""


def _scenario():
    return scenario_from_dict({
        "nodes": [{"name": "phone", "kind": "device", "compute": {"flops_per_s": 1e9}},
                  {"name": "edge", "kind": "edge", "compute": {"flops_per_s": 1e9}}],
        "links": [{"src": "phone", "dst": "edge", "bandwidth": "8Mbps", "latency": "1ms"}],
        "models": {"m": {"cuts": [{"transfer_bytes": 1}, {"transfer_bytes": 1}]}},
        "workload": {"tasks": [{"device": "phone", "model": "m"}]}})


def _namespaces() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def test_tbf_shapes_a_tcp_transfer_and_everything_is_removed():
    topo = NetnsTopology(_scenario())
    try:
        topo.create()
        assert all(ns in _namespaces() for ns in topo.namespaces.values())
        qdisc = subprocess.run([*topo.exec_prefix("phone"), "tc", "qdisc", "show"],
                               capture_output=True, text=True).stdout
        assert "tbf" in qdisc and "8Mbit" in qdisc
        server = subprocess.Popen([*topo.exec_prefix("edge"), sys.executable, "-c", _SERVER],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout.readline().strip() == "ready"
            nbytes = 500_000  # 0.5 s at 8 Mbit/s
            t0 = time.monotonic()
            subprocess.run([*topo.exec_prefix("phone"), sys.executable, "-c", _CLIENT,
                            topo.addresses[("phone", "edge")], str(nbytes)], check=True, timeout=30)
            got, _ = server.stdout.readline().split()
            elapsed = time.monotonic() - t0
        finally:
            server.kill()
            server.wait()
        assert int(got) == nbytes
        # shaped: close to 0.5 s (an unshaped veth would take a few ms); generous bounds
        assert 0.4 <= elapsed <= 2.0, elapsed
        assert (("phone", CONTROLLER_NODE) in topo.addresses)
    finally:
        topo.delete()
    assert not any(ns in _namespaces() for ns in topo.namespaces.values())


def test_failed_creation_cleans_up(monkeypatch):
    topo = NetnsTopology(_scenario())

    def broken(*args, **kwargs):
        raise subprocess.CalledProcessError(1, "tc")

    monkeypatch.setattr(topo, "_shape", broken)
    with pytest.raises(subprocess.CalledProcessError):
        topo.create()
    assert not any(ns in _namespaces() for ns in topo.namespaces.values())
