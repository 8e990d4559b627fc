"""The trajectory viewer: real rollout runs to one static page, bad input, hostile text, a real browser."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

import agents
from agents.rollout import RolloutConfig, run_rollout, write_rollout
from agents.viewer import NOT_LOGGED, ViewerError, build_view, load_run, render_html, write_view
from customer_env.data.spec import StoreSpec

HOSTILE = '</pre></script><script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
#: Breaks out of a double-quoted attribute (the step's data attributes carry action and click types).
HOSTILE_ATTRIBUTE = '" onmouseover="window.__pwned = 3" data-x="'


@pytest.fixture(scope="module")
def runs(small_store, small_store_dir, tmp_path_factory):
    """Two real runs over overlapping sessions: frequency on sessions 0-2, random on sessions 1-3."""
    ids = small_store.session_ids[:4]
    out = tmp_path_factory.mktemp("viewer_runs")
    made = {}
    for name, sessions in (("frequency", ids[:3]), ("random", ids[1:4])):
        cfg = RolloutConfig(data=StoreSpec(source=str(small_store_dir), split="train"), sessions=list(sessions),
                            n_bootstrap=20)
        agent = agents.make(name, store=small_store) if name == "frequency" else agents.make(name, seed=1)
        result = run_rollout(agent, cfg, store=small_store, train_store=small_store, progress=False)
        result.info["agent_name"] = name
        write_rollout(result, out / name)
        made[name] = out / name
    return made


def samples_of(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]


def write_samples(run_dir: Path, samples, *, raw_lines: tuple[bytes, ...] = ()) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(s) + "\n" for s in samples).encode() + b"".join(line + b"\n" for line in raw_lines)
    (run_dir / "samples.jsonl").write_bytes(text)
    return run_dir


def test_one_run_shows_every_step_and_each_sessions_accuracy(runs):
    samples = samples_of(runs["frequency"])
    view = build_view([load_run(runs["frequency"])])
    assert len(view.steps) == len(samples) and view.runs[0].label == "frequency"
    sessions = {s["session_id"] for s in samples}
    assert [row.session_id for row in view.sessions] == list(dict.fromkeys(s["session_id"] for s in samples))
    for row in view.sessions:
        mine = [s for s in samples if s["session_id"] == row.session_id]
        assert row.accuracy[0] == (sum(s["correct"] for s in mine), len(mine)) and len(row.steps) == len(mine)
    page = BeautifulSoup(render_html(view), "html.parser")
    assert len(page.select("article.step")) == len(samples)
    assert len(page.select("#sessions tbody tr")) == len(sessions)
    first = page.select_one("article.step")
    gold = samples[0]["gold"]
    assert first["data-type-gold"] == gold["type"] and first["data-correct-0"] in ("correct", "wrong")
    assert gold["name"] in first.select_one(".gold").get_text()
    assert samples[0]["predicted"]["name"] in first.select_one(".run").get_text()
    # Today's samples log neither the prompt nor the page nor the persona's text: the page says so.
    assert f"prompt {NOT_LOGGED}" in first.get_text() and f"page {NOT_LOGGED}" in first.get_text()
    assert f"persona text {NOT_LOGGED}" in page.select_one("section.session").get_text()
    # The run's provenance comes from results.json.
    assert "exact match (results.json)" in page.select_one(".run-card").get_text()


def test_two_runs_align_by_session_and_step_and_count_the_unmatched(runs):
    a, b = samples_of(runs["frequency"]), samples_of(runs["random"])
    view = build_view([load_run(runs["frequency"]), load_run(runs["random"])])
    keys_a = {(s["session_id"], s["step_index"]) for s in a}
    keys_b = {(s["session_id"], s["step_index"]) for s in b}
    assert len(view.steps) == len(keys_a | keys_b)
    assert view.only_in == [len(keys_a - keys_b), len(keys_b - keys_a)] and all(view.only_in)
    assert view.gold_differs == 0  # the same recorded sessions
    shared = next(s for s in view.steps if all(s.cells))
    sample_b = next(s for s in b if s["step_index"] == shared.step_index
                    and s["session_id"] == view.sessions[shared.session - 1].session_id)
    assert shared.cells[1].line == b.index(sample_b) + 1
    text = BeautifulSoup(render_html(view), "html.parser").select_one("#alignment").get_text(" ", strip=True)
    assert f"{view.only_in[0]} only in frequency" in text and f"{view.only_in[1]} only in random" in text


def test_logged_prompt_page_persona_and_unknown_keys_are_shown(tmp_path):
    messages = [{"role": "system", "content": "You simulate a shopper."}, {"role": "user", "content": "PAGE"}]
    samples = [
        {"session_id": "s1", "step_index": 0, "prompt": messages, "prompt_sha256": "ab" * 32,
         "observation": {"persona": "Loves tea, 34, Boston.", "page": '<div name="buy">Buy</div>'},
         "grounding": {"target_on_page": True}, "gold": {"type": "click", "name": "buy", "click_type": "purchase"}},
        {"session_id": "s1", "step_index": 1, "prompt": "x" * 50, "page": "y" * 50},  # nothing else at all
    ]
    view = build_view([load_run(write_samples(tmp_path / "run", samples))], max_text_chars=30)
    page = BeautifulSoup(render_html(view), "html.parser")
    first, second = page.select("article.step")
    assert "You simulate a shopper." in first.select_one("details.prompt").get_text()
    assert '<div name="buy">Buy</div>' in first.select_one("details.page").get_text()  # as text
    assert "ab" * 32 in first.get_text()
    assert "Loves tea, 34, Boston." in page.select_one("details.persona").get_text()
    extras = first.select_one("details.extras").get_text()
    assert "grounding" in extras and "target_on_page" in extras  # a key the viewer does not know
    # Cut long texts say how much is missing and where the whole text is.
    assert "20 more characters not shown (whole text: samples line 2)" in second.select_one("details.page").get_text()
    assert second["data-type-gold"] == "unknown" and second["data-correct-0"] == "unscored"
    assert f"completion {NOT_LOGGED}" in second.get_text()


def test_two_runs_share_equal_prompts_and_flag_a_different_human_action(tmp_path):
    gold = {"type": "click", "name": "buy", "click_type": "purchase"}
    a = [{"session_id": "s", "step_index": 0, "prompt": "P0", "page": "G0", "gold": gold},
         {"session_id": "s", "step_index": 1, "prompt": "P1", "page": "G1", "gold": gold}]
    b = [{**a[0]}, {**a[1], "page": "other page", "gold": {**gold, "name": "sell"}}]
    view = build_view([load_run(write_samples(tmp_path / "a", a)), load_run(write_samples(tmp_path / "b", b))])
    first, second = view.steps
    assert first.cells[1].same_prompt_as == "a" and first.cells[1].same_page_as == "a"
    assert second.cells[1].same_prompt_as == "a" and second.cells[1].same_page_as is None
    assert second.cells[1].page.text == "other page"
    assert (view.gold_differs, first.gold_differs, second.gold_differs) == (1, False, True)
    page = BeautifulSoup(render_html(view), "html.parser")
    assert "1 steps whose human action differs" in page.select_one("#alignment").get_text(" ")
    assert "human action differs between runs" in page.select("article.step")[1].get_text()


def test_hostile_text_stays_text(tmp_path):
    sample = {"session_id": f"s{HOSTILE}", "step_index": 0, "completion": HOSTILE, "predicted_rationale": HOSTILE,
              "predicted": {"type": HOSTILE_ATTRIBUTE, "name": HOSTILE}, "human_rationale": HOSTILE,
              "gold": {"type": HOSTILE_ATTRIBUTE, "name": HOSTILE, "click_type": HOSTILE_ATTRIBUTE},
              "reward_components": {HOSTILE: HOSTILE}, "persona": HOSTILE, "prompt": HOSTILE, "page": HOSTILE,
              HOSTILE: HOSTILE}
    html = render_html(build_view([load_run(write_samples(tmp_path / "run", [sample]), label=HOSTILE)]))
    assert HOSTILE not in html and HOSTILE_ATTRIBUTE not in html
    page = BeautifulSoup(html, "html.parser")
    assert len(page.find_all("script")) == 1 and not page.find_all("img")
    assert not page.find_all(attrs={"onerror": True}) and not page.find_all(attrs={"onmouseover": True})
    step = page.select_one("article.step")
    assert step["data-type-gold"] == HOSTILE_ATTRIBUTE  # the value survives, inside its attribute
    assert HOSTILE in step.select_one(".gold").get_text() and HOSTILE in step.select_one(".why").get_text()


def test_the_page_needs_no_network_and_runs_only_its_own_script(runs):
    import base64
    import hashlib

    html = render_html(build_view([load_run(runs["frequency"])]))
    page = BeautifulSoup(html, "html.parser")
    policy = page.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"]
    assert "default-src 'none'" in policy
    script = page.find("script").string
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy
    assert not page.find_all(src=True) and not page.find_all("link")
    assert all(a["href"].startswith("#") for a in page.find_all("a", href=True))


@pytest.mark.parametrize("problem, expected", [
    (b"{not json", r"samples\.jsonl:3: not JSON"),
    (b"[1, 2]", r"samples\.jsonl:3: a JSON list, not an object"),
    (b'{"step_index": 0}', r"samples\.jsonl:3: field session_id"),
    (b'{"session_id": "s", "step_index": "1"}', r"samples\.jsonl:3: field step_index"),
    (b'{"session_id": "s", "step_index": 0}', r"samples\.jsonl:3: step 0 of session 's' repeats line 1"),
    (b'{"session_id": "\xff", "step_index": 5}', r"samples\.jsonl:3: not UTF-8"),
])
def test_a_bad_sample_line_is_named_or_counted(tmp_path, problem, expected):
    run = write_samples(tmp_path / "run", [{"session_id": "s", "step_index": i} for i in range(2)],
                        raw_lines=(problem,))
    with pytest.raises(ViewerError, match=expected):
        load_run(run)
    skipping = load_run(run, skip_bad=True)
    assert len(skipping.samples) == 2 and sum(skipping.skipped.values()) == 1
    header = build_view([skipping]).runs[0]
    assert any("1 sample lines skipped" in note for note in header.notes)


def test_missing_or_unreadable_run_files(tmp_path, runs):
    with pytest.raises(ViewerError, match="no such run directory"):
        load_run(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ViewerError, match=r"empty/samples\.jsonl: not found"):
        load_run(tmp_path / "empty")
    compare_out = tmp_path / "cmp"
    for name in ("frequency", "random"):
        shutil.copytree(runs[name], compare_out / name)
    with pytest.raises(ViewerError, match="compare output folder.*frequency, random"):
        load_run(compare_out)
    assert load_run(compare_out / "random").label == "random"  # its run directories load
    (compare_out / "random" / "results.json").write_text("{oops")
    with pytest.raises(ViewerError, match=r"random/results\.json: not a JSON object"):
        load_run(compare_out / "random")
    assert load_run(compare_out / "random", skip_bad=True).results == {}
    blank = write_samples(tmp_path / "blank", [])
    with pytest.raises(ViewerError, match="no samples"):
        load_run(blank)
    only_samples = load_run(write_samples(tmp_path / "bare", [{"session_id": "s", "step_index": 0}]))
    assert only_samples.label == "bare" and "results.json not found" in only_samples.notes[0]


def test_results_that_disagree_with_the_samples_are_refused_or_noted(tmp_path, runs):
    run = tmp_path / "run"
    shutil.copytree(runs["frequency"], run)
    lines = (run / "samples.jsonl").read_text().splitlines()
    (run / "samples.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    # results.json records the hash of the samples it was computed from: a cut pair is detected.
    with pytest.raises(ViewerError, match=r"samples\.jsonl: sha256 .* differs from the .* that results\.json records"):
        load_run(run)
    notes = load_run(run, skip_bad=True).notes
    assert "differs from the" in notes[0]
    assert notes[1] == f"results.json counts {len(lines)} steps, samples.jsonl has {len(lines) - 1}"
    # A results file written before the hash was recorded cannot be checked, and says so.
    results = json.loads((run / "results.json").read_text())
    del results["samples_sha256"]
    (run / "results.json").write_text(json.dumps(results))
    assert "records no samples_sha256" in load_run(run).notes[0]


def test_two_runs_of_one_agent_get_distinct_labels(runs, tmp_path):
    shutil.copytree(runs["frequency"], tmp_path / "again")
    view = build_view([load_run(runs["frequency"]), load_run(tmp_path / "again")])
    assert [r.label for r in view.runs] == ["frequency (frequency)", "frequency (again)"]
    assert view.only_in == [0, 0] and all(all(step.cells) for step in view.steps)
    assert view.steps[0].cells[1].same_page_as is None  # no page logged: nothing to share


# -- in a real browser ------------------------------------------------------------------------------------

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1400,1800")


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def browser(tmp_path):
    """Debian's chromium driven through chromedriver, with the page's console log kept."""
    binary = chromium_binary()
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium chromium-driver; .ci/run does)")
    driver_path = shutil.which("chromedriver")
    assert driver_path, "chromium is installed but chromedriver is not: apt-get install -y chromium-driver"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver and binary: Selenium Manager (which would download them) is not used.
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        yield driver
    finally:
        driver.quit()


def shown(driver) -> tuple[int, int]:
    """(visible step articles, the page's own count of shown steps)."""
    return tuple(driver.execute_script(
        "return [document.querySelectorAll('article.step:not([hidden])').length,"
        " Number(document.getElementById('shown').textContent)]"))


@pytest.mark.slow
def test_the_page_in_headless_chromium(runs, tmp_path, browser):
    from selenium.webdriver.support.select import Select

    # A real run, with a model's answer that tries to inject a script into the page.
    hostile = tmp_path / "random"
    shutil.copytree(runs["random"], hostile)
    b = samples_of(hostile)
    b[0]["completion"] = b[0]["predicted_rationale"] = HOSTILE
    write_samples(hostile, b)
    a = samples_of(runs["frequency"])
    # The edited samples no longer match results.json's hash: shown anyway, with a note.
    view = build_view([load_run(runs["frequency"]), load_run(hostile, skip_bad=True)])
    out = write_view(view, tmp_path / "view.html")
    browser.get(out.as_uri())
    aligned = len({(s["session_id"], s["step_index"]) for s in a + b})
    assert shown(browser) == (aligned, aligned) == (len(view.steps), len(view.steps))
    assert browser.execute_script("return window.__pwned") is None
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == []

    # Filters: correctness of the first run, then the human's action type, then the runs' disagreement.
    Select(browser.find_element("id", "f-correct")).select_by_value("0:correct")
    assert shown(browser) == (sum(s["correct"] for s in a),) * 2
    Select(browser.find_element("id", "f-correct")).select_by_value("")
    Select(browser.find_element("id", "f-type")).select_by_value("click")
    clicks = sum(1 for s in view.steps if s.gold_type == "click")
    assert shown(browser) == (clicks, clicks) and 0 < clicks < aligned
    Select(browser.find_element("id", "f-of")).select_by_value("1")  # ... of the second run's predictions
    assert shown(browser)[0] == sum(1 for s in b if s["predicted"] and s["predicted"]["type"] == "click")
    Select(browser.find_element("id", "f-type")).select_by_value("")
    Select(browser.find_element("id", "f-correct")).select_by_value("absent")
    assert shown(browser)[0] == sum(view.only_in)
    Select(browser.find_element("id", "f-correct")).select_by_value("")
    Select(browser.find_element("id", "f-of")).select_by_value("gold")
    assert shown(browser) == (aligned, aligned)

    # Collapsed texts open on demand; the hostile answer is shown as the text it is.
    step = browser.find_element("css selector", "article.step[data-correct-1]:not([data-correct-1='absent'])")
    browser.find_element("id", "expand").click()
    assert browser.execute_script("return document.querySelectorAll('main details[open]').length") > 0
    assert HOSTILE in browser.find_element("css selector", "body").text
    assert step.is_displayed()
    browser.find_element("id", "collapse").click()
    browser.execute_script("window.scrollTo(0, 0)")
    shot = tmp_path / "viewer.png"
    assert browser.save_screenshot(str(shot)) and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert browser.get_log("browser") == []
    assert re.fullmatch(r"\d+", browser.find_element("id", "total").text)


def test_a_lone_surrogate_in_a_completion_is_shown_as_its_escape(tmp_path):
    # A model can write half an emoji; the rollout's samples file keeps it as the JSON escape.
    sample = {"session_id": "s1", "step_index": 0, "completion": '{"rationale": "\\ud83d", "action": 1}',
              "predicted_rationale": "\ud83d", "gold": {"type": "terminate"}}
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "samples.jsonl").write_text(json.dumps(sample) + "\n", encoding="utf-8")
    out = write_view(build_view([load_run(run_dir)]), tmp_path / "view.html")
    page = out.read_text(encoding="utf-8")
    assert "\\ud83d" in page


def test_a_live_shop_simulation_names_its_gold_the_reference_shoppers_action(tmp_path):
    gold = {"type": "click", "name": "buy", "click_type": "purchase"}
    samples = [{"session_id": "s", "step_index": 0, "prompt": "P0", "page": "G0", "gold": gold}]
    replay, simulation = write_samples(tmp_path / "replay", samples), write_samples(tmp_path / "simulation", samples)
    # What examples/simulate.py writes beside its samples: the episodes' block says it is no replay.
    (simulation / "results.json").write_text(json.dumps({"agent_name": "random", "simulation": {"episodes": 1}}))
    assert build_view([load_run(replay)]).gold_label == "Human"
    view = build_view([load_run(simulation)])
    assert view.gold_label == "Reference shopper (most likely)"
    page = BeautifulSoup(render_html(view), "html.parser")
    assert page.select_one("article.step h4").get_text() == "Reference shopper (most likely)"
    assert "Human" not in [h.get_text() for h in page.select("article.step h4")]
