# amaranth: UnusedElaboratable=no
"""Energy estimate: the VCD toggle counter, the activity bench, the ASIC proxies and the arithmetic."""

import itertools
import json
import random

import numpy as np
import pytest
from random_layouts import random_network

from hbnn.sim import activity
from hbnn.boards.energy import estimate as energy
from hbnn.sim.activity import Activity, count_toggles
from hbnn.boards.energy.asic_proxy import operation_counts, transistors
from hbnn.hw.generate import generate
from hbnn.hw.packing import pack_signed
from hbnn.model.synthetic import dense_layer
from hbnn.model.layout import InputCode, Network, WeightLayer, validate

# Hand-written VCD: an aliased clock (same code in two scopes), a 4-bit bus seen in two scopes,
# a 1-bit reg, an 8-bit vector written short (extension rules), a real, x and z values.
VCD = """$date today $end
$timescale 1ns $end
$scope module tb $end
$var wire 1 ! clk $end
$scope module dut $end
$var wire 1 ! clk $end
$var wire 4 " bus [3:0] $end
$var reg 1 # q $end
$scope module sub $end
$var wire 4 " bus_alias [3:0] $end
$var wire 8 $ wide [7:0] $end
$var real 1 % level $end
$upscope $end
$upscope $end
$upscope $end
$enddefinitions $end
#0
$dumpvars
0!
bxxxx "
x#
b0 $
r0.5 %
$end
#5
1!
b1010 "
1#
#10
0!
b110 "
0#
b11 $
r1.5 %
#15
bz110 "
bx $
#20
b1110 "
b1 $
1#
#25
b1 "
b10 $
"""
# bus:  xxxx -> 1010 (from x: 0) -> 0110 (2) -> z110 (to z: 0) -> 1110 (from z: 0) -> 0001 (4)
# q:    x -> 1 (0) -> 0 (1) -> 1 at 20 (1)
# wide: 0 -> 00000011 at 10 (2) -> all x at 15 (0) -> 00000001 at 20 (from x: 0) -> 00000010 (2)
# clk:  0 -> 1 at 5 (1) -> 0 at 10 (1)


def test_count_toggles_against_a_hand_written_vcd(tmp_path):
    path = tmp_path / "hand.vcd"
    path.write_text(VCD)
    nets = count_toggles(path, scope="tb.dut")
    by_name = {net.names[0]: net for net in nets.values()}
    assert set(by_name) == {"clk", "bus", "q", "sub.wide", "sub.level"}
    assert by_name["bus"].names == ["bus", "sub.bus_alias"]
    assert {name: (net.width, net.toggles) for name, net in by_name.items() if not net.real} == {
        "clk": (1, 2), "bus": (4, 6), "q": (1, 2), "sub.wide": (8, 4)}
    # only changes after t = 10 count; earlier ones set the state
    late = {net.names[0]: net.toggles for net in count_toggles(path, start=10, scope="tb.dut").values()}
    assert late == {"clk": 0, "bus": 4, "q": 1, "sub.wide": 2, "sub.level": 0}
    # without a scope every variable keeps its full path, the aliased clock once
    everything = count_toggles(path)
    assert everything["!"].names == ["tb.clk", "tb.dut.clk"]
    assert sum(net.toggles for net in everything.values()) == 14
    assert activity.timescale(path) == 1e-9


def _generated_layer(tmp_path, inputs=16, outputs=4, seed=0):
    net = dense_layer(inputs, outputs, "1.4", seed=seed)
    result = generate(net, tmp_path / f"layer{inputs}x{outputs}.v")
    return net, result


def _toggles(sequence):
    return sum((a ^ b).bit_count() for a, b in itertools.pairwise(sequence))


