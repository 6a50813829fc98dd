//! Property tests of the wire: every message of the schema survives encode → decode → encode
//! through the prost types, and the canonical JSON view of any generated frame is total (it
//! never panics and shows what it cannot decode).

use imspec::wire::{DESCRIPTORS, Direction, canonical, pb, sockjs};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use prost::Message as _;
use prost_reflect::{
    DynamicMessage, Kind, MessageDescriptor, ReflectMessage as _, Value as RValue,
};

/// Generates a random dynamic message of `descriptor`, nesting up to `depth` levels.
fn arbitrary_message(descriptor: MessageDescriptor, depth: u32) -> BoxedStrategy<DynamicMessage> {
    let fields: Vec<_> = descriptor.fields().collect();
    let per_field: Vec<BoxedStrategy<Option<RValue>>> = fields
        .iter()
        .map(|field| {
            let single = arbitrary_value(field.kind(), depth);
            if field.is_list() {
                prop::collection::vec(single, 0..3)
                    .prop_map(|items| (!items.is_empty()).then_some(RValue::List(items)))
                    .boxed()
            } else {
                prop::option::of(single).boxed()
            }
        })
        .collect();
    per_field
        .prop_map(move |values| {
            let mut message = DynamicMessage::new(descriptor.clone());
            for (field, value) in fields.iter().zip(values) {
                if let Some(value) = value {
                    message.set_field(field, value);
                }
            }
            message
        })
        .boxed()
}

fn arbitrary_value(kind: Kind, depth: u32) -> BoxedStrategy<RValue> {
    match kind {
        Kind::Double => any::<f64>()
            .prop_filter("NaN never equals itself", |f| !f.is_nan())
            .prop_map(RValue::F64)
            .boxed(),
        Kind::Float => any::<f32>()
            .prop_filter("NaN never equals itself", |f| !f.is_nan())
            .prop_map(RValue::F32)
            .boxed(),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => any::<i32>().prop_map(RValue::I32).boxed(),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => any::<i64>().prop_map(RValue::I64).boxed(),
        Kind::Uint32 | Kind::Fixed32 => any::<u32>().prop_map(RValue::U32).boxed(),
        Kind::Uint64 | Kind::Fixed64 => any::<u64>().prop_map(RValue::U64).boxed(),
        Kind::Bool => any::<bool>().prop_map(RValue::Bool).boxed(),
        Kind::String => "\\PC{0,12}".prop_map(RValue::String).boxed(),
        Kind::Bytes => prop::collection::vec(any::<u8>(), 0..24)
            .prop_map(|b| RValue::Bytes(b.into()))
            .boxed(),
        Kind::Enum(e) => {
            let numbers: Vec<i32> = e.values().map(|v| v.number()).collect();
            prop::sample::select(numbers)
                .prop_map(RValue::EnumNumber)
                .boxed()
        }
        Kind::Message(m) if depth == 0 => Just(RValue::Message(DynamicMessage::new(m))).boxed(),
        Kind::Message(m) => arbitrary_message(m, depth - 1)
            .prop_map(RValue::Message)
            .boxed(),
    }
}

/// Encodes a dynamic message, decodes it as the prost type `T`, encodes that again, and checks
/// that both encodings decode to the same dynamic message.
fn round_trip<T: prost::Message + Default>(
    generated: &DynamicMessage,
) -> Result<(), TestCaseError> {
    let bytes = generated.encode_to_vec();
    let typed = T::decode(bytes.as_slice()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let again = typed.encode_to_vec();
    let reread = DynamicMessage::decode(generated.descriptor(), again.as_slice())
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&reread, generated);
    Ok(())
}

