"""Read-only views of the sandbox's state, for debugging the demo and tests."""

from django.contrib import admin

from . import models


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(models.File)
class FileAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "filename", "purpose", "size", "created_at"]
    list_filter = ["purpose"]
    search_fields = ["public_id", "filename"]
    exclude = ["content"]


class EventInline(admin.TabularInline):
    model = models.FineTuningEvent
    fields = ["created_at", "level", "type", "message"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(models.FineTuningJob)
class FineTuningJobAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "model", "status", "fine_tuned_model", "created_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["public_id", "fine_tuned_model"]
    inlines = [EventInline]


@admin.register(models.Response)
class ResponseAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "model", "status", "created_at"]
    search_fields = ["public_id"]


@admin.register(models.Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "created_at"]
    search_fields = ["public_id"]


@admin.register(models.VectorStore)
class VectorStoreAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "name", "created_at"]
    search_fields = ["public_id", "name"]


@admin.register(models.FaultCounter)
class FaultCounterAdmin(admin.ModelAdmin):
    list_display = ["key", "count"]
