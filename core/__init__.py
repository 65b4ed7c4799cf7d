"""Cross-cutting helpers every app may use: background sweeps, database threads, streamed
downloads, line diffs. It imports no gradcap app (Django and libraries only)."""
