"""Check every example of the datasets again and store what the checks find (after an upgrade,
or to rebuild the dataset pages' reports at once instead of when each page is next opened)."""

from django.core.management.base import BaseCommand, CommandError

from dialogs.datasets.checks import dataset_revalidate
from dialogs.models import Dataset


class Command(BaseCommand):
    help = "Check every example of the given datasets (all when none is given) again, with progress."

    def add_arguments(self, parser):
        parser.add_argument("datasets", nargs="*", type=int, help="dataset ids (default: every dataset)")

    def handle(self, *args, datasets, **options):
        chosen = Dataset.objects.select_related("assistant").order_by("pk")
        if datasets:
            chosen = chosen.filter(pk__in=datasets)
            if missing := set(datasets) - set(chosen.values_list("pk", flat=True)):
                raise CommandError(f"No dataset with id {', '.join(map(str, sorted(missing)))}.")
        for dataset in chosen:
            total = dataset.examples.count()
            self.stdout.write(f"Dataset {dataset.pk} ({dataset.name}): {total} examples")

            def progress(done: int, total: int = total) -> None:
                self.stdout.write(f"  {done} / {total}")

            done = dataset_revalidate(dataset, progress=progress)
            self.stdout.write(self.style.SUCCESS(f"  Done: {done} examples checked."))
