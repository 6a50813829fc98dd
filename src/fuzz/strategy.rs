//! Proptest strategies for fuzz cases: message bodies of every content type and chat type,
//! `ext` / `customExts` values of every `KeyValue` type, sender names, in a *valid* mode
//! (bodies a real server would deliver: within the service's message limit) and a *hostile*
//! mode (unknown enum values, missing fields, bad JSON_STRING, texts past the limit, truncated,
//! oversized and wrongly nested payloads).
//!
//! Pure: strategies and the case model only. Turning a case into wire bytes is `case.rs`;
//! running it is `campaign.rs`.

use super::case::{Body, Case, Chat, Hostile, HostileCase, ValidCase, Way};
use crate::wire::pb::KeyValue;
use crate::wire::pb::key_value::{Value as V, ValueType as T};
use proptest::prelude::*;
use prost::Message as _;
use serde_json::{Map, Number, Value};

/// Which bodies to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Bodies a real server would deliver, and send options a real app would pass.
    Valid,
    /// Bodies no real server sends: the client must not crash, hang or lose the connection.
    Hostile,
}

/// 2^53: above it a JavaScript `Number` cannot hold every integer.
pub const JS_SAFE: i64 = 1 << 53;

/// A string matching `pattern`, its regex parsed once: a `&str` strategy parses it (and
/// builds its Unicode classes) again for every value, which was most of the generation time.
fn re(pattern: &str) -> proptest::string::RegexGeneratorStrategy<String> {
    proptest::string::string_regex(pattern).expect("a valid pattern")
}

/// Any string: unicode of every plane and control characters, empty, sometimes long (up to
/// 1 200 characters, which fits the service's 5 KB message limit on its own; longer texts are
/// hostile mode's [`Hostile::PastLimit`]).
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        10 => short_text(),
        1 => (1usize..=4, re("\\PC")).prop_map(|(k, c)| c.repeat(k * 300)),
    ]
}

/// Any string of at most 24 characters.
fn short_text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => re("\\PC{0,24}"),
        2 => re("[ -~]{0,16}"),
        1 => Just(String::new()),
        1 => re("[\\u{0}-\\u{1f}\\u{7f}\\u{200b}-\\u{200f}\\u{fffd}\\u{1f600}-\\u{1f64f}]{1,8}"),
    ]
}

/// A text past `limit` bytes (up to about 13 times it): a few characters of any plane repeated,
/// so that long runs of surrogate pairs cross every chunk boundary a decoder may have.
fn past_limit(limit: usize) -> impl Strategy<Value = String> {
    (0usize..16, re("\\PC{1,3}")).prop_map(move |(k, unit)| {
        let bytes = limit + 1 + k * 4_096;
        unit.repeat(bytes.div_ceil(unit.len()))
    })
}

/// Keys of an object: short, sometimes integer-like (JavaScript orders those first).
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => re("[a-z_][a-z0-9_]{0,7}"),
        1 => (0u32..1000).prop_map(|i| i.to_string()),
        1 => re("\\PC{1,6}"),
        1 => Just(String::new()),
    ]
}

/// An integer: small, around 2^53, the int64 extremes.
fn integer() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => -1000i64..1000,
        2 => any::<i32>().prop_map(i64::from),
        1 => any::<i64>(),
        1 => prop::sample::select(vec![
            i64::MIN, i64::MAX, i64::MIN + 1, JS_SAFE - 1, JS_SAFE, JS_SAFE + 1,
            -JS_SAFE - 1, 0,
        ]),
    ]
}

/// A finite double with a fraction (integral ones are integers to the SDK).
fn fraction() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-1000.0f64..1000.0).prop_filter("has a fraction", |x| x.fract() != 0.0),
        any::<f64>().prop_filter("finite with a fraction", |x| x.is_finite()
            && x.fract() != 0.0),
        prop::sample::select(vec![0.1, -0.5, 1e-300, 5e-324, 1.5e300]),
    ]
}

/// A JSON value as an app puts it in `ext` (nested objects and arrays become JSON_STRING).
pub fn json_value() -> impl Strategy<Value = Value> {
    prop_oneof![3 => leaf(), 1 => nested()]
}

/// A scalar JSON value.
fn leaf() -> impl Strategy<Value = Value> {
    scalar(text().boxed())
}

