use super::*;

const MATRIX: &str = r#"purpose = "${type} to ${chat.to}"
guide = [{ lines = "1", quote = "x" }]

[matrix]
id = "${type}-${chat}"
exclude = [{ type = "cmd", chat = "room" }]

[matrix.axis.type.txt]
send = { type = "txt", msg = "hi", to = "${chat.to}" }

[matrix.axis.type.cmd]
send = { type = "cmd", action = "ping", to = "${chat.to}" }

[matrix.axis.chat.single]
to = "bob"

[matrix.axis.chat.room]
to = "r1"

[world.users]
alice = {}

[[step]]
send = "${type.send}"

[[step]]
when = { chat = "room" }
quiet = { user = "alice", ms = 200 }

[[step]]
unless = { type = ["cmd"] }
event = { user = "alice", name = "on${type}" }
"#;

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn every_combination_not_excluded_becomes_a_case_with_the_same_lines() {
    let cases = expand("refusals/matrix", MATRIX).unwrap();
    let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "refusals/cmd-single",
            "refusals/txt-room",
            "refusals/txt-single"
        ]
    );
    for case in &cases {
        assert_eq!(
            case.text.lines().count(),
            MATRIX.lines().count(),
            "{}",
            case.text
        );
        assert!(!has_matrix(&case.text), "{}", case.text);
    }
    let room = &cases[1].text;
    assert!(room.starts_with("purpose = \"txt to r1\"\n"), "{room}");
    assert!(
        room.contains("send = { type = \"txt\", msg = \"hi\", to = \"r1\" }\n"),
        "{room}"
    );
    assert!(
        room.contains("quiet = { user = \"alice\", ms = 200 }"),
        "{room}"
    );
    assert!(room.contains("name = \"ontxt\""), "{room}");
    assert!(!room.contains("when") && !room.contains("unless"), "{room}");
    // The dropped steps are blank lines: the third step of cmd-single is gone, and so is the
    // second (when chat = room).
    let cmd = &cases[0].text;
    assert_eq!(cmd.matches("[[step]]").count(), 1, "{cmd}");
    assert!(cmd.contains("send = { type = \"cmd\", action = \"ping\", to = \"bob\" }"));
    // Each case parses as TOML.
    for case in &cases {
        toml::from_str::<toml::Table>(&case.text).unwrap();
    }
}

#[test]
fn values_are_escaped_and_typed() {
    let text = "a = \"${v.s}\"\nb = \"x ${v.s} ${v.n}\"\nc = \"${v.n}\"\nd = \"${v.t}\"\n\
        [matrix]\nid = \"${v}\"\n[matrix.axis.v.one]\ns = 'say \"hi\"\\'\nn = 7\nt = { \"odd key\" = [1, { k = true }] }\n";
    let cases = expand("m", text).unwrap();
    assert_eq!(cases[0].id, "one");
    let table: toml::Table = toml::from_str(&cases[0].text).unwrap();
    assert_eq!(table["a"].as_str(), Some("say \"hi\"\\"));
    assert_eq!(table["b"].as_str(), Some("x say \"hi\"\\ 7"));
    assert_eq!(table["c"].as_integer(), Some(7));
    assert_eq!(table["d"]["odd key"][1]["k"].as_bool(), Some(true));
}

#[test]
fn bad_matrices_are_errors_at_their_line() {
    let unknown_axis = MATRIX.replace("on${type}", "on${kind}");
    let (line, message) = expand("m", &unknown_axis).unwrap_err();
    assert_eq!(line, line_of(&unknown_axis, "on${kind}"));
    assert!(
        message.contains("names no axis") && message.contains("type, chat"),
        "{message}"
    );

    let unknown_var = MATRIX.replace("${chat.to}\" }", "${chat.too}\" }");
    let (line, message) = expand("m", &unknown_var).unwrap_err();
    assert_eq!(
        line,
        line_of(&unknown_var, "send = \"${type.send}\""),
        "{message}"
    );
    assert!(
        message.contains(
            "in `${type.send}`: `${chat.too}`: chat `single` has no variable `too` (it has: to)"
        ),
        "{message}"
    );

    let unknown_value = MATRIX.replace("chat = \"room\" }]", "chat = \"hall\" }]");
    let (line, message) = expand("m", &unknown_value).unwrap_err();
    assert_eq!(line, line_of(&unknown_value, "exclude"));
    assert!(
        message.contains("`chat = \"hall\"`: no such value (values: single, room)"),
        "{message}"
    );

    let unknown_when = MATRIX.replace("when = { chat", "when = { hall");
    let (line, message) = expand("m", &unknown_when).unwrap_err();
    assert_eq!(line, line_of(&unknown_when, "when = "));
    assert!(
        message.contains("step 2: `hall` is not an axis"),
        "{message}"
    );

    let duplicate = MATRIX.replace("id = \"${type}-${chat}\"", "id = \"${type}\"");
    let (line, message) = expand("m", &duplicate).unwrap_err();
    assert_eq!(line, line_of(&duplicate, "id = \"${type}\""));
    assert!(
        message.contains("\"txt\" comes out of two combinations"),
        "{message}"
    );

    let table_in_text = MATRIX.replace(
        "purpose = \"${type} to ${chat.to}\"",
        "purpose = \"a ${type.send}\"",
    );
    let (line, message) = expand("m", &table_in_text).unwrap_err();
    assert_eq!(line, 1);
    assert!(
        message.contains("cannot go inside a longer string"),
        "{message}"
    );

    let looping = "x = \"${a.v}\"\n[matrix]\nid = \"${a}\"\n[matrix.axis.a.one]\nv = \"${a.v}\"\n";
    assert!(expand("m", looping).unwrap_err().1.contains("a loop?"));
}
