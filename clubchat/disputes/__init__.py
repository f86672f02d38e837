"""Disputes: prove a relay's fork (`club report`), flag a node and vote on it (`club dispute ...`)."""

from clubchat.disputes.client import (
    REASONS,
    DisputeError,
    DisputesClient,
    DisputeStatus,
    ReportResult,
    SignedEntry,
)

__all__ = ["REASONS", "DisputeError", "DisputeStatus", "DisputesClient", "ReportResult", "SignedEntry"]
