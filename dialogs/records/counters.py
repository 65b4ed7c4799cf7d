"""The dialog's denormalised figures (messages, 👍/👎, last model, examples made from it).

The dialogs page filters and sorts 100k dialogs on these columns alone. They are recounted from
the rows — not incremented — by the services that change messages or examples, while those hold
the dialog's row lock, so a lost update or a cascade cannot leave them off for good: the next
change puts them right. The data migration uses the same expressions for existing rows.
"""

from django.db.models import F, Func, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from ..models import Dialog, Example, Message


def _count(rows: QuerySet) -> Coalesce:
    # COUNT as a plain function, not an aggregate: no GROUP BY, one number per outer dialog.
    counted = rows.order_by().annotate(n=Func(F("pk"), function="COUNT", output_field=IntegerField())).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def message_figures(message_model) -> dict:
    """Update expressions for the message-derived columns of the outer dialog (active messages:
    what the transcript shows; an edited question's old turn no longer counts)."""
    active = message_model.objects.filter(dialog=OuterRef("pk"), replaced_at__isnull=True)
    last_model = active.filter(role="assistant").exclude(model="").order_by("-position").values("model")[:1]
    return {
        "message_count": _count(active),
        "feedback_up": _count(active.filter(feedback=1)),
        "feedback_down": _count(active.filter(feedback=-1)),
        "model": Coalesce(Subquery(last_model), Value("")),
    }


def example_figures(example_model) -> dict:
    return {"example_count": _count(example_model.objects.filter(source_dialog=OuterRef("pk")))}


def dialog_messages_recount(dialog_id: int, **changes) -> None:
    """After a message of the dialog was added, replaced, answered or rated. Call it inside the
    transaction that locked the dialog (select_for_update), after the change. `changes` are
    further columns of the dialog to update in the same query. The dialog's triage flags are due
    again (dialogs.records.triage)."""
    Dialog.objects.filter(pk=dialog_id).update(**message_figures(Message), triage_due=True, **changes)


def dialogs_examples_recount(dialog_ids) -> None:
    """After examples made from these dialogs were created or deleted."""
    ids = [pk for pk in dialog_ids if pk is not None]
    if ids:
        Dialog.objects.filter(pk__in=ids).update(**example_figures(Example))
