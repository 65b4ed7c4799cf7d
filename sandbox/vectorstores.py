"""Vector stores: files chunked at once (so every store is "completed" when created) and
searched with BM25 over their chunks."""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Sum

from knowledge.documents import UnsupportedFile, text_extract

from . import search
from .errors import invalid, not_found
from .files import file_get
from .models import Chunk, FileBatch, VectorStore, VectorStoreFile, new_id, unix


def _chunking(strategy: dict | None) -> dict:
    """A chunking strategy as the API shows it: "auto" is 800 tokens with 400 of overlap."""
    if not strategy or strategy.get("type") == "auto":
        size, overlap = search.DEFAULT_CHUNK_TOKENS, search.DEFAULT_OVERLAP_TOKENS
    elif strategy.get("type") == "static":
        static = strategy.get("static") or {}
        size = static.get("max_chunk_size_tokens", search.DEFAULT_CHUNK_TOKENS)
        overlap = static.get("chunk_overlap_tokens", search.DEFAULT_OVERLAP_TOKENS)
        if not (
            isinstance(size, int) and 100 <= size <= 4096 and isinstance(overlap, int) and 0 <= overlap <= size // 2
        ):
            raise invalid(
                "Invalid chunking_strategy: max_chunk_size_tokens 100-4096, chunk_overlap_tokens at most half of it.",
                param="chunking_strategy",
            )
    else:
        raise invalid("Invalid chunking_strategy type; use 'auto' or 'static'.", param="chunking_strategy")
    return {"type": "static", "static": {"max_chunk_size_tokens": size, "chunk_overlap_tokens": overlap}}


def vector_store_get(store_id: str) -> VectorStore:
    store = VectorStore.objects.filter(public_id=store_id).first()
    if store is None:
        raise not_found("vector store", store_id, param="vector_store_id")
    return store


@transaction.atomic
def vector_store_create(
    *, name: str = "", file_ids=(), chunking_strategy=None, expires_after=None, metadata=None
) -> VectorStore:
    store = VectorStore.objects.create(
        public_id=new_id("vs_"), name=name or "", metadata=metadata, expires_after=expires_after
    )
    for file_id in file_ids or ():
        store_file_add(store=store, file_id=file_id, chunking_strategy=chunking_strategy)
    return store


def store_file_add(*, store: VectorStore, file_id: str, attributes=None, chunking_strategy=None) -> VectorStoreFile:
    """Add a file to a store and chunk it now; a file the sandbox cannot read is marked failed."""
    file = file_get(file_id, param="file_id")
    existing = store.files.filter(file=file).first()
    if existing is not None:
        return existing
    strategy = _chunking(chunking_strategy)
    store_file = VectorStoreFile(
        vector_store=store, file=file, attributes=attributes, chunking_strategy=strategy, status="completed"
    )
    try:
        text = text_extract(filename=file.filename, content=bytes(file.content))
    except UnsupportedFile as error:
        store_file.status, store_file.last_error = "failed", {"code": "unsupported_file", "message": str(error)}
        text = ""
    except Exception as error:  # a broken PDF or Word file: reported on the file, as OpenAI does
        store_file.status, store_file.last_error = "failed", {"code": "invalid_file", "message": str(error)[:200]}
        text = ""
    static = strategy["static"]
    chunks = search.text_chunk(text, max_tokens=static["max_chunk_size_tokens"], overlap=static["chunk_overlap_tokens"])
    if store_file.status == "completed" and not chunks:
        store_file.status, store_file.last_error = (
            "failed",
            {"code": "invalid_file", "message": "The file has no text."},
        )
    store_file.usage_bytes = sum(len(chunk.encode()) for chunk in chunks)
    store_file.save()
    Chunk.objects.bulk_create(Chunk(store_file=store_file, index=i, text=chunk) for i, chunk in enumerate(chunks))
    return store_file


def store_file_get(store: VectorStore, file_id: str) -> VectorStoreFile:
    store_file = store.files.select_related("file").filter(file__public_id=file_id).first()
    if store_file is None:
        raise not_found("vector store file", file_id, param="file_id")
    return store_file


