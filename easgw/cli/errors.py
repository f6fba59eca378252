"""The command line's one error type."""


class CliError(Exception):
    """An error reported as one line on stderr, exit status 2."""
