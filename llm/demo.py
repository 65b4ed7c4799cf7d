from .services import provider_ensure_default


def load(*, stdout) -> None:
    provider = provider_ensure_default()
    stdout.write(f"Default provider: {provider.name} ({provider.get_kind_display()}) at {provider.effective_base_url}")
