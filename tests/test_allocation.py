import pytest
import torch
from hypothesis import given, settings, strategies as st

from hbnn.model.allocation import allocate
from hbnn.model.config import ALLOCATIONS
from hbnn.model.bitmix import NAMED_MIXES, parse_mix
from hbnn.model.errors import ConfigError


def gaussian(n=4000, seed=0):
    return torch.randn(n, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("rule", ALLOCATIONS)
@pytest.mark.parametrize("name", list(NAMED_MIXES))
def test_every_rule_gives_exact_counts(rule, name):
    w = gaussian(1000).view(10, 100)
    bits = allocate(w, parse_mix(name), rule)
    assert bits.shape == w.shape and bits.dtype == torch.int8
    counts = tuple(int((bits == b).sum()) for b in (1, 2, 3))
    assert counts == tuple(10 * p for p in NAMED_MIXES[name])


def test_middle_out_is_the_papers_one_sort_on_a_hand_checked_tensor():
    # mean |w| = 8.8 / 10 = 0.88, so k = | |w| - 0.88 | = .78 .12 .38 1.12 .48 .28 2.12 .68 .33 .43;
    # ascending: entries 1 5 8 2 9 4 7 | 0 3 | 6, cut 7/2/1 by the 70/20/10 mix.
    w = torch.tensor([0.1, -1.0, 0.5, 2.0, -0.4, 0.6, -3.0, 0.2, 0.55, -0.45])
    assert allocate(w, parse_mix("1.4"), "middle-out").tolist() == [2, 1, 1, 2, 1, 1, 3, 1, 1, 1]


def test_middle_out_gives_bits_in_order_of_distance_from_the_mean_magnitude():
    w = gaussian()
    bits = allocate(w, parse_mix("1.4"), "middle-out")
    k = (w.abs() - w.abs().mean()).abs()
    assert k[bits == 1].max() <= k[bits == 2].min()
    assert k[bits == 2].max() <= k[bits == 3].min()


def test_middle_out_residual_recurses_on_the_residual():
    # Second step: among the entries left, those whose residual |w| - mu_1 lies nearest its own
    # mean magnitude stop at 2 bits.
    w = gaussian()
    bits = allocate(w, parse_mix("1.4"), "middle-out-residual")
    k = (w.abs() - w.abs().mean()).abs()
    assert k[bits == 1].max() <= k[bits > 1].min()  # the first step is the paper's
    rest = bits > 1
    mu1 = w.abs().mean()
    residual = w[rest] - mu1 * torch.where(w[rest] >= 0, 1.0, -1.0)
    k2 = (residual.abs() - residual.abs().mean()).abs()
    assert k2[bits[rest] == 2].max() <= k2[bits[rest] == 3].min()


def test_the_two_middle_out_rules_differ_in_the_second_step_only():
    w = gaussian()
    paper = allocate(w, parse_mix("1.8"), "middle-out")
    residual = allocate(w, parse_mix("1.8"), "middle-out-residual")
    assert torch.equal(paper == 1, residual == 1)
    moved = float((paper != residual).float().mean())
    assert 0.15 < moved < 0.30  # about 23 % of the entries at 1.8 bits


def test_column_rule_shares_each_columns_bits_in_middle_out_order():
    # mean |w| = 10 / 10 = 1, so k = | |w| - 1 |; column means of k: 0.05, 1.0, 0.5, 0.25, 0.55
    # (ascending: columns 0 3 2 4 1), cut 3/1/1 by the 60/20/20 mix.
    w = torch.tensor([[1.1, 0.0, -1.5, 0.75, 1.5],
                      [-1.0, 2.0, 0.5, -1.25, -0.4]])
    bits = allocate(w, parse_mix("60/20/20"), "middle-out-column")
    assert bits.tolist() == [[1, 3, 1, 1, 2]] * 2


def test_group_rule_chooses_columns_per_group_of_eight_outputs():
    w = gaussian(20 * 50).view(20, 50)
    bits = allocate(w, parse_mix("1.4"), "middle-out-group8")
    groups = [bits[0:8], bits[8:16], bits[16:20]]
    for group in groups:
        assert (group == group[0]).all()                          # shared inside a group
        assert tuple(int((group[0] == b).sum()) for b in (1, 2, 3)) == parse_mix("1.4").counts(50)
    assert not torch.equal(groups[0][0], groups[1][0])           # chosen per group
    k = (w.abs() - w.abs().mean()).abs()[8:16].mean(dim=0)
    assert k[groups[1][0] == 1].max() <= k[groups[1][0] == 2].min()


def test_shared_rules_share_bits_along_the_fan_in_of_a_convolution():
    w = gaussian(16 * 3 * 5, seed=2).view(16, 3, 5)
    bits = allocate(w, parse_mix("1.4"), "middle-out-column")
    assert bits.shape == w.shape and (bits == bits[0]).all()


def test_top_down_and_bottom_up_order_by_magnitude():
    w = gaussian()
    top = allocate(w, parse_mix("1.4"), "top-down")
    assert w.abs()[top == 1].min() >= w.abs()[top == 2].max() >= w.abs()[top == 3].max() * 0
    assert w.abs()[top == 2].min() >= w.abs()[top == 3].max()
    bottom = allocate(w, parse_mix("1.4"), "bottom-up")
    assert w.abs()[bottom == 1].max() <= w.abs()[bottom == 2].min()
    assert w.abs()[bottom == 2].max() <= w.abs()[bottom == 3].min()


def test_random_is_fixed_by_seed_and_independent_of_values():
    w = gaussian()
    a = allocate(w, parse_mix("1.4"), "random", seed=3)
    assert torch.equal(a, allocate(w * 5 + 1, parse_mix("1.4"), "random", seed=3))
    assert not torch.equal(a, allocate(w, parse_mix("1.4"), "random", seed=4))


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 300), st.sampled_from(list(NAMED_MIXES)), st.sampled_from(ALLOCATIONS))
def test_counts_follow_the_mix_for_any_size(n, name, rule):
    mix = parse_mix(name)
    bits = allocate(gaussian(n, seed=n), mix, rule)
    assert tuple(int((bits == b).sum()) for b in (1, 2, 3)) == mix.counts(n)


def test_unknown_allocation_is_named():
    with pytest.raises(ConfigError, match="unknown allocation 'sideways'; choose one of: middle-out, "
                                          "middle-out-residual, top-down, bottom-up, random, middle-out-column, "
                                          "middle-out-group8"):
        allocate(gaussian(10), parse_mix("1"), "sideways")
