"""Psychometric analysis of response data (试题质量分析): pure numpy/scipy, arrays in, frozen
dataclasses out.

Modules, one concept each:

* :mod:`.classical` - facility, discrimination, reliability, score distribution;
* :mod:`.distractors` - scoring raw option codes, distractor tables, probable miskeys;
* :mod:`.irt` - Rasch, 2PL, 3PL by marginal maximum likelihood, EAP, information, fit;
* :mod:`.polytomous` - graded response, generalized and plain partial credit models;
* :mod:`.dif` - Mantel-Haenszel DIF with ETS classes and purification;
* :mod:`.flags` - item flags against configurable thresholds;
* :mod:`.samples` - the smallest samples for which each statistic is reported;
* :mod:`.report` - :func:`analyse`, everything at once, and its JSON form.

Errors are :class:`itembank.errors.InvalidValue` (bad input, with a stable ``code``) or
:class:`PsychometricsError`; explanations of excluded items or undefined values are
:class:`Note` objects in the results.
"""

from itembank.psychometrics._common import (MISSING, Note, PsychometricsError, ScoreMatrix,
                                            as_score_matrix, normal_quadrature, to_jsonable)
from itembank.psychometrics.classical import (ClassicalResult, ScoreDistribution,
                                              classical_statistics, cronbach_alpha, kr20,
                                              upper_lower_weights)
from itembank.psychometrics.dif import DIFResult, GroupComparison, ets_class, mantel_haenszel_dif
from itembank.psychometrics.distractors import (DistractorResult, ItemDistractors,
                                                OptionStatistics, ScoredResponses,
                                                distractor_analysis, score_responses)
from itembank.psychometrics.flags import FlagThresholds, ItemFlag, flag_items
from itembank.psychometrics.irt import (IRTResult, fit_irt, item_information, probability,
                                        test_information)
from itembank.psychometrics.polytomous import (PolytomousResult, category_probabilities,
                                               fit_polytomous)
from itembank.psychometrics.report import (FullReport, GroupSpec, ResponseTable, analyse,
                                           read_response_csv)
from itembank.psychometrics.samples import SampleMinimums

__all__ = [
    "MISSING", "Note", "PsychometricsError", "ScoreMatrix", "as_score_matrix",
    "normal_quadrature", "to_jsonable",
    "ClassicalResult", "ScoreDistribution", "classical_statistics", "cronbach_alpha", "kr20",
    "upper_lower_weights",
    "DIFResult", "GroupComparison", "ets_class", "mantel_haenszel_dif",
    "DistractorResult", "ItemDistractors", "OptionStatistics", "ScoredResponses",
    "distractor_analysis", "score_responses",
    "FlagThresholds", "ItemFlag", "flag_items",
    "IRTResult", "fit_irt", "item_information", "probability", "test_information",
    "PolytomousResult", "category_probabilities", "fit_polytomous",
    "FullReport", "GroupSpec", "ResponseTable", "analyse", "read_response_csv",
    "SampleMinimums",
]
