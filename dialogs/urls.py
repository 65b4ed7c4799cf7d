from django.urls import include, path

from .chat import views, views_images
from .datasets import views as datasets
from .datasets import views_editor as editor
from .records import views as records

app_name = "dialogs"


def _chat_patterns(prefix: str, *, playground: bool) -> list:
    """The learner chat and the curators' playground share their views."""
    extra = {"playground": playground}
    message = "<int:dialog_id>/messages/<int:message_id>/"
    return [
        path("", views.chat_index, extra, name=f"{prefix}_index"),
        path("ask/", views.chat_ask, extra, name=f"{prefix}_ask"),
        path("<int:dialog_id>/", views.chat_dialog, extra, name=f"{prefix}_dialog"),
        path("<int:dialog_id>/ask/", views.chat_ask, extra, name=f"{prefix}_ask_more"),
        path(f"{message}edit/", views.chat_edit, extra, name=f"{prefix}_edit"),
        path(f"{message}retry/", views.chat_retry, extra, name=f"{prefix}_retry"),
        path(f"{message}stop/", views.chat_stop, extra, name=f"{prefix}_stop"),
        path(f"{message}feedback/", views.chat_feedback, extra, name=f"{prefix}_feedback"),
        path(f"{message}stream/", views.chat_stream_view, extra, name=f"{prefix}_stream"),
    ]


def _example_patterns() -> list:
    """The example editor's changes and history, under the example's page."""
    message = "messages/<int:index>/"
    return [
        path(f"{message}content/", editor.example_content, name="example_content"),
        path(f"{message}delete/", editor.example_delete_message, name="example_delete_message"),
        path(f"{message}role/", editor.example_role, name="example_role"),
        path(f"{message}weight/", editor.example_weight, name="example_weight"),
        path(f"{message}images/add/", editor.example_image_add, name="example_image_add"),
        path(f"{message}images/<int:number>/remove/", editor.example_image_remove, name="example_image_remove"),
        path("messages/insert/", editor.example_insert, name="example_insert"),
        path("system/", editor.example_system, name="example_system"),
        path("redact/", editor.example_redact, name="example_redact"),
        path("split/", editor.example_split, name="example_split"),
        path("move/", editor.example_move, name="example_move"),
        path("status/", editor.example_status, name="example_status"),
        path("discard/", editor.example_discard, name="example_discard"),
        path("delete/", editor.example_delete, name="example_delete"),
        path("revisions/<int:version>/", editor.example_revision, name="example_revision"),
    ]


urlpatterns = [
    path("chat/", include(_chat_patterns("chat", playground=False))),
    path("playground/", include(_chat_patterns("playground", playground=True))),
    # Curation (curators only).
    path("dialogs/", records.dialog_list, name="list"),
    path("dialogs/add/", records.dialogs_add, name="add"),
    path("dialogs/<int:dialog_id>/", records.dialog_detail, name="detail"),
    path("dialogs/<int:dialog_id>/graduate/", records.dialog_graduate, name="graduate"),
    path("dialogs/<int:dialog_id>/images/<int:image_id>/", views_images.message_image, name="image"),
    path(
        "dialogs/<int:dialog_id>/images/<int:image_id>/thumbnail/",
        views_images.message_image,
        {"thumbnail": True},
        name="thumbnail",
    ),
    path("datasets/", datasets.dataset_list, name="datasets"),
    path("datasets/<int:dataset_id>/", datasets.dataset_detail, name="dataset"),
    path("datasets/<int:dataset_id>/examples/<int:example_id>/", editor.example_edit, name="example"),
    path("datasets/<int:dataset_id>/examples/<int:example_id>/", include(_example_patterns())),
    path("datasets/<int:dataset_id>/settings/", datasets.dataset_settings, name="dataset_settings"),
    path("datasets/<int:dataset_id>/redact/", datasets.dataset_redact_all, name="dataset_redact_all"),
    path("datasets/<int:dataset_id>/revalidate/", datasets.dataset_revalidate, name="dataset_revalidate"),
    path("datasets/<int:dataset_id>/revalidation/", datasets.dataset_revalidation, name="dataset_revalidation"),
    # The dataset page's own row actions (they answer with the row, the editor's with the editor).
    path("datasets/<int:dataset_id>/rows/<int:example_id>/split/", datasets.dataset_split, name="dataset_split"),
    path("datasets/<int:dataset_id>/rows/<int:example_id>/redact/", datasets.dataset_redact, name="dataset_redact"),
    path("datasets/<int:dataset_id>/export/", datasets.dataset_export, name="dataset_export"),
    path("datasets/<int:dataset_id>/import/", datasets.dataset_import, name="dataset_import"),
    path("datasets/<int:dataset_id>/transfers/<int:transfer_id>/", datasets.dataset_transfer, name="dataset_transfer"),
    path(
        "datasets/<int:dataset_id>/transfers/<int:transfer_id>/confirm/",
        datasets.dataset_import_confirm,
        name="dataset_import_confirm",
    ),
    path(
        "datasets/<int:dataset_id>/transfers/<int:transfer_id>/download/",
        datasets.dataset_download,
        name="dataset_download",
    ),
]
