"""Verification against the golden model: cocotb benches of the generated Verilog (`runner`,
`cocotb_stream`), Amaranth-simulator checks (`amaranth_stream`, `network_check`), and the
end-to-end flow behind `hbnn demo` (`flow`)."""