def test_measure_counts_results_and_register_toggles_exactly(tmp_path):
    from hbnn.model import golden

    net, result = _generated_layer(tmp_path)
    info = result.info
    rng = np.random.default_rng(1)
    images = 30
    pixels = rng.integers(0, 2, size=(images, 16))
    beats = [int(sum(int(b) << j for j, b in enumerate(row))) for row in pixels]
    measured = activity.measure(result.verilog, info, beats, images, build_dir=tmp_path / "bench")
    assert measured.images == images
    # back to back: the last beat moves on edge images + 1, its result `latency` edges later
    assert measured.cycles == images + info["latency_cycles"] + 1
    fields = info["output"]["fields"]
    cls_bits, score_bits = fields["cls"]["bits"], fields["scores"]["bits"]
    # flip-flops: the layer's output register (scores) and the top's (class and scores), 2 valids
    assert measured.register_bits == 2 * 4 * score_bits + cls_bits + 2
    # the registers hold, from reset: the layer's result for the idle all-zero input, then every
    # image's result in order; each valid rises once and falls once (the layer's one edge before
    # the last result moves, the top's on that edge, whose updates count)
    zero_and_images = np.concatenate([np.zeros((1, 16), dtype=np.int64), pixels])
    out = golden.run(net, zero_and_images)
    layer_seq = [0] + [pack_signed(s, score_bits) for s in out.scores.tolist()]
    top_seq = [0] + [int(c) | (pack_signed(s, score_bits) << cls_bits)
                     for c, s in zip(out.classes.tolist(), out.scores.tolist())]
    assert measured.register_toggles == _toggles(layer_seq) + _toggles(top_seq) + 4
    assert measured.toggles > measured.register_toggles > 0
    assert 0 < measured.activity_factor < 1
    assert measured.toggles_per_image == measured.toggles / images


def test_constant_inputs_toggle_less_than_random_ones(tmp_path):
    _, result = _generated_layer(tmp_path)
    rng = random.Random(2)
    beats = [rng.getrandbits(16) for _ in range(40)]
    noisy = activity.measure(result.verilog, result.info, beats, 40, build_dir=tmp_path / "random")
    still = activity.measure(result.verilog, result.info, [beats[0]] * 40, 40, build_dir=tmp_path / "constant")
    assert still.cycles == noisy.cycles and still.bits == noisy.bits
    assert 0 < still.toggles < noisy.toggles / 10


def test_measure_reports_a_stalled_bench(tmp_path):
    _, result = _generated_layer(tmp_path)
    info = dict(result.info, input={k: v for k, v in result.info["input"].items() if k != "beats_per_image"})
    with pytest.raises(activity.ActivityError, match=r"stopped after 20 cycles with 2 of 5 results; see .*vvp\.log"):
        activity.measure(result.verilog, info, [1, 2], 5, build_dir=tmp_path / "b", max_cycles=20)
    with pytest.raises(ValueError, match=r"^5 images need 5 input beats \(1 per image\), not 2$"):
        activity.measure(result.verilog, result.info, [1, 2], 5, build_dir=tmp_path / "b")
    with pytest.raises(ValueError, match=r"^Input beat 0x10000 does not fit the 16-bit input payload$"):
        activity.measure(result.verilog, result.info, [1 << 16], 1, build_dir=tmp_path / "b")
    misnamed = dict(result.info, input=dict(result.info["input"], payload="i__nothing"))
    with pytest.raises(activity.ActivityError, match=r"^iverilog could not compile the bench \(exit status \d+\); "
                                                     r"see .*/misnamed/iverilog\.log$"):
        activity.measure(result.verilog, misnamed, [1], 1, build_dir=tmp_path / "misnamed")
    broken = tmp_path / "broken.v"
    broken.write_text("module hbnn_top(input clk;\nendmodule\n")
    with pytest.raises(activity.ActivityError, match=r"^yosys could not flatten the design \(exit status 1\); "
                                                     r"see .*/broken/yosys\.log$"):
        activity.measure(broken, result.info, [1], 1, build_dir=tmp_path / "broken")


