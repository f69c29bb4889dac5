"""Measure a :class:`~splitinfer.profile.format.Profile`: per-layer, whole-model and per-cut latency.

What is measured (all under :func:`torch.inference_mode`, timed round-robin by
:func:`splitinfer.profile.timing.time_interleaved`, so that the load of a shared machine affects
every number alike):

1. **Layers and whole model.** The model is traced with :func:`splitinfer.graph.trace`; one run
   of its ``torch.fx`` graph through a recording :class:`torch.fx.Interpreter` stores a copy of
   the inputs of every node. Then each of ``warmup`` untimed and ``repeats`` timed passes runs
   the original module on the example input and every node alone on its own recorded inputs, in
   topological order. Placeholders, outputs and attribute reads cost 0.
2. **Cuts.** For every cut of ``graph.cuts``, the head and the tail modules of
   ``graph.split(cut)`` are timed on their real inputs (the tail on the head's output), every
   head and tail once per pass. This costs about ``num_cuts * (segment_warmup +
   segment_repeats)`` forward passes, so segments use fewer repeats than layers
   (``segment_repeats``, default 10). The empty head of ``cuts[0]`` and the empty tail of
   ``cuts[-1]`` are 0 s by definition and not run. With ``segment_repeats=0`` no segment is run
   and the head (tail) latency of each cut is the sum of the layer latencies of the nodes in its
   head (tail): cheaper, but it counts per-call overhead that a real forward pass does not pay.
   ``measurement.cut_latency`` records which was done.

Inputs are ``torch.randn`` from a generator seeded with 0; the threads are set with
:func:`torch.set_num_threads` for the measurement and restored afterwards. The statistics are
those of :func:`~splitinfer.profile.timing.summarize` (20 % quantile, median, std).

A shared machine
----------------
The profiles are meant to be measured on a quiet machine, and a profile says whether it was:
``measurement.load`` holds the 1/5/15-minute load averages before, between the layer and the
segment passes, and after, and ``measurement.interference`` the share of timed CPU calls that
were preempted (wall time well above the thread's CPU time, :func:`~splitinfer.profile.timing.
interference`; one thread only). :func:`busy_reason` calls the machine busy when the 1-minute load
before the measurement exceeds the logical CPUs (more runnable tasks than CPUs, the measurement
itself possibly counted), or when more than 10 % of the calls were disturbed; the profile then carries ``measurement.warning`` and
:func:`measure_profile` issues a :class:`BusyMachineWarning` (the CLI prints it). The low
quantile and the interleaved passes keep such a profile usable, but ``splitinfer profile --check``
(:mod:`splitinfer.profile.check`) is the test of whether it is consistent.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
import torch.fx

from splitinfer.profile.format import FORMAT, Profile, ProfileError
from splitinfer.profile.provenance import hardware_info, load_average
from splitinfer.profile.timing import (
    QUANTILE,
    TIMER_NAME,
    interference,
    summarize,
    time_interleaved,
)

__all__ = ["measure_profile", "busy_reason", "BusyMachineWarning", "MAX_INTERFERENCE"]

#: Share of disturbed calls above which a measurement is called busy.
MAX_INTERFERENCE = 0.10


class BusyMachineWarning(UserWarning):
    """The machine was busy while a profile was measured (see :func:`busy_reason`)."""


def busy_reason(load_before: list[float], cpus: int | None, threads: int,
                disturbed: float | None, *, self_in_load: bool = True) -> str | None:
    """Why a measurement counts as taken on a busy machine, or ``None`` when it does not.

    The load test: the 1-minute load average exceeds the logical CPUs (``self_in_load``: the
    measuring process itself may already be counted, e.g. by the previous model of a batch), or
    exceeds the CPUs left after the measurement's threads (``self_in_load=False``: before a
    batch starts). The interference test: more than :data:`MAX_INTERFERENCE` of the timed calls
    were preempted.

    Parameters
    ----------
    load_before : list of float
        1/5/15-minute load averages before the measurement (may be empty).
    cpus : int or None
        Logical CPUs of the machine.
    threads : int
        Threads the measurement uses.
    disturbed : float or None
        Share of disturbed calls (:func:`~splitinfer.profile.timing.interference`), if known.

    Examples
    --------
    >>> busy_reason([0.2, 0.3, 0.3], 2, 1, 0.01) is None
    True
    >>> busy_reason([6.5, 6.0, 5.5], 2, 1, None)
    'load average 6.50 before measuring: more runnable tasks than the 2 logical CPUs'
    >>> busy_reason([1.5, 1.0, 0.5], 2, 1, None, self_in_load=False)
    'load average 1.50 before measuring leaves fewer than 1 of 2 logical CPUs idle'
    >>> busy_reason([0.1, 0.1, 0.1], 2, 1, 0.4)
    '40 % of the timed calls were preempted (more than 10 %)'
    """
    reasons = []
    if load_before and cpus and self_in_load and load_before[0] > cpus:
        reasons.append(f"load average {load_before[0]:.2f} before measuring: more runnable "
                       f"tasks than the {cpus} logical CPUs")
    elif load_before and cpus and not self_in_load and load_before[0] > cpus - threads:
        reasons.append(f"load average {load_before[0]:.2f} before measuring leaves fewer than "
                       f"{threads} of {cpus} logical CPUs idle")
    if disturbed is not None and disturbed > MAX_INTERFERENCE:
        reasons.append(f"{100 * disturbed:.0f} % of the timed calls were preempted "
                       f"(more than {100 * MAX_INTERFERENCE:.0f} %)")
    return "; ".join(reasons) or None

_FREE_OPS = {"placeholder", "output", "get_attr"}
_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[int]:
    before = torch.get_num_threads()
    if n is not None:
        if n < 1:
            raise ProfileError(f"threads must be >= 1, got {n}")
        torch.set_num_threads(n)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def _clone(value: Any) -> Any:
    return torch.utils._pytree.tree_map(
        lambda v: v.clone() if isinstance(v, torch.Tensor) else v, value)


class _Recorder(torch.fx.Interpreter):
    """Runs the graph once and keeps a private copy of every node's inputs."""

    def __init__(self, gm: torch.fx.GraphModule) -> None:
        super().__init__(gm)
        self.inputs: dict[str, tuple[tuple, dict]] = {}

    def run_node(self, n: torch.fx.Node) -> Any:
        if n.op not in _FREE_OPS:
            args, kwargs = self.fetch_args_kwargs_from_env(n)
            self.inputs[n.name] = (_clone(args), _clone(kwargs))
        return super().run_node(n)