@transaction.atomic
def file_batch_create(*, store: VectorStore, body: dict) -> FileBatch:
    """Add several files at once: file_ids (with shared attributes) or files [{file_id, attributes}]."""
    entries = body.get("files") or [{"file_id": file_id} for file_id in body.get("file_ids") or []]
    if not entries:
        raise invalid("Provide file_ids or files.", param="file_ids")
    for entry in entries:
        store_file_add(
            store=store,
            file_id=entry["file_id"],
            attributes=entry.get("attributes", body.get("attributes")),
            chunking_strategy=entry.get("chunking_strategy", body.get("chunking_strategy")),
        )
    return FileBatch.objects.create(
        vector_store=store, public_id=new_id("vsfb_"), file_ids=[entry["file_id"] for entry in entries]
    )


def file_batch_get(store: VectorStore, batch_id: str) -> FileBatch:
    batch = store.batches.filter(public_id=batch_id).first()
    if batch is None:
        raise not_found("file batch", batch_id, param="batch_id")
    return batch


@dataclass(frozen=True)
class SearchHit:
    chunk: Chunk
    score: float

    @property
    def file_id(self) -> str:
        return self.chunk.store_file.file.public_id

    @property
    def filename(self) -> str:
        return self.chunk.store_file.file.filename


def vector_stores_search(*, store_ids: list[str], query: str, max_results: int = 10) -> list[SearchHit]:
    """The chunks of these stores that best match `query`, ranked by BM25."""
    chunks = list(
        Chunk.objects.filter(store_file__vector_store__public_id__in=store_ids, store_file__status="completed")
        .select_related("store_file__file")
        .order_by("pk")
    )
    hits = search.bm25_rank(query, [chunk.text for chunk in chunks])[:max_results]
    return [SearchHit(chunk=chunks[hit.index], score=search.score_normalize(hit.score)) for hit in hits]


def search_result_to_dict(hit: SearchHit) -> dict:
    return {
        "file_id": hit.file_id,
        "filename": hit.filename,
        "score": hit.score,
        "attributes": hit.chunk.store_file.attributes or {},
        "content": [{"type": "text", "text": hit.chunk.text}],
    }


def _file_counts(store_files) -> dict:
    statuses = [store_file.status for store_file in store_files]
    return {
        "in_progress": 0,
        "completed": statuses.count("completed"),
        "failed": statuses.count("failed"),
        "cancelled": 0,
        "total": len(statuses),
    }


def vector_store_to_dict(store: VectorStore) -> dict:
    usage = store.files.aggregate(total=Sum("usage_bytes"))["total"] or 0
    return {
        "id": store.public_id,
        "object": "vector_store",
        "created_at": unix(store.created_at),
        "name": store.name,
        "usage_bytes": usage,
        "file_counts": _file_counts(store.files.all()),
        "status": "completed",
        "expires_after": store.expires_after,
        "expires_at": None,
        "last_active_at": unix(store.created_at),
        "metadata": store.metadata,
    }


def store_file_to_dict(store_file: VectorStoreFile) -> dict:
    return {
        "id": store_file.file.public_id,
        "object": "vector_store.file",
        "created_at": unix(store_file.created_at),
        "usage_bytes": store_file.usage_bytes,
        "vector_store_id": store_file.vector_store.public_id,
        "status": store_file.status,
        "last_error": store_file.last_error,
        "attributes": store_file.attributes,
        "chunking_strategy": store_file.chunking_strategy,
    }


def file_batch_to_dict(batch: FileBatch) -> dict:
    store_files = batch.vector_store.files.filter(file__public_id__in=batch.file_ids)
    return {
        "id": batch.public_id,
        "object": "vector_store.files_batch",
        "created_at": unix(batch.created_at),
        "vector_store_id": batch.vector_store.public_id,
        "status": "completed",
        "file_counts": _file_counts(store_files),
    }
