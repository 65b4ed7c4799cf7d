from django.contrib import admin

from .models import ApiKey, Assistant, InstructionsVersion, KnowledgeFile


class InstructionsVersionInline(admin.TabularInline):
    model = InstructionsVersion
    extra = 0
    fields = ["number", "created_by", "created_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True


class KnowledgeFileInline(admin.TabularInline):
    model = KnowledgeFile
    extra = 0
    fields = ["name", "size", "status", "error", "provider_file_id"]
    readonly_fields = fields


@admin.register(Assistant)
class AssistantAdmin(admin.ModelAdmin):
    list_display = ["name", "course", "model", "provider", "updated_at"]
    list_filter = ["course", "provider"]
    search_fields = ["name", "course__title", "model"]
    readonly_fields = ["vector_store_id"]
    inlines = [InstructionsVersionInline, KnowledgeFileInline]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "assistant", "lookup", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "assistant__name", "lookup"]
    fields = ["assistant", "name", "lookup", "created_by", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["assistant", "lookup", "created_by", "created_at", "last_used_at"]

    def has_add_permission(self, request) -> bool:
        return False  # keys are created on the assistant's page, where the raw key is shown once
