"""The one exception type that means "the user asked for something we cannot do"."""


class UserError(Exception):
    """A mistake in the user's input: the CLI prints its message as one line and exits non-zero.

    The message should say what is wrong and what to do instead.
    """


class WriteFailed(UserError):
    """An output file could not be written (disk full, permissions); files written before are intact."""
