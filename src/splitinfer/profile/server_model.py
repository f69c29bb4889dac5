"""GPU servers without a GPU: a per-layer model calibrated on measured whole-model latencies.

Until per-layer GPU profiles are measured, a GPU server's time for a piece of a model comes from

.. math::  t_\\ell = \\max(f,\\; F_\\ell / R)

per layer :math:`\\ell` (``F`` its FLOPs), summed over the layers of the piece: a batch-1 layer
on a GPU costs at least the *launch floor* ``f`` (host-side dispatch and kernel launch, which
dominates small layers), and otherwise its FLOPs at an *effective rate* ``R`` well below the
datasheet peak. Both are calibrated on **measured** data: the whole-model batch-1 fp32 latencies
of torchvision classifiers on an NVIDIA H100 80GB HBM3 with torch 2.11 (CUDA events, median of
100), shipped as ``splitinfer/data/reference/gpu_whole_model_batch1_h100.json`` with the script
that took them and its README.

Calibration (:func:`fit_server_model`)
    The layers (FLOPs per layer, in order) come from the shipped ``<model>@cpu-1t`` profiles,
    which exist for 7 of the 12 reference models (AlexNet, VGG16, ResNet18, ResNet34,
    MobileNetV2, GoogLeNet, SqueezeNet 1.0; the other five have no shipped layer table and are
    not used). A common ``(f, R)`` is the least-squares fit of the log whole-model latencies
    (:func:`scipy.optimize.least_squares`): about 25 us per layer and an effective rate of about
    128 TFLOP/s. Then each of the 7 models gets its own floor, refitted (root of a monotone
    function, :func:`scipy.optimize.brentq`) so that its whole latency matches its measurement
    exactly; the rate, the part that is scaled to other GPUs, stays the common one (a model whose
    compute alone exceeds its measurement would get its own rate instead; none does). Models
    without a measurement use the common ``(f, R)``. At batch 1 the H100 is launch-bound (VGG16:
    40 layers in 1.02 ms, 1.00 ms of it floors), so the data bound ``R`` mostly from below; the
    fitted value is about a quarter of the H100's TF32 dense peak, the precision in which cuDNN
    runs fp32 convolutions by default under torch on Hopper (``torch.backends.cudnn.allow_tf32``).

Other GPUs (:data:`GPU_CLASSES`)
    Hardware of the papers' class is the H100 calibration with the effective rate scaled by the
    ratio of peak throughputs from the vendors' datasheets, in the precision fp32 convolutions
    run in: TF32 tensor cores on the H100 (494.7 TFLOP/s dense), FP32 CUDA cores on GPUs without
    TF32 (e.g. a Tesla K80 die, 4.37 TFLOP/s: ``R x 0.0088``, about 1.1 TFLOP/s effective). The
    launch floor is *not* scaled: it is host-side work, of the same order on every CUDA GPU of
    these generations. Peak ratios ignore memory bandwidth and architecture, so the scaled
    classes are rough (VGG16 at batch 1 comes out at about 28 ms on a K80 die and 11 ms on a
    GTX 1080 Ti); they are stated as such wherever a scenario uses them.

Using it
    The hardware name ``<class>-fitted`` (e.g. ``k80-fitted``), optionally ``-x<scale>`` for a
    further speed factor (``h100-fitted-x0.5``: half the H100's rate), is a profile:
    ``load_profile("alexnet@k80-fitted")`` returns a :class:`~splitinfer.profile.format.Profile`
    whose layer, head and tail latencies are the model's (:func:`fitted_profile`), so a scenario
    uses it like a measured profile::

        nodes:
          - {name: cloud, kind: cloud, compute: {hardware: k80-fitted}}
        models:
          alexnet:
            profiles: {cpu-1t: alexnet@cpu-1t, k80-fitted: alexnet@k80-fitted}

Examples
--------
>>> m = fitted_server_model()
>>> 5e-6 < m.floor_s < 1e-4 and 1e12 < m.rate_flops < 1e15
True
>>> sorted(m.per_model)[:3]
['alexnet', 'googlenet', 'mobilenet_v2']
>>> round(m.whole_latency("vgg16") * 1e3, 3)  # matches the H100 measurement: 1.019 ms
1.019
>>> parse_hardware("k80-fitted"), parse_hardware("h100-fitted-x0.5"), parse_hardware("cpu-1t")
(('k80', 1.0), ('h100', 0.5), None)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from splitinfer.errors import unknown_name
from splitinfer.profile.format import FORMAT, Profile, ProfileError

__all__ = ["GpuClass", "GPU_CLASSES", "ServerModel", "fit_server_model", "fitted_server_model",
           "parse_hardware", "fitted_profile", "REFERENCE_FILE", "REFERENCE_GPU"]

#: The measured data the model is calibrated on (under ``splitinfer/data``).
REFERENCE_FILE = ("reference", "gpu_whole_model_batch1_h100.json")
#: The class of the measured GPU.
REFERENCE_GPU = "h100"


@dataclass(frozen=True)
class GpuClass:
    """A GPU class: its peak FP32 throughput and where that figure comes from.

    Attributes
    ----------
    name : str
        Short name used in hardware names (``"k80"`` -> ``"k80-fitted"``).
    label : str
        Full name.
    peak_tflops : float
        Peak TFLOP/s in the precision its fp32 convolutions run in (datasheet, boost clocks):
        TF32 tensor cores where the GPU has them (H100), FP32 CUDA cores otherwise.
    source : str
        Where the figure is from.
    """

    name: str
    label: str
    peak_tflops: float
    source: str

    @property
    def ratio(self) -> float:
        """Peak throughput relative to the measured H100 (the rate scale)."""
        return self.peak_tflops / GPU_CLASSES[REFERENCE_GPU].peak_tflops


_CLASSES = [
    GpuClass("h100", "NVIDIA H100 80GB HBM3 (SXM5), the measured GPU", 494.7,
             "NVIDIA H100 Tensor Core GPU datasheet (SXM): 989 TFLOP/s TF32 with sparsity, "
             "494.7 dense (67 FP32 on CUDA cores); cuDNN runs fp32 convolutions in TF32"),
    GpuClass("v100", "NVIDIA Tesla V100 SXM2", 15.7,
             "NVIDIA Tesla V100 datasheet: 15.7 TFLOP/s single precision (SXM2)"),
    GpuClass("p100", "NVIDIA Tesla P100 SXM2", 10.6,
             "NVIDIA Tesla P100 datasheet: 10.6 TFLOP/s single precision (SXM2)"),
    GpuClass("t4", "NVIDIA T4", 8.1, "NVIDIA T4 datasheet: 8.1 TFLOP/s single precision"),
    GpuClass("gtx1080ti", "NVIDIA GeForce GTX 1080 Ti", 11.34,
             "NVIDIA GeForce GTX 1080 Ti specifications: 3584 CUDA cores at 1582 MHz boost, "
             "11.34 TFLOP/s FP32"),
    GpuClass("gtx1080", "NVIDIA GeForce GTX 1080", 8.87,
             "NVIDIA GeForce GTX 1080 specifications: 2560 CUDA cores at 1733 MHz boost, "
             "8.87 TFLOP/s FP32"),
    GpuClass("k80", "NVIDIA Tesla K80, one GK210 die (what a cloud instance exposes as one GPU)",
             4.37, "NVIDIA Tesla K80 datasheet: 8.73 TFLOP/s single precision with GPU Boost "
             "for the board of two GK210 dies, 4.37 per die"),
    GpuClass("jetson-agx-orin", "NVIDIA Jetson AGX Orin 64GB (GPU)", 5.3,
             "NVIDIA Jetson AGX Orin series datasheet: 5.3 TFLOP/s FP32 (CUDA cores, 64GB); "
             "its TF32 tensor cores are not counted (conservative)"),
]
#: Known GPU classes by name.
GPU_CLASSES: dict[str, GpuClass] = {c.name: c for c in _CLASSES}

_HW = re.compile(r"^(?P<cls>[a-z0-9][a-z0-9-]*?)-fitted(?:-x(?P<scale>[0-9]*\.?[0-9]+))?$")


def parse_hardware(name: str) -> tuple[str, float] | None:
    """``(class, scale)`` of a fitted hardware name, or ``None`` for any other name.

    Raises
    ------
    splitinfer.errors.UnknownNameError
        For ``<class>-fitted`` with an unknown class (the message lists the known ones).
    """
    m = _HW.match(name)
    if m is None:
        return None
    cls = m.group("cls")
    if cls not in GPU_CLASSES:
        raise unknown_name("GPU class", cls, sorted(GPU_CLASSES))
    scale = float(m.group("scale")) if m.group("scale") else 1.0
    if scale <= 0:
        raise ProfileError(f"hardware {name!r}: the scale after '-x' must be > 0")
    return cls, scale


@dataclass(frozen=True)
class ServerModel:
    """The calibrated H100 model (see the module docstring).

    Attributes
    ----------
    floor_s : float
        Common launch floor per layer, seconds.
    rate_flops : float
        Common effective rate, FLOP/s.
    per_model : dict
        Model name -> ``{"floor_s", "rate_flops", "fitted", "measured_s", "common_s"}``: the
        per-model calibration (``fitted`` is ``"floor"``, or ``"rate"`` where the floor cannot
        match), the measured whole latency and what the common fit predicts for it.
    layer_flops : dict
        Model name -> FLOPs per layer (from the shipped profiles) of the calibration models.
    reference : dict
        ``gpu`` and ``torch`` of the measurement and the file it came from.
    """

    floor_s: float
    rate_flops: float
    per_model: dict[str, dict[str, Any]] = field(default_factory=dict)
    layer_flops: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    reference: dict[str, str] = field(default_factory=dict)

    def params(self, model: str, gpu: str = REFERENCE_GPU, scale: float = 1.0
               ) -> tuple[float, float]:
        """``(floor_s, rate_flops)`` for ``model`` on GPU class ``gpu`` times ``scale``."""
        if gpu not in GPU_CLASSES:
            raise unknown_name("GPU class", gpu, sorted(GPU_CLASSES))
        entry = self.per_model.get(model)
        floor, rate = ((entry["floor_s"], entry["rate_flops"]) if entry
                       else (self.floor_s, self.rate_flops))
        return floor, rate * GPU_CLASSES[gpu].ratio * scale

    def layer_times(self, flops: np.ndarray, model: str, gpu: str = REFERENCE_GPU,
                    scale: float = 1.0) -> np.ndarray:
        """Seconds per layer: ``max(floor, FLOPs / rate)`` (module docstring)."""
        floor, rate = self.params(model, gpu, scale)
        return np.maximum(floor, np.asarray(flops, dtype=float) / rate)

    def whole_latency(self, model: str, gpu: str = REFERENCE_GPU, scale: float = 1.0) -> float:
        """Whole-model seconds of a calibration model (one of :attr:`layer_flops`)."""
        return float(self.layer_times(self.layer_flops[model], model, gpu, scale).sum())

    def describe(self) -> str:
        """One line: the common fit and how far it is from the measurements.

        Examples
        --------
        >>> fitted_server_model().describe()  # doctest: +ELLIPSIS
        'H100 server model: launch floor ... us per layer, effective rate ... TFLOP/s ...'
        """
        err = [abs(v["common_s"] / v["measured_s"] - 1) for v in self.per_model.values()]
        return (f"H100 server model: launch floor {self.floor_s * 1e6:.1f} us per layer, effective "
                f"rate {self.rate_flops / 1e12:.1f} TFLOP/s (fitted on {len(err)} measured "
                f"models; common fit within {100 * max(err):.0f} % of each, exact with per-model "
                "floors)")


def _predict(flops: np.ndarray, floor: float, rate: float) -> float:
    return float(np.maximum(floor, flops / rate).sum())


def fit_server_model(measured_s: dict[str, float], layer_flops: dict[str, np.ndarray],
                     reference: dict[str, str] | None = None) -> ServerModel:
    """Fit the model to measured whole-model latencies (module docstring, *Calibration*).

    Parameters
    ----------
    measured_s : dict
        Model name -> measured whole-model seconds.
    layer_flops : dict
        Model name -> FLOPs of each layer; models missing here are not used.
    reference : dict, optional
        Provenance to keep in :attr:`ServerModel.reference`.

    Returns
    -------
    ServerModel

    Examples
    --------
    >>> flops = {"a": np.array([1e9, 1e6]), "b": np.array([4e9, 1e6, 1e6])}
    >>> true = {k: float(np.maximum(1e-5, v / 1e13).sum()) for k, v in flops.items()}
    >>> m = fit_server_model(true, flops)
    >>> round(m.floor_s * 1e6, 3), round(m.rate_flops / 1e12, 3)
    (10.0, 10.0)
    """
    from scipy.optimize import brentq, least_squares

    names = sorted(n for n in measured_s if n in layer_flops)
    if len(names) < 2:
        raise ValueError("need measured latencies and layer FLOPs of at least two models")
    flops = {n: np.asarray(layer_flops[n], dtype=float) for n in names}
    meas = np.array([measured_s[n] for n in names])

    def resid(p: np.ndarray) -> np.ndarray:
        floor, rate = np.exp(p)
        return np.log([_predict(flops[n], floor, rate) for n in names]) - np.log(meas)

    x0 = np.log([np.median([measured_s[n] / len(flops[n]) for n in names]) / 2, 1e13])
    sol = least_squares(resid, x0, method="lm", xtol=1e-12, ftol=1e-12)
    floor, rate = (float(v) for v in np.exp(sol.x))
    per_model = {}
    for n, target in zip(names, meas, strict=True):
        f = flops[n]
        common = _predict(f, floor, rate)
        if float((f / rate).sum()) < target:  # some floor >= 0 reaches the measurement
            fl = brentq(lambda x, f=f, t=target: _predict(f, x, rate) - t, 0.0, target,
                        xtol=1e-15, rtol=1e-12)
            entry = {"floor_s": float(fl), "rate_flops": rate, "fitted": "floor"}
        else:  # compute alone exceeds it: keep the floor, raise the rate
            r = brentq(lambda r, f=f, t=target: _predict(f, floor, r) - t, rate, 1e20,
                       xtol=1.0, rtol=1e-12)
            entry = {"floor_s": floor, "rate_flops": float(r), "fitted": "rate"}
        entry.update(measured_s=float(target), common_s=common)
        per_model[n] = entry
    return ServerModel(floor, rate, per_model, flops, dict(reference or {}))


@lru_cache(maxsize=1)
def fitted_server_model() -> ServerModel:
    """The model fitted on the shipped H100 reference and the shipped ``cpu-1t`` layer tables."""
    from splitinfer.data import data_path
    from splitinfer.profile.shipped import list_shipped_profiles, load_profile

    path = data_path(*REFERENCE_FILE)
    ref = json.loads(path.read_text(encoding="utf-8"))
    measured = {n: v["cuda_ms_median"] * 1e-3 for n, v in ref["models"].items()}
    shipped = set(list_shipped_profiles())
    layer_flops = {n: np.array([layer.flops for layer in load_profile(f"{n}@cpu-1t").layers],
                               dtype=float)
                   for n in measured if f"{n}@cpu-1t" in shipped}
    return fit_server_model(measured, layer_flops,
                            {"gpu": ref["gpu"], "torch": ref["torch"],
                             "file": "splitinfer/data/" + "/".join(REFERENCE_FILE),
                             "statistic": "median of 100 CUDA-event timings, batch 1, fp32"})


def fitted_profile(base: Profile, hardware: str) -> Profile:
    """A profile of ``base``'s model on fitted hardware ``hardware`` (``"k80-fitted"``).

    Layer latencies are the server model's; the head of every cut is the sum over its layers and
    the tail the rest, so pieces add up exactly. ``hardware`` and ``measurement`` say that it is
    a model, which GPU class, scale and ratio source, and what it was calibrated on.

    Parameters
    ----------
    base : Profile
        Any profile of the model (its layers' FLOPs and its cuts are used, not its latencies).
    hardware : str
        ``<class>-fitted`` or ``<class>-fitted-x<scale>``.

    Examples
    --------
    >>> from splitinfer.profile import load_profile
    >>> p = fitted_profile(load_profile("alexnet@cpu-1t"), "k80-fitted")
    >>> p.name, p.hardware["device"], p.hardware["gpu_class"]
    ('alexnet@k80-fitted', 'model', 'k80')
    >>> bool(p.whole_latency_s > fitted_profile(load_profile("alexnet@cpu-1t"),
    ...                                         "h100-fitted").whole_latency_s)
    True
    """
    parsed = parse_hardware(hardware)
    if parsed is None:
        raise ProfileError(f"{hardware!r} is not a fitted hardware name (<class>-fitted"
                           f"[-x<scale>], classes: {', '.join(sorted(GPU_CLASSES))})")
    gpu, scale = parsed
    model = fitted_server_model()
    flops = np.array([layer.flops for layer in base.layers], dtype=float)
    times = model.layer_times(flops, base.model, gpu, scale)
    cum = np.concatenate([[0.0], np.cumsum(times)])
    total = float(cum[-1])
    floor, rate = model.params(base.model, gpu, scale)
    cls = GPU_CLASSES[gpu]
    calibrated = model.per_model.get(base.model)
    layers = [{**vars(layer), "latency_s": float(t), "latency_median_s": float(t),
               "latency_std_s": 0.0} for layer, t in zip(base.layers, times, strict=True)]
    cuts = [{**vars(c), "head_latency_s": float(cum[c.position]),
             "tail_latency_s": total - float(cum[c.position])} for c in base.cuts]
    return Profile.from_dict({
        "format": FORMAT, "model": base.model, "input_shape": list(base.input_shape),
        "dtype": base.dtype, "batch": base.batch,
        "hardware": {
            "name": hardware, "device": "model", "gpu_class": gpu, "gpu": cls.label,
            "scale": scale, "rate_ratio_to_h100": cls.ratio, "ratio_source": cls.source,
            "model": "per layer max(launch floor, FLOPs / effective rate); launch floor not "
                     "scaled across GPUs",
            "floor_s": floor, "rate_flops": rate,
            "calibration": ("this model's own H100 measurement (its floor refitted)"
                            if calibrated else "the common fit over the measured models"),
            "reference": dict(model.reference),
        },
        "measurement": {"repeats": 1, "warmup": 0,
                        "timer": "none: modelled by splitinfer.profile.server_model, not measured",
                        "statistic": "modelled", "cut_latency": "sum of modelled layer times",
                        "structure_from": base.name},
        "flops": base.flops, "macs": base.macs, "input_bytes": base.input_bytes,
        "output_bytes": base.output_bytes, "layers": layers,
        "edges": [list(e) for e in base.edges], "cuts": cuts,
        "whole_latency_s": total, "whole_latency_median_s": total, "whole_latency_std_s": 0.0,
    }, f"fitted {base.model}@{hardware}")
