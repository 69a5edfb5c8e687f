"""``[assessment]`` in the project file: the defaults and the plan's sentences they come from,
settings read through ``load_project``, and one-line errors naming the key at fault."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from conftest import PROJECT_TOML
from coverage.io.assessment import DEFAULTS, INDICATOR_NAMES, default_assessment
from coverage.io.project import PROJECT_FILE, TEMPLATE, ProjectError, load_project

DOCS = Path(__file__).resolve().parents[2] / "docs" / "assessment.md"


def _project(folder: Path, extra: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / PROJECT_FILE).write_text(PROJECT_TOML + extra, encoding="utf-8")
    return folder


def test_without_assessment_a_project_has_the_documented_defaults(tmp_path: Path) -> None:
    project = load_project(_project(tmp_path, ""))
    assert project.assessment == default_assessment()
    assert tuple(s.name for s in project.assessment.indicators) == INDICATOR_NAMES
    assert project.assessment["coverage"].target == 1.0
    assert project.assessment["policy_awareness"].target is None  # the run's [parameters.targets]
    assert project.assessment["funding"].rule == "threshold"


def test_every_default_is_documented_with_the_plan_sentence_it_comes_from() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for name, default in DEFAULTS.items():
        assert f"`{name}`" in text, name
        assert default.plan in text, name


def test_settings_given_replace_the_defaults_of_their_indicator_only(tmp_path: Path) -> None:
    project = load_project(_project(tmp_path, """
[assessment.indicators.staffing]
weight = 25
rule = "threshold"

[assessment.indicators.coverage]
target = 0.95
threshold_min = 10
"""))
    staffing, coverage = project.assessment["staffing"], project.assessment["coverage"]
    assert (staffing.weight, staffing.rule, staffing.tolerance) == (25.0, "threshold", None)
    assert (coverage.target, coverage.threshold_min, coverage.rule) == (0.95, 10.0, "ratio")
    assert project.assessment["migrant_gap"] == default_assessment()["migrant_gap"]


def test_the_template_shows_the_defaults_of_assessment(tmp_path: Path) -> None:
    lines = [line.removeprefix("# ") for line in TEMPLATE.splitlines()
             if line.startswith(("# [assessment", "# weight", "# rule", "# tolerance",
                                 "# target"))]
    section = "\n".join(lines)
    assert "[assessment.indicators." in section
    given = tomllib.loads(section)["assessment"]["indicators"]
    assert {"coverage", "staffing"} <= set(given)
    # uncommented, the example changes nothing: its values are the defaults
    project = load_project(_project(tmp_path, "\n" + section + "\n"))
    assert project.assessment == default_assessment()


@pytest.mark.parametrize(("extra", "words"), [
    ("[assessment]\nweights = 1\n", "[assessment]: unknown key 'weights'"),
    ("[assessment.indicators.stafing]\nweight = 1\n",
     "[assessment.indicators]: unknown key 'stafing'; did you mean 'staffing'?"),
    ("[assessment.indicators.staffing]\nwieght = 3\n",
     "[assessment.indicators.staffing]: unknown key 'wieght'; did you mean 'weight'?"),
    ("[assessment.indicators.staffing]\nrule = \"ratio\"\n",
     "[assessment.indicators.staffing] rule: \"ratio\" scores a share"),
    ("[assessment.indicators.policy_awareness]\nrule = \"gap\"\n",
     "[assessment.indicators.policy_awareness]: rule \"gap\" needs a tolerance"),
    ("[assessment.indicators.coverage]\nrule = \"linear\"\n",
     "[assessment.indicators.coverage] rule: 'linear' is not a rule"),
    ("[assessment.indicators.coverage]\ntarget = 95\n",
     "[assessment.indicators.coverage] target: 95 is a share and must be ≤ 1"),
    ("[assessment.indicators.coverage]\nthreshold_min = 20\n",
     "[assessment.indicators.coverage] threshold_min: 20 is not one of the thresholds"),
    ("[assessment.indicators.funding]\nthreshold_min = 15\n",
     "[assessment.indicators.funding]: unknown key 'threshold_min'"),
    ("[assessment.indicators.funding]\nweight = -1\n",
     "[assessment.indicators.funding] weight: -1 must be ≥ 0"),
    ("[assessment.indicators.funding]\nweight = true\n",
     "[assessment.indicators.funding] weight: True is not a number"),
])
def test_a_bad_setting_is_a_one_line_error_naming_the_key(tmp_path: Path, extra: str,
                                                          words: str) -> None:
    with pytest.raises(ProjectError) as info:
        load_project(_project(tmp_path, "\n" + extra))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{PROJECT_FILE}: ")
    assert words in message


def test_every_weight_zero_is_refused(tmp_path: Path) -> None:
    extra = "".join(f"\n[assessment.indicators.{name}]\nweight = 0\n" for name in DEFAULTS)
    with pytest.raises(ProjectError, match="every weight is 0"):
        load_project(_project(tmp_path, extra))


def test_the_documented_example_parses(tmp_path: Path) -> None:
    text = DOCS.read_text(encoding="utf-8")
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    project = load_project(_project(tmp_path, "\n" + example))
    assert project.assessment["coverage"].weight == 20.0
    assert project.assessment["coverage"].threshold_min == 10.0
    assert project.assessment["policy_awareness"].tolerance == 0.1
    assert project.assessment["funding"].weight == 0.0
