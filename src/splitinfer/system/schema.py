"""The scenario file format: pydantic models that validate a YAML/JSON scenario.

This module only describes and validates the file (every field, its unit and its default); the
in-memory :class:`~splitinfer.system.scenario.Scenario` is built from it by
:func:`~splitinfer.system.load.load_scenario`. The format is documented with an example per paper
in ``docs/scenario-format.md``.

Unit-bearing strings are accepted wherever a quantity is: ``"4Mbps"``, ``"7ms"``, ``"10KB"``,
``"5GFLOPS"`` (see :mod:`splitinfer.units`). Units are never guessed: validated with the context
``{"require_units": True}`` (as :func:`~splitinfer.system.load.load_scenario` does for files), a
bandwidth or a duration given as a bare number other than 0 is an error that names the field and
the valid units; fields whose name states the unit (``transfer_bytes``, ``head_flops``,
``flops_per_s``, ``bandwidth_hz``, ``power_w``) take bare numbers in that unit. Without the
context (Python dicts given to :func:`~splitinfer.system.load.scenario_from_dict`), bare numbers
are in the library's units: seconds, bytes, bit/s, FLOP/s. :func:`scenario_file_dict` writes such
a dict with unit strings, for a file. Every number must be finite; booleans are not numbers.

Examples
--------
>>> spec = ScenarioSpec.model_validate({
...     "nodes": [{"name": "phone", "kind": "device", "compute": {"flops_per_s": "2GFLOPS"}},
...               {"name": "edge", "kind": "edge", "compute": {"flops_per_s": "50GFLOPS"}}],
...     "links": [{"src": "phone", "dst": "edge", "bandwidth": "20Mbps"}],
...     "models": {"m": {"cuts": [{"transfer_bytes": 600, "head_flops": 0},
...                               {"transfer_bytes": 40, "head_flops": 1e9}]}},
...     "workload": {"tasks": [{"device": "phone", "model": "m"}]}})
>>> spec.links[0].bandwidth
20000000.0
>>> from pydantic import ValidationError
>>> try:
...     LinkSpec.model_validate({"src": "a", "dst": "b", "bandwidth": 60},
...                             context={"require_units": True})
... except ValidationError as exc:
...     print(exc.errors()[0]["msg"])
Value error, 60 has no unit; write e.g. 60Mbps (units: bps, kbps, Mbps, Gbps, bit/s, B/s, kB/s, MB/s, GB/s)
"""

from __future__ import annotations

import copy
import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from splitinfer.units import (
    has_unit,
    missing_unit,
    parse_bandwidth,
    parse_bytes,
    parse_flops,
    parse_power,
    parse_time,
    unit_string,
)

__all__ = [
    "Bandwidth", "Duration", "Bytes", "FlopRate",
    "Power", "PowerSpec", "ObjectiveSpec", "ComputeSpec", "NodeSpec", "ShannonSpec", "TraceSpec", "LinkSpec", "CutSpec", "TableTimes", "ModelSpec",
    "TaskSpec", "GeneratorSpec", "WorkloadSpec", "ScenarioSpec", "scenario_file_dict",
]