def test_transistors_grow_with_the_design(tmp_path):
    _, small = _generated_layer(tmp_path, 8, 2)
    _, large = _generated_layer(tmp_path, 16, 4)
    few = transistors(small.verilog, "hbnn_top", build_dir=tmp_path / "small")
    many = transistors(large.verilog, "hbnn_top", build_dir=tmp_path / "large")
    assert 0 < few < many
    stat = json.loads((tmp_path / "large" / "stat.json").read_text())["design"]
    assert stat["num_cells_by_type"]["$_DFF_P_"] > 0       # flip-flops counted, exactly


def _hand_layout() -> Network:
    """One dense layer, 3 inputs of 2-bit pixels, 2 outputs (see the hand count below)."""
    bits = np.array([[1, 2, 1], [3, 1, 1]], dtype=np.uint8)
    planes = np.zeros((3, 2, 3), dtype=np.uint8)
    planes[0, 0, 1] = 1      # output 0: weight 1 negative in plane 0
    planes[0, 1, 0] = 1      # output 1: weight 0 negative in planes 0 and 1
    planes[1, 1, 0] = 1
    plane_weights = np.array([[64, 32, 0], [64, 16, 8]], dtype=np.int64)
    layer = WeightLayer(kind="dense", in_shape=(3,), out_channels=2, kernel=1, stride=1, padding=0,
                        input=InputCode("pixels", 2, (1, 2)), bits=bits, planes=planes,
                        plane_weights=plane_weights, frac_bits=6, thresholds=None, output_code=None)
    return validate(Network((3,), 2, 2, (layer,), {}))


def test_operation_counts_against_a_hand_count():
    counts = operation_counts(_hand_layout())
    # lanes: output 0 planes of 3 and 1 members, output 1 of 3, 1 and 1; x 2 input planes
    assert counts["lanes"] == (3 + 1) * 2 + (3 + 1 + 1) * 2 == 18
    # popcount of 3 lanes: a 1-bit add, then a 2-bit add; of 1 lane: none; 2 per output x 2 planes
    assert (counts["popcount_adds"], counts["popcount_add_bits"]) == (8, 12)
    # accumulation (accumulator 10 bits: Y in [-216, 384]): shifted popcounts, one per CSD digit
    # of R Q, plus the constant -sum R Q n_neg:
    #   output 0: 64, 128 (2-bit count -> 8, 9 bits), 32, 64 (1-bit -> 6, 7), -192 (9 bits)
    #     adds 8+9 -> 9 wide, 6+7 -> 7, then 10+8 -> 10, 10+9 -> 10: 4 adds, 36 bits
    #   output 1: 64, 128 (8, 9), 16, 32 (5, 6), 8, 16 (4, 5), -240 (9)
    #     adds 9, 6, 5; then 10+7 -> 10, 6+9 -> 9; then 10+10 -> 10: 6 adds, 49 bits
    assert _hand_layout().layers[0].accumulator_width() == 10
    assert (counts["accumulate_adds"], counts["accumulate_add_bits"]) == (10, 85)
    # argmax over 2 scores of 10 bits
    assert (counts["comparisons"], counts["comparison_bits"]) == (1, 10)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("structure", ["mlp", "conv1d", "conv2d"])
def test_lanes_are_weight_bits_times_input_planes_times_positions(seed, structure):
    net = random_network(seed, structure)
    counts = operation_counts(net)
    for layer, row in zip(net.layers, counts["per_layer"]):
        if row["kind"] == "maxpool":
            c, *spatial = layer.out_shape
            assert row["comparisons"] == c * int(np.prod(spatial)) * (layer.size ** len(spatial) - 1)
            continue
        planes = np.arange(layer.planes.shape[0])[:, None, None]
        used = (planes < layer.bits[None]) & (layer.plane_weights.T[:, :, None] > 0)
        positions = int(np.prod(layer.out_shape[1:])) if layer.kind != "dense" else 1
        assert row["lanes"] == int(used.sum()) * layer.input.bits * positions
        if not layer.is_last:
            assert row["comparisons"] == layer.thresholds.size * positions


