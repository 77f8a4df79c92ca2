"""hmrlib's own errors: bad or missing files, data, checkpoints and configuration.

The command line prints them as one line (``hmrlib: error: ...``) and exits with status 2;
anything else is a bug and keeps its traceback.
"""


class HmrlibError(Exception):
    """An error the user can fix; its message names the file or setting and what is wrong."""


class ConfigError(HmrlibError, ValueError):
    """A configuration value that hmrlib cannot use (an unknown profile, variant or option)."""


class DataError(HmrlibError, FileNotFoundError):
    """A dataset folder that is missing or holds no usable frames."""
