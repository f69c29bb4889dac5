"""The model zoo: the static table against torchvision, builders, the paper models, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from torch import fx, nn

from splitinfer.errors import UnknownNameError
from splitinfer.graph import trace
from splitinfer.models import example_input, get_model, input_shape, list_models, model_info
from splitinfer.models.layers import LocallyConnected2d
from splitinfer.models.registry import TORCHVISION_MODELS


def test_static_table_matches_torchvision():
    import torchvision

    assert list(TORCHVISION_MODELS) == sorted(torchvision.models.list_models(module=torchvision.models))
    assert set(list_models()) == set(TORCHVISION_MODELS) | {"lenet5", "tiny-yolov2", "deepface", "vgg16-cifar"}


def test_default_shapes_are_the_torchvision_evaluation_sizes():
    import torchvision

    for name in TORCHVISION_MODELS:
        crop = torchvision.models.get_model_weights(name).DEFAULT.transforms().crop_size[0]
        if name == "vit_h_14":  # without weights torchvision builds it for 224x224
            crop = 224
        assert input_shape(name) == (3, crop, crop), name


def test_list_models_and_input_shape_do_not_import_torch():
    code = ("import sys; from splitinfer.models import list_models, input_shape; "
            "list_models(); input_shape('resnet18'); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unknown_names_list_close_matches():
    with pytest.raises(KeyError) as info:
        get_model("resnet19")
    assert isinstance(info.value, UnknownNameError)
    assert "did you mean: resnet18" in str(info.value)
    with pytest.raises(UnknownNameError, match="did you mean: deepface"):
        input_shape("deep-face")
    with pytest.raises(UnknownNameError):
        list_models("timm")


def test_get_model_is_seeded_eval_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a, b = get_model("lenet5", seed=7), get_model("lenet5", seed=7)
    assert torch.equal(torch.get_rng_state(), state)
    assert not a.training
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    c = get_model("lenet5", seed=8)
    assert not torch.equal(a.c1.weight, c.c1.weight)
    g = get_model("googlenet", init=False)
    assert g.aux1 is None and not g.transform_input
    assert all(bool((p == 0).all()) for p in g.parameters())
    v = get_model("vit_b_32", init=False, image_size=64)
    assert v.splitinfer_input_shape == (3, 64, 64)
    assert example_input("vgg16-cifar", batch=3).shape == (3, 3, 32, 32)
    assert torch.equal(example_input("lenet5", seed=4), example_input("lenet5", seed=4))
    with pytest.raises(ValueError):
        example_input("lenet5", batch=0)


def test_locally_connected_matches_a_loop_over_positions():
    torch.manual_seed(0)
    lc = LocallyConnected2d(3, 4, in_size=(7, 6), kernel_size=3, stride=2)
    x = torch.randn(2, 3, 7, 6)
    y = lc(x)
    assert y.shape == (2, 4, 3, 2)
    k, s = 3, 2
    for i in range(3):
        for j in range(2):
            patch = x[:, :, i * s:i * s + k, j * s:j * s + k].reshape(2, -1)  # (N, C*k*k)
            pos = i * 2 + j
            want = patch @ lc.weight[pos] + lc.bias[:, pos]
            assert torch.allclose(y[:, :, i, j], want, atol=1e-6)
    gm = fx.symbolic_trace(lc)  # traceable on its own, not only as a leaf
    assert torch.allclose(gm(x), y)
    with pytest.raises(Exception, match="wrong input height"):
        lc(torch.randn(2, 3, 8, 6))


def test_paper_models_run_trace_and_match_their_papers():
    # LeNet-5: 61,706 parameters for 10 classes
    lenet = get_model("lenet5")
    assert sum(p.numel() for p in lenet.parameters()) == 61706
    # Tiny YOLOv2 (VOC): 9 convolutions, 6 max pools, 125x13x13 output; darknet reports 6.97 BFLOPs
    yolo = get_model("tiny-yolov2", init=False)
    convs = [m for m in yolo.modules() if isinstance(m, nn.Conv2d)]
    pools = [m for m in yolo.modules() if isinstance(m, nn.MaxPool2d)]
    assert len(convs) == 9 and len(pools) == 6
    assert all(isinstance(m, nn.LeakyReLU) and m.negative_slope == 0.1
               for m in yolo.modules() if isinstance(m, nn.LeakyReLU))
    g = trace(yolo, torch.zeros(1, 3, 416, 416))
    assert g.nodes[-1].out_shape == (1, 125, 13, 13)
    assert round(g.flops / 1e9, 2) == 6.97
    # DeepFace: about 120 M parameters, 21x21x16 before F7, 3 locally connected layers
    face = get_model("deepface", init=False)
    assert 115e6 < sum(p.numel() for p in face.parameters()) < 125e6
    g = trace(face, example_input("deepface"))
    assert [n.op for n in g.nodes].count("LocallyConnected2d") == 3
    shapes = {n.name: n.out_shape for n in g.nodes}
    assert shapes["m2"] == (1, 32, 71, 71) and shapes["c3"] == (1, 16, 63, 63)
    assert shapes["l4"] == (1, 16, 55, 55) and shapes["l5"] == (1, 16, 25, 25)
    assert shapes["l6"] == (1, 16, 21, 21) and shapes["f8"] == (1, 4030)
    # VGG16-CIFAR: 13 conv (each with BN and ReLU), 5 pools, one classifier layer
    vgg = get_model("vgg16-cifar")
    kinds = [type(m).__name__ for m in vgg]
    assert kinds.count("Conv2d") == kinds.count("BatchNorm2d") == kinds.count("ReLU") == 13
    assert kinds.count("MaxPool2d") == 5 and kinds.count("Linear") == 1
    x = example_input("vgg16-cifar", batch=2)
    g = trace(vgg, x)
    with torch.no_grad():
        for cut in g.cuts[::5]:
            head, tail = g.split(cut)
            assert torch.allclose(tail(head(x)), vgg(x), atol=1e-5)


def test_zoo_model_with_a_wrong_input_size_says_what_it_expects():
    from splitinfer.graph import TraceError

    face = get_model("deepface", init=False)
    with pytest.raises(TraceError, match=r"'l4'.*got \(1, 16, 62, 62\).*LocallyConnected2d expects "
                       r"\(N, 16, 63, 63\).*default input shape is \(N, 3, 152, 152\)"):
        trace(face, torch.zeros(1, 3, 150, 150))
    with pytest.raises(ValueError, match=r"Conv2d expects \(N, 1, H, W\)"):
        trace(get_model("lenet5"), torch.zeros(1, 3, 28, 28))


def test_models_command_lists_the_zoo(capsys):
    from splitinfer.cli import main

    main(["models", "--json"])
    rows = json.loads(capsys.readouterr().out)
    by_name = {r["name"]: r for r in rows}
    assert len(rows) == len(list_models())
    assert by_name["inception_v3"]["input_shape"] == [3, 299, 299]
    assert by_name["deepface"]["source"] == "splitinfer"
    main(["models", "--source", "splitinfer"])
    out = capsys.readouterr().out
    assert "tiny-yolov2" in out and "3x416x416" in out and "resnet18" not in out
    assert model_info("alexnet").papers
