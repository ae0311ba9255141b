"""``/documents``: upload one document (PDF, JPEG, PNG by content), read it back (owner, staff)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Path, Request, Response, UploadFile

from waterops.api.deps import CurrentUser, ServicesDep
from waterops.api.schemas.common import RecordId
from waterops.api.schemas.documents import DocumentPublic
from waterops.errors import DocumentRejectedError

router = APIRouter(prefix="/documents", tags=["documents"])

DocumentId = Annotated[RecordId, Path(description="document id")]
_MULTIPART_OVERHEAD_BYTES = 64 * 1024
"""Room for multipart headers and boundaries beyond the document's own size [bytes]."""


@router.post("", status_code=201, responses={401: {}, 403: {}, 413: {}, 415: {}})
def upload(
    file: Annotated[UploadFile, File(description="PDF, JPEG or PNG")],
    request: Request,
    user: CurrentUser,
    services: ServicesDep,
) -> DocumentPublic:
    """Upload one document; its type is read from its content, not its name."""
    name = file.filename or "document"
    declared = request.headers.get("content-length", "")
    limit = services.documents.max_bytes
    if declared.isdigit() and int(declared) > limit + _MULTIPART_OVERHEAD_BYTES:
        raise DocumentRejectedError(
            name, f"it is larger than the limit of {limit} bytes", too_large=True
        )
    return DocumentPublic.of(services.documents.upload(user, name, file.file))


@router.get("/{document_id}", responses={401: {}, 404: {}})
def get_document(
    document_id: DocumentId, user: CurrentUser, services: ServicesDep
) -> DocumentPublic:
    """A document's record (its owner and staff only)."""
    return DocumentPublic.of(services.documents.visible(user, document_id))


@router.get(
    "/{document_id}/content",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}, "image/jpeg": {}, "image/png": {}}},
        401: {},
        404: {},
    },
)
def get_content(document_id: DocumentId, user: CurrentUser, services: ServicesDep) -> Response:
    """The document's bytes, as a download never rendered inline."""
    doc, content = services.documents.content(user, document_id)
    return Response(
        content,
        media_type=doc.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="document-{doc.id}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
