"""The one error type hbnn raises for what a user can get wrong.

A `ConfigError` message is a single sentence naming the bad value and, where there is a fixed set,
the valid choices. The CLI prints it as one line (`hbnn: error: ...`) with exit status 2, without
a traceback; any other exception is a bug in hbnn and keeps its traceback. Subclasses name the
kind: `layout.LayoutError` (a malformed layout file), `hw.buildable.UnsupportedLayout` (a layout
the generator cannot build), `hbnn.tools.ToolMissing` (a program is not installed),
`boards.flow.DesignTooBig` (the design does not fit the board).
"""


class ConfigError(ValueError):
    """Bad user input: an unknown name, a malformed value, an unreadable file, a missing program."""


def unknown_choice(what: str, value, choices) -> ConfigError:
    """`ConfigError` for a value outside a fixed set, worded the same everywhere."""
    listed = ", ".join(str(c) for c in choices)
    return ConfigError(f"unknown {what} {value!r}; choose one of: {listed}")
