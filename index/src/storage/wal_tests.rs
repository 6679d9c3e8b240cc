//! Tests of the log (`wal.rs`, `wal_record.rs`): records, torn tails,
//! zeros written ahead, taking a write back.

use super::*;
use crate::metric::Metric;
use crate::storage::wal_record::RECORD_HEADER_LEN;
use crate::store::format::FileKind;

fn log(ops: &[WriteOp<'_>]) -> Vec<u8> {
    let mut b = FileHeader::new(FileKind::Wal, 2, Metric::L2)
        .encode()
        .to_vec();
    for op in ops {
        encode(op, &mut b);
    }
    b
}

#[test]
fn the_last_record_can_be_taken_back() {
    let dir = tempfile::tempdir().unwrap();
    for durability in [
        Durability::Never,
        Durability::Group(64),
        Durability::EveryOp,
    ] {
        let p = dir.path().join(format!("{durability:?}"));
        let h = FileHeader::new(FileKind::Wal, 2, Metric::L2);
        let mut w = WalWriter::create(&p, &h, durability).unwrap();
        let keep = WriteOp::Add {
            id: 1,
            vector: &[1.0, 2.0],
        };
        let refused = WriteOp::Add {
            id: 2,
            vector: &[3.0, 4.0],
        };
        w.append(&keep).unwrap();
        w.append(&refused).unwrap();
        w.undo_last().unwrap();
        w.undo_last().unwrap(); // only the last one, once
        w.append(&WriteOp::Remove { id: 1 }).unwrap();
        w.sync().unwrap();
        let b = std::fs::read(&p).unwrap();
        let s = scan(&b, &p).unwrap();
        let got: Vec<LoggedOp> = s
            .records
            .iter()
            .map(|&(o, r)| decode(r, 2, &p, o).unwrap())
            .collect();
        assert_eq!(
            got,
            vec![LoggedOp::Add(1, vec![1.0, 2.0]), LoggedOp::Remove(1)],
            "{durability:?}"
        );
    }
}

#[test]
fn records_round_trip_and_a_cut_tail_is_torn() {
    let ops = [
        WriteOp::Add {
            id: 7,
            vector: &[1.0, 2.0],
        },
        WriteOp::Remove { id: 7 },
        WriteOp::Batch {
            ids: &[1, 2],
            vectors: &[1.0, 2.0, 3.0, 4.0],
        },
        WriteOp::Update {
            id: 2,
            vector: &[5.0, 6.0],
        },
    ];
    let b = log(&ops);
    let p = Path::new("wal");
    let s = scan(&b, p).unwrap();
    assert!(s.torn_tail.is_none());
    let got: Vec<LoggedOp> = s
        .records
        .iter()
        .map(|&(o, r)| decode(r, 2, p, o).unwrap())
        .collect();
    assert_eq!(
        got,
        vec![
            LoggedOp::Add(7, vec![1.0, 2.0]),
            LoggedOp::Remove(7),
            LoggedOp::Batch(vec![1, 2], vec![1.0, 2.0, 3.0, 4.0]),
            LoggedOp::Update(2, vec![5.0, 6.0]),
        ]
    );
    let last = s.records[3].0 as usize;
    for cut in last + 1..b.len() {
        let s = scan(&b[..cut], p).unwrap();
        assert_eq!(s.records.len(), 3);
        assert_eq!(s.valid_len, last as u64);
        assert!(s.torn_tail.is_some());
    }
    // Damage in the first record, with valid ones after it, is corrupt.
    let mut bad = b.clone();
    bad[HEADER_LEN + RECORD_HEADER_LEN + 3] ^= 1;
    assert!(matches!(scan(&bad, p), Err(Error::Corrupt { .. })));
}

#[test]
fn zeros_written_ahead_read_as_the_clean_end() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("wal.log");
    let h = FileHeader::new(FileKind::Wal, 2, Metric::L2);
    let mut w = WalWriter::create(&p, &h, Durability::EveryOp).unwrap();
    let ops: Vec<(u64, [f32; 2])> = (0..50).map(|i| (i, [i as f32, 1.0])).collect();
    for (id, v) in &ops {
        w.append(&WriteOp::Add { id: *id, vector: v }).unwrap();
    }
    let b = std::fs::read(&p).unwrap();
    assert_eq!(b.len() as u64, ROOM_CHUNK, "zeros written ahead");
    assert!(b[w.len as usize..].iter().all(|&x| x == 0));
    let s = scan(&b, &p).unwrap();
    assert_eq!((s.records.len(), s.valid_len), (50, w.len));
    assert!(s.torn_tail.is_none(), "{:?}", s.torn_tail);
    // A record cut short inside the zeros (a crash mid-write) is torn.
    let mut torn = b.clone();
    torn[w.len as usize..w.len as usize + 5].copy_from_slice(&[9, 9, 9, 9, 9]);
    let s = scan(&torn, &p).unwrap();
    assert_eq!(s.records.len(), 50);
    assert_eq!(s.torn_tail.map(|t| t.offset), Some(w.len));
    // Closing cuts the zeros off: the log ends at its last record.
    let len = w.len;
    drop(w);
    assert_eq!(std::fs::metadata(&p).unwrap().len(), len);
    // Other settings write no zeros ahead.
    let p = dir.path().join("group.log");
    let mut w = WalWriter::create(&p, &h, Durability::Group(4)).unwrap();
    w.append(&WriteOp::Remove { id: 1 }).unwrap();
    assert_eq!(std::fs::metadata(&p).unwrap().len(), w.len);
}
