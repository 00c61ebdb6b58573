import pytest
import torch
from hypothesis import given, strategies as st

from hbnn.model.bitmix import NAMED_MIXES, parse_mix
from hbnn.model.errors import ConfigError
from hbnn.model.sign import sign


def test_sign_of_zero_is_plus_one():
    x = torch.tensor([-2.0, -0.0, 0.0, 1e-30, -1e-30, 3.0])
    assert sign(x).tolist() == [-1.0, 1.0, 1.0, 1.0, -1.0, 1.0]


@pytest.mark.parametrize("name", list(NAMED_MIXES))
def test_named_mix_counts_are_exact(name):
    mix = parse_mix(name)
    assert mix.counts(1000) == tuple(10 * p for p in NAMED_MIXES[name])
    assert mix.counts(100) == NAMED_MIXES[name]


def test_named_mixes_average_to_their_name():
    for name in NAMED_MIXES:
        assert parse_mix(name).average_bits == pytest.approx(float(name))


@given(st.integers(0, 100), st.integers(0, 100), st.integers(1, 5000))
def test_counts_sum_to_n_and_stay_within_one(a, b, n):
    if a + b > 100:
        a, b = b // 2, a // 2
    mix = parse_mix(f"{a}/{b}/{100 - a - b}")
    counts = mix.counts(n)
    assert sum(counts) == n
    for count, p in zip(counts, mix.percent):
        assert abs(count - p * n / 100) <= 1


def test_fraction_mix_and_names():
    assert parse_mix("80/0/20").average_bits == pytest.approx(1.4)
    assert parse_mix("70/20/10").name == "1.4"
    assert parse_mix("80/0/20").name == "80/0/20"
    assert parse_mix("50/50").percent == (50, 50, 0)
    assert parse_mix("1.2").max_bits == 3 and parse_mix("1.5").max_bits == 2


@pytest.mark.parametrize("text, message", [
    ("1.45", "unknown weight mix '1.45'; give percentages like 70/20/10 or one of: 1, 1.1,"),
    ("70/20/20", "weight mix '70/20/20' sums to 110, not 100"),
    ("70/20/5/5", "weight mix '70/20/5/5' has 4 bitwidths; at most 3 bits are supported"),
    ("4", "unknown weight mix '4'"),
    ("70/x/30", "weight mix '70/x/30' must be whole percentages like 70/20/10"),
    ("110/-10/0", "weight mix '110/-10/0' has a negative percentage"),
])
def test_bad_mixes_are_named(text, message):
    with pytest.raises(ConfigError) as error:
        parse_mix(text)
    assert str(error.value).startswith(message)
