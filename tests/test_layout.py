"""The layout file format: exact round trips, and one clear error for each way a file can be wrong."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from hbnn.model import layout
from hbnn.model.layout import LayoutError
from random_layouts import random_network

STRUCTURES = ("mlp", "conv1d", "conv2d")


def assert_same(a: layout.Network, b: layout.Network):
    manifest_a, arrays_a = layout.to_arrays(a)
    manifest_b, arrays_b = layout.to_arrays(b)
    assert manifest_a == manifest_b
    assert arrays_a.keys() == arrays_b.keys()
    for name in arrays_a:
        assert arrays_a[name].dtype == arrays_b[name].dtype
        assert np.array_equal(arrays_a[name], arrays_b[name])


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(STRUCTURES))
def test_round_trip_is_exact(tmp_path_factory, seed, structure):
    network = random_network(seed, structure)
    path = layout.save(network, tmp_path_factory.mktemp("rt") / "net.npz")
    assert_same(network, layout.load(path))


@pytest.fixture
def saved(tmp_path):
    network = random_network(7, "conv2d")
    return network, layout.save(network, tmp_path / "net.npz")


def rewrite(path, edit_manifest=None, edit_arrays=None, rehash=True):
    """Rewrite a layout file with edits, recomputing the content hash (as a tool that writes a
    consistent but invalid file would) unless told not to (a file changed after it was written)."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    manifest = json.loads(arrays.pop("manifest").tobytes().decode())
    if edit_arrays:
        edit_arrays(arrays)
    if edit_manifest:
        edit_manifest(manifest)
    if rehash:
        manifest["content_hash"] = layout.content_hash(manifest, arrays)
    with open(path, "wb") as file:
        np.savez(file, manifest=np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8), **arrays)


def load_error(path) -> str:
    with pytest.raises(LayoutError) as error:
        layout.load(path)
    return str(error.value)


def test_truncated_file(saved):
    _, path = saved
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert load_error(path).startswith(f"'{path}' is not a layout file (hbnn export writes layouts")


def test_missing_file_folder_and_other_files_are_told_apart(tmp_path):
    assert load_error(tmp_path / "none.npz") == f"layout '{tmp_path / 'none.npz'}' does not exist"
    assert load_error(tmp_path) == f"layout '{tmp_path}' is a folder, not a file (hbnn export writes layouts, .npz)"
    text = tmp_path / "README.md"
    text.write_text("# not a layout")
    assert load_error(text) == (f"'{text}' is not a layout file (hbnn export writes layouts: .npz archives "
                                "with a manifest)")            # and no word about pickles
    checkpoint = tmp_path / "net.pt"
    torch.save({"weights": torch.zeros(2)}, checkpoint)
    assert load_error(checkpoint) == f"'{checkpoint}' is a checkpoint, not a layout; export it first: hbnn export {checkpoint}"


def test_corrupted_array(saved):
    _, path = saved

    def flip(arrays):
        arrays["layer0.planes"] = arrays["layer0.planes"].copy()
        arrays["layer0.planes"][0, 0, 0] ^= 1

    rewrite(path, edit_arrays=flip, rehash=False)
    assert load_error(path) == ("manifest: field 'content_hash' does not match the manifest and arrays (the "
                                "file was changed or is corrupted)")


