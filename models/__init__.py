"""The domain model: areas, catalogue, organisation, incidents and their closed loop.

Import the mapped classes from here so every table is registered on `Base.metadata`.
"""
from models.area import Area
from models.base import Base
from models.catalogue import Category, Item, SlaRule
from models.incident import Breach, Incident, IncidentEvent
from models.org import AdminChange, Department, ShiftHandover, Staff, StaffLogin, department_item
from models.metrics import DailyDepartmentMetric, DailyMetric  # noqa: F401  (registers the daily-metric tables)
from models.token import ApiToken  # noqa: F401  (registers the api_token table)

__all__ = [
    "AdminChange", "Area", "Base", "Breach", "Category", "Department", "Incident", "IncidentEvent",
    "Item", "SlaRule", "ShiftHandover", "Staff", "StaffLogin", "department_item",
]
