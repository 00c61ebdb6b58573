"""Energy per inference: estimates from measured switching activity, resources and cited constants.

`estimate` holds the models and their constants (each with its source) and `estimate.estimate(...)`
combines them; `asic_proxy` gives the ASIC-side proxies (yosys's CMOS transistor count, operation
counts from the layout). The activity itself is measured in simulation by `hbnn.sim.activity`.
docs/energy.md derives every constant and states the uncertainty.
"""
