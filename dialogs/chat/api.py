"""The integration API for bot builders: send a user's message to an assistant, get the reply.

POST /api/v1/assistants/<id>/messages with `Authorization: Bearer <key>` and a JSON body
{"message": "...", "conversation_id": 12 (optional), "user_id": "telegram:42" (optional),
"images": [{"url": "data:image/png;base64,..."} or {"data": "<base64>"}] (optional)}.
Every exchange is recorded as a dialog with source "api". The images are checked and cleaned as the
chat's are (dialogs.chat.api_images); a question may be images alone. The OpenAPI description is
served at /api/v1/openapi.json.
"""

import json
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from assistants.engine import chat_complete
from assistants.events import Completed
from assistants.models import ApiKey, Assistant
from assistants.services import api_key_authenticate, api_key_used
from core.db import database
from core.images import ImageRefused
from trainingfiles.formats import has_unstorable_text

from ..models import Dialog, Message
from . import images as question_images
from . import services
from .api_images import images_from_json, images_schema

EXTERNAL_USER_ID_MAX = 200


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}

    def response(self) -> JsonResponse:
        response = JsonResponse({"error": {"type": self.code, "message": self.message}}, status=self.status)
        for name, value in self.headers.items():
            response[name] = value
        return response


def _authenticate(request: HttpRequest, assistant_id: int) -> ApiKey:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise ApiError(401, "invalid_api_key", "Send your key in the header 'Authorization: Bearer <key>'.")
    api_key = api_key_authenticate(header[len("Bearer ") :].strip())
    if api_key is None:
        raise ApiError(401, "invalid_api_key", "The API key is not valid, or it was revoked.")
    if api_key.assistant_id != assistant_id:
        raise ApiError(403, "wrong_assistant", "This key belongs to another assistant.")
    return api_key


