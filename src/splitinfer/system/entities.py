"""The validated parts of a scenario: nodes, links and tasks (plain frozen dataclasses).

Examples
--------
>>> link = Link("phone", "edge", rate=8e6, latency=0.002)
>>> link.name, link.time(1000)
('phone->edge', 0.003)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from splitinfer.traces import BandwidthTrace, TracedTransfer
from splitinfer.transfer import transfer_time

__all__ = ["Node", "Link", "Task", "Power", "link_name"]


def link_name(src: str, dst: str) -> str:
    """The resource name of the link from ``src`` to ``dst``."""
    return f"{src}->{dst}"


@dataclass(frozen=True, slots=True)
class Power:
    """A node's power draw in watts in each state (the energy model of ``docs/energy.md``).

    ``compute``: while it runs a piece of a model; ``idle``: while a task of its own waits for
    its result; ``transmit`` / ``receive``: while its radio sends or receives a transfer.

    Examples
    --------
    >>> Power(compute=2.5, idle=0.3, transmit=1.2, receive=0.9).transmit
    1.2
    """

    compute: float
    idle: float
    transmit: float
    receive: float


@dataclass(frozen=True, slots=True)
class Node:
    """A device, edge server or cloud.

    ``compute`` is ``"hardware"``, ``"flops"`` or ``"table"``; ``hardware`` names the profile
    hardware for the first and ``speed`` is FLOP/s for the second. ``concurrency`` ``None`` means
    unlimited. ``power`` gives the node's power figures (``None``: not given, so its tasks have
    no energy).
    """

    name: str
    kind: Literal["device", "edge", "cloud"]
    compute: Literal["hardware", "flops", "table"]
    hardware: str | None = None
    speed: float | None = None
    concurrency: int | None = 1
    divisible: bool = False
    power: Power | None = None

    @property
    def is_server(self) -> bool:
        """True for edge servers and clouds."""
        return self.kind != "device"


@dataclass(frozen=True, slots=True)
class Link:
    """A directed link; :meth:`time` is the project's one link-time formula
    (:func:`~splitinfer.transfer.transfer_time`, Duan & Wu 2021 section 6.1).

    ``sharing`` is ``"dedicated"``, ``"fifo"`` or ``"reserved"``; ``rate`` is the per-transfer
    cap in bit/s and ``pool`` the shared capacity a reserved transfer also draws on. ``dtype``
    is the wire dtype a cut's tensor crosses this link in unless the plan chooses one
    (:data:`~splitinfer.transfer.WIRE_DTYPES`; the result's return stays float32).

    ``trace`` (optional) is the link's rate over time (:class:`~splitinfer.traces.BandwidthTrace`);
    ``rate`` is then the rate in force at time 0, which planners that do not look at the clock
    plan with, while the simulator times each transfer over the trace from its start
    (:meth:`traced`, ``time(nbytes, start=...)``).

    Examples
    --------
    >>> from splitinfer.traces import BandwidthTrace
    >>> link = Link("d", "e", 8e6, trace=BandwidthTrace([0, 1], [8e6, 2e6]))
    >>> link.time(1e6), link.time(1e6, start=0.5)
    (1.0, 2.5)
    """

    src: str
    dst: str
    rate: float
    latency: float = 0.0
    slowdown: float = 1.0
    sharing: Literal["dedicated", "fifo", "reserved"] = "dedicated"
    pool: str | None = None
    dtype: str = "float32"
    trace: BandwidthTrace | None = None

    @property
    def name(self) -> str:
        """Resource name ``"src->dst"``."""
        return link_name(self.src, self.dst)

    def time(self, nbytes: float, rate: float | None = None, start: float | None = None
             ) -> float:
        """Seconds to send ``nbytes`` at ``rate`` bit/s (the link's rate by default); on a
        traced link with ``start`` given, integrated over the trace from ``start``."""
        if self.trace is not None and start is not None and rate is None:
            return transfer_time(nbytes, self.rate, self.latency, self.slowdown,
                                 trace=self.trace, start=start)
        return transfer_time(nbytes, self.rate if rate is None else rate, self.latency,
                             self.slowdown)

    def traced(self, nbytes: float) -> TracedTransfer | None:
        """The transfer of ``nbytes`` timed on the link's trace (``None`` without a trace)."""
        if self.trace is None:
            return None
        return TracedTransfer(self.trace, self.slowdown * 8.0 * nbytes, self.latency)


@dataclass(frozen=True, slots=True)
class Task:
    """One inference request: generated on ``device`` at ``arrival`` seconds for ``model``.

    ``index`` is the generation order (ties at one instant are served first-generated-first,
    Shi et al. 2021 section 2.2); ``slot`` is set for slot-based workloads; ``samples`` is N_i of Huang et al. 2019.
    """

    id: str
    index: int
    device: str
    model: str
    arrival: float
    samples: int = 1
    slot: int | None = None
