"""The sandbox's OpenAI-compatible API, mounted at /sandbox/v1/ when SANDBOX_ENABLED."""

from django.urls import path, re_path

from . import answer_views, vectorstore_views, views

app_name = "sandbox"

urlpatterns = [
    path("models", views.models_list, name="models"),
    path("models/<str:model_id>", views.model_detail, name="model"),
    path("files", views.files_root, name="files"),
    path("files/<str:file_id>", views.file_detail, name="file"),
    path("files/<str:file_id>/content", views.file_content, name="file_content"),
    path("fine_tuning/jobs", views.fine_tuning_jobs, name="fine_tuning_jobs"),
    path("fine_tuning/jobs/<str:job_id>", views.fine_tuning_job, name="fine_tuning_job"),
    path("fine_tuning/jobs/<str:job_id>/events", views.fine_tuning_job_events, name="fine_tuning_job_events"),
    path(
        "fine_tuning/jobs/<str:job_id>/checkpoints",
        views.fine_tuning_job_checkpoints,
        name="fine_tuning_job_checkpoints",
    ),
    path("fine_tuning/jobs/<str:job_id>/cancel", views.fine_tuning_job_cancel, name="fine_tuning_job_cancel"),
    path("fine_tuning/jobs/<str:job_id>/pause", views.fine_tuning_job_pause, name="fine_tuning_job_pause"),
    path("fine_tuning/jobs/<str:job_id>/resume", views.fine_tuning_job_resume, name="fine_tuning_job_resume"),
    path("responses", answer_views.responses_create, name="responses"),
    path("responses/<str:response_id>", answer_views.response_detail, name="response"),
    path("chat/completions", answer_views.chat_completions, name="chat_completions"),
    path("load_lora_adapter", views.load_lora_adapter, name="load_lora_adapter"),
    path("unload_lora_adapter", views.unload_lora_adapter, name="unload_lora_adapter"),
    path("conversations", views.conversations_root, name="conversations"),
    path("conversations/<str:conversation_id>", views.conversation_detail, name="conversation"),
    path("conversations/<str:conversation_id>/items", views.conversation_items, name="conversation_items"),
    path("conversations/<str:conversation_id>/items/<str:item_id>", views.conversation_item, name="conversation_item"),
    path("vector_stores", vectorstore_views.vector_stores_root, name="vector_stores"),
    path("vector_stores/<str:store_id>", vectorstore_views.vector_store_detail, name="vector_store"),
    path("vector_stores/<str:store_id>/search", vectorstore_views.vector_store_search, name="vector_store_search"),
    path("vector_stores/<str:store_id>/files", vectorstore_views.vector_store_files, name="vector_store_files"),
    path(
        "vector_stores/<str:store_id>/files/<str:file_id>",
        vectorstore_views.vector_store_file,
        name="vector_store_file",
    ),
    path(
        "vector_stores/<str:store_id>/file_batches",
        vectorstore_views.vector_store_file_batches,
        name="vector_store_file_batches",
    ),
    path(
        "vector_stores/<str:store_id>/file_batches/<str:batch_id>",
        vectorstore_views.vector_store_file_batch,
        name="vector_store_file_batch",
    ),
    path(
        "vector_stores/<str:store_id>/file_batches/<str:batch_id>/files",
        vectorstore_views.vector_store_file_batch_files,
        name="vector_store_file_batch_files",
    ),
    re_path(r"^(?P<rest>.*)$", views.not_found_view, name="not_found"),
]
