"""Errors of intake.

A referral opens one case at most (`case_file.referral_id` is unique); the error
saying so belongs to cases, and intake raises it as it is.
"""

from cases_api.cases.exceptions import ReferralAlreadyHasCase

__all__ = ["ReferralAlreadyHasCase"]