def _node_call(gm: torch.fx.GraphModule, node: torch.fx.Node, args: tuple,
               kwargs: dict) -> Callable[[], Any]:
    if node.op == "call_module":
        mod = gm.get_submodule(node.target)
        return lambda: mod(*args, **kwargs)
    if node.op == "call_function":
        fn = node.target
        return lambda: fn(*args, **kwargs)
    if node.op == "call_method":
        obj, rest = args[0], args[1:]
        method = getattr(obj, node.target)
        return lambda: method(*rest, **kwargs)
    raise ProfileError(f"cannot time fx node {node.name!r} of kind {node.op!r}")


def _graph_module(graph: Any) -> torch.fx.GraphModule:
    for attr in ("module", "graph_module", "gm"):
        gm = getattr(graph, attr, None)
        if isinstance(gm, torch.fx.GraphModule):
            return gm
    raise ProfileError("the traced LayerGraph exposes no torch.fx GraphModule")


def _resolve_model(model: Any, input_shape: Any, model_name: str | None
                   ) -> tuple[torch.nn.Module, str, tuple[int, ...]]:
    if isinstance(model, str):
        from splitinfer import models

        module = models.get_model(model)
        shape = tuple(input_shape) if input_shape is not None else tuple(models.input_shape(model))
        return module, model_name or model, shape
    if not isinstance(model, torch.nn.Module):
        raise ProfileError(f"expected a model name or an nn.Module, got {type(model).__name__}")
    if input_shape is None:
        raise ProfileError("input_shape (without the batch dimension) is needed for a module")
    return model, model_name or type(model).__name__.lower(), tuple(int(s) for s in input_shape)


