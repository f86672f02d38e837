"""Reviewers read the flagger's own direct room with its grant, end to end (two `club node run`
reviewers on a private anvil; the flagged relay in its own process): a relay that withholds ONE
room only, the flagger's, is kicked when the flag carries the flagger's grant (`club dispute flag
--attach --peer`) and kept without it (the reviewers then see only rooms of their own). The
scenario is `tests.node.test_reviewer_history.review_withheld_history`; these two cases live in a
file of their own so that the suite's two workers share the slow anvil cases.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.node.test_reviewer_history import review_withheld_history


@pytest.mark.parametrize("mode", ["withhold-room", "withhold-room-without-grant"])
def test_reviewers_read_the_flaggers_room_with_its_grant(mode: str, tmp_path: Path) -> None:
    review_withheld_history(mode, tmp_path)
