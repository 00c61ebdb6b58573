"""`hw.fold_schedule`: the folded walk of a weight layer, run in numpy against the layer's own
dot products, on random layers of every kind of bit mix and folding."""

import numpy as np
import pytest

from hbnn.hw.fold_schedule import Folding, Schedule, choose_split, dense_planes, sparse_planes
from hbnn.model.layout import InputCode, WeightLayer
from random_layouts import bits_for_mix

RESIDUAL = InputCode("residual", 1, (1,))


def weight_layer(rng, out_channels: int, fan_in: int, mix: str) -> WeightLayer:
    """A dense layer whose bit counts follow `mix` (`random_layouts.bits_for_mix`)."""
    bits, planes = bits_for_mix(rng, out_channels, fan_in, mix)
    return WeightLayer(kind="dense", in_shape=(fan_in,), out_channels=out_channels, kernel=1, stride=1, padding=0,
                       input=RESIDUAL, bits=bits, planes=planes,
                       plane_weights=np.ones((out_channels, planes.shape[0]), dtype=np.int64), frac_bits=0,
                       thresholds=None, output_code=None)


def direct_dots(layer: WeightLayer, values: np.ndarray) -> np.ndarray:
    """D[o, i] = sum_j S[i, o, j] x_j straight from the layout."""
    return np.einsum("ioj,j->oi", layer.plane_signs(), values)


CASES = [  # (out_channels, fan_in, mix, pe, lanes)
    (5, 13, "mixed", 2, 7), (8, 16, "middle-out", 4, 8), (7, 30, "middle-out", 3, 11),
    (4, 9, "1", 3, 4), (6, 10, "3", 4, 7), (5, 12, "empty-row", 2, 9), (3, 5, "mixed", 8, 16),
    (1, 1, "1", 1, 1),
]


