"""Cost of sealing personal data: filing, reading, and sealing alone.

Prints figures, then one JSON object on the last line.  Run:
``python bench/privacy_bench.py [N]`` (SQLite file in a temporary directory).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import attrs

from petitions import Actor, Petitioner, PetitionService


def main(n: int = 500) -> dict[str, float]:
    clerk = Actor("clerk", "intake_clerk")
    with tempfile.TemporaryDirectory() as tmp, \
            PetitionService.open(str(Path(tmp) / "b.sqlite")) as svc:
        people = [Petitioner(kind="resident", name=f"居民{i}", phone=f"138{i:08d}",
                             id_number=f"500105199001{i:06d}", address=f"寸滩街道{i}号",
                             id=f"p{i}") for i in range(n)]
        svc.file(actor=clerk, petitioner=people[0], title="t", description="d",
                 category="property_management", channel="door_to_door")  # warm-up
        t0 = time.perf_counter()
        ids = [svc.file(actor=clerk, petitioner=p, title="t", description="d",
                        category="property_management", channel="door_to_door")
               for p in people[1:]]
        filing = (time.perf_counter() - t0) / len(ids)
        # The same, the petitioner id assigned by the service: the new key is
        # stored in the filing's own transaction.
        t0 = time.perf_counter()
        for p in people[1:]:
            svc.file(actor=clerk, petitioner=attrs.evolve(p, id=""), title="t",
                     description="d", category="property_management", channel="door_to_door")
        filing_new_id = (time.perf_counter() - t0) / len(ids)
        t0 = time.perf_counter()
        for pid in ids:
            svc.get(pid)
        reading = (time.perf_counter() - t0) / len(ids)
        t0 = time.perf_counter()
        for p in people[1:]:
            svc.privacy.seal_petitioner(p)  # keys cached: epoch check + 4 AES-GCM
        sealing = (time.perf_counter() - t0) / len(ids)
    figures = {"n": float(len(ids)), "file_ms": filing * 1e3,
               "file_assigned_id_ms": filing_new_id * 1e3, "get_ms": reading * 1e3,
               "seal_cached_ms": sealing * 1e3}
    print(f"file (new petitioner, new data key): {figures['file_ms']:.3f} ms each")
    print(f"the same, petitioner id assigned:    {figures['file_assigned_id_ms']:.3f} ms each "
          "(key stored with the events)")
    print(f"get (decrypt + mask):               {figures['get_ms']:.3f} ms each")
    print(f"seal petitioner, key cached:         {figures['seal_cached_ms']:.3f} ms each")
    return figures


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)))
