"""Hostile callers and faults, from outside the process (issue 15): idle and header-only streams,
a worker's memory under declared-but-unsent payloads, the controller's bounded state, TLS, and
no orphans when the ``run`` driver is killed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import grpc
import numpy as np
import pytest

from splitinfer.runtime.client import ControllerClient, WorkerClient
from splitinfer.runtime.controller import Controller
from splitinfer.runtime.launch import cli_argv
from splitinfer.runtime.transport import (
    CONTROLLER_SERVICE,
    WORKER_SERVICE,
    ClientTLS,
    ServerTLS,
    TLSFiles,
    make_server,
)
from splitinfer.runtime.wire import (
    HEADER,
    KIND_CONTROL,
    KIND_REQUEST,
    Limits,
    encode_frame,
)
from splitinfer.runtime.worker import Worker, WorkerConfig
from splitinfer.system.entities import Task
from splitinfer.system.load import scenario_from_dict

FIRST_CHUNK_S, IDLE_S, MAX_STREAMS = 4.0, 3.0, 48  # the test worker's settings; 36 per peer
PER_PEER = 3 * MAX_STREAMS // 4


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _wait_file(path: Path, proc: subprocess.Popen, timeout: float = 180.0) -> dict:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"process exited with {proc.returncode}"
        assert time.monotonic() < deadline, f"no {path} after {timeout} s"
        time.sleep(0.1)
    time.sleep(0.05)
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    """A ``splitinfer serve worker`` process (lenet5, no token) with short receive deadlines."""
    d = tmp_path_factory.mktemp("worker")
    argv = cli_argv("serve", "worker", "--models", "lenet5", "--node", "edge", "--port", "0",
                    "--ready-file", str(d / "ready.json"), "--max-streams", str(MAX_STREAMS),
                    "--first-chunk-timeout", str(FIRST_CHUNK_S), "--idle-timeout", str(IDLE_S))
    with open(d / "log", "wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=_env())
    try:
        port = _wait_file(d / "ready.json", proc)["port"]
        yield {"pid": proc.pid, "addr": f"127.0.0.1:{port}", "log": d / "log"}
    finally:
        proc.terminate()
        proc.wait(10)


def _frame(nbytes: int = 4096, **meta) -> bytes:
    return encode_frame({"key": "k", "stage": 0, **meta}, np.zeros(nbytes, np.uint8),
                        KIND_REQUEST)


class _Stalled:
    """Streams that open and then send nothing, or only a first chunk, until released."""

    def __init__(self, addr: str, method: str, first: bytes | None, n: int, per_channel: int):
        self.release = threading.Event()
        self.results: list = [None] * n
        self.ended: list = [None] * n
        own = [("grpc.use_local_subchannel_pool", 1)]  # one connection per channel
        self.channels = [grpc.insecure_channel(addr, options=own)
                         for _ in range(-(-n // per_channel))]
        self.threads = [threading.Thread(target=self._call, args=(i, method, first, per_channel),
                                         daemon=True) for i in range(n)]
        self.t0 = time.monotonic()
        for t in self.threads:
            t.start()

    def _call(self, i, method, first, per_channel):
        def chunks():
            if first is not None:
                yield first
            self.release.wait(60)

        call = self.channels[i // per_channel].stream_unary(f"/{WORKER_SERVICE}/{method}")
        try:
            call(chunks(), timeout=60)
            self.results[i] = "OK"
        except grpc.RpcError as exc:
            self.results[i] = exc.code()
        self.ended[i] = time.monotonic() - self.t0

    def finish(self, timeout: float) -> None:
        for t in self.threads:
            t.join(timeout)
        self.release.set()
        for c in self.channels:
            c.close()


def _info(addr: str, timeout: float = 2.0) -> dict:
    return WorkerClient(addr, Limits(), tls=None).info(timeout=timeout)


def _sink(client: WorkerClient, timeout: float) -> float:
    t = time.monotonic()
    receipt, _ = client.sink(_frame(200_000), None, timeout=timeout)
    assert receipt["bytes"] > 200_000
    return time.monotonic() - t


def test_idle_streams_cost_only_their_own_streams(worker):
    addr = worker["addr"]
    client = WorkerClient(addr, Limits(), tls=None)
    # a few stalled clients: another client's stream is served within its deadline
    few = _Stalled(addr, "Deliver", _frame()[:HEADER.size + 100], 6, per_channel=6)
    time.sleep(0.5)
    assert _sink(client, timeout=5.0) < 5.0
    few.finish(FIRST_CHUNK_S + 10)
    assert few.results == [grpc.StatusCode.DEADLINE_EXCEEDED] * 6
    # a flood past every cap, spread over connections: streams that send a header (and metadata)
    # and then nothing. (gRPC's Python client sends a call's headers with its first message, so
    # a stream that sends nothing at all never reaches the server from here; the first-chunk
    # deadline covers HTTP/2 clients that do send bare headers.)
    header_only = _frame(1 << 20)[:HEADER.size + 100]
    flood = [_Stalled(addr, "Deliver", header_only, 30, per_channel=10) for _ in range(2)]
    time.sleep(1.5)
    t = time.monotonic()
    info = _info(addr, timeout=2.0)  # the free lane: served while every slot is held
    assert info["name"] == "edge" and time.monotonic() - t < 2.0
    refused = [r for f in flood for r in f.results if r is not None]
    assert len(refused) >= 60 - PER_PEER
    assert set(refused) == {grpc.StatusCode.RESOURCE_EXHAUSTED}
    for f in flood:
        f.finish(FIRST_CHUNK_S + 15)
    results = [r for f in flood for r in f.results]
    assert results.count(grpc.StatusCode.DEADLINE_EXCEEDED) >= PER_PEER - 2
    assert set(results) <= {grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.DEADLINE_EXCEEDED}
    ended = [e for f in flood for e in f.ended]
    assert max(ended) < FIRST_CHUNK_S + 10  # the stalled streams were cut, not left hanging
    # and the worker serves streams again at once
    assert _sink(client, timeout=5.0) < 5.0
    assert _info(addr)["stats"].get("rejected", 0) >= PER_PEER - 2 + 6
    client.close()


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_header_only_streams_do_not_take_memory(worker):
    pid, addr = worker["pid"], worker["addr"]
    declared = 60 * 2**20  # each header declares 60 MiB (the limit is 64 MiB)
    head = HEADER.pack(b"SIF1", 1, KIND_REQUEST, 6, 1, 2, declared, declared, *[0] * 7) + b"{}"
    before = _rss_kib(pid)
    streams = _Stalled(addr, "Sink", head, 30, per_channel=10)  # 1.8 GB declared in all
    time.sleep(2.0)
    during = _rss_kib(pid)
    assert during - before < 64 * 1024, (before, during)
    # streams that send part of their payload hold what they sent, no more
    part = head + b"\x00" * (4 * 2**20)
    streams.finish(FIRST_CHUNK_S + 15)
    partial = _Stalled(addr, "Sink", part, 8, per_channel=8)
    time.sleep(2.0)
    held = _rss_kib(pid)
    assert held - before < (8 * 4 + 96) * 1024, (before, held)
    partial.finish(FIRST_CHUNK_S + 15)
    assert set(streams.results) | set(partial.results) <= {
        grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED}
    assert _info(addr)["name"] == "edge"


# ------------------------------------------------------------------------------ controller
_SC = {"nodes": [{"name": "d", "kind": "device", "compute": {"flops_per_s": 1e9}},
                 {"name": "e", "kind": "edge", "compute": {"flops_per_s": 1e11}}],
       "links": [{"src": "d", "dst": "e", "bandwidth": "100Mbps"}],
       "models": {"m": {"cuts": [{"transfer_bytes": 1e3},
                                 {"transfer_bytes": 10, "head_flops": 1e9}]}},
       "workload": {"tasks": [{"device": "d", "model": "m"}]}}


def test_controller_state_is_bounded_by_count_and_age():
    ctl = Controller(scenario_from_dict(_SC), "gspi-online", max_records=300, max_age_s=3600)
    for i in range(3000):
        ctl.decide(Task(f"flood-{i}", i, "d", "m", 0.01 * i), now=0.01 * i)
        if i % 2:
            assert ctl.report(f"flood-{i}", 0.5, fallback=i % 4 == 1)
    assert len(ctl.decided) == 300 and len(ctl.finished) <= 300 and len(ctl.reports) <= 300
    assert ctl.evicted == 2700
    assert not ctl.report("never-decided", 1.0) and "never-decided" not in ctl.finished
    assert not ctl.report("flood-1", 1.0)  # evicted long ago
    aged = Controller(scenario_from_dict(_SC), "gspi-online", max_age_s=0.2)
    for i in range(20):
        aged.decide(Task(f"a{i}", i, "d", "m", 0.01 * i), now=0.01 * i)
    time.sleep(0.3)
    aged.decide(Task("fresh", 99, "d", "m", 1.0), now=1.0)
    assert list(aged.decided) == ["fresh"]


def test_unauthenticated_or_unknown_calls_store_nothing():
    ctl = Controller(scenario_from_dict(_SC), "gspi-online", token="s3cret")
    server, port = ctl.serve("127.0.0.1:0")
    try:
        stranger = ControllerClient(f"127.0.0.1:{port}", token=None, tls=None)
        for i in range(50):
            with pytest.raises(grpc.RpcError) as info:
                stranger.decide(Task(f"x{i}", i, "d", "m", 0.0), now=0.0)
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
            with pytest.raises(grpc.RpcError):
                stranger.report(f"x{i}", 1.0)
        member = ControllerClient(f"127.0.0.1:{port}", token="s3cret", tls=None)
        with pytest.raises(grpc.RpcError) as info:
            member.report("not-decided", 1.0)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        assert (len(ctl.decided), len(ctl.finished), len(ctl.reports)) == (0, 0, 0)
        member.decide(Task("t0", 0, "d", "m", 0.0), now=0.0)
        member.report("t0", 1.0, fallback=True)
        assert member.info()["fallbacks"] == 1 and list(ctl.finished) == ["t0"]
        stranger.close()
        member.close()
    finally:
        server.stop(None)


def test_controller_rejects_hostile_metadata_as_invalid_argument():
    ctl = Controller(scenario_from_dict(_SC), "gspi-online")
    server, port = ctl.serve("127.0.0.1:0")
    chan = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        call = chan.unary_unary(f"/{CONTROLLER_SERVICE}/Decide")
        for meta in (b"[" * 20_000 + b"]" * 20_000, b'{"now": ' + b"7" * 6000 + b"}",
                     b'{"task": {"id": "t", "index": 0, "device": "d", "model": "m", '
                     b'"arrival": ' + b"1" + b"0" * 400 + b', "samples": 1}, "now": 0}'):
            frame = HEADER.pack(b"SIF1", 1, KIND_CONTROL, 0, 0, len(meta), 0, *[0] * 8) + meta
            with pytest.raises(grpc.RpcError) as info:
                call(frame, timeout=5)
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
        assert len(ctl.decided) == 0 and ctl.rejected == 3
    finally:
        chan.close()
        server.stop(None)


# ------------------------------------------------------------------------------------- TLS
def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """A throwaway CA, a server certificate (localhost, 127.0.0.1) and a client certificate;
    a second CA that signed nothing here."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make test certificates")
    d = tmp_path_factory.mktemp("certs")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "other-ca"):
        _openssl("req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "2",
                 "-subj", f"/CN=splitinfer test {ca}", "-addext",
                 "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=keyCertSign,cRLSign",
                 cwd=d)
    exts = {"server": "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
            "client": "extendedKeyUsage=clientAuth\n"}
    for name, ext in exts.items():
        (d / f"{name}.ext").write_text(ext)
        _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj",
                 f"/CN={'localhost' if name == 'server' else 'device'}", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile",
                 f"{name}.ext", cwd=d)
    return d


