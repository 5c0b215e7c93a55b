"""The pipeline's own exceptions (no torch here: table and figure jobs import this too)."""


class ConfigError(Exception):
    """A config that the pipeline cannot run: the message names the key and what is allowed."""


class DataError(Exception):
    """A data set that cannot be had: the message says where it looked and what to do."""


class CorruptFile(Exception):
    """A checkpoint whose content does not match its checksum."""


class Interrupted(Exception):
    """Training stopped on SIGTERM after saving a resume checkpoint."""
