"""User-facing errors: their message is the one-line cause written to a job's log."""


class PrivsynthError(Exception):
    """An error whose message tells the user what went wrong and what to change."""


class ConfigError(PrivsynthError):
    """The configuration is invalid; the message names the offending key."""


class DataError(PrivsynthError):
    """Input data is missing, corrupt or does not match its schema."""


class GeneratorError(PrivsynthError):
    """A generator could not fit or sample."""
