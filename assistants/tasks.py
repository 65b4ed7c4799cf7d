"""django-q2 tasks: thin, take ids, call services. Each may run more than once."""

from . import knowledge


def knowledge_file_push(knowledge_file_id: int) -> None:
    knowledge.knowledge_file_push(knowledge_file_id=knowledge_file_id)


def knowledge_file_remove(knowledge_file_id: int) -> None:
    knowledge.knowledge_file_remove(knowledge_file_id=knowledge_file_id)


def knowledge_files_recover() -> int:
    """Scheduled every minute (migration 0003): pushes and removals whose task was lost run again."""
    return knowledge.knowledge_files_recover()
