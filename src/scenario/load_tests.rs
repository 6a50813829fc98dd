//! Loading errors: every misspelt kind, field or value names file, line and field, with the
//! allowed values.

use super::*;
use crate::scenario::DEFAULT_PASSWORD;
use crate::scenario::citation::{Doc, Docs};
use crate::server::FaultTrigger;

fn docs() -> Docs {
    Docs {
        guide: Doc::new(
            "docs/webim-message-guide.md",
            "# Message\nSend text messages\nonTextMessage fires\nthe end\n",
        ),
        wire: Doc::new(
            "docs/wire-3.6.3.md",
            "intro\n## 4. Message types\nroutetype here\n",
        ),
        wire4: None,
    }
}

fn load(text: &str) -> Result<Scenario, LoadError> {
    load_str_with(
        "area/name",
        Path::new("scenarios/area/name.toml"),
        text,
        &docs(),
    )
}

fn err(text: &str) -> String {
    load(text).unwrap_err().to_string()
}

const HEAD: &str = "purpose = \"p\"\nguide = [{ lines = \"2\", quote = \"Send text\" }]\n[world.users]\nalice = {}\n";

fn with_step(step: &str) -> String {
    format!("{HEAD}[[step]]\nconnect = \"alice\"\n\n[[step]]\n{step}\n")
}

#[test]
fn a_minimal_scenario_loads() {
    let s = load(&format!(
        "{HEAD}[[step]]\nconnect = \"alice\"\n\n[[step]]\ndisconnect = \"alice\"\n"
    ))
    .unwrap();
    assert_eq!(s.steps.len(), 2);
    assert_eq!((s.steps[0].line, s.steps[1].line), (5, 8));
    assert_eq!(s.world.users["alice"].password, DEFAULT_PASSWORD);
    assert_eq!(s.steps[0].kind, StepKind::Connect);
    assert_eq!(s.citations.guide[0].line, 2);
    assert_eq!(s.guide_summary(), "guide L2 \"Send text\"");
}

#[test]
fn groups_rooms_and_rules_load() {
    let s = load(&format!(
        "{HEAD}bob = {{ blocks = [\"alice\"] }}\n[world]\nsensitive_words = [\"x\"]\nrecall_window_s = 5\n\
         [world.groups.g1]\nowner = \"alice\"\nmembers = [\"bob\"]\n\
         [world.rooms.r1]\nowner = \"bob\"\nwhite_list = [\"alice\"]\n\
         [[step]]\nconnect = \"alice\"\n"
    ))
    .unwrap();
    assert_eq!(s.world.users["bob"].blocks, ["alice"]);
    assert!(s.world.groups["g1"].has_member("bob"));
    assert_eq!(s.world.rooms["r1"].white_list, Some(vec!["alice".into()]));
    assert_eq!(
        (s.world.recall_window_ms, s.world.recall_enabled),
        (5000, true)
    );
    let e = err(&format!(
        "{HEAD}[world.groups.g1]\nowner = \"alice\"\nmembers = [\"zed\"]\n[[step]]\nconnect = \"alice\"\n"
    ));
    assert!(e.contains("world.groups.g1 names `zed`"), "{e}");
}

#[test]
fn an_unknown_user_names_file_line_and_the_known_users() {
    assert_eq!(
        err(&format!("{HEAD}[[step]]\nconnect = \"bob\"\n")),
        "scenarios/area/name.toml:5: step 1: user `bob` is not in [world.users] (known: alice)"
    );
}

#[test]
fn a_misspelt_step_kind_lists_every_kind() {
    let e = err(&format!("{HEAD}[[step]]\nconect = \"alice\"\n"));
    assert!(
        e.starts_with("scenarios/area/name.toml:5: step 1: unknown field `conect`"),
        "{e}"
    );
    for kind in StepKind::NAMES {
        assert!(e.contains(&format!("`{kind}`")), "{kind} missing: {e}");
    }
}

#[test]
fn a_misspelt_field_names_the_step_kind_and_its_fields() {
    let e = err(&with_step(
        "fault = { user = \"alice\", onn = \"message\", action = \"drop\" }",
    ));
    assert!(
        e.starts_with("scenarios/area/name.toml:9: step 2: `fault`: unknown field `onn`"),
        "{e}"
    );
    assert!(e.contains("`on`") && e.contains("`action`"), "{e}");
    let e = err(&with_step(
        "event = { user = \"alice\", nme = \"onOpened\" }",
    ));
    assert!(
        e.contains(
            ":9: step 2: `event`: unknown field `nme`, expected one of `user`, `name`, `data`"
        ),
        "{e}"
    );
}

