"""The documented troubleshooting texts: what the service answers and the client then shows.

A refused Bootstrap-Request carries one of these as its diagnostic payload; the client prints
`Error details : <reason word>:<text>` (see harness.client.failures). The service sends them,
the scenarios assert them, on any service and any board.
"""

from __future__ import annotations

NOT_IN_ACCOUNT = "Corresponding trusted certificate not in account"
NOT_ENROLLED = "Enrollment ID not registered"
QUOTA_REACHED = "Account device quota reached"
DUPLICATE_ENDPOINT = "Duplicated device endpoint name"
DEVELOPER_LIMIT = "Developer certificate device limit reached"
INVALID_CERTIFICATE = "Invalid device certificate: CN is not the endpoint name"
FORBIDDEN = "4.03"
BAD_REQUEST = "4.00"
