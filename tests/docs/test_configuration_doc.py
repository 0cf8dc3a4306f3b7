"""docs/configuration.md is the settings class, generated: never a hand-kept copy."""

from __future__ import annotations

from fx_assets.core.settings import Settings, configuration_doc, env_name
from tests.support import ROOT

PAGE = ROOT / "docs" / "configuration.md"


def test_the_configuration_page_is_generated_from_the_settings_class() -> None:
    assert PAGE.read_text() == configuration_doc(), (
        "docs/configuration.md is out of date with fx_assets/core/settings.py; regenerate it: "
        "python -m fx_assets.core.settings > docs/configuration.md"
    )


def test_every_variable_has_a_row_with_its_description() -> None:
    page = configuration_doc()
    for field, info in Settings.model_fields.items():
        assert info.description, f"{field} has no description for docs/configuration.md"
        assert f"| `{env_name(field)}` |" in page
