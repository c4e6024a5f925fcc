"""The checked-in schema files are what the models generate now."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas import export


def test_checked_in_files_are_up_to_date() -> None:
    assert export.stale() == [], "run: python -m schemas.export"


def test_generation_is_deterministic() -> None:
    assert export.generated() == export.generated()


def test_files_are_sorted_two_space_json_with_a_trailing_newline() -> None:
    for path, text in export.generated().items():
        assert text.endswith("}\n") and not text.endswith("\n\n")
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n", path


def test_check_lists_stale_files_and_write_fixes_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert export.main(["--check"], root=tmp_path) == 1
    assert "sedex-event.v1.json" in capsys.readouterr().err
    assert export.main([], root=tmp_path) == 0
    assert export.main(["--check"], root=tmp_path) == 0
    (tmp_path / "jsonschema" / "amfori-event.v1.json").write_text("{}\n", encoding="utf-8")
    assert export.main(["--check"], root=tmp_path) == 1
    err = capsys.readouterr().err
    assert "amfori-event.v1.json" in err and "sedex-event.v1.json" not in err


def test_schemas_state_the_strict_wire_rules() -> None:
    sedex = export.GENERATORS["jsonschema/sedex-event.v1.json"]()
    assert sedex["discriminator"]["propertyName"] == "eventType"
    assert sedex["$defs"]["AuditPublished"]["properties"]["schemaVersion"] == {"const": 1, "type": "integer"}
    assert sedex["$defs"]["ConsentChanged"]["properties"]["siteRef"]["not"] == {}
    amfori = export.GENERATORS["jsonschema/amfori-event.v1.json"]()
    assert amfori["discriminator"]["propertyName"] == "type"
    assert amfori["$defs"]["PerformanceArea"]["properties"]["pa"] == {
        "maximum": 13,
        "minimum": 1,
        "type": "integer",
    }