#[test]
fn a_misspelt_fault_on_or_action_lists_the_allowed_values() {
    let e = err(&with_step(
        "fault = { user = \"alice\", on = \"mesage\", action = \"drop\" }",
    ));
    assert!(
        e.starts_with("scenarios/area/name.toml:9: step 2: `fault.on`: unknown variant `mesage`"),
        "{e}"
    );
    assert!(
        e.contains("`provision`, `unread`, `message`, `history`, `upload`, `download`"),
        "{e}"
    );
    let e = err(&with_step(
        "fault = { on = \"message\", action = \"stat\", code = 1 }",
    ));
    assert!(e.contains("`fault.action`: unknown variant `stat`"), "{e}");
    assert!(e.contains("`status`, `drop`, `delay`, `close`"), "{e}");
}

#[test]
fn a_misspelt_kick_operation_lists_the_statistics_operations() {
    let e = err(&with_step(
        "kick = { user = \"alice\", operation = \"USER_LOGIN_OTHER_DEVICE\" }",
    ));
    assert!(
        e.starts_with("scenarios/area/name.toml:9: step 2: `kick.operation`: unknown StatisticsBody.Operation `USER_LOGIN_OTHER_DEVICE`"),
        "{e}"
    );
    assert!(e.contains("USER_REMOVED, USER_LOGIN_ANOTHER_DEVICE"), "{e}");
    let s = load(&with_step(
        "kick = { user = \"alice\", operation = \"USER_REMOVED\" }",
    ))
    .unwrap();
    assert!(matches!(s.steps[1].action, Action::Kick { .. }));
}

#[test]
fn a_misspelt_direction_chat_type_or_message_type_lists_the_values() {
    let e = err(&with_step(
        "frame = { user = \"alice\", dir = \"up\", match = {} }",
    ));
    assert!(
        e.contains("`frame.dir`: unknown variant `up`, expected `c2s` or `s2c`"),
        "{e}"
    );
    let e = err(&format!(
        "{HEAD}bob = {{}}\n[[step]]\ndeliver = {{ from = \"bob\", to = \"alice\", type = \"txt\", chatType = \"single\", msg = \"x\" }}\n"
    ));
    assert!(e.contains(":7: step 1:"), "{e}");
    assert!(e.contains("`singleChat`, `groupChat`, `chatRoom`"), "{e}");
    let e = err(&format!(
        "{HEAD}bob = {{}}\n[[step]]\ndeliver = {{ from = \"bob\", to = \"alice\", type = \"text\" }}\n"
    ));
    assert!(
        e.contains("unknown variant `text`") && e.contains("`txt`"),
        "{e}"
    );
}

#[test]
fn reply_forms_and_durations_are_checked() {
    let e = err(&with_step(
        "send = { user = \"alice\", to = \"bob\" }\nreply = \"never\"",
    ));
    assert!(
        e.contains(":10: step 2: `reply`:") && e.contains("\"none\""),
        "{e}"
    );
    let e = err(&with_step(
        "send = { user = \"alice\" }\nreply = { ok = true, reslt = {} }",
    ));
    assert!(e.contains("unknown field `reslt`"), "{e}");
    let e = err(&with_step("advance = \"soon\""));
    assert!(e.contains("`advance`:") && e.contains("\"120s\""), "{e}");
    let e = err(&with_step(
        "quiet = { user = \"alice\", ms = \"1 minute\" }",
    ));
    assert!(e.contains("`quiet.ms`:"), "{e}");
    let e = err(&with_step("advance = \"5s\"\nreply = \"none\""));
    assert!(
        e.contains("`reply` only goes with a request step, not `advance`"),
        "{e}"
    );
    let s = load(&with_step("advance = \"2m\"")).unwrap();
    assert!(matches!(s.steps[1].action, Action::Advance(d) if d == Duration::from_secs(120)));
}

