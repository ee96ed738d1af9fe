"""Pieces every localcloud service shares: errors, clock, credentials, signatures, the event hub."""
