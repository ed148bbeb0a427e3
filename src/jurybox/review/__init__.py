"""A local review page for flagged items (``jurybox review``); see docs/report.md.

:mod:`jurybox.review.decisions` builds the review set (a flagged label-error file, or the items of
a verdict table a human should look at) and replays the decisions; :mod:`jurybox.review.server`
serves the page on aiohttp and appends every decision to the store's ``reviews`` table.
"""

from jurybox.review.decisions import (
    ReviewSet,
    current_decisions,
    errors_review_set,
    reviewer_agreement,
    verdicts_review_set,
)

__all__ = ["ReviewSet", "current_decisions", "errors_review_set", "reviewer_agreement", "verdicts_review_set"]
