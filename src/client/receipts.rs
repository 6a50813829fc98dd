//! Receipts on the receiving side of the reference client: the delivery receipt the guide says
//! `delivery: true` sends by itself for every received single-chat message (3.6.3 does not;
//! wire notes section 6), and the fault switches that silence receipt, recall and kick
//! callbacks.
//!
//! Owns only these decisions; the frames are built by `outgoing`, the callbacks by `incoming`.

use super::connection::Session;
use super::faults::Fault;
use super::outgoing::{Body, Kind};
use serde_json::{Map, Value};

/// The request id of a receipt the client sends by itself: no driver request waits for it.
const NO_REQUEST: u64 = u64::MAX;

impl Session {
    /// Whether a fault switch keeps this callback from the app.
    pub(super) fn suppressed(&self, name: &str, data: Option<&Value>) -> bool {
        match name {
            "onRecallMessage" => self.faults.has(Fault::NoRecallEvent),
            "onReadMessage" | "onDeliveredMessage" | "onChannelMessage" => {
                self.faults.has(Fault::NoReceiptEvents)
            }
            "onError" => {
                self.faults.has(Fault::IgnoreKick)
                    && data
                        .and_then(|d| d["type"].as_u64())
                        .is_some_and(|t| [206, 207, 216, 217].contains(&t))
            }
            _ => false,
        }
    }

    /// `new message('delivery', id).set({ackId: <received id>, to: <its sender>})` and
    /// `conn.send`, as the guide's `delivery: true` promises.
    pub(super) fn auto_delivery(&mut self, received_id: Value, from: Value) {
        let local = self.unique_id();
        let mut args = Map::new();
        args.insert("ackId".into(), received_id);
        args.insert("to".into(), from);
        let body = Body::set(Kind::Delivery, local, &args);
        self.send_body(NO_REQUEST, body, false);
    }
}
