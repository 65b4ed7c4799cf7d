"""The models gradcap offers, with what the UI and the cost estimates need to know about them.

Prices are US dollars per 1M tokens, as published by OpenAI (standard tier). Dates are the
providers' announcements as of late 2026: OpenAI accepts no new fine-tuning jobs after
2027-01-06, and gpt-4o(-mini) / gpt-4.1(-mini) with their fine-tunes stop serving 2027-01-14.
Other providers (Azure, self-hosted) keep their own schedules.

Images: every model here sees images (`image_cost`: how OpenAI bills them, `llm.vision`); which
can be fine-tuned on images is `vision_tunable_on` (OpenAI's vision fine-tuning guide names
gpt-4o-2024-08-06; Azure OpenAI adds gpt-4.1-2025-04-14).
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from .vision import ImageCost, Patches, Tiles

OPENAI_FINE_TUNING_ENDS = datetime.date(2027, 1, 6)
GPT_4_SERIES_SHUTDOWN = datetime.date(2027, 1, 14)

SFT = "supervised"
DPO = "dpo"

# Provider kinds (llm.models.Provider.Kind values), spelled here to keep the catalog import-free.
OPENAI = "openai"
AZURE = "azure"
SANDBOX = "sandbox"


@dataclass(frozen=True)
class ModelInfo:
    id: str
    label: str
    context_window: int
    max_output_tokens: int
    price_input: Decimal
    price_output: Decimal
    # Fine-tuning: which provider kinds can train this model, by which methods, at what price.
    tunable_on: frozenset[str] = frozenset()
    methods: tuple[str, ...] = ()
    training_token_limit: int | None = None  # per example
    price_training: Decimal | None = None
    price_tuned_input: Decimal | None = None
    price_tuned_output: Decimal | None = None
    shutdown: datetime.date | None = None  # the model and its fine-tunes stop serving
    aliases: tuple[str, ...] = field(default=())
    image_cost: ImageCost | None = None  # None: the model does not see images
    vision_tunable_on: frozenset[str] = frozenset()  # provider kinds that fine-tune it on images

    @property
    def sees_images(self) -> bool:
        return self.image_cost is not None

    def trains_on_images(self, provider_kind: str) -> bool:
        return provider_kind in self.vision_tunable_on and self.is_tunable_on(provider_kind)

    def is_tunable_on(self, provider_kind: str) -> bool:
        return provider_kind in self.tunable_on

    def new_jobs_until(self, provider_kind: str) -> datetime.date | None:
        """The last day a fine-tuning job can be started, where announced."""
        return OPENAI_FINE_TUNING_ENDS if provider_kind == OPENAI and self.is_tunable_on(OPENAI) else None


def _d(value: str) -> Decimal:
    return Decimal(value)


MODELS: tuple[ModelInfo, ...] = (
    ModelInfo(
        id="gpt-4.1-2025-04-14",
        image_cost=Tiles(base=85, tile=170),
        vision_tunable_on=frozenset({AZURE, SANDBOX}),
        label="GPT-4.1",
        aliases=("gpt-4.1",),
        context_window=1_047_576,
        max_output_tokens=32_768,
        price_input=_d("2.00"),
        price_output=_d("8.00"),
        tunable_on=frozenset({OPENAI, AZURE, SANDBOX}),
        methods=(SFT, DPO),
        training_token_limit=65_536,
        price_training=_d("25.00"),
        price_tuned_input=_d("3.00"),
        price_tuned_output=_d("12.00"),
        shutdown=GPT_4_SERIES_SHUTDOWN,
    ),
    ModelInfo(
        id="gpt-4.1-mini-2025-04-14",
        image_cost=Patches(multiplier=1.62),
        label="GPT-4.1 mini",
        aliases=("gpt-4.1-mini",),
        context_window=1_047_576,
        max_output_tokens=32_768,
        price_input=_d("0.40"),
        price_output=_d("1.60"),
        tunable_on=frozenset({OPENAI, AZURE, SANDBOX}),
        methods=(SFT, DPO),
        training_token_limit=65_536,
        price_training=_d("5.00"),
        price_tuned_input=_d("0.80"),
        price_tuned_output=_d("3.20"),
        shutdown=GPT_4_SERIES_SHUTDOWN,
    ),
    ModelInfo(
        id="gpt-4.1-nano-2025-04-14",
        image_cost=Patches(multiplier=2.46),
        label="GPT-4.1 nano",
        aliases=("gpt-4.1-nano",),
        context_window=1_047_576,
        max_output_tokens=32_768,
        price_input=_d("0.10"),
        price_output=_d("0.40"),
        tunable_on=frozenset({AZURE, SANDBOX}),
        methods=(SFT, DPO),
        training_token_limit=65_536,
        price_training=_d("1.50"),
        price_tuned_input=_d("0.20"),
        price_tuned_output=_d("0.80"),
    ),
    ModelInfo(
        id="gpt-4o-2024-08-06",
        image_cost=Tiles(base=85, tile=170),
        vision_tunable_on=frozenset({AZURE, SANDBOX}),
        label="GPT-4o",
        aliases=("gpt-4o",),
        context_window=128_000,
        max_output_tokens=16_384,
        price_input=_d("2.50"),
        price_output=_d("10.00"),
        tunable_on=frozenset({AZURE, SANDBOX}),
        methods=(SFT, DPO),
        training_token_limit=65_536,
        price_training=_d("25.00"),
        price_tuned_input=_d("3.75"),
        price_tuned_output=_d("15.00"),
        shutdown=GPT_4_SERIES_SHUTDOWN,
    ),
    ModelInfo(
        id="gpt-4o-mini-2024-07-18",
        image_cost=Tiles(base=2833, tile=5667),
        label="GPT-4o mini",
        aliases=("gpt-4o-mini",),
        context_window=128_000,
        max_output_tokens=16_384,
        price_input=_d("0.15"),
        price_output=_d("0.60"),
        tunable_on=frozenset({AZURE, SANDBOX}),
        methods=(SFT,),
        training_token_limit=65_536,
        price_training=_d("3.00"),
        price_tuned_input=_d("0.30"),
        price_tuned_output=_d("1.20"),
        shutdown=GPT_4_SERIES_SHUTDOWN,
    ),
    ModelInfo(
        id="gpt-5",
        image_cost=Tiles(base=70, tile=140),
        label="GPT-5",
        context_window=400_000,
        max_output_tokens=128_000,
        price_input=_d("1.25"),
        price_output=_d("10.00"),
    ),
    ModelInfo(
        id="gpt-5-mini",
        image_cost=Patches(multiplier=1.62),
        label="GPT-5 mini",
        context_window=400_000,
        max_output_tokens=128_000,
        price_input=_d("0.25"),
        price_output=_d("2.00"),
    ),
    ModelInfo(
        id="gpt-5-nano",
        image_cost=Patches(multiplier=2.46),
        label="GPT-5 nano",
        context_window=400_000,
        max_output_tokens=128_000,
        price_input=_d("0.05"),
        price_output=_d("0.40"),
    ),
)

_BY_ID = {name: model for model in MODELS for name in (model.id, *model.aliases)}


def get_model(model_id: str) -> ModelInfo | None:
    """Look a model up by id or alias. A fine-tuned model ("ft:<base>:...") resolves to its base."""
    if model_id.startswith("ft:"):
        model_id = model_id.split(":")[1]
    return _BY_ID.get(model_id)


def sees_images(model_id: str) -> bool | None:
    """Whether the model sees images; None when the catalog does not know the model."""
    info = get_model(model_id)
    return info.sees_images if info is not None else None


def tunable_models(provider_kind: str) -> list[ModelInfo]:
    return [model for model in MODELS if model.is_tunable_on(provider_kind)]


# OpenAI's data-preparation guide: aim at 3 epochs, more for small sets, fewer for huge ones.
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MAX_DEFAULT_EPOCHS = 25


def default_epochs(n_examples: int) -> int:
    """The epochs OpenAI chooses for "auto", per its data-preparation guide."""
    if n_examples < 1:
        return TARGET_EPOCHS  # nothing to train; the target is the least surprising number to show
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_examples)
    if n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(1, MAX_TARGET_EXAMPLES // n_examples)
    return TARGET_EPOCHS