def _device(device: str) -> tuple[torch.device, str | None]:
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ProfileError(f"device must be 'cpu' or 'cuda', got {device!r}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ProfileError("device 'cuda' requested but torch.cuda.is_available() is False")
        return dev, torch.cuda.get_device_name(dev)
    if dev.type != "cpu":
        raise ProfileError(f"device must be 'cpu' or 'cuda', got {device!r}")
    return dev, None


def _layer_rows(graph: Any, gm: torch.fx.GraphModule, model: torch.nn.Module, x: torch.Tensor,
                repeats: int, warmup: int, device: str, disturbed: list[float]
                ) -> tuple[list[dict[str, Any]], tuple[float, float, float]]:
    """Time every node on its recorded inputs and the whole model, round-robin."""
    recorder = _Recorder(gm)
    recorder.run(x)
    fx_nodes = {n.name: n for n in gm.graph.nodes}
    calls, timed = [lambda: model(x)], []
    for i, node in enumerate(graph.nodes):
        fx_node = fx_nodes.get(node.name)
        if fx_node is None:
            raise ProfileError(f"layer {node.name!r} of the LayerGraph is not a node of its fx graph")
        if fx_node.op not in _FREE_OPS:
            args, kwargs = recorder.inputs[fx_node.name]
            calls.append(_node_call(gm, fx_node, args, kwargs))
            timed.append(i)
    times, cpu = time_interleaved(calls, repeats, warmup, device, cpu_times=True)
    if cpu is not None:
        disturbed.append(interference(times, cpu))
    recorder.inputs.clear()
    stats = dict.fromkeys(range(len(graph.nodes)), (0.0, 0.0, 0.0))
    for row, i in enumerate(timed, start=1):
        stats[i] = summarize(times[row])[:3]
    rows = [{"name": node.name, "op": str(node.op), "flops": int(node.flops),
             "macs": int(node.macs), "out_bytes": int(node.out_bytes),
             "param_bytes": int(node.param_bytes), "latency_s": stats[i][0],
             "latency_median_s": stats[i][1], "latency_std_s": stats[i][2]}
            for i, node in enumerate(graph.nodes)]
    return rows, summarize(times[0])[:3]


def _cut_rows(graph: Any, x: torch.Tensor, layer_rows: list[dict[str, Any]],
              segment_repeats: int, segment_warmup: int, device: str,
              disturbed: list[float], model: Any = None,
              ) -> tuple[list[dict[str, Any]], float | None]:
    """Time the head and tail of every cut, round-robin (or sum layer latencies).

    When ``model`` is given, every pass also runs the whole model first, and its latency in this
    pass is returned beside the rows (``None`` otherwise): the reference that
    ``(head + tail) / whole`` is checked against, taken under the same conditions as the segments,
    so that a drift of the machine's speed between the layer pass and the segment pass (about
    20 % on a shared host, seen on AlexNet's memory-bound classifier) does not read as an
    inconsistency of the segments.
    """
    cuts = list(graph.cuts)
    last = len(cuts) - 1
    head_s, tail_s = np.zeros(len(cuts)), np.zeros(len(cuts))
    same_pass_whole = None
    if segment_repeats == 0:
        lat = np.array([r["latency_s"] for r in layer_rows])
        for k, cut in enumerate(cuts):
            head_s[k], tail_s[k] = lat[:cut.position].sum(), lat[cut.position:].sum()
    else:
        calls, slots = [], []
        whole_s = np.zeros(1)
        if model is not None:
            calls.append(lambda: model(x))
            slots.append((whole_s, 0))
        for k, cut in enumerate(cuts):
            head, tail = graph.split(cut)
            mid = head(x)
            args = mid if isinstance(mid, tuple) else (mid,)  # cuts[0] of a multi-input model
            if k > 0:  # the head of cuts[0] and the tail of cuts[-1] are empty: 0 s
                calls.append(lambda h=head: h(x))
                slots.append((head_s, k))
            if k < last:
                calls.append(lambda t=tail, a=args: t(*a))
                slots.append((tail_s, k))
        times, cpu = time_interleaved(calls, segment_repeats, segment_warmup, device,
                                      cpu_times=True)
        if cpu is not None:
            disturbed.append(interference(times, cpu))
        for row, (target, k) in enumerate(slots):
            target[k] = summarize(times[row])[0]
        if model is not None:
            same_pass_whole = float(whole_s[0])
    return [{"index": int(cut.index), "after": cut.after, "position": int(cut.position),
             "transfer_bytes": int(cut.transfer_bytes), "head_flops": int(cut.head_flops),
             "head_latency_s": float(head_s[k]), "tail_latency_s": float(tail_s[k])}
            for k, cut in enumerate(cuts)], same_pass_whole


def measure_profile(model_name_or_module: str | torch.nn.Module, device: str = "cpu",
                    threads: int | None = None, batch: int = 1, repeats: int = 100,
                    warmup: int = 10, input_shape: Any = None, hardware_name: str | None = None,
                    *, segment_repeats: int = 10, segment_warmup: int = 2,
                    model_name: str | None = None, dtype: str = "float32") -> Profile:
    """Trace and measure a model on one device (see the module docstring for what is timed).

    Parameters
    ----------
    model_name_or_module : str or torch.nn.Module
        A name of :func:`splitinfer.models.list_models` or a module.
    device : {"cpu", "cuda"}
        Where to run. CUDA is timed with events and synchronised.
    threads : int, optional
        Intra-op CPU threads for the measurement (``torch.set_num_threads``); the current setting
        by default. Restored afterwards.
    batch : int
        Batch size of the example input.
    repeats, warmup : int
        Timed and untimed runs per layer and for the whole model.
    input_shape : sequence of int, optional
        Input shape without the batch dimension; required for a module, default for a name is
        :func:`splitinfer.models.input_shape`.
    hardware_name : str, optional
        Name recorded in ``hardware.name``; ``"cpu-<threads>t"`` or ``"cuda-<gpu>"`` by default.
    segment_repeats, segment_warmup : int
        Timed and untimed runs of each cut's head and tail; ``segment_repeats=0`` derives cut
        latencies from layer sums instead (module docstring).
    model_name : str, optional
        Name recorded in ``model`` (default: the name given, or the module's class name).
    dtype : {"float32", "float16", "bfloat16"}
        Precision of the parameters and the input (recorded as the profile's ``dtype``).

    Returns
    -------
    Profile

    Raises
    ------
    ProfileError
        Bad arguments, or CUDA requested where it is not available.

    Warns
    -----
    BusyMachineWarning
        When :func:`busy_reason` finds the machine busy (also recorded as
        ``measurement.warning``).
    """
    if batch < 1 or repeats < 1 or warmup < 0 or segment_repeats < 0 or segment_warmup < 0:
        raise ProfileError("need batch >= 1, repeats >= 1, warmup >= 0, segment_repeats >= 0 "
                           f"and segment_warmup >= 0; got {batch}, {repeats}, {warmup}, "
                           f"{segment_repeats}, {segment_warmup}")
    from splitinfer import graph as graph_mod

    if dtype not in _DTYPES:
        raise ProfileError(f"dtype must be one of {', '.join(_DTYPES)}, got {dtype!r}")
    module, name, shape = _resolve_model(model_name_or_module, input_shape, model_name)
    dev, gpu_name = _device(device)
    started, load_before = time.perf_counter(), load_average()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn((batch, *shape), generator=gen).to(dev, _DTYPES[dtype])
    module = module.eval().to(dev, _DTYPES[dtype])
    layer_disturbed: list[float] = []
    segment_disturbed: list[float] = []
    with _threads(threads) as n_threads, torch.inference_mode():
        graph = graph_mod.trace(module, x, name=name)
        layers, whole = _layer_rows(graph, _graph_module(graph), module, x, repeats, warmup,
                                    dev.type, layer_disturbed)
        load_between = load_average()
        cuts, segment_whole = _cut_rows(graph, x, layers, segment_repeats, segment_warmup,
                                        dev.type, segment_disturbed, model=module)
    load_after = load_average()
    disturbed = None
    if dev.type == "cpu" and n_threads == 1 and layer_disturbed:
        disturbed = {"layers": round(layer_disturbed[0], 4),
                     "segments": round(segment_disturbed[0], 4) if segment_disturbed else None}
    worst = None if disturbed is None else max(v for v in disturbed.values() if v is not None)
    reason = busy_reason(load_before, os.cpu_count(), n_threads if dev.type == "cpu" else 1,
                         worst)
    measurement = {
        "repeats": repeats, "warmup": warmup, "timer": TIMER_NAME[dev.type],
        "statistic": (f"latency_s: the {QUANTILE:g} quantile of the repeats (numpy.quantile, "
                      "linear); robust to interference, which only adds time"),
        "segment_repeats": segment_repeats, "segment_warmup": segment_warmup,
        "cut_latency": ("graph.split head/tail modules, timed" if segment_repeats
                        else "sum of layer latencies of the head/tail nodes"),
        "layer_latency": "each fx node alone on its recorded inputs",
        "order": ("round-robin: each timed pass runs the whole model and then every node once; "
                  "each segment pass runs the whole model and then every cut's head and tail "
                  "once"),
        "input": "torch.randn, generator seed 0", "autograd": "torch.inference_mode",
        "load": {"before": load_before, "between": load_between, "after": load_after,
                 "busy": reason is not None},
        "interference": disturbed,
        "segment_whole_latency_s": segment_whole,
        "seconds": round(time.perf_counter() - started, 3),
    }
    if reason is not None:
        measurement["warning"] = f"busy machine: {reason}"
        warnings.warn(f"{name}: measured on a busy machine: {reason}; re-measure on a quiet "
                      "machine for shipped profiles", BusyMachineWarning, stacklevel=2)
    return Profile.from_dict({
        "format": FORMAT, "model": name, "input_shape": list(shape), "dtype": str(x.dtype).replace("torch.", ""),
        "batch": batch,
        "hardware": hardware_info(dev.type, n_threads, hardware_name, gpu_name),
        "measurement": measurement,
        "flops": int(graph.flops), "macs": int(graph.macs), "input_bytes": int(graph.input_bytes),
        "output_bytes": int(graph.output_bytes), "layers": layers,
        "edges": [[int(a), int(b)] for a, b in graph.edges], "cuts": cuts,
        "whole_latency_s": whole[0], "whole_latency_median_s": whole[1],
        "whole_latency_std_s": whole[2],
    }, f"measured {name}")
