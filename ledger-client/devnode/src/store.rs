//! The chain on disk: an append-only log of committed blocks, one JSON line each, holding the raw
//! signed transaction bytes and the block's number and timestamp. Each append is fsynced before the
//! block's receipts are answered, and the state is rebuilt on start by replaying the log through the
//! same executor, so a SIGKILL loses nothing that was answered.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const LOG_FILE: &str = "blocks.log";
/// Upper bound on one stored block line (1000 transactions of the maximal accepted size would be
/// far less than this after hex; the bound only stops a corrupt file from exhausting memory).
const MAX_LINE_BYTES: u64 = 1 << 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredBlock {
    pub number: u64,
    pub timestamp_ms: u64,
    /// The signed transactions, TARS bytes as lowercase hex, in execution order.
    pub txs: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("I/O on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("corrupt block log {path} at line {line}: {reason}")]
    Corrupt { path: PathBuf, line: usize, reason: String },
}

pub struct BlockLog {
    path: PathBuf,
    file: File,
}

impl BlockLog {
    /// Opens (creating if needed) the log in `dir` and returns the blocks it holds. A torn last line,
    /// left by a crash in the middle of an append that was never acknowledged, is cut off.
    pub fn open(dir: &Path) -> Result<(Self, Vec<StoredBlock>), StoreError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(LOG_FILE);
        let mut file = OpenOptions::new().create(true).read(true).append(true).open(&path).map_err(io(&path))?;
        let mut blocks = Vec::new();
        let mut good_len: u64 = 0;
        {
            let mut reader = BufReader::new(&mut file);
            reader.seek(SeekFrom::Start(0)).map_err(io(&path))?;
            let mut line = Vec::new();
            let mut line_no = 0usize;
            loop {
                line.clear();
                let n = (&mut reader).take(MAX_LINE_BYTES).read_until(b'\n', &mut line).map_err(io(&path))?;
                if n == 0 {
                    break;
                }
                line_no += 1;
                if line.last() != Some(&b'\n') {
                    // Torn final append: never acknowledged, drop it.
                    break;
                }
                let block: StoredBlock = serde_json::from_slice(&line[..line.len() - 1]).map_err(|e| {
                    StoreError::Corrupt { path: path.clone(), line: line_no, reason: e.to_string() }
                })?;
                let expected = blocks.len() as u64 + 1;
                if block.number != expected {
                    return Err(StoreError::Corrupt {
                        path: path.clone(),
                        line: line_no,
                        reason: format!("block {} where {expected} was expected", block.number),
                    });
                }
                blocks.push(block);
                good_len += n as u64;
            }
        }
        let actual_len = file.metadata().map_err(io(&path))?.len();
        if actual_len != good_len {
            file.set_len(good_len).map_err(io(&path))?;
            file.sync_all().map_err(io(&path))?;
        }
        if let Ok(d) = File::open(dir) {
            // Make the file's directory entry durable too (best effort: not every platform allows it).
            let _ = d.sync_all();
        }
        Ok((Self { path, file }, blocks))
    }

    /// Appends one block and waits until it is on disk.
    pub fn append(&mut self, block: &StoredBlock) -> Result<(), StoreError> {
        let mut line = serde_json::to_vec(block).map_err(|e| StoreError::Corrupt {
            path: self.path.clone(),
            line: 0,
            reason: e.to_string(),
        })?;
        line.push(b'\n');
        let before = self.file.metadata().map_err(|source| StoreError::Io { path: self.path.clone(), source })?.len();
        let written = self.file.write_all(&line).and_then(|()| self.file.sync_data());
        if let Err(source) = written {
            // Leave no partial line behind: the next append must start on a line boundary.
            let _ = self.file.set_len(before);
            return Err(StoreError::Io { path: self.path.clone(), source });
        }
        Ok(())
    }
}
