"""Imports every area's models so that ``Base.metadata`` knows the whole schema (Alembic, tests)."""

from examsvc.accounts.models import ApiToken, RoleGrant, User  # noqa: F401
from examsvc.audit.models import AuditEvent  # noqa: F401
from examsvc.db import Base  # noqa: F401
from examsvc.institutions.models import Institution, ScopeEntry  # noqa: F401
from examsvc.reference.models import Occupation  # noqa: F401
from examsvc.bank.models import (  # noqa: F401
    Asset, BlueprintVersion, EnemyGroup, EnemyMember, ExamBlueprint, ImportJob, Item, ItemVersion, Review,
)
from examsvc.jobs.models import Job  # noqa: F401
from examsvc.papers.models import AssemblyRun, Paper, PaperItem, PaperTask  # noqa: F401
from examsvc.delivery.models import Answer, Attempt  # noqa: F401
from examsvc.sessions.models import (  # noqa: F401
    Candidate, ExamSession, Incident, SessionPaper, SessionRoom, StaffAssignment,
)
from examsvc.grading.models import (  # noqa: F401
    ComponentScore, KeyCorrection, PassRecord, ResultPublication, ReviewRequest, ScoreChange,
)
from examsvc.grading.models import ChiefExaminer, ConflictDeclaration, ExaminerCard, ExaminerScore, Resolution  # noqa: F401
from examsvc.certificates.models import (  # noqa: F401
    Certificate, CertificateRevocation, CertificateSerial, CertificateVoid, VerificationCounter,
)
from examsvc.certificates.batch_models import CertificateBatch, CertificateBatchRecord  # noqa: F401
from examsvc.institutions.filing_models import (  # noqa: F401
    ChangeRequest, CodeCounter, FilingApplication, FilingAttachment, FilingBatch, FilingEvaluation, FilingObjection,
    SiteFiling, StopOrder,
)
from examsvc.supervision.models import CalendarOverride, Case, CaseEvent, ReportCounter, Sanction  # noqa: F401
from examsvc.analysis.models import AnalysisRun, AnalysisRunSession, ItemStatistic  # noqa: F401
from examsvc.supervision.people_models import (  # noqa: F401
    Draw, Finding, InspectionPlan, JurisdictionSetting, SupervisorCard,
)
from examsvc.notifications.models import Notification  # noqa: F401
from examsvc.sessions.materials import ReviewMaterial  # noqa: F401
