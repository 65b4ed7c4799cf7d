from django.contrib import admin
from django.utils.formats import date_format

from accounts.admin import UserAdmin
from accounts.models import User

from .models import Course, Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["course", "user"]


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    inlines = [MembershipInline]
    list_display = ["title", "slug", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["title", "slug", "description"]
    prepopulated_fields = {"slug": ["title"]}


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "course", "role", "joined"]
    list_filter = ["role", "course"]
    search_fields = ["user__email", "course__title"]
    autocomplete_fields = ["course", "user"]
    list_select_related = ["user", "course"]

    @admin.display(description=Membership._meta.get_field("created_at").verbose_name, ordering="created_at")
    def joined(self, membership: Membership) -> str:
        return date_format(membership.created_at, "SHORT_DATE_FORMAT")  # the day is enough in a list


# The user page shows the user's memberships. accounts does not know about courses, so this app
# extends the user admin rather than the other way round.
admin.site.unregister(User)


@admin.register(User)
class UserWithMembershipsAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, MembershipInline]
    list_filter = [*UserAdmin.list_filter, "memberships__role", "memberships__course"]
