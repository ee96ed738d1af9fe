"""The operations surface: the signed webhook (routes, signatures, replay guard), the status view
and the timeline of one model version (gathering, and pure rendering as JSON or one HTML page)."""