def _unit(parser, what: str, require: bool):
    """Read a quantity: a unit string, or a bare number (in the library's unit, or an error
    where the validation context requires units and ``require`` is set)."""

    def convert(value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return value
        if isinstance(value, bool):
            raise ValueError(f"expected a {what}, got a boolean ({value})")
        if require and isinstance(value, int | float) and value != 0 \
                and (info.context or {}).get("require_units"):
            if isinstance(value, float) and not math.isfinite(value) or \
                    isinstance(value, int) and value.bit_length() > 1024:
                return parser(value)  # says "not finite" or "too large", which matters more
            raise ValueError(missing_unit(value, what))
        if require and isinstance(value, str) and not has_unit(value) \
                and (info.context or {}).get("require_units"):  # a quoted bare number: "60"
            number = parser(value)  # reports a malformed or non-finite number first
            if number != 0:
                raise ValueError(missing_unit(value, what))
        if isinstance(value, str | int | float):
            return parser(value)
        return value

    return BeforeValidator(convert)


def _plain(value: Any) -> Any:
    """A plain number: no booleans, no integers too large for a float, nothing non-finite."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got a boolean ({value})")
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            raise ValueError("number too large") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value}")
    return value


def _integer(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got a boolean ({value})")
    return value


Bandwidth = Annotated[float, _unit(parse_bandwidth, "bandwidth", True),
                      Field(gt=0, description="bit/s")]
Duration = Annotated[float, _unit(parse_time, "duration", True),
                     Field(ge=0, description="seconds")]
PositiveDuration = Annotated[float, _unit(parse_time, "duration", True),
                             Field(gt=0, description="seconds")]
Bytes = Annotated[float, _unit(parse_bytes, "size", False), Field(ge=0, description="bytes")]
FlopRate = Annotated[float, _unit(parse_flops, "compute speed", False),
                     Field(gt=0, description="FLOP/s")]
Power = Annotated[float, _unit(parse_power, "power", True), Field(ge=0, description="W")]
Real = Annotated[float, BeforeValidator(_plain)]
Int = Annotated[int, BeforeValidator(_integer)]

MAX_CONCURRENCY = 1_000_000
MAX_INDEX = 10**12  # slots and slot numbers


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ComputeSpec(_Strict):
    """How long a node takes to run a piece of a model: exactly one of three compute models.

    ``hardware``: the model's measured profile for that hardware name (``models.*.profiles``);
    ``flops_per_s``: time = FLOPs / speed (Li et al. 2022 eqs. 1 and 3, Zheng 2021 eqs. 3-1 and 3-4);
    ``table``: the node's own row of a paper's per-cut time table (``models.*.table``), e.g. seed
    000 Table 2.
    """

    hardware: str | None = None
    flops_per_s: FlopRate | None = None
    table: bool = False

    @model_validator(mode="after")
    def _exactly_one(self) -> ComputeSpec:
        chosen = [self.hardware is not None, self.flops_per_s is not None, self.table]
        if sum(chosen) != 1:
            raise ValueError("give exactly one of 'hardware', 'flops_per_s' or 'table: true'")
        return self


class PowerSpec(_Strict):
    """A node's power figures (``docs/energy.md``): what it draws while computing, idle (a task of
    its own waiting for its result), transmitting and receiving, e.g. ``{compute: 2.5W, idle:
    300mW, transmit: 1.2W, receive: 900mW}``. Files must give units (W, mW, uW, kW)."""

    compute: Power
    idle: Power
    transmit: Power
    receive: Power


class ObjectiveSpec(_Strict):
    """An objective with a parameter: ``{kind: latency+energy, weight_s_per_j: 0.1}`` minimises
    mean latency + weight x mean device energy (weight in seconds per joule)."""

    kind: Literal["mean_latency", "makespan", "mean_sojourn", "energy", "latency+energy"]
    weight_s_per_j: Real = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _weight(self) -> ObjectiveSpec:
        if self.kind == "latency+energy" and self.weight_s_per_j <= 0:
            raise ValueError("latency+energy needs a positive 'weight_s_per_j' (seconds per joule)")
        if self.kind != "latency+energy" and self.weight_s_per_j != 0:
            raise ValueError(f"'weight_s_per_j' is only meaningful with kind latency+energy, "
                             f"not {self.kind}")
        return self


class NodeSpec(_Strict):
    """A device, edge server or cloud.

    ``concurrency`` is how many tasks the node computes at once (FIFO beyond that; Shi et al. 2021: 1,
    Huang et al. 2019: r_e); ``null`` means unlimited. ``divisible`` marks a node whose capacity is split
    into dedicated shares delta (Zheng's cloud, eqs. 3-4 and 3-5): a plan then gives each task a
    share, and each share is its own FIFO server of speed delta x F.
    """

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:\-]+$")
    kind: Literal["device", "edge", "cloud"]
    compute: ComputeSpec
    concurrency: Annotated[Int, Field(ge=1, le=MAX_CONCURRENCY)] | None = 1
    divisible: bool = False
    power: PowerSpec | None = None


class ShannonSpec(_Strict):
    """A wireless link whose rate is the Shannon capacity r = B log2(1 + Q G / N) (Li et al. 2022 eq. 2)."""

    bandwidth_hz: Annotated[float, _unit(lambda v: parse_flops(str(v).replace("Hz", "FLOPS"))
                                         if isinstance(v, str) else _plain(v), "frequency",
                                         False), Field(gt=0)]
    power_w: Real = Field(gt=0)
    gain: Real = Field(gt=0)
    noise_w: Real = Field(gt=0)


class TraceSpec(_Strict):
    """A link bandwidth that changes over time, read from a trace file (``docs/traces.md``).

    ``trace``: a CSV file of (``time_s``, rate) steps or a Mahimahi packet-delivery trace, as a
    path relative to the scenario file or the name of a shipped trace (``step-drop``, ``ramp``,
    ``noisy-walk``, ``noisy-walk-ms``; :mod:`splitinfer.traces`). ``format``: ``csv`` or
    ``mahimahi`` (default: from the file name). ``repeat``: loop the trace (a Mahimahi trace
    repeats every last timestamp, a CSV trace every ``period``); otherwise its last rate holds.
    ``window``: the averaging window of the rate a planner sees at a given time (default 0 for
    CSV, 100 ms for Mahimahi). ``scale`` multiplies every rate.
    """

    trace: str = Field(min_length=1)
    format: Literal["csv", "mahimahi"] | None = None
    repeat: bool = False
    period: PositiveDuration | None = None
    window: Duration | None = None
    scale: Real = Field(default=1.0, gt=0)


def _rate_kind(value: Any) -> str:
    return "trace" if isinstance(value, dict | TraceSpec) else "rate"


LinkBandwidth = Annotated[Annotated[Bandwidth, Tag("rate")] | Annotated[TraceSpec, Tag("trace")],
                          Discriminator(_rate_kind)]


class LinkSpec(_Strict):
    """A directed link between two nodes (the reverse direction is added unless given).

    The time to send ``s`` bytes is ``latency + slowdown * 8 s / rate`` — the calibrated model
    t = w0 + w1 s / b of Duan & Wu 2021 section 6.1 with w0 = ``latency`` and w1 = ``slowdown``.
    ``sharing``: ``dedicated`` (every transfer gets the full rate at once: Shi et al.'s per-task
    bandwidth B), ``fifo`` (one transfer at a time in FIFO order: Duan & Wu's shared channel) or
    ``reserved`` (each transfer reserves the bandwidth its plan gives, within ``rate`` per task and
    within the capacity of ``pool`` for all tasks together: Huang et al.'s B_i and B_e).
    ``dtype``: the dtype a cut's tensor crosses the link in (``float32``, ``float16``,
    ``bfloat16`` or ``int8``, per-tensor affine quantisation) unless a plan chooses one; the
    transfer time uses the real byte count (``docs/dtype.md``).
    ``bandwidth`` may also be a trace (:class:`TraceSpec`: ``{trace: step-drop}``): the rate then
    changes over time, and ``sharing`` must be ``dedicated`` or ``fifo``.
    """

    src: str
    dst: str
    bandwidth: LinkBandwidth | None = None
    shannon: ShannonSpec | None = None
    latency: Duration = 0.0
    slowdown: Real = Field(default=1.0, gt=0)
    sharing: Literal["dedicated", "fifo", "reserved"] = "dedicated"
    pool: str | None = None
    symmetric: bool = True
    dtype: Literal["float32", "float16", "bfloat16", "int8"] = "float32"

    @model_validator(mode="after")
    def _rate(self) -> LinkSpec:
        if (self.bandwidth is None) == (self.shannon is None):
            raise ValueError("give exactly one of 'bandwidth' or 'shannon'")
        if self.src == self.dst:
            raise ValueError(f"a link needs two different ends, got {self.src!r} twice")
        if self.pool is not None and self.sharing != "reserved":
            raise ValueError("'pool' is only meaningful with sharing: reserved")
        if isinstance(self.bandwidth, TraceSpec) and self.sharing == "reserved":
            raise ValueError("a bandwidth trace cannot be reserved (a reservation of a changing "
                             "rate is not defined): use sharing dedicated or fifo")
        return self


class CutSpec(_Strict):
    """One cut point of a model given by hand (e.g. copied from a paper).

    ``transfer_bytes`` cross the cut; ``head_flops`` are the FLOPs before it (needed by
    ``flops_per_s`` nodes). Cuts are ordered: the first sends the raw input, the last the output.
    """

    name: str | None = None
    transfer_bytes: Bytes
    head_flops: Real = Field(default=0.0, ge=0)


class TableTimes(_Strict):
    """A node's row of a paper's cut table: per cut, the time of the head (layers before the cut)
    or of the tail (layers after it), as durations (``"25ms"``); with ``unit`` (``s``, ``ms``,
    ``us``, ``ns``) bare numbers in the row are in that unit, so a paper's ms column stays as
    printed: ``{head: [0, 25, 41], unit: ms}``."""

    head: list[Duration] | None = None
    tail: list[Duration] | None = None
    unit: Literal["s", "ms", "us", "ns"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _in_unit(cls, data: Any) -> Any:
        unit = data.get("unit") if isinstance(data, dict) else None
        if unit not in ("s", "ms", "us", "ns"):
            return data
        data = dict(data)
        for key in ("head", "tail"):
            if isinstance(data.get(key), list):
                data[key] = [f"{v}{unit}" if isinstance(v, float | int) and not isinstance(v, bool)
                             and (not isinstance(v, int) or v.bit_length() < 64) else v
                             for v in data[key]]
        return data

    @model_validator(mode="after")
    def _one(self) -> TableTimes:
        if (self.head is None) == (self.tail is None):
            raise ValueError("give exactly one of 'head' or 'tail'")
        return self


class ModelSpec(_Strict):
    """A model: where its cut table and per-hardware times come from.

    ``profile``: a profile (shipped name such as ``"vgg16@cpu-1t"`` or a path) that gives the cuts;
    ``profiles``: hardware name -> profile, for nodes with ``compute.hardware``; ``cuts``: the cut
    table by hand; ``table``: node name -> :class:`TableTimes` for ``compute.table`` nodes.
    ``output_bytes`` overrides the size of the result sent back (default: the last cut's bytes).
    ``input_bytes`` overrides the bytes of cut 0, the raw input sent when nothing runs before the
    cut (e.g. a compressed image: Huang et al.'s per-task input size G_i(0) in [10, 1000] KB).
    ``agreement``: a top-1 agreement file (``splitinfer agreement``, ``docs/dtype.md``) for
    planners that choose the dtype of each cut; default ``<model>.agreement.json`` beside the
    profile, else the shipped one.
    """

    profile: str | None = None
    profiles: dict[str, str] = Field(default_factory=dict)
    cuts: list[CutSpec] | None = None
    table: dict[str, TableTimes] = Field(default_factory=dict)
    output_bytes: Bytes | None = None
    input_bytes: Bytes | None = None
    agreement: str | None = None

    @model_validator(mode="after")
    def _source(self) -> ModelSpec:
        if self.cuts is None and self.profile is None and not self.profiles:
            raise ValueError("give 'cuts', 'profile' or 'profiles' so the cut points are known")
        if self.cuts is not None and len(self.cuts) < 2:
            raise ValueError("a cut table needs at least 2 cuts (raw input and output)")
        return self


class TaskSpec(_Strict):
    """One inference task: the device that owns it, the model, when it appears and how many samples.

    Give ``arrival`` (seconds) or ``slot`` (an integer, times ``scenario.slot``), not both.
    """

    id: str | None = None
    device: str
    model: str
    arrival: Duration | None = None
    slot: Annotated[Int, Field(ge=0, le=MAX_INDEX)] | None = None
    samples: Annotated[Int, Field(ge=1)] = 1

    @model_validator(mode="after")
    def _when(self) -> TaskSpec:
        if self.arrival is not None and self.slot is not None:
            raise ValueError("give 'arrival' or 'slot', not both")
        return self


class GeneratorSpec(_Strict):
    """A seeded task generator.

    ``poisson``: arrivals at ``rate`` per second on each of ``devices`` until ``horizon`` or
    ``count`` tasks per device; ``uniform``: ``count`` tasks spread uniformly at random over
    ``[0, horizon]`` (or over integer slots ``[0, slots)``) among ``devices``; ``batch``: ``count``
    identical jobs at time 0 per device (Duan & Wu 2021).
    """

    kind: Literal["poisson", "uniform", "batch"]
    devices: list[str] = Field(min_length=1)
    model: str | list[str]
    rate: Real | None = Field(default=None, gt=0)
    count: Annotated[Int, Field(ge=1)] | None = None
    horizon: PositiveDuration | None = None
    slots: Annotated[Int, Field(ge=1, le=MAX_INDEX)] | None = None
    samples: Annotated[Int, Field(ge=1)] | tuple[Annotated[Int, Field(ge=1)],
                                                 Annotated[Int, Field(ge=1)]] = 1

    @model_validator(mode="after")
    def _params(self) -> GeneratorSpec:
        if self.kind == "poisson":
            if self.rate is None:
                raise ValueError("a poisson generator needs 'rate' (tasks per second)")
            if self.horizon is None and self.count is None:
                raise ValueError("a poisson generator needs 'horizon' or 'count'")
        elif self.kind == "uniform":
            if self.count is None or (self.horizon is None and self.slots is None):
                raise ValueError("a uniform generator needs 'count' and 'horizon' or 'slots'")
        elif self.count is None:
            raise ValueError("a batch generator needs 'count'")
        if isinstance(self.samples, tuple) and self.samples[0] > self.samples[1]:
            raise ValueError(f"samples [lo, hi] needs lo <= hi, got {list(self.samples)}")
        return self


class WorkloadSpec(_Strict):
    """Explicit tasks and/or generators; ``seed`` makes generated workloads reproducible."""

    tasks: list[TaskSpec] = Field(default_factory=list)
    generators: list[GeneratorSpec] = Field(default_factory=list)
    seed: Annotated[Int, Field(ge=0, lt=2**128)] = 0

    @model_validator(mode="after")
    def _nonempty(self) -> WorkloadSpec:
        if not self.tasks and not self.generators:
            raise ValueError("the workload has no 'tasks' and no 'generators'")
        return self


class ScenarioSpec(_Strict):
    """A whole scenario file."""

    name: str = "scenario"
    description: str = ""
    objective: str | ObjectiveSpec = Field(
        default="mean_latency", description="a name, or {kind: latency+energy, weight_s_per_j: "
        "w} (docs/energy.md)")
    slot: PositiveDuration | None = None
    result_return: Duration | None = Field(
        default=None, description="constant time to return a result (Shi et al.'s t_r); "
        "default: the output bytes sent back over the reverse links")
    nodes: list[NodeSpec] = Field(min_length=1)
    links: list[LinkSpec] = Field(default_factory=list)
    pools: dict[str, Bandwidth] = Field(default_factory=dict)
    models: dict[str, ModelSpec] = Field(min_length=1)
    workload: WorkloadSpec
    extra: dict[str, Any] = Field(default_factory=dict, description="planner-specific settings")

    @field_validator("objective", mode="before")
    @classmethod
    def _objective(cls, value: Any) -> Any:
        if value == "latency+energy":
            raise ValueError("latency+energy needs a weight: write objective: {kind: "
                             "latency+energy, weight_s_per_j: 0.1} (seconds per joule)")
        if isinstance(value, dict):
            try:
                return ObjectiveSpec.model_validate(value)
            except ValidationError as exc:
                err = exc.errors()[0]
                where = ".".join(str(x) for x in err["loc"])
                raise ValueError((f"{where}: " if where else "")
                                 + err["msg"].removeprefix("Value error, ")) from None
        if value not in ("mean_latency", "makespan", "mean_sojourn", "energy"):
            raise ValueError("expected 'mean_latency', 'makespan' or 'mean_sojourn' (latency), "
                             "'energy', or {kind: latency+energy, weight_s_per_j: w}; got "
                             f"{value!r}"[:200])
        return value


def _units(value: Any, what: str) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool) and value != 0 \
            and math.isfinite(value):
        return unit_string(value, what)
    return value


def scenario_file_dict(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of a scenario dict with every bare bandwidth and duration written as a unit string.

    Scenario files must give units (:mod:`splitinfer.system.schema`); a dict built in Python
    holds the library's units (bit/s, seconds). This writes it for a file: each such number
    becomes the exact unit string of :func:`splitinfer.units.unit_string`, so the file loads
    back to the same floats. Other fields are copied as they are.

    Examples
    --------
    >>> d = {"links": [{"src": "a", "dst": "b", "bandwidth": 60e6, "latency": 0.005}],
    ...      "workload": {"tasks": [{"device": "a", "model": "m", "arrival": 1.5}]}}
    >>> f = scenario_file_dict(d)
    >>> f["links"][0], f["workload"]["tasks"][0]["arrival"]
    ({'src': 'a', 'dst': 'b', 'bandwidth': '60Mbps', 'latency': '5ms'}, '1.5s')
    """
    out = copy.deepcopy(data)
    for node in out.get("nodes") or []:
        if isinstance(node, dict) and isinstance(node.get("power"), dict):
            node["power"] = {k: _units(v, "power") for k, v in node["power"].items()}
    for key in ("slot", "result_return"):
        if key in out:
            out[key] = _units(out[key], "duration")
    if isinstance(out.get("pools"), dict):
        out["pools"] = {k: _units(v, "bandwidth") for k, v in out["pools"].items()}
    for link in out.get("links") or []:
        if isinstance(link, dict):
            for key, what in (("bandwidth", "bandwidth"), ("latency", "duration")):
                if key in link:
                    link[key] = _units(link[key], what)
            if isinstance(link.get("bandwidth"), dict):  # a trace: its durations
                for key in ("period", "window"):
                    if key in link["bandwidth"]:
                        link["bandwidth"][key] = _units(link["bandwidth"][key], "duration")
    for model in (out.get("models") or {}).values():
        table = model.get("table") if isinstance(model, dict) else None
        for row in (table or {}).values():
            if isinstance(row, dict) and row.get("unit") is None:
                for key in ("head", "tail"):
                    if isinstance(row.get(key), list):
                        row[key] = [_units(v, "duration") for v in row[key]]
    workload = out.get("workload") or {}
    for key, field in (("tasks", "arrival"), ("generators", "horizon")):
        for item in workload.get(key) or []:
            if isinstance(item, dict) and field in item:
                item[field] = _units(item[field], "duration")
    return out
