"""Pareto fronts (`hbnn.pareto`) against a brute-force reading of the definition."""

import random

import pytest

from hbnn import pareto


def test_a_design_is_off_the_front_when_another_is_as_good_on_both_and_better_on_one():
    costs = [10, 20, 30, 20, 40, 10]
    accuracies = [0.80, 0.90, 0.89, 0.85, 0.95, 0.80]
    # 30 / 0.89 is beaten by 20 / 0.90; 20 / 0.85 by 20 / 0.90; the two 10 / 0.80 tie and both stay
    assert pareto.on_front(costs, accuracies) == [True, True, False, False, True, True]
    assert pareto.front_line(costs, accuracies) == [(10, 0.80), (10, 0.80), (20, 0.90), (40, 0.95)]


def test_random_designs_agree_with_the_definition():
    rng = random.Random(7)
    for _ in range(200):
        count = rng.randint(1, 12)
        costs = [rng.randint(1, 6) for _ in range(count)]
        accuracies = [rng.randint(1, 6) / 10 for _ in range(count)]
        flags = pareto.on_front(costs, accuracies)
        for i in range(count):
            dominated = any(costs[j] <= costs[i] and accuracies[j] >= accuracies[i]
                            and (costs[j], accuracies[j]) != (costs[i], accuracies[i]) for j in range(count))
            assert flags[i] == (not dominated)
        line = pareto.front_line(costs, accuracies)
        assert [accuracy for _, accuracy in line] == sorted(accuracy for _, accuracy in line)


def test_lengths_must_match():
    with pytest.raises(ValueError, match="3 costs but 2 accuracies"):
        pareto.on_front([1, 2, 3], [0.1, 0.2])
