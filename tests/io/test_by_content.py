"""Import by content (issue 11, item 7): files recognised by their columns, CRM picklists
mapped to Territorial's words, activity types and standard fields kept."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from territorial.domain.model import INDUSTRIES
from territorial.errors import ValidationError
from territorial.io import import_paths
from territorial.io.vocabulary import (
    HUBSPOT_INDUSTRIES,
    HUBSPOT_UNMAPPED,
    INDUSTRY_BY_KEY,
    SALESFORCE_INDUSTRIES,
    industry_key,
)
from territorial.sample import write_sample_company
from territorial.store import open_store
from territorial.store.records import (
    read_accounts,
    read_activities,
    read_opportunities,
    read_reps,
)

Files = Callable[[dict[str, str | bytes]], list[Path]]
Snapshot = Callable[[Engine], dict[str, tuple[int, str]]]
Rows = Snapshot
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    write_sample_company(folder, accounts=300, reps=10, seed=5)
    return folder


@pytest.fixture
def rows(snapshot: Snapshot) -> Rows:
    """Every imported table's rows (import ids included), without the imports log."""

    def read(engine: Engine) -> dict[str, tuple[int, str]]:
        return {k: v for k, v in snapshot(engine).items() if k != "imports"}

    return read


# Issue 11's "Done when": the sample's files renamed as CRM exports name them.
RENAMINGS = [
    {"accounts": "hubspot-crm-exports-all-companies-x.csv", "reps": "users.csv",
     "opportunities": "report1.csv", "activities": "extract2.csv"},
    {"accounts": "report1.csv", "reps": "users.csv", "opportunities": "extract2.csv",
     "activities": "hubspot-crm-exports-all-companies-x.csv"},
]  # fmt: skip


@pytest.mark.parametrize("names", RENAMINGS, ids=["as-in-issue-11", "shuffled"])
def test_renamed_sample_imports_the_same(
    rows: Rows, store_url: str, sqlite_url: str, sample: Path, tmp_path: Path, names: dict[str, str]
) -> None:
    renamed = tmp_path / "exports"
    renamed.mkdir()
    for entity, name in names.items():
        shutil.copy(sample / f"{entity}.csv", renamed / name)
    engine = open_store(store_url)
    report = import_paths([renamed], engine=engine)
    by_file = {f.path.name: (f.entity, f.recognised_by) for f in report.files}
    for entity, name in names.items():
        assert by_file[name][0] == entity
        if name != "users.csv":
            assert by_file[name][1].startswith("columns "), by_file[name]
    assert by_file["users.csv"][1] == "file name 'users.csv'"
    reference = open_store(f"{sqlite_url}.reference")
    import_paths([sample], engine=reference)
    if store_url == sqlite_url:
        assert rows(engine) == rows(reference)
    else:  # PostgreSQL: same rows, compared by content
        for read in (read_accounts, read_reps, read_opportunities, read_activities):
            mine, theirs = (
                frame.astype(object).where(frame.notna(), None)
                for frame in (read(engine), read(reference))
            )
            pd.testing.assert_frame_equal(mine, theirs, check_dtype=False)


