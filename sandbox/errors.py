"""OpenAI's error bodies: {"error": {"message", "type", "param", "code"}} with the matching status."""

from django.http import JsonResponse

_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    409: "invalid_request_error",
    429: "rate_limit_exceeded",
    500: "server_error",
}


class SandboxError(Exception):
    """Raised anywhere in the sandbox; the view layer turns it into OpenAI's error response."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.param = param
        self.code = code
        self.headers = headers or {}

    def as_dict(self) -> dict:
        return {
            "message": self.message,
            "type": _TYPES.get(self.status, "invalid_request_error"),
            "param": self.param,
            "code": self.code,
        }

    def response(self) -> JsonResponse:
        response = JsonResponse({"error": self.as_dict()}, status=self.status)
        for name, value in self.headers.items():
            response[name] = value
        return response


def not_found(kind: str, object_id: str, *, param: str = "id") -> SandboxError:
    return SandboxError(f"No such {kind}: '{object_id}'", status=404, param=param)


def conflict(message: str, *, code: str | None = None) -> SandboxError:
    """409 for a request that the object's state forbids. The SDK retries 409s unless told not to."""
    return SandboxError(message, status=409, code=code, headers={"x-should-retry": "false"})


def invalid(message: str, *, param: str | None = None, code: str | None = None) -> SandboxError:
    return SandboxError(message, status=400, param=param, code=code)
