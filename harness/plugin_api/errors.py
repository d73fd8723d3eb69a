"""The one error type a user sees: a single line, exit code 2, before anything trains."""


class BenchError(Exception):
    """Bad input (matrix, option, plugin name, data file). The message is one line that
    names the file, field or plugin and what was expected."""

    exit_code = 2