#[test]
fn fault_fields_that_do_not_go_together() {
    let e = err(&with_step(
        "fault = { on = \"message\", action = \"status\" }",
    ));
    assert!(e.contains("needs `code`"), "{e}");
    let e = err(&with_step(
        "fault = { on = \"provision\", action = \"delay\", ms = 5 }",
    ));
    assert!(e.contains("needs `on = \"message\"`"), "{e}");
    let e = err(&with_step("fault = { on = \"upload\", action = \"drop\" }"));
    assert!(e.contains("takes action \"status\""), "{e}");
    let e = err(&with_step(
        "fault = { on = \"unread\", action = \"drop\", body = \"x\" }",
    ));
    assert!(e.contains("`fault.body` goes with"), "{e}");
    let s = load(&with_step(
        "fault = { on = \"message\", action = \"delay\", ms = \"5s\" }",
    ))
    .unwrap();
    let Action::Fault(f) = &s.steps[1].action else {
        panic!("a fault step")
    };
    assert_eq!(f.on, FaultTrigger::Message);
    assert_eq!(f.action, FaultAction::Delay { ms: 5000 });
}

#[test]
fn steps_with_no_or_two_actions() {
    let e = err(&with_step("as = \"x\""));
    assert!(
        e.contains("step 2: no action; expected one of connect, send"),
        "{e}"
    );
    let e = err(&with_step("connect = \"alice\"\nadvance = 5"));
    assert!(e.contains("more than one action (connect, advance)"), "{e}");
}

#[test]
fn templates_refer_to_earlier_steps() {
    let e = err(&format!(
        "{HEAD}[[step]]\nsend = {{ user = \"alice\", msg = \"{{{{m.id}}}}\" }}\n"
    ));
    assert!(e.contains("refers to no earlier step"), "{e}");
}

#[test]
fn the_old_guide_string_is_refused_with_the_new_form() {
    let e = err(
        "purpose = \"p\"\nguide = \"Send text messages\"\n[world.users]\nalice = {}\n[[step]]\nconnect = \"alice\"\n",
    );
    assert!(
        e.starts_with("scenarios/area/name.toml:2: `guide`: the free-text guide = \"Send text messages\" is replaced by checked citations: guide = [{ lines = "),
        "{e}"
    );
}

#[test]
fn a_wrong_quote_names_the_line_of_the_citation() {
    let e = err(
        "purpose = \"p\"\nguide = [\n  { lines = \"2\", quote = \"Send text\" },\n  { lines = \"2\", quote = \"onTextMessage\" },\n]\n[world.users]\nalice = {}\n[[step]]\nconnect = \"alice\"\n",
    );
    assert!(
        e.starts_with("scenarios/area/name.toml:4: guide lines 2 do not contain \"onTextMessage\""),
        "{e}"
    );
    assert!(e.contains("it is on line 3"), "{e}");
    let e = err(&with_step(
        "frame = { dir = \"c2s\", match = {} }\nwire = { section = \"4\", quote = \"nothing like it\" }",
    ));
    assert!(
        e.starts_with("scenarios/area/name.toml:10: step 2: `wire`: section 4"),
        "{e}"
    );
    let e = err("purpose = \"p\"\n[world.users]\nalice = {}\n[[step]]\nconnect = \"alice\"\n");
    assert!(e.contains(":1: the scenario cites nothing"), "{e}");
}

#[test]
fn levels_follow_the_citations() {
    let s = load(&format!(
        "{HEAD}[[step]]\nconnect = \"alice\"\n[[step]]\nframe = {{ dir = \"c2s\", match = {{}} }}\n\
         [[step]]\nframe = {{ dir = \"c2s\", match = {{}} }}\nguide = {{ lines = \"3\", quote = \"onTextMessage\" }}\n"
    ))
    .unwrap();
    let levels: Vec<Level> = s.steps.iter().map(|s| s.level).collect();
    assert_eq!(levels, [Level::Guide, Level::Wire, Level::Guide]);

    let e = err(&with_step(
        "event = { user = \"alice\", name = \"onOpened\" }\nlevel = \"wire\"",
    ));
    assert!(e.contains("level = \"wire\" needs a wire citation"), "{e}");
    let s = load(&with_step(
        "event = { user = \"alice\", name = \"onOpened\" }\nlevel = \"wire\"\nwire = { section = \"4\", quote = \"routetype\" }\ntimer = true",
    ))
    .unwrap();
    assert_eq!(s.steps[1].level, Level::Wire);
    assert!(s.steps[1].timer);

    let wire_only = load(
        "purpose = \"p\"\nwire = [{ section = \"4\", quote = \"routetype\" }]\n[world.users]\nalice = {}\n[[step]]\nconnect = \"alice\"\n",
    )
    .unwrap();
    assert_eq!(wire_only.steps[0].level, Level::Wire);
    let e = err(&format!(
        "{HEAD}[[step]]\nconnect = \"alice\"\nlevel = \"both\""
    ));
    assert!(
        e.contains("`level`: unknown variant `both`, expected `guide` or `wire`"),
        "{e}"
    );
}

