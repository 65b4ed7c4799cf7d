from django.urls import include, path

from . import browse, datasets, editor, views

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


urlpatterns = [
    path("chat/", include(_chat_patterns("chat", playground=False))),
    path("playground/", include(_chat_patterns("playground", playground=True))),
    # Curation (curators only).
    path("dialogs/", browse.dialog_list, name="list"),
    path("dialogs/add/", browse.dialogs_add, name="add"),
    path("dialogs/<int:dialog_id>/", browse.dialog_detail, name="detail"),
    path("dialogs/<int:dialog_id>/graduate/", browse.dialog_graduate, name="graduate"),
    path("datasets/", datasets.dataset_list, name="datasets"),
    path("datasets/<int:dataset_id>/", datasets.dataset_detail, name="dataset"),
    path("datasets/<int:dataset_id>/examples/<int:example_id>/", editor.example_edit, name="example"),
]