def _rate_limit(api_key: ApiKey) -> None:
    """A fixed one-minute window per key, counted in the shared cache (holds across processes)."""
    limit = settings.API_RATE_LIMIT_PER_MINUTE
    window = int(time.time() // 60)
    counter = f"api-rate:{api_key.pk}:{window}"
    cache.add(counter, 0, timeout=120)
    if cache.incr(counter) > limit:
        retry_after = 60 - int(time.time() % 60)
        raise ApiError(
            429,
            "rate_limited",
            f"Too many requests with this key: at most {limit} a minute. Try again in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )


def body_max_bytes() -> int:
    """The largest body the API reads: a message and its images in base64 (more than Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE, which guards every other view)."""
    images = settings.CHAT_IMAGE_MAX_COUNT * (settings.CHAT_IMAGE_MAX_BYTES * 4 // 3 + 100)
    return max(images + settings.CHAT_MESSAGE_MAX_CHARS * 6 + 64 * 1024, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


def _parse(request: HttpRequest) -> dict:
    limit = body_max_bytes()
    size = int(request.headers.get("Content-Length") or 0)
    if size > limit:
        raise ApiError(413, "request_too_large", f"The body is {size} bytes; the API reads at most {limit}.")
    try:
        # read(), not .body: the body may be larger than DATA_UPLOAD_MAX_MEMORY_SIZE (see body_max_bytes)
        body = json.loads(request.read(limit + 1) or b"")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"The body is not valid JSON: {exc}.") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request", "The body must be a JSON object.")
    message = body.get("message", "")
    if not isinstance(message, str) or not (message.strip() or body.get("images")):  # images alone are a question
        raise ApiError(400, "invalid_request", "'message' must be a non-empty string (or send 'images').")
    if has_unstorable_text(message):
        raise ApiError(400, "invalid_request", "'message' holds a NUL character or half of a surrogate pair.")
    if len(message) > settings.CHAT_MESSAGE_MAX_CHARS:
        raise ApiError(
            400,
            "message_too_long",
            f"'message' has {len(message)} characters; at most {settings.CHAT_MESSAGE_MAX_CHARS} are allowed.",
        )
    conversation_id = body.get("conversation_id")
    if conversation_id is not None and (not isinstance(conversation_id, int) or isinstance(conversation_id, bool)):
        raise ApiError(400, "invalid_request", "'conversation_id' must be an integer (from an earlier reply).")
    user_id = body.get("user_id", "")
    if not isinstance(user_id, str) or len(user_id) > EXTERNAL_USER_ID_MAX:
        raise ApiError(
            400, "invalid_request", f"'user_id' must be a string of at most {EXTERNAL_USER_ID_MAX} characters."
        )
    try:
        images = images_from_json(body.get("images"))  # last: decoding and cleaning take the longest
    except ImageRefused as refused:
        raise ApiError(400, refused.code, refused.message) from None
    return {"message": message.strip(), "conversation_id": conversation_id, "user_id": user_id, "images": images}


def _prepare(request: HttpRequest, assistant_id: int):
    """Authenticate, limit, validate and record the question (sync: database work)."""
    api_key = _authenticate(request, assistant_id)
    _rate_limit(api_key)
    data = _parse(request)
    api_key_used(api_key)
    assistant = Assistant.objects.select_related("provider", "course").get(pk=api_key.assistant_id)
    dialog = None
    if data["conversation_id"] is not None:
        dialog = Dialog.objects.filter(
            pk=data["conversation_id"], assistant=assistant, source=Dialog.Source.API
        ).first()
        if dialog is None:
            raise ApiError(404, "conversation_not_found", "No conversation with this id for this assistant.")
    stored = _images_store(assistant, data["images"], dialog)
    try:
        if dialog is None:
            _question, answer = services.dialog_ask(
                assistant=assistant,
                source=Dialog.Source.API,
                content=data["message"],
                external_user_id=data["user_id"],
                api_key=api_key,
                images=stored,
            )
        else:
            _question, answer = services.turn_ask(dialog=dialog, content=data["message"], images=stored)
    except BaseException:
        question_images.files_forget(stored)  # the question was not recorded: nor are its images
        raise
    services.answer_claim(answer)
    return assistant, answer, question_images.history_images(services.history_before(answer))


def _images_store(assistant: Assistant, images: list, dialog: Dialog | None) -> list[question_images.StoredImage]:
    """Write the question's images, refused before anything is written or recorded when the
    assistant's model cannot see them (nor those that earlier questions of the conversation hold)."""
    with translation.override("en"):  # the API speaks English
        refusal = question_images.images_refusal_for(assistant.model, images=images, dialog=dialog)
    if refusal:
        raise ApiError(400, "images_not_seen", refusal)
    if not images:
        return []
    try:
        return question_images.files_store(assistant.course_id, images)
    except question_images.ImagesNotStored as error:
        raise ApiError(
            503, "images_not_stored", "The images could not be stored just now; nothing was recorded. Try again later."
        ) from error


@csrf_exempt
@require_POST
async def api_message(request: HttpRequest, assistant_id: int) -> JsonResponse:
    try:
        assistant, answer, history = await database(_prepare, request, assistant_id)
    except ApiError as error:
        return error.response()
    result = await chat_complete(assistant=assistant, history=history)
    completed = isinstance(result, Completed)
    status = Message.Status.COMPLETE if completed else Message.Status.FAILED
    await database(services.answer_finish, answer=answer, result=result)
    body = {
        "conversation_id": answer.dialog_id,
        "message_id": answer.pk,
        "status": status,
        "reply": result.turn.text,
        "citations": [
            {"number": c["number"], "filename": c["filename"], "file_id": c["file_id"], "quote": c.get("quote", "")}
            for c in result.turn.citations
        ],
        "model": result.turn.model,
        "usage": {"input_tokens": result.turn.input_tokens, "output_tokens": result.turn.output_tokens},
    }
    if not completed:
        body["error"] = {"type": "provider_error", "message": result.message}
    return JsonResponse(body, status=200 if completed else 502)


@require_GET
def api_openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi_description(server=request.build_absolute_uri("/")[:-1]))


def openapi_description(*, server: str) -> dict:
    error = {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
                "required": ["type", "message"],
            }
        },
    }
    reply = {
        "type": "object",
        "properties": {
            "conversation_id": {"type": "integer", "description": "Send it back to continue the conversation."},
            "message_id": {"type": "integer"},
            "status": {"type": "string", "enum": ["complete", "failed"]},
            "reply": {"type": "string", "description": "The assistant's answer (Markdown)."},
            "citations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "number": {"type": "integer"},
                        "filename": {"type": "string"},
                        "file_id": {"type": "string"},
                        "quote": {
                            "type": "string",
                            "description": "The passage cited, from gradcap's knowledge search; empty where the "
                            "provider's file search gave none.",
                        },
                    },
                },
            },
            "model": {"type": "string"},
            "usage": {
                "type": "object",
                "properties": {"input_tokens": {"type": "integer"}, "output_tokens": {"type": "integer"}},
            },
            "error": error["properties"]["error"],
        },
        "required": ["conversation_id", "message_id", "status", "reply", "citations"],
    }
    path = reverse("api_message", args=[0]).replace("/0/", "/{assistant_id}/")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "gradcap integration API",
            "version": "1",
            "description": "Send a user's message to a course assistant and get its reply. Keys are created "
            "on the assistant's page in gradcap and shown once.",
        },
        "servers": [{"url": server}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Reply": reply, "Error": error},
        },
        "security": [{"bearer": []}],
        "paths": {
            path: {
                "post": {
                    "summary": "Send a message, get the reply",
                    "parameters": [
                        {"name": "assistant_id", "in": "path", "required": True, "schema": {"type": "integer"}}
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "message": {
                                            "type": "string",
                                            "maxLength": settings.CHAT_MESSAGE_MAX_CHARS,
                                            "description": "The user's message; may be empty when images are sent.",
                                        },
                                        "conversation_id": {"type": ["integer", "null"]},
                                        "user_id": {"type": "string", "maxLength": EXTERNAL_USER_ID_MAX},
                                        "images": images_schema(),
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": _json("The reply.", "Reply"),
                        "400": _json(
                            "Bad JSON, a missing or too long message, an image refused (invalid_image, "
                            "image_too_large, too_many_images, image_url_not_supported) or images for a model "
                            "that cannot see them (images_not_seen).",
                            "Error",
                        ),
                        "401": _json("No key, a wrong key or a revoked key.", "Error"),
                        "403": _json("The key belongs to another assistant.", "Error"),
                        "404": _json("Unknown conversation.", "Error"),
                        "429": _json("Too many requests with this key; see Retry-After.", "Error"),
                        "503": _json("The images could not be stored just now (images_not_stored).", "Error"),
                        "502": _json("The model provider failed; the partial reply is included.", "Reply"),
                    },
                }
            }
        },
    }


def _json(description: str, schema: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }
