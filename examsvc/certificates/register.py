"""Who sees which part of the certificate register, and with which ID numbers (issue 13, item 5).

* A regulator sees the certificates of its jurisdiction only: the region every institution's, a
  league/city those of its own institutions (:func:`examsvc.institutions.jurisdiction.jurisdiction_of`,
  the institution's filing level; seed Art. 7-8). Lists, details and exports alike.
* ID numbers are masked everywhere (lists, details, the institution's and the regulator's exports)
  except in the national upload export: the certificate data the region accepted from the
  leagues and cities (seed Art. 40, :mod:`examsvc.certificates.batches`), which only the region's
  regulator, who receives it, takes out for the national platform. That export is audited as
  ``certificate.national_export``. (The certificate PDF prints the number: it is the certificate.)
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from examsvc.auth import Permission, permitted_institutions, require_permission
from examsvc.certificates.export import ExportReport, build_export
from examsvc.certificates.models import Certificate
from examsvc.institutions.jurisdiction import covers, jurisdiction_of, require_covers, require_region, \
    visible_jurisdictions
from examsvc.institutions.models import Institution

NATIONAL_UPLOAD = ("导出上传全国平台的证书数据（含完整证件号码）", "exporting the certificate data for the national "
                   "platform (full ID numbers)")


def visible_institutions(session: Session, user: Any, permission: Permission) -> set[int] | None:
    """Institutions whose certificates ``user`` sees with ``permission`` (``None``: all of them).

    For REGULATE, a league/city regulator's jurisdiction narrows what its grant would allow."""
    allowed = permitted_institutions(user, permission)
    if permission is not Permission.REGULATE or visible_jurisdictions(user) is None:
        return allowed
    covered = {i.id for i in session.scalars(select(Institution)) if covers(user, jurisdiction_of(i))}
    return covered if allowed is None else allowed & covered


def require_regulates(session: Session, user: Any, certificate: Certificate) -> None:
    """Refuse a regulator reading or acting on a certificate outside its jurisdiction."""
    require_permission(user, Permission.REGULATE, certificate.institution_id)
    institution = session.get(Institution, certificate.institution_id)
    require_covers(user, jurisdiction_of(institution), f"证书 {certificate.number}", f"certificate {certificate.number}")


def masked_export(session: Session, institution_ids: set[int] | None, *, issued_from: date | None = None,
                  issued_to: date | None = None) -> ExportReport:
    """The institution's and the regulator's export: checked like the upload, ID numbers masked.
    The caller has narrowed ``institution_ids`` to what the user may see."""
    return build_export(session, institution_ids, issued_from=issued_from, issued_to=issued_to, full_ids=False)


def national_upload(session: Session, actor: Any, *, issued_from: date | None = None,
                    issued_to: date | None = None) -> ExportReport:
    """The region's export for the national platform: the records of accepted batches, full ID numbers.

    Refused to anyone but the region's regulator (a league/city forwards its data to the region,
    Art. 40). The caller records it with ``record_export(..., full_ids=True)``."""
    require_permission(actor, Permission.REGULATE)
    require_region(actor, *NATIONAL_UPLOAD)
    return build_export(session, None, issued_from=issued_from, issued_to=issued_to, full_ids=True, accepted_only=True)
