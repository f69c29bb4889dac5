"""measure_profile on small real models: structure of the result, never speed."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from splitinfer.profile import Profile, ProfileError  # noqa: E402
from splitinfer.profile.measure import measure_profile  # noqa: E402


class _Residual(nn.Module):
    """A small DAG: conv -> (conv, relu) + skip, in-place add, pooling, linear."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.body = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(inplace=True))
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        y = self.stem(x)
        z = self.body(y)
        z += y
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(z, 1), 1))


def _lenet_like() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 10))


@pytest.fixture(scope="module")
def chain():
    from splitinfer import graph

    model = _lenet_like().eval()
    prof = measure_profile(model, input_shape=(1, 28, 28), threads=1, repeats=15, warmup=2,
                           segment_repeats=5, segment_warmup=1, model_name="lenet-like")
    g = graph.trace(model, torch.randn(1, 1, 28, 28), name="lenet-like")
    return prof, g


def test_structure_matches_the_graph(chain):
    prof, g = chain
    assert isinstance(prof, Profile) and prof.name == "lenet-like@cpu-1t"
    assert [layer.name for layer in prof.layers] == [n.name for n in g.nodes]
    assert [layer.flops for layer in prof.layers] == [n.flops for n in g.nodes]
    assert [(c.position, c.after, c.transfer_bytes, c.head_flops) for c in prof.cuts] == [
        (c.position, c.after, c.transfer_bytes, c.head_flops) for c in g.cuts]
    assert prof.edges == tuple(tuple(e) for e in g.edges)
    assert prof.flops == g.flops > 0 and prof.macs == g.macs
    assert prof.transfer_bytes[0] == prof.input_bytes == 1 * 28 * 28 * 4
    assert prof.transfer_bytes[-1] == prof.output_bytes == 10 * 4
    assert prof.input_shape == (1, 28, 28) and prof.batch == 1 and prof.dtype == "float32"


def test_latencies_are_positive_and_repaired_curve_monotone(chain):
    prof, _ = chain
    compute = [layer for layer in prof.layers if layer.op in {"Conv2d", "Linear"}]
    assert compute and all(layer.latency_s > 0 and layer.latency_median_s > 0 for layer in compute)
    assert prof.whole_latency_s > 0 and prof.whole_latency_median_s > 0
    raw_head, raw_tail = prof.raw_head_latency, prof.raw_tail_latency
    assert raw_head[0] == 0.0 and raw_tail[-1] == 0.0
    assert np.all(raw_head[1:] > 0) and np.all(raw_tail[:-1] > 0)
    h = prof.head_latency
    assert h[0] == 0.0 and np.all(np.diff(h) >= 0)
    # sanity ratio only (a shared machine is noisy): head + tail is the same work as the model
    ratio = (raw_head + raw_tail) / prof.whole_latency_median_s
    assert np.all((ratio > 0.05) & (ratio < 20.0)), ratio
    assert 0.25 < np.median(ratio) < 4.0, ratio


def test_provenance_is_recorded(chain):
    prof, _ = chain
    hw, m = prof.hardware, prof.measurement
    assert hw["device"] == "cpu" and hw["threads"] == 1 and hw["name"] == "cpu-1t"
    assert hw["cpu_model"] and hw["date"] and hw["python"]
    assert hw["torch"].split("+")[0] == torch.__version__.split("+")[0]
    assert m["repeats"] == 15 and m["warmup"] == 2 and m["segment_repeats"] == 5
    assert m["timer"].startswith("time.perf_counter_ns")
    assert {"before", "between", "after", "busy"} <= set(m["load"])
    assert set(m["interference"]) == {"layers", "segments"}
    assert all(0.0 <= v <= 1.0 for v in m["interference"].values())
    assert ("warning" in m) == m["load"]["busy"]
    assert m["statistic"].startswith("latency_s: the 0.2 quantile")


def test_round_trip_of_a_measured_profile(chain, tmp_path):
    prof, _ = chain
    assert Profile.load(prof.save(tmp_path / "p.json")) == prof


def test_dag_with_inplace_ops_and_layer_sum_cuts():
    before = torch.get_num_threads()
    prof = measure_profile(_Residual().eval(), input_shape=(3, 8, 8), threads=1, repeats=5,
                           warmup=1, segment_repeats=0, hardware_name="test-hw")
    assert torch.get_num_threads() == before
    assert prof.hardware_name == "test-hw"
    assert prof.measurement["cut_latency"].startswith("sum of layer latencies")
    lat = prof.layer_latency
    for cut in prof.cuts:  # cut latencies are exactly the layer sums of head and tail
        assert cut.head_latency_s == pytest.approx(lat[: cut.position].sum())
        assert cut.tail_latency_s == pytest.approx(lat[cut.position:].sum())
    # the skip connection makes the cuts inside the block impossible
    assert prof.num_cuts < len(prof.layers) + 1


def test_bad_arguments_raise_profile_errors():
    with pytest.raises(ProfileError, match="input_shape"):
        measure_profile(_Residual())
    with pytest.raises(ProfileError, match="repeats >= 1"):
        measure_profile(_Residual(), input_shape=(3, 8, 8), repeats=0)
    with pytest.raises(ProfileError, match="device"):
        measure_profile(_Residual(), input_shape=(3, 8, 8), device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ProfileError, match="cuda"):
            measure_profile(_Residual(), input_shape=(3, 8, 8), device="cuda")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_measurement_uses_events():
    prof = measure_profile(_lenet_like(), input_shape=(1, 28, 28), device="cuda", repeats=5,
                           warmup=2, segment_repeats=2)
    assert prof.measurement["timer"] == "torch.cuda.Event"
    assert prof.hardware["device"] == "cuda" and prof.hardware_name.startswith("cuda-")
    assert prof.whole_latency_s > 0 and np.all(np.diff(prof.head_latency) >= 0)
