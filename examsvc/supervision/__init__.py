"""Violations and appeals (违纪违规认定与处理, seed Art. 42-49): cases, their timeline, sanctions, working days."""