def test_estimate_against_a_hand_calculation():
    act = Activity(images=10, cycles=20, bits=1000, register_bits=100, toggles=6000, register_toggles=1000)
    assert act.combinational_activity == 5000 / (900 * 20)
    assert act.register_activity == 0.5 and act.activity_factor == 0.3
    ops = {"popcount_add_bits": 100, "accumulate_add_bits": 50, "comparison_bits": 10}
    result = energy.estimate(family="ice40", lut4=1000, ff=100, carry=50, activity=act, cycles_per_image=2,
                             transistors=10_000, operations=ops, clock_hz=1e6)
    comb = 5000 / 18000
    lut = 2 * comb * 1000 * 0.52
    carry = 2 * comb * 50 * 0.52
    ff = 2 * 0.5 * 100 * 0.52
    ff_clock = 2 * 100 * (641.3 - 616.65) / 6 * 1.219 / 12 / 28   # uA x V / MHz = pJ
    clock = 2 * (2184 - 388.4) * 1.219 / 42
    assert result.breakdown["lut"] == pytest.approx(lut)
    assert result.fpga_nj_per_image == pytest.approx((lut + carry + ff + ff_clock + clock) / 1e3)
    assert result.fpga_static_nj_per_image == pytest.approx(85.6e-6 * 1.219 * 2 / 1e6 * 1e9)
    assert result.asic_proxy_pj_per_image == pytest.approx(2 * 10_000 * 0.03 / 238 * 0.3 / 0.5)
    assert result.ops_45nm_pj_per_image == pytest.approx(160 * 0.03 / 8)
    # ECP5: every FPGA constant scaled by (1.1 V / 1.219 V)^2, a CCU2C carry cell toggles like two
    # LUT4 and two SB_CARRY outputs, no static figure
    ecp5 = energy.estimate(family="ecp5", lut4=1000, ff=100, carry=50, activity=act, cycles_per_image=2,
                           clock_hz=1e6)
    scaled = (lut + 4 * carry + ff + ff_clock + clock) * (1.1 / 1.219) ** 2
    assert ecp5.fpga_nj_per_image == pytest.approx(scaled / 1e3)
    assert ecp5.fpga_static_nj_per_image is None and ecp5.asic_proxy_pj_per_image is None
    assert "ESTIMATE" in result.describe()
    with pytest.raises(ValueError, match=r"^unknown FPGA family 'gowin'; choose one of: ice40, ecp5$"):
        energy.estimate(family="gowin", lut4=1, ff=1, carry=0, activity=act, cycles_per_image=1)
    with pytest.raises(ValueError, match=r"^LUT4 count must be a non-negative integer, not -1$"):
        energy.estimate(family="ice40", lut4=-1, ff=1, carry=0, activity=act, cycles_per_image=1)


def test_derived_constants_reproduce(tmp_path):
    adders = energy.derive_transistor_energy(build_dir=tmp_path / "adders")
    assert (adders["add8_transistors"], adders["add32_transistors"]) == (
        energy.ADD8_TRANSISTORS, energy.ADD32_TRANSISTORS)
    assert energy.TRANSISTOR_PJ == pytest.approx(adders["pj_per_transistor_add8"])
    ice40 = energy.derive_ice40_toggle_energy(build_dir=tmp_path / "ice40")
    assert ice40["math_toggles_per_cycle"] == pytest.approx(energy.ICE40_MATH_TOGGLES_PER_CYCLE, rel=0.01)
    assert ice40["math_pj_per_toggle"] == pytest.approx(energy.ICE40_TOGGLE_PJ, rel=0.02)
    assert ice40["counter_pj_per_toggle"] == pytest.approx(energy.ICE40_TOGGLE_PJ_COUNTER, rel=0.02)
