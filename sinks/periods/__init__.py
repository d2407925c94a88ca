"""Reporting periods and their approval: the one writer of actions, the desk operators press through, the
period report. The rules themselves are data in schemas/periods.py."""

from .desk import PeriodDesk
from .report import period_list, period_report
from .writer import Writer

__all__ = ["PeriodDesk", "Writer", "period_list", "period_report"]
