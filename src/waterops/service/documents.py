"""Uploaded documents: size limit, type by content, stored outside the web root, never executed.

An applicant's one document (identity card scan, property certificate) arrives as bytes with a
name the uploader chose. The name proves nothing: the type is read from the content's magic
bytes (PDF, JPEG, PNG only) and the file's structure is checked (a PDF must end with its
``%%EOF`` trailer and carry no script or launch action; a JPEG must end with its EOI marker; a
PNG must hold an ``IEND`` chunk). Accepted bytes are stored in ``<data dir>/documents`` under a
random name without extension, readable by the owner of the process only, and served back
only as a download to their owner and to staff.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from waterops.errors import DocumentRejectedError, RecordNotFoundError, StoreError
from waterops.model.accounts import Permission, User, has_permission, require_permission
from waterops.service.auth import Clock, utc_now
from waterops.store.connections_store import ConnectionsStore, Document

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
"""Largest document accepted [bytes] (a scanned A4 page at 300 dpi fits easily)."""

_READ_CHUNK_BYTES = 64 * 1024

_PDF_FORBIDDEN = (b"/JavaScript", b"/JS", b"/Launch", b"/EmbeddedFile", b"/RichMedia")
"""PDF names of active content: a connection document is a scan, never a program."""


@dataclass(frozen=True)
class DocumentType:
    """An accepted type: its media type and the magic bytes it starts with."""

    media_type: str
    magic: bytes


ALLOWED_TYPES = (
    DocumentType("application/pdf", b"%PDF-"),
    DocumentType("image/jpeg", b"\xff\xd8\xff"),
    DocumentType("image/png", b"\x89PNG\r\n\x1a\n"),
)


def sniff_media_type(content: bytes, filename: str) -> str:
    """The media type of ``content`` by its magic bytes and structure, or a refusal."""
    for kind in ALLOWED_TYPES:
        if content.startswith(kind.magic):
            _check_structure(kind.media_type, content, filename)
            return kind.media_type
    raise DocumentRejectedError(
        filename,
        "its content is not a PDF, JPEG or PNG document (the type is read from the "
        "content, not from the name)",
    )


def _check_structure(media_type: str, content: bytes, filename: str) -> None:
    if media_type == "application/pdf":
        if b"%%EOF" not in content[-2048:]:
            raise DocumentRejectedError(filename, "the PDF is truncated (no %%EOF trailer)")
        for name in _PDF_FORBIDDEN:
            if name in content:
                raise DocumentRejectedError(
                    filename, f"the PDF holds active content ({name.decode()})"
                )
    elif media_type == "image/jpeg":
        if not content.rstrip(b"\x00").endswith(b"\xff\xd9"):
            raise DocumentRejectedError(filename, "the JPEG is truncated (no end-of-image marker)")
    elif b"IEND" not in content[-64:]:
        raise DocumentRejectedError(filename, "the PNG is truncated (no IEND chunk)")


def read_limited(stream: BinaryIO, filename: str, max_bytes: int) -> bytes:
    """All of ``stream``, or a refusal as soon as it exceeds ``max_bytes``."""
    parts: list[bytes] = []
    size = 0
    while chunk := stream.read(_READ_CHUNK_BYTES):
        size += len(chunk)
        if size > max_bytes:
            raise DocumentRejectedError(
                filename, f"it is larger than the limit of {max_bytes} bytes", too_large=True
            )
        parts.append(chunk)
    if size == 0:
        raise DocumentRejectedError(filename, "it is empty")
    return b"".join(parts)


class DocumentService:
    """Upload and read back documents.

    Parameters
    ----------
    store : where document records are kept
    directory : where the bytes are kept (outside any web root; created 0700)
    clock : the current time
    max_bytes : the size limit [bytes]
    """

    def __init__(
        self,
        store: ConnectionsStore,
        directory: Path,
        *,
        clock: Clock = utc_now,
        max_bytes: int = MAX_DOCUMENT_BYTES,
    ) -> None:
        self.store = store
        self.directory = directory
        self.clock = clock
        self.max_bytes = max_bytes

    def upload(self, owner: User, filename: str, stream: BinaryIO) -> Document:
        """Check and keep one document of ``owner``; its record.

        Raises
        ------
        DocumentRejectedError
            when it is too large, empty, or not a well-formed PDF, JPEG or PNG
        """
        require_permission(owner, Permission.DOCUMENTS_UPLOAD, "documents")
        shown_name = Path(filename or "document").name[:255] or "document"
        content = read_limited(stream, shown_name, self.max_bytes)
        media_type = sniff_media_type(content, shown_name)
        stored_name = secrets.token_hex(16)
        path = self._write(stored_name, content)
        try:
            with self.store.transaction() as tx:
                doc_id = tx.insert_document(
                    owner.id,
                    stored_name,
                    media_type,
                    len(content),
                    hashlib.sha256(content).hexdigest(),
                    shown_name,
                    self.clock(),
                )
                if owner.is_staff:
                    tx.add_audit(
                        self.clock(),
                        owner,
                        "upload_document",
                        "document",
                        doc_id,
                        after={"media_type": media_type, "size_bytes": len(content)},
                    )
                return tx.document(doc_id)
        except BaseException:
            path.unlink(missing_ok=True)  # nothing half-written: no file without its record
            raise

    def _write(self, stored_name: str, content: bytes) -> Path:
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".upload-")
            with os.fdopen(fd, "wb") as out:  # mkstemp creates it 0600: never executable
                out.write(content)
            target = self.directory / stored_name
            os.replace(tmp, target)
        except OSError as exc:
            raise StoreError(f"cannot store a document in {self.directory}: {exc}") from exc
        return target

    def visible(self, user: User, document_id: int) -> Document:
        """The record if ``user`` owns it or is staff; otherwise "not found" (no leak)."""
        doc = self.store.document(document_id)
        if doc.owner_id != user.id and not has_permission(user.role, Permission.DOCUMENTS_READ_ALL):
            raise RecordNotFoundError("document", document_id)
        return doc

    def content(self, user: User, document_id: int) -> tuple[Document, bytes]:
        """The record and bytes of a document ``user`` may read."""
        doc = self.visible(user, document_id)
        if user.is_staff and doc.owner_id != user.id:
            with self.store.transaction() as tx:  # staff reading a customer's papers is audited
                tx.add_audit(self.clock(), user, "read_document", "document", doc.id)
        try:
            return doc, (self.directory / doc.stored_name).read_bytes()
        except OSError as exc:
            raise StoreError(f"document {document_id}: its file is missing: {exc}") from exc
