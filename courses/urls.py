from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("c/<slug:slug>/", views.course, name="course"),
]
