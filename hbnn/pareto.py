"""Pareto fronts of a comparison: the designs that no other design beats on accuracy and cost at once.

A design with (cost c, accuracy a) is dominated when another has c' <= c and a' >= a with at least
one of the two strict; the front is every design that is not dominated. Accuracy here is the mean
over training seeds, so a design just off the front may still be within seed noise of it: the
table beside the front gives the spread (`hbnn.compare`).
"""

from collections.abc import Sequence


def on_front(costs: Sequence[float], accuracies: Sequence[float]) -> list[bool]:
    """For each design i (cost costs[i], accuracy accuracies[i]): True when no design dominates it.
    Designs with equal cost and accuracy do not dominate each other (both stay on the front)."""
    if len(costs) != len(accuracies):
        raise ValueError(f"{len(costs)} costs but {len(accuracies)} accuracies")
    pairs = list(zip(costs, accuracies))
    return [not any(c <= cost and a >= accuracy and (c < cost or a > accuracy) for c, a in pairs)
            for cost, accuracy in pairs]


def front_line(costs: Sequence[float], accuracies: Sequence[float]) -> list[tuple[float, float]]:
    """The front's designs as (cost, accuracy), by rising cost: the staircase a plot draws."""
    flags = on_front(costs, accuracies)
    return sorted((cost, accuracy) for cost, accuracy, flag in zip(costs, accuracies, flags) if flag)
