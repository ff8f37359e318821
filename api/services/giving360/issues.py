"""What an import finds in a file: errors (nothing is written) and warnings (written, reported), and
the refusals an import ends with."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from api.schemas.common import FieldError
from api.schemas.imports import Issue
from api.services.platform.errors import ServiceError, Unprocessable

LISTED_ERRORS = 100
LISTED_WARNINGS = 200
# The most of a published value a message quotes: no more than an identifier may hold (validate.py
# IDENTIFIER_LENGTH is 200), so a warning about a grant never carries a whole cell of the file with it.
QUOTED_CHARS = 100


def quoted(value: object, limit: int = QUOTED_CHARS) -> str:
    """A published value as a message quotes it: whole when short, else its first characters and how long it
    is."""
    text = str(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


@dataclass
class Issues:
    """Every error and warning found, in the order found."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    def error(self, kind: str, message: str, grant: str | None = None, where: str | None = None) -> None:
        self.errors.append(Issue(kind=kind, message=message, grant=grant, where=where))

    def warn(self, kind: str, message: str, grant: str | None = None, where: str | None = None) -> None:
        self.warnings.append(Issue(kind=kind, message=message, grant=grant, where=where))

    def warning_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(issue.kind for issue in self.warnings).items()))

    def refuse_if_errors(self) -> None:
        if self.errors:
            raise ImportRefused(self.errors)


class ImportRefused(Unprocessable):
    """The file has errors, so nothing was written. Lists the first errors and counts them all."""

    def __init__(self, errors: list[Issue]) -> None:
        listed = errors[:LISTED_ERRORS]
        count = f"{len(errors)} error" + ("s" if len(errors) != 1 else "")
        shown = f" (the first {len(listed)} are listed)" if len(listed) < len(errors) else ""
        super().__init__(
            f"The file cannot be imported: {count}{shown}; nothing was written.",
            [
                FieldError(
                    field=issue.where or "body",
                    message=(f"grant {issue.grant}: " if issue.grant else "") + f"{issue.kind}: {issue.message}",
                    location="body",
                )
                for issue in listed
            ],
        )
        self.issues = errors

    def __reduce__(self) -> tuple[object, ...]:
        # Raised in the sandbox and sent back to the server by pickle, which calls the class with `args`.
        return (ImportRefused, (self.issues,))


class UnsupportedFileType(ServiceError):
    status = 415
    title = "Unsupported media type"
    slug = "unsupported-media-type"


class FileTooLarge(ServiceError):
    status = 413
    title = "Content too large"
    slug = "content-too-large"
