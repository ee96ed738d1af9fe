"""The OSS ledger: append-only JSON records with exclusive writes (DESIGN.md §3)."""

from .ledger import Ledger, LedgerConflict, Record
from .store import MemoryStore, OssStore, Store

__all__ = ["Ledger", "LedgerConflict", "MemoryStore", "OssStore", "Record", "Store"]
