"""hmrlib's own errors: bad or missing files, data, checkpoints and configuration.

The command line prints them as one line (``hmrlib: error: ...``) and exits with status 2;
anything else is a bug and keeps its traceback. Warnings meant for the user are
:class:`HmrlibWarning` and print as one line (``hmrlib: warning: ...``), without the source line
Python adds by default.
"""

import warnings


class HmrlibError(Exception):
    """An error the user can fix; its message names the file or setting and what is wrong."""


class ConfigError(HmrlibError, ValueError):
    """A configuration value that hmrlib cannot use (an unknown profile, variant or option)."""


class DataError(HmrlibError, FileNotFoundError):
    """A dataset folder that is missing or holds no usable frames."""


class HmrlibWarning(UserWarning):
    """Something the user should know that does not stop the work (e.g. no ImageNet weights)."""


_python_format = warnings.formatwarning


def _format_warning(message, category, filename, lineno, line=None):
    if issubclass(category, HmrlibWarning):
        return f"hmrlib: warning: {message}\n"
    return _python_format(message, category, filename, lineno, line)


warnings.formatwarning = _format_warning  # every other warning prints as Python prints it
