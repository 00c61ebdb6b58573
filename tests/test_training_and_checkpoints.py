import pytest
import torch

from hbnn.model import checkpoint, data, layout
from hbnn.model.errors import ConfigError
from hbnn.model.config import TrainConfig, net_config, train_config_for
from hbnn.model.recipes import evaluate_checkpoint, train_checkpoint
from hbnn.model.statistics import reestimate, training_forward
from hbnn.model.training import accuracy, train
from random_layouts import random_network


@pytest.fixture(scope="module")
def digits():
    return data.load("digits")


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """The README's default: digits MLP, 1.4-bit Middle-Out weights, 1-bit activations."""
    config = net_config("digits")
    return train_checkpoint(config, output=tmp_path_factory.mktemp("ckpt") / "default.pt",
                            progress=False)


def test_default_net_reaches_ninety_percent(default_run):
    result, _ = default_run
    assert result.net.config.weights == "1.4" and result.net.config.act_bits == 1
    assert result.test_accuracy >= 0.90


def test_checkpoint_round_trip_gives_the_same_classes(default_run, digits):
    result, path = default_run
    net, payload = checkpoint.load(path)
    assert payload["metrics"]["test_accuracy"] == result.test_accuracy
    with torch.no_grad():
        x = torch.from_numpy(digits.test_x)
        assert torch.equal(net(x), result.net(x))
    assert evaluate_checkpoint(path)[1] == result.test_accuracy


def test_masks_follow_the_weights_and_carry_no_gradient(default_run):
    layer = default_run[0].net.binary_layers()[0]
    w = layer.weight.detach().clone()
    before = layer.quantizer.bits(w)
    flipped = w.clone()
    flipped.view(-1)[:50] *= 10          # push entries away from the mean magnitude
    after = layer.quantizer.bits(flipped)
    assert not torch.equal(before, after)
    assert not before.requires_grad


def test_every_layer_is_binarized_unless_configured(digits):
    config = net_config("digits", "cnn", weights="1.4")
    assert all(spec.binarize for spec in config.layers)
    float_config = net_config("digits", "cnn", weights="float", act_bits=0)
    assert not any(spec.binarize for spec in float_config.layers)
    result = train(config, digits, TrainConfig(epochs=1), progress=False)
    assert len(result.net.binary_layers()) == 3


def test_evaluation_uses_exact_residual_weights(default_run):
    net = default_run[0].net
    for layer in net.binary_layers():
        w = layer.weight.detach()
        q = layer.quantized_weight().detach()
        bits = layer.quantizer.bits(w)
        for b in (1, 2, 3):
            # b-bit entries take at most 2^b distinct values (the +-sums of b scales)
            assert len(torch.unique(q[bits == b])) <= 2 ** b


@pytest.mark.parametrize("dataset, net", [("mnist1d", "cnn1d"), ("mnist1d", "mlp"), ("digits", "cnn")])
def test_other_nets_train_above_chance(dataset, net):
    config = net_config(dataset, net, weights="1.4", width=16)
    result = train(config, data.load(dataset), train_config_for(config, epochs=5), progress=False)
    assert result.test_accuracy > 0.2  # chance is 0.1; a net that does not learn stays near it


@pytest.mark.parametrize("method", ["pc", "bnn", "bnn+", "bnn++", "pq"])
def test_every_method_learns_and_ends_in_the_box_at_exact_sign(method, digits):
    config = net_config("digits", weights="1.4", method=method)
    result = train(config, digits, train_config_for(config, epochs=15), progress=False)
    assert result.test_accuracy > 0.8
    x = torch.from_numpy(digits.test_x)
    for layer in result.net.binary_layers():
        assert layer.weight.abs().max() <= 1  # the latent box
        assert layer.quantizer.progress == 1.0
        exact = layer.quantized_weight()
        with training_forward(result.net):
            # the training forward at the last step is exact sign: the same weights, bit for bit
            assert torch.equal(layer.quantized_weight(), exact)
    # so the two accuracies differ by nothing but their (identical) re-estimated statistics
    assert result.training_forward_accuracy == result.test_accuracy


