from django.urls import path

from . import model_pages, views

app_name = "finetune"

urlpatterns = [
    path("", views.run_list, name="runs"),
    path("datasets/<int:dataset_id>/start/", views.run_new, name="run_new"),
    path("runs/<int:run_id>/", views.run_detail, name="run"),
    path("runs/<int:run_id>/refresh/", views.run_refresh, name="run_refresh"),
    path("runs/<int:run_id>/trainer.log", views.run_log, name="run_log"),
    path("runs/<int:run_id>/<str:action>/", views.run_action, name="run_action"),
    path("snapshots/<int:snapshot_id>/<str:split>.jsonl", views.snapshot_download, name="snapshot_download"),
    path("models/<int:model_id>/", model_pages.model_detail, name="model"),
    path("models/<int:model_id>/activate/", model_pages.model_activate, name="model_activate"),
    path("models/<int:model_id>/adapter.zip", model_pages.model_adapter, name="model_adapter"),
    path("models/<int:model_id>/merge/", model_pages.model_merge, name="model_merge"),
    path("models/<int:model_id>/merged.zip", model_pages.model_merged, name="model_merged"),
    path("models/<int:model_id>/evaluate/", model_pages.evaluation_new, name="evaluation_new"),
    path("assistants/<int:assistant_id>/rollback/", model_pages.assistant_rollback, name="rollback"),
    path("evaluations/<int:evaluation_id>/", model_pages.evaluation_detail, name="evaluation"),
]
