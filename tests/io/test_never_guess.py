"""Nothing misread: dates, decimal commas, workbooks, CRM labels (issue 16, item 2).

Each case is a file a real CRM or spreadsheet writes; the import either reads what the
file means (and says how it decided) or refuses it naming rows, never stores a value
that differs from what the file meant.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook
from sqlalchemy import Engine

from territorial.errors import ConfigError, ValidationError
from territorial.io import import_paths
from territorial.io.dates import parse_date_format
from territorial.store import open_store
from territorial.store.records import read_accounts, read_opportunities, read_reps

Files = Callable[[dict[str, str | bytes]], list[Path]]
FIXTURES = Path(__file__).parent / "fixtures"

ACCOUNTS = "accounts.csv"
OPP_HEADER = "id,account_id,amount,stage,created_date,close_date\n"


def _opps(rows: str) -> dict[str, str | bytes]:
    return {
        ACCOUNTS: "id,name\nA1,Acme\nA2,Beta\nA3,Gamma\n",
        "opportunities.csv": OPP_HEADER + rows,
    }


def _readings(report: object) -> dict[tuple[str, str | None], str]:
    return {(r.file, r.column): f"{r.reading}: {r.reason}" for r in report.readings}  # type: ignore[attr-defined]


# --- dates --------------------------------------------------------------------------------


def test_ambiguous_dates_are_decided_and_reported(sqlite_url: str, files: Files) -> None:
    """Every day <= 12: read one way, and the result and the warnings say which and why."""
    engine = open_store(sqlite_url)
    report = import_paths(
        files(_opps("O1,A1,10,Prospecting,03/04/2024,\nO2,A2,20,Prospecting,02/01/2024,\n")),
        engine=engine,
    )
    reading = _readings(report)[("opportunities.csv", "created_date")]
    assert reading.startswith("month/day/year")
    assert "every date could be day/month or month/day" in reading
    assert "--date-format dmy" in reading
    warned = [w for w in report.warnings if w.column == "created_date"]
    assert warned and "read as month/day/year" in warned[0].reason
    opps = read_opportunities(engine).set_index("id")
    assert opps.loc["O1", "created_date"] == pd.Timestamp("2024-03-04")


def test_one_unambiguous_value_decides_the_whole_column(sqlite_url: str, files: Files) -> None:
    engine = open_store(sqlite_url)
    report = import_paths(
        files(
            _opps(
                "O1,A1,10,Open,03/04/2024,\nO2,A2,20,Open,13/04/2024,\nO3,A3,5,Open,2024-05-01,\n"
            )
        ),
        engine=engine,
    )
    reading = _readings(report)[("opportunities.csv", "created_date")]
    assert reading.startswith("day/month/year") and "row 3 '13/04/2024'" in reading
    assert not [w for w in report.warnings if w.column == "created_date"]
    opps = read_opportunities(engine).set_index("id")
    assert opps.loc["O1", "created_date"] == pd.Timestamp("2024-04-03")  # not 4 March
    assert opps.loc["O2", "created_date"] == pd.Timestamp("2024-04-13")


def test_other_date_columns_of_the_file_decide_an_ambiguous_one(
    sqlite_url: str, files: Files
) -> None:
    engine = open_store(sqlite_url)
    report = import_paths(
        files(_opps("O1,A1,10,Open,03/04/2024,25/06/2024\nO2,A2,20,Open,02/01/2024,05/02/2024\n")),
        engine=engine,
    )
    assert (
        "like the file's other date columns"
        in _readings(report)[("opportunities.csv", "created_date")]
    )
    opps = read_opportunities(engine).set_index("id")
    assert opps.loc["O1", "created_date"] == pd.Timestamp("2024-04-03")
    assert opps.loc["O2", "close_date"] == pd.Timestamp("2024-02-05")


def test_other_files_of_the_import_decide_an_ambiguous_column(
    sqlite_url: str, files: Files
) -> None:
    engine = open_store(sqlite_url)
    paths = files(
        {
            "reps.csv": "id,name,start_date\nR1,Rita,28/02/2023\n",
            ACCOUNTS: "id,name\nA1,Acme\n",
            "opportunities.csv": OPP_HEADER + "O1,A1,10,Open,03/04/2024,\n",
        }
    )
    report = import_paths(paths, engine=engine)
    assert (
        "like the dates of the import's other files"
        in _readings(report)[("opportunities.csv", "created_date")]
    )
    assert read_opportunities(engine).loc[0, "created_date"] == pd.Timestamp("2024-04-03")


def test_semicolon_and_dotted_files_default_to_day_month(sqlite_url: str, files: Files) -> None:
    engine = open_store(sqlite_url)
    paths = files(
        {
            ACCOUNTS: "id;name\nA1;Acme\n",
            "opportunities.csv": "id;account_id;amount;stage;created_date\n"
            "O1;A1;10;Open;03/04/2024\n",
            "opps_2.csv": "id,account_id,amount,stage,created_date\nO2,A1,10,Open,03.04.2024\n",
        }
    )
    report = import_paths(paths, engine=engine)
    readings = _readings(report)
    assert "semicolon-delimited" in readings[("opportunities.csv", "created_date")]
    assert "dotted dates" in readings[("opps_2.csv", "created_date")]
    assert set(read_opportunities(engine)["created_date"]) == {pd.Timestamp("2024-04-03")}


def test_a_column_mixing_date_orders_is_rejected_with_rows(
    seeded: Engine, files: Files, snapshot: Callable[[Engine], object]
) -> None:
    before = snapshot(seeded)
    with pytest.raises(ValidationError) as caught:
        import_paths(
            files(
                {
                    "opportunities.csv": OPP_HEADER
                    + "O7,A1,1,Open,13/04/2024,\nO8,A1,1,Open,31/01/2024,\n"
                    "O9,A1,1,Open,04/13/2024,\n"
                }
            ),
            engine=seeded,
        )
    (problem,) = [p for p in caught.value.problems if p.column == "created_date"]
    assert (problem.row, problem.value) == (4, "04/13/2024")
    assert "mixes date orders" in problem.reason
    assert "row 2 '13/04/2024', row 3 '31/01/2024'" in problem.reason
    assert snapshot(seeded) == before


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("dmy", pd.Timestamp("2024-04-03")),
        ("mdy", pd.Timestamp("2024-03-04")),
        ("%d/%m/%Y", pd.Timestamp("2024-04-03")),
        ("created_date=dmy", pd.Timestamp("2024-04-03")),
        ("Created Date=%m/%d/%Y", pd.Timestamp("2024-03-04")),
    ],
)
def test_date_format_overrides_the_decision(
    sqlite_url: str, files: Files, given: str, expected: pd.Timestamp
) -> None:
    engine = open_store(sqlite_url)
    paths = files(
        {
            ACCOUNTS: "id,name\nA1,Acme\n",
            "opportunities.csv": "id,account_id,amount,stage,Created Date\n"
            "O1,A1,1,Open,03/04/2024\n",
        }
    )
    report = import_paths(paths, engine=engine, date_format=given)
    assert not [w for w in report.warnings if w.column == "Created Date"]
    assert read_opportunities(engine).loc[0, "created_date"] == expected


def test_date_format_contradicted_by_a_value_is_an_error(sqlite_url: str, files: Files) -> None:
    with pytest.raises(ValidationError) as caught:
        import_paths(
            files(_opps("O1,A1,1,Open,04/13/2024,\n")),
            engine=open_store(sqlite_url),
            date_format="dmy",
        )
    (problem,) = caught.value.problems
    assert (problem.row, problem.column) == (2, "created_date")
    assert "not a date in day/month/year order (--date-format day/month/year)" in problem.reason


@pytest.mark.parametrize(
    ("given", "message"),
    [("yesterday", "not understood"), ("%H:%M", "not a usable strptime format")],
)
def test_bad_date_formats_are_config_errors(given: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_date_format(given)


def test_date_format_for_a_column_nobody_has_is_an_error(sqlite_url: str, files: Files) -> None:
    with pytest.raises(ValidationError, match="no file of the import has a date column"):
        import_paths(
            files(_opps("O1,A1,1,Open,2024-01-02,\n")),
            engine=open_store(sqlite_url),
            date_format="Renewal Date=dmy",
        )


def test_salesforce_report_datetimes_with_am_pm(sqlite_url: str, files: Files) -> None:
    engine = open_store(sqlite_url)
    paths = files(
        {
            ACCOUNTS: "id,name\nA1,Acme\n",
            "activities.csv": "id,account_id,channel,occurred_at\n"
            'T1,A1,Call,"3/14/2024, 2:05 PM"\nT2,A1,Call,3/14/2024 12:30 AM\n',
        }
    )
    import_paths(paths, engine=engine)
    from territorial.store.records import read_activities

    times = read_activities(engine).set_index("id")["occurred_at"]
    assert times["T1"] == pd.Timestamp("2024-03-14 14:05")
    assert times["T2"] == pd.Timestamp("2024-03-14 00:30")


# --- numbers ------------------------------------------------------------------------------


def test_european_decimals_are_read_right(sqlite_url: str, files: Files) -> None:
    """A semicolon file whose column has decimals: 2,500 is 2.5, never 2500."""
    engine = open_store(sqlite_url)
    report = import_paths(
        files(
            {
                ACCOUNTS: "id;name;annual_revenue;employees;latitude;longitude\n"
                "A1;Acme;2,500;1.200;48,1372;11,5756\n"
                "A2;Beta;1,250;40;52,52;13,405\n"
                "A3;Gamma;3,75;7;50,9375;6,9603\n"
                'A4;Delta;"1.234.567,89";12;53,55;9,99\n'
            }
        ),
        engine=engine,
    )
    accounts = read_accounts(engine).set_index("id")
    assert accounts["annual_revenue"].tolist() == [2.5, 1.25, 3.75, 1234567.89]
    assert accounts["employees"].tolist() == [1200, 40, 7, 12]
    assert accounts.loc["A1", "latitude"] == pytest.approx(48.1372)
    reading = _readings(report)[(ACCOUNTS, "annual_revenue")]
    assert reading.startswith("decimal comma") and "'3,75'" in reading


def test_ambiguous_decimals_in_a_semicolon_file_are_refused(
    seeded: Engine, files: Files, snapshot: Callable[[Engine], object]
) -> None:
    before = snapshot(seeded)
    content: dict[str, str | bytes] = {
        ACCOUNTS: "id;name;annual_revenue\nA7;Acme;2,500\nA8;Beta;1,250\n"
    }
    with pytest.raises(ValidationError) as caught:
        import_paths(files(content), engine=seeded)
    rows = [(p.row, p.value) for p in caught.value.problems if p.column == "annual_revenue"]
    assert rows == [(2, "2,500"), (3, "1,250")]
    assert "--decimal comma or --decimal point" in caught.value.problems[0].reason
    assert snapshot(seeded) == before
    # Saying which fixes it.
    import_paths(files(content), engine=seeded, decimal="comma")
    revenue = read_accounts(seeded).set_index("id")["annual_revenue"]
    assert (revenue["A7"], revenue["A8"]) == (2.5, 1.25)


def test_thousands_separators_of_a_us_file_stay_thousands(sqlite_url: str, files: Files) -> None:
    engine = open_store(sqlite_url)
    import_paths(
        files({ACCOUNTS: 'id,name,annual_revenue\nA1,Acme,"2,500"\nA2,Beta,"$1,234.50"\n'}),
        engine=engine,
    )
    assert read_accounts(engine)["annual_revenue"].tolist() == [2500.0, 1234.5]


def test_a_column_mixing_decimal_marks_is_rejected(sqlite_url: str, files: Files) -> None:
    with pytest.raises(ValidationError) as caught:
        import_paths(
            files({ACCOUNTS: 'id,name,annual_revenue\nA1,Acme,"1,5"\nA2,B,2.75\nA3,C,3.25\n'}),
            engine=open_store(sqlite_url),
        )
    (problem,) = caught.value.problems
    assert (problem.row, problem.value) == (2, "1,5")
    assert "mixes decimal marks" in problem.reason and "row 3 '2.75'" in problem.reason


def test_currency_codes_in_amounts_fill_the_currency(sqlite_url: str, files: Files) -> None:
    engine = open_store(sqlite_url)
    import_paths(
        files(
            {
                ACCOUNTS: "id,name\nA1,Acme\n",
                "opportunities.csv": "id,account_id,amount,stage,created_date\n"
                'O1,A1,"USD 25,000.00",Open,2024-01-02\nO2,A1,"EUR 1,250.50",Open,2024-01-02\n',
            }
        ),
        engine=engine,
    )
    opps = read_opportunities(engine).set_index("id")
    assert (opps.loc["O1", "amount"], opps.loc["O1", "currency"]) == (25000.0, "USD")
    assert (opps.loc["O2", "amount"], opps.loc["O2", "currency"]) == (1250.5, "EUR")


def test_amount_in_another_currency_than_its_column_is_an_error(
    sqlite_url: str, files: Files
) -> None:
    with pytest.raises(ValidationError, match="another currency"):
        import_paths(
            files(
                {
                    ACCOUNTS: "id,name\nA1,Acme\n",
                    "opportunities.csv": "id,account_id,amount,currency,stage,created_date\n"
                    "O1,A1,EUR 100,USD,Open,2024-01-02\n",
                }
            ),
            engine=open_store(sqlite_url),
        )


# --- workbooks ----------------------------------------------------------------------------


def _workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def _save_formula_values(path: Path, values: dict[str, str]) -> None:
    """Give formula cells a saved value, as Excel does when it saves a workbook."""
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    for ref, value in values.items():
        start = sheet.index(f'<c r="{ref}"')
        end = sheet.index("</c>", start)
        sheet = sheet[:start] + sheet[start:end].replace("<v />", f"<v>{value}</v>") + sheet[end:]
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)


def test_formula_cells_without_values_are_refused(sqlite_url: str, tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "accounts.xlsx",
        {"Accounts": [["id", "name", "employees"], ["A1", "Acme", "=C3*2"], ["A2", "Beta", 12]]},
    )
    with pytest.raises(ValidationError) as caught:
        import_paths([path], engine=open_store(sqlite_url))
    (problem,) = caught.value.problems
    assert (problem.row, problem.column, problem.value) == (2, "employees", "=C3*2")
    assert "cell C2 holds a formula with no saved value" in problem.reason
    # Once Excel has computed and saved the formula, the value is read.
    _save_formula_values(path, {"C2": "24"})
    engine = open_store(sqlite_url)
    import_paths([path], engine=engine)
    assert read_accounts(engine)["employees"].tolist() == [24, 12]


def test_excel_error_cells_are_refused(sqlite_url: str, tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "accounts.xlsx", {"A": [["id", "name", "annual_revenue"], ["A1", "Acme", 5]]}
    )
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    sheet = sheet.replace(
        '<c r="C2" t="n"><v>5</v></c>', '<c r="C2" t="e"><f>1/0</f><v>#DIV/0!</v></c>'
    )
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)
    with pytest.raises(ValidationError) as caught:
        import_paths([path], engine=open_store(sqlite_url))
    (problem,) = caught.value.problems
    assert (problem.row, problem.column, problem.value) == (2, "annual_revenue", "#DIV/0!")


def test_two_columns_read_as_one_are_refused(sqlite_url: str, tmp_path: Path) -> None:
    """``Name`` and ``Account Name`` both read as the name: which one is meant?"""
    path = _workbook(
        tmp_path / "accounts.xlsx",
        {"Sheet1": [["id", "name", "Name"], ["A1", "Acme", "Other"]]},
    )
    with pytest.raises(ValidationError) as caught:
        import_paths([path], engine=open_store(sqlite_url))
    (problem,) = caught.value.problems
    assert (problem.row, problem.column) == (1, "Name")
    assert "columns 'name' and 'Name' both read as name" in problem.reason


def test_exact_duplicate_xlsx_headers_are_refused(sqlite_url: str, tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "accounts.xlsx", {"Sheet1": [["id", "name", "name"], ["A1", "Acme", "Other"]]}
    )
    with pytest.raises(ValidationError) as caught:
        import_paths([path], engine=open_store(sqlite_url))
    (problem,) = caught.value.problems
    assert problem.reason == "the header names column 'name' twice (columns 2 and 3)"


def test_data_on_the_second_sheet_is_found(sqlite_url: str, tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "crm.xlsx",
        {
            "Summary": [["Report", "Q3 accounts"], ["Total", 2]],
            "Accounts": [
                ["Account ID", "Account Name", "Industry"],
                ["A1", "Acme", "Software"],
                [None, None, None],
                ["A2", "Beta", "Retail"],
            ],
        },
    )
    engine = open_store(sqlite_url)
    with pytest.raises(ValidationError) as caught:
        import_paths([path], engine=engine, kind="accounts")
    assert any(
        "sheet 'Summary' (read by default) lacks the accounts columns, but sheet 'Accounts' "
        "has them: import again with --sheet 'Accounts'" in p.reason
        for p in caught.value.problems
    )
    with pytest.raises(ValidationError, match=r"sheet 'Accounts' holds accounts \(--sheet"):
        import_paths([path], engine=engine)  # the kind from the columns: points at the sheet
    report = import_paths([path], engine=engine, sheet="Accounts")
    assert report.files[0].sheet == "Accounts"
    assert read_accounts(engine)["id"].tolist() == ["A1", "A2"]


def test_sheet_option_errors(sqlite_url: str, tmp_path: Path, files: Files) -> None:
    path = _workbook(tmp_path / "accounts.xlsx", {"Data": [["id", "name"], ["A1", "Acme"]]})
    engine = open_store(sqlite_url)
    with pytest.raises(
        ValidationError, match="the workbook has no sheet 'Nope'; its sheets: 'Data'"
    ):
        import_paths([path], engine=engine, sheet="Nope")
    with pytest.raises(ConfigError, match="--sheet picks a worksheet"):
        import_paths(files({ACCOUNTS: "id,name\nA1,Acme\n"}), engine=engine, sheet="Data")


# --- Salesforce report labels, owners by name, the report footer --------------------------


def test_salesforce_report_labels_are_recognised(sqlite_url: str, tmp_path: Path) -> None:
    engine = open_store(sqlite_url)
    folder = tmp_path / "sf"
    shutil.copytree(FIXTURES / "salesforce", folder)
    report = import_paths([folder / "users.csv", folder / "report1712345678.csv"], engine=engine)
    assert report.warnings and all("Not For Profit" in str(w) for w in report.warnings)
    accounts = read_accounts(engine).set_index("id")
    acme = accounts.loc["0015g00000AAAAA"]
    # Billing Zip/Postal Code and Billing State/Province: located, not "unlocated".
    assert (acme["postal_code"], acme["state"], acme["city"]) == ("02139", "MA", "Cambridge")
    assert acme["geocode_source"] == "postal_code" and acme["latitude"] == pytest.approx(
        42.36, abs=0.02
    )
    assert (acme["employees"], acme["annual_revenue"], acme["currency"]) == (1200, 5e6, "USD")
    assert acme["owner_id"] == "0055g00000RRRR1"  # "Rita Rep" matched to her id
    assert acme["type"] == "Customer - Direct"
    assert acme["industry"] == "Software"
    assert acme["attributes"] == {
        "Rating": "Hot", "Phone": "(617) 555-0100", "Account Source": "Web",
        "Industry": "Technology",
    }  # fmt: skip
    readings = _readings(report)
    assert "rows name 2 reps by name" in readings[("report1712345678.csv", "Account Owner")]
    assert any("Salesforce report footer" in r.reading for r in report.readings)
    reps = read_reps(engine).set_index("id")
    assert reps.loc["0055g00000RRRR1", "manager_id"] == "0055g00000RRRR3"
    assert reps.loc["0055g00000RRRR1", "home_postal_code"] == "02110"


def test_an_owner_name_shared_by_two_reps_is_an_error(sqlite_url: str, files: Files) -> None:
    paths = files(
        {
            "reps.csv": "id,name\nR1,Pat Lee\nR2,Pat Lee\nR3,Sam\n",
            ACCOUNTS: "Account ID,Account Name,Account Owner\nA1,Acme,Pat Lee\nA2,Beta,sam\n",
        }
    )
    with pytest.raises(ValidationError) as caught:
        import_paths(paths, engine=open_store(sqlite_url))
    (problem,) = caught.value.problems
    assert (problem.file, problem.row, problem.column) == (ACCOUNTS, 2, "Account Owner")
    assert "'Pat Lee' is the name of 2 reps (R1, R2)" in problem.reason


def test_a_ragged_row_before_a_footer_is_still_an_error(sqlite_url: str, files: Files) -> None:
    content = (
        '"Account ID","Account Name"\n"A1","Acme"\n"A2"\n""\n'
        '"Confidential Information - Do Not Distribute"\n'
    )
    with pytest.raises(ValidationError) as caught:
        import_paths(files({ACCOUNTS: content}), engine=open_store(sqlite_url))
    assert [p.row for p in caught.value.problems] == [3]
