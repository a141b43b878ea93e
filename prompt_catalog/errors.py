"""Errors the catalog reports to callers, each with an HTTP status and a stable code."""

from __future__ import annotations


class CatalogError(Exception):
    status = 500
    code = "InternalError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class InvalidRequestError(CatalogError):
    status = 400
    code = "InvalidRequest"


class TemplateTooLargeError(InvalidRequestError):
    code = "TemplateTooLarge"


class RenderError(InvalidRequestError):
    code = "RenderError"


class NotFoundError(CatalogError):
    status = 404
    code = "NotFound"


class ConflictError(CatalogError):
    status = 409
    code = "Conflict"
