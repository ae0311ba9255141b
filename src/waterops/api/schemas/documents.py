"""Uploaded documents at the HTTP edge (the record; the bytes come from ``/content``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from waterops.store.connections_store import Document


class DocumentPublic(BaseModel):
    """A document's record as shown to its owner and to staff."""

    id: int
    owner_id: int
    media_type: str
    size_bytes: int
    sha256: str
    original_name: str
    uploaded_at: datetime

    @classmethod
    def of(cls, doc: Document) -> DocumentPublic:
        """The public view of ``doc``."""
        return cls(
            id=doc.id,
            owner_id=doc.owner_id,
            media_type=doc.media_type,
            size_bytes=doc.size_bytes,
            sha256=doc.sha256,
            original_name=doc.original_name,
            uploaded_at=doc.uploaded_at,
        )