def test_salesforce_exports_by_content(store_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "salesforce"
    shutil.copytree(FIXTURES / "salesforce", folder)
    engine = open_store(store_url)
    report = import_paths([folder], engine=engine)
    recognised = {f.path.name: f.entity for f in report.files}
    assert recognised == {
        "extract.csv": "opportunities", "extract2.csv": "activities",
        "report1712345678.csv": "accounts", "users.csv": "reps",
    }  # fmt: skip
    opps = read_opportunities(engine).set_index("id")
    gamma = opps.loc["0065g00000OOOO3"]
    assert (gamma["name"], gamma["type"], gamma["lead_source"]) == (
        "Gamma - Renewal", "Existing Business", "Trade Show"
    )  # fmt: skip
    assert (gamma["probability"], gamma["forecast_category"]) == (90.0, "Commit")
    assert gamma["attributes"] == {"NextStep": "Contract"}
    # The lead-source funnel the goals area builds from opportunities.
    assert opps.groupby("lead_source").size().to_dict() == {
        "Partner Referral": 1, "Phone Inquiry": 1, "Trade Show": 1, "Web": 1,
    }  # fmt: skip
    acts = read_activities(engine).set_index("id")
    assert acts["channel"].to_dict() == {
        "00T5g00000TTTT1": "call", "00T5g00000TTTT2": "email", "00T5g00000TTTT3": "other",
        "00T5g00000TTTT4": "call", "00T5g00000TTTT5": "other",
    }  # fmt: skip
    # A task whose subtype is Task and Type is Call is a call; its own type stays Task.
    assert acts.loc["00T5g00000TTTT4", "type"] == "Task"
    assert acts.loc["00T5g00000TTTT4", "attributes"]["Type"] == "Call"
    assert acts.loc["00T5g00000TTTT5", "type"] == "Cadence"
    assert acts.loc["00T5g00000TTTT1", "duration_minutes"] == 15.0  # 900 s
    assert acts.loc["00T5g00000TTTT1", "attributes"]["Subject"] == "Call: intro"
    reps = read_reps(engine).set_index("id")
    assert reps.loc["0055g00000RRRR1", "role"] == "West AE"  # Role wins over Title
    assert reps.loc["0055g00000RRRR1", "attributes"] == {
        "Title": "Account Executive", "Username": "rita@acme-sales.example", "Alias": "rrep"
    }  # fmt: skip


def test_hubspot_exports_by_content(store_url: str, tmp_path: Path) -> None:
    engine = open_store(store_url)
    import_paths([FIXTURES / "salesforce" / "users.csv"], engine=engine)
    folder = tmp_path / "hubspot"
    shutil.copytree(FIXTURES / "hubspot", folder)
    report = import_paths([folder], engine=engine)
    assert {f.entity for f in report.files} == {"accounts", "opportunities", "activities"}
    accounts = read_accounts(engine).set_index("id")
    assert accounts["industry"].to_dict() == {
        "5551001": "Software", "5551002": "Transportation & Logistics",
        "5551003": "Financial Services", "5551004": "RELIGIOUS_INSTITUTIONS",
    }  # fmt: skip
    assert accounts.loc["5551001", "attributes"]["Industry"] == "COMPUTER_SOFTWARE"
    assert accounts.loc["5551001", "owner_id"] == "0055g00000RRRR1"  # by e-mail
    assert accounts.loc["5551002", "owner_id"] == "0055g00000RRRR2"  # by name
    assert accounts.loc["5551001", "type"] == "CUSTOMER"
    opps = read_opportunities(engine).set_index("id")
    assert opps["probability"].to_dict() == {"7771001": 100.0, "7771002": 80.0, "7771003": 20.0}
    assert bool(opps.loc["7771001", "is_won"]) and not bool(opps.loc["7771002", "is_closed"])
    assert opps.loc["7771002", "lead_source"] == "PAID_SEARCH"
    acts = read_activities(engine).set_index("id")
    assert acts["channel"].tolist() == ["call", "email", "other", "other", "meeting", "other"]
    assert acts["type"].tolist()[2:4] == ["Note", "Task"]
    assert not [w for w in report.warnings if "activity type" in w.reason]


def test_a_file_fitting_several_entities_is_refused_naming_them(
    sqlite_url: str, files: Files
) -> None:
    with pytest.raises(ValidationError) as caught:
        import_paths(files({"extract.csv": "id,name\n1,Acme\n"}), engine=open_store(sqlite_url))
    (problem,) = caught.value.problems
    assert "its columns fit several entities: accounts" in problem.reason
    assert "reps" in problem.reason and "--kind" in problem.reason


def test_a_file_fitting_nothing_is_refused(sqlite_url: str, files: Files) -> None:
    with pytest.raises(ValidationError, match="match no entity's required columns"):
        import_paths(files({"extract.csv": "colour,size\nred,4\n"}), engine=open_store(sqlite_url))


def test_a_misnamed_file_says_what_it_looks_like(sqlite_url: str, files: Files) -> None:
    content = (
        "Id,AccountId,StageName,Amount,CloseDate,CreatedDate\nO1,A1,Open,5,2024-01-01,2024-01-01\n"
    )
    with pytest.raises(ValidationError) as caught:
        import_paths(files({"accounts.csv": content}), engine=open_store(sqlite_url))
    assert any(
        "the columns look like opportunities" in p.reason and "--kind opportunities" in p.reason
        for p in caught.value.problems
    )


# --- picklists --------------------------------------------------------------------------

#: Salesforce's standard Account Industry picklist (StandardValueSet "Industry").
SALESFORCE_PICKLIST = (
    "Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications",
    "Construction", "Consulting", "Education", "Electronics", "Energy", "Engineering",
    "Entertainment", "Environmental", "Finance", "Food & Beverage", "Government",
    "Healthcare", "Hospitality", "Insurance", "Machinery", "Manufacturing", "Media",
    "Not For Profit", "Recreation", "Retail", "Shipping", "Technology",
    "Telecommunications", "Transportation", "Utilities", "Other",
)  # fmt: skip

#: HubSpot's company industry enumeration (property ``industry``), as published.
HUBSPOT_ENUMERATION = [
    "ACCOUNTING",
    "AIRLINES_AVIATION",
    "ALTERNATIVE_DISPUTE_RESOLUTION",
    "ALTERNATIVE_MEDICINE",
    "ANIMATION",
    "APPAREL_FASHION",
    "ARCHITECTURE_PLANNING",
    "ARTS_AND_CRAFTS",
    "AUTOMOTIVE",
    "AVIATION_AEROSPACE",
    "BANKING",
    "BIOTECHNOLOGY",
    "BROADCAST_MEDIA",
    "BUILDING_MATERIALS",
    "BUSINESS_SUPPLIES_AND_EQUIPMENT",
    "CAPITAL_MARKETS",
    "CHEMICALS",
    "CIVIC_SOCIAL_ORGANIZATION",
    "CIVIL_ENGINEERING",
    "COMMERCIAL_REAL_ESTATE",
    "COMPUTER_NETWORK_SECURITY",
    "COMPUTER_GAMES",
    "COMPUTER_HARDWARE",
    "COMPUTER_NETWORKING",
    "COMPUTER_SOFTWARE",
    "INTERNET",
    "CONSTRUCTION",
    "CONSUMER_ELECTRONICS",
    "CONSUMER_GOODS",
    "CONSUMER_SERVICES",
    "COSMETICS",
    "DAIRY",
    "DEFENSE_SPACE",
    "DESIGN",
    "EDUCATION_MANAGEMENT",
    "E_LEARNING",
    "ELECTRICAL_ELECTRONIC_MANUFACTURING",
    "ENTERTAINMENT",
    "ENVIRONMENTAL_SERVICES",
    "EVENTS_SERVICES",
    "EXECUTIVE_OFFICE",
    "FACILITIES_SERVICES",
    "FARMING",
    "FINANCIAL_SERVICES",
    "FINE_ART",
    "FISHERY",
    "FOOD_BEVERAGES",
    "FOOD_PRODUCTION",
    "FUND_RAISING",
    "FURNITURE",
    "GAMBLING_CASINOS",
    "GLASS_CERAMICS_CONCRETE",
    "GOVERNMENT_ADMINISTRATION",
    "GOVERNMENT_RELATIONS",
    "GRAPHIC_DESIGN",
    "HEALTH_WELLNESS_AND_FITNESS",
    "HIGHER_EDUCATION",
    "HOSPITAL_HEALTH_CARE",
    "HOSPITALITY",
    "HUMAN_RESOURCES",
    "IMPORT_AND_EXPORT",
    "INDIVIDUAL_FAMILY_SERVICES",
    "INDUSTRIAL_AUTOMATION",
    "INFORMATION_SERVICES",
    "INFORMATION_TECHNOLOGY_AND_SERVICES",
    "INSURANCE",
    "INTERNATIONAL_AFFAIRS",
    "INTERNATIONAL_TRADE_AND_DEVELOPMENT",
    "INVESTMENT_BANKING",
    "INVESTMENT_MANAGEMENT",
    "JUDICIARY",
    "LAW_ENFORCEMENT",
    "LAW_PRACTICE",
    "LEGAL_SERVICES",
    "LEGISLATIVE_OFFICE",
    "LEISURE_TRAVEL_TOURISM",
    "LIBRARIES",
    "LOGISTICS_AND_SUPPLY_CHAIN",
    "LUXURY_GOODS_JEWELRY",
    "MACHINERY",
    "MANAGEMENT_CONSULTING",
    "MARITIME",
    "MARKET_RESEARCH",
    "MARKETING_AND_ADVERTISING",
    "MECHANICAL_OR_INDUSTRIAL_ENGINEERING",
    "MEDIA_PRODUCTION",
    "MEDICAL_DEVICES",
    "MEDICAL_PRACTICE",
    "MENTAL_HEALTH_CARE",
    "MILITARY",
    "MINING_METALS",
    "MOTION_PICTURES_AND_FILM",
    "MUSEUMS_AND_INSTITUTIONS",
    "MUSIC",
    "NANOTECHNOLOGY",
    "NEWSPAPERS",
    "NON_PROFIT_ORGANIZATION_MANAGEMENT",
    "OIL_ENERGY",
    "ONLINE_MEDIA",
    "OUTSOURCING_OFFSHORING",
    "PACKAGE_FREIGHT_DELIVERY",
    "PACKAGING_AND_CONTAINERS",
    "PAPER_FOREST_PRODUCTS",
    "PERFORMING_ARTS",
    "PHARMACEUTICALS",
    "PHILANTHROPY",
    "PHOTOGRAPHY",
    "PLASTICS",
    "POLITICAL_ORGANIZATION",
    "PRIMARY_SECONDARY_EDUCATION",
    "PRINTING",
    "PROFESSIONAL_TRAINING_COACHING",
    "PROGRAM_DEVELOPMENT",
    "PUBLIC_POLICY",
    "PUBLIC_RELATIONS_AND_COMMUNICATIONS",
    "PUBLIC_SAFETY",
    "PUBLISHING",
    "RAILROAD_MANUFACTURE",
    "RANCHING",
    "REAL_ESTATE",
    "RECREATIONAL_FACILITIES_AND_SERVICES",
    "RELIGIOUS_INSTITUTIONS",
    "RENEWABLES_ENVIRONMENT",
    "RESEARCH",
    "RESTAURANTS",
    "RETAIL",
    "SECURITY_AND_INVESTIGATIONS",
    "SEMICONDUCTORS",
    "SHIPBUILDING",
    "SPORTING_GOODS",
    "SPORTS",
    "STAFFING_AND_RECRUITING",
    "SUPERMARKETS",
    "TELECOMMUNICATIONS",
    "TEXTILES",
    "THINK_TANKS",
    "TOBACCO",
    "TRANSLATION_AND_LOCALIZATION",
    "TRANSPORTATION_TRUCKING_RAILROAD",
    "UTILITIES",
    "VENTURE_CAPITAL_PRIVATE_EQUITY",
    "VETERINARY",
    "WAREHOUSING",
    "WHOLESALE",
    "WINE_AND_SPIRITS",
    "WIRELESS",
    "WRITING_AND_EDITING",
    "MOBILE_GAMES",
]


def test_every_salesforce_industry_is_mapped_or_knowingly_kept() -> None:
    assert set(SALESFORCE_INDUSTRIES) == set(SALESFORCE_PICKLIST) - {"Not For Profit", "Other"}
    assert set(SALESFORCE_INDUSTRIES.values()) <= set(INDUSTRIES)
    assert INDUSTRY_BY_KEY[industry_key("Technology")] == "Software"
    assert INDUSTRY_BY_KEY[industry_key("Food & Beverage")] == "Manufacturing"


def test_every_hubspot_industry_is_mapped_or_knowingly_kept() -> None:
    assert len(HUBSPOT_ENUMERATION) == 148
    assert set(HUBSPOT_INDUSTRIES) | set(HUBSPOT_UNMAPPED) == set(HUBSPOT_ENUMERATION)
    assert not set(HUBSPOT_INDUSTRIES) & set(HUBSPOT_UNMAPPED)
    assert set(HUBSPOT_INDUSTRIES.values()) <= set(INDUSTRIES)


@pytest.mark.parametrize(
    ("written", "industry"),
    [("FINANCIAL_SERVICES", "Financial Services"), ("Financial Services", "Financial Services"),
     ("COMPUTER_SOFTWARE", "Software"), ("Computer Software", "Software"),
     ("Information Technology and Services", "Software"), ("Hospital & Health Care", "Healthcare"),
     ("Oil & Energy", "Energy"), ("E-Learning", "Education"), ("Technology", "Software"),
     ("banking", "Financial Services"),
     ("transportation & logistics", "Transportation & Logistics")],
)  # fmt: skip
def test_industry_spellings(sqlite_url: str, files: Files, written: str, industry: str) -> None:
    engine = open_store(sqlite_url)
    report = import_paths(
        files({"accounts.csv": f'id,name,industry\nA1,Acme,"{written}"\n'}), engine=engine
    )
    assert read_accounts(engine).loc[0, "industry"] == industry
    assert not [w for w in report.warnings if "industry" in w.reason]


@pytest.mark.parametrize(
    ("written", "channel"),
    [("Task", "other"), ("Event", "meeting"), ("Other", "other"), ("NOTE", "other"),
     ("TASK", "other"), ("INCOMING_EMAIL", "email"), ("Log a Call", "call"),
     ("Site Visit", "visit"), ("carrier pigeon", "other")],
)  # fmt: skip
def test_activity_types_are_kept(sqlite_url: str, files: Files, written: str, channel: str) -> None:
    engine = open_store(sqlite_url)
    report = import_paths(
        files(
            {
                "accounts.csv": "id,name\nA1,Acme\n",
                "activities.csv": "id,account_id,channel,occurred_at\n"
                f"T1,A1,{written},2024-01-02\n",
            }
        ),
        engine=engine,
    )
    activity = read_activities(engine).iloc[0]
    assert (activity["channel"], activity["type"]) == (channel, written)
    unknown = [w for w in report.warnings if "activity type" in w.reason]
    assert bool(unknown) == (written == "carrier pigeon")
