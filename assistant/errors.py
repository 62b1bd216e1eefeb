"""Errors whose message is written for the person using the app.

Every message names the file or thing involved and says what to do next, so the
UI and the CLI can show ``str(error)`` as it is, never a traceback.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base error: ``str(err)`` is safe and useful to show a user."""


class NotAPDFError(AssistantError):
    pass


class EncryptedPDFError(AssistantError):
    pass


class PasswordRequiredError(EncryptedPDFError):
    """The file opens only with a password, and none was given."""


class WrongPasswordError(EncryptedPDFError):
    pass


class UnreadablePDFError(AssistantError):
    pass


class EmptyPDFError(AssistantError):
    pass


class TooLargeError(AssistantError):
    pass


class DocumentNotFoundError(AssistantError):
    pass


class AmbiguousDocumentError(AssistantError):
    pass


class TemplateError(AssistantError):
    pass


class LLMUnavailableError(AssistantError):
    pass


class ConfigurationError(AssistantError):
    pass


class StoreUnavailableError(AssistantError):
    """The Chroma server holding the chunks does not answer."""


class LibraryBusyError(AssistantError):
    """Another process held the library for writing longer than this one could wait."""
