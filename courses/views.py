from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .access import get_course_for_user
from .selectors import course_accesses_for_user


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    accesses = course_accesses_for_user(user=request.user)
    return render(request, "courses/home.html", {"accesses": accesses})


@require_GET
@login_required
def course(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_course_for_user(request.user, slug)
    memberships = None
    if access.is_curator:
        memberships = access.course.memberships.select_related("user").order_by("role", "user__email")
    return render(
        request, "courses/course.html", {"access": access, "course": access.course, "memberships": memberships}
    )
