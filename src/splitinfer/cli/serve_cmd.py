"""``splitinfer serve worker|controller``, ``splitinfer device replay|infer`` and ``splitinfer run``.

Bodies parse options and call :mod:`splitinfer.runtime`; torch and grpc are imported only when a
command runs. Shared secrets come from ``--token-file`` or the ``SPLITINFER_TOKEN`` environment
variable, never from the command line.

Servers take TLS files (``--tls-cert/--tls-key``, ``--tls-client-ca`` for mutual TLS) and refuse
to bind an address other than loopback unless they have both TLS and a token, or are told
``--insecure``. Clients trust ``--tls-ca`` (set into ``SPLITINFER_TLS_CA`` for every client of the
process). ``splitinfer run`` stops all its processes on ``SIGTERM`` as on Ctrl-C.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from splitinfer.cli._app import app

serve_app = typer.Typer(help="Run a worker or the controller of the real system.",
                        no_args_is_help=True)
device_app = typer.Typer(help="The device client: replay a scenario's tasks, or one inference.",
                         no_args_is_help=True)
app.add_typer(serve_app, name="serve")
app.add_typer(device_app, name="device")

_TOKEN = typer.Option(None, "--token-file", help="File whose first line is the shared secret "
                      "(default: $SPLITINFER_TOKEN; none = no token).")
_READY = typer.Option(None, "--ready-file", help="Write this file once serving (for launchers).")
def _check_shaping(value: str) -> str:
    from splitinfer.runtime.shaping import SHAPING_MODES

    if value not in SHAPING_MODES:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(SHAPING_MODES)}")
    return value


_SHAPING = typer.Option("bucket", "--shaping", callback=_check_shaping,
                        help="bucket (in-process token bucket), kernel "
                        "(tc in namespaces; only latency/FIFO here) or none.")
_TLS_CERT = typer.Option(None, "--tls-cert", help="Serve TLS with this certificate (PEM chain).")
_TLS_KEY = typer.Option(None, "--tls-key", help="Private key of --tls-cert (PEM).")
_TLS_CLIENT_CA = typer.Option(None, "--tls-client-ca", help="Mutual TLS: require client "
                              "certificates signed by this CA (PEM).")
_TLS_CA = typer.Option(None, "--tls-ca", help="Call servers over TLS, trusting this CA (PEM); "
                       "default $SPLITINFER_TLS_CA.")
_TLS_CLIENT_CERT = typer.Option(None, "--tls-client-cert", help="Mutual TLS: the certificate "
                                "this process presents as a client.")
_TLS_CLIENT_KEY = typer.Option(None, "--tls-client-key", help="Key of --tls-client-cert.")
_TLS_NAME = typer.Option(None, "--tls-server-name", help="Name to check in servers' "
                         "certificates instead of the address dialled.")
_INSECURE = typer.Option(False, "--insecure", help="Allow binding a non-loopback address "
                         "without TLS and a token (the traffic and the token are readable).")
_MAX_STREAMS = typer.Option(64, "--max-streams", help="Calls that may hold a thread (streams, "
                            "Run) served at once, 3/4 of them from one host; more are refused "
                            "with RESOURCE_EXHAUSTED. Info is always answered.")
_FIRST_CHUNK = typer.Option(30.0, "--first-chunk-timeout", help="A stream must send its first "
                            "chunk within this many seconds.")
_IDLE = typer.Option(10.0, "--idle-timeout", help="Longest pause between a stream's chunks (s).")


def _client_tls(ca: str | None, cert: str | None, key: str | None, name: str | None) -> None:
    """Make every client of this process use TLS (checked now: one line if a file is bad)."""
    import os

    from splitinfer.runtime.transport import ClientTLS

    if ca:
        ClientTLS.from_files(ca, cert, key, name)
        os.environ["SPLITINFER_TLS_CA"] = ca
        if cert and key:
            os.environ["SPLITINFER_TLS_CLIENT_CERT"] = cert
            os.environ["SPLITINFER_TLS_CLIENT_KEY"] = key
        if name:
            os.environ["SPLITINFER_TLS_SERVER_NAME"] = name
    elif cert or key or name:
        raise typer.BadParameter("--tls-client-cert/--tls-client-key/--tls-server-name need "
                                 "--tls-ca")
    else:
        ClientTLS.from_env()  # a bad $SPLITINFER_TLS_CA is reported now, not on the first call


def _server_security(host: str, cert: str | None, key: str | None, client_ca: str | None,
                     token: str | None, insecure: bool):
    """The server's TLS (or None), refusing an exposed plaintext or tokenless server."""
    from splitinfer.cli import UserError
    from splitinfer.runtime.transport import ServerTLS, is_loopback

    if bool(cert) != bool(key):
        raise typer.BadParameter("--tls-cert and --tls-key go together")
    if client_ca and not cert:
        raise typer.BadParameter("--tls-client-ca needs --tls-cert and --tls-key")
    tls = ServerTLS.from_files(cert, key, client_ca) if cert else None
    if not is_loopback(host) and not (tls is not None and token) and not insecure:
        missing = " and ".join(w for w, ok in (("TLS (--tls-cert/--tls-key)", tls is not None),
                                                ("a token (--token-file)", bool(token))) if not ok)
        raise UserError(f"refusing to serve on {host} without {missing}: anyone on the network "
                        "could read or replay the calls; add them, bind 127.0.0.1, or pass "
                        "--insecure")
    return tls


