"""Domain errors: raised by services, rendered once as problem+json by the app."""

from __future__ import annotations

from collections.abc import Iterable

from api.schemas.common import FieldError


class ServiceError(Exception):
    """A request the service refuses; `detail` says why in words a client developer can act on."""

    status = 400

    def __init__(self, detail: str, errors: Iterable[FieldError] = (), headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)
        self.headers = headers or {}
        self.current_version: int | None = None


class InvalidRequest(ServiceError):
    pass


class Unauthorised(ServiceError):
    """No key, or a key that is not valid: writes need one."""

    status = 401

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="placenet"'})


class Forbidden(ServiceError):
    """A valid key that may not do this; `detail` says why."""

    status = 403


class PreconditionFailed(ServiceError):
    """If-Match named a version that is no longer the current one."""

    status = 412

    def __init__(self, detail: str, current_version: int) -> None:
        super().__init__(detail, headers={"ETag": f'"{current_version}"'})
        self.current_version = current_version


class ServiceUnavailable(ServiceError):
    """The database does not answer: try again shortly."""

    status = 503

    def __init__(self, detail: str, retry_after: int = 5) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class Unprocessable(ServiceError):
    """Well-formed, but it names records that do not exist or breaks a rule of the network."""

    status = 422
