"""The shipped routing tables, built from the reference data: v1 before, v2 after the 2025 reform."""

# Simplifications, to check against the province's published assignments: department names are
# those after the March 2025 mergers in both versions; v1 uses the 2025 commune map; mailboxes
# follow one pattern on nghean.gov.vn and are placeholders for the official addresses.

from __future__ import annotations

import datetime as dt
from functools import cache

from reference.units import Commune, FormerDistrict, Units, load_units

from .directory import (
    COMMUNE_OF_RECORD,
    MANUAL_QUEUE,
    Contact,
    Department,
    Level,
    commune_ppc_code,
    district_ppc_code,
)
from .table import COMMUNE_PPC, DISTRICT_PPC, RoutingTable, Rule

MAIL_DOMAIN = "nghean.gov.vn"
MARRIAGE_FOREIGN = "9.000031.000.00.00.H40"
"""Đăng ký kết hôn có yếu tố nước ngoài."""
LAND_FIRST_CERTIFICATE = "9.000035.000.00.00.H40"
"""Đăng ký, cấp Giấy chứng nhận quyền sử dụng đất lần đầu."""
HOUSEHOLD_BUSINESS = "9.000034.000.00.00.H40"
"""Đăng ký thành lập hộ kinh doanh."""

# code, name, level, post of its head, mailbox of that post
_PROVINCE: tuple[tuple[str, str, Level, str, str], ...] = (
    ("SO-TU-PHAP", "Sở Tư pháp", "province_department", "Giám đốc Sở Tư pháp", "giamdoc.stp"),
    ("CA-TINH", "Công an tỉnh Nghệ An", "province_police", "Giám đốc Công an tỉnh", "giamdoc.cat"),
    ("SO-NN-MT", "Sở Nông nghiệp và Môi trường", "province_department",
     "Giám đốc Sở Nông nghiệp và Môi trường", "giamdoc.snnmt"),
    ("SO-GD-DT", "Sở Giáo dục và Đào tạo", "province_department",
     "Giám đốc Sở Giáo dục và Đào tạo", "giamdoc.sgddt"),
    ("SO-NOI-VU", "Sở Nội vụ", "province_department", "Giám đốc Sở Nội vụ", "giamdoc.snv"),
    ("THUE-TINH", "Thuế tỉnh Nghệ An", "provincial_service", "Trưởng Thuế tỉnh Nghệ An",
     "truong.thue"),
    ("BHXH-TINH", "Bảo hiểm xã hội tỉnh Nghệ An", "provincial_service",
     "Giám đốc Bảo hiểm xã hội tỉnh", "giamdoc.bhxh"),
    ("DIEN-LUC", "Công ty Điện lực Nghệ An", "provincial_service",
     "Giám đốc Công ty Điện lực Nghệ An", "giamdoc.dienluc"),
    ("SO-Y-TE", "Sở Y tế", "province_department", "Giám đốc Sở Y tế", "giamdoc.syt"),
    ("SO-XAY-DUNG", "Sở Xây dựng", "province_department", "Giám đốc Sở Xây dựng", "giamdoc.sxd"),
    ("SO-TAI-CHINH", "Sở Tài chính", "province_department", "Giám đốc Sở Tài chính", "giamdoc.stc"),
    ("SO-CONG-THUONG", "Sở Công Thương", "province_department", "Giám đốc Sở Công Thương",
     "giamdoc.sct"),
    ("SO-VHTTDL", "Sở Văn hóa, Thể thao và Du lịch", "province_department",
     "Giám đốc Sở Văn hóa, Thể thao và Du lịch", "giamdoc.svhttdl"),
    ("SO-KHCN", "Sở Khoa học và Công nghệ", "province_department",
     "Giám đốc Sở Khoa học và Công nghệ", "giamdoc.skhcn"),
    ("SO-DTTG", "Sở Dân tộc và Tôn giáo", "province_department", "Giám đốc Sở Dân tộc và Tôn giáo",
     "giamdoc.sdttg"),
    ("THANH-TRA", "Thanh tra tỉnh", "province_department", "Chánh Thanh tra tỉnh", "chanh.ttt"),
    ("VP-UBND", "Văn phòng Ủy ban nhân dân tỉnh", "province_department",
     "Chánh Văn phòng UBND tỉnh", "chanhvanphong.ubnd"),
    (MANUAL_QUEUE, "Trung tâm Phục vụ hành chính công tỉnh Nghệ An", "one_stop_office",
     "Giám đốc Trung tâm Phục vụ hành chính công tỉnh", "giamdoc.ttpvhcc"),
)


def _mailbox(local: str) -> str:
    return f"{local}@{MAIL_DOMAIN}"


_ONE_STOP = Contact(role="one_stop_office_supervisor", name=_PROVINCE[-1][3],
                    email=_mailbox(_PROVINCE[-1][4]))
_PROVINCIAL = Contact(role="provincial_supervisor", name="Chánh Văn phòng UBND tỉnh",
                      email=_mailbox("chanhvanphong.ubnd"))


def _department(code: str, name: str, level: Level, head: str, mailbox: str) -> Department:
    head_contact = Contact(role="department_head", name=head, email=_mailbox(mailbox))
    above = tuple(c for c in (_ONE_STOP, _PROVINCIAL) if c.email != head_contact.email)
    return Department(code=code, name=name, level=level, supervisors=(head_contact, *above))


def _commune_ppc(commune: Commune) -> Department:
    name = f"Ủy ban nhân dân {commune.kind} {commune.name}"
    return _department(commune_ppc_code(commune.code), name, "commune_ppc",
                       f"Chủ tịch UBND {commune.kind} {commune.name}", f"chutich.x{commune.code}")


