"""Runnable pieces of a model between two cut indices, identical on every machine.

Cut indices in plans index :attr:`splitinfer.graph.LayerGraph.cuts`, which are the cuts of the
profile of the same model (both come from :func:`splitinfer.graph.trace`). Every process builds
the model with :func:`splitinfer.models.get_model` at the same seed (``weights=None``, seeded
initialisation), so a device and a worker hold the same parameters; :attr:`ModelPieces.param_hash`
(SHA-256 over the state dict) lets a device check that before it sends anything.

A task with ``samples = N`` (Huang et al.'s N_i) carries an ``(N, ...)`` batch; pieces run the
samples one after another, as the scenario model times them (``compute_time(..., samples=N)``).

Examples
--------
>>> import torch
>>> mp = ModelPieces("lenet5")
>>> mp.num_cuts, mp.expected_shape(0, samples=2)
(13, (2, 1, 28, 28))
>>> x = mp.example(samples=1, seed=0)
>>> torch.equal(mp.run(4, mp.last_cut, mp.run(0, 4, x)), mp.run(0, mp.last_cut, x))
True
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import numpy as np
import torch

from splitinfer.errors import InfeasiblePlanError, SplitInferError

__all__ = ["ModelPieces", "load_pieces"]


class ModelPieces:
    """A traced model and the cached ``segment(a, b)`` modules of it (module docstring).

    Parameters
    ----------
    name : str
        A model of :func:`splitinfer.models.list_models`.
    device : {"cpu", "cuda"}
        Where the pieces run.
    seed : int
        Seed of the parameter initialisation (the same on every machine).
    """

    def __init__(self, name: str, device: str = "cpu", seed: int = 0) -> None:
        from splitinfer.graph import trace
        from splitinfer.models import example_input, get_model

        if device == "cuda" and not torch.cuda.is_available():
            raise SplitInferError("a CUDA worker was asked for, but torch sees no CUDA device "
                                  "(torch.cuda.is_available() is False)")
        self.name = name
        self.seed = seed
        self.device = torch.device(device)
        model = get_model(name, seed=seed)
        self.param_hash = _state_hash(model)
        x = example_input(name, batch=1, seed=0)
        with torch.inference_mode():
            self.graph = trace(model, x, name=name)
        self.model = model.to(self.device)
        self.dtype = np.dtype(str(x.dtype).replace("torch.", ""))
        self._shapes = [self._cut_shape(c) for c in range(len(self.graph.cuts))]
        self._segments: dict[tuple[int, int], Any] = {}
        self._layer_pieces: dict[tuple[int, ...], Any] = {}
        self._lock = threading.Lock()

    @property
    def num_cuts(self) -> int:
        """Number of cut points."""
        return len(self.graph.cuts)

    @property
    def last_cut(self) -> int:
        """The cut that runs the whole model."""
        return self.num_cuts - 1

    def _cut_shape(self, c: int) -> tuple[int, ...]:
        cut = self.graph.cuts[c]
        if c == 0:
            shape = self.graph.input_shape
        else:
            shape = self.graph.node(cut.crossing[0]).out_shape
        return tuple(int(d) for d in shape[1:])  # without the batch dimension

    def expected_shape(self, cut: int, samples: int = 1) -> tuple[int, ...]:
        """Shape of the tensor crossing ``cut`` for a task of ``samples`` inputs."""
        self._check(cut, cut)
        return (samples, *self._shapes[cut])

    def transfer_bytes(self, cut: int, samples: int = 1) -> int:
        """Bytes of the tensor crossing ``cut``."""
        return int(np.prod(self.expected_shape(cut, samples))) * self.dtype.itemsize

    def _check(self, a: int, b: int) -> None:
        if not 0 <= a <= b < self.num_cuts:
            raise InfeasiblePlanError(f"model {self.name!r} has cuts 0..{self.last_cut}; "
                                      f"got the piece ({a}, {b})")

    def segment(self, a: int, b: int) -> Any:
        """The module running cut ``a`` to cut ``b`` (cached, on this object's device)."""
        self._check(a, b)
        with self._lock:
            mod = self._segments.get((a, b))
            if mod is None:
                mod = self.graph.segment(a, b).to(self.device).eval()
                self._segments[(a, b)] = mod
        return mod

    def run(self, a: int, b: int, x: torch.Tensor) -> torch.Tensor:
        """Run the piece ``(a, b)`` on the batch ``x``, one sample after another.

        ``a == b`` returns ``x`` unchanged. The result is on the CPU.
        """
        if a == b:
            self._check(a, b)
            return x
        mod = self.segment(a, b)
        with torch.inference_mode():
            xs = x.to(self.device)
            outs = [mod(xs[i:i + 1]) for i in range(xs.shape[0])]
            out = torch.cat(outs) if len(outs) > 1 else outs[0]
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            return out.cpu()

    # ------------------------------------------------------- layer sets (stage graphs)
    @property
    def num_layers(self) -> int:
        """Number of layers (graph nodes; a stage graph's ``layers`` index them)."""
        return len(self.graph.nodes)

    @property
    def output_values(self) -> tuple[int, ...]:
        """The value(s) that are the model's result (layer indices)."""
        return tuple(sorted(set(self.graph._outputs)))

    def cut_layers(self, a: int, b: int) -> tuple[int, ...]:
        """The layers between cuts ``a`` and ``b`` (the chain piece ``(a, b)`` as a layer set)."""
        self._check(a, b)
        return tuple(range(self.graph.cuts[a].position, self.graph.cuts[b].position))

    def value_shape(self, v: Any, samples: int = 1) -> tuple[int, ...]:
        """Shape of value ``v`` (a layer's output, ``-1`` the input) for ``samples`` inputs.

        A tile ``(value, row0, row1, col0, col1)`` of a 4-d value has its rows and columns.
        """
        if isinstance(v, tuple):
            whole = self.value_shape(v[0], samples)
            _, r0, r1, c0, c1 = v
            if len(whole) != 4 or not (0 <= r0 < r1 <= whole[2] and 0 <= c0 < c1 <= whole[3]):
                raise InfeasiblePlanError(f"tile {list(v)} is outside value {v[0]} of "
                                          f"{self.name!r}, shape {list(whole)}")
            return (whole[0], whole[1], r1 - r0, c1 - c0)
        if v == -1:
            shape = self.graph.input_shape
        elif 0 <= v < self.num_layers:
            shape = self.graph.nodes[v].out_shape
        else:
            raise InfeasiblePlanError(f"model {self.name!r} has layers 0..{self.num_layers - 1}; "
                                      f"got value {v}")
        if shape is None:
            raise InfeasiblePlanError(f"value {v} of {self.name!r} is not a tensor")
        return (samples, *(int(d) for d in shape[1:]))

    def layer_piece(self, layers: tuple[int, ...]) -> tuple[Any, tuple[int, ...], tuple[int, ...]]:
        """The module running the set ``layers``, the values it reads and the values it returns.

        It reads every value a layer of the set takes from outside the set (``-1``: the model
        input) and returns every value of the set that a layer outside it, or the result, reads
        (a general DAG cut's head returns several tensors, its tail takes them).
        """
        from splitinfer.graph.build import build_piece

        key = tuple(sorted(set(layers)))
        with self._lock:
            hit = self._layer_pieces.get(key)
        if hit is not None:
            return hit
        if not key or key[0] < 0 or key[-1] >= self.num_layers:
            raise InfeasiblePlanError(f"model {self.name!r} has layers 0..{self.num_layers - 1}; "
                                      f"got {list(layers)[:8]}")
        g = self.graph
        body = set(key)
        outputs = set(g._outputs)
        ins = sorted({u for v in key for u in g.nodes[v].preds if u not in body})
        outs = sorted(v for v in key if v in outputs
                      or any(c not in body for c in g._consumers.get(v, ())))
        mod = build_piece(g.module, [g._order[v] for v in key], [g._value_node(u) for u in ins],
                          tuple(g._value_node(v) for v in outs),
                          class_name=f"Layers_{len(key)}").to(self.device).eval()
        hit = (mod, tuple(ins), tuple(outs))
        with self._lock:
            self._layer_pieces[key] = hit
        return hit

    def run_layers(self, layers: tuple[int, ...], env: dict[int, torch.Tensor]
                   ) -> dict[int, torch.Tensor]:
        """Run the set ``layers`` on the values in ``env``; returns the values it produces.

        Samples run one after another (as :meth:`run`); results are on the CPU.
        """
        mod, ins, outs = self.layer_piece(layers)
        missing = [u for u in ins if u not in env]
        if missing:
            raise InfeasiblePlanError(f"layers {list(layers)[:8]}... of {self.name!r} need values "
                                      f"{missing} that are not here")
        n = env[ins[0]].shape[0] if ins else 1
        parts: list[tuple[torch.Tensor, ...]] = []
        with torch.inference_mode():
            for i in range(n):
                out = mod(*(env[u][i:i + 1].to(self.device) for u in ins))
                parts.append(out if isinstance(out, tuple) else (out,))
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
        return {v: torch.cat([p[k] for p in parts]).cpu() if n > 1 else parts[0][k].cpu()
                for k, v in enumerate(outs)}

    # ------------------------------------------------------- fused-layer tiles
    def fused_geometry(self) -> Any:
        """The model's fused-layer geometry, extracted from this very model (cached).

        :func:`splitinfer.graph.fused.extract_geometry` on a CPU copy built at the same seed:
        the kernels, strides and paddings that tile crops are derived from come from the
        parameters this process runs, never from the network.
        """
        with self._lock:
            geom = getattr(self, "_geometry", None)
        if geom is None:
            from splitinfer.graph.fused import extract_geometry
            from splitinfer.models import example_input, get_model

            try:
                geom = extract_geometry(get_model(self.name, seed=self.seed),
                                        example_input(self.name, batch=1, seed=0), name=self.name)
            except ValueError as exc:
                raise InfeasiblePlanError(f"model {self.name!r} has no tileable layers: "
                                          f"{exc}") from None
            with self._lock:
                self._geometry = geom
        return geom

    def warm_tiles(self) -> bool:
        """Extract the fused-layer geometry and trace the model for tiles now (not at the
        first tile stage); False for a model without tileable layers."""
        from splitinfer.graph.fused import _fx_nodes

        try:
            self.fused_geometry()
        except InfeasiblePlanError:
            return False
        _fx_nodes(self.model)
        return True

    def run_tile(self, layers: tuple[int, ...], tile: tuple[int, ...],
                 env: dict[Any, torch.Tensor]) -> dict[Any, torch.Tensor]:
        """Run the piece ``layers`` on a spatial tile only (Li et al. 2022's FL paths).

        ``tile = (cut, row0, row1, col0, col1)`` is the tile of the tensor crossing ``cut``, the
        end of the piece; the crop it reads (its receptive field, halo included) is taken from
        ``env``: sent as that crop, or cut from the whole tensor. Returns ``{tile key: tensor}``
        with the tile key ``(value, row0, row1, col0, col1)`` (:mod:`splitinfer.system.tiles`).
        Samples run one after another; results are on the CPU.

        Raises
        ------
        InfeasiblePlanError
            The layers are not a piece between two cuts after fused layers ending at the tile's
            cut, or its input crop is not here.

        Examples
        --------
        >>> mp = ModelPieces("alexnet")
        >>> x = mp.example(seed=0)
        >>> whole = mp.run(0, 2, x)
        >>> got = mp.run_tile(mp.cut_layers(0, 2), (2, 0, 20, 30, 55), {-1: x})
        >>> [(k, torch.allclose(t, whole[:, :, 0:20, 30:55], atol=1e-5)) for k, t in got.items()]
        [((1, 0, 20, 30, 55), True)]
        """
        from splitinfer.graph.fused import _fx_nodes, run_tile
        from splitinfer.graph.receptive import tile_regions, unit_of_cut

        geom = self.fused_geometry()
        positions = [c.position for c in self.graph.cuts]
        b = int(tile[0])
        a = positions.index(min(layers)) if layers and min(layers) in positions else None
        try:
            if a is None or self.cut_layers(a, b) != tuple(layers):
                raise ValueError(f"layers {list(layers)[:8]} are not the piece before cut {b}")
            u0, u1 = unit_of_cut(geom, a), unit_of_cut(geom, b)
            region = tuple(int(v) for v in tile[1:])
            _, crop = tile_regions(geom, u0, u1, region)
        except ValueError as exc:
            raise InfeasiblePlanError(f"tile {list(tile)} of {self.name!r}: {exc}") from None
        src = geom.unit_outputs[u0 - 1] if u0 > 0 else -1
        key_in = (src, *crop)
        if key_in in env:
            x = env[key_in]
        elif src in env:
            x = env[src][:, :, crop[0]:crop[1], crop[2]:crop[3]]
        else:
            raise InfeasiblePlanError(f"tile {list(tile)} of {self.name!r} reads {list(key_in)}, "
                                      "which is not here")
        fx = _fx_nodes(self.model)
        with torch.inference_mode():
            outs = [run_tile(self.model, geom, u0, u1, region, x[i:i + 1].to(self.device), crop,
                             _fx=fx) for i in range(x.shape[0])]
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
        out = torch.cat(outs) if len(outs) > 1 else outs[0]
        return {(geom.unit_outputs[u1 - 1], *region): out.cpu()}

    def example(self, samples: int = 1, seed: int = 0) -> torch.Tensor:
        """A seeded random input batch of ``samples`` inputs."""
        from splitinfer.models import example_input

        return example_input(self.name, batch=samples, seed=seed)

    def warm(self, cuts: list[tuple[int, int]] | None = None) -> None:
        """Build (and run once) the pieces ``cuts`` so the first task does not pay for it."""
        for a, b in cuts or [(0, self.last_cut)]:
            x = torch.zeros(self.expected_shape(a), dtype=getattr(torch, self.dtype.name))
            self.run(a, b, x)


def _state_hash(model: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for key, value in model.state_dict().items():
        h.update(key.encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def load_pieces(models: list[str], device: str = "cpu", seed: int = 0) -> dict[str, ModelPieces]:
    """:class:`ModelPieces` for every model name (unknown names raise ``UnknownNameError``)."""
    return {name: ModelPieces(name, device, seed) for name in models}
