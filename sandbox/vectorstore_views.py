"""The sandbox's vector stores, as OpenAI's API has them: stores, their files and file batches, search."""

from django.http import HttpRequest, JsonResponse

from . import vectorstores
from .api import cursor_page, deleted, endpoint, json_body, required
from .errors import invalid


@endpoint("GET", "POST")
def vector_stores_root(request: HttpRequest) -> JsonResponse:
    if request.method == "POST":
        body = json_body(request)
        store = vectorstores.vector_store_create(
            name=body.get("name") or "",
            file_ids=body.get("file_ids") or [],
            chunking_strategy=body.get("chunking_strategy"),
            expires_after=body.get("expires_after"),
            metadata=body.get("metadata"),
        )
        return JsonResponse(vectorstores.vector_store_to_dict(store))
    return cursor_page(request, vectorstores.VectorStore.objects.all(), vectorstores.vector_store_to_dict)


@endpoint("GET", "POST", "DELETE")
def vector_store_detail(request: HttpRequest, store_id: str) -> JsonResponse:
    store = vectorstores.vector_store_get(store_id)
    if request.method == "DELETE":
        store.delete()
        return deleted(store_id, "vector_store.deleted")
    if request.method == "POST":
        body = json_body(request)
        store.name = body.get("name", store.name) or ""
        store.metadata = body.get("metadata", store.metadata)
        store.expires_after = body.get("expires_after", store.expires_after)
        store.save()
    return JsonResponse(vectorstores.vector_store_to_dict(store))


@endpoint("POST")
def vector_store_search(request: HttpRequest, store_id: str) -> JsonResponse:
    vectorstores.vector_store_get(store_id)
    body = json_body(request)
    query = required(body, "query")
    text = " ".join(query) if isinstance(query, list) else str(query)
    max_results = body.get("max_num_results", 10)
    if not isinstance(max_results, int) or not 1 <= max_results <= 50:
        raise invalid("Invalid 'max_num_results': between 1 and 50.", param="max_num_results")
    hits = vectorstores.vector_stores_search(store_ids=[store_id], query=text, max_results=max_results)
    threshold = (body.get("ranking_options") or {}).get("score_threshold") or 0
    return JsonResponse(
        {
            "object": "vector_store.search_results.page",
            "search_query": query if isinstance(query, list) else [query],
            "data": [vectorstores.search_result_to_dict(hit) for hit in hits if hit.score >= threshold],
            "has_more": False,
            "next_page": None,
        }
    )


@endpoint("GET", "POST")
def vector_store_files(request: HttpRequest, store_id: str) -> JsonResponse:
    store = vectorstores.vector_store_get(store_id)
    if request.method == "POST":
        body = json_body(request)
        store_file = vectorstores.store_file_add(
            store=store,
            file_id=required(body, "file_id"),
            attributes=body.get("attributes"),
            chunking_strategy=body.get("chunking_strategy"),
        )
        return JsonResponse(vectorstores.store_file_to_dict(store_file))
    queryset = store.files.select_related("file", "vector_store")
    if request.GET.get("filter"):
        queryset = queryset.filter(status=request.GET["filter"])
    return cursor_page(request, queryset, vectorstores.store_file_to_dict, id_field="file__public_id")


@endpoint("GET", "DELETE")
def vector_store_file(request: HttpRequest, store_id: str, file_id: str) -> JsonResponse:
    store_file = vectorstores.store_file_get(vectorstores.vector_store_get(store_id), file_id)
    if request.method == "DELETE":
        store_file.delete()
        return deleted(file_id, "vector_store.file.deleted")
    return JsonResponse(vectorstores.store_file_to_dict(store_file))


@endpoint("POST")
def vector_store_file_batches(request: HttpRequest, store_id: str) -> JsonResponse:
    store = vectorstores.vector_store_get(store_id)
    batch = vectorstores.file_batch_create(store=store, body=json_body(request))
    return JsonResponse(vectorstores.file_batch_to_dict(batch))


@endpoint("GET")
def vector_store_file_batch(request: HttpRequest, store_id: str, batch_id: str) -> JsonResponse:
    batch = vectorstores.file_batch_get(vectorstores.vector_store_get(store_id), batch_id)
    return JsonResponse(vectorstores.file_batch_to_dict(batch))


@endpoint("GET")
def vector_store_file_batch_files(request: HttpRequest, store_id: str, batch_id: str) -> JsonResponse:
    store = vectorstores.vector_store_get(store_id)
    batch = vectorstores.file_batch_get(store, batch_id)
    queryset = store.files.filter(file__public_id__in=batch.file_ids).select_related("file", "vector_store")
    return cursor_page(request, queryset, vectorstores.store_file_to_dict, id_field="file__public_id")