def _tls_worker(certs: Path, mutual: bool):
    worker = Worker(WorkerConfig(name="edge", models=()), pieces={})
    tls = ServerTLS.from_files(certs / "server.pem", certs / "server.key",
                               certs / "ca.pem" if mutual else None)
    server, port = make_server(WORKER_SERVICE, worker.handlers(), "127.0.0.1:0", Limits(),
                               tls=tls)
    return server, f"127.0.0.1:{port}"


def test_tls_server_and_clients(certs):
    server, addr = _tls_worker(certs, mutual=False)
    try:
        good = WorkerClient(addr, Limits(), tls=ClientTLS.from_files(certs / "ca.pem"))
        assert good.info(timeout=5)["name"] == "edge"
        receipt, _ = good.sink(encode_frame({}, np.ones(1000, np.uint8), KIND_REQUEST), None, 5)
        assert receipt["bytes"] > 1000
        for bad in (None, ClientTLS.from_files(certs / "other-ca.pem")):
            with pytest.raises(grpc.RpcError) as info:
                WorkerClient(addr, Limits(), tls=bad).info(timeout=3)
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        good.close()
    finally:
        server.stop(None)


def test_mutual_tls_requires_a_client_certificate(certs):
    server, addr = _tls_worker(certs, mutual=True)
    try:
        with pytest.raises(grpc.RpcError) as info:
            WorkerClient(addr, Limits(), tls=ClientTLS.from_files(certs / "ca.pem")).info(3)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        tls = ClientTLS.from_files(certs / "ca.pem", certs / "client.pem", certs / "client.key")
        assert WorkerClient(addr, Limits(), tls=tls).info(timeout=5)["name"] == "edge"
    finally:
        server.stop(None)


