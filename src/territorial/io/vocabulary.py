"""CRM picklists translated to Territorial's words: industries and activity types.

Industries: Territorial scores accounts by the industries of ``domain.INDUSTRIES``.
Salesforce's standard Account ``Industry`` picklist (32 values, ``Agriculture`` to
``Other``) and HubSpot's company ``industry`` enumeration (148 values such as
``COMPUTER_SOFTWARE``, exported with labels such as ``Computer Software``) are mapped
to them below; a value mapped to another name keeps its original text in the
account's ``attributes``. Values with no sensible counterpart (``Not For Profit``,
``RELIGIOUS_INSTITUTIONS``...) are kept as they are, with a warning, and scoring treats
them as "other".

Activity types: Territorial's channels are call, email, meeting and visit. Every other
CRM type (Salesforce ``Task``, ``Other``, ``Cadence``, HubSpot ``NOTE``, ``TASK``,
``SMS``...) is kept as channel ``other``, and the CRM's own type is stored in the
activity's ``type`` column.
"""

from __future__ import annotations

import re

from territorial.domain.model import CHANNELS, INDUSTRIES

#: Activity channels an imported activity can have: Territorial's four and ``other``.
ACTIVITY_CHANNELS: tuple[str, ...] = (*CHANNELS, "other")

_WORDS = re.compile(r"[a-z0-9]+")


def industry_key(value: str) -> str:
    """The key industry names are compared by: lower-case words without ``and``.

    ``Food & Beverages``, ``FOOD_BEVERAGES`` and ``food and beverages`` share a key.
    """
    return "".join(w for w in _WORDS.findall(value.casefold()) if w != "and")


_SW, _HC, _FS = "Software", "Healthcare", "Financial Services"
_MF, _RT, _ED = "Manufacturing", "Retail", "Education"
_GV, _EN, _TL = "Government", "Energy", "Transportation & Logistics"
_PS, _MT, _CR = "Professional Services", "Media & Telecom", "Construction & Real Estate"
_HO, _AG = "Hospitality", "Agriculture"

#: Salesforce's standard Account Industry picklist -> Territorial industry.
SALESFORCE_INDUSTRIES: dict[str, str] = {
    "Agriculture": _AG, "Apparel": _RT, "Banking": _FS, "Biotechnology": _HC,
    "Chemicals": _MF, "Communications": _MT, "Construction": _CR, "Consulting": _PS,
    "Education": _ED, "Electronics": _MF, "Energy": _EN, "Engineering": _PS,
    "Entertainment": _MT, "Environmental": _PS, "Finance": _FS, "Food & Beverage": _MF,
    "Government": _GV, "Healthcare": _HC, "Hospitality": _HO, "Insurance": _FS,
    "Machinery": _MF, "Manufacturing": _MF, "Media": _MT, "Recreation": _HO,
    "Retail": _RT, "Shipping": _TL, "Technology": _SW, "Telecommunications": _MT,
    "Transportation": _TL, "Utilities": _EN,
    # "Not For Profit" and "Other" have no counterpart: kept as they are.
}  # fmt: skip