@pytest.mark.parametrize("out_channels, fan_in, mix, pe, lanes", CASES)
def test_the_walk_computes_every_plane_dot_product_for_every_split(out_channels, fan_in, mix, pe, lanes):
    rng = np.random.default_rng(out_channels * 100 + fan_in)
    layer = weight_layer(rng, out_channels, fan_in, mix)
    folding = Folding(pe=pe, lanes=lanes)
    d, has_sparse = len(dense_planes(layer)), bool(sparse_planes(layer))
    splits = range(1, (lanes - has_sparse) // d + 1)
    assert list(splits), "the case must leave room for one split"
    for elements in splits:
        schedule = Schedule(layer, folding, elements=elements)
        for trial in range(3):
            values = rng.integers(-5, 6, size=fan_in)
            assert np.array_equal(schedule.plane_dots(values), direct_dots(layer, values)), (elements, trial)


@pytest.mark.parametrize("out_channels, fan_in, mix, pe, lanes", CASES)
def test_every_entry_has_one_lane_and_every_row_one_slot(out_channels, fan_in, mix, pe, lanes):
    layer = weight_layer(np.random.default_rng(fan_in), out_channels, fan_in, mix)
    schedule = Schedule(layer, Folding(pe=pe, lanes=lanes))
    dealt = schedule.rows[schedule.rows >= 0]
    assert sorted(dealt.tolist()) == list(range(out_channels))
    assert schedule.rows.shape == (pe, -(-out_channels // pe))
    assert int(schedule.sparse_valid.sum()) == int(schedule.sparse_members().sum())
    if schedule.sparse_planes:
        assert (schedule.sparse_row_end.sum(axis=1) == schedule.slots).all()      # one end per slot
    assert schedule.dense_valid.sum() == fan_in
    assert schedule.cycles == max(schedule.slots * schedule.blocks, schedule.sparse_cycles)
    assert 0 < schedule.lanes_used <= 1


def test_planes_are_dense_where_every_weight_has_them_and_sparse_elsewhere():
    rng = np.random.default_rng(1)
    assert (dense_planes(weight_layer(rng, 3, 4, "1")), sparse_planes(weight_layer(rng, 3, 4, "1"))) == ((0,), ())
    three = weight_layer(rng, 3, 4, "3")
    assert (dense_planes(three), sparse_planes(three)) == ((0, 1, 2), ())
    empty_row = weight_layer(rng, 3, 4, "empty-row")
    assert dense_planes(empty_row) == (0,) and set(sparse_planes(empty_row)) <= {1, 2}


def test_the_split_with_the_fewest_cycles_and_then_the_fewest_sparse_lanes_is_chosen():
    rng = np.random.default_rng(2)
    for out_channels, fan_in, lanes in ((16, 40, 12), (9, 25, 8), (12, 64, 20)):
        layer = weight_layer(rng, out_channels, fan_in, "middle-out")
        folding = Folding(pe=3, lanes=lanes)
        every = [(Schedule(layer, folding, elements=e).cycles, lanes - e, e) for e in range(1, lanes)]
        elements, sparse = choose_split(layer, folding)
        assert (elements, sparse) == (min(every)[2], min(every)[1])


def test_a_uniform_layer_uses_every_lane_for_its_dense_planes():
    layer = weight_layer(np.random.default_rng(3), 8, 64, "3")
    schedule = Schedule(layer, Folding(pe=4, lanes=12))
    assert (schedule.elements, schedule.sparse_lanes) == (4, 0)
    assert schedule.cycles == 2 * 16 and schedule.lanes_used == 1.0


def test_a_middle_out_layer_takes_fewer_cycles_than_a_two_bit_layer_with_the_same_lanes():
    rng = np.random.default_rng(4)
    mixed = weight_layer(rng, 32, 96, "middle-out")
    two = weight_layer(rng, 32, 96, "1")
    two = WeightLayer(**{**two.__dict__, "bits": np.full((32, 96), 2, np.uint8),
                         "planes": rng.integers(0, 2, size=(2, 32, 96)).astype(np.uint8),
                         "plane_weights": np.ones((32, 2), np.int64)})
    folding = Folding(pe=4, lanes=16)
    assert Schedule(mixed, folding).cycles <= 0.8 * Schedule(two, folding).cycles


@pytest.mark.parametrize("pe, lanes, message", [
    (0, 4, "pe must be a positive integer, not 0"),
    (2, True, "lanes must be a positive integer, not True"),
])
def test_a_bad_folding_is_refused(pe, lanes, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        Folding(pe=pe, lanes=lanes)


def test_too_few_lanes_for_the_dense_planes_are_refused():
    layer = weight_layer(np.random.default_rng(5), 4, 8, "3")
    with pytest.raises(ValueError, match=r"^2 lanes per PE cannot hold one input of the layer's 3 dense "
                                         r"plane\(s\): it needs at least 3$"):
        Schedule(layer, Folding(pe=1, lanes=2))
    mixed = weight_layer(np.random.default_rng(5), 4, 8, "mixed")
    with pytest.raises(ValueError, match="leave 0 of 3 lanes for the sparse planes"):
        Schedule(mixed, Folding(pe=1, lanes=3), elements=3)


def test_a_fold_is_parsed_and_described_back():
    from hbnn.hw.fold_schedule import describe_fold, parse_fold

    fold = parse_fold("2:4x32, 1:8x16")
    assert fold == {2: Folding(pe=4, lanes=32), 1: Folding(pe=8, lanes=16)}
    assert describe_fold(fold) == "1:8x16,2:4x32"


def test_a_balanced_fold_keeps_every_folded_layer_within_the_target_with_the_fewest_lanes():
    from hbnn.hw.fold_schedule import (BALANCED_LANES, BALANCED_PES, Balanced, balanced_fold, parse_fold,
                                       resolve_fold, unit_interval)
    from hbnn.model.layout import Network, validate

    rng = np.random.default_rng(8)
    first = weight_layer(rng, 6, 10, "1")
    first = WeightLayer(**{**first.__dict__, "input": InputCode("pixels", 2, (1, 2)),
                           "thresholds": np.zeros((6, 1), np.int64), "output_code": RESIDUAL})
    second = weight_layer(rng, 8, 6, "middle-out")
    net = validate(Network((10,), 2, 8, (first, second)))
    assert parse_fold("auto:40") == Balanced(40)
    fold = resolve_fold(Balanced(40), net)
    assert list(fold) == [1]                                  # the first layer reads pixels
    chosen = fold[1]
    assert unit_interval(Schedule(second, chosen)) <= 40
    widest = int(second.bits.sum(axis=1).max())
    tried = [(pe, lanes) for pe in BALANCED_PES if pe <= 8 for lanes in {*BALANCED_LANES, widest} if lanes <= widest]
    for pe, lanes in tried:                                  # nothing smaller of those tried meets the target
        if (pe * lanes, pe) < (chosen.pe * chosen.lanes, chosen.pe):
            try:
                assert unit_interval(Schedule(second, Folding(pe=pe, lanes=lanes))) > 40, (pe, lanes)
            except ValueError:
                pass                                         # too few lanes for the planes
    with pytest.raises(ValueError, match="^weight layer 1 cannot be folded within 1 cycles per image"):
        balanced_fold(net, 1)