def _leaves(value, path=()):
    """(path, value) of every scalar in a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, path + (index,))
    else:
        yield path, value


def _changed(value):
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, (int, float)):
        return value + 1
    return value + "x"


@pytest.mark.parametrize("structure", ["mlp", "conv1d", "conv2d"])
def test_every_manifest_field_edited_in_a_saved_file_is_caught(tmp_path, structure):
    network = random_network(11, structure)
    network.provenance.update(dataset="digits", float_accuracy=0.975, note=None)
    path = layout.save(network, tmp_path / "net.npz")
    original = path.read_bytes()
    with np.load(path, allow_pickle=False) as archive:
        manifest = json.loads(archive["manifest"].tobytes().decode())
    fields = [(where, value) for where, value in _leaves(manifest) if where != ("content_hash",)]
    assert len(fields) > 20
    for where, value in fields:
        path.write_bytes(original)

        def edit(m, where=where, value=value):
            target = m
            for key in where[:-1]:
                target = target[key]
            target[where[-1]] = _changed(value)

        rewrite(path, edit_manifest=edit, rehash=False)
        with pytest.raises(LayoutError):
            layout.load(path)


def test_wrong_format_version(saved):
    _, path = saved
    rewrite(path, edit_manifest=lambda m: m.update(version=3))
    assert load_error(path) == "manifest: field 'version' is 3; this hbnn reads version 2"
    rewrite(path, edit_manifest=lambda m: m.update(version=1))
    assert load_error(path) == ("manifest: field 'version' is 1; this hbnn reads version 2 (written by an older "
                                "hbnn, whose content hash left out the manifest: export the checkpoint again to "
                                "get a version-2 layout)")


def _set(*where, value):
    """A manifest edit: the field at `where` (keys and indices) becomes `value`."""
    def edit(manifest):
        target = manifest
        for key in where[:-1]:
            target = target[key]
        target[where[-1]] = value
    return edit


# random_network(2, "conv2d") is conv2d (2-bit output) -> maxpool -> dense (1-bit) -> dense
FIELD_CHECKS = [
    (_set("pixel_bits", value=0), "network: field 'pixel_bits' is 0, expected 1..8"),
    (_set("pixel_bits", value=-1), "network: field 'pixel_bits' is -1, expected 1..8"),
    (_set("pixel_bits", value=9), "network: field 'pixel_bits' is 9, expected 1..8"),
    (_set("pixel_bits", value=2.5), "network: field 'pixel_bits' must be an integer, not 2.5"),
    (_set("num_classes", value=1), "network: field 'num_classes' is 1, expected at least 2"),
    (_set("input_shape", 1, value=0), "network: field 'input_shape' is 0, expected at least 1"),
    (_set("input_shape", value=[1, 2, 3, 4]), "network: field 'input_shape' is (1, 2, 3, 4), expected 1 or 2 or 3 positive integers"),
    (_set("layers", 0, "stride", value=0), "layer 0 (conv2d): field 'stride' is 0, expected at least 1"),
    (_set("layers", 0, "padding", value=-1), "layer 0 (conv2d): field 'padding' is -1, expected at least 0"),
    (_set("layers", 0, "kernel", value=2.5), "layer 0 (conv2d): field 'kernel' must be an integer, not 2.5"),
    (_set("layers", 0, "out_channels", value=True), "layer 0 (conv2d): field 'out_channels' must be an integer, not True"),
    (_set("layers", 0, "frac_bits", value=17), "layer 0 (conv2d): field 'frac_bits' is 17, expected 0..16"),
    (_set("layers", 0, "kind", value="conv3d"), "layer 0: field 'kind' is 'conv3d', expected one of dense, conv1d, conv2d, maxpool"),
    (_set("layers", 0, "output_code", "plane_weights", value=[1, 4]),
     "layer 0 (conv2d): field 'output_code' plane weights (1, 4) must decrease strictly (Q_1 > Q_2 > ...)"),
    (_set("layers", 0, "output_code", "plane_weights", value=[3, 0]),
     "layer 0 (conv2d): field 'output_code.plane_weights' is 0, expected at least 1"),
    (_set("layers", 0, "output_code", "bits", value=4), "layer 0 (conv2d): field 'output_code.bits' is 4, expected 1..3"),
    (_set("layers", 0, "output_code", value="levels"),
     "layer 0 (conv2d): field 'output_code' is 'levels'; a code has a kind (pixels, residual), bits and plane weights"),
    (_set("layers", 1, "size", value=1), "layer 1 (maxpool): field 'size' is 1, expected at least 2"),
    (_set("layers", 2, "stride", value=2), "layer 2 (dense): field 'kernel' a dense layer has kernel 1, stride 1, padding 0, not 1, 2, 0"),
    (_set("layers", 2, "in_shape", value=5), "layer 2 (dense): field 'in_shape' must be a list of integers, not 5"),
    (_set("layers", 3, "input", "plane_weights", value=[2]),
     "layer 3 (dense): field 'input' is InputCode(kind='residual', bits=1, plane_weights=(2,)), but the previous layer gives InputCode(kind='residual', bits=1, plane_weights=(1,))"),
]


@pytest.mark.parametrize("edit, message", FIELD_CHECKS, ids=[m.split(": ", 1)[1][:40] for _, m in FIELD_CHECKS])
def test_each_field_is_checked_in_a_consistently_hashed_file(tmp_path, edit, message):
    """A file another tool wrote with a correct hash but a value the contract forbids."""
    network = random_network(2, "conv2d")
    assert [layer.kind for layer in network.layers] == ["conv2d", "maxpool", "dense", "dense"]
    path = layout.save(network, tmp_path / "net.npz")
    rewrite(path, edit_manifest=edit)
    assert load_error(path) == message


def test_wrong_format_name(saved):
    _, path = saved
    rewrite(path, edit_manifest=lambda m: m.update(format="finn"))
    assert load_error(path) == "manifest: field 'format' is 'finn', expected 'hbnn-layout'"


def test_missing_manifest_field(saved):
    _, path = saved
    rewrite(path, edit_manifest=lambda m: m.pop("num_classes"))
    assert load_error(path) == "manifest: field 'num_classes' is missing"


def test_missing_layer_field(saved):
    _, path = saved
    rewrite(path, edit_manifest=lambda m: m["layers"][0].pop("stride"))
    assert load_error(path) == "layer 0 (conv2d): field 'stride' is missing"


def test_missing_array(saved):
    _, path = saved
    rewrite(path, edit_arrays=lambda a: a.pop("layer0.plane_weights"))
    assert load_error(path) == "layer 0 (conv2d): field 'plane_weights' is missing"


def test_bit_count_above_maximum(saved):
    _, path = saved

    def four(arrays):
        arrays["layer0.bits"] = arrays["layer0.bits"].copy()
        arrays["layer0.bits"][0, 0] = 4

    rewrite(path, edit_arrays=four)
    assert load_error(path) == "layer 0 (conv2d): field 'bits' holds 4; bit counts must be 1..3"


def test_threshold_outside_accumulator_range(saved):
    network, path = saved
    low, high = network.layers[0].accumulator_bounds()

    def far(arrays):
        arrays["layer0.thresholds"] = arrays["layer0.thresholds"].copy()
        arrays["layer0.thresholds"][0, -1] = high[0] + 2

    rewrite(path, edit_arrays=far)
    assert load_error(path) == (f"layer 0 (conv2d): field 'thresholds' [0, "
                                f"{network.layers[0].thresholds.shape[1] - 1}] = {high[0] + 2} lies outside "
                                f"the accumulator range [{low[0]}, {high[0] + 1}]")


def test_mismatched_shapes(saved):
    network, path = saved
    bits = network.layers[0].bits

    def narrow(arrays):
        arrays["layer0.bits"] = arrays["layer0.bits"][:, 1:]

    rewrite(path, edit_arrays=narrow)
    o, k = bits.shape
    assert load_error(path) == f"layer 0 (conv2d): field 'bits' has shape ({o}, {k - 1}), expected ({o}, {k})"


def test_chained_shapes_must_match():
    network = random_network(3, "mlp")
    last = network.layers[-1]
    wrong = replace(last, in_shape=(last.in_shape[0] + 1,))
    with pytest.raises(LayoutError, match=r"field 'in_shape' is \(\d+,\), but the previous layer gives"):
        layout.validate(replace(network, layers=network.layers[:-1] + (wrong,)))


def test_sign_bit_on_a_missing_plane_is_refused():
    network = next(n for n in (random_network(s, "mlp") for s in range(100)) if n.layers[-1].planes.shape[0] > 1)
    layer = network.layers[-1]
    bits = layer.bits.copy()
    planes = layer.planes.copy()
    bits[0, 0] = 1
    planes[1, 0, 0] = 1
    broken = replace(layer, bits=bits, planes=planes)
    with pytest.raises(LayoutError, match="sign bit set on a plane the weight does not have"):
        layout.validate(replace(network, layers=network.layers[:-1] + (broken,)))


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "net.npz"
    path.write_bytes(b"old")

    def fail(file, array, **kwargs):
        file.write(b"half an array")
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", fail)
    with pytest.raises(OSError):
        layout.save(random_network(1, "mlp"), path)
    assert path.read_bytes() == b"old" and list(tmp_path.iterdir()) == [path]


def test_the_same_network_gives_the_same_bytes(tmp_path):
    """No timestamp in the archive: a layout's bytes are a function of its content."""
    first = layout.save(random_network(3, "conv2d"), tmp_path / "a.npz").read_bytes()
    second = layout.save(random_network(3, "conv2d"), tmp_path / "b.npz").read_bytes()
    assert first == second
    assert layout.save(random_network(4, "conv2d"), tmp_path / "c.npz").read_bytes() != first


def test_plane_members_and_widths():
    network = random_network(5, "mlp")
    layer = network.layers[-1]
    for out in range(layer.out_channels):
        assert np.array_equal(layer.plane_members(0, out), np.arange(layer.fan_in))
    counts = np.stack([(layer.bits > i).sum(1) for i in range(layer.planes.shape[0])])
    assert np.array_equal(layer.popcount_widths(), np.ceil(np.log2(counts + 1)))
    low, high = layer.accumulator_bounds()
    width = layer.accumulator_width()
    assert -(1 << (width - 1)) <= low.min() and high.max() + 1 <= (1 << (width - 1)) - 1
    assert layout.signed_width(-8, 7) == 4 and layout.signed_width(-9, 7) == 5 and layout.signed_width(0, 8) == 5