#: HubSpot's company industry enumeration -> Territorial industry.
HUBSPOT_INDUSTRIES: dict[str, str] = {
    "ACCOUNTING": _PS, "AIRLINES_AVIATION": _TL, "ALTERNATIVE_DISPUTE_RESOLUTION": _PS,
    "ALTERNATIVE_MEDICINE": _HC, "ANIMATION": _MT, "APPAREL_FASHION": _RT,
    "ARCHITECTURE_PLANNING": _PS, "ARTS_AND_CRAFTS": _RT, "AUTOMOTIVE": _MF,
    "AVIATION_AEROSPACE": _MF, "BANKING": _FS, "BIOTECHNOLOGY": _HC, "BROADCAST_MEDIA": _MT,
    "BUILDING_MATERIALS": _CR, "BUSINESS_SUPPLIES_AND_EQUIPMENT": _MF, "CAPITAL_MARKETS": _FS,
    "CHEMICALS": _MF, "CIVIL_ENGINEERING": _CR, "COMMERCIAL_REAL_ESTATE": _CR,
    "COMPUTER_NETWORK_SECURITY": _SW, "COMPUTER_GAMES": _SW, "COMPUTER_HARDWARE": _MF,
    "COMPUTER_NETWORKING": _SW, "COMPUTER_SOFTWARE": _SW, "INTERNET": _SW,
    "CONSTRUCTION": _CR, "CONSUMER_ELECTRONICS": _MF, "CONSUMER_GOODS": _RT,
    "CONSUMER_SERVICES": _PS, "COSMETICS": _RT, "DAIRY": _AG, "DEFENSE_SPACE": _GV,
    "DESIGN": _PS, "EDUCATION_MANAGEMENT": _ED, "E_LEARNING": _ED,
    "ELECTRICAL_ELECTRONIC_MANUFACTURING": _MF, "ENTERTAINMENT": _MT,
    "ENVIRONMENTAL_SERVICES": _PS, "EVENTS_SERVICES": _HO, "EXECUTIVE_OFFICE": _GV,
    "FACILITIES_SERVICES": _PS, "FARMING": _AG, "FINANCIAL_SERVICES": _FS, "FINE_ART": _MT,
    "FISHERY": _AG, "FOOD_BEVERAGES": _MF, "FOOD_PRODUCTION": _MF, "FURNITURE": _MF,
    "GAMBLING_CASINOS": _HO, "GLASS_CERAMICS_CONCRETE": _MF, "GOVERNMENT_ADMINISTRATION": _GV,
    "GOVERNMENT_RELATIONS": _GV, "GRAPHIC_DESIGN": _PS, "HEALTH_WELLNESS_AND_FITNESS": _HC,
    "HIGHER_EDUCATION": _ED, "HOSPITAL_HEALTH_CARE": _HC, "HOSPITALITY": _HO,
    "HUMAN_RESOURCES": _PS, "IMPORT_AND_EXPORT": _TL, "INDUSTRIAL_AUTOMATION": _MF,
    "INFORMATION_SERVICES": _SW, "INFORMATION_TECHNOLOGY_AND_SERVICES": _SW, "INSURANCE": _FS,
    "INTERNATIONAL_AFFAIRS": _GV, "INVESTMENT_BANKING": _FS, "INVESTMENT_MANAGEMENT": _FS,
    "JUDICIARY": _GV, "LAW_ENFORCEMENT": _GV, "LAW_PRACTICE": _PS, "LEGAL_SERVICES": _PS,
    "LEGISLATIVE_OFFICE": _GV, "LEISURE_TRAVEL_TOURISM": _HO, "LIBRARIES": _ED,
    "LOGISTICS_AND_SUPPLY_CHAIN": _TL, "LUXURY_GOODS_JEWELRY": _RT, "MACHINERY": _MF,
    "MANAGEMENT_CONSULTING": _PS, "MARITIME": _TL, "MARKET_RESEARCH": _PS,
    "MARKETING_AND_ADVERTISING": _PS, "MECHANICAL_OR_INDUSTRIAL_ENGINEERING": _MF,
    "MEDIA_PRODUCTION": _MT, "MEDICAL_DEVICES": _HC, "MEDICAL_PRACTICE": _HC,
    "MENTAL_HEALTH_CARE": _HC, "MILITARY": _GV, "MINING_METALS": _EN,
    "MOTION_PICTURES_AND_FILM": _MT, "MUSIC": _MT, "NANOTECHNOLOGY": _MF, "NEWSPAPERS": _MT,
    "OIL_ENERGY": _EN, "ONLINE_MEDIA": _MT, "OUTSOURCING_OFFSHORING": _PS,
    "PACKAGE_FREIGHT_DELIVERY": _TL, "PACKAGING_AND_CONTAINERS": _MF,
    "PAPER_FOREST_PRODUCTS": _MF, "PERFORMING_ARTS": _MT, "PHARMACEUTICALS": _HC,
    "PHOTOGRAPHY": _MT, "PLASTICS": _MF, "PRIMARY_SECONDARY_EDUCATION": _ED, "PRINTING": _MT,
    "PROFESSIONAL_TRAINING_COACHING": _ED, "PUBLIC_POLICY": _GV,
    "PUBLIC_RELATIONS_AND_COMMUNICATIONS": _PS, "PUBLIC_SAFETY": _GV, "PUBLISHING": _MT,
    "RAILROAD_MANUFACTURE": _MF, "RANCHING": _AG, "REAL_ESTATE": _CR,
    "RECREATIONAL_FACILITIES_AND_SERVICES": _HO, "RENEWABLES_ENVIRONMENT": _EN,
    "RESEARCH": _PS, "RESTAURANTS": _HO, "RETAIL": _RT, "SECURITY_AND_INVESTIGATIONS": _PS,
    "SEMICONDUCTORS": _MF, "SHIPBUILDING": _MF, "SPORTING_GOODS": _RT, "SPORTS": _HO,
    "STAFFING_AND_RECRUITING": _PS, "SUPERMARKETS": _RT, "TELECOMMUNICATIONS": _MT,
    "TEXTILES": _MF, "TOBACCO": _MF, "TRANSLATION_AND_LOCALIZATION": _PS,
    "TRANSPORTATION_TRUCKING_RAILROAD": _TL, "UTILITIES": _EN,
    "VENTURE_CAPITAL_PRIVATE_EQUITY": _FS, "VETERINARY": _HC, "WAREHOUSING": _TL,
    "WHOLESALE": _RT, "WINE_AND_SPIRITS": _MF, "WIRELESS": _MT, "WRITING_AND_EDITING": _MT,
    "MOBILE_GAMES": _SW,
    # Kept as they are (no counterpart): CIVIC_SOCIAL_ORGANIZATION, FUND_RAISING,
    # INDIVIDUAL_FAMILY_SERVICES, INTERNATIONAL_TRADE_AND_DEVELOPMENT, MUSEUMS_AND_INSTITUTIONS,
    # NON_PROFIT_ORGANIZATION_MANAGEMENT, PHILANTHROPY, POLITICAL_ORGANIZATION,
    # PROGRAM_DEVELOPMENT, RELIGIOUS_INSTITUTIONS, THINK_TANKS.
}  # fmt: skip