def test_statistics_are_re_estimated_under_exact_sign(default_run, digits):
    net = default_run[0].net
    norm = net.blocks[0].norm
    mean, var = norm.running_mean.clone(), norm.running_var.clone()
    reestimate(net, torch.from_numpy(digits.train_x))  # training already did this: nothing moves
    assert torch.allclose(norm.running_mean, mean) and torch.allclose(norm.running_var, var)
    with torch.no_grad():
        z = net.blocks[0].weights(net.pixels(torch.from_numpy(digits.train_x)).flatten(1))
    assert torch.allclose(mean, z.mean(dim=0), atol=1e-4)
    assert torch.allclose(var, z.var(dim=0), rtol=1e-4)


def test_same_seed_same_result(digits):
    config = net_config("digits", weights="1.2", allocation="random")
    a = train(config, digits, TrainConfig(epochs=2, seed=5), progress=False)
    b = train(config, digits, TrainConfig(epochs=2, seed=5), progress=False)
    assert accuracy(a.net, digits.test_x, digits.test_y) == accuracy(b.net, digits.test_x, digits.test_y)
    for pa, pb in zip(a.net.parameters(), b.net.parameters()):
        assert torch.equal(pa, pb)


def test_missing_and_corrupt_checkpoints(tmp_path, default_run):
    with pytest.raises(ConfigError, match="checkpoint '.*nothing.pt' does not exist"):
        checkpoint.load(tmp_path / "nothing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ConfigError, match=r"^'.*junk.pt' is not an hbnn checkpoint \(hbnn train writes"):
        checkpoint.load(junk)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(default_run[1].read_bytes()[:2000])
    with pytest.raises(ConfigError, match="is not an hbnn checkpoint"):
        checkpoint.load(truncated)
    with pytest.raises(ConfigError, match=r"^checkpoint '.*' is a folder, not a file"):
        checkpoint.load(tmp_path)
    layout_file = layout.save(random_network(0, "mlp"), tmp_path / "net.npz")
    with pytest.raises(ConfigError, match=r"^'.*net.npz' is a layout, not a checkpoint \(hbnn train writes"):
        checkpoint.load(layout_file)
    damaged = tmp_path / "damaged.pt"
    torch.save({"format": "hbnn-checkpoint", "version": checkpoint.VERSION}, damaged)
    with pytest.raises(ConfigError, match="is damaged"):
        checkpoint.load(damaged)
    other = tmp_path / "other.pt"
    torch.save({"format": "hbnn-checkpoint", "version": 99}, other)
    with pytest.raises(ConfigError, match=r"has version 99; this hbnn reads 2 \(train it again with hbnn train\)"):
        checkpoint.load(other)


def test_save_is_atomic(tmp_path, default_run, monkeypatch):
    path = tmp_path / "a.pt"
    path.write_bytes(b"old")

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", fail)
    with pytest.raises(OSError):
        checkpoint.save(path, default_run[0].net, TrainConfig(), {})
    assert path.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [path]


def test_data_sets_are_fixed_and_offline():
    digits = data.load("digits")
    assert digits.train_x.shape == (1437, 1, 8, 8) and digits.test_x.shape == (360, 1, 8, 8)
    assert 0.0 <= digits.train_x.min() and digits.train_x.max() <= 1.0
    assert digits.test_y[:10].tolist() == [2, 8, 2, 6, 6, 7, 1, 9, 8, 5]
    mnist = data.load("mnist1d")
    assert mnist.train_x.shape == (4000, 1, 40) and mnist.test_x.shape == (1000, 1, 40)
    assert mnist.test_y[:10].tolist() == [2, 6, 3, 9, 4, 3, 1, 9, 5, 2]
    with pytest.raises(ConfigError, match="unknown data set 'cifar'; choose one of: digits, mnist1d"):
        data.load("cifar")
