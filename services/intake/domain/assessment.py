"""Is an application acceptable: checked against the procedure catalogue and the map."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from reference.applications import check_application
from reference.catalog import Catalog, Procedure
from reference.errors import UnknownProcedure, UnknownUnit
from reference.units import ReceivingUnit, Units
from services.runtime.problems import FieldProblem

from .application import Application


def fingerprint(application: Application) -> str:
    """Stable digest of what was asked, to tell a retry from a different request under one key."""
    canonical = json.dumps(application.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Assessment:
    """An application checked against the catalogue and the map: acceptable, or why not."""

    problems: list[FieldProblem]
    procedure: Procedure | None = None
    receiving_unit: ReceivingUnit | None = None
    administrative_unit_code: str = ""


def assess(application: Application, catalog: Catalog, units: Units) -> Assessment:
    problems: list[FieldProblem] = []
    procedure: Procedure | None = None
    try:
        procedure = catalog.get(application.procedure_code)
    except UnknownProcedure:
        problems.append(FieldProblem(field="procedure_code", code="unknown_procedure",
                                     message=f"procedure {application.procedure_code} is not in "
                                             "the province's catalogue"))
    if procedure is not None:
        documents = {document.code for document in application.documents}
        problems += [FieldProblem(field=v.field, code=v.code, message=v.message)
                     for v in check_application(procedure, application.channel, documents)]
        if application.fee_vnd != procedure.fee_vnd:
            problems.append(FieldProblem(
                field="fee_vnd", code="fee_mismatch",
                message=f"the fee of procedure {procedure.code} is {procedure.fee_vnd} VND"))
        if application.paid_online and application.channel != "online":
            problems.append(FieldProblem(field="paid_online", code="not_online",
                                         message="only an online application can be paid online"))
    receiving: ReceivingUnit | None = None
    try:
        receiving = units.receiving_unit_by_agency_code(application.receiving_unit_code)
    except UnknownUnit:
        problems.append(FieldProblem(field="receiving_unit_code", code="unknown_receiving_unit",
                                     message=f"{application.receiving_unit_code} is not a "
                                             f"receiving unit of {units.province.name}"))
    address = application.applicant.address
    if address.province_code == units.province.code and not units.is_commune(address.commune_code):
        problems.append(FieldProblem(field="applicant.address.commune_code", code="unknown_commune",
                                     message=f"the commune code is not a commune of "
                                             f"{units.province.name}"))
    unit_code = application.administrative_unit_code or address.commune_code
    if not _is_unit(units, unit_code):
        problems.append(FieldProblem(
            field="administrative_unit_code", code="unknown_administrative_unit",
            message=f"{unit_code} is neither a commune nor a former district of "
                    f"{units.province.name}"))
    return Assessment(problems, procedure, receiving, unit_code)


def _is_unit(units: Units, code: str) -> bool:
    if units.is_commune(code):
        return True
    try:
        units.former_district(code)
        return True
    except UnknownUnit:
        return False