#: Every HubSpot industry value without a Territorial counterpart (kept as is).
HUBSPOT_UNMAPPED: tuple[str, ...] = (
    "CIVIC_SOCIAL_ORGANIZATION", "FUND_RAISING", "INDIVIDUAL_FAMILY_SERVICES",
    "INTERNATIONAL_TRADE_AND_DEVELOPMENT", "MUSEUMS_AND_INSTITUTIONS",
    "NON_PROFIT_ORGANIZATION_MANAGEMENT", "PHILANTHROPY", "POLITICAL_ORGANIZATION",
    "PROGRAM_DEVELOPMENT", "RELIGIOUS_INSTITUTIONS", "THINK_TANKS",
)  # fmt: skip

#: Values that mean "no industry" or "other": kept, without a warning.
OTHER_INDUSTRIES: frozenset[str] = frozenset(
    industry_key(v) for v in ("Other", "Others", "Unknown", "N/A", "None", "Not Applicable")
)


def _industry_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for source in (HUBSPOT_INDUSTRIES, SALESFORCE_INDUSTRIES):
        for value, industry in source.items():
            table[industry_key(value)] = industry
    for industry in INDUSTRIES:  # Territorial's own names, however spelled
        table[industry_key(industry)] = industry
    return table


#: Industry key (see :func:`industry_key`) -> Territorial industry.
INDUSTRY_BY_KEY: dict[str, str] = _industry_table()

#: CRM activity types -> Territorial channel (compared in lower case). Types not listed
#: become ``other``.
CHANNEL_ALIASES: dict[str, str] = {
    "call": "call", "phone": "call", "phone call": "call", "calls": "call", "log a call": "call",
    "outbound call": "call", "inbound call": "call",
    "email": "email", "e-mail": "email", "emails": "email", "listemail": "email",
    "list email": "email", "email message": "email", "mail": "email",
    "incoming_email": "email", "incoming email": "email", "forwarded_email": "email",
    "forwarded email": "email",
    "meeting": "meeting", "meetings": "meeting", "event": "meeting", "appointment": "meeting",
    "video call": "meeting", "video meeting": "meeting", "web meeting": "meeting",
    "visit": "visit", "site visit": "visit", "field visit": "visit", "onsite": "visit",
    "on-site": "visit", "in person": "visit", "in-person": "visit", "in-person meeting": "visit",
    # Known CRM types that are none of the four: kept as "other" without a warning.
    "other": "other", "task": "other", "to-do": "other", "todo": "other", "note": "other",
    "notes": "other", "cadence": "other", "linkedin": "other", "linkedin_message": "other",
    "linkedin message": "other", "sms": "other", "whats_app": "other", "whatsapp": "other",
    "postal_mail": "other", "postal mail": "other", "publishing_task": "other",
    "conversation_session": "other", "chat": "other", "letter": "other", "fax": "other",
}  # fmt: skip


__all__ = [
    "ACTIVITY_CHANNELS",
    "CHANNEL_ALIASES",
    "HUBSPOT_INDUSTRIES",
    "HUBSPOT_UNMAPPED",
    "INDUSTRY_BY_KEY",
    "OTHER_INDUSTRIES",
    "SALESFORCE_INDUSTRIES",
    "industry_key",
]
