"""The datasets' non-trivial reads: which examples a filter of the dataset page shows, a running
re-validation's progress, the imports and exports a curator sees."""

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from accounts.models import User

from ..models import Dataset, Example, Transfer


def examples_filtered(
    *, dataset: Dataset, status: str = "", issues: str = "", split: str = "", duplicates: Iterable[int] = ()
) -> QuerySet[Example]:
    """The dataset's examples (in order) with this status, with issues or without ("yes", "no";
    the duplicates count as issues) and in this split (the automatic one included)."""
    examples = dataset.examples.order_by("pk")
    if status:
        examples = examples.filter(status=status)
    with_issues = Q(error_count__gt=0) | Q(warning_count__gt=0) | Q(pk__in=duplicates)
    if issues == "yes":
        examples = examples.filter(with_issues)
    elif issues == "no":
        examples = examples.exclude(with_issues)
    if split:
        # The automatic split is the stored draw against the dataset's share (lines.split_of).
        drawn = Q(split_draw__lt=dataset.validation_percent)
        if split == Example.Split.TRAIN:
            drawn = ~drawn | Q(split_draw__isnull=True)
        examples = examples.filter(Q(split=split) | (Q(split=Example.Split.AUTO) & drawn))
    return examples


def revalidation_progress(dataset: Dataset) -> dict | None:
    """A running re-validation's progress, for the page."""
    if dataset.checks_upto is None:
        return None
    done = dataset.examples.filter(pk__lte=dataset.checks_upto).count() if dataset.checks_upto else 0
    total = max(dataset.checks_total, done)
    return {"done": done, "total": total, "percent": round(done * 100 / total) if total else 0}


def transfers_recent(*, dataset: Dataset, user: User) -> list[Transfer]:
    """The dataset's last imports and exports the user sees: other curators' exports are shared;
    an import is its uploader's until it runs."""
    visible = Q(kind=Transfer.Kind.EXPORT) | Q(created_by=user) | ~Q(status=Transfer.Status.UPLOADED)
    return list(dataset.transfers.filter(visible).select_related("dataset")[:5])
