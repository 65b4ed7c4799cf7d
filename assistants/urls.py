from django.urls import path

from . import views

app_name = "assistants"

urlpatterns = [
    path("", views.assistant_list, name="list"),
    path("new/", views.assistant_new, name="new"),
    path("<int:pk>/", views.assistant_detail, name="detail"),
    path("<int:pk>/versions/", views.assistant_versions, name="versions"),
    path("<int:pk>/files/", views.knowledge_files, name="files"),
    path("<int:pk>/files/<int:file_pk>/delete/", views.knowledge_file_remove, name="file_delete"),
    path("passages/<int:passage_pk>/", views.passage_detail, name="passage"),
    path("<int:pk>/keys/", views.api_key_new, name="key_new"),
    path("<int:pk>/keys/<int:key_pk>/revoke/", views.api_key_revoke, name="key_revoke"),
]
