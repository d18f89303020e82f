"""What a lab run reports while it works: ``on_event(event: LabEvent, lab: str, data)``.

A ``str`` enum, so a listener may match members (``event is LabEvent.CHECKED``) and older code
comparing with the plain strings keeps working.

    event          data
    APPLY          "<n> objects"             about to apply the lab's manifests
    APPLIED        list of apply results
    CHECK          the check's name          about to run one check
    CHECKED        CheckResult (.line())     one check done
    DELETE         None                      about to delete the lab's objects
    DELETED        list of delete results
    ERROR          one-line message          the lab failed (or its clean-up did)
    LOG            one line                  a check's own progress message
"""

from __future__ import annotations

from enum import Enum

__all__ = ["LabEvent"]


class LabEvent(str, Enum):
    APPLY = "apply"
    APPLIED = "applied"
    CHECK = "check"
    CHECKED = "checked"
    DELETE = "delete"
    DELETED = "deleted"
    ERROR = "error"
    LOG = "log"

    def __str__(self) -> str:
        return self.value