macro_rules! every_message {
    ($($name:literal => $ty:ty),* $(,)?) => {
        #[test]
        fn every_message_round_trips_through_the_prost_types() {
            let names: Vec<&str> = vec![$($name),*];
            let in_schema: Vec<String> = DESCRIPTORS.all_messages().map(|m| m.full_name().to_string()).collect();
            for full in &in_schema {
                assert!(names.contains(&full.as_str()), "{full} has no round-trip test: add it to every_message!");
            }
            $(
                let descriptor = DESCRIPTORS.get_message_by_name($name).expect($name);
                let mut runner = TestRunner::new(ProptestConfig { cases: 64, ..ProptestConfig::default() });
                runner
                    .run(&arbitrary_message(descriptor, 3), |m| round_trip::<$ty>(&m))
                    .unwrap_or_else(|e| panic!("{}: {e}", $name));
            )*
        }
    };
}

every_message! {
    "easemob.pb.MessageBody" => pb::MessageBody,
    "easemob.pb.MessageBody.Content" => pb::message_body::Content,
    "easemob.pb.MessageBody.Content.Size" => pb::message_body::content::Size,
    "easemob.pb.MessageBody.MessageConfig" => pb::message_body::MessageConfig,
    "easemob.pb.MessageBody.Stream" => pb::message_body::Stream,
    "easemob.pb.KeyValue" => pb::KeyValue,
    "easemob.pb.JID" => pb::Jid,
    "easemob.pb.ConferenceBody" => pb::ConferenceBody,
    "easemob.pb.ConferenceBody.Status" => pb::conference_body::Status,
    "easemob.pb.MSync" => pb::MSync,
    "easemob.pb.CommSyncUL" => pb::CommSyncUl,
    "easemob.pb.CommSyncDL" => pb::CommSyncDl,
    "easemob.pb.CommNotice" => pb::CommNotice,
    "easemob.pb.CommUnreadUL" => pb::CommUnreadUl,
    "easemob.pb.CommUnreadDL" => pb::CommUnreadDl,
    "easemob.pb.MetaQueue" => pb::MetaQueue,
    "easemob.pb.Meta" => pb::Meta,
    "easemob.pb.Status" => pb::Status,
    "easemob.pb.RedirectInfo" => pb::RedirectInfo,
    "easemob.pb.Provision" => pb::Provision,
    "easemob.pb.Logout" => pb::Logout,
    "easemob.pb.MUCBody" => pb::MucBody,
    "easemob.pb.MUCBody.Setting" => pb::muc_body::Setting,
    "easemob.pb.MUCBody.Status" => pb::muc_body::Status,
    "easemob.pb.MUCBody.EventInfo" => pb::muc_body::EventInfo,
    "easemob.pb.RosterBody" => pb::RosterBody,
    "easemob.pb.RosterBody.Status" => pb::roster_body::Status,
    "easemob.pb.StatisticsBody" => pb::StatisticsBody,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The canonical view never panics, whatever the bytes, in either direction.
    #[test]
    fn canonical_view_is_total(bytes in prop::collection::vec(any::<u8>(), 0..256), up in any::<bool>()) {
        let direction = if up { Direction::ClientToServer } else { Direction::ServerToClient };
        let view = canonical::msync(direction, &bytes);
        prop_assert!(view.is_object());
    }

    /// A generated MSync with a generated nested payload shows the payload decoded.
    #[test]
    fn canonical_view_decodes_nested_payloads(meta in arbitrary_message(DESCRIPTORS.get_message_by_name("easemob.pb.CommSyncUL").unwrap(), 2)) {
        let msync = pb::MSync {
            command: Some(pb::m_sync::Command::Sync as i32),
            payload: Some(meta.encode_to_vec()),
            ..Default::default()
        };
        let view = canonical::msync(Direction::ClientToServer, &msync.encode_to_vec());
        prop_assert!(view["payload"]["CommSyncUL"].is_object() || view["payload"]["undecodable"].is_object());
    }

    /// SockJS message frames round-trip any strings.
    #[test]
    fn sockjs_messages_round_trip(messages in prop::collection::vec("\\PC{0,20}", 1..4)) {
        let frame = sockjs::ServerFrame::Messages(messages.clone());
        prop_assert_eq!(sockjs::ServerFrame::parse(&frame.encode()).unwrap(), frame);
        prop_assert_eq!(sockjs::parse_client(&sockjs::encode_client(&messages)).unwrap(), messages);
    }
}