/// A scalar JSON value whose strings come from `strings`.
fn scalar(strings: BoxedStrategy<String>) -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => strings.prop_map(Value::String),
        3 => integer().prop_map(Value::from),
        2 => fraction().prop_map(|x| Number::from_f64(x).map_or(Value::Null, Value::Number)),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
    ]
}

/// An array or object nested 1 to 24 levels deep, with scalars beside each level. Built from
/// flat lists rather than with `prop_recursive`, which rebuilds its 24 levels of strategies for
/// every value (most of the generation time) and in practice rarely went past 4 levels.
fn nested() -> impl Strategy<Value = Value> {
    // short strings only down there: a few dozen scalars with long ones would pass the limit
    let siblings = || prop::collection::vec((key(), scalar(short_text().boxed())), 0..2);
    (
        siblings(),
        prop::collection::vec((any::<bool>(), key(), siblings()), 1..=24),
    )
        .prop_map(|(innermost, levels)| {
            let container = |array: bool, entries: Vec<(String, Value)>| {
                if array {
                    Value::Array(entries.into_iter().map(|(_, v)| v).collect())
                } else {
                    Value::Object(entries.into_iter().collect())
                }
            };
            let mut value = container(levels[0].0, innermost);
            for (array, key, mut entries) in levels.into_iter().skip(1) {
                entries.insert(entries.len() / 2, (key, value));
                value = container(array, entries);
            }
            value
        })
}

/// An `ext` / `customExts` object.
pub fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::vec((key(), json_value()), 0..6).prop_map(|pairs| pairs.into_iter().collect())
}

/// `KeyValue`s a JSON object cannot express but a server may send: NaN and ±infinity doubles,
/// FLOAT, UINT and LLINT values.
fn wire_only() -> impl Strategy<Value = Vec<KeyValue>> {
    let one = (
        "w[a-z0-9]{0,5}",
        prop_oneof![
            prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0])
                .prop_map(|d| (T::Double, V::DoubleValue(d))),
            any::<f32>().prop_map(|f| (T::Float, V::FloatValue(f))),
            integer().prop_map(|i| (T::Uint, V::VarintValue(i))),
            integer().prop_map(|i| (T::Llint, V::VarintValue(i))),
        ],
    )
        .prop_map(|(key, (kind, value))| KeyValue {
            key: Some(key),
            r#type: Some(kind as i32),
            value: Some(value),
        });
    prop::collection::vec(one, 0..3)
}

/// A user name as a JID holds it (the scripted sender of a delivered message).
pub fn user_name() -> impl Strategy<Value = String> {
    re("[a-z][a-z0-9_.-]{0,15}").prop_filter("not a world user", |n| {
        !matches!(n.as_str(), "alice" | "bob")
    })
}

fn chat() -> impl Strategy<Value = Chat> {
    prop_oneof![3 => Just(Chat::Single), 1 => Just(Chat::Group), 1 => Just(Chat::Room)]
}

fn coordinate() -> impl Strategy<Value = f64> {
    prop_oneof![-90.0f64..90.0, integer().prop_map(|i| (i % 180) as f64)]
}

fn body(way: Way) -> BoxedStrategy<Body> {
    let common = prop_oneof![
        4 => text().prop_map(|msg| Body::Txt { msg }),
        1 => text().prop_map(|action| Body::Cmd { action }),
        2 => (text(), json_object()).prop_map(|(event, exts)| Body::Custom { event, exts }),
        1 => (coordinate(), coordinate(), text())
            .prop_map(|(lat, lng, addr)| Body::Loc { lat, lng, addr }),
    ];
    match way {
        Way::ServerToClient => common.boxed(),
        Way::ClientToServer => prop_oneof![
            8 => common,
            1 => (re("[^/\\\\\\p{Cc}]{1,40}"), prop::collection::vec(any::<u8>(), 1..64))
                .prop_map(|(name, bytes)| Body::File { name, bytes }),
        ]
        .boxed(),
    }
}

/// A valid case in either direction whose body fits `limit` bytes (the world's
/// `message_limit_bytes`; files aside, whose limit is the attachment's).
pub fn valid(limit: usize) -> impl Strategy<Value = ValidCase> {
    any_size().prop_filter("within the service's message limit", move |case| {
        matches!(case.body, Body::File { .. }) || case.message_body().encoded_len() <= limit
    })
}

