//! linli-gate: the reader at a gate or door (DESIGN §8). It keeps the community's key set and revocation list
//! on local disk (synced from the server with its `door_gateway` app credentials), decides each scanned pass
//! offline with [`linli_identity::access_pass::verify_pass`], counts visitor uses itself, drives the lock, and
//! buffers access events on disk until the server takes them (idempotent batches: each event has its id).
//! With the server down it keeps deciding with what it synced last.

pub mod state;

use std::collections::HashSet;

use linli_identity::access_pass::{PassKind, ReaderView, Refusal, VerifyingKey, signed_pass_id, verify_pass, within_uses};
use serde::Serialize;
use uuid::Uuid;

use state::{Event, Synced};

/// The decision on one scanned text, as `linli-gate verify` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// admit or refuse.
    pub decision: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    pub door_code: u32,
}

/// Decides a pass text against what the reader synced, its use counts and its clock. Pure: counting the use and
/// recording the event are the caller's ([`state::GateState::admit`]).
pub fn decide(text: &str, synced: &Synced, used: &dyn Fn(&Uuid) -> u32, door_code: u32, now_ms: i64) -> Decision {
    let keys: Vec<VerifyingKey> = synced.keys.keys.iter().filter_map(VerifyingKey::from_jwk).collect();
    let revoked: HashSet<[u8; 16]> = synced.revoked.iter().map(|u| *u.as_bytes()).collect();
    let view = ReaderView { issuer: &synced.issuer, door_code, now_ms, keys: &keys, revoked: &revoked };
    let refuse = |r: Refusal, pass_id| Decision { decision: "refuse", reason: Some(r.code()), pass_id, kind: None, door_code };
    match verify_pass(text.trim(), &view) {
        // A genuine pass refused for its window, door, revocation or proof is named in the event; a forged or
        // unreadable one names nothing.
        Err(r) => refuse(r, signed_pass_id(text.trim(), &keys).map(Uuid::from_bytes)),
        Ok(claims) => {
            let id = Uuid::from_bytes(claims.pass_id);
            if claims.kind == PassKind::Visitor && !within_uses(claims.uses, used(&id)) {
                return refuse(Refusal::UsedUp, Some(id));
            }
            Decision { decision: "admit", reason: None, pass_id: Some(id), kind: Some(claims.kind.as_str()), door_code }
        }
    }
}

impl Decision {
    pub fn admitted(&self) -> bool {
        self.decision == "admit"
    }

    /// The access event of this decision.
    pub fn event(&self, at: chrono::DateTime<chrono::Utc>) -> Event {
        Event {
            id: Uuid::now_v7(),
            door_code: self.door_code,
            outcome: if self.admitted() { "opened".into() } else { "refused".into() },
            reason: self.reason.map(str::to_owned),
            pass_id: self.pass_id,
            occurred_at: at,
        }
    }
}