def _district_ppc(district: FormerDistrict) -> Department:
    name = f"Ủy ban nhân dân {district.kind} {district.name}"
    return _department(district_ppc_code(district.code), name, "district_ppc",
                       f"Chủ tịch UBND {district.kind} {district.name}", f"chutich.h{district.code}")


def departments_2025(units: Units | None = None) -> tuple[Department, ...]:
    """Every department of 2025, all active: province level, then commune PCs, then district PCs."""
    units = units or load_units()
    return (*(_department(*row) for row in _PROVINCE),
            *(_commune_ppc(c) for c in units.communes),
            *(_district_ppc(d) for d in units.former_districts))


def _dissolved(department: Department, successor: str) -> Department:
    return Department(code=department.code, name=department.name, level=department.level,
                      supervisors=department.supervisors, active=False, successor=successor)


# Rules both versions share: police, and procedures handled by one provincial agency of a kind.
_BY_KIND = (
    Rule(id="r-police", agency_kind="police", candidates=("CA-TINH",),
         note="commune police are part of the provincial police here"),
    Rule(id="r-tax", agency_kind="tax", candidates=("THUE-TINH", "SO-TAI-CHINH")),
    Rule(id="r-social-insurance", agency_kind="social_insurance", candidates=("BHXH-TINH", "SO-Y-TE")),
    Rule(id="r-electricity", agency_kind="electricity", candidates=("DIEN-LUC", "SO-CONG-THUONG")),
    Rule(id="r-education", agency_kind="education", candidates=("SO-GD-DT",)),
    Rule(id="r-labour", agency_kind="labour", candidates=("SO-NOI-VU", "BHXH-TINH"),
         note="labour affairs moved to Sở Nội vụ in the 2025 merger"),
)
_GENERAL = (
    Rule(id="r-land", agency_kind="natural_resources", candidates=("SO-NN-MT", COMMUNE_PPC)),
    Rule(id="r-commune-ppc", agency_kind="commune_ppc", candidates=(COMMUNE_PPC, "SO-TU-PHAP")),
    Rule(id="r-justice", agency_kind="justice", candidates=("SO-TU-PHAP", COMMUNE_PPC)),
)


@cache
def table_v1() -> RoutingTable:
    """Before the reform: district PCs handle a few procedures and records addressed to them."""
    units = load_units()
    departments = tuple(
        _dissolved(d, district_ppc_code("412")) if d.code == district_ppc_code("413") else d
        for d in departments_2025(units))
    rules = (
        *_BY_KIND,
        Rule(id="r-v1-cua-lo", unit="413", unit_kind="former_district", level="commune",
             candidates=(district_ppc_code("412"),),
             note="Cửa Lò was merged into Vinh on 1 Dec 2024 (Resolution 1243/NQ-UBTVQH15)"),
        Rule(id="r-v1-marriage-foreign", procedure=MARRIAGE_FOREIGN,
             candidates=(DISTRICT_PPC, "SO-TU-PHAP"),
             note="civil status with foreign elements is registered by the district PC"),
        Rule(id="r-v1-land-first-certificate", procedure=LAND_FIRST_CERTIFICATE,
             candidates=(DISTRICT_PPC, "SO-NN-MT"),
             note="first land-use certificates are issued by the district PC"),
        Rule(id="r-v1-household-business", procedure=HOUSEHOLD_BUSINESS,
             candidates=(DISTRICT_PPC, "SO-TAI-CHINH"),
             note="household businesses are registered by the district PC"),
        Rule(id="r-v1-former-district-unit", unit_kind="former_district", level="commune",
             candidates=(DISTRICT_PPC,), note="the record names a district unit"),
        *_GENERAL,
    )
    return RoutingTable(version=1, effective_from=dt.date(2025, 1, 1), departments=departments,
                        rules=rules, note="before the 2025 reform: 21 district-level units "
                                          "(Cửa Lò merged into Vinh)")


@cache
def table_v2() -> RoutingTable:
    """After the reform: the district level is gone; its procedures went to communes or the province."""
    units = load_units()
    departments = tuple(
        _dissolved(d, COMMUNE_OF_RECORD) if d.level == "district_ppc" else d
        for d in departments_2025(units))
    rules = (
        *_BY_KIND,
        Rule(id="r-v2-land-first-certificate", procedure=LAND_FIRST_CERTIFICATE,
             candidates=(COMMUNE_PPC, "SO-NN-MT"),
             note="first land-use certificates moved to the commune PC with the reform"),
        Rule(id="r-v2-former-district-unit", unit_kind="former_district", level="commune",
             agency_kind="commune_ppc", candidates=(MANUAL_QUEUE,),
             note="unit is a former district; choose the commune"),
        Rule(id="r-v2-marriage-foreign", procedure=MARRIAGE_FOREIGN,
             candidates=(COMMUNE_PPC, "SO-TU-PHAP"),
             note="civil status with foreign elements moved to the commune PC (Decree 120/2025)"),
        Rule(id="r-v2-household-business", procedure=HOUSEHOLD_BUSINESS,
             candidates=(COMMUNE_PPC, "SO-TAI-CHINH"),
             note="household businesses are registered by the commune PC since the reform"),
        *_GENERAL,
    )
    return RoutingTable(version=2, effective_from=dt.date(2025, 7, 1), departments=departments,
                        rules=rules, note="after the reform of 1 July 2025: no district level; "
                                          "district PCs pass their records to the commune of record")


def shipped_tables() -> tuple[RoutingTable, RoutingTable]:
    """The shipped versions in order: v1 (before the reform) and v2 (after it)."""
    return table_v1(), table_v2()
