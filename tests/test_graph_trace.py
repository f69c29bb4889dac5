"""Tracing small hand-made models: node records, FLOPs, bytes, cuts, pieces and errors."""

from __future__ import annotations

import networkx as nx
import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from splitinfer.errors import SplitInferError, UnknownNameError
from splitinfer.graph import Cut, CutError, LayerGraph, TraceError, trace


def counted_flops(model: nn.Module, *inputs: torch.Tensor) -> int:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(*inputs)
    return counter.get_total_flops()


class Branchy(nn.Module):
    """Stem, two parallel branches merged by cat, then a residual add and a head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.a = nn.Conv2d(8, 4, 1)
        self.b = nn.Sequential(nn.Conv2d(8, 4, 3, padding=1), nn.ReLU())
        self.mix = nn.Conv2d(8, 8, 1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        y = torch.cat([self.a(x), self.b(x)], dim=1)
        y = self.mix(y) + x
        return self.fc(y.mean(dim=(2, 3)))


class WithConstant(nn.Module):
    """A constant computed first (from a parameter) and used only at the end."""

    def __init__(self) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.randn(6))
        self.l1, self.l2, self.l3 = nn.Linear(6, 6), nn.Linear(6, 6), nn.Linear(6, 6)

    def forward(self, x):
        bias = torch.tanh(self.table) * 2
        return self.l3(torch.relu(self.l2(torch.relu(self.l1(x))))) + bias


class DataDependent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = Gate()

    def forward(self, x):
        return self.inner(x)


class Gate(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        return -x


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fa, self.fb, self.out = nn.Linear(4, 3), nn.Linear(2, 3), nn.Linear(3, 2)

    def forward(self, a, b):
        return self.out(torch.relu(self.fa(a) + self.fb(b)))


@pytest.fixture(scope="module")
def branchy():
    torch.manual_seed(0)
    model = Branchy().eval()
    x = torch.randn(2, 3, 8, 8)
    return model, x, trace(model, x, name="branchy")


def test_nodes_fields_and_totals(branchy):
    model, x, g = branchy
    assert isinstance(g, LayerGraph) and g.name == "branchy" and g.dtype == "float32"
    assert g.input_shape == (2, 3, 8, 8)
    ops = [n.op for n in g.nodes]
    assert ops == ["Conv2d", "relu", "Conv2d", "Conv2d", "ReLU", "cat", "Conv2d", "add", "mean", "Linear"]
    assert [n.index for n in g.nodes] == list(range(len(g.nodes)))
    stem = g.node("stem")
    assert stem.preds == (-1,) and stem.target == "stem" and stem.out_shape == (2, 8, 8, 8)
    assert stem.out_bytes == 2 * 8 * 8 * 8 * 4
    assert stem.flops == 2 * (2 * 8 * 8 * 8) * (3 * 9) and stem.macs == stem.flops // 2
    assert stem.param_bytes == (8 * 3 * 9 + 8) * 4
    assert g.node("relu").target == "torch.relu"
    assert g.node("cat").preds == (g.node("a").index, g.node("b_1").index)
    assert g.flops == counted_flops(model, x) == sum(n.flops for n in g.nodes)
    assert g.macs * 2 == g.flops
    assert g.param_bytes == sum(p.numel() * 4 for p in model.parameters())
    assert g.input_bytes == x.numel() * 4 and g.output_bytes == 2 * 5 * 4
    assert (g.node("stem").index, g.node("relu").index) in g.edges and (-1, 0) in g.edges


def test_cuts_of_a_branching_model(branchy):
    _, x, g = branchy
    assert [c.after for c in g.cuts] == [None, "stem", "relu", "add", "mean", "fc"]
    assert [c.index for c in g.cuts] == list(range(len(g.cuts)))
    first, last = g.cuts[0], g.cuts[-1]
    assert first.position == 0 and first.transfer_bytes == x.numel() * 4 and first.head_flops == 0
    assert last.position == len(g.nodes) and last.transfer_bytes == g.output_bytes
    assert last.head_flops == g.flops and last.head_nodes == frozenset(n.name for n in g.nodes)
    for c in g.cuts[1:-1]:
        assert c.head_nodes == frozenset(n.name for n in g.nodes[: c.position])
        assert c.crossing == (g.nodes[c.position - 1].name,)
        assert c.transfer_bytes == g.nodes[c.position - 1].out_bytes
        assert c.head_flops == sum(n.flops for n in g.nodes[: c.position])


def test_split_and_segments_reproduce_the_model(branchy):
    model, x, g = branchy
    with torch.no_grad():
        want = model(x)
        for cut in g.cuts:
            head, tail = g.split(cut)
            mid = head(x)
            assert isinstance(mid, torch.Tensor) and mid.numel() * 4 == cut.transfer_bytes
            assert torch.allclose(tail(mid), want, rtol=1e-5, atol=1e-6), cut
        # three pieces (device / edge / cloud)
        k = len(g.cuts)
        seg = {(a, b): g.segment(a, b) for a in range(k) for b in range(a, k)}
        for a in range(k):
            for b in range(a, k):
                t = seg[a, b](seg[0, a](x))
                assert torch.allclose(seg[b, k - 1](t), want, rtol=1e-5, atol=1e-6), (a, b)
    head, _ = g.split(g.cuts[1])
    assert head.stem is model.stem  # pieces run the original parameters


def test_general_cuts_on_every_closed_head(branchy):
    model, x, g = branchy
    rng = torch.Generator().manual_seed(1)
    with torch.no_grad():
        want = model(x)
        for _ in range(15):
            picks = torch.randperm(len(g.nodes), generator=rng)[: int(torch.randint(0, 6, (1,), generator=rng))]
            head = set()
            stack = [int(i) for i in picks]
            while stack:
                v = stack.pop()
                if v >= 0 and g.nodes[v].name not in head:
                    head.add(g.nodes[v].name)
                    stack.extend(g.nodes[v].preds)
            h, t = g.split_nodes(head)
            values = h(x)
            assert isinstance(values, tuple) and len(values) == len(g.crossing(head))
            assert sum(v.numel() * 4 for v in values) == g.crossing_bytes(head)
            assert torch.allclose(t(*values), want, rtol=1e-5, atol=1e-6), sorted(head)
    # a head with both branches' first layers: three tensors cross (x, a, b's conv)
    head = {"stem", "relu", "a", "b_0"}
    assert g.crossing(head) == ["relu", "a", "b_0"]
    assert g.crossing_bytes(head) == 2 * 64 * 4 * (8 + 4 + 4)
    # the empty head passes the input on; the full head returns the output
    assert g.crossing(set()) == ["x"] and g.crossing_bytes(set()) == g.input_bytes
    assert g.crossing_bytes({n.name for n in g.nodes}) == g.output_bytes


def test_general_cut_errors(branchy):
    _, _, g = branchy
    with pytest.raises(CutError, match="'a' is in the head but its input 'relu' is not"):
        g.split_nodes({"stem", "a"})
    with pytest.raises(UnknownNameError, match="did you mean: stem"):
        g.crossing_bytes({"stme"})
    with pytest.raises(CutError, match="position"):
        g.segment(3, 1)
    with pytest.raises(CutError, match="out of range"):
        g.split(99)
    other = Cut(index=1, after="x", position=1, transfer_bytes=1, head_flops=0, head_macs=0,
                head_nodes=frozenset({"x"}))
    with pytest.raises(CutError, match="not a cut"):
        g.split(other)


def test_to_networkx(branchy):
    _, _, g = branchy
    d = g.to_networkx()
    assert nx.is_directed_acyclic_graph(d)
    assert d.number_of_nodes() == len(g.nodes) + 1 and d.number_of_edges() == len(g.edges)
    assert d.nodes[-1]["out_bytes"] == g.input_bytes
    stem = g.node("stem").index
    assert d.nodes[stem]["flops"] == g.node("stem").flops and d.nodes[stem]["op"] == "Conv2d"
    assert all(d.edges[u, v]["bytes"] == d.nodes[u]["out_bytes"] for u, v in d.edges)
    assert list(nx.topological_sort(d))[0] == -1


def test_constant_subgraph_is_moved_next_to_its_use():
    model = WithConstant().eval()
    x = torch.randn(3, 6)
    g = trace(model, x)
    names = [n.name for n in g.nodes]
    assert names.index("tanh") > names.index("l3")
    assert [c.after for c in g.cuts][:5] == [None, "l1", "relu", "l2", "relu_1"]
    assert g.node("tanh").param_bytes == 6 * 4  # the parameter read through get_attr
    assert g.param_bytes == sum(p.numel() * 4 for p in model.parameters())
    with torch.no_grad():
        for cut in g.cuts:
            head, tail = g.split(cut)
            assert torch.allclose(tail(head(x)), model(x))


def test_two_input_model():
    model = TwoInputs().eval()
    a, b = torch.randn(2, 4), torch.randn(2, 2)
    g = trace(model, (a, b))
    assert g.input_shapes == ((2, 4), (2, 2)) and g.input_bytes == (8 + 4) * 4
    assert g.cuts[0].transfer_bytes == g.input_bytes and g.cuts[0].crossing == ("a", "b")
    with torch.no_grad():
        want = model(a, b)
        head, tail = g.split(0)
        assert torch.allclose(tail(*head(a, b)), want)
        for cut in g.cuts[1:]:
            head, tail = g.split(cut)
            assert torch.allclose(tail(head(a, b)), want)
        h, t = g.split_nodes({"fa"})
        assert g.crossing({"fa"}) == ["b", "fa"]
        assert torch.allclose(t(*h(a, b)), want)


def test_untraceable_model_names_the_module():
    with pytest.raises(TraceError, match=r"module 'inner' \(Gate\).*control flow") as info:
        trace(DataDependent(), torch.randn(1, 3))
    assert isinstance(info.value, SplitInferError)


def test_wrong_input_shape_says_what_was_expected():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    with pytest.raises(TraceError, match=r"node '_0' \(Conv2d 0\) got \(1, 1, 8, 8\).*expects \(N, 3, H, W\)"):
        trace(model, torch.randn(1, 1, 8, 8))
    with pytest.raises(ValueError, match=r"Linear expects \(\.\.\., 144\)"):
        trace(model, torch.randn(1, 3, 9, 9))
    model.splitinfer_input_shape = (3, 8, 8)
    with pytest.raises(TraceError, match=r"default input shape is \(N, 3, 8, 8\)"):
        trace(model, torch.randn(1, 3, 16, 16))


def test_bad_example_inputs():
    model = nn.Linear(3, 2)
    with pytest.raises(TypeError, match="Tensor"):
        trace(model, [1, 2, 3])
    with pytest.raises(TraceError, match="takes 1 input"):
        trace(model, (torch.randn(1, 3), torch.randn(1, 3)))
