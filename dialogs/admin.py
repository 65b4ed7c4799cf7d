"""Admin for recorded dialogs and datasets. Dialogs are a record: the admin shows them read-only
(curators work on copies, in datasets); datasets and examples are curated in the app's pages."""

from django.contrib import admin
from django.db import transaction

from .datasets import checks
from .models import Dataset, Dialog, Example, ExampleRevision, Message, Transfer


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    can_delete = False
    fields = ["position", "role", "status", "content", "model", "feedback", "replaced_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Dialog)
class DialogAdmin(admin.ModelAdmin):
    list_display = ["pk", "title", "course", "assistant", "source", "user", "updated_at"]
    list_filter = ["source", "course"]
    search_fields = ["title", "external_user_id", "user__email"]
    date_hierarchy = "created_at"
    readonly_fields = ["course", "assistant", "user", "external_user_id", "api_key", "source", "title"]
    inlines = [MessageInline]

    def has_add_permission(self, request) -> bool:
        return False  # dialogs are recorded by the chat, the playground and the API


class ExampleInline(admin.TabularInline):
    model = Example
    extra = 0
    fields = ["pk", "status", "split", "token_count", "error_count", "warning_count", "updated_at"]
    readonly_fields = fields
    show_change_link = True
    can_delete = False  # from the example's own page, which keeps the dataset's tallies right

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "course", "assistant", "base_model", "updated_at"]
    list_filter = ["course"]
    search_fields = ["name", "course__title"]
    inlines = [ExampleInline]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change and {"assistant", "base_model"} & set(form.changed_data):
            checks.dataset_revalidate_start(obj)  # the examples' stored checks depend on them


class ExampleRevisionInline(admin.TabularInline):
    model = ExampleRevision
    extra = 0
    can_delete = False
    fields = ["version", "summary", "author", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Example)
class ExampleAdmin(admin.ModelAdmin):
    list_display = ["pk", "__str__", "dataset", "status", "token_count", "error_count", "updated_at"]
    list_filter = ["status", "dataset__course"]
    # Edited in the example editor, which keeps the version, the revisions and the checks right.
    readonly_fields = [
        "dataset",
        "status",
        "split",
        "messages",
        "system",
        "system_overridden",
        "tools",
        "version",
        "source_dialog",
        "source_message",
        "token_count",
        "error_count",
        "warning_count",
    ]
    inlines = [ExampleRevisionInline]

    def has_add_permission(self, request) -> bool:
        return False

    def delete_model(self, request, obj) -> None:
        self.delete_queryset(request, Example.objects.filter(pk=obj.pk))

    @transaction.atomic
    def delete_queryset(self, request, queryset) -> None:
        checks.examples_forget(queryset.select_for_update())  # out of their datasets' tallies
        queryset.delete()


@admin.register(Transfer)
class TransferAdmin(admin.ModelAdmin):
    list_display = ["pk", "dataset", "kind", "format", "status", "done", "total", "created_at"]
    list_filter = ["kind", "status"]
