"""Public verification (证书查验): by number and name, or by the QR code printed on the certificate.

The answer is *valid*, *void* (with the date and the reason category) or *not found*; a number
whose name does not match is *not found*, so a look-up never confirms that a number exists to
someone who does not know the holder. The ID number is only ever shown masked.

The QR code carries ``<PUBLIC_BASE_URL>/verify/<number>?n=<tag>`` where the tag is a keyed
digest of the number under the instance's data key: it stands in for the name, and a link with
a wrong tag is refused as forged.

Look-ups are rate limited per client address in fixed windows whose counters live in the
database, so that every stateless app server counts against the same limit.
"""

from __future__ import annotations

import hmac
import unicodedata
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from examsvc import clock
from examsvc.certificates.models import VOID_REASONS, Certificate, CertificateVoid, VerificationCounter
from examsvc.certificates.numbers import parse_number
from examsvc.errors import ServiceError, ValidationFailed
from examsvc.protect import id_digest
from itembank.levels import parse_level

TAG_LENGTH = 16


class TooManyLookups(ServiceError):
    status = 429
    code = "rate_limited"


def qr_tag(number: str) -> str:
    """The check code a QR link carries: a keyed digest of the number (needs an app context)."""
    return id_digest(f"certificate-qr:{number}")[:TAG_LENGTH]


def verification_url(base_url: str, number: str) -> str:
    """The absolute verification URL printed as the certificate's QR code."""
    return f"{base_url.rstrip('/')}/verify/{quote(number)}?n={qr_tag(number)}"


def count_lookup(session: Session, client: str | None, *, limit: int, window_seconds: int) -> int:
    """Count one look-up of ``client`` in the current fixed window; refuse beyond ``limit``.

    One upsert (``INSERT ... ON CONFLICT DO UPDATE SET hits = hits + 1 RETURNING hits``) per
    look-up, so concurrent servers never lose a count; windows that have ended are deleted on the
    way. Returns the hits so far in this window.
    """
    now = int(clock.now().timestamp())
    window_start = now - now % window_seconds
    client = (client or "unknown")[:64]
    table = VerificationCounter.__table__
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(table).values(client=client, window_start=window_start, hits=1)
    hits = session.execute(
        statement.on_conflict_do_update(index_elements=["client", "window_start"],
                                        set_={"hits": table.c.hits + 1}).returning(table.c.hits)).scalar_one()
    session.execute(delete(table).where(table.c.window_start < window_start))
    if hits > limit:
        wait = window_start + window_seconds - now
        minutes = max(1, -(-wait // 60))
        raise TooManyLookups(f"查验过于频繁：每 {window_seconds // 60} 分钟最多 {limit} 次，请 {minutes} 分钟后再试",
                             f"too many look-ups: at most {limit} per {window_seconds // 60} minutes; "
                             f"try again in {minutes} minute(s)", field="number")
    return hits


@dataclass(frozen=True)
class Verification:
    """What the public is told. ``certificate`` fields are filled only when found."""

    outcome: str                       # valid | void | not_found
    number: str
    name: str = ""
    id_masked: str = ""
    occupation_code: str = ""
    occupation_name: str = ""
    work_type: str = ""
    level_zh: str = ""
    level_en: str = ""
    institution_name: str = ""
    issued_on: date | None = None
    voided_on: date | None = None
    void_reason: str = ""              # category key of VOID_REASONS
    void_reason_zh: str = ""
    void_reason_en: str = ""

    def as_dict(self) -> dict:
        found = self.outcome != "not_found"
        body: dict = {"outcome": self.outcome, "number": self.number}
        if found:
            body.update(name=self.name, id_masked=self.id_masked, occupation_code=self.occupation_code,
                        occupation_name=self.occupation_name, work_type=self.work_type or "--",
                        level=self.level_zh, level_en=self.level_en, institution_name=self.institution_name,
                        issued_on=self.issued_on.isoformat() if self.issued_on else None)
        if self.outcome == "void":
            body.update(voided_on=self.voided_on.isoformat() if self.voided_on else None,
                        void_reason=self.void_reason, void_reason_zh=self.void_reason_zh,
                        void_reason_en=self.void_reason_en)
        return body


def normalise_name(name: str) -> str:
    """Compare names without spaces, width or case differences (``张 三`` = ``张三``)."""
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold()


def verify(session: Session, number: str, *, name: str | None = None, tag: str | None = None) -> Verification:
    """Look a certificate up by number plus the holder's name, or by number plus the QR tag.

    Raises :class:`~examsvc.errors.ValidationFailed` for a malformed number, a QR tag that does
    not match (a forged link), or neither a name nor a tag.
    """
    parsed = parse_number(number)
    name = (name or "").strip()
    tag = (tag or "").strip()
    if tag:
        if not hmac.compare_digest(tag.lower(), qr_tag(parsed.number)):
            raise ValidationFailed("二维码校验码不符：此链接不是本平台生成的证书二维码，请输入证书编号和姓名查验",
                                   "the QR check code does not match: this link was not made by the platform; "
                                   "verify with the number and the holder's name", field="n", code="verification.forged")
    elif not name:
        raise ValidationFailed("请输入持证人姓名", "enter the holder's name", field="name", code="verification.name_required")
    if len(name) > 100:
        raise ValidationFailed("姓名过长", "the name is too long", field="name")
    certificate = session.scalar(select(Certificate).where(Certificate.number == parsed.number))
    if certificate is None or (not tag and normalise_name(name) != normalise_name(certificate.name)):
        return Verification("not_found", parsed.number)
    level = parse_level(certificate.level)
    found = dict(number=certificate.number, name=certificate.name, id_masked=certificate.id_masked,
                 occupation_code=certificate.occupation_code, occupation_name=certificate.occupation_name,
                 work_type=certificate.work_type, level_zh=level.name_zh, level_en=level.name_en,
                 institution_name=certificate.institution_name, issued_on=certificate.issued_on)
    void = session.scalar(select(CertificateVoid).where(CertificateVoid.certificate_id == certificate.id))
    if void is None:
        return Verification("valid", **found)
    zh, en = VOID_REASONS.get(void.reason_category, (void.reason_category, void.reason_category))
    return Verification("void", **found, voided_on=void.voided_on, void_reason=void.reason_category,
                        void_reason_zh=zh, void_reason_en=en)