def _policy(max_streams: int, first_chunk: float, idle: float):
    from splitinfer.runtime.transport import ServerPolicy

    try:
        return ServerPolicy(max_streams=max_streams,
                            max_streams_per_peer=max(1, min(max_streams, 3 * max_streams // 4)),
                            first_chunk_s=first_chunk, idle_s=idle)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    out = {}
    for v in values or []:
        if "=" not in v:
            raise typer.BadParameter(f"{what} must be NAME=VALUE, got {v!r}")
        k, val = v.split("=", 1)
        out[k.strip()] = val.strip()
    return out


def _ready(path: Path | None, **info) -> None:
    if path is not None:
        from splitinfer.runtime.replay import write_json_atomic

        write_json_atomic(path, info)


def _threads(n: int) -> None:
    """torch's intra-op threads, and the runtime's GIL switch interval
    (:func:`splitinfer.runtime.launch.fine_switching`)."""
    import torch

    from splitinfer.runtime.launch import fine_switching

    torch.set_num_threads(n)
    fine_switching()


@serve_app.command("worker")
def serve_worker(
    models: str = typer.Option(..., "--models", help="Comma-separated model names."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    port: int = typer.Option(..., "--port", min=0, max=65535,
                              help="Port (0 = any free port)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    concurrency: int = typer.Option(1, "--concurrency", help="Pieces computed at once (0 = no limit)."),
    node: str = typer.Option("worker", "--node", help="This worker's node name in the scenario."),
    scenario: str = typer.Option(None, "--scenario", help="Scenario whose links this worker shapes."),
    peer: list[str] = typer.Option(None, "--peer", help="NODE=HOST:PORT of a next-tier worker."),
    shaping: str = _SHAPING,
    kernel_delay: bool = typer.Option(False, "--kernel-delay", help="netem adds link latency."),
    token_file: str = _TOKEN,
    ready_file: Path = _READY,
    threads: int = typer.Option(1, "--threads", min=1, help="torch intra-op threads."),
    max_payload: int = typer.Option(64 * 2**20, "--max-payload", min=1,
                                     help="Largest tensor accepted (bytes)."),
    seed: int = typer.Option(0, "--seed", help="Parameter seed of the models."),
    tls_cert: str = _TLS_CERT,
    tls_key: str = _TLS_KEY,
    tls_client_ca: str = _TLS_CLIENT_CA,
    tls_ca: str = _TLS_CA,
    tls_client_cert: str = _TLS_CLIENT_CERT,
    tls_client_key: str = _TLS_CLIENT_KEY,
    tls_server_name: str = _TLS_NAME,
    insecure: bool = _INSECURE,
    max_streams: int = _MAX_STREAMS,
    first_chunk_timeout: float = _FIRST_CHUNK,
    idle_timeout: float = _IDLE,
    calibrate_out: Path = typer.Option(None, "--calibrate-out", help="Before serving, time "
                                       "every cut's tail of every model in this process and "
                                       "write them here (JSON; `run` predicts with them)."),
    calibrate_repeats: int = typer.Option(3, "--calibrate-repeats", min=1, help="Passes of "
                                          "--calibrate-out."),
    calibrate_quantile: float = typer.Option(0.5, "--calibrate-quantile", min=0.0, max=1.0,
                                             help="Which quantile of the passes is each "
                                             "piece's time (0.5: the median)."),
    calibrate_after: Path = typer.Option(None, "--calibrate-after", help="Start timing once "
                                         "this file exists (the run's load is up), at most "
                                         "120 s after warming up."),
    calibrate_gap: float = typer.Option(0.0, "--calibrate-gap", min=0.0, max=1.0,
                                        help="Seconds to wait before each timed piece."),
) -> None:
    """Serve model pieces: run the tail or a middle segment of each task, forward, return."""
    from splitinfer.runtime.transport import WORKER_SERVICE, make_server, read_token
    from splitinfer.runtime.wire import Limits
    from splitinfer.runtime.worker import Worker, WorkerConfig
    from splitinfer.system import load_scenario

    token = read_token(token_file)
    tls = _server_security(host, tls_cert, tls_key, tls_client_ca, token, insecure)
    policy = _policy(max_streams, first_chunk_timeout, idle_timeout)
    _client_tls(tls_ca, tls_client_cert, tls_client_key, tls_server_name)  # calls to its peers
    _threads(threads)
    config = WorkerConfig(name=node, models=tuple(m for m in models.split(",") if m),
                          device=device, concurrency=concurrency or None,
                          token=token, limits=Limits(max_payload_bytes=max_payload),
                          peers=_pairs(peer, "--peer"),
                          scenario=load_scenario(scenario) if scenario else None,
                          shaping=shaping, kernel_delay=kernel_delay, seed=seed)
    worker = Worker(config)
    worker.warm()
    if calibrate_out is not None:
        from splitinfer.runtime.calibrate import calibrate_worker

        calibrate_worker(worker.pieces, node, calibrate_out, calibrate_repeats,
                         calibrate_quantile, calibrate_after, gap_s=calibrate_gap)
    server, bound = make_server(WORKER_SERVICE, worker.handlers(), f"{host}:{port}",
                                config.limits, tls=tls, policy=policy)
    typer.echo(f"worker {node}: {', '.join(config.models)} on {device}, {host}:{bound}"
               f"{' (TLS)' if tls else ''}", err=True)
    _ready(ready_file, node=node, port=bound)
    server.wait_for_termination()


@serve_app.command("load", hidden=True)
def serve_load(
    models: str = typer.Option(..., "--models", help="Comma-separated model names."),
    stop_file: Path = typer.Option(..., "--stop-file", help="Stop once this file exists."),
    pace: list[str] = typer.Option(None, "--pace", help="MODEL=SECONDS each pass is held for."),
    ready_file: Path = _READY,
    timeout: float = typer.Option(120.0, "--timeout", min=0.0, help="Stop after this long."),
    threads: int = typer.Option(1, "--threads", min=1, help="torch intra-op threads."),
) -> None:
    """Compute as one of a run's devices would while the workers calibrate (used by `run`)."""
    from splitinfer.runtime.calibrate import device_load

    _threads(threads)
    paces = {}
    for k, v in _pairs(pace, "--pace").items():
        try:
            paces[k] = float(v)
        except ValueError:
            raise typer.BadParameter(f"--pace {k}={v}: not a number of seconds") from None
    device_load([m for m in models.split(",") if m], paces, stop_file, ready_file, timeout)


@serve_app.command("controller")
def serve_controller(
    scenario: str = typer.Option(..., "--scenario", help="The controller's view of the system."),
    planner: str = typer.Option(..., "--planner", help="Registered planner."),
    param: list[str] = typer.Option(None, "--param", help="Planner parameter key=value."),
    port: int = typer.Option(..., "--port", min=0, max=65535,
                              help="Port (0 = any free port)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    token_file: str = _TOKEN,
    ready_file: Path = _READY,
    wait: float = typer.Option(0.0, "--wait", help="Wait up to this many seconds for the "
                               "scenario file to appear (a launcher writes it later)."),
    tls_cert: str = _TLS_CERT,
    tls_key: str = _TLS_KEY,
    tls_client_ca: str = _TLS_CLIENT_CA,
    insecure: bool = _INSECURE,
    max_records: int = typer.Option(10_000, "--max-records", help="Most tasks whose decision "
                                    "and report are kept (oldest evicted)."),
) -> None:
    """Decide tasks for devices with an online planner (or a plan made up front)."""
    import time

    from splitinfer.experiments.compare import planner_params
    from splitinfer.runtime.controller import Controller
    from splitinfer.runtime.launch import fine_switching
    from splitinfer.runtime.transport import CONTROLLER_SERVICE, make_server, read_token
    from splitinfer.system import load_scenario

    fine_switching()
    token = read_token(token_file)
    tls = _server_security(host, tls_cert, tls_key, tls_client_ca, token, insecure)
    if max_records < 1:
        raise typer.BadParameter("--max-records must be at least 1")
    deadline = time.monotonic() + wait
    while wait and not Path(scenario).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    ctl = Controller(load_scenario(scenario), planner, planner_params(planner, param or []),
                     token=token, max_records=max_records)
    server, bound = make_server(CONTROLLER_SERVICE, ctl.handlers(), f"{host}:{port}", ctl.limits,
                                tls=tls)
    typer.echo(f"controller: {planner} ({'online' if ctl.online else 'offline plan'}) on "
               f"{host}:{bound}", err=True)
    _ready(ready_file, port=bound)
    server.wait_for_termination()


@device_app.command("replay")
def device_replay(
    scenario: str = typer.Option(..., "--scenario", help="Scenario (this device's tasks and links)."),
    node: str = typer.Option(..., "--node", help="This device's node name."),
    controller: str = typer.Option(None, "--controller", help="HOST:PORT of the controller."),
    worker: list[str] = typer.Option(None, "--worker", help="NODE=HOST:PORT of a worker."),
    shaping: str = _SHAPING,
    kernel_delay: bool = typer.Option(False, "--kernel-delay", help="netem adds link latency."),
    deadline: float = typer.Option(30.0, "--deadline", min=0.001,
                                   help="Deadline of each offload (s)."),
    fallback_planner: str = typer.Option("local", "--fallback-planner",
                                         help="Planner used when the controller is unreachable."),
    token_file: str = _TOKEN,
    ready_file: Path = _READY,
    go_file: Path = typer.Option(None, "--go-file", help="Wait for this file (holding the epoch)."),
    calibrate_out: Path = typer.Option(None, "--calibrate-out", help="Probe links, write samples."),
    out: Path = typer.Option(..., "--out", help="Outcome JSON file."),
    threads: int = typer.Option(1, "--threads", min=1, help="torch intra-op threads."),
    paced: str = typer.Option("", "--paced", help="Comma-separated nodes that run paced to "
                              "their scenario speed (slower than this machine)."),
    wait_workers: float = typer.Option(25.0, "--wait-workers",
                                       help="Seconds to wait for every worker to answer."),
    go_timeout: float = typer.Option(600.0, "--go-timeout", help="Seconds to wait for --go-file."),
    tls_ca: str = _TLS_CA,
    tls_client_cert: str = _TLS_CLIENT_CERT,
    tls_client_key: str = _TLS_CLIENT_KEY,
    tls_server_name: str = _TLS_NAME,
) -> None:
    """Replay this device's tasks: decide, run their stage graphs, fall back on faults."""
    from splitinfer.runtime.device import DeviceConfig
    from splitinfer.runtime.replay import device_process
    from splitinfer.runtime.transport import read_token
    from splitinfer.system import load_scenario

    _client_tls(tls_ca, tls_client_cert, tls_client_key, tls_server_name)
    _threads(threads)
    config = DeviceConfig(name=node, scenario=load_scenario(scenario),
                          workers=_pairs(worker, "--worker"), controller=controller,
                          token=read_token(token_file), shaping=shaping, kernel_delay=kernel_delay,
                          deadline_s=deadline, fallback_planner=fallback_planner,
                          paced=tuple(n for n in paced.split(",") if n))
    try:
        rows = device_process(config, out=out, ready_file=ready_file, go_file=go_file,
                              calibrate_out=calibrate_out, go_timeout=go_timeout,
                              wait_workers=wait_workers)
    except TimeoutError as exc:  # a worker that does not answer: one line naming it, exit 3
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(3) from None
    typer.echo(f"device {node}: {len(rows)} task(s), "
               f"{sum(r['fallback'] for r in rows)} fell back -> {out}", err=True)


@device_app.command("infer")
def device_infer(
    model: str = typer.Option(..., "--model", help="Model name."),
    worker: str = typer.Option(..., "--worker", help="NODE=HOST:PORT of the worker."),
    cut: int = typer.Option(..., "--cut", min=0,
                            help="Cut index: the device runs the model up to it."),
    deadline: float = typer.Option(30.0, "--deadline", min=0.001, help="Deadline (s)."),
    token_file: str = _TOKEN,
    tls_ca: str = _TLS_CA,
    tls_client_cert: str = _TLS_CLIENT_CERT,
    tls_client_key: str = _TLS_CLIENT_KEY,
    tls_server_name: str = _TLS_NAME,
) -> None:
    """One split inference by hand; prints times and whether it equals the local output."""
    from splitinfer.runtime.device import infer_once
    from splitinfer.runtime.transport import read_token

    _client_tls(tls_ca, tls_client_cert, tls_client_key, tls_server_name)
    _threads(1)
    (name, address), = _pairs([worker], "--worker").items()
    typer.echo(json.dumps(infer_once(model, name, address, cut, token=read_token(token_file),
                                     deadline_s=deadline), indent=1))


@app.command("run")
def run_command(
    scenario: str = typer.Argument(..., help="Scenario file, shipped name, or fidelity-<paper "
                                   "key> (shi2021, li2022, huang2019, duan2021, zheng2021) or "
                                   "fidelity-demo. In a file, bandwidths "
                                   "and durations need units (60Mbps, 5ms)."),
    planner: str = typer.Option(..., "--planner", help="Planner the controller runs."),
    param: list[str] = typer.Option(None, "--param", help="Planner parameter key=value."),
    out: Path = typer.Option(Path("run-output"), "--out", help="Run directory."),
    shaping: str = _SHAPING,
    compute: str = typer.Option("measure", "--compute", help="measure (profile now) or shipped."),
    profile_repeats: int = typer.Option(5, "--profile-repeats", help="Compute calibration repeats."),
    no_link_calibration: bool = typer.Option(False, "--no-link-calibration",
                                             help="Take links as configured (no w0/w1 fit)."),
    deadline: float = typer.Option(30.0, "--deadline", min=0.001,
                                   help="Deadline of each offload (s)."),
    verify: bool = typer.Option(False, "--verify", help="Check every output equals the local one "
                                "(tasks that send a cut in float16/bfloat16/int8: top-1 "
                                "agreement and largest difference)."),
    kill: list[str] = typer.Option(None, "--kill", help="NODE=SECONDS: kill that worker then."),
    pause: list[str] = typer.Option(None, "--pause", help="NODE: stop that worker (SIGSTOP) "
                                    "once it is ready, before the devices start (fault test)."),
    cuda_node: list[str] = typer.Option(None, "--cuda-node", help="Server node on a CUDA worker."),
    view: str = typer.Option("calibrated", "--view", help="Controller's view: calibrated (this "
                             "machine) or original (the scenario as given)."),
    pace_servers: bool = typer.Option(True, "--pace-servers/--no-pace-servers", help="Hold "
                                      "each piece of a self-timed CPU worker for its "
                                      "calibrated time (timed beside the run's devices)."),
    token_file: str = _TOKEN,
    tls_ca: str = _TLS_CA,
    tls_cert: str = _TLS_CERT,
    tls_key: str = _TLS_KEY,
    tls_client_ca: str = _TLS_CLIENT_CA,
    tls_client_cert: str = _TLS_CLIENT_CERT,
    tls_client_key: str = _TLS_CLIENT_KEY,
    tls_server_name: str = _TLS_NAME,
) -> None:
    """Run SCENARIO for real (controller, workers, devices as processes) beside its prediction.

    ``SIGTERM`` stops the run like Ctrl-C: every process it started is stopped (and they die
    with it even if it is killed outright).
    """
    from rich.console import Console
    from rich.table import Table

    from splitinfer.experiments.compare import planner_params
    from splitinfer.runtime.launch import terminate_like_interrupt
    from splitinfer.runtime.run import RunOptions, run_scenario
    from splitinfer.runtime.transport import TLSFiles, read_token
    from splitinfer.units import format_time

    tls = None
    if tls_ca or tls_cert or tls_key:
        if not (tls_ca and tls_cert and tls_key):
            raise typer.BadParameter("TLS for a run needs --tls-ca, --tls-cert and --tls-key")
        tls = TLSFiles(tls_ca, tls_cert, tls_key, tls_client_ca, tls_client_cert,
                       tls_client_key, tls_server_name).check()
    elif tls_client_ca or tls_client_cert or tls_client_key or tls_server_name:
        raise typer.BadParameter("--tls-client-*/--tls-server-name need --tls-ca, --tls-cert "
                                 "and --tls-key")

    options = RunOptions(planner=planner, params=planner_params(planner, param or []), out_dir=out,
                         shaping=shaping, compute=compute, profile_repeats=profile_repeats,
                         calibrate_links=not no_link_calibration, token=read_token(token_file),
                         deadline_s=deadline, verify=verify,
                         kill={k: float(v) for k, v in _pairs(kill, "--kill").items()},
                         pause=tuple(pause or ()),
                         cuda_nodes=tuple(cuda_node or ()), view=view, tls=tls,
                         pace_servers=pace_servers)
    from splitinfer.cli._progress import bar

    with terminate_like_interrupt(), bar(
            f"running {scenario} for real with {planner} (calibrating this machine, starting "
            f"workers and devices, replaying the tasks)"):
        report = run_scenario(scenario, options)
    from splitinfer.report.gantt import plot_run_gantt
    from splitinfer.system.load import load_scenario

    calibrated = out / "scenario-calibrated.json"
    gantt = plot_run_gantt(report.measured, report.predicted, out / "gantt.png",
                           load_scenario(calibrated) if calibrated.exists() else None)
    console = Console() if Console().is_terminal else Console(width=120)
    table = Table("task", "plan", "by", "measured", "predicted", "error", title=(
        f"{report.scenario}: {planner}, measured (real run, {shaping}) vs predicted (simulated)"))
    for r in report.rows:
        plan = "/".join(r["nodes"]) + (f" @{','.join(map(str, r['cuts']))}" if r["cuts"] else "")
        by = r["decided_by"] + (" fallback" if r["fallback"] else "")
        table.add_row(r["task"], plan, by, format_time(r["measured_s"]),
                      format_time(r["predicted_s"]), f"{100 * r['rel_error']:+.1f}%")
    console.print(table)
    s = report.summary()
    console.print(f"median |error| {100 * s['median_abs_rel_error']:.1f}% "
                  f"({format_time(s['median_abs_error_s'])}); mean latency measured "
                  f"{format_time(s['measured_mean_latency_s'])}, predicted "
                  f"{format_time(s['predicted_mean_latency_s'])}; fallbacks {s['fallbacks']}, "
                  f"lost {s['lost']}" + (f"; outputs equal {s['verified']['equal']}/"
                                         f"{len(report.rows)}" if s["verified"] else ""))
    comp = (s["verified"] or {}).get("compressed") or {}
    if comp.get("tasks"):  # smaller tensors on the wire: agreement, not equality (docs/dtype.md)
        agree = comp["top1_agreement"]
        console.print(f"{comp['tasks']} task(s) sent a cut in float16/bfloat16/int8: top-1 "
                      f"agreement with float32 {'n/a' if agree is None else f'{agree:.3f}'}, "
                      f"largest |output difference| {comp['max_abs_diff']:.3g}"
                      + (f" ({len(comp['unmeasured'])} output(s) too large to compare)"
                         if comp["unmeasured"] else ""))
    console.print(f"-> {out / 'run.json'}, {gantt} (measured above predicted)")
