"""Domain errors: raised by services, rendered once as problem+json by the app."""

from __future__ import annotations

from collections.abc import Iterable

from api.schemas.common import FieldError


class ServiceError(Exception):
    """A request the service refuses; `detail` says why in words a client developer can act on."""

    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(self, detail: str, errors: Iterable[FieldError] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)


class InvalidRequest(ServiceError):
    pass


class NotFound(ServiceError):
    status = 404
    title = "Not found"
    slug = "not-found"


class Conflict(ServiceError):
    status = 409
    title = "Conflict"
    slug = "conflict"


class Unprocessable(ServiceError):
    """Well-formed, but it names records that do not exist or breaks a rule of the network."""

    status = 422
    title = "Unprocessable content"
    slug = "unprocessable"