#[test]
fn field_paths_within_inline_tables() {
    let text = "fault = { user = \"alice\", on = \"x\" }";
    assert_eq!(
        field_path(text, text.find("\"x\"").unwrap()).as_deref(),
        Some("fault.on")
    );
    let text = "a = { b = { c = 1 }, d = \"{\" , e = 2 }";
    assert_eq!(field_path(text, text.len() - 3).as_deref(), Some("a.e"));
    assert_eq!(field_path("conect = 1", 0), None);
}

#[test]
fn deliver_raw_takes_base64_bytes_for_a_known_recipient() {
    let s = load(&with_step(
        "deliver_raw = { from = \"carol\", to = \"alice\", payload = \"AAE=\" }",
    ))
    .unwrap();
    assert!(matches!(
        &s.steps[1].action,
        Action::DeliverRaw { to, payload, .. } if to == "alice" && payload == &[0, 1]
    ));
    let e = err(&with_step(
        "deliver_raw = { from = \"carol\", to = \"alice\", payload = \"not base64!\" }",
    ));
    assert!(
        e.contains("name.toml:") && e.contains("`deliver_raw.payload` is not standard base64"),
        "{e}"
    );
    let e = err(&with_step(
        "deliver_raw = { from = \"carol\", to = \"g9\", chatType = \"groupChat\", payload = \"\" }",
    ));
    assert!(e.contains("`deliver_raw.to` names group `g9`"), "{e}");
}

#[test]
fn emoji_map_is_read_and_checked() {
    let text = format!(
        "{HEAD}[emoji]\npath = \"img/\"\nmap = {{ \"[):]\" = \"ee_1.png\" }}\n[[step]]\nconnect = \"alice\"\n"
    );
    let emoji = load(&text).unwrap().emoji.unwrap();
    assert_eq!(emoji.path, "img/");
    assert_eq!(emoji.map["[):]"], "ee_1.png");
    let empty = err(&format!(
        "{HEAD}[emoji]\npath = \"img/\"\nmap = {{}}\n[[step]]\nconnect = \"alice\"\n"
    ));
    assert!(
        empty.contains(":5:") && empty.contains("empty `map`"),
        "{empty}"
    );
    let unknown = err(&format!(
        "{HEAD}[emoji]\npath = \"img/\"\nmap = {{ \"[):]\" = \"a\" }}\nsize = 3\n[[step]]\nconnect = \"alice\"\n"
    ));
    assert!(unknown.contains("size"), "{unknown}");
}

#[test]
fn a_matrix_loads_as_one_scenario_per_case_and_a_broken_case_names_its_line() {
    let text = "purpose = \"p ${u}\"\nguide = [{ lines = \"2\", quote = \"Send text\" }]\n\
        [matrix]\nid = \"${u}-x\"\n[matrix.axis.u.alice]\n[matrix.axis.u.zed]\n\
        [world.users]\nalice = {}\n[[step]]\nconnect = \"${u}\"\n";
    let path = Path::new("scenarios/area/name.toml");
    let only_alice = text.replace("[matrix.axis.u.zed]\n", "");
    let cases = load_cases_str_with("area/name", path, &only_alice, &docs()).unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].id, "area/alice-x");
    assert_eq!(cases[0].purpose, "p alice");
    assert_eq!(cases[0].steps[0].line, 8);
    let e = load_cases_str_with("area/name", path, text, &docs())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("scenarios/area/name.toml:9: matrix case area/zed-x: step 1: user `zed`"),
        "{e}"
    );
    // A file without [matrix] is one scenario, as before.
    let plain = load_cases_str_with(
        "area/name",
        path,
        &with_step("disconnect = \"alice\""),
        &docs(),
    )
    .unwrap();
    assert_eq!(plain.len(), 1);
    assert_eq!(plain[0].id, "area/name");
}