def test_client_tls_from_environment(certs, monkeypatch):
    server, addr = _tls_worker(certs, mutual=False)
    try:
        monkeypatch.setenv("SPLITINFER_TLS_CA", str(certs / "ca.pem"))
        assert WorkerClient(addr, Limits()).info(timeout=5)["name"] == "edge"
        monkeypatch.setenv("SPLITINFER_TLS_SERVER_NAME", "not-in-the-certificate")
        with pytest.raises(grpc.RpcError):
            WorkerClient(addr, Limits()).info(timeout=3)
    finally:
        server.stop(None)


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(cli_argv(*args), capture_output=True, text=True, timeout=timeout,
                          env=_env())


@pytest.mark.parametrize("extra, words", [
    ((), "without TLS (--tls-cert/--tls-key) and a token"),
    (("--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"),
     "cannot read the TLS certificate /nonexistent.pem"),
])
def test_serve_refuses_exposed_plaintext_and_bad_files(tmp_path, extra, words):
    scen = tmp_path / "s.json"
    scen.write_text(json.dumps(_SC))
    r = _cli("serve", "controller", "--scenario", str(scen), "--planner", "local", "--port", "0",
             "--host", "0.0.0.0", *extra)
    assert r.returncode == 2 and words in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


# ----------------------------------------------------------------------- run: TLS, orphans
def _run_scenario(n_tasks: int, gap: float) -> dict:
    return {"name": "hostile-run",
            "nodes": [{"name": "phone", "kind": "device", "compute": {"hardware": "cpu-1t"}},
                      {"name": "edge", "kind": "edge", "compute": {"hardware": "cpu-1t"}}],
            "links": [{"src": "phone", "dst": "edge", "bandwidth": "50Mbps", "latency": "2ms"}],
            "models": {"lenet5": {"profile": "lenet5@cpu-1t",
                                  "profiles": {"cpu-1t": "lenet5@cpu-1t"}}},
            "workload": {"tasks": [{"device": "phone", "model": "lenet5", "arrival": f"{gap * i}s"}
                                   for i in range(n_tasks)]}}


