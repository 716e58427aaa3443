"""The states a person of the crowd model is in: the codes of ``CrowdModel.status``.

Apart from the model so that what reads the state (KPIs, outputs, components) need not
import the model that the KPIs are collected for.
"""

PENDING, AT_NODE, ON_LINK, ARRIVED, STUCK = 0, 1, 2, 3, 4
"""Before departure; waiting at a node to enter a link; walking a link; counted into a
destination; given no destination (with a reason, see
:data:`~twin.crowd.choice.STUCK_REASONS`)."""
