"""Realistic example applications, made from the catalogue: for the API docs, tests, demo, benchmark.

Citizens are invented: names drawn from common Vietnamese family, middle and given names, ids
and phones from a seeded generator, so runs are repeatable.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from reference.catalog import Catalog, Procedure
from reference.units import Units

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Ngọc", "Quang", "Thu", "Xuân"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hạnh", "Hòa", "Hùng", "Lan", "Linh", "Mai",
         "Nam", "Nhung", "Phúc", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Vy", "Yến"]


def application(procedure: Procedure, units: Units, rng: random.Random,
                channel: str | None = None, commune_code: str | None = None,
                administrative_unit_code: str | None = None) -> dict[str, Any]:
    """A complete, valid application body for `procedure` (JSON-ready)."""
    commune = units.commune(commune_code) if commune_code else rng.choice(units.communes)
    chosen = channel or ("online" if "online" in procedure.channels else sorted(procedure.channels)[0])
    receiving = (units.provincial_centre if procedure.handling_level == "province"
                 else commune.receiving_unit)
    documents = [{
        "code": doc.code, "name": doc.name_vi,
        "sha256": hashlib.sha256(f"{doc.code}-{rng.random()}".encode()).hexdigest(),
        "size_bytes": rng.randint(20_000, 2_000_000), "digitized": rng.random() < 0.8,
    } for doc in procedure.documents if doc.required]
    preferred = rng.choice(["sms", "email"])
    body: dict[str, Any] = {
        "procedure_code": procedure.code,
        "channel": chosen,
        "receiving_unit_code": receiving.code,
        "applicant": {
            "full_name": f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
            "citizen_id": f"040{rng.randint(0, 3)}{rng.randint(0, 99_999_999):08d}",
            "phone": f"09{rng.randint(0, 99_999_999):08d}",
            "email": f"cong.dan{rng.randint(1, 999_999)}@example.vn",
            "address": {"province_code": units.province.code, "commune_code": commune.code,
                        "detail": f"Số {rng.randint(1, 200)}, xóm {rng.randint(1, 20)}"},
            "preferred_channel": preferred,
            "language": "vi" if rng.random() < 0.9 else "en",
        },
        "documents": documents,
        "form_data": {"purpose": "Làm thủ tục hành chính", "copies": 1},
        "fee_vnd": procedure.fee_vnd,
        "paid_online": chosen == "online" and procedure.fee_vnd > 0,
        "reused_data": rng.random() < 0.5,
        "electronic_result": chosen == "online",
    }
    if administrative_unit_code:
        body["administrative_unit_code"] = administrative_unit_code
    return body


def applications(catalog: Catalog, units: Units, count: int, seed: int = 7) -> list[dict[str, Any]]:
    """`count` valid applications over the whole catalogue and many communes."""
    rng = random.Random(seed)
    procedures = list(catalog)
    return [application(rng.choice(procedures), units, rng) for _ in range(count)]