@pytest.mark.slow
def test_run_end_to_end_over_mutual_tls(certs, tmp_path):
    from splitinfer.runtime.run import RunOptions, run_scenario

    tls = TLSFiles(str(certs / "ca.pem"), str(certs / "server.pem"), str(certs / "server.key"),
                   str(certs / "ca.pem"), str(certs / "client.pem"), str(certs / "client.key"))
    options = RunOptions(planner="edge", out_dir=tmp_path, compute="shipped", verify=True,
                         calibrate_links=False, token="run-secret", deadline_s=10.0, tls=tls)
    report = run_scenario(_run_scenario(4, 0.05), options)
    assert report.summary()["lost"] == 0
    assert [r["nodes"] for r in report.rows] == [["phone", "edge"]] * 4
    assert not any(r["fallback"] or r["decided_by"] != "controller" for r in report.rows)
    assert report.summary()["verified"]["equal"] == 4
    assert "(TLS)" in (tmp_path / "logs" / "worker-edge.log").read_text()


def _children_of(run_dir: Path) -> list[int]:
    """Pids of live processes whose command line names ``run_dir`` (the run's processes)."""
    mark = str(run_dir).encode()
    pids = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit() or int(p.name) == os.getpid():
            continue
        try:
            cmd = (p / "cmdline").read_bytes()
            state = next((ln for ln in (p / "status").read_text().splitlines()
                          if ln.startswith("State:")), "")
        except OSError:
            continue
        if mark in cmd and "zombie" not in state:
            pids.append(int(p.name))
    return pids


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killing_run_leaves_no_process_and_frees_ports(tmp_path, sig):
    scen = tmp_path / "scenario.json"
    scen.write_text(json.dumps(_run_scenario(60, 1.0)))  # a minute of tasks: killed mid-run
    out = tmp_path / "run"
    driver = subprocess.Popen(cli_argv("run", str(scen), "--planner", "edge", "--compute",
                                       "shipped", "--no-link-calibration", "--out", str(out)),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=_env())
    try:
        _wait_file(out / "files" / "go", driver, timeout=300)
        port = json.loads((out / "files" / "ready-edge").read_text())["port"]
        time.sleep(1.0)
        assert len(_children_of(out)) >= 3  # worker, controller, device
        driver.send_signal(sig)
        _, stderr = driver.communicate(timeout=60)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    if sig == signal.SIGTERM:
        assert driver.returncode == 130 and "Traceback" not in stderr, stderr
        assert "interrupted" in stderr
    # a killed process first drops its memory (and /proc cmdline), then its sockets: wait for both
    deadline = time.monotonic() + 20
    while (_children_of(out) or _listening(port)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _children_of(out) == []
    assert not _listening(port), _listening(port)  # nobody listens on the worker's port


def _listening(port: int) -> list[str]:
    """Lines of /proc/net/tcp{,6} for sockets in LISTEN state on ``port``."""
    hits = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            f = row.split()
            if f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:
                hits.append(row.strip())
    return hits


@pytest.mark.netns
def test_namespaces_of_a_killed_owner_are_swept():
    from splitinfer.runtime.netns import OWNERS, NetnsTopology, netns_permitted

    if not netns_permitted():
        pytest.skip("ip netns add is not permitted")
    sc = scenario_from_dict(_SC)
    orphan = NetnsTopology(sc)
    orphan.create()
    names = list(orphan.namespaces.values())
    gone = subprocess.Popen(["true"])  # a pid that has exited
    gone.wait()
    (OWNERS / orphan.prefix).write_text(str(gone.pid))  # as if its owner had been SIGKILLed
    fresh = NetnsTopology(sc)
    try:
        fresh.create()
        listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert not any(n in listing.split() for n in names)
        assert all(n in listing for n in fresh.namespaces.values())
        assert not (OWNERS / orphan.prefix).exists()
    finally:
        fresh.delete()
        orphan.delete()
