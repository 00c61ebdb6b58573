"""The one error type hbnn raises for bad user input.

A `ConfigError` message is a single sentence naming the bad value and, where there is a fixed set,
the valid choices. The CLI prints it as one line (`hbnn: error: ...`) without a traceback.
"""


class ConfigError(ValueError):
    """Bad user input: an unknown name, a malformed value or an unreadable file."""


def unknown_choice(what: str, value, choices) -> ConfigError:
    """`ConfigError` for a value outside a fixed set, worded the same everywhere."""
    listed = ", ".join(str(c) for c in choices)
    return ConfigError(f"unknown {what} {value!r}; choose one of: {listed}")
