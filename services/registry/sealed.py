"""The registry's sealed columns (runtime.sealed_columns): resident ID and certificate number,
sealed with runtime.pii; the resident ID also blind-indexed (one file per person)."""

from __future__ import annotations

from registry.adapters.person_store import CERTIFICATE, RESIDENT_ID
from runtime.sealed_columns import SealedColumn

SEALED = [
    SealedColumn("persons", "person_id", "resident_id_sealed", RESIDENT_ID,
                 plaintext="resident_id", index="resident_id_index"),
    SealedColumn("persons", "person_id", "certificate_sealed", CERTIFICATE,
                 plaintext="certificate_number"),
]
