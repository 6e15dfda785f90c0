//! The block log survives a torn final append and refuses a corrupt history.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;

use bcos_devnode::store::{BlockLog, LOG_FILE, StoreError, StoredBlock};

fn block(n: u64) -> StoredBlock {
    StoredBlock { number: n, timestamp_ms: 1_000 + n, txs: vec![format!("{n:02x}aa")] }
}

#[test]
fn a_torn_last_line_is_cut_off_and_appends_continue() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut log, blocks) = BlockLog::open(dir.path()).unwrap();
        assert!(blocks.is_empty());
        log.append(&block(1)).unwrap();
        log.append(&block(2)).unwrap();
    }
    let path = dir.path().join(LOG_FILE);
    let intact = std::fs::metadata(&path).unwrap().len();
    // A crash in the middle of writing block 3: part of a line, no newline.
    std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"number\":3,\"timest").unwrap();
    let (mut log, blocks) = BlockLog::open(dir.path()).unwrap();
    assert_eq!(blocks, vec![block(1), block(2)]);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), intact);
    log.append(&block(3)).unwrap();
    drop(log);
    let (_, blocks) = BlockLog::open(dir.path()).unwrap();
    assert_eq!(blocks, vec![block(1), block(2), block(3)]);
}

#[test]
fn a_corrupt_or_out_of_order_history_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(LOG_FILE), b"{\"number\":1,\"timestamp_ms\":1,\"txs\":[]}\nnot json\n").unwrap();
    assert!(matches!(BlockLog::open(dir.path()), Err(StoreError::Corrupt { line: 2, .. })));
    std::fs::write(dir.path().join(LOG_FILE), b"{\"number\":2,\"timestamp_ms\":1,\"txs\":[]}\n").unwrap();
    assert!(matches!(BlockLog::open(dir.path()), Err(StoreError::Corrupt { line: 1, .. })));
}
