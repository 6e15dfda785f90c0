//! What the reader keeps on local disk, in its state directory: `synced.json` (issuer, key set, revocation list,
//! when), `uses.json` (visitor pass uses counted here) and `events.jsonl` (access events not yet taken by the
//! server, one JSON object per line). Every write goes to a temporary file that is synced and then renamed
//! over the old one, so a power cut leaves the old or the new file, never half of one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use linli_identity::access_pass::JwkSet;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Synced {
    pub issuer: String,
    pub keys: JwkSet,
    pub revoked: Vec<Uuid>,
    pub synced_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Event {
    pub id: Uuid,
    pub door_code: u32,
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
}

pub struct GateState {
    dir: PathBuf,
    pub synced: Synced,
    pub uses: BTreeMap<Uuid, u32>,
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

fn read_json<T: for<'de> Deserialize<'de> + Default>(path: &Path) -> anyhow::Result<T> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(e.into()),
    }
}

impl GateState {
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let synced = read_json(&dir.join("synced.json"))?;
        let uses = read_json(&dir.join("uses.json"))?;
        Ok(Self { dir: dir.to_owned(), synced, uses })
    }

    pub fn store_synced(&mut self, synced: Synced) -> anyhow::Result<()> {
        write_atomically(&self.dir.join("synced.json"), &serde_json::to_vec_pretty(&synced)?)?;
        self.synced = synced;
        Ok(())
    }

    pub fn used(&self, pass: &Uuid) -> u32 {
        self.uses.get(pass).copied().unwrap_or(0)
    }

    /// Counts one use of an admitted visitor pass (on disk before the lock opens, so a crash cannot give a use
    /// back).
    pub fn count_use(&mut self, pass: Uuid) -> anyhow::Result<()> {
        *self.uses.entry(pass).or_default() += 1;
        write_atomically(&self.dir.join("uses.json"), &serde_json::to_vec(&self.uses)?)?;
        Ok(())
    }

    fn events_path(&self) -> PathBuf {
        self.dir.join("events.jsonl")
    }

    /// Appends an event to the buffer (synced to disk).
    pub fn buffer(&self, event: &Event) -> anyhow::Result<()> {
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(self.events_path())?;
        let mut line = serde_json::to_vec(event)?;
        line.push(b'\n');
        f.write_all(&line)?;
        f.sync_data()?;
        Ok(())
    }

    /// The buffered events, oldest first. A torn last line (power cut while appending) is skipped.
    pub fn pending(&self) -> anyhow::Result<Vec<Event>> {
        let text = match std::fs::read_to_string(self.events_path()) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(e.into()),
        };
        Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
    }

    /// Drops the events the server has taken.
    pub fn forget(&self, taken: &[Uuid]) -> anyhow::Result<()> {
        let keep: Vec<Event> = self.pending()?.into_iter().filter(|e| !taken.contains(&e.id)).collect();
        let mut bytes = Vec::new();
        for e in keep {
            bytes.extend(serde_json::to_vec(&e)?);
            bytes.push(b'\n');
        }
        write_atomically(&self.events_path(), &bytes)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn events_survive_reopening_and_are_forgotten_once_taken() {
        let dir = tempfile::tempdir().unwrap();
        let state = GateState::open(dir.path()).unwrap();
        let event = |n| Event { id: Uuid::from_u128(n), door_code: 101, outcome: "opened".into(), reason: None, pass_id: None, occurred_at: Utc::now() };
        state.buffer(&event(1)).unwrap();
        state.buffer(&event(2)).unwrap();
        // A torn line after them.
        std::fs::OpenOptions::new().append(true).open(dir.path().join("events.jsonl")).unwrap().write_all(b"{\"id\":").unwrap();
        let mut again = GateState::open(dir.path()).unwrap();
        assert_eq!(again.pending().unwrap().iter().map(|e| e.id).collect::<Vec<_>>(), vec![Uuid::from_u128(1), Uuid::from_u128(2)]);
        again.forget(&[Uuid::from_u128(1)]).unwrap();
        assert_eq!(again.pending().unwrap().len(), 1);
        again.count_use(Uuid::from_u128(9)).unwrap();
        assert_eq!(GateState::open(dir.path()).unwrap().used(&Uuid::from_u128(9)), 1);
    }
}
