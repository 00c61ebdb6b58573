"""One home for running Amaranth testbenches on a clocked design in the tests."""

from amaranth.sim import Simulator


def run_clocked(dut, *testbenches, period: float = 1e-6) -> None:
    """Simulate `dut` with a clock of `period` seconds until every async testbench returns."""
    simulator = Simulator(dut)
    simulator.add_clock(period)
    for testbench in testbenches:
        simulator.add_testbench(testbench)
    simulator.run()
