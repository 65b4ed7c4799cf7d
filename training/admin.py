"""Admins register base models here (the form loads each one to check it); training jobs are the
training hosts' record, shown read-only."""

from django.contrib import admin

from .forms import BaseModelForm
from .models import BaseModel, TrainingEvent, TrainingJob


@admin.register(BaseModel)
class BaseModelAdmin(admin.ModelAdmin):
    form = BaseModelForm
    list_display = ["name", "provider", "source", "context_length", "parameters", "hosts", "is_active", "checked_at"]
    list_filter = ["provider", "is_active"]
    search_fields = ["name", "source"]
    readonly_fields = ["architecture", "parameters", "fingerprint", "checked_at"]


class TrainingEventInline(admin.TabularInline):
    model = TrainingEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "level", "message"]
    readonly_fields = fields


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    list_display = ["public_id", "base_model", "method", "status", "host", "step", "total_steps", "created_at"]
    list_filter = ["status", "method", "provider"]
    search_fields = ["public_id", "fine_tuned_model", "run_key", "host"]
    inlines = [TrainingEventInline]

    def has_add_permission(self, request) -> bool:
        return False  # jobs come from runs started on the training page

    def has_change_permission(self, request, obj=None) -> bool:
        return False
