"""gradcap's own knowledge library, pure Python (no Django models): text out of uploaded
documents, passages that remember their place, and the words search compares (stemmed for
Russian and English). `assistants.passages` stores and searches the passages; the sandbox reads
its vector-store files with the same code."""
