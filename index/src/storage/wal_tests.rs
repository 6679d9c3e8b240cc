//! Tests of the log (`wal.rs`): records, torn tails, taking a write back.

use super::*;
use crate::metric::Metric;

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
