"""Read-mostly admin for fine-tuning: runs and snapshots are the provider's and the curators'
record, so the admin shows them and lets staff fix little by hand."""

from django.contrib import admin

from .models import Activation, Run, RunEvent, Snapshot, TrainedModel


class RunEventInline(admin.TabularInline):
    model = RunEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "level", "message"]
    readonly_fields = fields


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ["pk", "course", "base_model", "method", "status", "fine_tuned_model", "created_at"]
    list_filter = ["status", "method", "course"]
    search_fields = ["job_id", "fine_tuned_model", "base_model", "course__title"]
    readonly_fields = [
        "key",
        "snapshot",
        "training_file_id",
        "validation_file_id",
        "job_id",
        "provider_status",
        "trained_tokens",
        "fine_tuned_model",
        "last_event_id",
        "submitted_at",
        "finished_at",
        "synced_at",
    ]
    inlines = [RunEventInline]


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    list_display = ["pk", "course", "dataset_name", "method", "training_examples", "validation_examples", "created_at"]
    list_filter = ["course", "method"]
    readonly_fields = [field.name for field in Snapshot._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # frozen from a dataset by the start-training page, never by hand


@admin.register(TrainedModel)
class TrainedModelAdmin(admin.ModelAdmin):
    list_display = ["name", "course", "base_model", "created_at"]
    list_filter = ["course"]


@admin.register(Activation)
class ActivationAdmin(admin.ModelAdmin):
    list_display = ["assistant", "from_model", "to_model", "is_rollback", "created_by", "created_at"]
    list_filter = ["assistant__course"]
