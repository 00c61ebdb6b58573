"""Amaranth hardware generation from layout files (imports amaranth and numpy, never torch).

Planned contents are described in ../shared/DESIGN.md §4; this package is filled by the generator
issue.
"""