/// A case in either direction, of any size. Each direction's strategy is built once: building
/// them per case (a `prop_flat_map` on the direction) parsed every string regex and its Unicode
/// class again for each case, most of the generation time.
fn any_size() -> impl Strategy<Value = ValidCase> {
    prop_oneof![one_way(Way::ServerToClient), one_way(Way::ClientToServer)]
}

fn one_way(way: Way) -> impl Strategy<Value = ValidCase> {
    let extra = match way {
        Way::ServerToClient => wire_only().boxed(),
        Way::ClientToServer => Just(Vec::new()).boxed(),
    };
    (chat(), body(way), json_object(), extra, user_name()).prop_map(
        move |(chat, body, ext, wire_only, from)| ValidCase {
            way,
            chat,
            body,
            ext,
            wire_only,
            from,
        },
    )
}

fn hostile_kind(limit: usize) -> impl Strategy<Value = Hostile> {
    prop_oneof![
        past_limit(limit).prop_map(Hostile::PastLimit),
        (8i32..1000).prop_map(Hostile::UnknownContentType),
        (8i32..1000).prop_map(Hostile::UnknownBodyType),
        prop_oneof![Just(0i32), 9i32..1000].prop_map(Hostile::UnknownValueType),
        re("[\\[{\"a-z0-9:,]{1,12}")
            .prop_filter("does not parse", |s| {
                serde_json::from_str::<Value>(s).is_err()
            })
            .prop_map(Hostile::BadJsonString),
        Just(Hostile::ValueTypeMismatch),
        Just(Hostile::NoContents),
        Just(Hostile::MissingFrom),
        (0usize..64).prop_map(Hostile::Truncated),
        (200_000usize..600_000).prop_map(Hostile::Oversized),
        prop::collection::vec(any::<u8>(), 0..48).prop_map(Hostile::Garbage),
        Just(Hostile::WrongNested),
        Just(Hostile::EmptyPayload),
    ]
}

/// A hostile case: a valid server-to-client base (within `limit`) broken one way.
pub fn hostile(limit: usize) -> impl Strategy<Value = HostileCase> {
    (valid(limit), hostile_kind(limit)).prop_map(|(mut base, kind)| {
        base.way = Way::ServerToClient;
        if let Body::File { .. } = base.body {
            base.body = Body::Txt { msg: "file".into() };
        }
        HostileCase { base, kind }
    })
}

/// A case of the mode; `limit` is the world's `message_limit_bytes`: valid bodies fit it.
pub fn case(mode: Mode, limit: usize) -> BoxedStrategy<Case> {
    match mode {
        Mode::Valid => valid(limit).prop_map(Case::Valid).boxed(),
        Mode::Hostile => hostile(limit).prop_map(Case::Hostile).boxed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::case::Hostile;
    use crate::server::DEFAULT_MESSAGE_LIMIT_BYTES as LIMIT;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

    fn runner() -> TestRunner {
        TestRunner::new_with_rng(
            Config::default(),
            TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
        )
    }

    #[test]
    fn valid_bodies_fit_the_message_limit_and_long_texts_come_near_it() {
        let mut runner = runner();
        let strategy = valid(LIMIT);
        let mut longest = 0;
        for _ in 0..600 {
            let case = strategy.new_tree(&mut runner).unwrap().current();
            if matches!(case.body, Body::File { .. }) {
                continue;
            }
            let bytes = case.message_body().encoded_len();
            assert!(bytes <= LIMIT, "{bytes} bytes: {case:?}");
            longest = longest.max(bytes);
        }
        assert!(
            longest > LIMIT / 2,
            "the longest valid body was {longest} bytes"
        );
    }

    #[test]
    fn texts_past_the_limit_are_hostile_and_past_it() {
        let mut runner = runner();
        let strategy = hostile(LIMIT);
        let mut seen = 0;
        for _ in 0..600 {
            let case = strategy.new_tree(&mut runner).unwrap().current();
            if let Hostile::PastLimit(text) = &case.kind {
                seen += 1;
                assert!(text.len() > LIMIT, "{} bytes", text.len());
                let delivered = case.as_delivered().expect("a text to hand over");
                assert_eq!(delivered.message_body().encode_to_vec(), case.payload());
            }
        }
        assert!(
            seen > 15,
            "{seen} texts past the limit in 600 hostile cases"
        );
    }
}
