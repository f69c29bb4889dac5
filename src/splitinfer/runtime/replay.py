"""The body of a device process in a run: calibrate links, signal ready, wait for go, replay.

:func:`device_process` is what ``splitinfer device replay`` runs. It hands over through files in
the run directory (:mod:`splitinfer.runtime.launch`): it writes the link probe samples
(``--calibrate-out``), then its ``--ready-file``, waits for the ``--go-file`` holding the run's
epoch (a ``time.monotonic()`` value shared by every process of the machine), opens the
controller's channel and times its round trip before the epoch, replays its tasks and writes
every task's outcome as JSON (``--out``): the measured stage records, the plan it ran, who
decided it, whether it fell back, and a SHA-256 digest of the output tensor (and the
controller round trip, ``controller_rtt_s`` back to back and ``controller_cold_s`` each after
an idle wait).

Examples
--------
>>> import torch
>>> digest(torch.zeros(2))[:16]
'af5570f5a1810b7a'
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

__all__ = ["device_process", "outcome_dict", "digest", "write_json_atomic", "MAX_OUTPUT_VALUES"]

#: Outputs up to this many values are written with the outcome (``run --verify`` compares them
#: with ``torch.allclose``); larger ones only by digest.
MAX_OUTPUT_VALUES = 65536


def digest(tensor: Any) -> str:
    """SHA-256 of a tensor's bytes (float32, C order)."""
    return hashlib.sha256(tensor.detach().cpu().contiguous().numpy().tobytes()).hexdigest()


def outcome_dict(outcome: Any) -> dict[str, Any]:
    """A JSON-ready dict of a :class:`~splitinfer.runtime.device.Outcome`."""
    return {"record": asdict(outcome.record), "plan": outcome.plan.to_dict(),
            "decided_by": outcome.decided_by, "fallback": outcome.fallback,
            "reason": outcome.reason, "refused": outcome.refused,
            "executed_as_planned": outcome.executed_as_planned, "nodes": outcome.nodes,
            "digest": digest(outcome.output),
            "output": (outcome.output.detach().cpu().reshape(-1).tolist()
                       if outcome.output.numel() <= MAX_OUTPUT_VALUES else None)}


def write_json_atomic(path: str | Path, data: Any) -> None:
    """Write JSON to ``path`` through a temporary file, so readers never see half a file."""
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(p)


def device_process(config: Any, *, out: str | Path, ready_file: str | Path | None = None,
                   go_file: str | Path | None = None, calibrate_out: str | Path | None = None,
                   go_timeout: float = 600.0, wait_workers: float = 25.0,
                   replay_timeout: float | None = None) -> list[dict[str, Any]]:
    """Run one device of a run (module docstring); returns the outcome dicts it wrote.

    Parameters
    ----------
    config : splitinfer.runtime.device.DeviceConfig
    out : path
        Outcome JSON file.
    ready_file, go_file, calibrate_out : path, optional
        Hand-over files; without ``go_file`` the epoch is now + 0.2 s.
    go_timeout : float
        Seconds to wait for ``go_file``.
    wait_workers : float
        Seconds for every worker to answer ``Info`` (a stopped or unreachable worker fails the
        device with a message naming it and its address).
    replay_timeout : float, optional
        Seconds after the last arrival for every task to finish (see
        :meth:`~splitinfer.runtime.device.Device.replay`).
    """
    from splitinfer.runtime.calibrate import CALIBRATION_GAP_S, probe_links, probe_returns
    from splitinfer.runtime.device import Device

    device = Device(config)
    try:
        device.wait_for_workers(timeout=wait_workers)
        device.check_workers(timeout=wait_workers)
        for mp in device.pieces.values():  # build the heads it may run, and run the model once
            mp.warm([(0, mp.last_cut)])
            for b in range(1, mp.num_cuts):
                mp.layer_piece(mp.cut_layers(0, b))
            if mp.name in (config.scenario.extra.get("fused") or {}):
                mp.warm_tiles()  # the scenario names fused-layer tiles (Li et al. 2022)
        if calibrate_out is not None:
            write_json_atomic(calibrate_out, probe_links(device) + probe_returns(device))
        if ready_file is not None:
            write_json_atomic(ready_file, {"device": config.name})
        if go_file is not None:
            deadline = time.monotonic() + go_timeout
            while not Path(go_file).exists():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no go file {go_file} after {go_timeout:.0f} s")
                time.sleep(0.01)
            go = json.loads(Path(go_file).read_text())
            epoch = float(go["epoch"])
            if go.get("pace_scenario"):  # the held nodes' times: the calibrated scenario
                from splitinfer.system.load import load_scenario

                config.pace_scenario = load_scenario(go["pace_scenario"])
        else:
            epoch = time.monotonic() + 0.2
        rtt = cold = None
        if time.monotonic() < epoch - 0.1:  # back to back, then each after an idle wait
            rtt = device.controller_rtt(until=epoch - 0.05)
            if rtt is not None:
                cold = device.controller_rtt(gap_s=CALIBRATION_GAP_S, until=epoch - 0.05)
        outcomes = device.replay(list(config.scenario.tasks), epoch, replay_timeout)
        rows = [outcome_dict(o) for o in outcomes]
        write_json_atomic(out, {"device": config.name, "epoch": epoch, "controller_rtt_s": rtt,
                                "controller_cold_s": cold, "outcomes": rows})
        return rows
    finally:
        device.close()
