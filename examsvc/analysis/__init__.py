"""Item and test analysis of delivered exams (试题质量分析): response matrices from sealed attempts,
the psychometrics library's report stored per item version and run, flags in the bank, plots,
exports, and calibrated difficulty for assembly."""
